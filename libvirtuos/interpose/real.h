/*
 * real.h - glibc's own functions behind the wrappers, found with
 * dlsym(RTLD_NEXT).  vos_real_init() fills them (vos_init() calls it first
 * thing).  A function this glibc lacks stays NULL; wrappers of functions
 * that older glibcs lack (statx, close_range, _Fork, ...) then fail with
 * ENOSYS.
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
	X(void, closefrom, (int)) \
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
	X(int, lstat, (const char *, struct stat *)) \
	X(int, fstatat, (int, const char *, struct stat *, int)) \
	X(int, statx, (int, const char *, int, unsigned, struct statx *)) \
	X(int, access, (const char *, int)) \
	X(int, faccessat, (int, const char *, int, int)) \
	X(int, euidaccess, (const char *, int)) \
	X(int, fsync, (int)) \
	X(int, fdatasync, (int)) \
	X(int, syncfs, (int)) \
	X(int, sync_file_range, (int, off_t, off_t, unsigned)) \
	X(int, ftruncate, (int, off_t)) \
	X(int, truncate, (const char *, off_t)) \
	X(int, fallocate, (int, int, off_t, off_t)) \
	X(int, posix_fallocate, (int, off_t, off_t)) \
	X(int, posix_fadvise, (int, off_t, off_t, int)) \
	X(ssize_t, readahead, (int, off_t, size_t)) \
	X(int, unlink, (const char *)) \
	X(int, unlinkat, (int, const char *, int)) \
	X(int, rmdir, (const char *)) \
	X(int, rename, (const char *, const char *)) \
	X(int, renameat, (int, const char *, int, const char *)) \
	X(int, renameat2, (int, const char *, int, const char *, unsigned)) \
	X(int, mkdir, (const char *, mode_t)) \
	X(int, mkdirat, (int, const char *, mode_t)) \
	X(int, mknodat, (int, const char *, mode_t, dev_t)) \
	X(int, chmod, (const char *, mode_t)) \
	X(int, fchmod, (int, mode_t)) \
	X(int, fchmodat, (int, const char *, mode_t, int)) \
	X(int, chown, (const char *, uid_t, gid_t)) \
	X(int, lchown, (const char *, uid_t, gid_t)) \
	X(int, fchown, (int, uid_t, gid_t)) \
	X(int, fchownat, (int, const char *, uid_t, gid_t, int)) \
	X(int, utimensat, (int, const char *, const struct timespec *, int)) \
	X(int, futimens, (int, const struct timespec *)) \
	X(int, utime, (const char *, const struct utimbuf *)) \
	X(int, utimes, (const char *, const struct timeval *)) \
	X(int, lutimes, (const char *, const struct timeval *)) \
	X(int, futimes, (int, const struct timeval *)) \
	X(int, futimesat, (int, const char *, const struct timeval *)) \
	X(ssize_t, readlink, (const char *, char *, size_t)) \
	X(ssize_t, readlinkat, (int, const char *, char *, size_t)) \
	X(int, symlink, (const char *, const char *)) \
	X(int, symlinkat, (const char *, int, const char *)) \
	X(int, link, (const char *, const char *)) \
	X(int, linkat, (int, const char *, int, const char *, int)) \
	X(int, statfs, (const char *, struct statfs *)) \
	X(int, fstatfs, (int, struct statfs *)) \
	X(int, statvfs, (const char *, struct statvfs *)) \
	X(int, fstatvfs, (int, struct statvfs *)) \
	X(int, fcntl, (int, int, ...)) \
	X(int, flock, (int, int)) \
	X(int, lockf, (int, int, off_t)) \
	X(int, dup, (int)) \
	X(int, dup2, (int, int)) \
	X(int, dup3, (int, int, int)) \
	X(int, chdir, (const char *)) \
	X(int, fchdir, (int)) \
	X(char *, getcwd, (char *, size_t)) \
	X(char *, get_current_dir_name, (void)) \
	X(char *, realpath, (const char *, char *)) \
	X(int, ioctl, (int, unsigned long, ...)) \
	X(int, pipe, (int *)) \
	X(int, pipe2, (int *, int)) \
	X(int, socket, (int, int, int)) \
	X(int, socketpair, (int, int, int, int *)) \
	X(int, accept, (int, struct sockaddr *, socklen_t *)) \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int)) \
	X(int, bind, (int, const struct sockaddr *, socklen_t)) \
	X(int, connect, (int, const struct sockaddr *, socklen_t)) \
	X(int, eventfd, (unsigned, int)) \
	X(int, epoll_create, (int)) \
	X(int, epoll_create1, (int)) \
	X(int, memfd_create, (const char *, unsigned)) \
	X(int, signalfd, (int, const sigset_t *, int)) \
	X(int, timerfd_create, (int, int)) \
	X(int, inotify_init, (void)) \
	X(int, inotify_init1, (int)) \
	X(pid_t, fork, (void)) \
	X(pid_t, _Fork, (void)) \
	X(int, execve, (const char *, char *const *, char *const *)) \
	X(int, execvpe, (const char *, char *const *, char *const *)) \
	X(int, fexecve, (int, char *const *, char *const *)) \
	X(int, execveat, (int, const char *, char *const *, char *const *, int)) \
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
	X(int, isatty, (int)) \
	X(int, tcgetattr, (int, struct termios *)) \
	X(ssize_t, sendfile, (int, int, off_t *, size_t)) \
	X(ssize_t, copy_file_range, (int, off_t *, int, off_t *, size_t, unsigned)) \
	X(ssize_t, getdents64, (int, void *, size_t)) \
	X(int, mkostemps, (char *, int, int)) \
	X(char *, mkdtemp, (char *)) \
	X(ssize_t, getxattr, (const char *, const char *, void *, size_t)) \
	X(ssize_t, lgetxattr, (const char *, const char *, void *, size_t)) \
	X(ssize_t, fgetxattr, (int, const char *, void *, size_t)) \
	X(int, setxattr, (const char *, const char *, const void *, size_t, int)) \
	X(int, lsetxattr, (const char *, const char *, const void *, size_t, int)) \
	X(int, fsetxattr, (int, const char *, const void *, size_t, int)) \
	X(ssize_t, listxattr, (const char *, char *, size_t)) \
	X(ssize_t, llistxattr, (const char *, char *, size_t)) \
	X(ssize_t, flistxattr, (int, char *, size_t)) \
	X(int, removexattr, (const char *, const char *)) \
	X(int, lremovexattr, (const char *, const char *)) \
	X(int, fremovexattr, (int, const char *)) \
	X(FILE *, fopen, (const char *, const char *)) \
	X(FILE *, fopen64, (const char *, const char *)) \
	X(FILE *, freopen, (const char *, const char *, FILE *)) \
	X(FILE *, freopen64, (const char *, const char *, FILE *)) \
	X(FILE *, fdopen, (int, const char *)) \
	X(int, remove, (const char *)) \
	X(int, vdprintf, (int, const char *, va_list)) \
	X(int, __vdprintf_chk, (int, int, const char *, va_list)) \
	X(DIR *, opendir, (const char *)) \
	X(DIR *, fdopendir, (int)) \
	X(int, closedir, (DIR *)) \
	X(struct dirent *, readdir, (DIR *)) \
	X(struct dirent64 *, readdir64, (DIR *)) \
	X(int, readdir_r, (DIR *, struct dirent *, struct dirent **)) \
	X(int, readdir64_r, (DIR *, struct dirent64 *, struct dirent64 **)) \
	X(void, rewinddir, (DIR *)) \
	X(long, telldir, (DIR *)) \
	X(void, seekdir, (DIR *, long)) \
	X(int, dirfd, (DIR *)) \
	X(int, scandirat, (int, const char *, struct dirent ***, \
			   int (*)(const struct dirent *), \
			   int (*)(const struct dirent **, const struct dirent **)))

#define X(ret, name, args) extern ret (*real_##name) args;
VOS_REAL_FUNCS(X)
#undef X

void vos_real_init(void);

#endif
