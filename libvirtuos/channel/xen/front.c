/*
 * front.c - the Xen transport's client side, in dom0 (see transport_xen.h):
 * grant the pages (gntalloc), bind the event channel, publish the channel
 * and wait for the service's answer, adopt it again after exec, close it.
 * Linked into libvirtuos.so: raw system calls only (vos_sys.h); libxenstore
 * is reached only through the jobs (jobs_via.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntalloc.h>
#include "xport.h"
#include "jobs_via.h"
#include "../../common/vos_time.h"

#define DEVID_RETRIES   64
/* Client: see transport.h, goodbye. */
#define GOODBYE_CLOSE_MS 1000

static void *map_file(int fd, size_t len, uint64_t off, int prot, int *err)
{
	long m = vos_sys_mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	if (m < 0) {
		*err = (int)m;
		return NULL;
	}
	return (void *)m;
}

/* ------------------------------------------------------------------ jobs */

static void job_req(struct vos_xsb_req *r, uint32_t op, const struct xen_xport *t)
{
	memset(r, 0, sizeof(*r));
	r->magic = VOS_XSB_MAGIC;
	r->op = op;
	r->domid = t->peer_domid;
	r->devid = t->devid;
}

/* A job about this channel that needs nothing but its ids. */
static int job_simple(const struct xen_xport *t, uint32_t op)
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;

	job_req(&r, op, t);
	return xen_job_once(&r, sizeof(r), &rep);
}

/* The client's death check: only a definite answer counts as death. */
static int backend_alive(const struct xen_xport *t)
{
	return job_simple(t, VOS_XSB_ALIVE) == 0 ? 0 : 1;
}

static int job_lookup(const char *name, uint32_t *domid)
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	size_t n = strlen(name);
	int err;

	if (n > VOS_XSB_NAME_MAX)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.magic = VOS_XSB_MAGIC;
	r.op = VOS_XSB_LOOKUP;
	memcpy(r.name, name, n);
	err = xen_job_once(&r, sizeof(r), &rep);
	if (!err)
		*domid = rep.domid;
	return err;
}

/* Publish the channel; the identity is added by whoever writes the nodes. */
static int job_publish(struct xen_jobs *s, const struct xen_xport *t,
		       const struct vos_hello *hello)
{
	uint32_t n = (uint32_t)(t->x.size / PAGE);
	size_t len = sizeof(struct vos_xsb_req) + (size_t)n * sizeof(uint32_t);
	struct vos_xsb_req *r = calloc(1, len);
	struct vos_xsb_reply rep;
	int err;

	if (!r)
		return -ENOMEM;
	job_req(r, VOS_XSB_PUBLISH, t);
	r->nr_pages = n;
	r->front_ref = t->front_ref;
	r->back_ref = t->back_ref;
	r->port = t->port;
	r->kind = hello->kind;
	r->umask = hello->umask & 0777;
	memcpy(r->token, hello->token, VOS_TOKEN_LEN);
	memcpy(r->refs, t->refs, (size_t)n * sizeof(uint32_t));
	err = xen_job(s, r, len, &rep);
	free(r);
	return err;
}

static int job_answer(struct xen_jobs *s, const struct xen_xport *t, bool *accepted,
		      uint8_t token[VOS_TOKEN_LEN])
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	int err;

	job_req(&r, VOS_XSB_ANSWER, t);
	err = xen_job(s, &r, sizeof(r), &rep);
	if (err < 0)
		return err;
	if (rep.accepted)
		*accepted = true;
	if (err == 1)
		memcpy(token, rep.token, VOS_TOKEN_LEN);
	return err;
}

/* ------------------------------------------------------------ the ops */

/*
 * Clear our live byte and kick, so the shadow ends; then, if the service
 * had attached and is not known dead, wait at most timeout_ms until gntdev
 * in its domain clears the service's live byte (it has unmapped).  Only then
 * can dom0 free the grants at once; a grant still mapped is deferred by
 * Linux, which frees ten a second (transport.h, goodbye).
 */
static void say_goodbye(struct xen_xport *t, int timeout_ms)
{
	uint64_t deadline = vos_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	if (t->front)
		store_u8(&t->front->client_live, 0);
	if (t->port_bound)
		(void)xen_evtchn_notify(t->evtchn_fd, t->port);
	if (!t->connected || !t->back || atomic_load(&t->dead))
		return;
	/* Sleep-poll the byte: the kicks belong to whichever thread waits. */
	while (load_u8(&t->back->service_live) && vos_now_ms() < deadline)
		vos_sys_poll(NULL, 0, 1);
}

static void front_close(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t)
		return;
	if (t->owner != getpid()) {
		xen_drop_in_child(t);
		return;
	}
	/* Tell the peer first: a sleeping peer wakes and sees our live byte at
	 * 0, and lets go of the pages before our grants go (goodbye). */
	say_goodbye(t, GOODBYE_CLOSE_MS);
	if (t->published)
		(void)job_simple(t, VOS_XSB_REMOVE);    /* the nodes */
	xen_unmap_own(t);
	/* Closing gntalloc frees the grants (once the service has unmapped). */
	xen_close_tail(t);
}

/* See transport.h.  The service's shadow sees our live byte at 0, ends and
 * unmaps; gntdev then clears its live byte in the back page. */
static void front_goodbye(struct vos_xport *x, int timeout_ms)
{
	struct xen_xport *t = to_xen(x);

	if (t->owner != getpid() || atomic_load(&t->dead))
		return;
	say_goodbye(t, timeout_ms);
	atomic_store(&t->dead, 1);
}

static const struct vos_xport_ops front_ops = {
	.name = "xen",
	.notify = xen_notify,
	.wait = xen_wait,
	.peer_alive = xen_peer_alive,
	.close = front_close,
	.goodbye = front_goodbye,
};

static struct xen_xport *front_new(void)
{
	struct xen_xport *t = xen_new(XEN_CLIENT, &front_ops);

	if (t)
		t->backend_alive = backend_alive;
	return t;
}

/* ---------------------------------------------------------------- create */

/* Allocate `count` grants for domid; their file offset must be `want_off`
 * (a fresh gntalloc file hands out offsets 0, 1, 2... pages in order, which
 * is what adopt relies on).  Maps them and returns the address. */
static void *gntalloc_share(int fd, uint32_t domid, uint32_t count, bool writable,
			    uint64_t want_off, uint32_t *refs, int *err)
{
	size_t sz = sizeof(struct ioctl_gntalloc_alloc_gref) + (size_t)count * sizeof(uint32_t);
	struct ioctl_gntalloc_alloc_gref *op = calloc(1, sz);

	if (!op) {
		*err = -ENOMEM;
		return NULL;
	}
	op->domid = (uint16_t)domid;
	op->flags = writable ? GNTALLOC_FLAG_WRITABLE : 0;
	op->count = count;
	*err = (int)sys_ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, op);
	if (*err) {
		free(op);
		return NULL;
	}
	if (op->index != want_off) {    /* cannot happen on a fresh file */
		free(op);
		*err = -EPROTO;
		return NULL;
	}
	memcpy(refs, op->gref_ids, (size_t)count * sizeof(uint32_t));
	free(op);
	return map_file(fd, (size_t)count * PAGE, want_off, PROT_READ | PROT_WRITE, err);
}

/* Ask gntalloc to clear the byte at file offset `off` and kick `port` when the
 * grant is freed (the owner closed it or died). */
static int gntalloc_notify(int fd, uint64_t off, uint32_t port)
{
	struct ioctl_gntalloc_unmap_notify op = {
		.index = off,
		.action = UNMAP_NOTIFY_CLEAR_BYTE | UNMAP_NOTIFY_SEND_EVENT,
		.event_channel_port = port,
	};

	return (int)sys_ioctl(fd, IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, &op);
}

int vos_xen_create(const char *service, size_t size, struct vos_xport **out)
{
	struct ioctl_evtchn_bind_unbound_port bind;
	struct xen_xport *t;
	uint64_t npages = (size + PAGE - 1) / PAGE;
	long r;
	int err;

	if (!vos_xs_name_ok(service) || size == 0)
		return -EINVAL;
	if (npages > VOS_XEN_MAX_PAGES)
		return -E2BIG;
	t = front_new();
	if (!t)
		return -ENOMEM;
	t->refs = calloc(npages, sizeof(uint32_t));
	if (!t->refs) {
		err = -ENOMEM;
		goto fail;
	}
	err = job_lookup(service, &t->peer_domid);
	if (err)
		goto fail;

	t->evtchn_fd = open_dev(DEV_EVTCHN);
	if (t->evtchn_fd < 0) {
		err = t->evtchn_fd;
		goto fail;
	}
	bind.remote_domain = t->peer_domid;
	r = sys_ioctl(t->evtchn_fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &bind);
	if (r < 0) {
		err = (int)r;
		goto fail;
	}
	t->port = (uint32_t)r;
	t->port_bound = true;

	t->gnt_fd = open_dev(DEV_GNTALLOC);
	if (t->gnt_fd < 0) {
		err = t->gnt_fd;
		goto fail;
	}
	t->front = gntalloc_share(t->gnt_fd, t->peer_domid, 1, false, FRONT_OFF, &t->front_ref, &err);
	if (!t->front)
		goto fail;
	err = gntalloc_notify(t->gnt_fd, FRONT_OFF + CLIENT_LIVE_OFF, t->port);
	if (err)
		goto fail;
	t->back = gntalloc_share(t->gnt_fd, t->peer_domid, 1, true, BACK_OFF, &t->back_ref, &err);
	if (!t->back)
		goto fail;
	t->x.mem = gntalloc_share(t->gnt_fd, t->peer_domid, (uint32_t)npages, true, CHANNEL_OFF,
				  t->refs, &err);
	if (!t->x.mem)
		goto fail;
	t->x.size = (size_t)npages * PAGE;
	memset(t->x.mem, 0, t->x.size);        /* gntalloc zeroes; be explicit */

	t->front->magic = FRONT_MAGIC;
	t->front->version = VOS_PROTO_VERSION;
	t->front->backend_domid = t->peer_domid;
	t->front->port = t->port;
	t->front->nr_pages = (uint32_t)npages;
	t->front->client_pid = (uint32_t)getpid();
	store_u8(&t->front->client_live, 1);
	*out = &t->x;
	return 0;
fail:
	front_close(&t->x);
	return err;
}

/* --------------------------------------------------------------- connect */

static int connect_with(struct xen_jobs *s, struct xen_xport *t, const struct vos_hello *hello,
			struct vos_hello_reply *reply)
{
	static _Atomic unsigned counter;
	uint64_t deadline, delay = 1;
	int err = -EEXIST;

	for (int i = 0; i < DEVID_RETRIES; i++) {
		/* devid / 1000 is our pid: the broker insists on it. */
		t->devid = (uint64_t)getpid() * VOS_XSB_DEVIDS_PER_PID +
			   atomic_fetch_add(&counter, 1) % VOS_XSB_DEVIDS_PER_PID;
		vos_xs_frontend_path(t->fpath, t->devid);
		vos_xs_backend_path(t->bpath, t->peer_domid, t->devid);
		t->front->devid = t->devid;
		err = job_publish(s, t, hello);
		if (err != -EEXIST)
			break;          /* published, or a real error */
	}
	if (err)
		return err;
	t->published = true;

	/* Two bounded phases: the service accepts within the timeout, then
	 * attaches and answers within the timeout.  A busy service domain
	 * (TCG, many xenstore round trips) needs the second budget. */
	deadline = vos_now_ms() + VOS_XEN_CONNECT_TIMEOUT_MS;
	for (bool accepted = false, extended = false;;) {
		uint64_t now;
		int r;

		memset(reply, 0, sizeof(*reply));
		r = job_answer(s, t, &accepted, reply->token);
		if (accepted && !extended) {
			deadline = vos_now_ms() + VOS_XEN_CONNECT_TIMEOUT_MS;
			extended = true;
		}
		if (r > 0) {
			/* Attach sets the live byte before Connected. */
			if (!load_u8(&t->back->service_live))
				return -EPROTO;
			reply->status = 0;
			t->connected = true;
			return 0;
		}
		if (r < 0)
			return r;
		now = vos_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Poll with back-off (no watch, see the header): 1, 2, 4 .. 32 ms. */
		vos_sys_poll(NULL, 0, (int)(delay < deadline - now ? delay : deadline - now));
		if (delay < 32)
			delay *= 2;
	}
}

int vos_xen_connect(struct vos_xport *x, const struct vos_hello *hello,
		    struct vos_hello_reply *reply)
{
	struct xen_xport *t = to_xen(x);
	struct xen_jobs s;
	int err;

	if (!t || t->side != XEN_CLIENT || t->published || !t->front || !hello || !reply ||
	    hello->kind < VOS_HELLO_NEW || hello->kind > VOS_HELLO_FORK_LIVE)
		return -EINVAL;
	/* Direct: one xenstore connection for the publish and every poll. */
	err = xen_jobs_open(&s);
	if (!err)
		err = connect_with(&s, t, hello, reply);
	xen_jobs_close(&s);
	return err;
}

/* ----------------------------------------------------------- across exec */

void vos_xen_get_fds(const struct vos_xport *x, struct vos_xen_fds *fds)
{
	const struct xen_xport *t = (const struct xen_xport *)x;

	fds->gntalloc = t->gnt_fd;
	fds->evtchn = t->evtchn_fd;
}

int vos_xen_peek_header(const struct vos_xen_fds *fds, void *buf, size_t len)
{
	void *m;
	int err = 0;

	if (!fds || fds->gntalloc < 0)
		return -EBADF;
	if (len > PAGE)
		return -EINVAL;
	m = map_file(fds->gntalloc, PAGE, CHANNEL_OFF, PROT_READ, &err);
	if (!m)
		return err;
	memcpy(buf, m, len);
	vos_sys_munmap(m, PAGE);
	return 0;
}

int vos_xen_adopt(const struct vos_xen_fds *fds, struct vos_xport **out)
{
	struct xen_xport *t;
	int err = 0;

	if (!fds || fds->gntalloc < 0 || fds->evtchn < 0)
		return -EBADF;
	t = front_new();
	if (!t)
		return -ENOMEM;
	t->front = map_file(fds->gntalloc, PAGE, FRONT_OFF, PROT_READ | PROT_WRITE, &err);
	if (!t->front) {
		err = err == -ENOENT || err == -EINVAL ? -EPROTO : err;
		goto fail;
	}
	/* Our own page (read-only for the service), but check it anyway. */
	struct front_page f = *t->front;
	if (f.magic != FRONT_MAGIC || f.version != VOS_PROTO_VERSION || f.nr_pages == 0 ||
	    f.nr_pages > VOS_XEN_MAX_PAGES || f.backend_domid >= DOMID_FIRST_RESERVED || f.devid == 0) {
		err = -EPROTO;
		goto fail;
	}
	if (f.client_pid != (uint32_t)getpid()) {
		err = -ESRCH;
		goto fail;
	}
	t->back = map_file(fds->gntalloc, PAGE, BACK_OFF, PROT_READ | PROT_WRITE, &err);
	t->x.size = (size_t)f.nr_pages * PAGE;
	t->x.mem = map_file(fds->gntalloc, t->x.size, CHANNEL_OFF, PROT_READ | PROT_WRITE, &err);
	if (!t->back || !t->x.mem) {
		err = -EPROTO;
		goto fail;
	}
	t->peer_domid = f.backend_domid;
	t->devid = f.devid;
	t->port = f.port;
	vos_xs_frontend_path(t->fpath, t->devid);
	vos_xs_backend_path(t->bpath, t->peer_domid, t->devid);

	/* The frontend must still be ours. */
	err = job_simple(t, VOS_XSB_OWNER);
	if (err)
		goto fail;

	t->gnt_fd = fds->gntalloc;
	t->evtchn_fd = fds->evtchn;
	t->port_bound = true;
	t->published = true;
	t->connected = true;
	/* The exec path cleared close-on-exec to carry them over; restore it. */
	vos_sys_fcntl(t->gnt_fd, F_SETFD, FD_CLOEXEC);
	vos_sys_fcntl(t->evtchn_fd, F_SETFD, FD_CLOEXEC);
	vos_sys_fcntl(t->evtchn_fd, F_SETFL, O_NONBLOCK);
	*out = &t->x;
	return 0;
fail:
	vos_xen_release(&t->x);
	return err;
}

void vos_xen_release(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t)
		return;
	xen_unmap_own(t);
	vos_xs_drop(t->xs, t->owner);
	xen_free(t);
}

int vos_xen_client_prepare(void)
{
	return xen_jobs_prepare();
}
