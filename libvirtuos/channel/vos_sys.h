/*
 * vos_sys.h - raw system calls for the channel and client code.
 *
 * The channel and client code (the call engine) is linked into
 * libvirtuos.so, which interposes glibc's open/read/write/close/mmap/socket
 * and some 200 more wrappers (libvirtuos/interpose/libvirtuos.map).  A libc
 * call by one of those names from inside the engine would land in the
 * library's own wrapper, so the engine talks to the kernel directly: every
 * function here returns the result or -errno (never sets the caller-visible
 * errno as its only error report).  tests/unit/check-symbols.sh fails if an
 * object of libvirtuos/channel or libvirtuos/client refers to a name the
 * library exports.
 *
 * The invariant that matters is stronger than "raw system calls": a wrapper
 * reached from inside the engine must never connect a channel or take an
 * engine lock (the engine may hold its own locks, with signals blocked,
 * while it runs).  Raw calls keep the engine's own code out of the
 * wrappers; what the engine cannot keep out is libraries it calls: on the
 * Xen client path libxenstore (loaded with dlopen, xen/xs.h) calls open,
 * socket, connect, read, write and close through its own PLT, which land in
 * the wrappers.  That is safe only because those wrappers, for descriptors
 * and paths that are not remote or routed, go straight to glibc without
 * connecting anything or locking: keep it so.
 */
#ifndef VOS_SYS_H
#define VOS_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline long vos_sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

static inline long vos_sys_read(int fd, void *buf, size_t len)
{
	return vos_sys_ret(syscall(SYS_read, fd, buf, len));
}

static inline long vos_sys_write(int fd, const void *buf, size_t len)
{
	return vos_sys_ret(syscall(SYS_write, fd, buf, len));
}

/* close() is never retried: after EINTR the descriptor is already gone. */
static inline void vos_sys_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		syscall(SYS_close, fd);
		errno = saved;
	}
}

static inline long vos_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return vos_sys_ret(syscall(SYS_openat, dirfd, path, flags, mode));
}

static inline long vos_sys_fstat(int fd, struct stat *st)
{
	return vos_sys_ret(syscall(SYS_fstat, fd, st));
}

static inline long vos_sys_fcntl(int fd, int cmd, long arg)
{
	return vos_sys_ret(syscall(SYS_fcntl, fd, cmd, arg));
}

/* poll() with a millisecond timeout (-1 = forever), via ppoll (portable). */
static inline long vos_sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	return vos_sys_ret(syscall(SYS_ppoll, fds, n, tsp, NULL, (size_t)(_NSIG / 8)));
}

/* mmap(2) without the interposer's mmap wrapper: the address, or -errno (a
 * user-space address is never negative as a long, an error always is). */
static inline long vos_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return vos_sys_ret(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

static inline void vos_sys_munmap(void *addr, size_t len)
{
	int saved = errno;

	syscall(SYS_munmap, addr, len);
	errno = saved;
}

static inline long vos_sys_socket(int domain, int type, int proto)
{
	return vos_sys_ret(syscall(SYS_socket, domain, type, proto));
}

static inline long vos_sys_connect(int fd, const void *addr, socklen_t len)
{
	return vos_sys_ret(syscall(SYS_connect, fd, addr, len));
}

static inline long vos_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return vos_sys_ret(syscall(SYS_sendmsg, fd, m, flags));
}

static inline long vos_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
	return vos_sys_ret(syscall(SYS_recvmsg, fd, m, flags));
}

#endif
