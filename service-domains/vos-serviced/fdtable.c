/*
 * fdtable.c - client fd number -> own open file (see fdtable.h).
 *
 * One mutex guards the entries; reference counts are atomic so a worker can
 * drop its reference without the lock.  The array grows by doubling up to
 * VOS_FDT_MAX entries; numbers beyond it are EBADF, as on a kernel whose
 * nr_open is that size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtable.h"

#define FDT_INITIAL 64u

int vos_fdt_init(struct vos_fdtable *t)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->lock, NULL);
	t->ent = calloc(FDT_INITIAL, sizeof *t->ent);
	if (!t->ent)
		return -ENOMEM;
	t->cap = FDT_INITIAL;
	return 0;
}

void vos_fdt_lock(struct vos_fdtable *t)
{
	pthread_mutex_lock(&t->lock);
}

void vos_fdt_unlock(struct vos_fdtable *t)
{
	pthread_mutex_unlock(&t->lock);
}

static int num_ok(int64_t num)
{
	return num >= 0 && num < VOS_FDT_MAX;
}

/* Make room for index num.  Lock held.  0 or -ENOMEM. */
static int grow(struct vos_fdtable *t, uint32_t num)
{
	if (num < t->cap)
		return 0;
	uint32_t cap = t->cap;
	while (cap <= num)
		cap *= 2;
	struct vos_fdent *e = realloc(t->ent, (size_t)cap * sizeof *e);
	if (!e)
		return -ENOMEM;
	memset(e + t->cap, 0, (size_t)(cap - t->cap) * sizeof *e);
	t->ent = e;
	t->cap = cap;
	return 0;
}

static void ref(struct vos_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

int vos_fdt_put(struct vos_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return 0;
	int r = close(f->fd) < 0 ? -errno : 0;
	free(f);
	/* EINTR from close: the fd is gone anyway (Linux); not an error. */
	return r == -EINTR ? 0 : r;
}

/*
 * A table entry of f went away (CLOSE, a number replaced by DUP or an open,
 * EXEC): for the client that is the close of one of its fds.  Linux then
 * releases every POSIX record lock the process holds on the file, whichever
 * of its fds was closed (close(2), NOTES), but the own fd is closed only with
 * its last reference (another number dup'ed from it, or a worker using it).
 * Closing a fresh duplicate of the own fd does the release, as the kernel
 * does it for any close; OFD and flock locks stay (they go with the open
 * file description, as natively).  refs is stable at 1: the entry is gone,
 * so nobody else can take a reference.
 */
static int drop_entry(struct vos_file *f)
{
	if (!f)
		return 0;
	if (__atomic_load_n(&f->refs, __ATOMIC_ACQUIRE) > 1) {
		int d = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);

		if (d >= 0)
			close(d);
	}
	return vos_fdt_put(f);
}

int vos_fdt_get(struct vos_fdtable *t, int64_t num, struct vos_file **out)
{
	struct vos_file *f = NULL;

	if (!num_ok(num))
		return -EBADF;
	pthread_mutex_lock(&t->lock);
	if ((uint64_t)num < t->cap && (f = t->ent[num].file))
		ref(f);
	pthread_mutex_unlock(&t->lock);
	*out = f;
	return f ? 0 : -EBADF;
}

/* Put f at num, returning what was there (for the caller to put). Lock held, num < cap. */
static struct vos_file *set(struct vos_fdtable *t, uint32_t num, struct vos_file *f, int cloexec)
{
	struct vos_file *old = t->ent[num].file;

	t->ent[num].file = f;
	t->ent[num].cloexec = cloexec ? 1 : 0;
	if (f && !old)
		t->used++;
	else if (!f && old)
		t->used--;
	return old;
}

int vos_fdt_install(struct vos_fdtable *t, int64_t num, int fd, int cloexec, int may_block)
{
	if (!num_ok(num))
		return -EBADF;
	struct vos_file *f = malloc(sizeof *f);
	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->refs = 1;
	f->may_block = may_block;

	pthread_mutex_lock(&t->lock);
	int err = grow(t, (uint32_t)num);
	struct vos_file *old = err ? NULL : set(t, (uint32_t)num, f, cloexec);
	pthread_mutex_unlock(&t->lock);
	if (err) {
		free(f);
		return err;
	}
	drop_entry(old);
	return 0;
}

int vos_fdt_remove(struct vos_fdtable *t, int64_t num)
{
	struct vos_file *old = NULL;

	if (!num_ok(num))
		return -EBADF;
	pthread_mutex_lock(&t->lock);
	if ((uint64_t)num < t->cap)
		old = set(t, (uint32_t)num, NULL, 0);
	pthread_mutex_unlock(&t->lock);
	if (!old)
		return -EBADF;
	return drop_entry(old);
}

int vos_fdt_dup(struct vos_fdtable *t, int64_t oldnum, int64_t newnum, int cloexec)
{
	struct vos_file *f, *old = NULL;
	int err = 0;

	if (!num_ok(oldnum) || !num_ok(newnum))
		return -EBADF;
	pthread_mutex_lock(&t->lock);
	f = (uint64_t)oldnum < t->cap ? t->ent[oldnum].file : NULL;
	if (!f) {
		err = -EBADF;
	} else if (oldnum == newnum) {
		t->ent[newnum].cloexec = cloexec ? 1 : 0;
	} else if (!(err = grow(t, (uint32_t)newnum))) {
		ref(f);
		old = set(t, (uint32_t)newnum, f, cloexec);
	}
	pthread_mutex_unlock(&t->lock);
	drop_entry(old);
	return err;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

void vos_fdt_keep_only(struct vos_fdtable *t, const int32_t *nums, uint32_t n)
{
	int32_t *keep = NULL;

	if (n) {
		/* Out of memory: closing fds the new image holds would be worse
		 * than keeping a few it does not. */
		keep = malloc((size_t)n * sizeof *keep);
		if (!keep)
			return;
		memcpy(keep, nums, (size_t)n * sizeof *keep);
		qsort(keep, n, sizeof *keep, cmp_i32);
	}
	for (;;) {
		/* Collect a batch under the lock, close it outside. */
		struct vos_file *batch[64];
		unsigned nb = 0;

		pthread_mutex_lock(&t->lock);
		for (uint32_t i = 0; i < t->cap && nb < 64; i++) {
			if (!t->ent[i].file)
				continue;
			int32_t k = (int32_t)i;
			if (n && bsearch(&k, keep, n, sizeof *keep, cmp_i32))
				continue;
			batch[nb++] = set(t, i, NULL, 0);
		}
		pthread_mutex_unlock(&t->lock);
		for (unsigned i = 0; i < nb; i++)
			drop_entry(batch[i]);
		if (nb < 64)
			break;
	}
	free(keep);
}

uint32_t vos_fdt_count(struct vos_fdtable *t)
{
	pthread_mutex_lock(&t->lock);
	uint32_t n = t->used;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void vos_fdt_after_fork_child(struct vos_fdtable *t)
{
	/* References held by workers of the parent have no owner here. */
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->ent[i].file)
			t->ent[i].file->refs = 0;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->ent[i].file)
			t->ent[i].file->refs++;
	pthread_mutex_unlock(&t->lock);
}

uint32_t vos_fdt_own_fds(struct vos_fdtable *t, int *fds, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->cap; i++) {
		struct vos_file *f = t->ent[i].file;
		if (!f)
			continue;
		if (n < max)
			fds[n] = f->fd;
		n++;
	}
	return n;
}
