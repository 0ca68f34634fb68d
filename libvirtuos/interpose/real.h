/*
 * real.h - glibc's own functions, found with dlsym(RTLD_NEXT): for the
 * local side of the system-call handlers (they run with the dispatcher's
 * selector on ALLOW, so the calls go to the kernel) and for the remaining
 * function wrappers.  vos_real_init() fills them (vos_init() calls it first
 * thing).  A function this glibc lacks stays NULL; handlers of functions
 * that older glibcs lack (statx, close_range, ...) then fail with ENOSYS.
 */
#ifndef VOS_REAL_H
#define VOS_REAL_H

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <termios.h>
#include <utime.h>

#define VOS_REAL_FUNCS(X) \
	X(int, open, (const char *, int, ...)) \
	X(int, openat, (int, const char *, int, ...)) \
	X(int, close, (int)) \
	X(int, close_range, (unsigned, unsigned, int)) \
	X(ssize_t, read, (int, void *, size_t)) \
	X(ssize_t, write, (int, const void *, size_t)) \
	X(ssize_t, pread, (int, void *, size_t, off_t)) \
	X(ssize_t, pwrite, (int, const void *, size_t, off_t)) \
	X(ssize_t, readv, (int, const struct iovec *, int)) \
	X(ssize_t, writev, (int, const struct iovec *, int)) \
	X(ssize_t, preadv, (int, const struct iovec *, int, off_t)) \
	X(ssize_t, pwritev, (int, const struct iovec *, int, off_t)) \
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int)) \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int)) \
	X(off_t, lseek, (int, off_t, int)) \
	X(int, fstat, (int, struct stat *)) \
	X(int, stat, (const char *, struct stat *)) \
	X(int, fstatat, (int, const char *, struct stat *, int)) \
	X(int, statx, (int, const char *, int, unsigned, struct statx *)) \
	X(int, access, (const char *, int)) \
	X(int, faccessat, (int, const char *, int, int)) \
	X(int, fsync, (int)) \
	X(int, fdatasync, (int)) \
	X(int, syncfs, (int)) \
	X(int, sync_file_range, (int, off_t, off_t, unsigned)) \
	X(int, ftruncate, (int, off_t)) \
	X(int, truncate, (const char *, off_t)) \
	X(int, fallocate, (int, int, off_t, off_t)) \
	X(int, posix_fadvise, (int, off_t, off_t, int)) \
	X(ssize_t, readahead, (int, off_t, size_t)) \
	X(int, unlinkat, (int, const char *, int)) \
	X(int, renameat2, (int, const char *, int, const char *, unsigned)) \
	X(int, mkdirat, (int, const char *, mode_t)) \
	X(int, mknodat, (int, const char *, mode_t, dev_t)) \
	X(int, fchmod, (int, mode_t)) \
	X(int, fchmodat, (int, const char *, mode_t, int)) \
	X(int, fchown, (int, uid_t, gid_t)) \
	X(int, fchownat, (int, const char *, uid_t, gid_t, int)) \
	X(int, utimensat, (int, const char *, const struct timespec *, int)) \
	X(int, futimens, (int, const struct timespec *)) \
	X(ssize_t, readlink, (const char *, char *, size_t)) \
	X(ssize_t, readlinkat, (int, const char *, char *, size_t)) \
	X(int, symlinkat, (const char *, int, const char *)) \
	X(int, linkat, (int, const char *, int, const char *, int)) \
	X(int, statfs, (const char *, struct statfs *)) \
	X(int, fstatfs, (int, struct statfs *)) \
	X(int, fcntl, (int, int, ...)) \
	X(int, flock, (int, int)) \
	X(int, dup, (int)) \
	X(int, dup2, (int, int)) \
	X(int, dup3, (int, int, int)) \
	X(int, chdir, (const char *)) \
	X(int, fchdir, (int)) \
	X(char *, getcwd, (char *, size_t)) \
	X(char *, realpath, (const char *, char *)) \
	X(int, ioctl, (int, unsigned long, ...)) \
	X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			     const posix_spawnattr_t *, char *const *, char *const *)) \
	X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			      const posix_spawnattr_t *, char *const *, char *const *)) \
	X(int, system, (const char *)) \
	X(FILE *, popen, (const char *, const char *)) \
	X(mode_t, umask, (mode_t)) \
	X(int, setuid, (uid_t)) \
	X(int, seteuid, (uid_t)) \
	X(int, setreuid, (uid_t, uid_t)) \
	X(int, setresuid, (uid_t, uid_t, uid_t)) \
	X(int, setgid, (gid_t)) \
	X(int, setegid, (gid_t)) \
	X(int, setregid, (gid_t, gid_t)) \
	X(int, setresgid, (gid_t, gid_t, gid_t)) \
	X(int, setgroups, (size_t, const gid_t *)) \
	X(int, initgroups, (const char *, gid_t)) \
	X(int, setfsuid, (uid_t)) \
	X(int, setfsgid, (gid_t)) \
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *)) \
	X(ssize_t, sendfile, (int, int, off_t *, size_t)) \
	X(ssize_t, copy_file_range, (int, off_t *, int, off_t *, size_t, unsigned)) \
	X(ssize_t, getdents64, (int, void *, size_t)) \
	X(int, posix_spawn_file_actions_init, (posix_spawn_file_actions_t *)) \
	X(int, posix_spawn_file_actions_destroy, (posix_spawn_file_actions_t *)) \
	X(int, posix_spawn_file_actions_addopen, (posix_spawn_file_actions_t *, int, \
						  const char *, int, mode_t)) \
	X(int, posix_spawn_file_actions_addclose, (posix_spawn_file_actions_t *, int)) \
	X(int, posix_spawn_file_actions_adddup2, (posix_spawn_file_actions_t *, int, int)) \
	X(int, posix_spawn_file_actions_addchdir_np, (posix_spawn_file_actions_t *, \
						      const char *)) \
	X(int, posix_spawn_file_actions_addfchdir_np, (posix_spawn_file_actions_t *, int)) \
	X(int, posix_spawn_file_actions_addclosefrom_np, (posix_spawn_file_actions_t *, int)) \
	X(int, posix_spawn_file_actions_addtcsetpgrp_np, (posix_spawn_file_actions_t *, int))

#define X(ret, name, args) extern ret (*real_##name) args;
VOS_REAL_FUNCS(X)
#undef X

void vos_real_init(void);

#endif
