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

int vos_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fchmodat(p.dirfd, p.path, mode, flags);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FCHMODAT, mode, flags, 0, NULL, 0, 0));
}

int vos_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fchownat(p.dirfd, p.path, uid, gid, flags);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FCHOWNAT, uid, gid, flags, NULL, 0, 0));
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

int vos_utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
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

/* ---- size ---------------------------------------------------------------------------- */

int vos_truncate(const char *path, off_t len)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_truncate(p.path, len);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_TRUNCATE, len, 0, 0, NULL, 0, 0));
}
