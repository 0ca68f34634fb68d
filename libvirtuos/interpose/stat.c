/*
 * stat.c - what a path's file is and whether we may use it: the stat
 * family, statx, access, statfs/statvfs.  The pre-2.33 __xstat entry
 * points and the *64 variants are in compat.c.
 */
#include <fcntl.h>
#include <string.h>
#include "interpose_internal.h"

/* ---- stat family ------------------------------------------------------------------ */

int vos_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_fstatat(p.dirfd, p.path, st, flags);
	/* Flags as given: the service refuses the ones Linux refuses (EINVAL). */
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FSTATAT, flags, 0, 0, st, sizeof(*st), 1));
}

int vos_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
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
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_STATX, flags, mask, 0, stx, sizeof(*stx), 1));
}

/* ---- access ----------------------------------------------------------------------- */

int vos_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_faccessat(p.dirfd, p.path, mode, flags);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_FACCESSAT, mode, flags, 0, NULL, 0, 0));
}

/* ---- file systems ---------------------------------------------------------------------- */

int vos_statfs(const char *path, struct statfs *buf)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 0)
		return real_statfs(p.path, buf);
	return (int)vos_ret(vos_path_rpc(&p, VOS_OP_STATFS, 0, 0, 0, buf, sizeof(*buf), 1));
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

