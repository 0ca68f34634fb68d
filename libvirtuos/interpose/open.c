/*
 * open.c - calls that make an fd from a path: the open family, creat, and
 * the mkstemp family.
 *
 * A routed path is opened by the service into a fresh placeholder number
 * (see fdtable.c); a local one by glibc, after which any stale entry for
 * the number is dropped (vos_fd_fresh).  The fortified entry points
 * (__open_2, ...) are in compat.c.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- open --------------------------------------------------------------- */

int vos_remote_openat(const struct vos_path *p, int flags, mode_t mode)
{
	const struct vos_service *s = &vos_services[p->svc];
	struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { p->dirfd, 0, flags, mode } };
	struct vos_in in = { 1, p->path, strlen(p->path) + 1 };
	int64_t res;
	int ph, e;

	vos_fdlock_rd();
	ph = real_open(s->placeholder, O_PATH | (flags & O_CLOEXEC));
	if (ph < 0) {
		e = errno;
		vos_fdlock_unlock();
		/* No placeholder file means no service behind the rundir. */
		errno = (e == EMFILE || e == ENFILE || e == ENOMEM) ? e : EIO;
		return -1;
	}
	if (ph >= VOS_FD_LIMIT) {
		real_close(ph);
		vos_fdlock_unlock();
		errno = EMFILE;
		return -1;
	}
	r.arg[4] = ph;
	res = vos_rpc(p->client, &r, &in, 1, NULL, 0, 0);
	if (res != ph) {
		/* Another number in the answer is a broken service: never
		 * act on it, it may be one of our other fds. */
		real_close(ph);
		vos_fdlock_unlock();
		errno = res < 0 ? (int)-res : EIO;
		return -1;
	}
	vos_fd_set(ph, VOS_FDE_REMOTE(p->svc, p->gen));
	vos_fdlock_unlock();
	if (ph <= 2)
		vos_std_after_change(ph);
	return ph;
}


int vos_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 1)
		return vos_remote_openat(&p, flags, mode);
	return vos_fd_fresh(real_openat(p.dirfd, p.path, flags, mode));
}

static int wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_MODE(flags, last) ({ \
	mode_t m_ = 0; \
	if (wants_mode(flags)) { \
		va_list ap_; \
		va_start(ap_, last); \
		m_ = (mode_t)va_arg(ap_, int); \
		va_end(ap_); \
	} \
	m_; })

VOS_EXPORT int open(const char *path, int flags, ...)
{
	return vos_openat(AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

VOS_ALIAS(open64, open);

VOS_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	return vos_openat(dirfd, path, flags, OPEN_MODE(flags, flags));
}

VOS_ALIAS(openat64, openat);

VOS_EXPORT int creat(const char *path, mode_t mode)
{
	return vos_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

VOS_ALIAS(creat64, creat);

/* ---- temporary files ----------------------------------------------------------------- */

/*
 * glibc's mkstemp family opens through internal calls, so a template glibc
 * cannot use (see make_here) is handled here: random names, O_CREAT|O_EXCL
 * through our open() or mkdir().
 */
static int make_tempname(char *tmpl, int suffixlen, int flags, int dir)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t len = strlen(tmpl);
	char *x;

	if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
	    memcmp(tmpl + len - suffixlen - 6, "XXXXXX", 6) != 0) {
		errno = EINVAL;
		return -1;
	}
	x = tmpl + len - suffixlen - 6;
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint8_t rnd[6];
		int fd;

		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			uint64_t v = (uint64_t)clock() ^ ((uint64_t)(uintptr_t)&rnd << 7) ^
				     (uint64_t)attempt * 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);

			for (int i = 0; i < 6; i++, v >>= 8)
				rnd[i] = (uint8_t)v;
		}
		for (int i = 0; i < 6; i++)
			x[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		if (dir)
			fd = mkdir(tmpl, 0700);
		else
			fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL | (flags & ~O_ACCMODE), 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* 1 if the template is routed, or local but not walkable by the kernel as
 * written (vos_path_local), 0 if glibc can do it, -1 + errno. */
static int make_here(const char *tmpl)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, tmpl, 0, &p);

	return r == 0 && p.path != tmpl ? 1 : r;
}

VOS_EXPORT int mkostemps(char *tmpl, int suffixlen, int flags)
{
	int r = make_here(tmpl);

	if (r < 0)
		return -1;
	if (r == 1)
		return make_tempname(tmpl, suffixlen, flags, 0);
	return vos_fd_fresh(real_mkostemps(tmpl, suffixlen, flags));
}

VOS_ALIAS(mkostemps64, mkostemps);

VOS_EXPORT int mkstemp(char *tmpl)
{
	return mkostemps(tmpl, 0, 0);
}

VOS_ALIAS(mkstemp64, mkstemp);

VOS_EXPORT int mkostemp(char *tmpl, int flags)
{
	return mkostemps(tmpl, 0, flags);
}

VOS_ALIAS(mkostemp64, mkostemp);

VOS_EXPORT int mkstemps(char *tmpl, int suffixlen)
{
	return mkostemps(tmpl, suffixlen, 0);
}

VOS_ALIAS(mkstemps64, mkstemps);

VOS_EXPORT char *mkdtemp(char *tmpl)
{
	int r = make_here(tmpl);

	if (r < 0)
		return NULL;
	if (r == 0)
		return real_mkdtemp(tmpl);
	return make_tempname(tmpl, 0, 0, 1) < 0 ? NULL : tmpl;
}
