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

/* Everything but LOOKUP and PUBLISH acts on an existing channel, which must
 * be the caller's.  1: run the job; 0: rep->result is the answer. */
static int may_touch(struct xs_handle *xs, const struct vos_xsb_req *r, pid_t pid,
		     struct vos_xsb_reply *rep)
{
	int own;

	if (r->op == VOS_XSB_LOOKUP || r->op == VOS_XSB_PUBLISH)
		return 1;
	own = vos_xen_job_owner(xs, r->domid, r->devid, pid);
	switch (r->op) {
	case VOS_XSB_REMOVE:
		/* No frontend: remove what is left in the caller's devid range. */
		if (own == 0 || own == -EPIPE)
			return 1;
		break;
	case VOS_XSB_ALIVE:
		/* A gone frontend is a dead channel; other errors are not answers. */
		if (own == 0)
			return 1;
		if (own == -EPIPE)
			own = 0;
		break;
	case VOS_XSB_ANSWER:
		if (own == 0)
			return 1;
		break;
	}
	rep->result = own;              /* OWNER: the answer itself */
	return 0;
}

/* Run a checked request for the caller cr; fills rep->result and the op's fields. */
static void run(struct xs_handle *xs, const struct vos_xsb_req *r, const struct ucred *cr,
		struct vos_xsb_reply *rep)
{
	struct vos_xen_ident *id;
	int n;

	if (!may_touch(xs, r, cr->pid, rep))
		return;
	id = calloc(1, sizeof(*id));
	if (!id) {
		rep->result = -ENOMEM;
		return;
	}
	id->cred = *cr;
	if (r->op == VOS_XSB_PUBLISH) {
		n = peer_groups(cr, id->gids, VOS_XEN_MAX_GIDS);
		if (n < 0) {
			rep->result = n;
			free(id);
			return;
		}
		id->ngids = (uint32_t)n;
	}
	vos_xen_job_run(xs, r, id, rep);
	free(id);
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
