/*
 * eh_frame.c - what eager mode reads from an object's own headers (eh_frame.h):
 * the function that contains an address (.eh_frame_hdr's sorted table, the
 * FDE's length), instruction boundaries inside it (its CFI rows), and
 * whether an address lies in a section without code.  Everything is
 * bounds-checked against the segments of the view: a corrupt header gives
 * "not found", it never faults.
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "dispatch/dispatch.h"
#include "dispatch/eh_frame.h"

static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	return vos_dispatch_raw(nr, a);
}

/* Where vaddr[0..n) can be read, or NULL if a segment does not hold it all. */
const unsigned char *vos_ehf_at(const struct vos_obj_view *v, uintptr_t vaddr, size_t n)
{
	for (int i = 0; i < v->nseg; i++) {
		const struct vos_obj_seg *s = &v->seg[i];
		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->len && n <= s->len - (vaddr - s->vaddr))
			return s->data + (vaddr - s->vaddr);
	}
	return NULL;
}

/* ---- sections: is a candidate no FDE covers in a section without code? ---- */

static void find_sections(struct vos_obj_view *v)
{
	v->shdr_state = -1;
	const Elf64_Ehdr *eh = NULL;
	size_t avail = 0;
	if (v->file) {
		eh = (const Elf64_Ehdr *)v->file;
		avail = v->file_len;
	} else {
		/* In memory: the vDSO carries its section headers in its segment. */
		for (int i = 0; i < v->nseg && !eh; i++)
			if (v->seg[i].len >= sizeof(*eh) &&
			    memcmp(v->seg[i].data, ELFMAG, SELFMAG) == 0) {
				eh = (const Elf64_Ehdr *)v->seg[i].data;
				avail = v->seg[i].len;
			}
		if (eh && (eh->e_shoff > avail || eh->e_shnum > (avail - eh->e_shoff) / sizeof(Elf64_Shdr)))
			eh = NULL;
	}
	if (!eh && v->path) {
		int fd = (int)raw(SYS_openat, AT_FDCWD, (long)v->path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
		struct stat st;
		if (fd >= 0 && raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) == 0 && st.st_size > 0) {
			long p = raw(SYS_mmap, 0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p > 0 || p < -4095) {
				v->shdr_map = (void *)p;
				v->shdr_map_len = (size_t)st.st_size;
				eh = (const Elf64_Ehdr *)p;
				avail = (size_t)st.st_size;
			}
		}
		if (fd >= 0)
			raw(SYS_close, fd, 0, 0, 0, 0, 0);
	}
	if (!eh || avail < sizeof(*eh) || memcmp(eh, ELFMAG, SELFMAG) != 0 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > avail ||
	    eh->e_shnum > (avail - eh->e_shoff) / sizeof(Elf64_Shdr))
		return;
	v->shdr = (const Elf64_Shdr *)((const unsigned char *)eh + eh->e_shoff);
	v->shnum = eh->e_shnum;
	v->shdr_state = 1;
}

/* 1: vaddr lies in an allocated section that holds no code. */
int vos_ehf_in_data_section(struct vos_obj_view *v, uintptr_t vaddr)
{
	if (!v->shdr_state)
		find_sections(v);
	if (v->shdr_state < 0)
		return 0;
	for (unsigned i = 0; i < v->shnum; i++) {
		const Elf64_Shdr *sh = &v->shdr[i];
		if ((sh->sh_flags & SHF_ALLOC) && sh->sh_type != SHT_NOBITS &&
		    vaddr >= sh->sh_addr && vaddr + 2 <= sh->sh_addr + sh->sh_size)
			return !(sh->sh_flags & SHF_EXECINSTR);
	}
	return 0;
}

void vos_ehf_drop_sections(struct vos_obj_view *v)
{
	if (v->shdr_map)
		raw(SYS_munmap, (long)v->shdr_map, (long)v->shdr_map_len, 0, 0, 0, 0);
	v->shdr_map = NULL;
	v->shdr_state = 0;
}

/* ---- .eh_frame_hdr and FDEs ---------------------------------------------- */

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_datarel_sdata4 0x3b

/* Bytes of a DW_EH_PE_* value of this encoding (its low 4 bits); 0: unsupported. */
static size_t enc_size(int enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;      /* absptr, udata8, sdata8 */
	case 0x02: case 0x0a: return 2;                 /* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;                 /* udata4, sdata4 */
	}
	return 0;
}

static uint64_t read_val(const unsigned char *p, int enc)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	switch (enc & 0x0f) {
	case 0x02: memcpy(&u16, p, 2); return u16;
	case 0x0a: memcpy(&u16, p, 2); return (uint64_t)(int64_t)(int16_t)u16;
	case 0x03: memcpy(&u32, p, 4); return u32;
	case 0x0b: memcpy(&u32, p, 4); return (uint64_t)(int64_t)(int32_t)u32;
	default: memcpy(&u64, p, 8); return u64;
	}
}

/* The table of .eh_frame_hdr (what every binutils ld writes: a udata4 count
 * and datarel sdata4 pairs); 0 or -1. */
int vos_ehf_fde_table_init(struct vos_obj_view *v)
{
	const unsigned char *h = v->eh_hdr ? vos_ehf_at(v, v->eh_hdr, 4) : NULL;
	if (!h || h[0] != 1 || h[2] != DW_EH_PE_udata4 || h[3] != DW_EH_PE_datarel_sdata4)
		return -1;
	size_t ptr = enc_size(h[1]);
	if (!ptr && h[1] != DW_EH_PE_omit)
		return -1;
	uintptr_t count_at = v->eh_hdr + 4 + (h[1] == DW_EH_PE_omit ? 0 : ptr);
	const unsigned char *c = vos_ehf_at(v, count_at, 4);
	if (!c)
		return -1;
	uint32_t n;
	memcpy(&n, c, 4);
	v->fde_table = vos_ehf_at(v, count_at + 4, (size_t)n * 8);
	v->fde_count = n;
	v->cie_cached = 0;
	return v->fde_table ? 0 : -1;
}

static const unsigned char *uleb(const unsigned char *p, const unsigned char *end, uint64_t *out)
{
	uint64_t r = 0;
	for (int shift = 0; p < end && shift < 64; shift += 7) {
		unsigned char b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = r;
			return p;
		}
	}
	return NULL;
}

/* The encoding of FDE addresses a CIE declares ('R' in "zR", "zPLR", ...); -1 if unknown. */
static int cie_fde_encoding(struct vos_obj_view *v, uintptr_t cie)
{
	if (cie == v->cie_cached)
		return v->cie_enc;
	const unsigned char *p = vos_ehf_at(v, cie, 8);
	uint32_t len, id;
	if (!p)
		return -1;
	memcpy(&len, p, 4);
	memcpy(&id, p + 4, 4);
	if (len == 0xffffffff || len < 8 || id != 0 || !(p = vos_ehf_at(v, cie, (size_t)len + 4)))
		return -1;
	const unsigned char *end = p + 4 + len, *aug = p + 9;
	int version = p[8], enc = 0;      /* no 'R': absolute pointers */
	const unsigned char *q = memchr(aug, 0, (size_t)(end - aug));
	uint64_t skip, code_align;
	if (!q || (version != 1 && version != 3))
		return -1;
	q++;
	if (!(q = uleb(q, end, &code_align)) || !(q = uleb(q, end, &skip)))   /* code, data alignment */
		return -1;
	if (version == 1)
		q++;
	else if (!(q = uleb(q, end, &skip)))                             /* return register */
		return -1;
	if (aug[0] == 'z') {
		if (!(q = uleb(q, end, &skip)))
			return -1;
		for (const unsigned char *a = aug + 1; *a && q < end; a++) {
			if (*a == 'R') {
				enc = *q++;
			} else if (*a == 'P') {
				size_t sz = enc_size(*q);
				if (!sz || (*q & 0x70) == 0x50)         /* aligned: not used by gcc */
					return -1;
				q += 1 + sz;
			} else if (*a == 'L') {
				q++;
			} else if (*a != 'S' && *a != 'B') {
				return -1;
			}
		}
	} else if (aug[0]) {
		return -1;
	}
	if (q > end || !enc_size(enc))
		return -1;
	v->cie_cached = cie;
	v->cie_enc = enc;
	v->cie_z = aug[0] == 'z';
	v->cie_code_align = code_align;
	return enc;
}

/*
 * The function (FDE) that contains vaddr: 0 and [*begin, *end).  Or 1 if
 * vaddr lies in a gap between two FDEs, [*begin, *end) then being the gap:
 * from the end of the FDE before (an instruction boundary) to the start of
 * the next FDE.  glibc's clone ends its CFI right before its `syscall` so
 * that the child's frame is not unwound: that site lies in such a gap.
 * -1: no FDE before vaddr, or the tables cannot be read.
 */
int vos_ehf_fde_lookup(struct vos_obj_view *v, uintptr_t vaddr, uintptr_t *begin, uintptr_t *end,
		      uintptr_t *fde_out)
{
	uint32_t lo = 0, hi = v->fde_count;
	int32_t loc, off;
	while (lo < hi) {               /* the first entry that starts after vaddr */
		uint32_t mid = lo + (hi - lo) / 2;
		memcpy(&loc, v->fde_table + (size_t)mid * 8, 4);
		if (v->eh_hdr + (uintptr_t)(intptr_t)loc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	memcpy(&loc, v->fde_table + (size_t)(lo - 1) * 8, 4);
	memcpy(&off, v->fde_table + (size_t)(lo - 1) * 8 + 4, 4);
	uintptr_t fde = v->eh_hdr + (uintptr_t)(intptr_t)off;
	const unsigned char *p = vos_ehf_at(v, fde, 8);
	uint32_t len, cie_ptr;
	if (!p)
		return -1;
	memcpy(&len, p, 4);
	memcpy(&cie_ptr, p + 4, 4);
	if (len == 0xffffffff || len < 8)
		return -1;
	int enc = cie_fde_encoding(v, fde + 4 - cie_ptr);
	size_t sz = enc >= 0 ? enc_size(enc) : 0;
	if (!sz || len < 4 + 2 * sz || !(p = vos_ehf_at(v, fde + 8 + sz, sz)))
		return -1;
	*begin = v->eh_hdr + (uintptr_t)(intptr_t)loc;
	*end = *begin + (uintptr_t)read_val(p, enc);
	*fde_out = fde;
	if (vaddr < *end)
		return 0;
	*fde_out = 0;
	*begin = *end;
	*end = UINTPTR_MAX;
	if (lo < v->fde_count) {
		memcpy(&loc, v->fde_table + (size_t)lo * 8, 4);
		*end = v->eh_hdr + (uintptr_t)(intptr_t)loc;
	}
	return 1;
}

static const unsigned char *sleb_skip(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p & 0x80))
		p++;
	return p < end ? p + 1 : NULL;
}

/*
 * Instruction boundaries inside the function of FDE fde (starting at
 * begin): the locations of its CFI rows (DW_CFA_advance_loc*), which the
 * assembler places between instructions.  Decoding may start at the last
 * one before a candidate instead of at the function's start (the same
 * answer, fewer instructions).  Fills locs[0..max) in increasing order,
 * returns how many (0 if the program cannot be read: start at begin).
 */
size_t vos_ehf_cfi_boundaries(struct vos_obj_view *v, uintptr_t fde, uintptr_t begin, uintptr_t *locs,
			     size_t max)
{
	const unsigned char *p = vos_ehf_at(v, fde, 8);
	uint32_t len, cie_ptr;
	if (!p)
		return 0;
	memcpy(&len, p, 4);
	memcpy(&cie_ptr, p + 4, 4);
	int enc = cie_fde_encoding(v, fde + 4 - cie_ptr);
	if (enc < 0 || !(p = vos_ehf_at(v, fde, (size_t)len + 4)))
		return 0;
	const unsigned char *end = p + 4 + len, *q = p + 8 + 2 * enc_size(enc);
	uint64_t x, y, align = v->cie_code_align;
	if (v->cie_z && (!(q = uleb(q, end, &x)) || x > (uint64_t)(end - q)))
		return 0;
	if (v->cie_z)
		q += x;
	uintptr_t loc = begin;
	size_t n = 0;
	while (q && q < end && n < max) {
		unsigned op = *q++, adv = 0;
		uint16_t a2;
		uint32_t a4;
		switch (op >> 6) {
		case 1: adv = op & 0x3f; break;                                  /* advance_loc */
		case 2: q = uleb(q, end, &x); break;                             /* offset */
		case 3: break;                                                    /* restore */
		default:
			switch (op) {
			case 0x00: case 0x0a: case 0x0b: break;                  /* nop, remember, restore */
			case 0x02: if (q + 1 > end) return n; adv = *q++; break;
			case 0x03: if (q + 2 > end) return n; memcpy(&a2, q, 2); q += 2; adv = a2; break;
			case 0x04: if (q + 4 > end) return n; memcpy(&a4, q, 4); q += 4; adv = a4; break;
			case 0x06: case 0x07: case 0x08: case 0x0d: case 0x2e:
				q = uleb(q, end, &x); break;
			case 0x05: case 0x09: case 0x0c: case 0x14: case 0x2f:
				if ((q = uleb(q, end, &x)))
					q = uleb(q, end, &y);
				break;
			case 0x0e: q = uleb(q, end, &x); break;
			case 0x13: q = sleb_skip(q, end); break;
			case 0x11: case 0x12: case 0x15:
				if ((q = uleb(q, end, &x)))
					q = sleb_skip(q, end);
				break;
			case 0x0f:                                                /* def_cfa_expression */
				if ((q = uleb(q, end, &x)) && x <= (uint64_t)(end - q))
					q += x;
				else
					q = NULL;
				break;
			case 0x10: case 0x16:                                     /* expression, val_expression */
				if ((q = uleb(q, end, &y)) && (q = uleb(q, end, &x)) &&
				    x <= (uint64_t)(end - q))
					q += x;
				else
					q = NULL;
				break;
			default:
				return n;       /* set_loc or unknown: stop, what we have is right */
			}
		}
		if (adv) {
			loc += adv * align;
			locs[n++] = loc;
		}
	}
	return n;
}

