/*
 * fdtable.h - which fd numbers of this process are remote, and the lock
 * that keeps the table and the services' view of it in step across fork.
 *
 * A data structure and nothing more: it knows nothing of services,
 * connections (fdtable.c links against libc alone, which is what lets
 * tests/unit/test_fdtable.c test it by itself).  What an entry means for a
 * call (is its channel still the live one?) is decided by vos_fd_remote()
 * in service.c.
 */
#ifndef VOS_FDTABLE_H
#define VOS_FDTABLE_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * An entry is one 32-bit word:
 *   bits 0-1  kind: 0 local/unknown, 1 remote, 2 internal (a channel fd)
 *   bits 2-7  service index (remote)
 *   bits 8-31 connection generation (remote); 0 = no channel ever (dead)
 */
#define VOS_FDK_LOCAL    0u
#define VOS_FDK_REMOTE   1u
#define VOS_FDK_INTERNAL 2u
#define VOS_FDE_KIND(e)  ((e) & 3u)
#define VOS_FDE_SVC(e)   (((e) >> 2) & 63u)
#define VOS_FDE_GEN(e)   ((e) >> 8)
#define VOS_FDE_REMOTE(svc, gen) (VOS_FDK_REMOTE | ((uint32_t)(svc) << 2) | ((uint32_t)(gen) << 8))
#define VOS_GEN_MASK     0xffffffu
#define VOS_FD_LIMIT     (1 << 20)

/* The entry of fd; 0 for a number never set and for any fd outside
 * [0, VOS_FD_LIMIT).  Lock-free and async-signal-safe. */
uint32_t vos_fd_entry(int fd);

/* The same, inline: loads only, no call (syscall_precheck.c reads the table
 * with it from code compiled without vector registers or sanitizers). */
#define VOS_FD_CHUNK_BITS 10
#define VOS_FD_CHUNKS     (VOS_FD_LIMIT >> VOS_FD_CHUNK_BITS)
extern _Atomic(_Atomic uint32_t *) vos_fd_chunks[VOS_FD_CHUNKS];

static inline uint32_t vos_fd_entry_inline(int fd)
{
	_Atomic uint32_t *c;

	if (fd < 0 || fd >= VOS_FD_LIMIT)
		return 0;
	c = atomic_load_explicit(&vos_fd_chunks[fd >> VOS_FD_CHUNK_BITS], memory_order_acquire);
	return c ? atomic_load_explicit(&c[fd & ((1 << VOS_FD_CHUNK_BITS) - 1)],
					memory_order_acquire) : 0;
}
/* Set fd's entry.  0, or -EMFILE if a nonzero entry cannot be stored (fd
 * outside the table, or no memory for its chunk); clearing an fd outside
 * the table, or one whose chunk was never made, does nothing and succeeds. */
int vos_fd_set(int fd, uint32_t entry);
/* A local fd was created at this number: drop any stale entry.  Returns 1
 * if there was one (the caller may have stdio to rebind for fd 0-2), else 0. */
int vos_fd_forget(int fd);
/* Highest fd ever marked remote + 1 (a bound for scans; never shrinks). */
int vos_fd_scan_limit(void);

/*
 * Is remote entry e served by the connection of generation conn_gen?  No
 * if e is not remote, if the fd never had a channel (generation 0), or if
 * it was opened on an earlier connection of the service: once a channel
 * dies its fds stay dead, even after a reconnect.
 */
int vos_fde_current(uint32_t e, uint32_t conn_gen);

/*
 * The fd lock.  Held for reading by wrappers that change which numbers are
 * remote, for writing around fork, so the service's snapshot of our remote
 * fds matches the table the child inherits.  Plain locking only: the
 * signal-deferral region that must surround a read hold is added by
 * vos_fdlock_rd()/vos_fdlock_unlock() (interpose_internal.h).
 */
void vos_fdtable_rdlock(void);
void vos_fdtable_wrlock(void);
void vos_fdtable_unlock(void);
/* Forked child of the thread that write-locked it: a fresh, free lock. */
void vos_fdtable_after_fork_child(void);

#endif
