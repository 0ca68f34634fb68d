/*
 * ops_net.c - the network role's operations: AF_INET and AF_INET6 sockets
 * made and used in the shadow, for the client's socket fds
 * (libvirtuos/channel/vos_ops.def has each op's arguments and layout).
 *
 * A socket lives in the shadow's fd table like a file (SOCKET and ACCEPT4
 * install it at the client's placeholder number), so CLOSE, DUP, FORK and
 * EXEC treat it as they treat files: the connection closes with the last
 * reference, a forked shadow shares it, a shadow that ends (its client
 * died) closes it at once.  READ, WRITE, FCNTL, FSTATAT (fstat) and the
 * other fd operations of vos_ops.def's STORAGE_NETWORK rows are ops_fs.c's.
 *
 * Everything in the slot is the client's and untrusted: lengths are checked
 * against the slot and against the kernel's own limits (an address is at
 * most a sockaddr_storage, an option at most NET_OPT_MAX bytes, control
 * messages at most NET_CTL_MAX bytes, each cmsg inside them), addresses,
 * options and control messages are copied out of the slot before the
 * kernel sees them.  Control messages that carry fds or credentials
 * (SCM_RIGHTS, SCM_CREDENTIALS) and socket options that carry a pointer or
 * an fd (classic and eBPF filters, TCP_ZEROCOPY_RECEIVE) are refused: they
 * would name the shadow's memory or descriptors, not the client's.
 *
 * Blocking: ACCEPT4, CONNECT, SENDMSG and RECVMSG may wait (WAIT_IF_BLOCKING:
 * a blocking socket, no MSG_DONTWAIT), so the dispatcher counts them and
 * grows the workers; a client's signal cancels them (cancel.c: SIGURG, the
 * system call fails with EINTR).  At --max-workers (o->nowait) they are
 * made without waiting: -EAGAIN where they would wait (a connect still
 * waits: it cannot be tried).  Sends always carry MSG_NOSIGNAL: the shadow
 * ignores SIGPIPE anyway, and the client raises it itself on -EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "op.h"

#define R8(x)           (((uint64_t)(x) + 7) & ~(uint64_t)7)
#define ADDR_MAX        ((int64_t)sizeof(struct sockaddr_storage))
#define RECV_HDR        16      /* RECVMSG's header before the data */

#define SEND_FLAGS (MSG_OOB | MSG_DONTROUTE | MSG_DONTWAIT | MSG_EOR | MSG_MORE | \
		    MSG_CONFIRM | MSG_NOSIGNAL)
#define RECV_FLAGS (MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_DONTWAIT | MSG_ERRQUEUE)

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef TCP_ZEROCOPY_RECEIVE
#define TCP_ZEROCOPY_RECEIVE 35
#endif

/* A client fd number a new socket may take. */
static int newfd_ok(int64_t n)
{
	return n >= 0 && n < VOS_FDT_MAX;
}

static int64_t install(struct op *o, int64_t num, int fd, int cloexec)
{
	int err = vos_fdt_install(&o->sh->fdt, num, fd, cloexec, 1);

	if (err) {
		close(fd);
		return err;
	}
	return num;
}

/* An address of len bytes at slot offset off, copied into ss. */
static int get_addr(const struct op *o, int64_t off, int64_t len, struct sockaddr_storage *ss)
{
	if (len < 0 || len > ADDR_MAX)
		return -EINVAL;
	if (!range_ok(o, off, len))
		return -EFAULT;
	memcpy(ss, o->buf + off, (size_t)len);
	return 0;
}

/* ---- sockets ------------------------------------------------------------ */

int prep_socket(struct op *o)
{
	int domain, type, proto;

	if (!to_int(o->a[0], &domain) || !to_int(o->a[1], &type) || !to_int(o->a[2], &proto))
		return -EINVAL;
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;   /* only the routed families live here */
	if (!newfd_ok(o->a[3]))
		return -EBADF;
	o->iarg = type;
	return 0;
}

int64_t op_socket(struct op *o)
{
	int fd = socket((int)o->a[0], (o->iarg & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, (int)o->a[2]);

	if (fd < 0)
		return -errno;
	return install(o, o->a[3], fd, (o->iarg & SOCK_CLOEXEC) != 0);
}

/* BIND and CONNECT: fd, addrlen, addr@a2. */
static int64_t addr_call(struct op *o, int connecting)
{
	struct sockaddr_storage ss;
	int err = get_addr(o, o->a[2], o->a[1], &ss);

	if (err)
		return err;
	if (connecting)
		return sysret(connect(o->f->fd, (struct sockaddr *)&ss, (socklen_t)o->a[1]));
	return sysret(bind(o->f->fd, (struct sockaddr *)&ss, (socklen_t)o->a[1]));
}

int64_t op_bind(struct op *o)
{
	return addr_call(o, 0);
}

int64_t op_connect(struct op *o)
{
	return addr_call(o, 1);
}

int64_t op_listen(struct op *o)
{
	int backlog;

	if (!to_int(o->a[1], &backlog))
		return -EINVAL;
	return sysret(listen(o->f->fd, backlog));
}

int64_t op_shutdown(struct op *o)
{
	int how;

	if (!to_int(o->a[1], &how))
		return -EINVAL;
	return sysret(shutdown(o->f->fd, how));
}

int prep_accept4(struct op *o)
{
	int flags;

	if (!to_int(o->a[1], &flags) || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)))
		return -EINVAL;
	if (!newfd_ok(o->a[2]))
		return -EBADF;
	if (o->a[3] < 0 || o->a[3] > ADDR_MAX || !range_ok(o, 0, 8 + o->a[3]))
		return -EINVAL;
	o->iarg = flags;
	o->wait = 1;
	return 0;
}

int prep_connect(struct op *o)
{
	o->wait = 1;            /* a blocking socket's TCP handshake */
	return 0;
}

int64_t op_accept4(struct op *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	uint32_t hdr[2];
	int fd;

	if (o->nowait) {        /* every other worker waits: never block */
		struct pollfd p = { .fd = o->f->fd, .events = POLLIN };

		if (poll(&p, 1, 0) == 0)
			return -EAGAIN;
	}
	fd = accept4(o->f->fd, (struct sockaddr *)&ss, &len,
		     (o->iarg & SOCK_NONBLOCK) | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (len > sizeof ss)
		len = sizeof ss;
	hdr[0] = len;
	hdr[1] = 0;
	memcpy(o->buf, hdr, sizeof hdr);
	memcpy(o->buf + 8, &ss, len < (uint64_t)o->a[3] ? len : (size_t)o->a[3]);
	return install(o, o->a[2], fd, (o->iarg & SOCK_CLOEXEC) != 0);
}

/* ---- messages ------------------------------------------------------------- */

/* MSG_DONTWAIT given: the call does not wait, whatever the socket. */
static int prep_msg(struct op *o, int mask)
{
	int flags;

	if (!to_int(o->a[1], &flags))
		return -EINVAL;
	o->iarg = flags & mask;
	o->wait = !(flags & MSG_DONTWAIT);
	return 0;
}

int prep_sendmsg(struct op *o)
{
	const int64_t *a = o->a;

	if (a[2] < 0 || a[3] < 0 || a[3] > ADDR_MAX || a[4] < 0 || a[4] > NET_CTL_MAX ||
	    a[5] < a[2] || !range_ok(o, 0, (int64_t)(R8(a[2]) + R8(a[3])) + a[4]))
		return -EINVAL;
	return prep_msg(o, SEND_FLAGS);
}

/* Control messages to send: each inside the buffer, none that names the
 * shadow's descriptors or credentials. */
static int cmsgs_ok(const uint8_t *ctl, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr h;

		memcpy(&h, ctl + off, sizeof h);
		if (h.cmsg_len < sizeof h || h.cmsg_len > len - off)
			return 0;
		if (h.cmsg_level == SOL_SOCKET &&
		    (h.cmsg_type == SCM_RIGHTS || h.cmsg_type == SCM_CREDENTIALS))
			return 0;
		off += CMSG_ALIGN(h.cmsg_len);
		if (off > len)
			break;
	}
	return 1;
}

int64_t op_sendmsg(struct op *o)
{
	const int64_t *a = o->a;
	struct sockaddr_storage ss;
	uint8_t *ctl = (uint8_t *)o->ob->path2;         /* NET_CTL_MAX bytes */
	struct iovec iov = { o->buf, (size_t)a[2] };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int flags = o->iarg | MSG_NOSIGNAL;

	if (a[5] > a[2]) {
		/* The caller's message is larger than what came: only a
		 * stream may be sent in parts. */
		int type;
		socklen_t tl = sizeof type;

		if (getsockopt(o->f->fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
			return -errno;
		if (type != SOCK_STREAM)
			return -EMSGSIZE;
	}
	if (a[3] > 0) {
		memcpy(&ss, o->buf + R8(a[2]), (size_t)a[3]);
		m.msg_name = &ss;
		m.msg_namelen = (socklen_t)a[3];
	}
	if (a[4] > 0) {
		memcpy(ctl, o->buf + R8(a[2]) + R8(a[3]), (size_t)a[4]);
		if (!cmsgs_ok(ctl, (size_t)a[4]))
			return -EINVAL;
		m.msg_control = ctl;
		m.msg_controllen = (size_t)a[4];
	}
	if (o->nowait)
		flags |= MSG_DONTWAIT;
	return sysret(sendmsg(o->f->fd, &m, flags));
}

int prep_recvmsg(struct op *o)
{
	const int64_t *a = o->a;

	if (a[2] < 0 || a[3] < 0 || a[3] > ADDR_MAX || a[4] < 0 || a[4] > NET_CTL_MAX ||
	    !range_ok(o, 0, (int64_t)(RECV_HDR + R8(a[2]) + R8(a[3])) + a[4]))
		return -EINVAL;
	return prep_msg(o, RECV_FLAGS);
}

int64_t op_recvmsg(struct op *o)
{
	const int64_t *a = o->a;
	struct sockaddr_storage ss;
	uint8_t *ctl = (uint8_t *)o->ob->path2;
	struct iovec iov = { o->buf + RECV_HDR, (size_t)a[2] };
	struct msghdr m = {
		.msg_name = &ss, .msg_namelen = sizeof ss,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = a[4] ? ctl : NULL, .msg_controllen = (size_t)a[4],
	};
	uint32_t hdr[4];
	int flags = o->iarg;
	ssize_t n;

	if (o->nowait)
		flags |= MSG_DONTWAIT;
	n = recvmsg(o->f->fd, &m, flags);
	if (n < 0)
		return -errno;
	if (m.msg_namelen > sizeof ss)
		m.msg_namelen = sizeof ss;
	if (m.msg_controllen > (size_t)a[4])
		m.msg_controllen = (size_t)a[4];
	hdr[0] = m.msg_namelen;
	hdr[1] = (uint32_t)m.msg_controllen;
	hdr[2] = (uint32_t)m.msg_flags;
	hdr[3] = 0;
	memcpy(o->buf, hdr, sizeof hdr);
	memcpy(o->buf + RECV_HDR + R8(a[2]), &ss,
	       m.msg_namelen < (uint64_t)a[3] ? m.msg_namelen : (size_t)a[3]);
	memcpy(o->buf + RECV_HDR + R8(a[2]) + R8(a[3]), ctl, m.msg_controllen);
	return n;
}

/* ---- options, names, ioctls ---------------------------------------------------- */

/* Options whose value is a pointer or an fd: they would name the
 * shadow's memory or descriptors. */
static int opt_refused(int level, int name)
{
	if (level == SOL_SOCKET)
		return name == SO_ATTACH_FILTER || name == SO_ATTACH_BPF ||
		       name == SO_ATTACH_REUSEPORT_CBPF || name == SO_ATTACH_REUSEPORT_EBPF;
	return level == IPPROTO_TCP && name == TCP_ZEROCOPY_RECEIVE;
}

int64_t op_getsockopt(struct op *o)
{
	uint8_t val[NET_OPT_MAX];
	int level, name;
	socklen_t len;

	if (!to_int(o->a[1], &level) || !to_int(o->a[2], &name) ||
	    o->a[3] < 0 || o->a[3] > NET_OPT_MAX || !range_ok(o, 0, o->a[3]))
		return -EINVAL;
	if (opt_refused(level, name))
		return -ENOPROTOOPT;
	len = (socklen_t)o->a[3];
	memset(val, 0, sizeof val);
	if (getsockopt(o->f->fd, level, name, val, &len) < 0)
		return -errno;
	if (len > (socklen_t)o->a[3])
		len = (socklen_t)o->a[3];
	memcpy(o->buf, val, len);
	return len;
}

int64_t op_setsockopt(struct op *o)
{
	uint8_t val[NET_OPT_MAX];
	int level, name;

	if (!to_int(o->a[1], &level) || !to_int(o->a[2], &name) ||
	    o->a[3] < 0 || o->a[3] > NET_OPT_MAX)
		return -EINVAL;
	if (!range_ok(o, o->a[4], o->a[3]))
		return -EFAULT;
	if (opt_refused(level, name))
		return -ENOPROTOOPT;
	memcpy(val, o->buf + o->a[4], (size_t)o->a[3]);
	return sysret(setsockopt(o->f->fd, level, name, val, (socklen_t)o->a[3]));
}

int64_t op_getsockname(struct op *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int r;

	if (o->a[1] != 0 && o->a[1] != 1)
		return -EINVAL;
	if (!range_ok(o, 0, ADDR_MAX))
		return -EINVAL;
	r = o->a[1] ? getpeername(o->f->fd, (struct sockaddr *)&ss, &len)
		    : getsockname(o->f->fd, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return -errno;
	if (len > sizeof ss)
		len = sizeof ss;
	memcpy(o->buf, &ss, len);
	return len;
}

int64_t op_sockioctl(struct op *o)
{
	int v;

	switch (o->a[1]) {
	case FIONREAD:          /* SIOCINQ */
	case SIOCOUTQ:
	case SIOCOUTQNSD:
	case SIOCATMARK:
		if (ioctl(o->f->fd, (unsigned long)o->a[1], &v) < 0)
			return -errno;
		return v < 0 ? -EIO : v;
	case FIONBIO:
		v = o->a[2] != 0;
		return sysret(ioctl(o->f->fd, FIONBIO, &v));
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
		/* the service's interfaces: a struct ifreq in and out at 0 */
		struct ifreq ifr;

		if (!range_ok(o, 0, sizeof ifr))
			return -EINVAL;
		memcpy(&ifr, o->buf, sizeof ifr);
		ifr.ifr_name[IFNAMSIZ - 1] = '\0';
		if (ioctl(o->f->fd, (unsigned long)o->a[1], &ifr) < 0)
			return -errno;
		memcpy(o->buf, &ifr, sizeof ifr);
		return 0;
	}
	case SIOCGIFCONF: {
		/* arg: the room; the records out at 0; the length they take */
		struct ifconf ifc = { .ifc_len = (int)o->a[2], .ifc_buf = (char *)o->ob->scratch };

		if (o->a[2] < 0 || o->a[2] > o->size || !range_ok(o, 0, o->a[2]))
			return -EINVAL;
		if (ioctl(o->f->fd, SIOCGIFCONF, &ifc) < 0)
			return -errno;
		if (ifc.ifc_len < 0 || ifc.ifc_len > o->a[2])
			return -EIO;
		memcpy(o->buf, ifc.ifc_buf, (size_t)ifc.ifc_len);
		return ifc.ifc_len;
	}
	default:
		return -ENOTTY;
	}
}
