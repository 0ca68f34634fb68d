/*
 * dir.c - directory streams on remote directories.
 *
 * glibc's opendir/readdir/... call open and getdents64 internally, past our
 * wrappers.  For a routed path or a remote fd we therefore hand out our own
 * stream object (struct vos_dir, not glibc's DIR) that reads records with
 * vos_remote_getdents64().  A registry of our objects lets every dirent
 * function tell ours from glibc's; anything else goes to glibc unchanged.
 *
 * Not covered yet: ftw()/nftw(), glob() and glibc's fts_*() open directories
 * with glibc-internal calls too, so they do not see routed paths.
 * (coreutils and findutils use gnulib's fts, which calls the public
 * openat/fdopendir and so works.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "vos_interpose.h"
#include "real.h"

/* The interposed functions must stay visible whatever the build's default. */
#define EXPORT __attribute__((visibility("default")))

/* On x86_64 glibc's struct dirent, struct dirent64 and the kernel's
 * struct linux_dirent64 share one layout, so a record from getdents64 is
 * handed out as a struct dirent in place, as glibc does. */
_Static_assert(offsetof(struct dirent, d_ino) == 0, "dirent layout");
_Static_assert(offsetof(struct dirent, d_off) == 8, "dirent layout");
_Static_assert(offsetof(struct dirent, d_reclen) == 16, "dirent layout");
_Static_assert(offsetof(struct dirent, d_type) == 18, "dirent layout");
_Static_assert(offsetof(struct dirent, d_name) == 19, "dirent layout");
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64");
_Static_assert(offsetof(struct dirent64, d_name) == 19, "dirent64 layout");

#define NAME_OFF offsetof(struct dirent, d_name)
#define DIR_BUF_SIZE 32768      /* what glibc uses */

struct vos_dir {
	struct vos_dir *next;   /* registry bucket chain */
	pthread_mutex_t lock;   /* glibc locks each stream too */
	int fd;
	size_t len;             /* valid bytes in buf */
	size_t pos;             /* next record in buf */
	long filepos;           /* telldir(): d_off of the last record returned */
	/* Slack after the records: some programs copy sizeof(struct dirent)
	 * bytes from what readdir returned, even for a short last record. */
	_Alignas(struct dirent) char buf[DIR_BUF_SIZE + sizeof(struct dirent)];
};

typedef int (*dirent_filter)(const struct dirent *);
typedef int (*dirent_compar)(const struct dirent **, const struct dirent **);

static void registry_atfork_prepare(void);
static void registry_atfork_parent(void);
static void registry_atfork_child(void);

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	pthread_atfork(registry_atfork_prepare, registry_atfork_parent, registry_atfork_child);
}

/* glibc's own functions are real_opendir() etc. (real.h). */
static void dir_init(void)
{
	vos_init();
	pthread_once(&atfork_once, register_atfork);
}

/* ------------------------------------------------------------------------ */
/* Registry of our streams                                                  */

#define NBUCKETS 64

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vos_dir *buckets[NBUCKETS];
/* How many of ours are alive: while none are, glibc's streams skip the lock. */
static atomic_size_t nlive;

static void registry_atfork_prepare(void) { pthread_mutex_lock(&registry_lock); }
static void registry_atfork_parent(void) { pthread_mutex_unlock(&registry_lock); }
static void registry_atfork_child(void) { pthread_mutex_unlock(&registry_lock); }

static size_t bucket_of(const void *p)
{
	return (size_t)(((uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15)) >> 58) % NBUCKETS;
}

static void registry_add(struct vos_dir *d)
{
	size_t b = bucket_of(d);

	pthread_mutex_lock(&registry_lock);
	d->next = buckets[b];
	buckets[b] = d;
	atomic_fetch_add(&nlive, 1);
	pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(struct vos_dir *d)
{
	struct vos_dir **pp;

	pthread_mutex_lock(&registry_lock);
	for (pp = &buckets[bucket_of(d)]; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			atomic_fetch_sub(&nlive, 1);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* Ours, or NULL for a glibc DIR (or anything else). */
static struct vos_dir *ours(DIR *dirp)
{
	struct vos_dir *d;

	if (!dirp || atomic_load(&nlive) == 0)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	for (d = buckets[bucket_of(dirp)]; d && (void *)d != (void *)dirp; d = d->next)
		;
	pthread_mutex_unlock(&registry_lock);
	return d;
}

/* ------------------------------------------------------------------------ */
/* Our streams                                                              */

/* A stream on fd, which must be an open directory.  NULL + errno (fd left
 * open, as glibc's fdopendir leaves it). */
static struct vos_dir *dir_new(int fd)
{
	struct vos_dir *d = malloc(sizeof *d);

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->fd = fd;
	d->len = d->pos = 0;
	d->filepos = 0;
	registry_add(d);
	return d;
}

/* Records from the service were validated by vos_remote_getdents64; check
 * again what we rely on here: each record lies inside the buffer, is long
 * enough for its header and a NUL-terminated name, and keeps the next one
 * 8-byte aligned.  Anything else is an I/O error, never a wild read. */
static int records_valid(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const struct dirent *e = (const void *)(buf + pos);
		size_t left = len - pos;
		unsigned short reclen;

		if (left < NAME_OFF + 1)
			return 0;
		reclen = e->d_reclen;
		if (reclen < NAME_OFF + 1 || reclen > left || reclen % 8 != 0)
			return 0;
		if (!memchr(e->d_name, '\0', reclen - NAME_OFF))
			return 0;
		pos += reclen;
	}
	return 1;
}

/* Fill the buffer.  Bytes read, 0 at the end, -1 + errno. */
static ssize_t dir_fill(struct vos_dir *d)
{
	ssize_t n;

	if (vos_fd_is_remote(d->fd))
		n = vos_remote_getdents64(d->fd, d->buf, DIR_BUF_SIZE);
	else    /* the program dup2'd a local fd over ours: follow the fd */
		n = syscall(SYS_getdents64, d->fd, d->buf, DIR_BUF_SIZE);
	if (n <= 0)
		return n;
	if ((size_t)n > DIR_BUF_SIZE || !records_valid(d->buf, (size_t)n)) {
		errno = EIO;
		return -1;
	}
	return n;
}

/* The next record, or NULL at the end (errno unchanged) or on error (errno
 * set).  Caller holds d->lock. */
static struct dirent *dir_next(struct vos_dir *d)
{
	struct dirent *e;

	do {
		if (d->pos >= d->len) {
			int saved = errno;
			ssize_t n = dir_fill(d);

			if (n <= 0) {
				d->len = d->pos = 0;
				/* POSIX: a directory removed under an open
				 * stream reads as empty (Linux says ENOENT). */
				if (n == 0 || errno == ENOENT)
					errno = saved;
				return NULL;
			}
			d->len = (size_t)n;
			d->pos = 0;
		}
		e = (struct dirent *)(d->buf + d->pos);
		d->pos += e->d_reclen;
		d->filepos = e->d_off;
	} while (e->d_ino == 0);        /* glibc skips deleted entries */
	return e;
}

/* Close and free.  close()'s result, as glibc's closedir returns. */
static int dir_close(struct vos_dir *d)
{
	int fd = d->fd;

	registry_remove(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return close(fd);
}

/* Like fdopendir on a remote fd: fd must be a directory open for reading. */
static struct vos_dir *dir_from_fd(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return NULL;
	if ((fl & O_ACCMODE) == O_WRONLY) {
		errno = EINVAL;
		return NULL;
	}
	return dir_new(fd);
}

/* Open a routed directory with glibc's opendir flags.  fd or -1 + errno. */
static int open_dir_fd(int dirfd, const char *path)
{
	return openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
}

/* Our stream on a freshly opened remote fd; closes fd on failure. */
static struct vos_dir *dir_new_or_close(int fd)
{
	struct vos_dir *d = dir_new(fd);
	int e;

	if (!d) {
		e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

/* ------------------------------------------------------------------------ */
/* The dirent API                                                           */

EXPORT DIR *opendir(const char *path)
{
	char buf[PATH_MAX];
	const char *local;
	int r, fd;

	dir_init();
	r = vos_path_local(AT_FDCWD, path, buf, &local);
	if (r < 0)
		return NULL;
	if (r == 0)
		return real_opendir(local);
	fd = open_dir_fd(AT_FDCWD, path);
	if (fd < 0)
		return NULL;
	if (!vos_fd_is_remote(fd))      /* not expected; glibc copes */
		return real_fdopendir(fd);
	return (DIR *)dir_new_or_close(fd);
}

EXPORT DIR *fdopendir(int fd)
{
	dir_init();
	if (!vos_fd_is_remote(fd))
		return real_fdopendir(fd);
	return (DIR *)dir_from_fd(fd);
}

EXPORT int closedir(DIR *dirp)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_closedir(dirp);
	return dir_close(d);
}

static struct dirent *dir_read(struct vos_dir *d)
{
	struct dirent *e;

	pthread_mutex_lock(&d->lock);
	e = dir_next(d);
	pthread_mutex_unlock(&d->lock);
	return e;
}

EXPORT struct dirent *readdir(DIR *dirp)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_readdir(dirp);
	return dir_read(d);
}

EXPORT struct dirent64 *readdir64(DIR *dirp)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_readdir64(dirp);
	return (struct dirent64 *)dir_read(d);
}

/* readdir_r: copy the record into the caller's entry; 0 or an errno value. */
static int dir_next_copy(struct vos_dir *d, struct dirent *entry,
			 struct dirent **result)
{
	int saved = errno, ret = 0;
	struct dirent *e;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		size_t namelen;

		errno = 0;
		e = dir_next(d);
		if (!e) {
			ret = errno;
			break;
		}
		namelen = strlen(e->d_name);
		if (namelen <= NAME_MAX) {
			memcpy(entry, e, NAME_OFF + namelen + 1);
			entry->d_reclen = (unsigned short)(NAME_OFF + namelen + 1);
			break;
		}
		ret = ENAMETOOLONG;     /* glibc: skip it, report at the end */
	}
	pthread_mutex_unlock(&d->lock);
	*result = e ? entry : NULL;
	errno = saved;
	return e ? 0 : ret;
}

EXPORT int readdir_r(DIR *dirp, struct dirent *entry, struct dirent **result)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_readdir_r(dirp, entry, result);
	return dir_next_copy(d, entry, result);
}

EXPORT int readdir64_r(DIR *dirp, struct dirent64 *entry, struct dirent64 **result)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_readdir64_r(dirp, entry, result);
	return dir_next_copy(d, (struct dirent *)entry, (struct dirent **)result);
}

EXPORT void rewinddir(DIR *dirp)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d) {
		real_rewinddir(dirp);
		return;
	}
	pthread_mutex_lock(&d->lock);
	lseek(d->fd, 0, SEEK_SET);
	d->len = d->pos = 0;
	d->filepos = 0;
	pthread_mutex_unlock(&d->lock);
}

EXPORT long telldir(DIR *dirp)
{
	struct vos_dir *d;
	long pos;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_telldir(dirp);
	pthread_mutex_lock(&d->lock);
	pos = d->filepos;
	pthread_mutex_unlock(&d->lock);
	return pos;
}

/* telldir values are the file system's d_off cookies, which lseek on the
 * directory understands: the same scheme as glibc on 64-bit. */
EXPORT void seekdir(DIR *dirp, long pos)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d) {
		real_seekdir(dirp, pos);
		return;
	}
	pthread_mutex_lock(&d->lock);
	lseek(d->fd, pos, SEEK_SET);
	d->len = d->pos = 0;
	d->filepos = pos;
	pthread_mutex_unlock(&d->lock);
}

EXPORT int dirfd(DIR *dirp)
{
	struct vos_dir *d;

	dir_init();
	d = ours(dirp);
	if (!d)
		return real_dirfd(dirp);
	return d->fd;
}

/* ------------------------------------------------------------------------ */
/* scandir: glibc's opens the directory internally, so do it on our streams */

static int compar_adapter(const void *a, const void *b, void *arg)
{
	dirent_compar cmp = *(const dirent_compar *)arg;

	return cmp((const struct dirent **)a, (const struct dirent **)b);
}

/* glibc's semantics: the filter's errno is ignored, any error of our own
 * (read, memory) fails the whole call, success restores errno. */
static int dir_scan(struct vos_dir *d, struct dirent ***namelist,
		    dirent_filter filter, dirent_compar compar)
{
	struct dirent **v = NULL, *e;
	size_t n = 0, cap = 0;
	int saved = errno, err;

	errno = 0;
	pthread_mutex_lock(&d->lock);
	while ((e = dir_next(d)) != NULL) {
		struct dirent *copy;
		size_t size;

		if (filter) {
			int keep = filter(e);

			errno = 0;
			if (!keep)
				continue;
		}
		if (n == INT_MAX) {
			errno = EOVERFLOW;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct dirent **nv = realloc(v, ncap * sizeof *nv);

			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		/* The whole record, as glibc copies it: callers (and ASan's
		 * scandir interceptor) take d_reclen as the entry's size. */
		size = e->d_reclen;
		copy = malloc(size);
		if (!copy)
			break;
		memcpy(copy, e, size);
		v[n++] = copy;
	}
	pthread_mutex_unlock(&d->lock);
	err = errno;
	dir_close(d);
	if (err) {
		while (n > 0)
			free(v[--n]);
		free(v);
		errno = err;
		return -1;
	}
	if (compar && n > 1)
		qsort_r(v, n, sizeof *v, compar_adapter, &compar);
	*namelist = v;
	errno = saved;
	return (int)n;
}

/* scandir on a routed (dirfd, path) */
static int scan_routed(int dirfd, const char *path, struct dirent ***namelist,
		       dirent_filter filter, dirent_compar compar)
{
	struct vos_dir *d;
	int fd = open_dir_fd(dirfd, path);

	if (fd < 0)
		return -1;
	if (!vos_fd_is_remote(fd)) {    /* not expected; let glibc do it */
		close(fd);
		return real_scandirat(dirfd, path, namelist, filter, compar);
	}
	d = dir_new_or_close(fd);
	if (!d)
		return -1;
	return dir_scan(d, namelist, filter, compar);
}

/* Every scandir variant: glibc makes the 64-bit ones aliases on x86_64
 * (same layout, asserted above), and scandir is scandirat(AT_FDCWD). */
static int scan_at(int dirfd, const char *path, struct dirent ***namelist,
		   dirent_filter filter, dirent_compar compar)
{
	char buf[PATH_MAX];
	const char *local;
	int r;

	dir_init();
	r = vos_path_local(dirfd, path, buf, &local);
	if (r < 0)
		return -1;
	if (r == 0)
		return real_scandirat(dirfd, local, namelist, filter, compar);
	return scan_routed(dirfd, path, namelist, filter, compar);
}

EXPORT int scandir(const char *path, struct dirent ***namelist,
		   dirent_filter filter, dirent_compar compar)
{
	return scan_at(AT_FDCWD, path, namelist, filter, compar);
}

EXPORT int scandirat(int dirfd, const char *path, struct dirent ***namelist,
		     dirent_filter filter, dirent_compar compar)
{
	return scan_at(dirfd, path, namelist, filter, compar);
}

EXPORT int scandir64(const char *path, struct dirent64 ***namelist,
		     int (*filter)(const struct dirent64 *),
		     int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scan_at(AT_FDCWD, path, (struct dirent ***)namelist,
		       (dirent_filter)filter, (dirent_compar)compar);
}

EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***namelist,
		       int (*filter)(const struct dirent64 *),
		       int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scan_at(dirfd, path, (struct dirent ***)namelist,
		       (dirent_filter)filter, (dirent_compar)compar);
}
