/*
 * jobs_via.h - the client runs its xenstore jobs (xen_jobs.h) through here:
 * directly when it may use xenstore (root), else through vos-xsbroker
 * (jobs_via.c says how it chooses).
 */
#ifndef VOS_XEN_JOBS_VIA_H
#define VOS_XEN_JOBS_VIA_H

#include <stdbool.h>
#include <stddef.h>
#include "xs.h"
#include "../xen_broker.h"

/* A series of jobs: over one xenstore connection (direct), or one broker
 * connection per job. */
struct xen_jobs {
	struct xs_handle *xs;   /* direct: open from xen_jobs_open to xen_jobs_close */
	bool broker;
};

/* Choose the way and, if direct, connect.  0 or -errno (then nothing to close,
 * but xen_jobs_close is harmless). */
int xen_jobs_open(struct xen_jobs *s);
/* What xen_jobs_open will need, loaded now: libxenstore on the direct path
 * (nothing through the broker).  0 or -errno. */
int xen_jobs_prepare(void);
void xen_jobs_close(struct xen_jobs *s);
/* Run the job r (len bytes: PUBLISH carries its refs).  The job's result
 * (>= 0; rep filled), or -errno: the job's or the way's (no broker,
 * -ETIMEDOUT, ...). */
int xen_job(struct xen_jobs *s, const struct vos_xsb_req *r, size_t len,
	    struct vos_xsb_reply *rep);
/* Open, run one job, close. */
int xen_job_once(const struct vos_xsb_req *r, size_t len, struct vos_xsb_reply *rep);

#endif
