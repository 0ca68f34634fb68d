/*
 * eager.c - find and classify every `syscall` instruction of an object
 * before it runs (eager mode: README.md, "Eager mode").  Contract in eager.h.
 *
 * For each executable segment: every 0f 05 byte pair is a candidate (an
 * SSE2 scan).  The function that contains a candidate comes from the
 * object's .eh_frame_hdr (PT_GNU_EH_FRAME: a sorted table of FDEs, each
 * giving a function's start; the FDE gives its length); the function is
 * decoded from its start with Zydis, and only the functions that contain
 * candidates are decoded.  A candidate no FDE covers is data if the
 * object's section headers put it in a section without code (the vDSO and
 * objects linked without -z separate-code keep .rodata and .eh_frame in
 * the executable segment), and unclassified otherwise.
 *
 * The headers are read by eh_frame.c, bounds-checked against the segments
 * being read: a corrupt header fails the scan, it never faults.  The
 * module's own system calls go through the gate (vos_dispatch_raw).
 */
#include <elf.h>
#include <emmintrin.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <Zydis/Decoder.h>
#include "dispatch/dispatch.h"
#include "dispatch/eager.h"
#include "dispatch/eh_frame.h"


static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	return vos_dispatch_raw(nr, a);
}

static int fail(struct vos_eager_scan *s, const char *what, const struct vos_obj_view *v, uintptr_t vaddr)
{
	if (!s->why[0])
		snprintf(s->why, sizeof(s->why), "%s in %s+0x%lx", what, v->name, (unsigned long)vaddr);
	return -1;
}

/* ---- classifying and rewriting ------------------------------------------ */

static ZydisDecoder decoder;
static int decoder_ready;

#define MAX_DEFER 1024          /* sites per segment that may stay native */

struct batch {                  /* sites found, rewritten a batch at a time */
	struct vos_eager_scan *s;
	struct vos_obj_view *v;
	uintptr_t delta;        /* runtime address = vaddr + delta */
	int prot;
	uintptr_t span_lo, span_hi;     /* runtime: pages made writable at least (vDSO) */
	size_t n;
	uintptr_t site[256];
	/* Every candidate's verdict, for the cache (eager_cache.c). */
	uint64_t *rec;          /* NULL: not recorded */
	size_t nrec, rec_max;
	uintptr_t rec_base;     /* vaddr of offset 0 */
	/* Sites whose function proves they run one number only (prove_one_nr):
	 * decided at the segment's end, once no branch from elsewhere in the
	 * object can reach them either (finish_one_nr). */
	size_t nd;
	uintptr_t dsite[MAX_DEFER];     /* vaddr, increasing */
	uint16_t dnr[MAX_DEFER];
};

#define MAX_CACHED 8192         /* candidates per segment the cache holds */
static uint64_t rec_buf[MAX_CACHED], cache_buf[MAX_CACHED];

/* nr1: the number + 1 a site provably always runs, 0 if not proven. */
static void record(struct batch *b, uintptr_t c, int site, unsigned nr1)
{
	if (!b->rec)
		return;
	if (b->nrec == b->rec_max || c - b->rec_base > UINT32_MAX) {
		b->rec = NULL;          /* too many: not cached */
		return;
	}
	b->rec[b->nrec++] = VOS_EAGER_REC(c - b->rec_base, site, nr1);
}

static int flush(struct batch *b)
{
	uintptr_t bad;
	if (!b->n)
		return 0;
	if (vos_dispatch_rewrite_sites(b->site, b->n, b->span_lo, b->span_hi, b->prot, b->s->alone,
				       &bad) != 0)
		return fail(b->s, "a site that cannot be rewritten", b->v, bad - b->delta);
	b->s->sites += b->n;
	b->n = 0;
	return 0;
}

/* ---- sites that run one pass-through number only: left native ---------- */

/* The number a decoded instruction puts in rax, if it is an immediate:
 * `mov $imm32, %eax` (b8, c7 c0: zero-extended) or `mov $imm32, %rax`
 * (48 c7 c0: sign-extended); -1 otherwise, or out of the class table. */
static long imm_to_rax(const ZydisDecodedInstruction *insn, const unsigned char *p)
{
	int32_t imm;
	uint64_t v;
	if (insn->length == 5 && p[0] == 0xb8) {
		memcpy(&imm, p + 1, 4);
		v = (uint32_t)imm;
	} else if (insn->length == 6 && p[0] == 0xc7 && p[1] == 0xc0) {
		memcpy(&imm, p + 2, 4);
		v = (uint32_t)imm;
	} else if (insn->length == 7 && p[0] == 0x48 && p[1] == 0xc7 && p[2] == 0xc0) {
		memcpy(&imm, p + 3, 4);
		v = (uint64_t)(int64_t)imm;
	} else {
		return -1;
	}
	return v < VOS_EAGER_NR_MAX ? (long)v : -1;
}

/* Cheap filter before prove_one_nr decodes a whole function: the bytes
 * before the site could be one of imm_to_rax's forms. */
static bool maybe_after_mov(const unsigned char *code, uintptr_t begin, uintptr_t pc)
{
	const unsigned char *p = code + (pc - begin);
	return (pc - begin >= 5 && p[-5] == 0xb8) ||
	       (pc - begin >= 6 && p[-6] == 0xc7 && p[-5] == 0xc0) ||
	       (pc - begin >= 7 && p[-7] == 0x48 && p[-6] == 0xc7 && p[-5] == 0xc0);
}

/*
 * Decode the whole function [begin, end) from its FDE's start: for each
 * site[j] (increasing, all in it), nr[j] = the number it always runs, or
 * -1 if that is not proven.  Proven: an instruction starts at the site,
 * the one right before it puts an immediate in rax (imm_to_rax), and no
 * direct branch or RIP-relative operand of the function points at the
 * site; the function has no indirect jump (a jump table could land
 * there) and decodes to its end.  Branches from outside the function are
 * checked later for the whole object (finish_one_nr).
 */
static void prove_one_nr(const unsigned char *code, uintptr_t begin, uintptr_t end,
			 const uintptr_t *site, long *nr, size_t n)
{
	bool killed[64] = { false };
	long prev_nr = -1;
	size_t j = 0;
	for (size_t k = 0; k < n; k++)
		nr[k] = -1;
	for (uintptr_t pc = begin; pc < end;) {
		ZydisDecodedInstruction insn;
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, NULL, code + (pc - begin),
								 end - pc, &insn)))
			goto none;
		uintptr_t next = pc + insn.length;
		for (; j < n && site[j] <= pc; j++)
			if (site[j] == pc)
				nr[j] = prev_nr;
		if (insn.mnemonic == ZYDIS_MNEMONIC_JMP && !insn.raw.imm[0].is_relative)
			goto none;      /* indirect (or far) jump */
		uintptr_t t[3];
		int nt = 0;
		for (int i = 0; i < 2; i++)
			if (insn.raw.imm[i].size && insn.raw.imm[i].is_relative)
				t[nt++] = next + (uintptr_t)insn.raw.imm[i].value.s;
		if ((insn.attributes & ZYDIS_ATTRIB_HAS_MODRM) && insn.raw.modrm.mod == 0 &&
		    insn.raw.modrm.rm == 5)
			t[nt++] = next + (uintptr_t)insn.raw.disp.value;    /* RIP-relative */
		for (int i = 0; i < nt; i++)
			for (size_t k = 0; k < n; k++)
				if (site[k] == t[i])
					killed[k] = true;
		prev_nr = imm_to_rax(&insn, code + (pc - begin));
		pc = next;
	}
	for (size_t k = 0; k < n; k++)
		if (killed[k] || vos_dispatch_nr_never_native(nr[k]))
			nr[k] = -1;
	return;
none:
	for (size_t k = 0; k < n; k++)
		nr[k] = -1;
}

/* The number of the deferred site at vaddr t, or -1 (b->dsite is sorted). */
static long deferred_at(const struct batch *b, uintptr_t t)
{
	size_t lo = 0, hi = b->nd;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->dsite[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nd && b->dsite[lo] == t ? (long)lo : -1;
}

#define BLOOM_WORDS 4096        /* 2^18 bits: the deferred sites' low 18 bits */

static inline bool in_bloom(const uint64_t *bloom, uintptr_t t)
{
	return bloom[(t >> 6) & (BLOOM_WORDS - 1)] >> (t & 63) & 1;
}

static int32_t rd32(const unsigned char *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

/*
 * The deferred sites (b->dsite): any direct branch of the object, in any
 * of its executable segments, that could land on one (a `.cold` part of
 * a function is another FDE and jumps back into it) makes it an ordinary
 * site.  Byte patterns, not decoded instructions: every e8/e9 rel32,
 * 0f 8x rel32 and c7 f8 rel32 (xbegin) at any offset, and every short
 * jump (eb, 7x, e0-e3 rel8) near the site, whatever instruction the
 * bytes really belong to -- it errs only towards rewriting.  Then each
 * site still proven is recorded with its number, and left native if that
 * number is pass-through (vos_dispatch_nr_native); the others are
 * rewritten.
 */
static int finish_one_nr(struct batch *b)
{
	static bool hit[MAX_DEFER];
	static uint64_t bloom[BLOOM_WORDS];
	if (!b->nd)
		return 0;
	memset(hit, 0, b->nd * sizeof(hit[0]));
	memset(bloom, 0, sizeof(bloom));
	for (size_t k = 0; k < b->nd; k++)
		bloom[(b->dsite[k] >> 6) & (BLOOM_WORDS - 1)] |= 1ull << (b->dsite[k] & 63);
	const __m128i e8 = _mm_set1_epi8((char)0xe8), e9 = _mm_set1_epi8((char)0xe9),
		      of = _mm_set1_epi8(0x0f), c7 = _mm_set1_epi8((char)0xc7),
		      f0 = _mm_set1_epi8((char)0xf0), x80 = _mm_set1_epi8((char)0x80),
		      f8 = _mm_set1_epi8((char)0xf8);
	for (int si = 0; si < b->v->nseg; si++) {
		const struct vos_obj_seg *sg = &b->v->seg[si];
		if (!(sg->flags & PF_X) || sg->len < 6)
			continue;
		const unsigned char *p = sg->data;
		size_t n = sg->len;
		for (size_t i = 0; i + 6 <= n;) {
			unsigned mask;
			size_t step;
			if (i + 16 + 6 <= n) {
				/* e8, e9 at i; 0f 8x or c7 f8 at i, i+1 */
				__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
				__m128i y = _mm_loadu_si128((const __m128i *)(p + i + 1));
				__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, e8), _mm_cmpeq_epi8(x, e9));
				m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(x, of),
								  _mm_cmpeq_epi8(_mm_and_si128(y, f0), x80)));
				m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(x, c7), _mm_cmpeq_epi8(y, f8)));
				mask = (unsigned)_mm_movemask_epi8(m);
				step = 16;
			} else {
				mask = 1;
				step = 1;
			}
			/* Both readings at every hit (the opcode is not looked at: fewer
			 * mispredicted branches; a wrong reading can only add a hit). */
			for (; mask; mask &= mask - 1) {
				size_t o = i + (unsigned)__builtin_ctz(mask);
				uintptr_t t1 = sg->vaddr + o + 5 + (uintptr_t)(intptr_t)rd32(p + o + 1);
				uintptr_t t2 = sg->vaddr + o + 6 + (uintptr_t)(intptr_t)rd32(p + o + 2);
				if (in_bloom(bloom, t1) | in_bloom(bloom, t2)) {
					long k1 = deferred_at(b, t1), k2 = deferred_at(b, t2);
					if (k1 >= 0)
						hit[k1] = true;
					if (k2 >= 0)
						hit[k2] = true;
				}
			}
			i += step;
		}
		/* Short jumps reach 128 bytes back and 127 forward. */
		for (size_t k = 0; k < b->nd; k++) {
			uintptr_t d = b->dsite[k];
			if (d < sg->vaddr || d - sg->vaddr >= n)
				continue;
			size_t from = d - sg->vaddr > 130 ? d - sg->vaddr - 130 : 0;
			for (size_t o = from; o + 2 <= n && o < d - sg->vaddr + 130; o++) {
				unsigned char c = p[o];
				if ((c == 0xeb || (c & 0xf0) == 0x70 || (c >= 0xe0 && c <= 0xe3)) &&
				    sg->vaddr + o + 2 + (uintptr_t)(intptr_t)(int8_t)p[o + 1] == d)
					hit[k] = true;
			}
		}
	}
	if (flush(b) != 0)
		return -1;
	for (size_t k = 0; k < b->nd; k++) {
		uintptr_t d = b->dsite[k];
		record(b, d, 1, hit[k] ? 0 : b->dnr[k] + 1u);
		if (!hit[k] && vos_dispatch_nr_native(b->dnr[k])) {
			b->s->native++;
			continue;
		}
		if (b->n == sizeof(b->site) / sizeof(b->site[0]) && flush(b) != 0)
			return -1;
		b->site[b->n++] = d + b->delta;
	}
	b->nd = 0;
	return flush(b);
}

/* Decode the function [begin, end) (FDE fde, or 0 for a gap between two)
 * from its start, or from the last CFI row before a candidate; cand[0..n)
 * (sorted, all inside it) are sites if an instruction starts there.  A
 * site right after a `mov $imm, %eax` in an FDE's function may run one
 * number only: prove_one_nr, then finish_one_nr at the segment's end. */
static int classify(struct batch *b, uintptr_t begin, uintptr_t end, uintptr_t fde,
		    const uintptr_t *cand, size_t n)
{
	struct vos_obj_view *v = b->v;
	const unsigned char *code = vos_ehf_at(v, begin, end - begin);
	static uintptr_t locs[512];     /* scans are serialised (eager.h) */
	size_t nlocs = fde ? vos_ehf_cfi_boundaries(v, fde, begin, locs, sizeof(locs) / sizeof(locs[0])) : 0;
	size_t li = 0, nsite = 0;
	uintptr_t site[64];             /* n <= 64: scan_segment's groups */
	long nr[64];
	bool maybe = false;
	if (!code)
		return fail(b->s, "a function that cannot be read", v, begin);
	uintptr_t pc = begin;
	for (size_t i = 0; i < n;) {
		/* Skip ahead to the last known boundary at or before the candidate. */
		while (li < nlocs && locs[li] <= cand[i]) {
			if (locs[li] > pc && locs[li] < end)
				pc = locs[li];
			li++;
		}
		ZydisDecodedInstruction insn;
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, NULL, code + (pc - begin),
								 end - pc, &insn)))
			return fail(b->s, "an instruction the decoder rejects", v, pc);
		uintptr_t next = pc + insn.length;
		for (; i < n && cand[i] < next; i++) {
			if (insn.mnemonic != ZYDIS_MNEMONIC_SYSCALL) {
				record(b, cand[i], 0, 0);       /* inside another instruction: not a site */
				continue;
			}
			if (cand[i] != pc || insn.length != 2)
				return fail(b->s, "a syscall with prefixes", v, pc);
			maybe |= fde && maybe_after_mov(code, begin, pc);
			site[nsite++] = pc;
		}
		pc = next;
	}
	if (maybe)
		prove_one_nr(code, begin, end, site, nr, nsite);
	for (size_t k = 0; k < nsite; k++) {
		/* Not for the cache (a later mapping): only the numbers that
		 * are pass-through now need the rest of the proof. */
		if (maybe && nr[k] >= 0 && b->nd < MAX_DEFER && (b->rec || vos_dispatch_nr_native(nr[k]))) {
			b->dsite[b->nd] = site[k];
			b->dnr[b->nd++] = (uint16_t)nr[k];
			continue;
		}
		if (b->n == sizeof(b->site) / sizeof(b->site[0]) && flush(b) != 0)
			return -1;
		record(b, site[k], 1, 0);
		b->site[b->n++] = site[k] + b->delta;
	}
	return 0;
}

/* The vDSO is one special mapping the kernel cannot split: mprotect of
 * part of it fails (EINVAL), so its batches make its whole segment
 * writable.  (The view of the vDSO is the one without a path.) */
static void set_span(struct batch *b, uintptr_t vaddr)
{
	b->span_lo = b->span_hi = 0;
	if (b->v->path || b->v->file)
		return;
	for (int i = 0; i < b->v->nseg; i++) {
		const struct vos_obj_seg *sg = &b->v->seg[i];
		if (vaddr >= sg->vaddr && vaddr - sg->vaddr < sg->len) {
			b->span_lo = sg->vaddr + b->delta;
			b->span_hi = sg->vaddr + sg->len + b->delta;
		}
	}
}

/* Every 0f 05 at vaddr [lo, hi) of v, classified; sites rewritten.  With
 * rec, each candidate's verdict is recorded there (rec_max at most; *nrec
 * set to -1 if there were more). */
static int scan_segment(struct vos_eager_scan *s, struct vos_obj_view *v, uintptr_t lo, uintptr_t hi,
			uintptr_t delta, int prot, uint64_t *rec, long *nrec)
{
	const unsigned char *p = vos_ehf_at(v, lo, hi - lo);
	if (!p)
		return fail(s, "executable bytes that cannot be read", v, lo);
	if (!decoder_ready) {
		ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
		decoder_ready = 1;
	}
	static struct batch b;          /* 2 KiB: not on the program's stack (scans are serialised) */
	b.s = s;
	b.v = v;
	b.delta = delta;
	b.prot = prot;
	b.n = 0;
	b.rec = rec;
	b.nrec = 0;
	b.rec_max = MAX_CACHED;
	b.rec_base = lo;
	b.nd = 0;
	set_span(&b, lo);
	uintptr_t group[64], fbegin = 0, fend = 0, fde = 0;
	size_t ng = 0, n = hi - lo;
	const __m128i op0 = _mm_set1_epi8(0x0f), op1 = _mm_set1_epi8(0x05);
	for (size_t i = 0; i + 1 < n;) {
		unsigned mask;
		size_t step;
		if (i + 17 <= n) {
			__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i y = _mm_loadu_si128((const __m128i *)(p + i + 1));
			mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, op0),
									 _mm_cmpeq_epi8(y, op1)));
			step = 16;
		} else {
			mask = p[i] == 0x0f && p[i + 1] == 0x05;
			step = 1;
		}
		for (; mask; mask &= mask - 1) {
			uintptr_t c = lo + i + (unsigned)__builtin_ctz(mask);
			uintptr_t rt = c + delta;
			s->candidates++;
			if ((rt >= s->skip_lo && rt < s->skip_hi) || rt == s->skip_one) {
				record(&b, c, 0, 0);
				continue;
			}
			if (ng && c < fend && ng < sizeof(group) / sizeof(group[0])) {
				group[ng++] = c;
				continue;
			}
			if (ng && classify(&b, fbegin, fend, fde, group, ng) != 0)
				return -1;
			ng = 0;
			if (c < fend) {         /* the same function, a full group */
				group[ng++] = c;
				continue;
			}
			int found = vos_ehf_fde_lookup(v, c, &fbegin, &fend, &fde);
			if (found == 0 || (found == 1 && !vos_ehf_in_data_section(v, c))) {
				if (fend > hi)          /* a gap: up to the segment's end */
					fend = hi;
				group[ng++] = c;
				continue;
			}
			fbegin = fend = 0;
			if (!vos_ehf_in_data_section(v, c))
				return fail(s, "a candidate no FDE covers", v, c);
			record(&b, c, 0, 0);
		}
		i += step;
	}
	if (ng && classify(&b, fbegin, fend, fde, group, ng) != 0)
		return -1;
	if (finish_one_nr(&b) != 0)
		return -1;
	if (nrec)
		*nrec = b.rec ? (long)b.nrec : -1;
	return flush(&b);
}

/*
 * The same segment from a cached classification: the candidates in memory
 * must be exactly the cached ones (then the cached sites are rewritten and
 * 0 returned); 1 if they are not (nothing rewritten: classify it), -1 if a
 * site cannot be rewritten.
 */
static int scan_cached(struct vos_eager_scan *s, struct vos_obj_view *v, uintptr_t lo, uintptr_t hi,
		       uintptr_t delta, int prot, const uint64_t *cached, size_t ncached)
{
	const unsigned char *p = vos_ehf_at(v, lo, hi - lo);
	size_t k = 0, n = hi - lo;
	if (!p)
		return 1;
	const __m128i op0 = _mm_set1_epi8(0x0f), op1 = _mm_set1_epi8(0x05);
	for (size_t i = 0; i + 1 < n;) {        /* the same scan as scan_segment's */
		unsigned mask;
		size_t step;
		if (i + 17 <= n) {
			__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i y = _mm_loadu_si128((const __m128i *)(p + i + 1));
			mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, op0),
									 _mm_cmpeq_epi8(y, op1)));
			step = 16;
		} else {
			mask = p[i] == 0x0f && p[i + 1] == 0x05;
			step = 1;
		}
		for (; mask; mask &= mask - 1) {
			uint32_t off = (uint32_t)(i + (unsigned)__builtin_ctz(mask));
			if (k == ncached || VOS_EAGER_REC_OFF(cached[k]) != off)
				return 1;
			k++;
		}
		i += step;
	}
	if (k != ncached)
		return 1;
	static struct batch b;
	b.s = s;
	b.v = v;
	b.delta = delta;
	b.prot = prot;
	b.n = 0;
	b.rec = NULL;
	set_span(&b, lo);
	s->candidates += ncached;
	for (k = 0; k < ncached; k++) {
		if (!VOS_EAGER_REC_SITE(cached[k]))
			continue;
		unsigned nr1 = VOS_EAGER_REC_NR1(cached[k]);
		if (nr1 && vos_dispatch_nr_native((long)nr1 - 1)) {
			s->native++;    /* proven to run this pass-through number only */
			continue;
		}
		if (b.n == sizeof(b.site) / sizeof(b.site[0]) && flush(&b) != 0)
			return -1;
		b.site[b.n++] = lo + VOS_EAGER_REC_OFF(cached[k]) + delta;
	}
	s->cached++;
	return flush(&b);
}

/* Shell sort (no allocation: scans run inside mmap calls): nearly sorted
 * already, except the sites finish_one_nr appends at the end. */
static void sort_u64(uint64_t *v, size_t n)
{
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < n; i++) {
			uint64_t x = v[i];
			size_t j = i;
			for (; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
	}
}

/* ---- the three entry points ---------------------------------------------- */

/* A view of a loaded object from its program headers (in memory). */
static int view_loaded(struct vos_obj_view *v, const struct dl_phdr_info *info)
{
	memset(v, 0, sizeof(*v));
	bool vdso = info->dlpi_name && strncmp(info->dlpi_name, "linux-vdso", 10) == 0;
	v->name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "the program";
	v->path = vdso ? NULL : info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME)
			v->eh_hdr = ph->p_vaddr;
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
			continue;
		if (v->nseg == VOS_EHF_MAX_SEG)
			return -1;
		v->seg[v->nseg++] = (struct vos_obj_seg){ ph->p_vaddr, ph->p_memsz,
						  (const unsigned char *)(info->dlpi_addr + ph->p_vaddr),
						  ph->p_flags };
	}
	if (v->eh_hdr && vos_ehf_fde_table_init(v) != 0)
		v->eh_hdr = 0;
	return 0;
}

/* Scan the executable segments of one object that intersect [lo, hi) (runtime). */
static int scan_loaded(struct vos_eager_scan *s, const struct dl_phdr_info *info, uintptr_t lo,
		       uintptr_t hi)
{
	struct vos_obj_view v;
	int r = 0;
	if (view_loaded(&v, info) != 0) {
		snprintf(s->why, sizeof(s->why), "too many segments in %s", info->dlpi_name);
		return -1;
	}
	for (int i = 0; i < info->dlpi_phnum && r == 0; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (ph->p_flags & PF_W) {
			r = fail(s, "a writable executable segment", &v, ph->p_vaddr);
			break;
		}
		uintptr_t a = info->dlpi_addr + ph->p_vaddr, e = a + ph->p_memsz;
		char key[200];
		if (a >= lo && e <= hi &&
		    vos_eager_cache_key(info, ph->p_vaddr, ph->p_memsz, key, sizeof(key)) == 0) {
			/* A whole segment (install): from the cache, or into it. */
			long n = vos_eager_cache_load(key, cache_buf, MAX_CACHED);
			r = n < 0 ? 1 : scan_cached(s, &v, ph->p_vaddr, ph->p_vaddr + ph->p_memsz,
						    info->dlpi_addr, PROT_READ | PROT_EXEC, cache_buf,
						    (size_t)n);
			if (r == 1) {
				r = scan_segment(s, &v, ph->p_vaddr, ph->p_vaddr + ph->p_memsz,
						 info->dlpi_addr, PROT_READ | PROT_EXEC, rec_buf, &n);
				if (r == 0 && n >= 0) {
					sort_u64(rec_buf, (size_t)n);
					vos_eager_cache_store(key, rec_buf, (size_t)n);
				}
			}
			continue;
		}
		a = a > lo ? a : lo;
		e = e < hi ? e : hi;
		if (a < e)
			r = scan_segment(s, &v, a - info->dlpi_addr, e - info->dlpi_addr, info->dlpi_addr,
					 PROT_READ | PROT_EXEC, NULL, NULL);
	}
	vos_ehf_drop_sections(&v);
	return r;
}

static int each_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	return scan_loaded(arg, info, 0, UINTPTR_MAX) != 0;
}

struct cover {
	uintptr_t lo, hi, covered;
};

/* How much of [lo, hi) the executable segments (page-rounded) of the loaded objects hold. */
static int each_cover(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct cover *c = arg;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t a = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
		uintptr_t e = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~(uintptr_t)4095;
		uintptr_t ca = a > c->lo ? a : c->lo, ce = e < c->hi ? e : c->hi;
		if (ca < ce)
			c->covered += ce - ca;
	}
	return 0;
}

/*
 * Executable memory that is no loaded object's code (a JIT or a memfd
 * mapped by an earlier constructor, before the dispatcher could watch
 * mmap): from /proc/self/maps.  Page 0 (the sled) and [vsyscall] (emulated
 * by the kernel) are not code that runs here.  0, or -1 with the reason.
 */
static int check_other_exec(struct vos_eager_scan *s)
{
	static char buf[8192];
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC, 0, 0, 0);
	size_t have = 0;
	int r = 0;
	if (fd < 0) {
		snprintf(s->why, sizeof(s->why), "/proc/self/maps cannot be read");
		return -1;
	}
	for (;;) {
		long n = raw(SYS_read, fd, (long)buf + (long)have, (long)(sizeof(buf) - 1 - have), 0, 0, 0);
		if (n < 0) {
			snprintf(s->why, sizeof(s->why), "/proc/self/maps cannot be read");
			r = -1;
			break;
		}
		have += (size_t)n;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) && r == 0) {
			*nl = 0;
			unsigned long lo, hi;
			char perms[8];
			if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[2] == 'x' && lo != 0 &&
			    !strstr(line, "[vsyscall]")) {
				struct cover c = { lo, hi, 0 };
				dl_iterate_phdr(each_cover, &c);
				if (c.covered != hi - lo) {
					const char *name = strchr(line, '/');
					snprintf(s->why, sizeof(s->why),
						 "executable memory outside any loaded object at 0x%lx%s%s",
						 lo, name ? " " : "", name ? name : "");
					r = -1;
				}
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (n == 0 || r != 0 || have == sizeof(buf) - 1)
			break;
	}
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	return r;
}

int vos_eager_scan_loaded(struct vos_eager_scan *s)
{
	s->why[0] = 0;
	if (check_other_exec(s) != 0)
		return -1;
	return dl_iterate_phdr(each_loaded, s) ? -1 : 0;
}

struct find_range {
	struct vos_eager_scan *s;
	uintptr_t lo, hi;
	int found, r;
};

/* The object whose executable segments (page-rounded) hold [lo, hi). */
static int each_covering(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_range *f = arg;
	(void)size;
	uintptr_t covered = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t a = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
		uintptr_t e = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~(uintptr_t)4095;
		uintptr_t ca = a > f->lo ? a : f->lo, ce = e < f->hi ? e : f->hi;
		if (ca < ce)
			covered += ce - ca;
	}
	if (covered != f->hi - f->lo)
		return 0;
	f->found = 1;
	f->r = scan_loaded(f->s, info, f->lo, f->hi);
	return 1;
}

int vos_eager_scan_range(struct vos_eager_scan *s, uintptr_t addr, size_t len)
{
	struct find_range f = { s, addr, addr + len, 0, 0 };
	s->why[0] = 0;
	dl_iterate_phdr(each_covering, &f);
	if (!f.found) {
		snprintf(s->why, sizeof(s->why), "memory made executable outside any loaded object (0x%lx)",
			 (unsigned long)addr);
		return -1;
	}
	return f.r;
}

int vos_eager_scan_file_map(struct vos_eager_scan *s, uintptr_t addr, size_t len, int fd, long off)
{
	static char name[128];
	char link[40];
	struct vos_obj_view v;
	struct stat st;
	int r = 0;
	s->why[0] = 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	long n = raw(SYS_readlink, (long)link, (long)name, sizeof(name) - 1, 0, 0, 0);
	name[n > 0 ? n : 0] = 0;
	if (n <= 0)
		snprintf(name, sizeof(name), "fd %d", fd);
	memset(&v, 0, sizeof(v));
	v.name = name;
	if (raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		snprintf(s->why, sizeof(s->why), "an executable mapping of %s, not a regular file", name);
		return -1;
	}
	long p = raw(SYS_mmap, 0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p < 0 && p > -4096) {
		snprintf(s->why, sizeof(s->why), "an executable mapping of %s, which cannot be read", name);
		return -1;
	}
	v.file = (const unsigned char *)p;
	v.file_len = (size_t)st.st_size;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)v.file;
	if (v.file_len < sizeof(*eh) || memcmp(eh, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > v.file_len ||
	    eh->e_phnum > (v.file_len - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		snprintf(s->why, sizeof(s->why), "an executable mapping of %s, not an x86-64 ELF file", name);
		r = -1;
		goto out;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(v.file + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			v.eh_hdr = ph[i].p_vaddr;
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (v.nseg == VOS_EHF_MAX_SEG || ph[i].p_offset > v.file_len ||
		    ph[i].p_filesz > v.file_len - ph[i].p_offset) {
			r = fail(s, "a bad program header", &v, ph[i].p_vaddr);
			goto out;
		}
		v.seg[v.nseg++] = (struct vos_obj_seg){ ph[i].p_vaddr, ph[i].p_filesz, v.file + ph[i].p_offset,
						ph[i].p_flags };
	}
	if (v.eh_hdr && vos_ehf_fde_table_init(&v) != 0)
		v.eh_hdr = 0;
	/* The file's executable segments that this mapping holds: bytes at file
	 * offset o are at addr + (o - off).  Other bytes of an executable
	 * mapping are not code (the loader maps a library's whole span with
	 * the first segment's protection, then maps each segment over it). */
	for (int i = 0; i < eh->e_phnum && r == 0; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X))
			continue;
		uint64_t a = ph[i].p_offset > (uint64_t)off ? ph[i].p_offset : (uint64_t)off;
		uint64_t e = ph[i].p_offset + ph[i].p_filesz;
		if (e > (uint64_t)off + len)
			e = (uint64_t)off + len;
		if (a >= e)
			continue;
		uintptr_t vlo = ph[i].p_vaddr + (a - ph[i].p_offset);
		r = scan_segment(s, &v, vlo, vlo + (e - a), addr + (a - (uint64_t)off) - vlo,
				 PROT_READ | PROT_EXEC, NULL, NULL);
	}
out:
	vos_ehf_drop_sections(&v);
	raw(SYS_munmap, p, st.st_size, 0, 0, 0, 0);
	return r;
}
