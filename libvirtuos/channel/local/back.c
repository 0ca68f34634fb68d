/*
 * back.c - the local transport's service side (see transport_local.h):
 * listen on <rundir>/<service>.sock, accept a client and check what it
 * sends, hand the connection to a shadow, map the client's memory.
 * vos-serviced only: never linked into libvirtuos.so.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "local.h"
#include "../channel.h"
#include "../memfd.h"
#include "../vos_sys.h"

#define ACCEPT_TIMEOUT_MS  5000

/* Create the placeholder (empty, 0444), keeping a good existing one: running
 * clients hold it open, and after a daemon restart they must still find the
 * same file at the same path. */
static int make_placeholder(const char *rundir, const char *service)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err;

	err = vos_local_placeholder_path(rundir, service, path, sizeof(path));
	if (err)
		return err;
	if (lstat(path, &st) == 0) {
		if (S_ISREG(st.st_mode) && st.st_size == 0) {
			if ((st.st_mode & 07777) != 0444 && chmod(path, 0444) < 0)
				return -errno;
			return 0;
		}
		if (unlink(path) < 0)
			return -errno;
	}
	fd = (int)vos_sys_openat(AT_FDCWD, path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return fd;
	err = fchmod(fd, 0444) < 0 ? -errno : 0;   /* in case umask removed bits */
	vos_sys_close(fd);
	return err;
}

int vos_local_listen(const char *rundir, const char *service)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, err;

	err = local_sock_path(rundir, service, &sa);
	if (err)
		return err;
	fd = (int)vos_sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (lstat(sa.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err = -EEXIST;
			goto fail;
		}
		/* A socket someone still accepts on is not stale: don't steal it. */
		if (vos_sys_connect(fd, &sa, sizeof(sa)) == 0) {
			err = -EADDRINUSE;
			goto fail;
		}
		if (unlink(sa.sun_path) < 0 && errno != ENOENT) {
			err = -errno;
			goto fail;
		}
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		goto fail;
	}
	err = make_placeholder(rundir, service);
	if (err) {
		unlink(sa.sun_path);
		goto fail;
	}
	return fd;
fail:
	vos_sys_close(fd);
	return err;
}

/*
 * Receive exactly len bytes with exactly n descriptors (close-on-exec), or
 * with up to n if nfds is not NULL (*nfds: how many; the rest are -1).
 * Anything else (short message, truncation, wrong fd count) closes whatever
 * arrived and fails with -EPROTO; -ECONNRESET on end of stream.
 */
static int recv_with_fds(int sock, void *buf, size_t len, int *fds, int n, int *nfds)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int got = 0, err = 0;
	long r;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	do
		r = vos_sys_recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (r == -EINTR);
	if (r < 0)
		return r == -EAGAIN ? -ETIMEDOUT : (int)r;
	if (r == 0)
		return -ECONNRESET;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
			if (got < n)
				fds[got] = fd;
			else
				vos_sys_close(fd);  /* surplus */
			got++;
		}
	}
	if ((size_t)r != len || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (nfds ? got > n : got != n))
		err = -EPROTO;
	else if (nfds)
		*nfds = got;
	if (err) {
		for (int i = 0; i < n; i++) {
			vos_sys_close(fds[i]);
			fds[i] = -1;
		}
	}
	return err;
}

static int hello_ok(const struct vos_hello *h)
{
	return h->magic == VOS_HELLO_MAGIC && h->version == VOS_PROTO_VERSION &&
	       (h->kind == VOS_HELLO_NEW || h->kind == VOS_HELLO_CLAIM ||
		h->kind == VOS_HELLO_FORK_LIVE);
}

int vos_local_accept(int listen_fd, struct vos_local_conn *conn)
{
	int sock;

	memset(conn, 0, sizeof(*conn));
	conn->sock = conn->memfd = conn->to_service = conn->to_client = -1;
	do
		sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (sock < 0 && errno == EINTR);
	if (sock < 0)
		return -errno;
	return vos_local_accept_fd(sock, conn);
}

/*
 * VOS_HELLO_SIZE_MEMFD: grow the client's memfd to size under our
 * RLIMIT_FSIZE (memfd.c: our own soft limit is lifted as for any memfd of
 * ours).  Only a memfd that may still be sealed and grown (a file of
 * /dev/shm or a memfd without MFD_ALLOW_SEALING reports F_SEAL_SEAL), only
 * to a channel's size at most, and never shrunk.  0 or -errno.
 */
static int size_memfd(const struct vos_hello *h, const int *fds, int nfds)
{
	struct stat st;
	long seals;

	if (nfds != 1)
		return -EPROTO;
	if (h->size < VOS_PAGE_SIZE || h->size > vos_channel_bytes(VOS_MAX_SLOTS, VOS_MAX_SLOT_SIZE))
		return -EFBIG;
	if (vos_sys_fstat(fds[0], &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	seals = vos_sys_fcntl(fds[0], F_GET_SEALS, 0);
	if (seals < 0 || (seals & (F_SEAL_SEAL | F_SEAL_GROW)))
		return -EINVAL;
	if ((uint64_t)st.st_size >= h->size)
		return 0;
	return vos_memfd_truncate(fds[0], (off_t)h->size);
}

int vos_local_accept_fd(int sock, struct vos_local_conn *conn)
{
	int err, fds[3], nfds = 0;
	socklen_t len = sizeof(conn->cred);

	memset(conn, 0, sizeof(*conn));
	conn->sock = conn->memfd = conn->to_service = conn->to_client = -1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &conn->cred, &len) < 0) {
		err = -errno;
		vos_sys_close(sock);
		return err;
	}
	/* A client that connects and never speaks must not stall the daemon. */
	local_set_timeouts(sock, ACCEPT_TIMEOUT_MS);
	err = recv_with_fds(sock, &conn->hello, sizeof(conn->hello), fds, 3, &nfds);
	if (!err && conn->hello.magic == VOS_HELLO_MAGIC &&
	    conn->hello.version == VOS_PROTO_VERSION && conn->hello.kind == VOS_HELLO_SIZE_MEMFD) {
		/* Served here, no channel: the reply below, then the hang-up. */
		err = size_memfd(&conn->hello, fds, nfds);
		struct vos_hello_reply rep = { .status = err };

		(void)syscall(SYS_sendto, sock, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
		for (int i = 0; i < 3; i++)
			vos_sys_close(fds[i]);
		vos_sys_close(sock);
		return -EALREADY;
	}
	if (!err && (nfds != 3 || !hello_ok(&conn->hello))) {
		for (int i = 0; i < 3; i++)
			vos_sys_close(fds[i]);
		err = -EPROTO;
	}
	if (err) {
		/* Best effort: tell the client why, then drop it. */
		struct vos_hello_reply rep = { .status = err };

		(void)syscall(SYS_sendto, sock, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
		vos_sys_close(sock);
		return err;
	}
	local_set_timeouts(sock, 0);
	conn->sock = sock;
	conn->memfd = fds[0];
	conn->to_service = fds[1];
	conn->to_client = fds[2];
	return 0;
}

int vos_local_conn_send(int sock, const struct vos_local_conn *conn)
{
	int fds[4] = { conn->sock, conn->memfd, conn->to_service, conn->to_client };

	for (int i = 0; i < 4; i++)
		if (fds[i] < 0)
			return -EBADF;
	return local_send_with_fds(sock, conn, sizeof(*conn), fds, 4);
}

int vos_local_conn_recv(int sock, struct vos_local_conn *conn)
{
	struct vos_local_conn tmp;
	int fds[4], err;

	err = recv_with_fds(sock, &tmp, sizeof(tmp), fds, 4, NULL);
	if (err)
		return err;
	/* The fd numbers in the message are the sender's; use ours. */
	tmp.sock = fds[0];
	tmp.memfd = fds[1];
	tmp.to_service = fds[2];
	tmp.to_client = fds[3];
	*conn = tmp;
	return 0;
}

void vos_local_conn_close(struct vos_local_conn *conn)
{
	vos_sys_close(conn->sock);
	vos_sys_close(conn->memfd);
	vos_sys_close(conn->to_service);
	vos_sys_close(conn->to_client);
	conn->sock = conn->memfd = conn->to_service = conn->to_client = -1;
}

int vos_local_reply(const struct vos_local_conn *conn, const struct vos_hello_reply *reply)
{
	long r;

	do
		r = vos_sys_ret(syscall(SYS_sendto, conn->sock, reply, sizeof(*reply),
					MSG_NOSIGNAL, NULL, 0));
	while (r == -EINTR);
	if (r < 0)
		return (int)r;
	return (size_t)r == sizeof(*reply) ? 0 : -EIO;
}

/* True if fd is an eventfd (the client could send any descriptor). */
static int is_eventfd(int fd)
{
	char link[64], path[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -1;   /* -1: cannot tell (no /proc) */
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

int vos_local_attach(struct vos_local_conn *conn, size_t max_size, struct vos_xport **out)
{
	struct local_xport *l;
	struct stat st;
	long seals;
	int err;

	err = (int)vos_sys_fstat(conn->memfd, &st);
	if (err)
		return err;
	if (!S_ISREG(st.st_mode) || st.st_size < VOS_PAGE_SIZE || (uint64_t)st.st_size > max_size)
		return -EINVAL;
	/* Without a shrink seal the client could truncate under our mapping. */
	seals = vos_sys_fcntl(conn->memfd, F_GET_SEALS, 0);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPERM;
	/* A blocking pipe in place of an eventfd could hang notify(). */
	if (!is_eventfd(conn->to_service) || !is_eventfd(conn->to_client))
		return -EINVAL;
	if (vos_sys_fcntl(conn->to_client, F_SETFL, O_NONBLOCK) < 0 ||
	    vos_sys_fcntl(conn->to_service, F_SETFL, O_NONBLOCK) < 0)
		return -EBADF;

	l = local_new();
	if (!l)
		return -ENOMEM;
	l->memfd = conn->memfd;
	err = local_map(l, (size_t)st.st_size);
	if (err) {
		l->memfd = -1;
		local_close(&l->x);
		return err;
	}
	/* The transport owns the descriptors from here on. */
	l->sock = conn->sock;
	l->to_service = conn->to_service;
	l->to_client = conn->to_client;
	conn->sock = conn->memfd = conn->to_service = conn->to_client = -1;
	local_set_service_side(l);
	*out = &l->x;
	return 0;
}
