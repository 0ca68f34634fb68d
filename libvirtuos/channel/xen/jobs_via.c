/*
 * jobs_via.c - one client xenstore job (xen_jobs.h), done directly or
 * through vos-xsbroker: the only place that chooses.
 *
 * A process in dom0 may use xenstore itself only as root.  Everyone else asks
 * vos-xsbroker (xen_broker.h), which runs the same jobs after checking who
 * the caller is.  Root goes direct: it does not depend on the broker running
 * (a real Xen host, the Xen tests) and saves a hop per job.
 * VOS_XEN_BROKER=1 forces the broker (tests), =0 forces direct.
 *
 * Either way a job is a struct vos_xsb_req and its answer a struct
 * vos_xsb_reply; who the client is, the broker finds out from the kernel,
 * the direct path from the process itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xport.h"
#include "jobs_via.h"
#include "../xen_jobs.h"

static bool via_broker(void)
{
	const char *e = getenv("VOS_XEN_BROKER");

	if (e && e[0])
		return strcmp(e, "0") != 0;
	return geteuid() != 0;
}

int xen_jobs_prepare(void)
{
	return via_broker() ? 0 : vos_xs_load();
}

int xen_jobs_open(struct xen_jobs *s)
{
	int err = 0;

	s->xs = NULL;
	s->broker = via_broker();
	if (!s->broker)
		s->xs = vos_xs_connect(&err);
	return err;
}

void xen_jobs_close(struct xen_jobs *s)
{
	/* The client keeps no xenstore connection between calls (transport_xen.h). */
	if (s->xs)
		vos_xs.close(s->xs);
	s->xs = NULL;
}

/* The direct path's identity: what this process is. */
static int self_ident(struct vos_xen_ident *id, bool groups)
{
	gid_t g[VOS_XEN_MAX_GIDS];
	int ng;

	id->cred.pid = getpid();
	id->cred.uid = geteuid();
	id->cred.gid = getegid();
	id->ngids = 0;
	if (!groups)
		return 0;
	ng = getgroups(VOS_XEN_MAX_GIDS, g);
	if (ng < 0)
		return errno == EINVAL ? -E2BIG : -errno;
	for (int i = 0; i < ng; i++)
		id->gids[i] = (uint32_t)g[i];
	id->ngids = (uint32_t)ng;
	return 0;
}

int xen_job(struct xen_jobs *s, const struct vos_xsb_req *r, size_t len,
	    struct vos_xsb_reply *rep)
{
	struct vos_xen_ident id;
	int err;

	memset(rep, 0, sizeof(*rep));
	if (s->broker) {
		err = vos_xsb_call(NULL, r, len, rep);
		if (err < 0)
			vos_xen_dbg("broker op %" PRIu32 ": %s", r->op, strerror(-err));
		return err;
	}
	if (!s->xs)
		return -ENOTCONN;
	err = self_ident(&id, r->op == VOS_XSB_PUBLISH);
	if (err)
		return err;
	vos_xen_job_run(s->xs, r, &id, rep);
	return rep->result;
}

int xen_job_once(const struct vos_xsb_req *r, size_t len, struct vos_xsb_reply *rep)
{
	struct xen_jobs s;
	int err = xen_jobs_open(&s);

	if (!err)
		err = xen_job(&s, r, len, rep);
	xen_jobs_close(&s);
	return err;
}
