/*
 * xen_jobs.h - the client's xenstore jobs of the Xen transport, done directly
 * with libxenstore (xen/jobs.c).  Two callers: the client itself when it may
 * use xenstore (root in dom0; xen/jobs_via.c), and vos-xsbroker, which runs
 * them for clients that may not (xen_broker.h).  Keeping one implementation
 * means both ways write exactly the same nodes.
 *
 * A job is described by a struct vos_xsb_req, the broker's request, and
 * answered in a struct vos_xsb_reply, whichever way it runs.
 *
 * Every job takes an open handle (xen/xs.h: vos_xs_connect) and returns 0 or
 * -errno unless said.  domid is the service (backend) domain, devid the
 * channel.
 */
#ifndef VOS_XEN_JOBS_H
#define VOS_XEN_JOBS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <xenstore.h>
#include "transport_xen.h"
#include "xen_broker.h"

/* Who a client is, as the one who writes its frontend knows it: the
 * process itself (direct) or the kernel (the broker: SO_PEERCRED and
 * /proc/<pid>/status). */
struct vos_xen_ident {
	struct ucred cred;              /* pid, effective uid and gid */
	uint32_t ngids;
	uint32_t gids[VOS_XEN_MAX_GIDS];
};

/* The domid of the newest domain called `name` (not dom0); -ENOENT. */
int vos_xen_job_lookup(struct xs_handle *xs, const char *name, uint32_t *domid);
/* Write the frontend and backend nodes of c->devid for domain c->self_domid
 * in one transaction: refs, port, kind/umask/token from c, and c->cred,
 * c->gids as the client's identity.  -EEXIST: a frontend with that devid
 * exists (pick another). */
int vos_xen_job_publish(struct xs_handle *xs, const struct vos_xen_conn *c);
/* The backend's answer so far: 1 done (token filled), 0 keep waiting, or
 * -errno (the service's status, -ECONNREFUSED, -EPROTO).  *accepted becomes
 * true once the service has taken the frontend. */
int vos_xen_job_answer(struct xs_handle *xs, uint32_t domid, uint64_t devid,
		       bool *accepted, uint8_t token[VOS_TOKEN_LEN]);
/* 1 while the backend is Connected and the domain exists; 0 on a definite
 * "no" (a failing xenstore counts as alive). */
int vos_xen_job_alive(struct xs_handle *xs, uint32_t domid, uint64_t devid);
/* Remove the frontend and backend dirs (absent ones are fine). */
int vos_xen_job_remove(struct xs_handle *xs, uint32_t domid, uint64_t devid);
/* 0 if the frontend of devid says pid `pid` and backend-id `domid`;
 * -EPIPE (no frontend), -ESRCH (another pid), -EPROTO (another domain). */
int vos_xen_job_owner(struct xs_handle *xs, uint32_t domid, uint64_t devid, pid_t pid);

/* What a PUBLISH request r (checked) and the client's identity say about
 * the channel: the conn whose nodes vos_xen_job_publish writes.  The
 * direct path and the broker both publish through this, so the nodes are
 * the same whoever writes them. */
void vos_xen_conn_fill(struct vos_xen_conn *c, const struct vos_xsb_req *r,
		       const struct vos_xen_ident *id);
/* Run the job r->op (r checked, or built by the client itself) for the
 * client `id` and fill rep: result, and domid (LOOKUP), accepted and token
 * (ANSWER; the token only with result 1).  OWNER asks for id->cred.pid;
 * PUBLISH writes id as the client's identity.  No ownership check: that is
 * the broker's (a direct client only touches its own channels). */
void vos_xen_job_run(struct xs_handle *xs, const struct vos_xsb_req *r,
		     const struct vos_xen_ident *id, struct vos_xsb_reply *rep);

#endif
