/*
 * eh_frame.h - internal to libvirtuos/dispatch: an object's headers as eager
 * mode reads them (eh_frame.c), through a view of its segments.
 */
#ifndef VOS_DISPATCH_EH_FRAME_H
#define VOS_DISPATCH_EH_FRAME_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#define VOS_EHF_MAX_SEG 16

/* An object's loadable segments, readable at `data`, addressed by the
 * object's own virtual addresses (what objdump shows). */
struct vos_obj_seg {
	uintptr_t vaddr, len;
	const unsigned char *data;
	uint32_t flags;
};

struct vos_obj_view {
	const char *name;               /* for messages */
	const char *path;               /* where the section headers can be read, or NULL */
	struct vos_obj_seg seg[VOS_EHF_MAX_SEG];
	int nseg;
	uintptr_t eh_hdr;               /* vaddr of .eh_frame_hdr; 0: none */
	const unsigned char *file;      /* the whole file, when the view is a file */
	size_t file_len;
	/* The section headers (found when first needed). */
	int shdr_state;                 /* 0 not looked for, 1 found, -1 none */
	const Elf64_Shdr *shdr;
	unsigned shnum;
	void *shdr_map;                 /* a mapping of `path` to unmap, or NULL */
	size_t shdr_map_len;
	/* The .eh_frame_hdr table. */
	const unsigned char *fde_table; /* pairs of int32 (initial location, FDE), hdr-relative */
	uint32_t fde_count;
	uintptr_t cie_cached;           /* the last CIE parsed: its FDE encoding, */
	int cie_enc;
	int cie_z;                      /* whether FDEs have augmentation data ('z'), */
	uint64_t cie_code_align;        /* and the unit of DW_CFA_advance_loc */
};

/* Where vaddr[0..n) can be read, or NULL if a segment does not hold it all. */
const unsigned char *vos_ehf_at(const struct vos_obj_view *v, uintptr_t vaddr, size_t n);

/* Read the .eh_frame_hdr table at v->eh_hdr: 0, or -1 (unsupported or corrupt: none). */
int vos_ehf_fde_table_init(struct vos_obj_view *v);

/* The FDE containing vaddr: 0 and [*begin, *end), *fde; 1 for a gap between
 * two FDEs ([*begin, *end) the gap, *fde 0); -1 none before it. */
int vos_ehf_fde_lookup(struct vos_obj_view *v, uintptr_t vaddr, uintptr_t *begin, uintptr_t *end,
		       uintptr_t *fde);

/* Instruction boundaries inside FDE fde's function (its CFI rows), increasing. */
size_t vos_ehf_cfi_boundaries(struct vos_obj_view *v, uintptr_t fde, uintptr_t begin, uintptr_t *locs,
			      size_t max);

/* 1: vaddr lies in an allocated section without code (section headers from
 * the view's file, its memory (the vDSO) or v->path). */
int vos_ehf_in_data_section(struct vos_obj_view *v, uintptr_t vaddr);

/* Unmap what vos_ehf_in_data_section mapped. */
void vos_ehf_drop_sections(struct vos_obj_view *v);

#endif
