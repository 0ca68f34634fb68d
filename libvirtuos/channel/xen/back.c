/*
 * back.c - the Xen transport's service side, in the service domain (see
 * transport_xen.h): watch the backend dir for new frontends, check and
 * accept them, answer, map the client's grants (gntdev) and bind its event
 * channel; close a service-side transport.  vos-serviced only: never linked
 * into libvirtuos.so.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>
#include "xport.h"

#define MAX_CANDIDATES  64

int vos_xen_present(void)
{
	return access(DEV_EVTCHN, F_OK) == 0 &&
	       (access("/dev/xen/xenbus", F_OK) == 0 ||
		access("/run/xenstored/socket", F_OK) == 0 ||
		access("/var/run/xenstored/socket", F_OK) == 0);
}

/* Our own domid: the toolstack writes it into every domain's home, and a
 * relative path is read from there. */
static int self_domid(struct xs_handle *xs, uint32_t *out)
{
	unsigned len = 0;
	uint64_t v;
	int err;
	char *s = vos_xs.read(xs, XBT_NULL, "domid", &len);

	if (!s) {
		vos_xen_dbg("read domid: %s", strerror(errno));
		return errno ? -errno : -ENOENT;
	}
	err = strlen(s) == len ? vos_xs_parse_u64(s, DOMID_FIRST_RESERVED - 1, &v) : -EPROTO;
	free(s);
	if (err)
		return err;
	*out = (uint32_t)v;
	return 0;
}

/* ---------------------------------------------------------------- close */

/* Mark the backend Closed, or remove it when the client is gone (nobody
 * else would).  Never re-creates a dir the client removed. */
static int close_backend_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct xen_xport *t = arg;
	int st = vos_xs_state(xs, txn, t->bpath);

	if (st == -ENOENT)
		return 0;
	if (t->front && !load_u8(&t->front->client_live))
		return vos_xs.rm(xs, txn, t->bpath) || errno == ENOENT ? 0 : -errno;
	return vos_xs_put(xs, txn, t->bpath, "state", "%d", VOS_XEN_CLOSED);
}

static void gntdev_unmap(struct xen_xport *t)
{
	void *maps[3] = { t->front, t->back, t->x.mem };
	uint32_t counts[3] = { 1, 1, (uint32_t)(t->x.size / PAGE) };

	for (int i = 0; i < 3; i++) {
		struct ioctl_gntdev_unmap_grant_ref op = { .index = t->gntdev_idx[i], .count = counts[i] };

		if (!maps[i])
			continue;
		munmap(maps[i], (size_t)counts[i] * PAGE);
		(void)sys_ioctl(t->gnt_fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &op);
	}
	t->x.mem = NULL;
	t->back = NULL;
	t->front = NULL;
}

static void back_close(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t)
		return;
	if (t->owner != getpid()) {
		xen_drop_in_child(t);
		return;
	}
	/* Tell the peer first: a sleeping peer wakes and sees our live byte at 0. */
	if (t->back)
		store_u8(&t->back->service_live, 0);
	if (t->port_bound)
		(void)xen_evtchn_notify(t->evtchn_fd, t->port);
	if (t->xs && t->bpath[0])
		(void)vos_xs_txn(t->xs, close_backend_body, t);
	if (t->gnt_fd >= 0)
		gntdev_unmap(t);
	xen_close_tail(t);
}

static const struct vos_xport_ops back_ops = {
	.name = "xen",
	.notify = xen_notify,
	.wait = xen_wait,
	.peer_alive = xen_peer_alive,
	.close = back_close,
};


/*
 * A shadow serves its client with the client's ids (vos-serviced's creds.c),
 * so in a shadow of a non-root client the effective uid is not 0 when it
 * attaches or answers, and the storage domain's /dev/xen/{gntdev,evtchn,
 * xenbus} are root's.  The daemon keeps saved uid 0 in its shadows, so these
 * opens run with effective uid 0 for the duration of the open(s) only, and
 * only in the calling thread: the raw setresuid system call changes the
 * calling thread alone (glibc's wrapper would change every thread, and other
 * workers may be serving requests meanwhile).  Only descriptors come out of
 * it; what they may do is decided by Xen (grants, ports, xenstore
 * permissions of this domain), not by the uid.
 */
struct svc_priv {
	uid_t euid;
	bool raised;
};

static void svc_raise(struct svc_priv *p)
{
	uid_t r, e, s;

	p->raised = false;
	if (syscall(SYS_getresuid, &r, &e, &s) == 0 && e != 0 && s == 0 &&
	    syscall(SYS_setresuid, (uid_t)-1, (uid_t)0, (uid_t)-1) == 0) {
		p->euid = e;
		p->raised = true;
	}
}

static void svc_lower(struct svc_priv *p)
{
	/* Cannot fail from euid 0; if it ever did, serving as root must not go on. */
	if (p->raised && syscall(SYS_setresuid, (uid_t)-1, p->euid, (uid_t)-1) != 0)
		abort();
}

static int svc_open_dev(const char *path)
{
	struct svc_priv p;
	int fd;

	svc_raise(&p);
	fd = open_dev(path);
	svc_lower(&p);
	return fd;
}

static struct xs_handle *svc_xs_connect(int *err)
{
	struct svc_priv p;
	struct xs_handle *xs;

	svc_raise(&p);
	xs = vos_xs_connect(err);
	svc_lower(&p);
	return xs;
}


struct vos_xen_listener {
	struct xs_handle *xs;
	pid_t owner;
	uint32_t self;
	int fd;
	char watch[VOS_XS_PATH_LEN];           /* .../backend/vos */
	char base[VOS_XS_PATH_LEN];            /* .../backend/vos/0: one dir per devid */
	uint64_t cand[MAX_CANDIDATES];  /* devids named by watch events */
	unsigned ncand;
	bool rescan;                    /* list the whole dir on the next accept */
};

int vos_xen_listen(const char *service, struct vos_xen_listener **out)
{
	struct vos_xen_listener *l;
	char home[VOS_XS_PATH_LEN];
	char *name;
	int err;

	if (!vos_xs_name_ok(service))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->owner = getpid();
	l->fd = -1;
	l->rescan = true;
	l->xs = vos_xs_connect(&err);
	if (!l->xs)
		goto fail;
	err = self_domid(l->xs, &l->self);
	if (err)
		goto fail;
	snprintf(home, sizeof(home), "/local/domain/%" PRIu32, l->self);
	name = vos_xs_get(l->xs, XBT_NULL, home, "name", &err);
	if (!name)
		goto fail;
	err = strcmp(name, service) == 0 ? 0 : -ENOENT;
	free(name);
	if (err)
		goto fail;
	snprintf(l->watch, sizeof(l->watch), "/local/domain/%" PRIu32 "/backend/vos", l->self);
	snprintf(l->base, sizeof(l->base), "/local/domain/%" PRIu32 "/backend/vos/%u",
		 l->self, VOS_XEN_PRIMARY_DOMID);
	if (!vos_xs.watch(l->xs, l->watch, "vos-listen")) {
		err = errno ? -errno : -EIO;
		vos_xen_dbg("watch %s: %s", l->watch, strerror(errno));
		goto fail;
	}
	l->fd = vos_xs.fileno(l->xs);
	if (l->fd < 0) {
		err = -EIO;
		goto fail;
	}
	*out = l;
	return 0;
fail:
	vos_xen_listener_close(l);
	return err;
}

int vos_xen_listener_fd(const struct vos_xen_listener *l)
{
	return l ? l->fd : -EBADF;
}

void vos_xen_listener_close(struct vos_xen_listener *l)
{
	if (!l)
		return;
	vos_xs_drop(l->xs, l->owner);
	free(l);
}

static void add_candidate(struct vos_xen_listener *l, uint64_t devid)
{
	for (unsigned i = 0; i < l->ncand; i++)
		if (l->cand[i] == devid)
			return;
	if (l->ncand == MAX_CANDIDATES)
		l->rescan = true;
	else
		l->cand[l->ncand++] = devid;
}

/* Turn pending watch events into candidate devids (or a full rescan). */
static void drain_events(struct vos_xen_listener *l)
{
	size_t blen = strlen(l->base);
	char **ev;

	while ((ev = vos_xs.check_watch(l->xs)) != NULL) {
		const char *p = ev[XS_WATCH_PATH];
		char num[24];
		uint64_t devid;
		size_t len;

		if (strncmp(p, l->base, blen) == 0 && p[blen] == '/') {
			p += blen + 1;
			len = strcspn(p, "/");
			if (len < sizeof(num)) {
				memcpy(num, p, len);
				num[len] = '\0';
				if (!vos_xs_parse_u64(num, UINT64_MAX, &devid))
					add_candidate(l, devid);
			}
		} else {
			l->rescan = true;       /* the initial event, or a parent changed */
		}
		free(ev);
	}
}

static char *read_node(struct xs_handle *xs, const char *dir, const char *node, int *err)
{
	char *v = vos_xs_get(xs, XBT_NULL, dir, node, err);

	if (!v && *err == -ENOENT) {
		vos_xen_dbg("frontend node %s/%s missing", dir, node);
		*err = -EPROTO;         /* a required node is missing */
	}
	return v;
}

static int read_num(struct xs_handle *xs, const char *dir, const char *node,
		    uint64_t max, uint64_t *out)
{
	int err = vos_xs_get_u64(xs, XBT_NULL, dir, node, max, out);

	if (err)
		vos_xen_dbg("frontend node %s/%s: %s", dir, node, strerror(-err));
	return err == -ENOENT ? -EPROTO : err;
}

/*
 * Read and check one frontend; conn is filled on success.  Every read is a
 * round trip to xenstored in dom0 (slow from a DomU under TCG), so only what
 * carries information is read: the frontend dir follows from the devid, and
 * its state is Initialised whenever our backend is Initialising (the client
 * writes both in one transaction).
 */
static int read_frontend(struct vos_xen_listener *l, uint64_t devid, struct vos_xen_conn *c)
{
	char fdir[VOS_XS_PATH_LEN], node[24];
	uint64_t v, n;
	char *s;
	int err;

	memset(c, 0, sizeof(*c));
	c->self_domid = l->self;
	c->front_domid = VOS_XEN_PRIMARY_DOMID;
	c->devid = devid;
	vos_xs_frontend_path(fdir, devid);

	err = read_num(l->xs, fdir, "backend-id", DOMID_FIRST_RESERVED - 1, &v);
	if (!err && v != l->self)
		err = -EPROTO;
	if (!err)
		err = read_num(l->xs, fdir, "version", UINT32_MAX, &v);
	if (!err && v != VOS_PROTO_VERSION)
		err = -EPROTONOSUPPORT;
	if (err)
		return err;

	if ((err = read_num(l->xs, fdir, "front-ref", UINT32_MAX, &v)))
		return err;
	c->front_ref = (uint32_t)v;
	if ((err = read_num(l->xs, fdir, "back-ref", UINT32_MAX, &v)))
		return err;
	c->back_ref = (uint32_t)v;
	if ((err = read_num(l->xs, fdir, "event-channel", UINT32_MAX, &v)))
		return err;
	c->port = (uint32_t)v;
	if ((err = read_num(l->xs, fdir, "nr-pages", VOS_XEN_MAX_PAGES, &n)))
		return err;
	if (n == 0)
		return -EPROTO;
	c->nr_pages = (uint32_t)n;
	for (uint32_t chunk = 0; chunk * VOS_XEN_REFS_PER_NODE < n; chunk++) {
		uint32_t first = chunk * VOS_XEN_REFS_PER_NODE;
		uint32_t want = (uint32_t)n - first < VOS_XEN_REFS_PER_NODE ?
				(uint32_t)n - first : VOS_XEN_REFS_PER_NODE;

		snprintf(node, sizeof(node), "ring-ref%" PRIu32, chunk);
		s = read_node(l->xs, fdir, node, &err);
		if (!s)
			return err;
		err = vos_xs_parse_list(s, c->refs + first, (int)want, want, UINT32_MAX);
		free(s);
		if (err < 0)
			return err;
	}

	if ((err = read_num(l->xs, fdir, "kind", VOS_HELLO_FORK_LIVE, &v)))
		return err;
	if (v < VOS_HELLO_NEW)
		return -EPROTO;
	c->hello.magic = VOS_HELLO_MAGIC;
	c->hello.version = VOS_PROTO_VERSION;
	c->hello.kind = (uint32_t)v;
	if ((err = read_num(l->xs, fdir, "umask", 0777, &v)))
		return err;
	c->hello.umask = (uint32_t)v;
	s = read_node(l->xs, fdir, "token", &err);
	if (!s)
		return err;
	err = vos_xs_parse_token(s, c->hello.token);
	free(s);
	if (err)
		return err;

	if ((err = read_num(l->xs, fdir, "pid", INT_MAX, &v)))
		return err;
	c->cred.pid = (pid_t)v;
	if ((err = read_num(l->xs, fdir, "uid", UINT32_MAX - 1, &v)))
		return err;
	c->cred.uid = (uid_t)v;
	if ((err = read_num(l->xs, fdir, "gid", UINT32_MAX - 1, &v)))
		return err;
	c->cred.gid = (gid_t)v;
	s = read_node(l->xs, fdir, "gids", &err);
	if (!s)
		return err;
	err = vos_xs_parse_list(s, c->gids, -1, VOS_XEN_MAX_GIDS, UINT32_MAX - 1);
	free(s);
	if (err < 0)
		return err;
	c->ngids = (uint32_t)err;
	return 0;
}

struct backend_write {
	const char *bdir;
	int state;                      /* 0: leave */
	int status;
	bool with_status;
	const uint8_t *token;           /* NULL: leave */
};

/* Write into an existing backend dir only (never re-create a removed one). */
static int backend_write_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct backend_write *w = arg;
	char tok[2 * VOS_TOKEN_LEN + 1];
	int st = vos_xs_state(xs, txn, w->bdir);
	int err = 0;

	if (st == -ENOENT)
		return -EPIPE;
	if (w->token) {
		vos_xs_format_token(w->token, tok);
		err = vos_xs_put_raw(xs, txn, w->bdir, "token", tok);
	}
	if (!err && w->with_status)
		err = vos_xs_put(xs, txn, w->bdir, "status", "%d", w->status);
	if (!err && w->state)
		err = vos_xs_put(xs, txn, w->bdir, "state", "%d", w->state);
	return err;
}

/* Try one devid: 1 accepted, 0 not a new frontend, < 0 rejected (answered). */
static int try_accept(struct vos_xen_listener *l, uint64_t devid, struct vos_xen_conn *conn)
{
	struct backend_write w = { 0 };
	char bdir[VOS_XS_PATH_LEN];
	int st, err;

	vos_xs_backend_path(bdir, l->self, devid);
	st = vos_xs_state(l->xs, XBT_NULL, bdir);
	if (st != VOS_XEN_INITIALISING)
		return 0;
	w.bdir = bdir;
	err = read_frontend(l, devid, conn);
	if (err) {
		vos_xen_dbg("frontend %" PRIu64 " rejected: %s", devid, strerror(-err));
		w.state = VOS_XEN_CLOSED;
		w.status = err;
		w.with_status = true;
		(void)vos_xs_txn(l->xs, backend_write_body, &w);
		return err;
	}
	w.state = VOS_XEN_INITWAIT;
	err = vos_xs_txn(l->xs, backend_write_body, &w);
	if (err)
		return err == -EPIPE ? 0 : err;  /* the client gave up meanwhile */
	return 1;
}

int vos_xen_accept(struct vos_xen_listener *l, struct vos_xen_conn *conn)
{
	int r;

	if (!l || !conn)
		return -EINVAL;
	drain_events(l);
	/* A rejected frontend (r < 0) has been answered already: go on. */
	while (l->ncand > 0) {
		uint64_t devid = l->cand[--l->ncand];

		r = try_accept(l, devid, conn);
		if (r > 0)
			return 0;
	}
	if (l->rescan) {
		unsigned n = 0;
		char **ids;

		l->rescan = false;
		ids = vos_xs.directory(l->xs, XBT_NULL, l->base, &n);
		if (!ids)
			return errno == ENOENT ? -EAGAIN : (errno ? -errno : -EIO);
		for (unsigned i = 0; i < n; i++) {
			uint64_t devid;

			if (vos_xs_parse_u64(ids[i], UINT64_MAX, &devid))
				continue;
			r = try_accept(l, devid, conn);
			if (r > 0) {
				l->rescan = true;       /* more may follow */
				free(ids);
				return 0;
			}
		}
		free(ids);
	}
	return -EAGAIN;
}

int vos_xen_reply(const struct vos_xen_conn *conn, const struct vos_hello_reply *reply)
{
	struct backend_write w = { 0 };
	struct xs_handle *xs;
	char bdir[VOS_XS_PATH_LEN];
	int err;

	if (!conn || !reply || reply->status > 0 || reply->status < -4095)
		return -EINVAL;
	vos_xs_backend_path(bdir, conn->self_domid, conn->devid);
	w.bdir = bdir;
	w.status = reply->status;
	w.with_status = true;
	if (reply->status)
		w.state = VOS_XEN_CLOSED;
	else
		w.token = reply->token;
	xs = svc_xs_connect(&err);
	if (!xs)
		return err;
	err = vos_xs_txn(xs, backend_write_body, &w);
	vos_xs.close(xs);
	return err;
}

/* Map `count` grants of domid; returns the address, gntdev offset in *idx. */
static void *gntdev_map(int fd, uint32_t domid, const uint32_t *refs, uint32_t count,
			int prot, uint64_t *idx, int *err)
{
	size_t sz = sizeof(struct ioctl_gntdev_map_grant_ref) +
		    (size_t)count * sizeof(struct ioctl_gntdev_grant_ref);
	struct ioctl_gntdev_map_grant_ref *op = calloc(1, sz);
	struct ioctl_gntdev_unmap_grant_ref un;
	void *m;

	if (!op) {
		*err = -ENOMEM;
		return NULL;
	}
	op->count = count;
	for (uint32_t i = 0; i < count; i++) {
		op->refs[i].domid = domid;
		op->refs[i].ref = refs[i];
	}
	*err = (int)sys_ioctl(fd, IOCTL_GNTDEV_MAP_GRANT_REF, op);
	if (*err) {
		free(op);
		return NULL;
	}
	*idx = op->index;
	free(op);
	m = mmap(NULL, (size_t)count * PAGE, prot, MAP_SHARED, fd, (off_t)*idx);
	if (m == MAP_FAILED) {
		*err = -errno;
		un.index = *idx;
		un.count = count;
		un.pad = 0;
		(void)sys_ioctl(fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &un);
		return NULL;
	}
	/* A shadow forks for its client's children: they must not inherit it. */
	madvise(m, (size_t)count * PAGE, MADV_DONTFORK);
	return m;
}

int vos_xen_attach(const struct vos_xen_conn *conn, size_t max_size, struct vos_xport **out)
{
	struct ioctl_evtchn_bind_interdomain bind;
	struct ioctl_gntdev_unmap_notify nt;
	struct backend_write w = { 0 };
	struct xen_xport *t;
	long r;
	int err;

	if (!conn || conn->nr_pages == 0 || conn->nr_pages > VOS_XEN_MAX_PAGES ||
	    conn->front_domid != VOS_XEN_PRIMARY_DOMID)
		return -EINVAL;
	if ((uint64_t)conn->nr_pages * PAGE > max_size)
		return -EINVAL;
	t = xen_new(XEN_SERVICE, &back_ops);
	if (!t)
		return -ENOMEM;
	t->peer_domid = conn->front_domid;
	t->devid = conn->devid;
	vos_xs_backend_path(t->bpath, conn->self_domid, conn->devid);

	t->gnt_fd = svc_open_dev(DEV_GNTDEV);
	if (t->gnt_fd < 0) {
		err = t->gnt_fd;
		t->gnt_fd = -1;
		goto fail;
	}
	t->front = gntdev_map(t->gnt_fd, conn->front_domid, &conn->front_ref, 1, PROT_READ,
			      &t->gntdev_idx[0], &err);
	if (!t->front)
		goto fail;
	struct front_page f = *t->front;
	if (f.magic != FRONT_MAGIC || f.version != VOS_PROTO_VERSION || f.devid != conn->devid ||
	    f.nr_pages != conn->nr_pages || f.backend_domid != conn->self_domid ||
	    f.port != conn->port) {
		vos_xen_dbg("front page of %" PRIu64 " does not match its frontend (devid %" PRIu64
		    " pages %u dom %u port %u)", conn->devid, f.devid, f.nr_pages,
		    f.backend_domid, f.port);
		err = -EPROTO;
		goto fail;
	}

	t->evtchn_fd = svc_open_dev(DEV_EVTCHN);
	if (t->evtchn_fd < 0) {
		err = t->evtchn_fd;
		t->evtchn_fd = -1;
		goto fail;
	}
	bind.remote_domain = conn->front_domid;
	bind.remote_port = conn->port;
	r = sys_ioctl(t->evtchn_fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
	if (r < 0) {
		err = (int)r;
		goto fail;
	}
	t->port = (uint32_t)r;
	t->port_bound = true;

	t->back = gntdev_map(t->gnt_fd, conn->front_domid, &conn->back_ref, 1,
			     PROT_READ | PROT_WRITE, &t->gntdev_idx[1], &err);
	if (!t->back)
		goto fail;
	nt.index = t->gntdev_idx[1] + SERVICE_LIVE_OFF;
	nt.action = UNMAP_NOTIFY_CLEAR_BYTE | UNMAP_NOTIFY_SEND_EVENT;
	nt.event_channel_port = t->port;
	err = (int)sys_ioctl(t->gnt_fd, IOCTL_GNTDEV_SET_UNMAP_NOTIFY, &nt);
	if (err)
		goto fail;
	t->x.mem = gntdev_map(t->gnt_fd, conn->front_domid, conn->refs, conn->nr_pages,
			      PROT_READ | PROT_WRITE, &t->gntdev_idx[2], &err);
	if (!t->x.mem)
		goto fail;
	t->x.size = (size_t)conn->nr_pages * PAGE;
	store_u8(&t->back->service_live, 1);

	t->xs = svc_xs_connect(&err);
	if (!t->xs)
		goto fail;
	w.bdir = t->bpath;
	w.state = VOS_XEN_CONNECTED;
	err = vos_xs_txn(t->xs, backend_write_body, &w);
	if (err)
		goto fail;
	*out = &t->x;
	return 0;
fail:
	t->bpath[0] = '\0';     /* a failed attach leaves the backend to reply() */
	back_close(&t->x);
	return err;
}
