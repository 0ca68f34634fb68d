/*
 * xen_jobs.h - the client's xenstore jobs of the Xen transport, done directly
 * with libxenstore (transport_xen.c).  Two callers: transport_xen.c itself
 * when the client may use xenstore (root in dom0), and vos-xsbroker, which
 * runs them for clients that may not (xen_broker.h).  Keeping one
 * implementation means both ways write exactly the same nodes.
 *
 * Every job takes an open handle and returns 0 or -errno unless said.
 * domid is the service (backend) domain, devid the channel.
 */
#ifndef VOS_XEN_JOBS_H
#define VOS_XEN_JOBS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xenstore.h>
#include "transport_xen.h"

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

#endif
