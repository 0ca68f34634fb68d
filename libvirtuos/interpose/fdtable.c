/*
 * fdtable.c - which fd numbers of this process are remote.
 *
 * A remote fd's number belongs to a placeholder (an O_PATH fd on
 * <rundir>/<service>.remote-fd) that we hold open, so the kernel never hands
 * the number to anything else while the entry says "remote".  The table is
 * read on every wrapped fd call, by any thread and from signal handlers, so
 * reads are lock-free: two levels of atomically published chunks that are
 * never freed or moved.  Chunks come from mmap, which is async-signal-safe.
 *
 * Also here: the fd lock (fdtable.h), which orders changes of the table
 * against fork.  Nothing in this file calls out of it (see fdtable.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdtable.h"

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
/* Tell TSan a write-locked rwlock we are about to re-initialise is free. */
static void tsan_forget_wrlock(void *lock)
{
	__tsan_mutex_pre_unlock(lock, 0);
	__tsan_mutex_post_unlock(lock, 0);
}
#else
static void tsan_forget_wrlock(void *lock)
{
	(void)lock;
}
#endif

#define CHUNK_BITS VOS_FD_CHUNK_BITS
#define CHUNK_SIZE (1 << CHUNK_BITS)
#define NCHUNKS    VOS_FD_CHUNKS

/* Read without locks by vos_fd_entry_inline() (fdtable.h). */
_Atomic(_Atomic uint32_t *) vos_fd_chunks[VOS_FD_CHUNKS];
#define chunks vos_fd_chunks
static _Atomic int scan_limit;

static _Atomic uint32_t *chunk_of(int fd, int create)
{
	_Atomic uint32_t *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	_Atomic uint32_t *expect = NULL;

	if (c || !create)
		return c;
	/* The raw call: our mmap() wrapper would look at this very table. */
	c = (void *)syscall(SYS_mmap, NULL, CHUNK_SIZE * sizeof(*c), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(&chunks[fd >> CHUNK_BITS], &expect, c,
						     memory_order_acq_rel, memory_order_acquire)) {
		syscall(SYS_munmap, (void *)c, CHUNK_SIZE * sizeof(*c));
		c = expect;     /* another thread won */
	}
	return c;
}

uint32_t vos_fd_entry(int fd)
{
	return vos_fd_entry_inline(fd);
}

int vos_fd_set(int fd, uint32_t entry)
{
	_Atomic uint32_t *c;
	int lim;

	if (fd < 0 || fd >= VOS_FD_LIMIT)
		return entry ? -EMFILE : 0;
	c = chunk_of(fd, entry != 0);
	if (!c)
		return entry ? -EMFILE : 0;
	atomic_store_explicit(&c[fd & (CHUNK_SIZE - 1)], entry, memory_order_release);
	if (VOS_FDE_KIND(entry) == VOS_FDK_REMOTE) {
		lim = atomic_load_explicit(&scan_limit, memory_order_relaxed);
		while (lim <= fd && !atomic_compare_exchange_weak_explicit(
				&scan_limit, &lim, fd + 1, memory_order_relaxed, memory_order_relaxed))
			;
	}
	return 0;
}

int vos_fd_forget(int fd)
{
	if (vos_fd_entry(fd) == 0)
		return 0;
	vos_fd_set(fd, 0);
	return 1;
}

int vos_fd_scan_limit(void)
{
	return atomic_load_explicit(&scan_limit, memory_order_relaxed);
}

int vos_fde_current(uint32_t e, uint32_t conn_gen)
{
	return VOS_FDE_KIND(e) == VOS_FDK_REMOTE && VOS_FDE_GEN(e) != 0 &&
	       VOS_FDE_GEN(e) == (conn_gen & VOS_GEN_MASK);
}

/* ---- the fd lock ------------------------------------------------------- */

static pthread_rwlock_t fdlock = PTHREAD_RWLOCK_INITIALIZER;

void vos_fdtable_rdlock(void)
{
	pthread_rwlock_rdlock(&fdlock);
}

void vos_fdtable_wrlock(void)
{
	pthread_rwlock_wrlock(&fdlock);
}

void vos_fdtable_unlock(void)
{
	pthread_rwlock_unlock(&fdlock);
}

/* The lock, write-locked by this thread in the parent before fork, cannot
 * be unlocked here: glibc checks the owner's thread id, which changed. */
void vos_fdtable_after_fork_child(void)
{
	tsan_forget_wrlock(&fdlock);
	pthread_rwlock_init(&fdlock, NULL);
}

