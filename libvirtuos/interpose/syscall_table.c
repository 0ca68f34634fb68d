/*
 * syscall_table.c - the one dispatcher: every system call of the process,
 * keyed by number.
 *
 * libvirtuos/dispatch catches each system call the program (or glibc, or
 * another library, or inline asm) makes and calls vos_syscall() with the
 * number and the six argument registers.  One table, in the spirit of
 * io_uring's opdef.c, says what each number is:
 *
 *   SC_PASS    never concerns the library: straight to the kernel
 *              (vos_dispatch_raw).  Every number not in the table; the
 *              module runs them from the trampoline without calling us
 *              (vos_dispatch_passthrough).
 *   SC_FD      the call names an fd (argument `fd`): local fds go to the
 *              kernel, remote ones to `fn` (the service).
 *   SC_PATH    the call names a path (argument `path`, relative to the
 *              dirfd in argument `dirfd`, or to the cwd if there is none;
 *              `flags` holds AT_EMPTY_PATH if the call takes it): the path
 *              is resolved (route.c); a routed one goes to `fn`, a local one
 *              to the kernel with the path as resolved (a relative path
 *              under a virtual cwd becomes absolute).
 *   SC_NEWFD   makes a local fd: to the kernel, then any stale entry for
 *              the new number is dropped (vos_fd_fresh).
 *   SC_CALL    always `fn`: calls on two paths or two fds, calls that
 *              change which numbers are remote, and process state the
 *              library keeps (cwd, umask).
 *   SC_NOSYS   refused with ENOSYS, so the program takes its fallback:
 *              io_uring_setup and io_setup.  The kernel would execute their
 *              requests itself, on our placeholder fds (O_PATH descriptors
 *              that stand for remote files), never reaching the service.
 *
 * A handler `fn` gets the arguments and returns the result or -errno, as
 * the kernel does.  The handlers are the library's functions with glibc's
 * conventions (open.c, io.c, fdops.c, ...); the adapters below convert
 * their -1/errno to -errno.  vos_syscall() keeps the program's errno
 * (saved at entry, restored at exit): a system call never sets errno, the
 * program's glibc does from our return value.
 *
 * `local_fds` marks the fd arguments of calls that go to the kernel
 * unchanged when all of them are plain local fds: the precheck
 * (syscall_precheck.c) answers those before the trampoline saves any state;
 * it also answers SC_PATH calls whose path is certainly local (same
 * arguments to the kernel as path_call would give it).
 *
 * Everything a handler does runs with the dispatcher's selector on ALLOW:
 * its own system calls (glibc's functions behind real_*, the engine's raw
 * calls) go to the kernel and never come back here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>
#include <linux/openat2.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"
#include "syscall_table.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

enum sc_class { SC_PASS = 0, SC_FD, SC_PATH, SC_NEWFD, SC_CALL, SC_NOSYS };

struct sc_def {
	uint8_t cls;
	int8_t fd;              /* SC_FD: the fd argument */
	int8_t dirfd;           /* SC_PATH: the dirfd argument, -1 if none (cwd) */
	int8_t path;            /* SC_PATH: the path argument */
	int8_t flags;           /* SC_PATH: the argument that may hold AT_EMPTY_PATH, -1 if none */
	uint8_t local_fds;      /* bit i: argument i is an fd; all of them local = native call */
	long (*fn)(long a[6]);  /* SC_FD/SC_PATH: routed calls; SC_CALL: every call */
};

/* -1/errno (glibc's convention) to -errno (the kernel's). */
static long ret(long r)
{
	return r < 0 ? -errno : r;
}

#define I(n)  ((int)a[n])
#define U(n)  ((unsigned)a[n])
#define L(n)  (a[n])
#define P(n)  ((void *)a[n])
#define S(n)  ((const char *)a[n])

/* Copy a result struct to the program: EFAULT, not SIGSEGV, for a bad
 * pointer (uaccess.c). */
#define COPY_OUT(dst, src, n) (vos_copy_to_user(dst, src, n) < 0 ? -EFAULT : 0)

/* An adapter: `name`'s arguments from a[], its result in the kernel's form. */
#define ADAPT(name, call) static long sc_##name(long a[6]) { (void)a; return ret((long)(call)); }

/* ---- fds ---------------------------------------------------------------- */

ADAPT(read, vos_read(I(0), P(1), (size_t)L(2)))
ADAPT(write, vos_write(I(0), P(1), (size_t)L(2)))
ADAPT(pread64, vos_pread(I(0), P(1), (size_t)L(2), (off_t)L(3)))
ADAPT(pwrite64, vos_pwrite(I(0), P(1), (size_t)L(2), (off_t)L(3)))
ADAPT(readv, vos_readv(I(0), P(1), I(2)))
ADAPT(writev, vos_writev(I(0), P(1), I(2)))
ADAPT(preadv, vos_preadv(I(0), P(1), I(2), (off_t)L(3)))
ADAPT(pwritev, vos_pwritev(I(0), P(1), I(2), (off_t)L(3)))
ADAPT(preadv2, vos_preadv2(I(0), P(1), I(2), (off_t)L(3), I(5)))
ADAPT(pwritev2, vos_pwritev2(I(0), P(1), I(2), (off_t)L(3), I(5)))
ADAPT(lseek, vos_lseek(I(0), (off_t)L(1), I(2)))
ADAPT(fstat, vos_fstat(I(0), P(1)))
ADAPT(getdents64, vos_remote_getdents64(I(0), P(1), (size_t)L(2)))
ADAPT(fsync, vos_fsync(I(0)))
ADAPT(fdatasync, vos_fdatasync(I(0)))
ADAPT(syncfs, vos_syncfs(I(0)))
ADAPT(sync_file_range, vos_sync_file_range(I(0), (off_t)L(1), (off_t)L(2), U(3)))
ADAPT(ftruncate, vos_ftruncate(I(0), (off_t)L(1)))
ADAPT(fchmod, vos_fchmod(I(0), (mode_t)L(1)))
ADAPT(fchown, vos_fchown(I(0), (uid_t)L(1), (gid_t)L(2)))
ADAPT(fstatfs, vos_fstatfs(I(0), P(1)))
/* ioctl: a socket's few (net.c); on a remote file ENOTTY (fdops.c). */
static long sc_ioctl(long a[6])
{
	long r = vos_net_ioctl(a);

	if (r != -ENOTSOCK)
		return r;
	return ret(vos_ioctl(I(0), (unsigned long)L(1), P(2)));
}
ADAPT(flock, vos_flock(I(0), I(1)))
ADAPT(fallocate, vos_fallocate(I(0), I(1), (off_t)L(2), (off_t)L(3)))
ADAPT(readahead, vos_readahead(I(0), (off_t)L(1), (size_t)L(2)))
ADAPT(fchdir, vos_fchdir(I(0)))
ADAPT(close_range, vos_close_range(U(0), U(1), I(2)))

/* posix_fadvise returns the error number itself. */
static long sc_fadvise64(long a[6])
{
	return -(long)vos_posix_fadvise(I(0), (off_t)L(1), (off_t)L(2), I(3));
}

/* The old getdents (struct linux_dirent) has no remote form: glibc uses getdents64. */
static long sc_getdents(long a[6])
{
	(void)a;
	return -ENOSYS;
}

/* A remote file is mapped as a private copy (mmap.c). */
static long sc_mmap(long a[6])
{
	void *p;

	if (a[3] & MAP_ANONYMOUS)
		return vos_dispatch_raw(SYS_mmap, a);
	p = vos_mmap_remote(I(4), P(0), (size_t)L(1), I(2), I(3), (off_t)L(5));
	return p == MAP_FAILED ? -errno : (long)p;
}

/* A socket of a network service (net.c); else AF_UNIX addresses at routed
 * paths (sockaddr.c). */
static long sc_bind(long a[6])
{
	if (VOS_FDE_KIND(vos_fd_entry(I(0))) == VOS_FDK_REMOTE)
		return vos_net_bind(a);
	return vos_sockaddr_call(SYS_bind, a);
}

static long sc_connect(long a[6])
{
	if (VOS_FDE_KIND(vos_fd_entry(I(0))) == VOS_FDK_REMOTE)
		return vos_net_connect(a);
	return vos_sockaddr_call(SYS_connect, a);
}

/* sendmsg on a local socket must not pass a placeholder (SCM_RIGHTS). */
static long sc_sendmsg(long a[6])
{
	long r;

	if (VOS_FDE_KIND(vos_fd_entry(I(0))) == VOS_FDK_REMOTE)
		return vos_net_sendmsg(a);
	r = vos_net_scm_check(P(1));
	return r < 0 ? r : vos_dispatch_raw(SYS_sendmsg, a);
}

/* close: a channel descriptor is hidden (EBADF); a remote fd goes to the
 * service, then its placeholder is closed. */
static long sc_close(long a[6])
{
	uint32_t e = vos_fd_entry(I(0));

	if (VOS_FDE_KIND(e) == VOS_FDK_INTERNAL)
		return -EBADF;
	if (VOS_FDE_KIND(e) == VOS_FDK_REMOTE)
		return ret(vos_remote_close(I(0)));
	return vos_dispatch_raw(SYS_close, a);
}

/* dup of a local fd: any stale entry of the new number goes. */
static long sc_dup(long a[6])
{
	long r;

	if (VOS_FDE_KIND(vos_fd_entry(I(0))) == VOS_FDK_REMOTE)
		return ret(vos_dup(I(0)));
	r = vos_dispatch_raw(SYS_dup, a);
	if (r >= 0 && vos_fd_entry((int)r))
		vos_fd_fresh((int)r);
	return r;
}

/* dup2/dup3 concern us when either number is remote or internal. */
static long sc_dup2(long a[6])
{
	if (!vos_fd_entry(I(0)) && !vos_fd_entry(I(1)))
		return vos_dispatch_raw(SYS_dup2, a);
	return ret(vos_dup2(I(0), I(1)));
}

static long sc_dup3(long a[6])
{
	if (!vos_fd_entry(I(0)) && !vos_fd_entry(I(1)))
		return vos_dispatch_raw(SYS_dup3, a);
	return ret(vos_dup3(I(0), I(1), I(2)));
}

/* glibc's fcntl(F_GETOWN) asks the kernel for F_GETOWN_EX: the owner the
 * service's file has, as a process owner. */
static long remote_getown_ex(long a[6])
{
	struct f_owner_ex o = { .type = F_OWNER_PID };
	int own = vos_fcntl(I(0), F_GETOWN, NULL);

	if (own < 0)
		return -errno;
	o.pid = own;
	return COPY_OUT(P(2), &o, sizeof(o));
}

/* fcntl: the kernel for local fds (F_DUPFD drops a stale entry of the new
 * number), fdops.c for remote ones. */
static long sc_fcntl(long a[6])
{
	long r;

	if (VOS_FDE_KIND(vos_fd_entry(I(0))) != VOS_FDK_REMOTE) {
		r = vos_dispatch_raw(SYS_fcntl, a);
		if (r >= 0 && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) && vos_fd_entry((int)r))
			vos_fd_fresh((int)r);
		return r;
	}
	if (a[1] == F_GETOWN_EX)
		return remote_getown_ex(a);
	return ret(vos_fcntl(I(0), I(1), P(2)));
}

/* Local fd pairs (pipe, socketpair): drop stale entries of both numbers. */
static long fresh_pair(long nr, long a[6], int *fds)
{
	long r = vos_dispatch_raw(nr, a);

	if (r == 0) {
		vos_fd_fresh(fds[0]);
		vos_fd_fresh(fds[1]);
	}
	return r;
}

static long sc_pipe2(long a[6])
{
	return fresh_pair(SYS_pipe2, a, P(0));
}

static long sc_pipe(long a[6])
{
	return fresh_pair(SYS_pipe, a, P(0));
}

static long sc_socketpair(long a[6])
{
	return fresh_pair(SYS_socketpair, a, P(3));
}

/* ---- paths ---------------------------------------------------------------- */

/*
 * A routed path whose walk met a symlink out of the export (an absolute
 * target like a venv's bin/python3 -> /usr/bin/python3) goes on in our
 * namespace: the call is made again with the continuation the service
 * gives (route.c, vos_path_linkout), routed or local as it falls, at most
 * 40 links in all (ELOOP), as the kernel follows a link across a mount.
 * *dirfd and *path become the continuation (absolute, in *buf, allocated
 * once; the caller frees it), or stay (the walk no longer leaves: the call
 * again).  0: call again; or -errno.
 */
static long linkout_next(int *dirfd, const char **path, int follow, char **buf, int *links)
{
	int r;

	if (!*buf && !(*buf = malloc(PATH_MAX)))
		return -ENOMEM;
	r = vos_path_linkout(*dirfd, *path, follow, links, *buf);
	if (r < 0)
		return -errno;
	if (r == 1) {
		*dirfd = AT_FDCWD;
		*path = *buf;
	}
	return 0;
}

/*
 * The same for calls on two paths (rename, link, symlink's new name):
 * each path goes on where the service says (its final component followed
 * only by linkat with AT_SYMLINK_FOLLOW), and the call is made again:
 * both local, the kernel's; one routed and one not, EXDEV as across
 * mounts.  path0 < 0: only the second path is a name to resolve (symlink).
 */
static long two_paths_again(long (*fn)(long a[6]), long a[6], int dirfd0, int path0, int follow0,
			    int dirfd1, int path1)
{
	const int dirfds[2] = { dirfd0, dirfd1 }, paths[2] = { path0, path1 };
	const int follow[2] = { follow0, 0 };
	char *bufs[2] = { NULL, NULL };
	long b[6], r = -VOS_ELINKOUT;
	int links = 0;

	memcpy(b, a, sizeof(b));
	while (r == -VOS_ELINKOUT) {
		for (int i = 0; i < 2 && r == -VOS_ELINKOUT; i++) {
			int dirfd = dirfds[i] >= 0 ? (int)b[dirfds[i]] : AT_FDCWD;
			const char *path;

			if (paths[i] < 0)
				continue;
			path = (const char *)b[paths[i]];
			if (linkout_next(&dirfd, &path, follow[i], &bufs[i], &links) < 0) {
				r = -errno;
				break;
			}
			b[paths[i]] = (long)path;
			if (dirfds[i] >= 0)
				b[dirfds[i]] = dirfd;
		}
		if (r == -VOS_ELINKOUT)
			r = fn(b);
	}
	free(bufs[0]);
	free(bufs[1]);
	return r;
}

ADAPT(open, vos_openat(AT_FDCWD, S(0), I(1), (mode_t)L(2)))
ADAPT(openat, vos_openat(I(0), S(1), I(2), (mode_t)L(3)))
ADAPT(creat, vos_openat(AT_FDCWD, S(0), O_CREAT | O_WRONLY | O_TRUNC, (mode_t)L(1)))
ADAPT(stat, vos_fstatat(AT_FDCWD, S(0), P(1), 0))
ADAPT(lstat, vos_fstatat(AT_FDCWD, S(0), P(1), AT_SYMLINK_NOFOLLOW))
ADAPT(newfstatat, vos_fstatat(I(0), S(1), P(2), I(3)))
ADAPT(statx, vos_statx(I(0), S(1), I(2), U(3), P(4)))
ADAPT(access, vos_faccessat(AT_FDCWD, S(0), I(1), 0))
ADAPT(faccessat, vos_faccessat(I(0), S(1), I(2), 0))
ADAPT(faccessat2, vos_faccessat(I(0), S(1), I(2), I(3)))
ADAPT(statfs, vos_statfs(S(0), P(1)))
ADAPT(unlink, vos_unlinkat(AT_FDCWD, S(0), 0))
ADAPT(unlinkat, vos_unlinkat(I(0), S(1), I(2)))
ADAPT(rmdir, vos_unlinkat(AT_FDCWD, S(0), AT_REMOVEDIR))
ADAPT(mkdir, vos_mkdirat(AT_FDCWD, S(0), (mode_t)L(1)))
ADAPT(mkdirat, vos_mkdirat(I(0), S(1), (mode_t)L(2)))
ADAPT(mknod, vos_mknodat(AT_FDCWD, S(0), (mode_t)L(1), (dev_t)L(2)))
ADAPT(mknodat, vos_mknodat(I(0), S(1), (mode_t)L(2), (dev_t)L(3)))
ADAPT(readlink, vos_readlinkat(AT_FDCWD, S(0), P(1), (size_t)L(2)))
ADAPT(readlinkat, vos_readlinkat(I(0), S(1), P(2), (size_t)L(3)))
ADAPT(chmod, vos_fchmodat(AT_FDCWD, S(0), (mode_t)L(1), 0))
ADAPT(fchmodat, vos_fchmodat(I(0), S(1), (mode_t)L(2), 0))
ADAPT(fchmodat2, vos_fchmodat(I(0), S(1), (mode_t)L(2), I(3)))
ADAPT(chown, vos_fchownat(AT_FDCWD, S(0), (uid_t)L(1), (gid_t)L(2), 0))
ADAPT(lchown, vos_fchownat(AT_FDCWD, S(0), (uid_t)L(1), (gid_t)L(2), AT_SYMLINK_NOFOLLOW))
ADAPT(fchownat, vos_fchownat(I(0), S(1), (uid_t)L(2), (gid_t)L(3), I(4)))
ADAPT(truncate, vos_truncate(S(0), (off_t)L(1)))
/*
 * Extended attributes: the protocol has none, so remote files behave like a
 * file system without xattr support (ENOTSUP), which callers such as ls and
 * cp accept.  One handler for the path and the fd forms.
 */
static long sc_xattr(long a[6])
{
	(void)a;
	return -ENOTSUP;
}

/* utime, utimes, futimesat: utimensat with the times converted. */
static long utimes_at(int dirfd, const char *path, const struct timeval *tv)
{
	struct timespec ts[2];
	const struct timespec *t;

	if (vos_tv_to_ts(tv, ts, &t) < 0)
		return -errno;
	return ret(vos_utimensat(dirfd, path, t, 0));
}

static long sc_utimes(long a[6])
{
	return utimes_at(AT_FDCWD, S(0), P(1));
}

static long sc_futimesat(long a[6])
{
	return utimes_at(I(0), S(1), P(2));
}

static long sc_utime(long a[6])
{
	const struct utimbuf *b = P(1);
	struct timespec ts[2];

	if (!b)
		return ret(vos_utimensat(AT_FDCWD, S(0), NULL, 0));
	ts[0] = (struct timespec){ b->actime, 0 };
	ts[1] = (struct timespec){ b->modtime, 0 };
	return ret(vos_utimensat(AT_FDCWD, S(0), ts, 0));
}

/* utimensat(2) with a NULL path is futimens on the dirfd (glibc's
 * utimensat() function refuses NULL, the system call does not). */
static long sc_utimensat(long a[6])
{
	if (a[1]) {
		int dirfd = I(0), links = 0;
		const char *path = S(1);
		char *buf = NULL;
		long r = ret(vos_utimensat(dirfd, path, P(2), I(3)));

		while (r == -VOS_ELINKOUT &&
		       (r = linkout_next(&dirfd, &path, !(I(3) & AT_SYMLINK_NOFOLLOW), &buf, &links)) == 0)
			r = ret(vos_utimensat(dirfd, path, P(2), I(3)));
		free(buf);
		return r;
	}
	if (VOS_FDE_KIND(vos_fd_entry(I(0))) != VOS_FDK_REMOTE)
		return vos_dispatch_raw(SYS_utimensat, a);
	return ret(vos_futimens(I(0), P(2)));
}
ADAPT(rename_once, vos_renameat2(AT_FDCWD, S(0), AT_FDCWD, S(1), 0))
ADAPT(renameat_once, vos_renameat2(I(0), S(1), I(2), S(3), 0))
ADAPT(renameat2_once, vos_renameat2(I(0), S(1), I(2), S(3), U(4)))
ADAPT(link_once, vos_linkat(AT_FDCWD, S(0), AT_FDCWD, S(1), 0))
ADAPT(linkat_once, vos_linkat(I(0), S(1), I(2), S(3), I(4)))
ADAPT(symlink_once, vos_symlinkat(S(0), AT_FDCWD, S(1)))
ADAPT(symlinkat_once, vos_symlinkat(S(0), I(1), S(2)))

/* Two paths, either of which may lead out of the export (two_paths_again). */
#define TWO_PATHS(name, d0, p0, f0, d1, p1)                                  \
	static long sc_##name(long a[6])                                     \
	{                                                                    \
		long r = sc_##name##_once(a);                                \
		if (r != -VOS_ELINKOUT)                                      \
			return r;                                            \
		return two_paths_again(sc_##name##_once, a, d0, p0, f0, d1, p1); \
	}
TWO_PATHS(rename, -1, 0, 0, -1, 1)
TWO_PATHS(renameat, 0, 1, 0, 2, 3)
TWO_PATHS(renameat2, 0, 1, 0, 2, 3)
TWO_PATHS(link, -1, 0, 0, -1, 1)
TWO_PATHS(linkat, 0, 1, (a[4] & AT_SYMLINK_FOLLOW) != 0, 2, 3)
TWO_PATHS(symlink, -1, -1, 0, -1, 1)
TWO_PATHS(symlinkat, -1, -1, 0, 1, 2)

/* chdir follows links out of the export like path_call. */
static long sc_chdir(long a[6])
{
	int dirfd = AT_FDCWD, links = 0;
	const char *path = S(0);
	char *buf = NULL;
	long r = ret(vos_chdir(path));

	while (r == -VOS_ELINKOUT && (r = linkout_next(&dirfd, &path, 1, &buf, &links)) == 0)
		r = ret(vos_chdir(path));
	free(buf);
	return r;
}
ADAPT(umask, vos_umask((mode_t)L(0)))

/* getcwd(2) returns the length with the NUL, not the buffer. */
static long sc_getcwd(long a[6])
{
	if (!vos_getcwd(P(0), (size_t)L(1)))
		return -errno;
	return (long)strlen(P(0)) + 1;
}

/* The process ends: its remote fds go first (service.c, release_all). */
static long sc_exit_group(long a[6])
{
	return vos_exit_call(SYS_exit_group, a);
}

static long sc_exit(long a[6])
{
	return vos_exit_call(SYS_exit, a);
}

/* ---- the table ------------------------------------------------------------ */

#define SC_MAX VOS_SC_MAX

#define FD(nr, f, idx)            [nr] = { .cls = SC_FD, .fd = idx, .local_fds = 1 << (idx), .fn = f }
#define CALL_FDS(nr, f, fds)      [nr] = { .cls = SC_CALL, .local_fds = fds, .fn = f }
#define PATH(nr, f, d, p, fl)     [nr] = { .cls = SC_PATH, .dirfd = d, .path = p, .flags = fl, .fn = f }
#define CALL(nr, f)               [nr] = { .cls = SC_CALL, .fn = f }
#define NEWFD(nr)                 [nr] = { .cls = SC_NEWFD }
#define NOSYS(nr)                 [nr] = { .cls = SC_NOSYS }

static const struct sc_def sc_table[SC_MAX] = {
	/* fds */
	FD(SYS_read, sc_read, 0),
	FD(SYS_write, sc_write, 0),
	FD(SYS_pread64, sc_pread64, 0),
	FD(SYS_pwrite64, sc_pwrite64, 0),
	FD(SYS_readv, sc_readv, 0),
	FD(SYS_writev, sc_writev, 0),
	FD(SYS_preadv, sc_preadv, 0),
	FD(SYS_pwritev, sc_pwritev, 0),
	FD(SYS_preadv2, sc_preadv2, 0),
	FD(SYS_pwritev2, sc_pwritev2, 0),
	FD(SYS_lseek, sc_lseek, 0),
	FD(SYS_fstat, sc_fstat, 0),
	FD(SYS_getdents64, sc_getdents64, 0),
	FD(SYS_getdents, sc_getdents, 0),
	FD(SYS_fsync, sc_fsync, 0),
	FD(SYS_fdatasync, sc_fdatasync, 0),
	FD(SYS_syncfs, sc_syncfs, 0),
	FD(SYS_sync_file_range, sc_sync_file_range, 0),
	FD(SYS_ftruncate, sc_ftruncate, 0),
	FD(SYS_fchmod, sc_fchmod, 0),
	FD(SYS_fchown, sc_fchown, 0),
	FD(SYS_fstatfs, sc_fstatfs, 0),
	FD(SYS_ioctl, sc_ioctl, 0),
	FD(SYS_flock, sc_flock, 0),
	FD(SYS_fallocate, sc_fallocate, 0),
	FD(SYS_fadvise64, sc_fadvise64, 0),
	FD(SYS_readahead, sc_readahead, 0),
	FD(SYS_fgetxattr, sc_xattr, 0),
	FD(SYS_fsetxattr, sc_xattr, 0),
	FD(SYS_flistxattr, sc_xattr, 0),
	FD(SYS_fremovexattr, sc_xattr, 0),
	FD(SYS_mmap, sc_mmap, 4),
	CALL_FDS(SYS_close, sc_close, 1),
	CALL(SYS_close_range, sc_close_range),
	CALL(SYS_dup, sc_dup),
	CALL_FDS(SYS_dup2, sc_dup2, 1 | 2),
	CALL_FDS(SYS_dup3, sc_dup3, 1 | 2),
	CALL(SYS_fcntl, sc_fcntl),
	/* fd-to-fd copies between any domains (xfer.c) */
	CALL_FDS(SYS_sendfile, vos_xfer_sendfile, 1 | 2),
	CALL_FDS(SYS_copy_file_range, vos_xfer_copy_file_range, 1 | 4),
	CALL_FDS(SYS_splice, vos_xfer_splice, 1 | 4),
	CALL_FDS(SYS_tee, vos_xfer_tee, 1 | 2),
	/* local fd creators */
	CALL(SYS_pipe, sc_pipe),
	CALL(SYS_pipe2, sc_pipe2),
	CALL(SYS_socketpair, sc_socketpair),
	CALL(SYS_bind, sc_bind),
	CALL(SYS_connect, sc_connect),
	/* sockets: AF_INET/AF_INET6 to the network service (net.c) */
	CALL(SYS_socket, vos_net_socket),
	CALL(SYS_accept, vos_net_accept),
	CALL(SYS_accept4, vos_net_accept4),
	FD(SYS_listen, vos_net_listen, 0),
	FD(SYS_shutdown, vos_net_shutdown, 0),
	FD(SYS_getsockname, vos_net_getsockname, 0),
	FD(SYS_getpeername, vos_net_getpeername, 0),
	FD(SYS_getsockopt, vos_net_getsockopt, 0),
	FD(SYS_setsockopt, vos_net_setsockopt, 0),
	FD(SYS_sendto, vos_net_sendto, 0),
	FD(SYS_recvfrom, vos_net_recvfrom, 0),
	CALL(SYS_sendmsg, sc_sendmsg),
	FD(SYS_recvmsg, vos_net_recvmsg, 0),
	FD(SYS_sendmmsg, vos_net_sendmmsg, 0),
	FD(SYS_recvmmsg, vos_net_recvmmsg, 0),
	NEWFD(SYS_eventfd),
	NEWFD(SYS_eventfd2),
	NEWFD(SYS_epoll_create),
	NEWFD(SYS_epoll_create1),
	NEWFD(SYS_memfd_create),
	NEWFD(SYS_signalfd),
	NEWFD(SYS_signalfd4),
	NEWFD(SYS_timerfd_create),
	NEWFD(SYS_inotify_init),
	NEWFD(SYS_inotify_init1),
	NEWFD(SYS_fanotify_init),
	NEWFD(SYS_userfaultfd),
	NEWFD(SYS_pidfd_open),
	NEWFD(SYS_perf_event_open),
	/* paths */
	PATH(SYS_open, sc_open, -1, 0, -1),
	PATH(SYS_openat, sc_openat, 0, 1, -1),
	/* open_how checked by the kernel; RESOLVE_BENEATH/IN_ROOT scope the walk (open.c) */
	CALL(SYS_openat2, vos_openat2),
	PATH(SYS_creat, sc_creat, -1, 0, -1),
	PATH(SYS_stat, sc_stat, -1, 0, -1),
	PATH(SYS_lstat, sc_lstat, -1, 0, -1),
	PATH(SYS_newfstatat, sc_newfstatat, 0, 1, 3),
	PATH(SYS_statx, sc_statx, 0, 1, 2),
	PATH(SYS_access, sc_access, -1, 0, -1),
	PATH(SYS_faccessat, sc_faccessat, 0, 1, -1),
	PATH(SYS_faccessat2, sc_faccessat2, 0, 1, 3),
	PATH(SYS_statfs, sc_statfs, -1, 0, -1),
	PATH(SYS_unlink, sc_unlink, -1, 0, -1),
	PATH(SYS_unlinkat, sc_unlinkat, 0, 1, -1),
	PATH(SYS_rmdir, sc_rmdir, -1, 0, -1),
	PATH(SYS_mkdir, sc_mkdir, -1, 0, -1),
	PATH(SYS_mkdirat, sc_mkdirat, 0, 1, -1),
	PATH(SYS_mknod, sc_mknod, -1, 0, -1),
	PATH(SYS_mknodat, sc_mknodat, 0, 1, -1),
	PATH(SYS_readlink, sc_readlink, -1, 0, -1),
	PATH(SYS_readlinkat, sc_readlinkat, 0, 1, -1),
	PATH(SYS_chmod, sc_chmod, -1, 0, -1),
	PATH(SYS_fchmodat, sc_fchmodat, 0, 1, -1),
	PATH(SYS_fchmodat2, sc_fchmodat2, 0, 1, 3),
	PATH(SYS_chown, sc_chown, -1, 0, -1),
	PATH(SYS_lchown, sc_lchown, -1, 0, -1),
	PATH(SYS_fchownat, sc_fchownat, 0, 1, 4),
	PATH(SYS_truncate, sc_truncate, -1, 0, -1),
	PATH(SYS_getxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_lgetxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_setxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_lsetxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_listxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_llistxattr, sc_xattr, -1, 0, -1),
	PATH(SYS_removexattr, sc_xattr, -1, 0, -1),
	PATH(SYS_lremovexattr, sc_xattr, -1, 0, -1),
	PATH(SYS_utime, sc_utime, -1, 0, -1),
	PATH(SYS_utimes, sc_utimes, -1, 0, -1),
	PATH(SYS_futimesat, sc_futimesat, 0, 1, -1),
	/* a NULL path is the dirfd itself (futimens) */
	CALL(SYS_utimensat, sc_utimensat),
	/* two paths */
	CALL(SYS_rename, sc_rename),
	CALL(SYS_renameat, sc_renameat),
	CALL(SYS_renameat2, sc_renameat2),
	CALL(SYS_link, sc_link),
	CALL(SYS_linkat, sc_linkat),
	CALL(SYS_symlink, sc_symlink),
	CALL(SYS_symlinkat, sc_symlinkat),
	/* process state the library keeps */
	CALL(SYS_chdir, sc_chdir),
	CALL(SYS_fchdir, sc_fchdir),
	CALL(SYS_getcwd, sc_getcwd),
	CALL(SYS_umask, sc_umask),
	CALL(SYS_exit_group, sc_exit_group),
	CALL(SYS_exit, sc_exit),
	/* the channels' hand-off to the new image (exec.c) */
	CALL(SYS_execve, vos_execve),
	CALL(SYS_execveat, vos_execveat),
	/* poll and select over local and remote fds (poll.c) */
	CALL(SYS_poll, vos_poll_call),
	CALL(SYS_ppoll, vos_ppoll_call),
	CALL(SYS_select, vos_select_call),
	CALL(SYS_pselect6, vos_pselect6_call),
	/* remote fds in epoll sets (epoll.c) */
	FD(SYS_epoll_ctl, vos_epoll_ctl_remote, 2),
	CALL(SYS_epoll_wait, vos_epoll_wait_call),
	CALL(SYS_epoll_pwait, vos_epoll_pwait_call),
	CALL(SYS_epoll_pwait2, vos_epoll_pwait2_call),
	/* the kernel would run these on placeholders: the program falls back */
	NOSYS(SYS_io_uring_setup),
	NOSYS(SYS_io_setup),
};

/* ---- the dispatcher --------------------------------------------------------- */

/* Set around posix_spawn/system/popen (exec.c): their child shares our
 * memory and this thread's TLS (clone(CLONE_VM|CLONE_VFORK), no
 * CLONE_SETTLS) until it execs, so it sees the flag and every call it makes
 * goes to the kernel (see exec.c). */
VOS_TLS int vos_spawning;
_Atomic int vos_syscalls_installed;

static long path_call_once(const struct sc_def *d, long nr, long a[6])
{
	int dirfd = d->dirfd >= 0 ? I(d->dirfd) : AT_FDCWD;
	int empty = d->flags >= 0 && (a[d->flags] & AT_EMPTY_PATH);
	struct vos_path p;
	int r = vos_path_resolve(dirfd, S(d->path), empty, &p);
	long b[6];

	if (r < 0)
		return -errno;
	if (r == 1)
		return d->fn(a);
	if (p.path == S(d->path) && p.dirfd == dirfd)
		return vos_dispatch_raw(nr, a);
	/* Local, but resolved to another (dirfd, path): ask the kernel that. */
	if (d->dirfd < 0 && p.dirfd != AT_FDCWD)
		return d->fn(a);
	memcpy(b, a, sizeof(b));
	b[d->path] = (long)p.path;
	if (d->dirfd >= 0)
		b[d->dirfd] = p.dirfd;
	return vos_dispatch_raw(nr, b);
}

static long path_call(const struct sc_def *d, long nr, long a[6])
{
	long r = path_call_once(d, nr, a), b[6];
	int dirfd = d->dirfd >= 0 ? I(d->dirfd) : AT_FDCWD, links = 0;
	const char *path = S(d->path);
	char *buf = NULL;

	memcpy(b, a, sizeof(b));
	while (r == -VOS_ELINKOUT && (r = linkout_next(&dirfd, &path, 1, &buf, &links)) == 0) {
		b[d->path] = (long)path;
		if (d->dirfd >= 0)
			b[d->dirfd] = dirfd;
		r = path_call_once(d, nr, b);
	}
	free(buf);
	return r;
}

static long dispatch(const struct sc_def *d, long nr, long a[6])
{
	long r;

	switch (d->cls) {
	case SC_FD:
		if (VOS_FDE_KIND(vos_fd_entry(I(d->fd))) != VOS_FDK_REMOTE)
			return vos_dispatch_raw(nr, a);
		return d->fn(a);
	case SC_PATH:
		return path_call(d, nr, a);
	case SC_NEWFD:
		r = vos_dispatch_raw(nr, a);
		if (r >= 0 && vos_fd_entry((int)r))
			vos_fd_fresh((int)r);
		return r;
	case SC_CALL:
		return d->fn(a);
	case SC_NOSYS:
		return -ENOSYS;
	default:
		return vos_dispatch_raw(nr, a);
	}
}

/*
 * Newer calls this kernel may not have (Linux 6.1, the Xen guests', lacks
 * fchmodat2): the program must get the local kernel's ENOSYS, as natively,
 * even for a routed path the service could serve.  Probed once at install
 * with arguments every kernel that has the call refuses at once.
 */
static uint8_t kernel_lacks[SC_MAX];

static void probe_kernel(void)
{
	static const long newer[] = { SYS_close_range, SYS_openat2, SYS_faccessat2, SYS_fchmodat2 };

	for (size_t i = 0; i < sizeof newer / sizeof *newer; i++) {
		long a[6] = { -1, 0, 0, 0, 0, 0 };

		if (newer[i] == SYS_close_range)
			a[0] = 1;       /* first > last: EINVAL where it exists */
		kernel_lacks[newer[i]] = vos_dispatch_raw(newer[i], a) == -ENOSYS;
	}
}

static long vos_syscall(long nr, long a[6], void *ctx)
{
	const struct sc_def *d;
	long r;
	int saved;

	(void)ctx;
	if ((unsigned long)nr >= SC_MAX || vos_spawning)
		return vos_dispatch_raw(nr, a);
	d = &sc_table[nr];
	if (d->cls == SC_PASS || kernel_lacks[nr])
		return vos_dispatch_raw(nr, a);
	saved = errno;
	r = dispatch(d, nr, a);
	if (r == -VOS_ELINKOUT)
		r = -ENOENT;    /* not followed by a helper of ours (a limit, README) */
	errno = saved;
	return r;
}

/* From the constructor (init.c), once per process image (exec clears
 * Syscall User Dispatch; the new image's constructor installs again). */
uint8_t vos_sc_local_fds[VOS_SC_MAX];
struct vos_sc_path_args vos_sc_path_args[VOS_SC_MAX];

/*
 * Tell the module what never needs vos_syscall(): numbers the table does not
 * list run natively from the trampoline (pass-through), and calls whose fd
 * arguments are all plain local fds are answered by the precheck
 * (syscall_precheck.c) before any state is saved.  Both only save time:
 * vos_syscall() would send these calls to the kernel too.
 */
static void set_fast_paths(void)
{
	probe_kernel();
	for (long nr = 0; nr < SC_MAX; nr++) {
		vos_sc_local_fds[nr] = sc_table[nr].local_fds;
		if (sc_table[nr].cls == SC_PATH)
			vos_sc_path_args[nr] = (struct vos_sc_path_args){
				1, sc_table[nr].path, sc_table[nr].dirfd, sc_table[nr].flags };
		if (sc_table[nr].cls == SC_PASS || kernel_lacks[nr])
			vos_dispatch_passthrough(nr);
	}
	vos_dispatch_set_precheck(vos_syscall_precheck);
}

void vos_syscalls_install(void)
{
	int r;

	set_fast_paths();
	r = vos_dispatch_install(vos_syscall, NULL);

	if (r < 0) {
		char msg[200];
		int n = snprintf(msg, sizeof(msg),
				 "libvirtuos: cannot catch system calls (%s): %s\n",
				 r == -EBUSY ? "the program has its own SIGSYS handler" :
				 r == -ENOSYS ? "the kernel lacks Syscall User Dispatch" : "prctl failed",
				 strerror(-r));
		long w[6] = { 2, (long)msg, n > 0 ? n : 0 };

		vos_dispatch_raw(SYS_write, w);
		_exit(127);
	}
	atomic_store(&vos_syscalls_installed, 1);
}
