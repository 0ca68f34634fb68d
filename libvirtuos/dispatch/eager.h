/*
 * eager.h - internal to libvirtuos/dispatch: find every `syscall`
 * instruction in executable memory before it runs (eager mode, README.md).
 *
 * A *candidate* is any 0f 05 byte pair in executable memory.  It is a *site*
 * if an instruction starts there when the function that contains it is
 * decoded from its start (the function's bounds come from the object's
 * .eh_frame_hdr); it is not a site if it lies inside another instruction or
 * in a section that holds no code.  Anything else (no FDE covers it, the
 * decoder fails, a `syscall` with prefixes) is *unclassified*: then the scan
 * fails and the process stays on Syscall User Dispatch (lazy mode).
 *
 * Sites found are handed to vos_dispatch_rewrite_sites() (dispatch.c) in
 * batches.  The functions return 0 when every candidate was classified and
 * every site rewritten, or -1 with a one-line reason in `why`.  The caller
 * serialises them (they use static buffers, not the program's stack and no
 * allocation: they run inside any code that maps memory executable).
 */
#ifndef VOS_DISPATCH_EAGER_H
#define VOS_DISPATCH_EAGER_H

#include <stddef.h>
#include <stdint.h>

#define VOS_EAGER_WHY 200

struct vos_eager_scan {
	uintptr_t skip_lo, skip_hi;     /* never sites: the gate (its calls must stay native) */
	uintptr_t skip_one;             /* ... and the bounce's `syscall`, which must trap */
	int alone;                      /* no other thread can run the code being rewritten
					 * (1, 0, or -1: count the threads if it matters) */
	uint64_t sites;                 /* out: sites rewritten */
	uint64_t native;                /* out: sites left native (one pass-through number) */
	uint64_t candidates;            /* out: 0f 05 pairs looked at */
	uint64_t cached;                /* out: segments classified from the cache */
	char why[VOS_EAGER_WHY];        /* out: why the scan failed */
};

/* Every object loaded now (dl_iterate_phdr: the program, its libraries,
 * the vDSO): each executable PT_LOAD segment.  Fails at once if some
 * executable memory belongs to no object (/proc/self/maps). */
int vos_eager_scan_loaded(struct vos_eager_scan *s);

/* A private read-only executable mapping of file fd at offset off, just
 * made at [addr, addr + len): the file's executable segments in it. */
int vos_eager_scan_file_map(struct vos_eager_scan *s, uintptr_t addr, size_t len, int fd,
			    long off);

/* [addr, addr + len) just made executable by mprotect: it must lie in the
 * executable segments of a loaded object. */
int vos_eager_scan_range(struct vos_eager_scan *s, uintptr_t addr, size_t len);

/* One candidate's verdict, as the cache keeps it: its offset in the
 * segment, whether it is a site, and nr1 = the number + 1 the site
 * provably always runs (0: not proven; whether that number is
 * pass-through is this process's own table, asked again on every load). */
#define VOS_EAGER_NR_MAX 1024   /* the class table's numbers (dispatch.c's SLED) */
#define VOS_EAGER_REC(off, site, nr1) \
	((uint64_t)(off) << 32 | (uint64_t)(nr1) << 1 | (uint64_t)(site))
#define VOS_EAGER_REC_OFF(r) ((uint32_t)((r) >> 32))
#define VOS_EAGER_REC_SITE(r) ((unsigned)(r) & 1)
#define VOS_EAGER_REC_NR1(r) ((unsigned)((r) >> 1) & 0xffff)

/* eager_cache.c: an executable segment's classification between processes.
 * key: from the object's build-id (-1 if it has none); load: the cached
 * candidates (VOS_EAGER_REC, by offset), their count or -1; store: best
 * effort. */
struct dl_phdr_info;
int vos_eager_cache_key(const struct dl_phdr_info *info, uintptr_t vaddr, uintptr_t len,
			char *key, size_t keylen);
long vos_eager_cache_load(const char *key, uint64_t *v, size_t max);
void vos_eager_cache_store(const char *key, const uint64_t *v, size_t n);

/* dispatch.c: rewrite sites[0..n) (sorted, in pages whose protection is
 * `prot` and goes back to it; alone: no other thread can be running them).
 * The pages from the first site to the last are made writable, and those
 * of [span_lo, span_hi) too (0, 0: none; the vDSO cannot be split).
 * 0, or -1 with the first site that could not be rewritten in *bad. */
int vos_dispatch_rewrite_sites(const uintptr_t *sites, size_t n, uintptr_t span_lo,
			       uintptr_t span_hi, int prot, int alone, uintptr_t *bad);

/* dispatch.c: 1 if a site that provably runs only number nr may stay a
 * plain `syscall`: nr is pass-through now (and a pass-through number
 * stays one for the life of the process image) and is none of the
 * numbers the module must see (vos_dispatch_nr_never_native). */
int vos_dispatch_nr_native(long nr);
int vos_dispatch_nr_never_native(long nr);

#endif
