/*
 * jobs.c - the client's xenstore jobs (xen_jobs.h): look up the service
 * domain, publish a channel, read the service's answer, the death check, the
 * owner check of adopt, remove.  Run by the client itself (root; jobs_via.c)
 * and by vos-xsbroker for everyone else.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <xen/xen.h>
#include "xs.h"
#include "../xen_jobs.h"

struct publish_args {
	const struct vos_xen_conn *c;
	char fpath[VOS_XS_PATH_LEN], bpath[VOS_XS_PATH_LEN];
	char gids[VOS_XEN_MAX_GIDS * 11 + 1];
};

static int put_refs(struct xs_handle *xs, xs_transaction_t txn, const struct publish_args *a)
{
	uint32_t n = a->c->nr_pages;
	char val[VOS_XEN_REFS_PER_NODE * 11 + 1];

	for (uint32_t chunk = 0; chunk * VOS_XEN_REFS_PER_NODE < n; chunk++) {
		char path[VOS_XS_PATH_LEN], node[24];
		size_t len = 0;

		for (uint32_t i = chunk * VOS_XEN_REFS_PER_NODE;
		     i < n && i < (chunk + 1) * VOS_XEN_REFS_PER_NODE; i++)
			len += (size_t)snprintf(val + len, sizeof(val) - len, "%s%" PRIu32,
						len ? "," : "", a->c->refs[i]);
		snprintf(node, sizeof(node), "ring-ref%" PRIu32, chunk);
		if (vos_xs_path_join(path, a->fpath, node))
			return -ENAMETOOLONG;
		if (!vos_xs.write(xs, txn, path, val, (unsigned)len))
			return errno ? -errno : -EIO;
	}
	return 0;
}

static int publish_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct publish_args *a = arg;
	const struct vos_xen_conn *c = a->c;
	struct xs_permissions fperm[2] = {
		{ .id = VOS_XEN_PRIMARY_DOMID, .perms = XS_PERM_NONE },
		{ .id = c->self_domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions bperm[2] = {
		{ .id = c->self_domid, .perms = XS_PERM_NONE },
		{ .id = VOS_XEN_PRIMARY_DOMID, .perms = XS_PERM_READ },
	};
	const char *f = a->fpath, *b = a->bpath;
	char tok[2 * VOS_TOKEN_LEN + 1];
	unsigned len;
	void *old;
	int err = 0;

	/* A stale dir of a dead process with the same devid: pick another. */
	old = vos_xs.read(xs, txn, f, &len);
	if (old) {
		free(old);
		return -EEXIST;
	}
	/* A backend dir left over with this devid could hold a stale answer. */
	if (!vos_xs.rm(xs, txn, b) && errno != ENOENT)
		return -errno;
	/* Dirs first, then their permissions, then the children: nodes created
	 * under a dir inherit its permissions. */
	if (!vos_xs.mkdir(xs, txn, f) || !vos_xs.set_permissions(xs, txn, f, fperm, 2) ||
	    !vos_xs.mkdir(xs, txn, b) || !vos_xs.set_permissions(xs, txn, b, bperm, 2)) {
		vos_xen_dbg("mkdir/set_permissions %s: %s", f, strerror(errno));
		return errno ? -errno : -EIO;
	}

	vos_xs_format_token(c->hello.token, tok);
	err = err ? err : vos_xs_put_raw(xs, txn, f, "backend", b);
	err = err ? err : vos_xs_put(xs, txn, f, "backend-id", "%" PRIu32, c->self_domid);
	err = err ? err : vos_xs_put(xs, txn, f, "front-ref", "%" PRIu32, c->front_ref);
	err = err ? err : vos_xs_put(xs, txn, f, "back-ref", "%" PRIu32, c->back_ref);
	err = err ? err : vos_xs_put(xs, txn, f, "nr-pages", "%" PRIu32, c->nr_pages);
	err = err ? err : put_refs(xs, txn, a);
	err = err ? err : vos_xs_put(xs, txn, f, "event-channel", "%" PRIu32, c->port);
	err = err ? err : vos_xs_put(xs, txn, f, "version", "%u", VOS_PROTO_VERSION);
	err = err ? err : vos_xs_put(xs, txn, f, "kind", "%" PRIu32, c->hello.kind);
	err = err ? err : vos_xs_put_raw(xs, txn, f, "token", tok);
	err = err ? err : vos_xs_put(xs, txn, f, "umask", "%" PRIu32, c->hello.umask & 0777);
	err = err ? err : vos_xs_put(xs, txn, f, "pid", "%d", (int)c->cred.pid);
	err = err ? err : vos_xs_put(xs, txn, f, "uid", "%u", (unsigned)c->cred.uid);
	err = err ? err : vos_xs_put(xs, txn, f, "gid", "%u", (unsigned)c->cred.gid);
	err = err ? err : vos_xs_put_raw(xs, txn, f, "gids", a->gids);
	err = err ? err : vos_xs_put(xs, txn, f, "state", "%d", VOS_XEN_INITIALISED);

	err = err ? err : vos_xs_put_raw(xs, txn, b, "frontend", f);
	err = err ? err : vos_xs_put(xs, txn, b, "frontend-id", "%u", VOS_XEN_PRIMARY_DOMID);
	err = err ? err : vos_xs_put(xs, txn, b, "state", "%d", VOS_XEN_INITIALISING);
	return err;
}

/* The domid of the (newest) domain called `name`, never dom0. */
int vos_xen_job_lookup(struct xs_handle *xs, const char *name, uint32_t *domid)
{
	unsigned n = 0;
	char **ids;
	int found = -ENOENT;

	if (!vos_xs_name_ok(name))
		return -EINVAL;
	ids = vos_xs.directory(xs, XBT_NULL, "/local/domain", &n);
	if (!ids)
		return errno ? -errno : -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		char dir[VOS_XS_PATH_LEN];
		uint64_t id;
		int err;
		char *v;

		if (vos_xs_parse_u64(ids[i], DOMID_FIRST_RESERVED - 1, &id) || id == 0)
			continue;
		snprintf(dir, sizeof(dir), "/local/domain/%" PRIu64, id);
		v = vos_xs_get(xs, XBT_NULL, dir, "name", &err);
		if (!v)
			continue;
		if (strcmp(v, name) == 0 && (found < 0 || id > *domid)) {
			*domid = (uint32_t)id;
			found = 0;
		}
		free(v);
	}
	free(ids);
	return found;
}

int vos_xen_job_publish(struct xs_handle *xs, const struct vos_xen_conn *c)
{
	struct publish_args *a;
	size_t off = 0;
	int err;

	if (!c || c->nr_pages == 0 || c->nr_pages > VOS_XEN_MAX_PAGES ||
	    c->ngids > VOS_XEN_MAX_GIDS || c->self_domid == 0 ||
	    c->self_domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->c = c;
	vos_xs_frontend_path(a->fpath, c->devid);
	vos_xs_backend_path(a->bpath, c->self_domid, c->devid);
	for (uint32_t i = 0; i < c->ngids; i++)
		off += (size_t)snprintf(a->gids + off, sizeof(a->gids) - off, "%s%" PRIu32,
					i ? "," : "", c->gids[i]);
	err = vos_xs_txn(xs, publish_body, a);
	free(a);
	return err;
}

int vos_xen_job_answer(struct xs_handle *xs, uint32_t domid, uint64_t devid,
		       bool *accepted, uint8_t token[VOS_TOKEN_LEN])
{
	char bpath[VOS_XS_PATH_LEN];
	int st, status, err;
	char *v;

	vos_xs_backend_path(bpath, domid, devid);
	st = vos_xs_state(xs, XBT_NULL, bpath);
	if (st > VOS_XEN_INITIALISING)
		*accepted = true;
	if (st == -ENOENT)
		return -ECONNREFUSED;   /* the service removed our backend */
	if (st < 0)
		return st == -EPROTO ? -EPROTO : 0;
	v = vos_xs_get(xs, XBT_NULL, bpath, "status", &err);
	if (!v) {
		if (err != -ENOENT)
			return err == -EPROTO ? -EPROTO : 0;
		return (st == VOS_XEN_CLOSING || st == VOS_XEN_CLOSED) ? -ECONNREFUSED : 0;
	}
	err = vos_xs_parse_status(v, &status);
	free(v);
	if (err)
		return err;
	if (status)
		return status;
	if (st == VOS_XEN_CLOSING || st == VOS_XEN_CLOSED)
		return -ECONNREFUSED;
	if (st != VOS_XEN_CONNECTED)
		return 0;               /* answered, not yet attached */
	v = vos_xs_get(xs, XBT_NULL, bpath, "token", &err);
	if (!v)
		return err == -ENOENT ? -EPROTO : err;
	err = vos_xs_parse_token(v, token);
	free(v);
	return err ? err : 1;
}

int vos_xen_job_alive(struct xs_handle *xs, uint32_t domid, uint64_t devid)
{
	char bpath[VOS_XS_PATH_LEN];
	int st;

	vos_xs_backend_path(bpath, domid, devid);
	st = vos_xs_state(xs, XBT_NULL, bpath);
	if (st == -ENOENT || (st >= 0 && st != VOS_XEN_CONNECTED))
		return 0;
	/* false with errno untouched means "not introduced": the domain is gone. */
	errno = 0;
	if (!vos_xs.is_domain_introduced(xs, domid) && errno == 0)
		return 0;
	return 1;
}

struct rm_args {
	char fpath[VOS_XS_PATH_LEN], bpath[VOS_XS_PATH_LEN];
};

static int rm_nodes_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct rm_args *a = arg;

	if (!vos_xs.rm(xs, txn, a->fpath) && errno != ENOENT)
		return -errno;
	if (!vos_xs.rm(xs, txn, a->bpath) && errno != ENOENT)
		return -errno;
	return 0;
}

int vos_xen_job_remove(struct xs_handle *xs, uint32_t domid, uint64_t devid)
{
	struct rm_args a;

	vos_xs_frontend_path(a.fpath, devid);
	vos_xs_backend_path(a.bpath, domid, devid);
	return vos_xs_txn(xs, rm_nodes_body, &a);
}

int vos_xen_job_owner(struct xs_handle *xs, uint32_t domid, uint64_t devid, pid_t pid)
{
	char fpath[VOS_XS_PATH_LEN];
	uint64_t v;
	int err;

	vos_xs_frontend_path(fpath, devid);
	err = vos_xs_get_u64(xs, XBT_NULL, fpath, "pid", INT_MAX, &v);
	if (!err && v != (uint64_t)pid)
		err = -ESRCH;
	if (!err)
		err = vos_xs_get_u64(xs, XBT_NULL, fpath, "backend-id", DOMID_FIRST_RESERVED - 1, &v);
	if (!err && v != domid)
		err = -EPROTO;
	return err == -ENOENT ? -EPIPE : err;
}

void vos_xen_conn_fill(struct vos_xen_conn *c, const struct vos_xsb_req *r,
		       const struct vos_xen_ident *id)
{
	uint32_t n = r->nr_pages <= VOS_XEN_MAX_PAGES ? r->nr_pages : VOS_XEN_MAX_PAGES;
	uint32_t ng = id->ngids <= VOS_XEN_MAX_GIDS ? id->ngids : VOS_XEN_MAX_GIDS;

	memset(c, 0, sizeof(*c));
	c->self_domid = r->domid;
	c->front_domid = VOS_XEN_PRIMARY_DOMID;
	c->devid = r->devid;
	c->front_ref = r->front_ref;
	c->back_ref = r->back_ref;
	c->port = r->port;
	c->nr_pages = n;
	memcpy(c->refs, r->refs, (size_t)n * sizeof(uint32_t));
	c->cred = id->cred;
	c->ngids = ng;
	memcpy(c->gids, id->gids, (size_t)ng * sizeof(uint32_t));
	c->hello.magic = VOS_HELLO_MAGIC;
	c->hello.version = VOS_PROTO_VERSION;
	c->hello.kind = r->kind;
	c->hello.umask = r->umask & 0777;
	memcpy(c->hello.token, r->token, VOS_TOKEN_LEN);
}

static int publish(struct xs_handle *xs, const struct vos_xsb_req *r,
		   const struct vos_xen_ident *id)
{
	struct vos_xen_conn *c = malloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	vos_xen_conn_fill(c, r, id);
	err = vos_xen_job_publish(xs, c);
	free(c);
	return err;
}

void vos_xen_job_run(struct xs_handle *xs, const struct vos_xsb_req *r,
		     const struct vos_xen_ident *id, struct vos_xsb_reply *rep)
{
	bool accepted = false;

	switch (r->op) {
	case VOS_XSB_LOOKUP: {
		char name[VOS_XSB_NAME_FIELD];

		memcpy(name, r->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		rep->result = vos_xen_job_lookup(xs, name, &rep->domid);
		break;
	}
	case VOS_XSB_PUBLISH:
		rep->result = publish(xs, r, id);
		break;
	case VOS_XSB_ANSWER:
		rep->result = vos_xen_job_answer(xs, r->domid, r->devid, &accepted, rep->token);
		rep->accepted = accepted;
		break;
	case VOS_XSB_ALIVE:
		rep->result = vos_xen_job_alive(xs, r->domid, r->devid);
		break;
	case VOS_XSB_REMOVE:
		rep->result = vos_xen_job_remove(xs, r->domid, r->devid);
		break;
	case VOS_XSB_OWNER:
		rep->result = vos_xen_job_owner(xs, r->domid, r->devid, id->cred.pid);
		break;
	default:
		rep->result = -EINVAL;
		break;
	}
	if (r->op != VOS_XSB_ANSWER || rep->result != 1)
		memset(rep->token, 0, sizeof(rep->token));
}
