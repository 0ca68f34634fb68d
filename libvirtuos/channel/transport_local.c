/*
 * transport_local.c - memfd + eventfd + Unix socket transport (see
 * transport_local.h).
 *
 * The client seals its memfd against shrinking and growing before handing it
 * over: a service maps memory it does not own, and a memfd the client could
 * shrink later would turn service accesses into SIGBUS.  The service refuses
 * a memfd without F_SEAL_SHRINK.
 *
 * All descriptors are close-on-exec; the exec path of the client clears the
 * flag on exactly the ones it wants to keep.  Raw system calls (vos_sys.h)
 * keep this code out of the interposer's wrappers.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "transport_local.h"
#include "channel.h"
#include "vos_sys.h"

#define CONNECT_TIMEOUT_MS 5000
#define ACCEPT_TIMEOUT_MS  5000

struct local_xport {
	struct vos_xport x;     /* first: the public part */
	int sock, memfd, to_service, to_client;
	int kick_fd;            /* where the peer kicks us */
	int notify_fd;          /* where we kick the peer */
};

static struct local_xport *to_local(struct vos_xport *x)
{
	return (struct local_xport *)x;
}

static int local_notify(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	uint64_t one = 1;

	for (;;) {
		long n = vos_sys_write(l->notify_fd, &one, sizeof(one));

		if (n == (long)sizeof(one))
			return 0;
		if (n == -EINTR)
			continue;
		/* EAGAIN: the counter is saturated, so the peer has a kick pending. */
		if (n == -EAGAIN)
			return 0;
		return n < 0 ? (int)n : -EIO;
	}
}

/* Wake a fellow waiter: kick our own eventfd. */
static int local_wake_local(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	uint64_t one = 1;
	long n;

	do
		n = vos_sys_write(l->kick_fd, &one, sizeof(one));
	while (n == -EINTR);
	return n == (long)sizeof(one) || n == -EAGAIN ? 0 : (n < 0 ? (int)n : -EIO);
}

static int sock_hung_up(short revents)
{
	return (revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0;
}

static int local_wait(struct vos_xport *x, int timeout_ms)
{
	struct local_xport *l = to_local(x);
	struct pollfd p[2] = {
		{ .fd = l->kick_fd, .events = POLLIN },
		/* Only hang-up matters on the socket; never POLLIN, so stray
		 * data from the peer cannot turn this into a busy loop. */
		{ .fd = l->sock, .events = POLLRDHUP },
	};
	long n = vos_sys_poll(p, 2, timeout_ms);

	if (n < 0)
		return (int)n;          /* -EINTR included */
	if (n == 0)
		return 0;
	if (p[0].revents & POLLIN) {
		uint64_t v;

		/* Nonblocking: another waiter on the same eventfd may have
		 * consumed the kick already; that is still a wake-up. */
		(void)vos_sys_read(l->kick_fd, &v, sizeof(v));
		return 1;
	}
	if (sock_hung_up(p[1].revents))
		return -EPIPE;
	if (p[0].revents & (POLLERR | POLLNVAL))
		return -EBADF;
	return 0;
}

static int local_peer_alive(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	struct pollfd p = { .fd = l->sock, .events = POLLRDHUP };

	if (l->sock < 0)
		return 1;               /* not connected yet: nothing says it died */
	if (vos_sys_poll(&p, 1, 0) < 0)
		return 1;
	return !sock_hung_up(p.revents);
}

static void local_close(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);

	if (!l)
		return;
	if (l->x.mem && l->x.mem != MAP_FAILED)
		munmap(l->x.mem, l->x.size);
	vos_sys_close(l->sock);
	vos_sys_close(l->memfd);
	vos_sys_close(l->to_service);
	vos_sys_close(l->to_client);
	free(l);
}

static const struct vos_xport_ops local_ops = {
	.name = "local",
	.notify = local_notify,
	.wait = local_wait,
	.peer_alive = local_peer_alive,
	.close = local_close,
	.wake_local = local_wake_local,
};

static struct local_xport *local_new(void)
{
	struct local_xport *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->x.ops = &local_ops;
	l->sock = l->memfd = l->to_service = l->to_client = -1;
	l->kick_fd = l->notify_fd = -1;
	return l;
}

static void set_client_side(struct local_xport *l)
{
	l->kick_fd = l->to_client;
	l->notify_fd = l->to_service;
}

static void set_service_side(struct local_xport *l)
{
	l->kick_fd = l->to_service;
	l->notify_fd = l->to_client;
}

static int map_fd(struct local_xport *l, size_t size)
{
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, l->memfd, 0);

	if (m == MAP_FAILED)
		return -errno;
	l->x.mem = m;
	l->x.size = size;
	return 0;
}

/* Client side ------------------------------------------------------------ */

int vos_local_create(size_t size, struct vos_xport **out)
{
	struct local_xport *l;
	int err;

	if (size < VOS_PAGE_SIZE)
		return -EINVAL;
	l = local_new();
	if (!l)
		return -ENOMEM;
	l->memfd = (int)vos_sys_ret(syscall(SYS_memfd_create, "vos-channel",
					    MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (l->memfd < 0) {
		err = l->memfd;
		l->memfd = -1;
		goto fail;
	}
	err = (int)vos_sys_ret(syscall(SYS_ftruncate, l->memfd, (off_t)size));
	if (err < 0)
		goto fail;
	err = (int)vos_sys_fcntl(l->memfd, F_ADD_SEALS,
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	if (err < 0)
		goto fail;
	err = map_fd(l, size);
	if (err < 0)
		goto fail;
	l->to_service = (int)vos_sys_ret(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (l->to_service < 0) {
		err = l->to_service;
		l->to_service = -1;
		goto fail;
	}
	l->to_client = (int)vos_sys_ret(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (l->to_client < 0) {
		err = l->to_client;
		l->to_client = -1;
		goto fail;
	}
	set_client_side(l);
	*out = &l->x;
	return 0;
fail:
	local_close(&l->x);
	return err;
}

static int sock_path(const char *rundir, const char *service, struct sockaddr_un *sa)
{
	int n;

	if (!rundir || !service || !*service)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", rundir, service);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Send buf with n descriptors attached (n <= 4). */
static int send_with_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	memset(&u, 0, sizeof(u));
	if (n > 0) {
		struct cmsghdr *c;

		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	}
	do
		r = vos_sys_sendmsg(sock, &m, MSG_NOSIGNAL);
	while (r == -EINTR);
	if (r < 0)
		return r == -EAGAIN ? -ETIMEDOUT : (int)r;
	return (size_t)r == len ? 0 : -EIO;
}

/*
 * Receive exactly len bytes with exactly n descriptors (close-on-exec).
 * Anything else (short message, truncation, wrong fd count) closes whatever
 * arrived and fails with -EPROTO; -ECONNRESET on end of stream.
 */
static int recv_with_fds(int sock, void *buf, size_t len, int *fds, int n)
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
	if ((size_t)r != len || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || got != n)
		err = -EPROTO;
	if (err) {
		for (int i = 0; i < n; i++) {
			vos_sys_close(fds[i]);
			fds[i] = -1;
		}
	}
	return err;
}

int vos_local_connect(struct vos_xport *x, const char *rundir, const char *service,
		      const struct vos_hello *hello, struct vos_hello_reply *reply)
{
	struct local_xport *l = to_local(x);
	struct sockaddr_un sa;
	struct vos_hello_reply rep;
	int sock, err;
	int fds[3] = { l->memfd, l->to_service, l->to_client };

	if (l->sock >= 0)
		return -EISCONN;
	err = sock_path(rundir, service, &sa);
	if (err)
		return err;
	sock = (int)vos_sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return sock;
	/* Bounds connect (full backlog), send and the wait for the reply. */
	set_timeouts(sock, CONNECT_TIMEOUT_MS);
	do
		err = (int)vos_sys_connect(sock, &sa, sizeof(sa));
	while (err == -EINTR);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
	if (err)
		goto fail;
	err = send_with_fds(sock, hello, sizeof(*hello), fds, 3);
	if (err)
		goto fail;

	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	/* No control buffer: any descriptors the peer sends are discarded. */
	do
		r = vos_sys_recvmsg(sock, &m, 0);
	while (r == -EINTR);
	if (r < 0) {
		err = r == -EAGAIN ? -ETIMEDOUT : (int)r;
		goto fail;
	}
	if (r == 0) {
		err = -ECONNRESET;
		goto fail;
	}
	if ((size_t)r != sizeof(rep) || (m.msg_flags & MSG_TRUNC)) {
		err = -EPROTO;
		goto fail;
	}
	if (rep.status != 0) {
		/* Only a plausible -errno is passed through. */
		err = (rep.status < 0 && rep.status > -4096) ? rep.status : -EPROTO;
		goto fail;
	}
	set_timeouts(sock, 0);
	if (reply)
		*reply = rep;
	l->sock = sock;
	return 0;
fail:
	vos_sys_close(sock);
	return err;
}

void vos_local_get_fds(const struct vos_xport *x, struct vos_local_fds *fds)
{
	const struct local_xport *l = (const struct local_xport *)x;

	fds->sock = l->sock;
	fds->memfd = l->memfd;
	fds->to_service = l->to_service;
	fds->to_client = l->to_client;
}

int vos_local_adopt(const struct vos_local_fds *fds, struct vos_xport **out)
{
	struct local_xport *l;
	struct stat st;
	int err;

	if (fds->memfd < 0 || fds->to_service < 0 || fds->to_client < 0)
		return -EBADF;
	err = (int)vos_sys_fstat(fds->memfd, &st);
	if (err)
		return err;
	if (!S_ISREG(st.st_mode) || st.st_size < VOS_PAGE_SIZE ||
	    (uint64_t)st.st_size > vos_channel_bytes(VOS_MAX_SLOTS, VOS_MAX_SLOT_SIZE))
		return -EPROTO;
	l = local_new();
	if (!l)
		return -ENOMEM;
	l->memfd = fds->memfd;
	err = map_fd(l, (size_t)st.st_size);
	if (err) {
		l->memfd = -1;          /* not ours yet: the caller keeps its fds on failure */
		local_close(&l->x);
		return err;
	}
	l->sock = fds->sock;
	l->to_service = fds->to_service;
	l->to_client = fds->to_client;
	/* The exec path cleared close-on-exec to carry them over; restore it. */
	int all[4] = { l->sock, l->memfd, l->to_service, l->to_client };
	for (int i = 0; i < 4; i++)
		if (all[i] >= 0)
			vos_sys_fcntl(all[i], F_SETFD, FD_CLOEXEC);
	set_client_side(l);
	*out = &l->x;
	return 0;
}

int vos_local_placeholder_path(const char *rundir, const char *service, char *buf, size_t len)
{
	int n;

	if (!rundir || !service || !*service)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s.remote-fd", rundir, service);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Service side ----------------------------------------------------------- */

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

	err = sock_path(rundir, service, &sa);
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

int vos_local_accept_fd(int sock, struct vos_local_conn *conn)
{
	int err, fds[3];
	socklen_t len = sizeof(conn->cred);

	memset(conn, 0, sizeof(*conn));
	conn->sock = conn->memfd = conn->to_service = conn->to_client = -1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &conn->cred, &len) < 0) {
		err = -errno;
		vos_sys_close(sock);
		return err;
	}
	/* A client that connects and never speaks must not stall the daemon. */
	set_timeouts(sock, ACCEPT_TIMEOUT_MS);
	err = recv_with_fds(sock, &conn->hello, sizeof(conn->hello), fds, 3);
	if (!err && !hello_ok(&conn->hello)) {
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
	set_timeouts(sock, 0);
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
	return send_with_fds(sock, conn, sizeof(*conn), fds, 4);
}

int vos_local_conn_recv(int sock, struct vos_local_conn *conn)
{
	struct vos_local_conn tmp;
	int fds[4], err;

	err = recv_with_fds(sock, &tmp, sizeof(tmp), fds, 4);
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
	err = map_fd(l, (size_t)st.st_size);
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
	set_service_side(l);
	*out = &l->x;
	return 0;
}

void vos_local_release(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);

	if (!l)
		return;
	if (l->x.mem && l->x.mem != MAP_FAILED)
		munmap(l->x.mem, l->x.size);
	free(l);
}
