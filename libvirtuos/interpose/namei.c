/*
 * namei.c - calls that create, remove and rename names: unlink, rmdir,
 * rename, link, symlink, readlink, mkdir, mknod and mkfifo.  Two-path calls (rename, link)
 * across a routing boundary fail with EXDEV, as across mount points.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "interpose_internal.h"

/* ---- removing, renaming, creating directories ---------------------------------------- */

int vos_unlinkat(int dirfd, const char *path, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_unlinkat(p.dirfd, p.path, flags);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_UNLINKAT, flags, 0, 0, NULL, 0, 0));
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

int vos_renameat2(int d1, const char *p1, int d2, const char *p2, unsigned flags)
{
	return two_paths(VOS_OP_RENAMEAT2, d1, p1, d2, p2, (int)flags, 0);
}

/*
 * linkat of "/proc/self/fd/N" (or /dev/fd/N, ...) of a remote fd: the file
 * itself, not the path it had (an O_TMPFILE file has none).  Followed, the
 * service links its own fd's magic link (LINKAT with no path and
 * AT_SYMLINK_FOLLOW alone); not followed, the kernel would link the /proc
 * symlink itself, across file systems: EXDEV.
 */
int vos_linkat(int d1, const char *p1, int d2, const char *p2, int flags)
{
	char old[64];
	int fd;

	if (!(flags & AT_EMPTY_PATH) && vos_strncpy_from_user(old, p1, sizeof(old)) > 0 &&
	    (fd = vos_magic_remote_fd(old)) >= 0) {
		if (!(flags & AT_SYMLINK_FOLLOW)) {
			errno = EXDEV;
			return -1;
		}
		return two_paths(VOS_OP_LINKAT, fd, "", d2, p2, flags, 1);
	}
	return two_paths(VOS_OP_LINKAT, d1, p1, d2, p2, flags, flags & AT_EMPTY_PATH);
}

int vos_mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_mkdirat(p.dirfd, p.path, mode);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_MKDIRAT, mode, 0, 0, NULL, 0, 0));
}

/* FIFOs, sockets, regular files and devices: the mode goes to the service as
 * it is (type and permission bits); the kernel there answers for the type. */
int vos_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_mknodat(p.dirfd, p.path, mode, dev);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_MKNODAT, mode, (int64_t)dev, 0, NULL, 0, 0));
}

/* ---- links ---------------------------------------------------------------------------- */

ssize_t vos_readlinkat(int dirfd, const char *path, char *buf, size_t size)
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
	return vos_ret(vos_path_rpc(&p, VOS_OP_READLINKAT, (int64_t)max, 0, 0, buf, max, 0));
}


/* The target is stored as written (it is not a path we open). */
int vos_symlinkat(const char *target, int dirfd, const char *linkpath)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, linkpath, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_symlinkat(target, p.dirfd, p.path);
	/* The program's string, copied safely (uaccess.c): EFAULT, or
	 * ENAMETOOLONG for PATH_MAX bytes or more, as the kernel says. */
	char t[PATH_MAX];
	long tlen = vos_strncpy_from_user(t, target, sizeof(t));

	if (tlen < 0) {
		errno = (int)-tlen;
		return -1;
	}
	struct vos_req req = { .op = VOS_OP_SYMLINKAT, .arg = { 0, p.dirfd, 0 } };
	struct vos_in in[2] = {
		{ 0, t, (size_t)tlen + 1 },
		{ 2, p.path, strlen(p.path) + 1 },
	};

	return (int)vos_ret(vos_rpc(p.client, &req, in, 2, NULL, 0, 0));
}

