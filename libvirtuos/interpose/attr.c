/*
 * attr.c - calls that change a file's attributes by path: modes, owners,
 * times, size (truncate), and extended attributes (ENOTSUP on remote
 * files: the protocol has none).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- modes, owners, times ----------------------------------------------------------- */

VOS_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fchmodat(p.dirfd, p.path, mode, flags);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FCHMODAT, mode, flags, 0, NULL, 0, 0));
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
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FCHOWNAT, uid, gid, flags, NULL, 0, 0));
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

/* ---- size ---------------------------------------------------------------------------- */

VOS_EXPORT int truncate(const char *path, off_t len)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_truncate(p.path, len);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_TRUNCATE, len, 0, 0, NULL, 0, 0));
}

VOS_ALIAS(truncate64, truncate);

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
