/*
 * pathops.c - calls that name files by path: open family, stat family,
 * access, unlink/rmdir, rename, mkdir, chmod/chown, times, links, truncate,
 * statfs/statvfs, realpath, mkstemp family, extended attributes.
 *
 * Each wrapper routes its path (route.c); a local path goes to glibc
 * (possibly rewritten to an absolute path when the cwd is virtual), a routed
 * one becomes one request with the export-relative path.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/xattr.h>
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

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
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
	return do_openat(AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

VOS_ALIAS(open64, open);

VOS_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	return do_openat(dirfd, path, flags, OPEN_MODE(flags, flags));
}

VOS_ALIAS(openat64, openat);

/* Fortified entry points (called without a mode: no O_CREAT). */
VOS_EXPORT int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

VOS_ALIAS(__open64_2, __open_2);

VOS_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

VOS_ALIAS(__openat64_2, __openat_2);

VOS_EXPORT int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

VOS_ALIAS(creat64, creat);

/* ---- helpers for one-path requests -------------------------------------------- */

/*
 * Send op with arg[0] = dirfd, arg[1] = path (or VOS_NO_PATH), arg[2..4] as
 * given; output as for vos_rpc.  Returns the result or -errno.
 */
static int64_t path_rpc(const struct vos_path *p, uint16_t op, int64_t a2, int64_t a3,
			int64_t a4, void *out, size_t outlen, int out_fixed)
{
	struct vos_req r = { .op = op, .arg = { p->dirfd, VOS_NO_PATH, a2, a3, a4 } };
	struct vos_in in = { 1, p->path, p->path ? strlen(p->path) + 1 : 0 };

	return vos_rpc(p->client, &r, &in, p->path ? 1 : 0, out, outlen, out_fixed);
}

/* ---- stat family ------------------------------------------------------------------ */

#define STAT_FLAGS (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fstatat(p.dirfd, p.path, st, flags);
	return (int)vos_ret(path_rpc(&p, VOS_OP_FSTATAT, flags & STAT_FLAGS, 0, 0,
				     st, sizeof(*st), 1));
}

VOS_EXPORT int stat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, 0);
}

VOS_EXPORT int lstat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

VOS_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

VOS_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

VOS_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

VOS_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

/* Pre-2.33 binaries: _STAT_VER 0 (kernel) or 1 (linux) on x86_64. */
int vos_stat_ver_ok(int ver)
{
	if (ver == 0 || ver == 1)
		return 1;
	errno = EINVAL;
	return 0;
}

/* Like __fxstat (fdops.c), these never go back through a public symbol
 * that a sanitizer's interceptor might turn into a call of themselves. */
VOS_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(AT_FDCWD, path, st, 0) : -1;
}

VOS_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) : -1;
}

VOS_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(dirfd, path, st, flags) : -1;
}

VOS_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(AT_FDCWD, path, (struct stat *)st, 0) : -1;
}

VOS_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(AT_FDCWD, path, (struct stat *)st,
						 AT_SYMLINK_NOFOLLOW) : -1;
}

VOS_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return vos_stat_ver_ok(ver) ? do_fstatat(dirfd, path, (struct stat *)st, flags) : -1;
}

VOS_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);

	if (r < 0)
		return -1;
	if (r == 0) {
		if (!real_statx) {
			errno = ENOSYS;
			return -1;
		}
		return real_statx(p.dirfd, p.path, flags, mask, stx);
	}
	return (int)vos_ret(path_rpc(&p, VOS_OP_STATX, flags, mask, 0, stx, sizeof(*stx), 1));
}

/* ---- access ----------------------------------------------------------------------- */

VOS_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_faccessat(p.dirfd, p.path, mode, flags);
	return (int)vos_ret(path_rpc(&p, VOS_OP_FACCESSAT, mode, flags, 0, NULL, 0, 0));
}

VOS_EXPORT int access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, 0);
}

VOS_EXPORT int euidaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

VOS_EXPORT int eaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

/* ---- removing, renaming, creating directories ---------------------------------------- */

VOS_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_unlinkat(p.dirfd, p.path, flags);
	return (int)vos_ret(path_rpc(&p, VOS_OP_UNLINKAT, flags, 0, 0, NULL, 0, 0));
}

VOS_EXPORT int unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

VOS_EXPORT int rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

/*
 * Two-path operations (rename, link): both local -> glibc; both on the same
 * service -> one request; anything else crosses file systems: EXDEV.
 */
static int two_paths(uint16_t op, int d1, const char *p1, int d2, const char *p2, int flags,
		     int empty)
{
	struct vos_path *a = malloc(2 * sizeof(*a)), *b;
	int r1, r2, res;

	if (!a) {
		errno = ENOMEM;
		return -1;
	}
	b = a + 1;
	r1 = vos_path_resolve(d1, p1, empty, a);
	r2 = r1 < 0 ? -1 : vos_path_resolve(d2, p2, 0, b);
	if (r1 < 0 || r2 < 0) {
		res = -1;
	} else if (r1 == 0 && r2 == 0) {
		if (op == VOS_OP_RENAMEAT2)
			res = real_renameat2 ? real_renameat2(a->dirfd, a->path, b->dirfd, b->path,
							      (unsigned)flags)
					     : (errno = ENOSYS, -1);
		else
			res = real_linkat(a->dirfd, a->path, b->dirfd, b->path, flags);
	} else if (r1 != r2 || a->svc != b->svc) {
		errno = EXDEV;
		res = -1;
	} else {
		struct vos_req r = { .op = op, .arg = { a->dirfd, VOS_NO_PATH, b->dirfd, 0, flags } };
		struct vos_in in[2] = {
			{ 3, b->path, strlen(b->path) + 1 },
			{ 1, a->path, a->path ? strlen(a->path) + 1 : 0 },
		};

		res = (int)vos_ret(vos_rpc(a->client, &r, in, a->path ? 2 : 1, NULL, 0, 0));
	}
	free(a);
	return res;
}

VOS_EXPORT int renameat2(int d1, const char *p1, int d2, const char *p2, unsigned flags)
{
	return two_paths(VOS_OP_RENAMEAT2, d1, p1, d2, p2, (int)flags, 0);
}

VOS_EXPORT int renameat(int d1, const char *p1, int d2, const char *p2)
{
	return renameat2(d1, p1, d2, p2, 0);
}

VOS_EXPORT int rename(const char *p1, const char *p2)
{
	return renameat2(AT_FDCWD, p1, AT_FDCWD, p2, 0);
}

VOS_EXPORT int linkat(int d1, const char *p1, int d2, const char *p2, int flags)
{
	return two_paths(VOS_OP_LINKAT, d1, p1, d2, p2, flags, flags & AT_EMPTY_PATH);
}

VOS_EXPORT int link(const char *p1, const char *p2)
{
	return linkat(AT_FDCWD, p1, AT_FDCWD, p2, 0);
}

VOS_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_mkdirat(p.dirfd, p.path, mode);
	return (int)vos_ret(path_rpc(&p, VOS_OP_MKDIRAT, mode, 0, 0, NULL, 0, 0));
}

VOS_EXPORT int mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

/* ---- modes, owners, times ----------------------------------------------------------- */

VOS_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fchmodat(p.dirfd, p.path, mode, flags);
	return (int)vos_ret(path_rpc(&p, VOS_OP_FCHMODAT, mode, flags, 0, NULL, 0, 0));
}

VOS_EXPORT int chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

VOS_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fchownat(p.dirfd, p.path, uid, gid, flags);
	return (int)vos_ret(path_rpc(&p, VOS_OP_FCHOWNAT, uid, gid, flags, NULL, 0, 0));
}

VOS_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, 0);
}

VOS_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

int vos_remote_utimens(struct vos_client *c, int dirfd, const char *path,
		       const struct timespec *times, int flags)
{
	struct vos_req r = { .op = VOS_OP_UTIMENSAT,
			     .arg = { dirfd, VOS_NO_PATH, VOS_NO_PATH, flags } };
	struct vos_in in[2];
	int n = 0;

	if (times)
		in[n++] = (struct vos_in){ 2, times, 2 * sizeof(*times) };
	if (path)
		in[n++] = (struct vos_in){ 1, path, strlen(path) + 1 };
	return (int)vos_ret(vos_rpc(c, &r, in, n, NULL, 0, 0));
}

VOS_EXPORT int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
{
	struct vos_path p;
	struct vos_client *c;
	int r;

	path = VOS_OPAQUE(path);
	if (!path) {
		/* Linux: a NULL path means dirfd itself. */
		r = vos_fd_remote(dirfd, &c, NULL);
		if (r == 0)
			return real_utimensat(dirfd, path, times, flags);
		return r < 0 ? -1 : vos_remote_utimens(c, dirfd, NULL, times, flags);
	}
	r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);
	if (r < 0)
		return -1;
	if (r == 0)
		return real_utimensat(p.dirfd, p.path, times, flags);
	return vos_remote_utimens(p.client, p.dirfd, p.path, times, flags);
}

int vos_tv_to_ts(const struct timeval *tv, struct timespec *ts, const struct timespec **out)
{
	*out = NULL;
	if (!tv)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) {
			errno = EINVAL;
			return -1;
		}
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	*out = ts;
	return 0;
}

VOS_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	const struct timespec *t;

	return vos_tv_to_ts(tv, ts, &t) < 0 ? -1 : utimensat(AT_FDCWD, path, t, 0);
}

VOS_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	const struct timespec *t;

	return vos_tv_to_ts(tv, ts, &t) < 0 ? -1 : utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
}

VOS_EXPORT int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	const struct timespec *t;

	if (vos_tv_to_ts(tv, ts, &t) < 0)
		return -1;
	return path ? utimensat(dirfd, path, t, 0) : futimens(dirfd, t);
}

VOS_EXPORT int utime(const char *path, const struct utimbuf *buf)
{
	struct timespec ts[2];

	if (!buf)
		return utimensat(AT_FDCWD, path, NULL, 0);
	ts[0] = (struct timespec){ buf->actime, 0 };
	ts[1] = (struct timespec){ buf->modtime, 0 };
	return utimensat(AT_FDCWD, path, ts, 0);
}

/* ---- links ---------------------------------------------------------------------------- */

VOS_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);
	size_t max;

	if (r < 0)
		return -1;
	if (r == 0)
		return real_readlinkat(p.dirfd, p.path, buf, size);
	if (size == 0 || size > (size_t)INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	max = vos_client_slot_size(p.client);
	if (size < max)
		max = size;
	return vos_ret(path_rpc(&p, VOS_OP_READLINKAT, (int64_t)max, 0, 0, buf, max, 0));
}

VOS_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	return readlinkat(AT_FDCWD, path, buf, size);
}

VOS_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return readlinkat(AT_FDCWD, path, buf, size);
}

VOS_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size,
				    size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return readlinkat(dirfd, path, buf, size);
}

/* The target is stored as written (it is not a path we open). */
VOS_EXPORT int symlinkat(const char *target, int dirfd, const char *linkpath)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, linkpath, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_symlinkat(target, p.dirfd, p.path);
	if (!VOS_OPAQUE(target)) {
		errno = EFAULT;
		return -1;
	}
	struct vos_req req = { .op = VOS_OP_SYMLINKAT, .arg = { 0, p.dirfd, 0 } };
	struct vos_in in[2] = {
		{ 0, target, strlen(target) + 1 },
		{ 2, p.path, strlen(p.path) + 1 },
	};

	return (int)vos_ret(vos_rpc(p.client, &req, in, 2, NULL, 0, 0));
}

VOS_EXPORT int symlink(const char *target, const char *linkpath)
{
	return symlinkat(target, AT_FDCWD, linkpath);
}

/* ---- size and file system -------------------------------------------------------------- */

VOS_EXPORT int truncate(const char *path, off_t len)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_truncate(p.path, len);
	return (int)vos_ret(path_rpc(&p, VOS_OP_TRUNCATE, len, 0, 0, NULL, 0, 0));
}

VOS_ALIAS(truncate64, truncate);

VOS_EXPORT int statfs(const char *path, struct statfs *buf)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_statfs(p.path, buf);
	return (int)vos_ret(path_rpc(&p, VOS_OP_STATFS, 0, 0, 0, buf, sizeof(*buf), 1));
}

VOS_EXPORT int statfs64(const char *path, struct statfs64 *buf)
{
	return statfs(path, (struct statfs *)buf);
}

/* statfs f_flags bit saying the other bits are valid (linux/statfs.h). */
#ifndef ST_VALID
#define ST_VALID 0x0020
#endif

/* What glibc's statvfs derives from statfs. */
void vos_statfs_to_statvfs(const struct statfs *f, struct statvfs *v)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = (unsigned long)f->f_bsize;
	v->f_frsize = (unsigned long)(f->f_frsize ? f->f_frsize : f->f_bsize);
	v->f_blocks = f->f_blocks;
	v->f_bfree = f->f_bfree;
	v->f_bavail = f->f_bavail;
	v->f_files = f->f_files;
	v->f_ffree = f->f_ffree;
	v->f_favail = f->f_ffree;
	v->f_fsid = (unsigned long)(unsigned)f->f_fsid.__val[0] |
		    ((unsigned long)(unsigned)f->f_fsid.__val[1] << 32);
	v->f_namemax = (unsigned long)f->f_namelen;
	v->f_flag = (unsigned long)f->f_flags & ~(unsigned long)ST_VALID;
}

VOS_EXPORT int statvfs(const char *path, struct statvfs *buf)
{
	struct vos_path p;
	struct statfs f;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_statvfs(p.path, buf);
	if (vos_ret(path_rpc(&p, VOS_OP_STATFS, 0, 0, 0, &f, sizeof(f), 1)) < 0)
		return -1;
	vos_statfs_to_statvfs(&f, buf);
	return 0;
}

VOS_EXPORT int statvfs64(const char *path, struct statvfs64 *buf)
{
	return statvfs(path, (struct statvfs *)buf);
}

/* ---- realpath ------------------------------------------------------------------------ */

int vos_remote_fdpath(struct vos_client *c, int fd, char *buf, size_t size)
{
	struct vos_req r = { .op = VOS_OP_FDPATH, .arg = { fd } };
	int64_t n = vos_rpc(c, &r, NULL, 0, buf, size - 1, 0);

	if (n < 0)
		return (int)vos_ret(n);
	buf[n] = '\0';
	if (n == 0 || buf[0] != '/' || strlen(buf) != (size_t)n) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int vos_join_prefix(int svc, const char *rel, char *out, size_t size)
{
	const char *prefix = vos_service_prefix(svc);
	int n = snprintf(out, size, "%s%s", prefix, strcmp(rel, "/") == 0 ? "" : rel);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Resolve a routed path through the service: open it O_PATH, ask its path. */
static char *remote_realpath(const struct vos_path *p, char *resolved)
{
	char rel[PATH_MAX], full[PATH_MAX];
	int fd = vos_remote_openat(p, O_PATH | O_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return NULL;
	if (vos_remote_fdpath(p->client, fd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(p->svc, rel, full, sizeof(full)) < 0)
		err = errno;
	vos_remote_close(fd);
	if (err) {
		errno = err;
		return NULL;
	}
	if (!resolved)
		return strdup(full);
	strcpy(resolved, full);
	return resolved;
}

VOS_EXPORT char *realpath(const char *path, char *resolved)
{
	struct vos_path p;
	int r;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (!*path) {
		errno = ENOENT;
		return NULL;
	}
	r = vos_path_resolve(AT_FDCWD, path, 0, &p);
	if (r < 0)
		return NULL;
	if (r == 0)
		return real_realpath(p.path, resolved);
	return remote_realpath(&p, resolved);
}

VOS_EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

VOS_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolved && resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

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

/* ---- extended attributes: the protocol has none, so remote files behave
 * like a file system without xattr support (ENOTSUP), which callers such
 * as ls and cp accept. ---------------------------------------------------------------- */

static int xattr_fd_remote(int fd)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 1)
		errno = ENOTSUP;
	return r;
}

#define XATTR_PATH(ret, name, params, args) \
	VOS_EXPORT ret name params \
	{ \
		struct vos_path p_; \
		int r_ = vos_path_resolve(AT_FDCWD, path, 0, &p_); \
		if (r_ != 0) { \
			if (r_ == 1) \
				errno = ENOTSUP; \
			return -1; \
		} \
		path = p_.path; \
		return real_##name args; \
	}
#define XATTR_FD(ret, name, params, args) \
	VOS_EXPORT ret name params \
	{ \
		if (xattr_fd_remote(fd) != 0) \
			return -1; \
		return real_##name args; \
	}

XATTR_PATH(ssize_t, getxattr, (const char *path, const char *n, void *v, size_t s), (path, n, v, s))
XATTR_PATH(ssize_t, lgetxattr, (const char *path, const char *n, void *v, size_t s), (path, n, v, s))
XATTR_FD(ssize_t, fgetxattr, (int fd, const char *n, void *v, size_t s), (fd, n, v, s))
XATTR_PATH(int, setxattr, (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_PATH(int, lsetxattr, (const char *path, const char *n, const void *v, size_t s, int f),
	   (path, n, v, s, f))
XATTR_FD(int, fsetxattr, (int fd, const char *n, const void *v, size_t s, int f), (fd, n, v, s, f))
XATTR_PATH(ssize_t, listxattr, (const char *path, char *l, size_t s), (path, l, s))
XATTR_PATH(ssize_t, llistxattr, (const char *path, char *l, size_t s), (path, l, s))
XATTR_FD(ssize_t, flistxattr, (int fd, char *l, size_t s), (fd, l, s))
XATTR_PATH(int, removexattr, (const char *path, const char *n), (path, n))
XATTR_PATH(int, lremovexattr, (const char *path, const char *n), (path, n))
XATTR_FD(int, fremovexattr, (int fd, const char *n), (fd, n))
