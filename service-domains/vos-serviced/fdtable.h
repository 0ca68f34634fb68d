/*
 * fdtable.h - a shadow's table from client fd number to its own open file.
 *
 * The client's kernel hands out the numbers (it holds a placeholder fd at
 * each); the shadow maps each number to a struct vos_file holding the
 * shadow's own fd.  The table lives in the shadow's private memory, so the
 * client can only name entries, never forge them.
 *
 * Several client numbers can share one vos_file (dup): they share the open
 * file description, as on Linux.  A vos_file is reference counted: a worker
 * that uses an fd holds a reference, so a concurrent CLOSE can never make
 * the own fd number be closed and reused under a running call.
 */
#ifndef VOS_FDTABLE_H
#define VOS_FDTABLE_H

#include <pthread.h>
#include <stdint.h>

/* Highest client fd number + 1 the table accepts (Linux's default nr_open). */
#define VOS_FDT_MAX (1 << 20)

struct vos_file {
	int fd;                 /* the shadow's own fd */
	int refs;               /* table entries + users; atomic builtins */
	int may_block;          /* not a regular file or directory: I/O may wait */
};

struct vos_fdent {
	struct vos_file *file;  /* NULL: free */
	uint8_t cloexec;        /* the client's FD_CLOEXEC bit, as it set it */
};

struct vos_fdtable {
	pthread_mutex_t lock;
	struct vos_fdent *ent;
	uint32_t cap;           /* entries allocated, grows on demand */
	uint32_t used;          /* entries in use */
};

int vos_fdt_init(struct vos_fdtable *t);

/* Take a reference to the file at client number num.  0 or -EBADF. */
int vos_fdt_get(struct vos_fdtable *t, int64_t num, struct vos_file **out);
/* Drop a reference; the own fd is closed with the last one.  Returns
 * close()'s result (0 or -errno) if this closed it, else 0. */
int vos_fdt_put(struct vos_file *f);

/* Install own fd `fd` at num (replacing whatever was there). On success the
 * table owns fd.  0, -EBADF (num out of range) or -ENOMEM (fd not consumed). */
int vos_fdt_install(struct vos_fdtable *t, int64_t num, int fd, int cloexec, int may_block);
/* Remove num.  0, the close error, or -EBADF if num is not open. */
int vos_fdt_remove(struct vos_fdtable *t, int64_t num);
/* Make newnum refer to oldnum's file (replacing newnum).  0 or -errno. */
int vos_fdt_dup(struct vos_fdtable *t, int64_t oldnum, int64_t newnum, int cloexec);
/* Keep only the listed numbers (exec), close everything else. */
void vos_fdt_keep_only(struct vos_fdtable *t, const int32_t *nums, uint32_t n);
/* Number of entries in use. */
uint32_t vos_fdt_count(struct vos_fdtable *t);

/*
 * fork support.  The forking thread holds the lock across fork() so the
 * child's copy is consistent.  In the child, vos_fdt_after_fork_child()
 * recounts references (users of files lived in threads that do not exist
 * there) and unlocks; vos_fdt_own_fds() lists the own fds to keep open.
 */
void vos_fdt_lock(struct vos_fdtable *t);
void vos_fdt_unlock(struct vos_fdtable *t);
void vos_fdt_after_fork_child(struct vos_fdtable *t);
/* Fill fds (capacity max) with the own fds in the table (a dup'ed file
 * appears once per entry); returns the count (may exceed max: the caller
 * retries with more room).  Caller holds no lock
 * and no other thread runs (child after fork). */
uint32_t vos_fdt_own_fds(struct vos_fdtable *t, int *fds, uint32_t max);

#endif
