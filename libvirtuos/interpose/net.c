/*
 * net.c - sockets of the routed families (vos.conf's route-family: AF_INET
 * and AF_INET6 to the network service) and every call on them.
 *
 * socket(AF_INET, ...) becomes a remote fd of the family's service: a
 * placeholder number (as for a routed open) whose socket lives in the
 * shadow, in the service's TCP/IP stack.  Calls on it go to the service
 * (vos_ops.def, the network role); read/write/readv/writev on a socket are
 * recv/send (io.c hands them here).  close, dup, fcntl, fstat, fork and
 * exec are those of any remote fd (fdops.c, fork.c, exec.c): the
 * connection closes with the last reference, a forked child shares it.
 * AF_UNIX, netlink, packet and unrouted families stay local (the kernel's).
 *
 * Messages.  The network channel's slots hold VOS_NET_SLOT_SIZE bytes
 * (service.c), so a datagram (at most 64 KiB) travels whole, with its
 * address and control messages: message boundaries are kept.  A stream
 * send or receive larger than a slot is made in slot-sized parts (a short
 * transfer stops it, as natively; MSG_WAITALL goes on until all came).  A
 * datagram larger than a slot is EMSGSIZE (the kernel's answer for one
 * larger than 64 KiB anyway).
 *
 * Blocking.  accept, connect, send and recv are made interruptible
 * (rpc.c, vos_slot_call_intr): a signal with a handler cancels the call in
 * the service, the handler runs, and the call fails with EINTR or starts
 * again under SA_RESTART.  The service grows its workers while calls wait.
 *
 * SIGPIPE.  The service sends with MSG_NOSIGNAL; on EPIPE the calling
 * thread gets SIGPIPE here, unless the caller gave MSG_NOSIGNAL (write()
 * and writev() raise it too, as on a native socket).
 *
 * The program's memory is read and written with uaccess.c's copies
 * (EFAULT, never SIGSEGV); everything the service answers is checked
 * (lengths against what was asked, the new fd against the placeholder).
 *
 * Not as natively (README): control messages up to NET_CTL_MAX bytes,
 * socket option values up to NET_OPT_MAX bytes (EINVAL beyond); options
 * that carry a pointer or an fd are refused by the service (ENOPROTOOPT);
 * SCM_RIGHTS of a remote fd over a local AF_UNIX socket is EBADF (see
 * vos_net_scm_check); an accept in flight while another thread forks
 * leaves the child a placeholder it does not know (the child's shadow may
 * hold the connection until the child ends).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "common/vos_opdef.h"
#include "dispatch/dispatch.h"

#define R8(x)           (((size_t)(x) + 7) & ~(size_t)7)
#define ADDR_MAX        ((socklen_t)sizeof(struct sockaddr_storage))
#define NET_CTL_MAX     4096    /* control messages per call (the service's limit) */
#define NET_OPT_MAX     256     /* a socket option's value (the service's limit) */
#define RECV_HDR        16      /* RECVMSG's header before the data */
#define IOV_STACK       64      /* iovecs copied on the stack; more are malloc'ed */

/* ---- which fds ------------------------------------------------------------- */

/*
 * fd as a socket of a network service: 1 (*c, *gen set), 0 a local fd (the
 * kernel's), or -errno: a remote fd of a dead channel (EIO), a remote file
 * (ENOTSOCK, as a socket call on a file natively).
 */
static int net_fd(int fd, struct vos_client **c, uint32_t *gen)
{
	int svc, r = vos_fd_remote(fd, c, &svc);

	if (r <= 0)
		return r < 0 ? -errno : 0;
	if (vos_services[svc].kind != VOS_SVC_NETWORK)
		return -ENOTSOCK;
	if (gen)
		*gen = VOS_FDE_GEN(vos_fd_entry(fd));
	return 1;
}

/* ---- the program's iovecs --------------------------------------------------- */

/* A copy of the program's iovec array (EFAULT, EMSGSIZE past IOV_MAX as
 * sendmsg/recvmsg say; readv/writev say EINVAL, the caller maps). */
struct uiov {
	struct iovec *v;
	struct iovec stack[IOV_STACK];
	int cnt;
	size_t total;
};

static int uiov_get(struct uiov *u, const struct iovec *iov, long cnt)
{
	u->v = u->stack;
	u->cnt = 0;
	u->total = 0;
	if (cnt < 0 || cnt > IOV_MAX)
		return -EMSGSIZE;
	if (cnt > IOV_STACK && !(u->v = malloc((size_t)cnt * sizeof *iov)))
		return -ENOMEM;
	if (cnt && vos_copy_from_user(u->v, iov, (size_t)cnt * sizeof *iov) < 0)
		return -EFAULT;
	u->cnt = (int)cnt;
	for (int i = 0; i < u->cnt; i++) {
		if (u->v[i].iov_len > (size_t)SSIZE_MAX - u->total)
			return -EINVAL;
		u->total += u->v[i].iov_len;
	}
	return 0;
}

static void uiov_put(struct uiov *u)
{
	if (u->v != u->stack)
		free(u->v);
}

/* Copy n bytes between the iovecs, starting skip bytes in, and buf. */
static int uiov_copy(const struct uiov *u, size_t skip, uint8_t *buf, size_t n, int to_user)
{
	for (int i = 0; i < u->cnt && n > 0; i++) {
		size_t len = u->v[i].iov_len, k;
		uint8_t *base = u->v[i].iov_base;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		k = len - skip < n ? len - skip : n;
		if (to_user ? vos_copy_to_user(base + skip, buf, k)
			    : vos_copy_from_user(buf, base + skip, k))
			return -EFAULT;
		buf += k;
		n -= k;
		skip = 0;
	}
	return 0;
}

/* ---- one call ----------------------------------------------------------------- */

/* The call in s, interruptible; the result checked against max.  *restart:
 * interrupted and to be made again (SA_RESTART). */
static int64_t net_submit(struct vos_slot *s, const struct vos_req *r, int64_t max, int *restart)
{
	int intr = 0;
	int64_t res = vos_slot_call_intr(s, r, &intr);

	if (!vos_op_result_ok(r->op, res, max))
		res = -EIO;
	*restart = res == -EINTR && intr == 1;
	return res;
}

/* A call without data in or out but its arguments (not interruptible). */
static long net_simple(int fd, uint16_t op, int64_t a1, int64_t a2)
{
	struct vos_client *c;
	int r = net_fd(fd, &c, NULL);

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	return (long)vos_rpc0(c, op, fd, a1, a2, 0, 0);
}

/* The kernel's SIGPIPE for a send on a connection closed for writing. */
static void raise_sigpipe(void)
{
	long a[6] = { 0 };
	long pid = vos_dispatch_raw(SYS_getpid, a), tid = vos_dispatch_raw(SYS_gettid, a);
	long k[6] = { pid, tid, SIGPIPE };

	vos_dispatch_raw(SYS_tgkill, k);
}

/* ---- socket, accept ---------------------------------------------------------- */

/* A fresh placeholder number for a socket of service svc.  Held fd lock. */
static int placeholder(int svc, int cloexec)
{
	int ph = real_open(vos_services[svc].placeholder, O_PATH | (cloexec ? O_CLOEXEC : 0));

	if (ph < 0)
		return (errno == EMFILE || errno == ENFILE || errno == ENOMEM) ? -errno : -EIO;
	if (ph >= VOS_FD_LIMIT) {
		real_close(ph);
		return -EMFILE;
	}
	return ph;
}

long vos_net_socket(long a[6])
{
	int svc = vos_family_service((int)a[0]);
	struct vos_conn *conn;
	int64_t res;
	int ph;

	if (svc < 0) {
		long r = vos_dispatch_raw(SYS_socket, a);

		return r >= 0 ? vos_fd_fresh((int)r) : r;
	}
	for (int tries = 0;; tries++) {
		/* Not there (down, or never started): the network is down. */
		conn = vos_service_connect(svc);
		if (!conn)
			return -ENETDOWN;
		vos_fdlock_rd();
		ph = placeholder(svc, (a[1] & SOCK_CLOEXEC) != 0);
		if (ph < 0) {
			vos_fdlock_unlock();
			return ph;
		}
		res = vos_rpc0(conn->client, VOS_OP_SOCKET, (int)a[0], (int)a[1], (int)a[2], ph, 0);
		if (res == ph)
			break;
		/* Another number is a broken service: never act on it. */
		real_close(ph);
		vos_fdlock_unlock();
		/* A channel found dead by this call (the service was restarted
		 * since we last used it): its shadow is gone, so no socket was
		 * made; once more on a new channel. */
		if (res == -EIO && !vos_conn_usable(conn) && tries == 0)
			continue;
		return res < 0 ? (long)res : -EIO;
	}
	vos_fd_set(ph, VOS_FDE_REMOTE(svc, conn->gen));
	vos_fdlock_unlock();
	return ph;
}

/* The program's address length behind addrlen (NULL addr: none). */
static int get_addrlen(const void *addr, const socklen_t *addrlen, socklen_t *cap)
{
	int len;

	*cap = 0;
	if (!addr)
		return 0;
	if (vos_copy_from_user(&len, addrlen, sizeof len) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	*cap = (socklen_t)len < ADDR_MAX ? (socklen_t)len : ADDR_MAX;
	return 0;
}

/* An address of len bytes (the service's) to the program: at most cap
 * bytes of it, and its whole length in *addrlen. */
static int put_addr(void *addr, socklen_t *addrlen, const void *src, socklen_t len, socklen_t cap)
{
	if (!addr)
		return 0;
	if (vos_copy_to_user(addr, src, len < cap ? len : cap) < 0 ||
	    vos_copy_to_user(addrlen, &len, sizeof len) < 0)
		return -EFAULT;
	return 0;
}

static long net_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	struct vos_client *c;
	uint32_t gen = 0;
	socklen_t cap;
	int svc, r = net_fd(fd, &c, &gen), ph, restart;
	int64_t res;

	if (r < 0)
		return r;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	r = get_addrlen(addr, addrlen, &cap);
	if (r < 0)
		return r;
	svc = (int)VOS_FDE_SVC(vos_fd_entry(fd));
	/* The number first, under the fd lock; not held while the accept
	 * waits (a fork in another thread would wait for it). */
	vos_fdlock_rd();
	ph = placeholder(svc, (flags & SOCK_CLOEXEC) != 0);
	vos_fdlock_unlock();
	if (ph < 0)
		return ph;
	do {
		struct vos_req q = { .op = VOS_OP_ACCEPT4, .arg = { fd, flags, ph, cap } };
		struct vos_slot *s;
		uint32_t hdr[2];

		res = vos_call_begin(c, &s);
		if (res < 0)
			break;
		res = net_submit(s, &q, INT64_MAX, &restart);
		if (res == ph) {
			memcpy(hdr, vos_slot_buf(s), sizeof hdr);
			if (hdr[0] > ADDR_MAX) {
				res = -EIO;     /* the socket stays in the shadow until exit */
			} else {
				vos_fdlock_rd();
				vos_fd_set(ph, VOS_FDE_REMOTE(svc, gen));
				vos_fdlock_unlock();
				if (put_addr(addr, addrlen, (uint8_t *)vos_slot_buf(s) + 8,
					     hdr[0], cap) < 0) {
					/* natively the connection is lost too */
					vos_call_end(s);
					vos_remote_close(ph);
					return -EFAULT;
				}
			}
		} else if (res >= 0) {
			res = -EIO;     /* another number: never act on it */
		}
		vos_call_end(s);
	} while (restart);
	if (res != ph)
		real_close(ph);
	return (long)res;
}

/* accept and accept4: a local listener is the kernel's (and the new number
 * has no remote past). */
static long accept_call(long nr, long a[6], int flags)
{
	long r;

	if (VOS_FDE_KIND(vos_fd_entry((int)a[0])) == VOS_FDK_REMOTE)
		return net_accept((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], flags);
	r = vos_dispatch_raw(nr, a);
	return r >= 0 ? vos_fd_fresh((int)r) : r;
}

static long net_accept_call(long a[6])
{
	return accept_call(SYS_accept, a, 0);
}

static long net_accept4_call(long a[6])
{
	return accept_call(SYS_accept4, a, (int)a[3]);
}

/* ---- addresses, state ------------------------------------------------------------ */

/* BIND, CONNECT: the address copied into the slot. */
static long addr_call(int fd, uint16_t op, const void *addr, long len)
{
	struct vos_client *c;
	int r = net_fd(fd, &c, NULL), restart;
	int64_t res;

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if (len < 0 || len > ADDR_MAX)
		return -EINVAL;
	do {
		struct vos_req q = { .op = op, .arg = { fd, len, 0 } };
		struct vos_slot *s;

		res = vos_call_begin(c, &s);
		if (res < 0)
			break;
		if (vos_copy_from_user(vos_slot_buf(s), addr, (size_t)len) < 0) {
			vos_call_end(s);
			return -EFAULT;
		}
		if (op == VOS_OP_CONNECT) {
			res = net_submit(s, &q, 0, &restart);
		} else {
			res = vos_slot_call(s, &q);
			if (!vos_op_result_ok(op, res, 0))
				res = -EIO;
			restart = 0;
		}
		vos_call_end(s);
	} while (restart);
	return (long)res;
}

static long net_bind(long a[6])
{
	return addr_call((int)a[0], VOS_OP_BIND, (const void *)a[1], a[2]);
}

static long net_connect(long a[6])
{
	return addr_call((int)a[0], VOS_OP_CONNECT, (const void *)a[1], a[2]);
}

static long net_listen(long a[6])
{
	return net_simple((int)a[0], VOS_OP_LISTEN, (int)a[1], 0);
}

static long net_shutdown(long a[6])
{
	return net_simple((int)a[0], VOS_OP_SHUTDOWN, (int)a[1], 0);
}

static long name_call(long a[6], int peer)
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL);
	struct sockaddr_storage ss;
	struct vos_req q = { .op = VOS_OP_GETSOCKNAME, .arg = { fd, peer } };
	socklen_t cap;
	int64_t res;

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if (!a[1])
		return -EFAULT;
	r = get_addrlen((void *)a[1], (socklen_t *)a[2], &cap);
	if (r < 0)
		return r;
	res = vos_rpc(c, &q, NULL, 0, &ss, sizeof ss, 0);
	if (res < 0)
		return (long)res;
	return put_addr((void *)a[1], (socklen_t *)a[2], &ss, (socklen_t)res, cap);
}

static long net_getsockname(long a[6])
{
	return name_call(a, 0);
}

static long net_getpeername(long a[6])
{
	return name_call(a, 1);
}

static long net_getsockopt(long a[6])
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL), len;
	uint8_t val[NET_OPT_MAX];
	int64_t res;

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if (vos_copy_from_user(&len, (void *)a[4], sizeof len) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (len > NET_OPT_MAX)
		len = NET_OPT_MAX;
	struct vos_req q = { .op = VOS_OP_GETSOCKOPT, .arg = { fd, (int)a[1], (int)a[2], len } };
	res = vos_rpc(c, &q, NULL, 0, val, (size_t)len, 0);
	if (res < 0)
		return (long)res;
	len = (int)res;
	if (vos_copy_to_user((void *)a[3], val, (size_t)len) < 0 ||
	    vos_copy_to_user((void *)a[4], &len, sizeof len) < 0)
		return -EFAULT;
	return 0;
}

static long net_setsockopt(long a[6])
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL);

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if ((int)a[4] < 0 || (int)a[4] > NET_OPT_MAX)
		return -EINVAL;
	struct vos_req q = { .op = VOS_OP_SETSOCKOPT, .arg = { fd, (int)a[1], (int)a[2], (int)a[4] } };
	struct vos_in in = { 4, (const void *)a[3], (size_t)(int)a[4] };
	return (long)vos_rpc(c, &q, &in, (int)a[4] ? 1 : 0, NULL, 0, 0);
}

/* ---- messages ------------------------------------------------------------------- */

/* What a send or a receive carries besides the data. */
struct xmsg {
	void *addr;                     /* name (send: in; receive: out, or NULL) */
	socklen_t addrlen;              /* send: its length; receive: the room */
	void *ctl;                      /* control messages */
	size_t ctllen;                  /* send: their length; receive: the room */
	int flags;                      /* MSG_* */
	/* receive: what came */
	socklen_t got_addrlen;
	size_t got_ctllen;
	int got_flags;
};

/*
 * Send the iovecs (u) with m on fd: slot-sized parts for a stream (the
 * service refuses a message it would split: EMSGSIZE), stopping at a short
 * one.  The bytes sent, or -errno (an error after some bytes: the bytes).
 */
static long net_send(struct vos_client *c, int fd, const struct uiov *u, const struct xmsg *m)
{
	size_t room = vos_client_slot_size(c), sent = 0;
	int restart;

	if (m->addrlen > ADDR_MAX)
		return -EINVAL;
	if (m->ctllen > NET_CTL_MAX)
		return -ENOBUFS;
	room = (room - R8(m->addrlen) - R8(m->ctllen)) & ~(size_t)7;
	do {
		size_t want = u->total - sent < room ? u->total - sent : room;
		int first = sent == 0;
		struct vos_req q = { .op = VOS_OP_SENDMSG,
				     .arg = { fd, m->flags, (int64_t)want,
					      first ? m->addrlen : 0, first ? (int64_t)m->ctllen : 0,
					      (int64_t)(u->total - sent) } };
		struct vos_slot *s;
		int64_t res;
		uint8_t *buf;

		res = vos_call_begin(c, &s);
		if (res < 0)
			return sent ? (long)sent : (long)res;
		buf = vos_slot_buf(s);
		if (uiov_copy(u, sent, buf, want, 0) < 0 ||
		    (first && m->addrlen && vos_copy_from_user(buf + R8(want), m->addr, m->addrlen) < 0) ||
		    (first && m->ctllen && vos_copy_from_user(buf + R8(want) + R8(m->addrlen),
							      m->ctl, m->ctllen) < 0)) {
			vos_call_end(s);
			return sent ? (long)sent : -EFAULT;
		}
		res = net_submit(s, &q, (int64_t)want, &restart);
		vos_call_end(s);
		if (restart)
			continue;
		if (res < 0) {
			if (res == -EPIPE && !(m->flags & MSG_NOSIGNAL))
				raise_sigpipe();
			return sent ? (long)sent : (long)res;
		}
		sent += (size_t)res;
		if ((size_t)res < want)
			break;
	} while (sent < u->total);
	return (long)sent;
}

/*
 * Receive into the iovecs (u): one slot at most (a datagram is whole in
 * it), more parts only for MSG_WAITALL on a stream.  The length (with
 * MSG_TRUNC the datagram's real one), or -errno.
 */
static long net_recv(struct vos_client *c, int fd, const struct uiov *u, struct xmsg *m)
{
	size_t room = vos_client_slot_size(c), got = 0;
	int restart;

	if (m->addrlen > ADDR_MAX)
		m->addrlen = ADDR_MAX;
	if (m->ctllen > NET_CTL_MAX)
		m->ctllen = NET_CTL_MAX;
	room = (room - RECV_HDR - R8(m->addrlen) - m->ctllen) & ~(size_t)7;
	m->got_addrlen = 0;
	m->got_ctllen = 0;
	m->got_flags = 0;
	do {
		size_t want = u->total - got < room ? u->total - got : room;
		int first = got == 0;
		struct vos_req q = { .op = VOS_OP_RECVMSG,
				     .arg = { fd, m->flags & ~MSG_CMSG_CLOEXEC, (int64_t)want,
					      first ? m->addrlen : 0, first ? (int64_t)m->ctllen : 0 } };
		struct vos_slot *s;
		uint32_t hdr[4];
		uint8_t *buf;
		int64_t res;

		res = vos_call_begin(c, &s);
		if (res < 0)
			return got ? (long)got : (long)res;
		res = net_submit(s, &q, (m->flags & MSG_TRUNC) ? INT32_MAX : (int64_t)want, &restart);
		buf = vos_slot_buf(s);
		if (res >= 0) {
			size_t data = (size_t)res < want ? (size_t)res : want;

			memcpy(hdr, buf, sizeof hdr);
			if (hdr[0] > ADDR_MAX)
				res = -EIO;
			else if (hdr[1] > (first ? m->ctllen : 0))
				res = -EIO;
			else if (uiov_copy(u, got, buf + RECV_HDR, data, 1) < 0)
				res = -EFAULT;
			else if (first && m->addr &&
				 vos_copy_to_user(m->addr, buf + RECV_HDR + R8(want),
						  hdr[0] < m->addrlen ? hdr[0] : m->addrlen) < 0)
				res = -EFAULT;
			else if (first && hdr[1] &&
				 vos_copy_to_user(m->ctl, buf + RECV_HDR + R8(want) + R8(m->addrlen),
						  hdr[1]) < 0)
				res = -EFAULT;
			if (res >= 0 && first) {
				m->got_addrlen = hdr[0];
				m->got_ctllen = hdr[1];
				m->got_flags = (int)hdr[2];
			}
		}
		vos_call_end(s);
		if (restart)
			continue;
		if (res < 0)
			return got ? (long)got : (long)res;
		if (!(m->flags & MSG_WAITALL) || (size_t)res < want || (m->got_flags & MSG_TRUNC))
			return (long)(got + (size_t)res);
		got += (size_t)res;
	} while (got < u->total);
	return (long)got;
}

static long net_sendto(long a[6])
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL);
	struct iovec v = { (void *)a[1], (size_t)a[2] };
	struct uiov u = { .v = &v, .cnt = 1, .total = (size_t)a[2] };
	struct xmsg m = { .addr = (void *)a[4], .addrlen = a[4] ? (socklen_t)a[5] : 0,
			  .flags = (int)a[3] };

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if (a[4] && (int)a[5] < 0)
		return -EINVAL;
	if ((ssize_t)a[2] < 0)
		return -EFAULT;
	return net_send(c, fd, &u, &m);
}

static long net_recvfrom(long a[6])
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL);
	struct iovec v = { (void *)a[1], (size_t)a[2] };
	struct uiov u = { .v = &v, .cnt = 1, .total = (size_t)a[2] };
	struct xmsg m = { .addr = (void *)a[4], .flags = (int)a[3] };
	socklen_t cap;
	long n;

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	r = get_addrlen(m.addr, (socklen_t *)a[5], &cap);
	if (r < 0)
		return r;
	if ((ssize_t)a[2] < 0)
		return -EFAULT;
	m.addrlen = cap;
	n = net_recv(c, fd, &u, &m);
	if (n >= 0 && m.addr && vos_copy_to_user((void *)a[5], &m.got_addrlen, sizeof(socklen_t)) < 0)
		return -EFAULT;
	return n;
}

/* sendmsg/recvmsg on one struct msghdr of the program. */
static long msg_call(struct vos_client *c, int fd, struct msghdr *um, int flags, int sending)
{
	struct msghdr h;
	struct uiov u;
	struct xmsg m;
	long n;
	int r;

	if (vos_copy_from_user(&h, um, sizeof h) < 0)
		return -EFAULT;
	r = uiov_get(&u, h.msg_iov, (long)h.msg_iovlen);
	if (r < 0) {
		uiov_put(&u);
		return r;
	}
	m = (struct xmsg){ .addr = h.msg_name, .addrlen = h.msg_name ? h.msg_namelen : 0,
			   .ctl = h.msg_control, .ctllen = h.msg_control ? h.msg_controllen : 0,
			   .flags = flags };
	if (sending) {
		n = net_send(c, fd, &u, &m);
	} else {
		n = net_recv(c, fd, &u, &m);
		if (n >= 0) {
			h.msg_namelen = h.msg_name ? m.got_addrlen : 0;
			h.msg_controllen = m.got_ctllen;
			h.msg_flags = m.got_flags;
			if (vos_copy_to_user(um, &h, sizeof h) < 0)
				n = -EFAULT;
		}
	}
	uiov_put(&u);
	return n;
}

static long net_sendmsg(long a[6])
{
	struct vos_client *c;
	int r = net_fd((int)a[0], &c, NULL);

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	return msg_call(c, (int)a[0], (struct msghdr *)a[1], (int)a[2], 1);
}

static long net_recvmsg(long a[6])
{
	struct vos_client *c;
	int r = net_fd((int)a[0], &c, NULL);

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	return msg_call(c, (int)a[0], (struct msghdr *)a[1], (int)a[2], 0);
}

/*
 * sendmmsg/recvmmsg: one message after the other; the count of messages
 * done, or the first one's error.  recvmmsg's timeout is checked only
 * between messages (as the kernel does) and MSG_WAITFORONE makes the
 * later ones non-blocking.
 */
static long mmsg_call(long a[6], int sending)
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL), flags = (int)a[3];
	struct mmsghdr *vec = (struct mmsghdr *)a[1];
	unsigned n = (unsigned)a[2], done = 0;

	if (r <= 0)
		return r ? r : -ENOTSOCK;
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (; done < n; done++) {
		long k = msg_call(c, fd, &vec[done].msg_hdr, flags & ~MSG_WAITFORONE, sending);
		unsigned len = (unsigned)k;

		if (k < 0)
			return done ? (long)done : k;
		if (vos_copy_to_user(&vec[done].msg_len, &len, sizeof len) < 0)
			return done ? (long)done : -EFAULT;
		if (!sending && (flags & MSG_WAITFORONE))
			flags |= MSG_DONTWAIT;
	}
	return (long)done;
}

static long net_sendmmsg(long a[6])
{
	return mmsg_call(a, 1);
}

static long net_recvmmsg(long a[6])
{
	return mmsg_call(a, 0);
}

/* read/readv/write/writev on a socket of a network service (io.c): recv
 * and send without flags (so a write raises SIGPIPE, as natively). */
long vos_net_rw(struct vos_client *c, int fd, const struct iovec *iov, int cnt, int writing)
{
	struct uiov u;
	struct xmsg m = { 0 };
	long n;
	int r = uiov_get(&u, iov, cnt);

	if (r < 0) {
		uiov_put(&u);
		return r == -EMSGSIZE ? -EINVAL : r;
	}
	n = writing ? net_send(c, fd, &u, &m) : net_recv(c, fd, &u, &m);
	uiov_put(&u);
	return n;
}

/* ---- ioctl ------------------------------------------------------------------------ */

/* SIOCGIFCONF: the interface records of the service's stack.  A NULL
 * buffer asks for the length they need, as natively. */
static long ifconf(struct vos_client *c, int fd, struct ifconf *uifc)
{
	struct ifconf ifc;
	size_t room = vos_client_slot_size(c);
	struct vos_req q = { .op = VOS_OP_SOCKIOCTL, .arg = { fd, SIOCGIFCONF } };
	struct vos_slot *s;
	int64_t res;

	if (vos_copy_from_user(&ifc, uifc, sizeof ifc) < 0)
		return -EFAULT;
	if (ifc.ifc_len < 0)
		return -EINVAL;
	q.arg[2] = ifc.ifc_buf ? ((size_t)ifc.ifc_len < room ? ifc.ifc_len : (int)room) : (int)room;
	res = vos_call_begin(c, &s);
	if (res < 0)
		return (long)res;
	res = vos_slot_call(s, &q);
	if (!vos_op_result_ok(q.op, res, q.arg[2]))
		res = -EIO;
	if (res >= 0 && ifc.ifc_buf && vos_copy_to_user(ifc.ifc_buf, vos_slot_buf(s), (size_t)res) < 0)
		res = -EFAULT;
	vos_call_end(s);
	if (res < 0)
		return (long)res;
	ifc.ifc_len = (int)res;
	return vos_copy_to_user(uifc, &ifc, sizeof ifc) < 0 ? -EFAULT : 0;
}

static long net_ioctl(long a[6])
{
	struct vos_client *c;
	int fd = (int)a[0], r = net_fd(fd, &c, NULL), v;
	unsigned long req = (unsigned long)a[1];
	int64_t res;

	if (r <= 0)
		return r ? r : -ENOTTY;
	switch (req) {
	case FIOCLEX:
	case FIONCLEX: {
		/* close-on-exec lives on the placeholder */
		long f[6] = { fd, F_SETFD, req == FIOCLEX ? FD_CLOEXEC : 0 };
		return vos_dispatch_raw(SYS_fcntl, f);
	}
	case FIONBIO:
		if (vos_copy_from_user(&v, (void *)a[2], sizeof v) < 0)
			return -EFAULT;
		return (long)vos_rpc0(c, VOS_OP_SOCKIOCTL, fd, (int64_t)req, v != 0, 0, 0);
	case FIONREAD:
	case SIOCOUTQ:
	case SIOCOUTQNSD:
	case SIOCATMARK:
		if (!vos_user_range_ok((void *)a[2], sizeof v))
			return -EFAULT;
		res = vos_rpc0(c, VOS_OP_SOCKIOCTL, fd, (int64_t)req, 0, 0, 0);
		if (res < 0)
			return (long)res;
		v = (int)res;
		return vos_copy_to_user((void *)a[2], &v, sizeof v) < 0 ? -EFAULT : 0;
	case SIOCGIFNAME:
	case SIOCGIFINDEX:
	case SIOCGIFFLAGS:
	case SIOCGIFADDR:
	case SIOCGIFDSTADDR:
	case SIOCGIFBRDADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFMTU:
	case SIOCGIFHWADDR:
	case SIOCGIFTXQLEN:
	case SIOCGIFMETRIC: {
		/* the service's interfaces (its network stack's) */
		struct vos_req q = { .op = VOS_OP_SOCKIOCTL, .arg = { fd, (int64_t)req, 0 } };
		struct vos_in in = { 3, (void *)a[2], sizeof(struct ifreq) };
		struct ifreq ifr;

		res = vos_rpc(c, &q, &in, 1, &ifr, sizeof ifr, 1);
		if (res < 0)
			return (long)res;
		return vos_copy_to_user((void *)a[2], &ifr, sizeof ifr) < 0 ? -EFAULT : 0;
	}
	case SIOCGIFCONF:
		return ifconf(c, fd, (struct ifconf *)a[2]);
	default:
		return -ENOTTY;
	}
}

/* ---- SCM_RIGHTS over local sockets ------------------------------------------------- */

/*
 * sendmsg on a local socket (AF_UNIX) whose control messages pass a remote
 * fd: the kernel would hand over the placeholder (an O_PATH fd that is not
 * the file or socket).  Refused with EBADF, what the receiver would in
 * effect get; the message is not sent.  0: nothing remote in it.
 */
long vos_net_scm_check(const struct msghdr *um)
{
	uint8_t ctl[NET_CTL_MAX];
	struct msghdr h;
	size_t off = 0;

	if (vos_copy_from_user(&h, um, sizeof h) < 0)
		return 0;       /* the kernel says EFAULT */
	if (!h.msg_control || h.msg_controllen < sizeof(struct cmsghdr))
		return 0;
	if (h.msg_controllen > sizeof ctl)
		h.msg_controllen = sizeof ctl;
	if (vos_copy_from_user(ctl, h.msg_control, h.msg_controllen) < 0)
		return 0;
	while (h.msg_controllen - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr c;

		memcpy(&c, ctl + off, sizeof c);
		if (c.cmsg_len < sizeof c || c.cmsg_len > h.msg_controllen - off)
			break;
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS) {
			size_t nfd = (c.cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, ctl + off + CMSG_LEN(0) + i * sizeof fd, sizeof fd);
				if (VOS_FDE_KIND(vos_fd_entry(fd)) != VOS_FDK_LOCAL)
					return -EBADF;
			}
		}
		off += CMSG_ALIGN(c.cmsg_len);
	}
	return 0;
}

/* ---- a network service that is gone ------------------------------------------------ */

/*
 * When the network service dies (killed, its domain destroyed) its
 * sockets die with it: the channel is dead (service.c), and every call on
 * them fails as on a connection the peer reset, never with EIO.  This
 * covers calls made afterwards and calls waiting when it died (a blocked
 * accept or recv in another thread returns at once):
 *   recv, recvfrom, recvmsg, recvmmsg, read, readv    ECONNRESET
 *   send, sendto, sendmsg, sendmmsg, write, writev    EPIPE, and SIGPIPE
 *                                                     unless MSG_NOSIGNAL
 *   connect                                           ECONNRESET
 *   accept, accept4                                   EINVAL (a listener
 *                                                     that was shut down)
 *   getsockopt(SOL_SOCKET, SO_ERROR)                  0, the value ECONNRESET
 *   bind, listen, shutdown, getsockname, getpeername,
 *   other options, ioctl                              ENOTCONN
 * close succeeds; fcntl, fstat and dup give EIO as for any remote fd of a
 * dead channel.  A new socket() after the service is back gets a new
 * channel (vos_net_socket); while it is down socket() fails with ENETDOWN.
 */

/* fd is a socket of a network service whose channel is gone. */
static int socket_gone(int fd)
{
	uint32_t e = vos_fd_entry(fd);
	struct vos_client *c;
	unsigned svc;

	if (VOS_FDE_KIND(e) != VOS_FDK_REMOTE)
		return 0;
	svc = VOS_FDE_SVC(e);
	if (svc >= (unsigned)vos_nservices || vos_services[svc].kind != VOS_SVC_NETWORK)
		return 0;
	return vos_fd_remote(fd, &c, NULL) < 0;
}

long vos_net_gone_errno(int fd, int how, long r)
{
	if (r != -EIO || !socket_gone(fd))
		return r;
	switch (how) {
	case VOS_NET_GONE_RECV:
		return -ECONNRESET;
	case VOS_NET_GONE_SEND:
		raise_sigpipe();
		return -EPIPE;
	case VOS_NET_GONE_SEND_NOSIGNAL:
		return -EPIPE;
	case VOS_NET_GONE_CONNECT:
		return -ECONNRESET;
	case VOS_NET_GONE_ACCEPT:
		return -EINVAL;
	default:
		return -ENOTCONN;
	}
}

static long gone(long a[6], long r, int how)
{
	return r == -EIO ? vos_net_gone_errno((int)a[0], how, r) : r;
}

static int send_how(int flags)
{
	return (flags & MSG_NOSIGNAL) ? VOS_NET_GONE_SEND_NOSIGNAL : VOS_NET_GONE_SEND;
}

long vos_net_accept(long a[6])
{
	return gone(a, net_accept_call(a), VOS_NET_GONE_ACCEPT);
}

long vos_net_accept4(long a[6])
{
	return gone(a, net_accept4_call(a), VOS_NET_GONE_ACCEPT);
}

long vos_net_bind(long a[6])
{
	return gone(a, net_bind(a), VOS_NET_GONE_OTHER);
}

long vos_net_connect(long a[6])
{
	return gone(a, net_connect(a), VOS_NET_GONE_CONNECT);
}

long vos_net_listen(long a[6])
{
	return gone(a, net_listen(a), VOS_NET_GONE_OTHER);
}

long vos_net_shutdown(long a[6])
{
	return gone(a, net_shutdown(a), VOS_NET_GONE_OTHER);
}

long vos_net_getsockname(long a[6])
{
	return gone(a, net_getsockname(a), VOS_NET_GONE_OTHER);
}

long vos_net_getpeername(long a[6])
{
	return gone(a, net_getpeername(a), VOS_NET_GONE_OTHER);
}

/* SO_ERROR of a socket that is gone: the reset, as natively after one. */
long vos_net_getsockopt(long a[6])
{
	long r = net_getsockopt(a);
	int err = ECONNRESET, len;

	if (r != -EIO || !socket_gone((int)a[0]))
		return r;
	if (a[1] != SOL_SOCKET || a[2] != SO_ERROR)
		return -ENOTCONN;
	if (vos_copy_from_user(&len, (void *)a[4], sizeof len) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if ((size_t)len > sizeof err)
		len = sizeof err;
	if (vos_copy_to_user((void *)a[3], &err, (size_t)len) < 0 ||
	    vos_copy_to_user((void *)a[4], &len, sizeof len) < 0)
		return -EFAULT;
	return 0;
}

long vos_net_setsockopt(long a[6])
{
	return gone(a, net_setsockopt(a), VOS_NET_GONE_OTHER);
}

long vos_net_sendto(long a[6])
{
	return gone(a, net_sendto(a), send_how((int)a[3]));
}

long vos_net_recvfrom(long a[6])
{
	return gone(a, net_recvfrom(a), VOS_NET_GONE_RECV);
}

long vos_net_sendmsg(long a[6])
{
	return gone(a, net_sendmsg(a), send_how((int)a[2]));
}

long vos_net_recvmsg(long a[6])
{
	return gone(a, net_recvmsg(a), VOS_NET_GONE_RECV);
}

long vos_net_sendmmsg(long a[6])
{
	return gone(a, net_sendmmsg(a), send_how((int)a[3]));
}

long vos_net_recvmmsg(long a[6])
{
	return gone(a, net_recvmmsg(a), VOS_NET_GONE_RECV);
}

long vos_net_ioctl(long a[6])
{
	return gone(a, net_ioctl(a), VOS_NET_GONE_OTHER);
}
