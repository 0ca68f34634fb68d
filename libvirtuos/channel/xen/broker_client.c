/*
 * broker_client.c - one request to vos-xsbroker (xen_broker.h), and the
 * check of its reply.
 *
 * Runs inside libvirtuos.so: raw system calls only (the libc wrappers are
 * our own interposed functions), no stdio, and the socket lives only for the
 * duration of one call, close-on-exec, so that a program never sees a
 * descriptor it did not open (transport_xen.h explains why that matters).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "../vos_sys.h"
#include "../xen_broker.h"

#define DOMID_LIMIT 0x7ff0u     /* DOMID_FIRST_RESERVED: no real domain at or above */

int vos_xsb_check_reply(const struct vos_xsb_reply *rep, size_t len, uint32_t op)
{
	if (!rep || len != sizeof(*rep) || rep->magic != VOS_XSB_MAGIC ||
	    rep->result < -4095 || rep->result > 1 || rep->accepted > 1)
		return -EPROTO;
	/* Only ANSWER and ALIVE answer 1; only a done ANSWER carries a token. */
	if (rep->result == 1 && op != VOS_XSB_ANSWER && op != VOS_XSB_ALIVE)
		return -EPROTO;
	if (op == VOS_XSB_LOOKUP && rep->result == 0 &&
	    (rep->domid == 0 || rep->domid >= DOMID_LIMIT))
		return -EPROTO;
	return 0;
}


int vos_xsb_call(const char *path, const struct vos_xsb_req *req, size_t len,
		 struct vos_xsb_reply *rep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov;
	struct msghdr m;
	struct pollfd p;
	long fd, n;
	int err;

	if (!path)
		path = VOS_XSB_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path) || !req || !rep || len > VOS_XSB_REQ_MAX)
		return -EINVAL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = vos_sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	err = (int)vos_sys_connect((int)fd, &sa, sizeof(sa));
	if (err)
		goto out;

	memset(&m, 0, sizeof(m));
	iov.iov_base = (void *)req;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	n = vos_sys_sendmsg((int)fd, &m, MSG_NOSIGNAL);
	if (n != (long)len) {
		err = n < 0 ? (int)n : -EPROTO;
		goto out;
	}

	/* Bounded: a stuck broker must not hang the program forever. */
	p.fd = (int)fd;
	p.events = POLLIN;
	do
		n = vos_sys_poll(&p, 1, VOS_XSB_TIMEOUT_MS);
	while (n == -EINTR);
	if (n <= 0) {
		err = n == 0 ? -ETIMEDOUT : (int)n;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	iov.iov_base = rep;
	iov.iov_len = sizeof(*rep);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	do
		n = vos_sys_recvmsg((int)fd, &m, MSG_TRUNC);
	while (n == -EINTR);
	if (n < 0) {
		err = (int)n;
		goto out;
	}
	/* MSG_TRUNC: n is the real length, so an oversized reply fails here. */
	err = vos_xsb_check_reply(rep, (size_t)n, req->op);
	if (!err)
		err = rep->result;
out:
	vos_sys_close((int)fd);
	return err;
}
