/*
 * peer.c - a client's connection, whichever transport brought it: the one
 * place where the daemon and the shadows tell local clients (Unix socket,
 * memfd, eventfds) from Xen clients (a frontend in dom0's xenstore, grants,
 * an event channel).  Everything else handles a struct vos_peer.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serviced.h"

const struct vos_hello *vos_peer_hello(const struct vos_peer *p)
{
	return p->xen ? &p->x.hello : &p->local.hello;
}

const struct ucred *vos_peer_cred(const struct vos_peer *p)
{
	return p->xen ? &p->x.cred : &p->local.cred;
}

int vos_peer_reply(struct vos_peer *p, const struct vos_hello_reply *rep)
{
	if (p->xen)
		return vos_xen_reply(&p->x, rep);
	/* After attach the transport owns the socket; a copy still names it. */
	return vos_local_reply(p->attached ? &p->answer : &p->local, rep);
}

void vos_peer_refuse(struct vos_peer *p, int status)
{
	struct vos_hello_reply rep = { .status = status };
	(void)vos_peer_reply(p, &rep);
}

int vos_peer_attach(struct vos_peer *p, size_t max_size, struct vos_xport **out)
{
	if (p->xen)
		return vos_xen_attach(&p->x, max_size, out);
	struct vos_local_conn copy = p->local;
	int err = vos_local_attach(&p->local, max_size, out);
	if (!err) {
		p->answer = copy;
		p->attached = 1;
	}
	return err;
}

int vos_peer_hangup_fd(const struct vos_peer *p)
{
	if (p->xen)
		return -1;      /* death comes through the channel (unmap notify) */
	return p->attached ? p->answer.sock : p->local.sock;
}

int vos_peer_fds(const struct vos_peer *p, int fds[4])
{
	if (p->xen)
		return 0;       /* attach opens its own handles */
	fds[0] = p->local.sock;
	fds[1] = p->local.memfd;
	fds[2] = p->local.to_service;
	fds[3] = p->local.to_client;
	return 4;
}

void vos_peer_close(struct vos_peer *p)
{
	if (!p->xen)
		vos_local_conn_close(&p->local);
}

void vos_peer_release_xport(const struct vos_peer *p, struct vos_xport *xp)
{
	if (!xp)
		return;
	if (p->xen)
		xp->ops->close(xp);     /* in a fork child: drops only our references */
	else
		vos_local_release(xp);  /* unmap; the caller closes the fds */
}

/*
 * Daemon -> shadow handoff.  A local connection travels as its fds
 * (vos_local_conn_send); a Xen one is plain values, sent as one message of
 * exactly sizeof(struct vos_xen_conn) bytes, which is how the receiver tells
 * them apart.
 */
int vos_peer_send(int sock, const struct vos_peer *p)
{
	if (!p->xen)
		return vos_local_conn_send(sock, &p->local);
	ssize_t n = send(sock, &p->x, sizeof p->x, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof p->x ? 0 : -EMSGSIZE;
}

int vos_peer_recv(int sock, struct vos_peer *p)
{
	char c;
	ssize_t len = recv(sock, &c, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	memset(p, 0, sizeof *p);
	if (len == 0)
		return -ECONNRESET;
	if (len < 0)
		return -errno;
	if ((size_t)len != sizeof p->x) {
		p->local.sock = p->local.memfd = p->local.to_service = p->local.to_client = -1;
		return vos_local_conn_recv(sock, &p->local);
	}
	ssize_t n = recv(sock, &p->x, sizeof p->x, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof p->x || p->x.nr_pages == 0 || p->x.nr_pages > VOS_XEN_MAX_PAGES ||
	    p->x.ngids > VOS_XEN_MAX_GIDS)
		return -EPROTO;
	p->xen = 1;
	return 0;
}
