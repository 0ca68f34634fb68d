/*
 * compat.c - glibc's other entry points for the calls the other files
 * wrap, so that those files read like the POSIX API:
 *
 *   - the *64 variants that are separate functions (the ones that are the
 *     same function are VOS_ALIASes next to their targets);
 *   - the pre-2.33 versioned stat family (__xstat, __fxstat, ...) and
 *     mknod pair (__xmknod, __xmknodat);
 *   - the fortified entry points (__open_2, __read_chk, ...), which check
 *     their buffer's size as glibc's do (__chk_fail) and then do the call.
 *
 * The __xstat family calls our code directly, never the public stat()
 * functions: TSan's fstat() interceptor calls the next __fxstat() (this
 * one), so going back through fstat() would recurse until the stack
 * overflows.  The stat64 family does the same (it is the same call).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- *64 variants ------------------------------------------------------- */

VOS_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return vos_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

VOS_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return vos_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

VOS_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return vos_fstatat(dirfd, path, (struct stat *)st, flags);
}

VOS_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return vos_fstat(fd, (struct stat *)st);
}

VOS_EXPORT int statfs64(const char *path, struct statfs64 *buf)
{
	return statfs(path, (struct statfs *)buf);
}

VOS_EXPORT int statvfs64(const char *path, struct statvfs64 *buf)
{
	return statvfs(path, (struct statvfs *)buf);
}

VOS_EXPORT int fstatfs64(int fd, struct statfs64 *buf)
{
	return fstatfs(fd, (struct statfs *)buf);
}

VOS_EXPORT int fstatvfs64(int fd, struct statvfs64 *buf)
{
	return fstatvfs(fd, (struct statvfs *)buf);
}

/* ---- the versioned stat family (binaries built before glibc 2.33) ------- */

/* Pre-2.33 binaries: _STAT_VER 0 (kernel) or 1 (linux) on x86_64. */
static int stat_ver_ok(int ver)
{
	if (ver == 0 || ver == 1)
		return 1;
	errno = EINVAL;
	return 0;
}

VOS_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return stat_ver_ok(ver) ? vos_fstatat(AT_FDCWD, path, st, 0) : -1;
}

VOS_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return stat_ver_ok(ver) ? vos_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) : -1;
}

VOS_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return stat_ver_ok(ver) ? vos_fstatat(dirfd, path, st, flags) : -1;
}

VOS_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return stat_ver_ok(ver) ? vos_fstatat(AT_FDCWD, path, (struct stat *)st, 0) : -1;
}

VOS_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return stat_ver_ok(ver) ? vos_fstatat(AT_FDCWD, path, (struct stat *)st,
					      AT_SYMLINK_NOFOLLOW) : -1;
}

VOS_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return stat_ver_ok(ver) ? vos_fstatat(dirfd, path, (struct stat *)st, flags) : -1;
}

VOS_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	return stat_ver_ok(ver) ? vos_fstat(fd, st) : -1;
}

VOS_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return stat_ver_ok(ver) ? vos_fstat(fd, (struct stat *)st) : -1;
}

/* _MKNOD_VER is 0 on x86_64; dev is passed by address. */
VOS_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	if (ver != 0) {
		errno = EINVAL;
		return -1;
	}
	return mknodat(dirfd, path, mode, *dev);
}

VOS_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	return __xmknodat(ver, AT_FDCWD, path, mode, dev);
}

/* ---- fortified entry points -------------------------------------------- */

/* The open family's are called without a mode (no O_CREAT). */
VOS_EXPORT int __open_2(const char *path, int flags)
{
	return vos_openat(AT_FDCWD, path, flags, 0);
}

VOS_ALIAS(__open64_2, __open_2);

VOS_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return vos_openat(dirfd, path, flags, 0);
}

VOS_ALIAS(__openat64_2, __openat_2);

VOS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

VOS_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pread(fd, buf, len, off);
}

VOS_ALIAS(__pread64_chk, __pread_chk);

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

VOS_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolved && resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

VOS_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return getcwd(buf, size);
}
