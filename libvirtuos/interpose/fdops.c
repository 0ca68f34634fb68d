/*
 * fdops.c - operations on fds: close, dup, fcntl, lseek, fstat, sync,
 * truncate, attribute changes, locks; and the wrappers around glibc's local
 * fd creators, which drop stale entries for the numbers they return.
 *
 * The kernel keeps doing what it can do with the placeholder: allocating
 * numbers (dup, F_DUPFD), FD_CLOEXEC (F_GETFD/F_SETFD), closing.  The
 * service does the rest, always for the same number.
 *
 * Channel descriptors ("internal" fds) are hidden from the program: close()
 * of one fails with EBADF as if it were not open, and close_range/closefrom
 * skip them, so programs that close every descriptor do not cut us off.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/close_range.h>
#include "interpose_internal.h"

/* ---- close ------------------------------------------------------------- */

int vos_remote_close(int fd)
{
	struct vos_client *c;
	int64_t res = 0;
	int r, saved = errno;

	vos_fdlock_rd();
	r = vos_fd_remote(fd, &c, NULL);
	if (r == 1)
		res = vos_rpc0(c, VOS_OP_CLOSE, fd, 0, 0, 0, 0);
	/* Entry first, then the placeholder: while we hold the number nobody
	 * else can be given it, so no new remote file can be mistaken for it. */
	vos_fd_set(fd, 0);
	real_close(fd);
	vos_fdlock_unlock();
	/* A dead channel or a service that had forgotten the fd: the
	 * placeholder was ours and is closed now. */
	if (r != 1 || res == -EBADF)
		res = 0;
	errno = saved;
	return (int)vos_ret(res);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int do_close_range(unsigned first, unsigned last, int flags)
{
	int skip[4 * 64], nskip, limit;
	unsigned from = first;

	if (!real_close_range) {
		errno = ENOSYS;
		return -1;
	}
	if (first > last || (flags & CLOSE_RANGE_CLOEXEC))
		return real_close_range(first, last, flags);
	limit = vos_fd_scan_limit();
	for (unsigned fd = first; fd <= last && fd < (unsigned)limit; fd++)
		if (VOS_FDE_KIND(vos_fd_entry((int)fd)) == VOS_FDK_REMOTE)
			vos_remote_close((int)fd);
	/* Close the rest around our channel descriptors. */
	nskip = vos_internal_fds(skip, (int)(sizeof(skip) / sizeof(skip[0])));
	qsort(skip, (size_t)nskip, sizeof(int), cmp_int);
	for (int i = 0; i < nskip; i++) {
		unsigned s = (unsigned)skip[i];

		if (s < from || s > last)
			continue;
		if (s > from && real_close_range(from, s - 1, flags) < 0)
			return -1;
		from = s + 1;
	}
	if (from <= last && real_close_range(from, last, flags) < 0)
		return -1;
	return 0;
}

int vos_close_range(unsigned first, unsigned last, int flags)
{
	vos_init();
	return do_close_range(first, last, flags);
}

/* ---- dup family ----------------------------------------------------------- */

/* Record newfd as a duplicate of remote oldfd (entry e) on the service.
 * newfd already holds a kernel duplicate of the placeholder; on failure it
 * is closed.  Called with the fd lock held. */
static int remote_dup_to(struct vos_client *c, int oldfd, uint32_t e, int newfd, int cloexec)
{
	int64_t res = vos_rpc0(c, VOS_OP_DUP, oldfd, newfd, cloexec ? O_CLOEXEC : 0, 0, 0);

	if (res != newfd) {
		vos_fd_set(newfd, 0);
		real_close(newfd);
		errno = res < 0 ? (int)-res : EIO;
		return -1;
	}
	vos_fd_set(newfd, e);
	return newfd;
}

int vos_dup(int fd)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL), nfd;

	if (r < 0)
		return -1;
	if (r == 0)
		return vos_fd_fresh(real_dup(fd));
	vos_fdlock_rd();
	nfd = real_dup(fd);
	if (nfd >= 0)
		nfd = remote_dup_to(c, fd, vos_fd_entry(fd), nfd, 0);
	vos_fdlock_unlock();
	return nfd;
}

/* Drop the remote file at fd (about to be replaced by a local one). */
static void drop_remote(int fd)
{
	struct vos_client *c;

	if (vos_fd_remote(fd, &c, NULL) == 1)
		vos_rpc0(c, VOS_OP_CLOSE, fd, 0, 0, 0, 0);
	vos_fd_set(fd, 0);
}

static int do_dup3(int oldfd, int newfd, int flags, int is_dup3)
{
	struct vos_client *c;
	uint32_t e_old, e_new;
	int r, res;

	vos_init();
	e_new = vos_fd_entry(newfd);
	if (VOS_FDE_KIND(e_new) == VOS_FDK_INTERNAL) {
		/* Our channel lives there; moving it is not supported. */
		errno = EBUSY;
		return -1;
	}
	if (oldfd == newfd)
		return is_dup3 ? real_dup3(oldfd, newfd, flags) : real_dup2(oldfd, newfd);
	if (flags & ~O_CLOEXEC) {
		errno = EINVAL;
		return -1;
	}
	e_old = vos_fd_entry(oldfd);
	r = vos_fd_remote(oldfd, &c, NULL);
	if (r < 0)
		return -1;
	vos_fdlock_rd();
	if (r == 0) {
		if (VOS_FDE_KIND(e_new) == VOS_FDK_REMOTE) {
			/* Check oldfd first: once the service closed newfd's
			 * file there is no way back. */
			if (real_fcntl(oldfd, F_GETFD) < 0) {
				vos_fdlock_unlock();
				return -1;
			}
			drop_remote(newfd);
		}
		res = real_dup3(oldfd, newfd, flags);
		if (res >= 0 && e_new != 0)
			vos_fd_set(newfd, 0);
	} else {
		res = real_dup3(oldfd, newfd, flags);
		if (res >= 0) {
			/* A remote file of another service at newfd goes away;
			 * one of the same service is replaced by DUP itself. */
			if (VOS_FDE_KIND(e_new) == VOS_FDK_REMOTE &&
			    VOS_FDE_SVC(e_new) != VOS_FDE_SVC(e_old))
				drop_remote(newfd);
			res = remote_dup_to(c, oldfd, e_old, newfd, flags & O_CLOEXEC);
		}
	}
	vos_fdlock_unlock();
	return res;
}

int vos_dup2(int oldfd, int newfd)
{
	return do_dup3(oldfd, newfd, 0, 0);
}

int vos_dup3(int oldfd, int newfd, int flags)
{
	return do_dup3(oldfd, newfd, flags, 1);
}

/* ---- fcntl ------------------------------------------------------------------ */

/* Linux 6.12: 1 if this open created the file (glibc 2.36 lacks the name). */
#define VOS_F_CREATED_QUERY (1024 + 4)

static int remote_fcntl(struct vos_client *c, int fd, int cmd, void *arg)
{
	struct vos_req r = { .op = VOS_OP_FCNTL, .arg = { fd, cmd } };
	struct vos_in in = { 2, arg, sizeof(struct flock) };
	int nfd;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		vos_fdlock_rd();
		nfd = real_fcntl(fd, cmd, arg);
		if (nfd >= 0)
			nfd = remote_dup_to(c, fd, vos_fd_entry(fd), nfd, cmd == F_DUPFD_CLOEXEC);
		vos_fdlock_unlock();
		return nfd;
	case F_GETFD:
	case F_SETFD:
		return real_fcntl(fd, cmd, arg);
	case F_GETFL:
	case F_SETFL:
		r.arg[2] = (int)(intptr_t)arg;
		return (int)vos_ret(vos_rpc(c, &r, NULL, 0, NULL, 0, 0));
	case F_GETLK:
	case F_OFD_GETLK:
		if (!arg) {
			errno = EFAULT;
			return -1;
		}
		return (int)vos_ret(vos_rpc(c, &r, &in, 1, arg, sizeof(struct flock), 1));
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		if (!arg) {
			errno = EFAULT;
			return -1;
		}
		return (int)vos_ret(vos_rpc(c, &r, &in, 1, NULL, 0, 0));
	case F_GETLEASE:
	case F_GETSIG:
	case F_SETSIG:
	case F_GETOWN:
	case F_SETOWN:
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
	case F_GET_SEALS:
	case F_ADD_SEALS:
	case VOS_F_CREATED_QUERY:
		/* An int argument, answered by the shadow's file as Linux
		 * answers it (no lease is ever set there; F_SETSIG/F_SETOWN
		 * name a signal and an owner nothing raises: O_ASYNC and
		 * leases are refused). */
		r.arg[2] = (int)(intptr_t)arg;
		return (int)vos_ret(vos_rpc(c, &r, NULL, 0, NULL, 0, 0));
	case F_SETLEASE:
	case F_NOTIFY:
		/* The lease-break or notify signal would go to the shadow,
		 * not to us: refused, as by a file system without leases or
		 * dnotify (EINVAL).  Documented in README.md. */
	default:
		/* Unknown commands, and those with a pointer argument we do
		 * not marshal (F_GETOWN_EX, F_*_RW_HINT): EINVAL, the
		 * kernel's answer for a command it does not know. */
		errno = EINVAL;
		return -1;
	}
}

int vos_fcntl(int fd, int cmd, void *arg)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL), res;

	if (r == 0) {
		res = real_fcntl(fd, cmd, arg);
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
			vos_fd_fresh(res);
		return res;
	}
	if (r < 0) {
		/* The close-on-exec flag lives on the placeholder only. */
		if (cmd == F_GETFD || cmd == F_SETFD)
			return real_fcntl(fd, cmd, arg);
		return -1;
	}
	return remote_fcntl(c, fd, cmd, arg);
}

int vos_flock(int fd, int op)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_flock(fd, op);
	return r < 0 ? -1 : (int)vos_ret(vos_rpc0(c, VOS_OP_FLOCK, fd, op, 0, 0, 0));
}

/* ---- position, status, sync, size ------------------------------------------- */

off_t vos_lseek(int fd, off_t off, int whence)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_lseek(fd, off, whence);
	return r < 0 ? -1 : (off_t)vos_ret(vos_rpc0(c, VOS_OP_LSEEK, fd, off, whence, 0, 0));
}

int vos_remote_fstat(struct vos_client *c, int fd, struct stat *st)
{
	struct vos_req r = { .op = VOS_OP_FSTATAT, .arg = { fd, VOS_NO_PATH, AT_EMPTY_PATH } };

	if (!st) {
		errno = EFAULT;
		return -1;
	}

	return (int)vos_ret(vos_rpc(c, &r, NULL, 0, st, sizeof(*st), 1));
}

int vos_fstat(int fd, struct stat *st)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_fstat(fd, st);
	return r < 0 ? -1 : vos_remote_fstat(c, fd, st);
}

/* 0: fd is local; 1: the service did op; -1: failed (errno set). */
static int fd_call(int fd, uint16_t op, int64_t a1, int64_t a2)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r <= 0)
		return r;
	return vos_ret(vos_rpc0(c, op, fd, a1, a2, 0, 0)) < 0 ? -1 : 1;
}

/* A wrapper that forwards (fd, a1, a2) as op for remote fds. */
#define FD_WRAPPER(name, params, args, op, a1, a2) \
	int vos_##name params \
	{ \
		int r = fd_call(fd, op, a1, a2); \
		if (r == 0) \
			return real_##name args; \
		return r < 0 ? -1 : 0; \
	}

FD_WRAPPER(fsync, (int fd), (fd), VOS_OP_FSYNC, 0, 0)
FD_WRAPPER(fdatasync, (int fd), (fd), VOS_OP_FSYNC, 1, 0)
/* syncfs on a remote fd syncs that file: the service will not sync a whole
 * file system on one client's behalf. */
FD_WRAPPER(syncfs, (int fd), (fd), VOS_OP_FSYNC, 0, 0)
FD_WRAPPER(ftruncate, (int fd, off_t len), (fd, len), VOS_OP_FTRUNCATE, len, 0)
FD_WRAPPER(fchmod, (int fd, mode_t mode), (fd, mode), VOS_OP_FCHMOD, mode, 0)
FD_WRAPPER(fchown, (int fd, uid_t uid, gid_t gid), (fd, uid, gid), VOS_OP_FCHOWN, uid, gid)

int vos_sync_file_range(int fd, off_t off, off_t len, unsigned flags)
{
	int r = fd_call(fd, VOS_OP_FSYNC, 1, 0);

	if (r == 0)
		return real_sync_file_range(fd, off, len, flags);
	return r < 0 ? -1 : 0;
}

int vos_futimens(int fd, const struct timespec times[2])
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_futimens(fd, times);
	return r < 0 ? -1 : vos_remote_utimens(c, fd, NULL, times, 0);
}

int vos_fstatfs(int fd, struct statfs *buf)
{
	struct vos_client *c;
	struct vos_req r = { .op = VOS_OP_FSTATFS, .arg = { fd } };
	int rem = vos_fd_remote(fd, &c, NULL);

	if (rem == 0)
		return real_fstatfs(fd, buf);
	return rem < 0 ? -1 : (int)vos_ret(vos_rpc(c, &r, NULL, 0, buf, sizeof(*buf), 1));
}

/* ---- terminal questions: a remote file is never a terminal ---------------------- */

int vos_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	vos_init();
	if (VOS_FDE_KIND(vos_fd_entry(fd)) == VOS_FDK_REMOTE) {
		errno = ENOTTY;
		return -1;
	}
	return real_ioctl(fd, req, arg);
}

/* ---- local fd creators: a fresh local number has no remote past ------------------ */

/* Stale entries come from placeholders closed behind our back (a close
 * the dispatcher did not see: made before it was installed, or by a
 * thread started before the library). */
int vos_fd_fresh(int fd)
{
	if (fd >= 0)
		vos_fd_forget(fd);
	return fd;
}

