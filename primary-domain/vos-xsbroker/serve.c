/*
 * serve.c - one broker request (xen_broker.h): the caller's identity comes
 * from the kernel (SO_PEERCRED, /proc/<pid>/status), never from the message;
 * the message is checked strictly before anything touches xenstore; a
 * channel is touched only by the process that published it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "channel/xen_broker.h"
#include "channel/xen_jobs.h"
#include "xsbroker.h"

#define STATUS_MAX 16384        /* /proc/<pid>/status is ~1.5 KiB */

/* The supplementary groups of pid, whose effective ids must still be the ones
 * the kernel gave for the connection (a pid reused by another user's
 * process, or a caller that changed its ids since, fails with -ESRCH). */
static int peer_groups(const struct ucred *cr, uint32_t *gids, unsigned max)
{
	char path[64], *text;
	ssize_t n, got = 0;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)cr->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	text = malloc(STATUS_MAX);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (got < STATUS_MAX - 1 && (n = read(fd, text + got, (size_t)(STATUS_MAX - 1 - got))) > 0)
		got += n;
	close(fd);
	text[got] = '\0';
	err = vos_xsb_parse_status(text, cr->uid, cr->gid, gids, max);
	free(text);
	return err;
}

static int do_publish(struct xs_handle *xs, const struct vos_xsb_req *r, const struct ucred *cr)
{
	struct vos_xen_conn *c = calloc(1, sizeof(*c));
	int n, err;

	if (!c)
		return -ENOMEM;
	n = peer_groups(cr, c->gids, VOS_XEN_MAX_GIDS);
	if (n < 0) {
		free(c);
		return n;
	}
	c->ngids = (uint32_t)n;
	c->cred = *cr;
	c->self_domid = r->domid;
	c->front_domid = VOS_XEN_PRIMARY_DOMID;
	c->devid = r->devid;
	c->front_ref = r->front_ref;
	c->back_ref = r->back_ref;
	c->port = r->port;
	c->nr_pages = r->nr_pages;
	memcpy(c->refs, r->refs, (size_t)r->nr_pages * sizeof(uint32_t));
	c->hello.magic = VOS_HELLO_MAGIC;
	c->hello.version = VOS_PROTO_VERSION;
	c->hello.kind = r->kind;
	c->hello.umask = r->umask;
	memcpy(c->hello.token, r->token, VOS_TOKEN_LEN);
	err = vos_xen_job_publish(xs, c);
	free(c);
	return err;
}

/* Run a checked request; fills rep->result and the op's fields. */
static void run(struct xs_handle *xs, const struct vos_xsb_req *r, const struct ucred *cr,
		struct vos_xsb_reply *rep)
{
	bool accepted = false;
	int own;

	switch (r->op) {
	case VOS_XSB_LOOKUP: {
		char name[VOS_XSB_NAME_FIELD];

		memcpy(name, r->name, sizeof(name));    /* NUL-terminated: checked */
		rep->result = vos_xen_job_lookup(xs, name, &rep->domid);
		return;
	}
	case VOS_XSB_PUBLISH:
		rep->result = do_publish(xs, r, cr);
		return;
	}
	/* Everything else acts on an existing channel: it must be the caller's. */
	own = vos_xen_job_owner(xs, r->domid, r->devid, cr->pid);
	switch (r->op) {
	case VOS_XSB_OWNER:
		rep->result = own;
		break;
	case VOS_XSB_REMOVE:
		/* No frontend: remove what is left in the caller's devid range. */
		rep->result = own == 0 || own == -EPIPE ?
			      vos_xen_job_remove(xs, r->domid, r->devid) : own;
		break;
	case VOS_XSB_ANSWER:
		if (own) {
			rep->result = own;
			break;
		}
		rep->result = vos_xen_job_answer(xs, r->domid, r->devid, &accepted, rep->token);
		rep->accepted = accepted;
		if (rep->result != 1)
			memset(rep->token, 0, sizeof(rep->token));
		break;
	case VOS_XSB_ALIVE:
		/* A gone frontend is a dead channel; other errors are not answers. */
		rep->result = own == 0 ? vos_xen_job_alive(xs, r->domid, r->devid) :
			      own == -EPIPE ? 0 : own;
		break;
	}
}

void xsb_serve(struct xs_handle *xs, int fd)
{
	static struct vos_xsb_req *req;
	struct vos_xsb_reply rep = { .magic = VOS_XSB_MAGIC };
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	ssize_t n;

	if (!req && !(req = malloc(VOS_XSB_REQ_MAX)))
		return;
	/* MSG_TRUNC: n is the real length, so an oversized request is junk. */
	n = recv(fd, req, VOS_XSB_REQ_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n <= 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) || crlen != sizeof(cr))
		return;
	rep.result = (size_t)n > VOS_XSB_REQ_MAX ? -EPROTO :
		     vos_xsb_check_request(req, (size_t)n, cr.pid);
	if (rep.result) {
		fprintf(stderr, "vos-xsbroker: request of pid %d uid %u (%zd bytes) refused: %s\n",
			(int)cr.pid, (unsigned)cr.uid, n, strerror(-rep.result));
	} else {
		run(xs, req, &cr, &rep);
		if (rep.result < -4095 || rep.result > 1)      /* keep to the protocol */
			rep.result = -EIO;
	}
	(void)send(fd, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
}
