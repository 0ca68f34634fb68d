/*
 * transport_xen.c - grant tables + event channel + xenstore transport (see
 * transport_xen.h for the grants, the xenstore nodes and the process rules).
 *
 * Who trusts what: the client (dom0) trusts nothing the service domain wrote
 * (backend nodes, the back page); the service trusts dom0's frontend nodes and
 * front page as to who the client is, but still parses and bounds them, since
 * a bug must not turn into an out-of-range mapping.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntalloc.h>
#include <xen/sys/gntdev.h>
#include "transport_xen.h"
#include "vos_sys.h"
#include "xen_broker.h"
#include "xen_jobs.h"
#include "common/vos_time.h"

#define PAGE            VOS_PAGE_SIZE
#define FRONT_OFF       0u              /* gntalloc file offsets, see the header */
#define BACK_OFF        PAGE
#define CHANNEL_OFF     (2u * PAGE)
#define FRONT_MAGIC     0x544e4f5246534f56ULL   /* "VOSFRONT" */
#define TXN_RETRIES     16
#define DEVID_RETRIES   64
#define PATH_LEN        128
#define MAX_CANDIDATES  64

#define DEV_EVTCHN      "/dev/xen/evtchn"
#define DEV_GNTALLOC    "/dev/xen/gntalloc"
#define DEV_GNTDEV      "/dev/xen/gntdev"

/* Page 0 of the grants: written by the client only (granted read-only). */
struct front_page {
	uint64_t magic;
	uint32_t version;
	uint32_t backend_domid;
	uint64_t devid;
	uint32_t port;          /* the client's (dom0-side) event-channel port */
	uint32_t nr_pages;      /* channel pages, at CHANNEL_OFF in the file */
	uint32_t client_pid;
	uint32_t pad;
	/* 1 while the client holds the channel; gntalloc clears it when the
	 * grant goes away (the client died or closed). */
	_Alignas(64) uint8_t client_live;
};

/* Page 1: the service's live byte; gntdev clears it when the service's
 * mapping goes away (the shadow died or closed). */
struct back_page {
	uint8_t service_live;
};

#define CLIENT_LIVE_OFF  offsetof(struct front_page, client_live)
#define SERVICE_LIVE_OFF offsetof(struct back_page, service_live)

enum side { CLIENT, SERVICE };

struct xen_xport {
	struct vos_xport x;             /* first: the public part */
	enum side side;
	pid_t owner;                    /* the process that built it */
	int gnt_fd;                     /* gntalloc (client) or gntdev (service) */
	int evtchn_fd;
	uint32_t port;                  /* our local event-channel port */
	bool port_bound;
	struct front_page *front;
	struct back_page *back;
	uint64_t gntdev_idx[3];         /* service: gntdev offsets of front, back, channel */
	uint32_t peer_domid;
	uint64_t devid;
	bool published;                 /* client: xenstore nodes exist */
	bool connected;                 /* client: the service has attached */
	char fpath[PATH_LEN], bpath[PATH_LEN];
	struct xs_handle *xs;           /* service: for good; client: NULL between calls */
	uint32_t *refs;                 /* client: channel grant refs */
	uint32_t front_ref, back_ref;
	_Atomic int dead;               /* peer known gone */
	pthread_mutex_t kick_lock;      /* one reader of the evtchn fd at a time */
};

/* VOS_XEN_DEBUG=1 in the environment: say on stderr why something failed. */
static void dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void dbg(const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("VOS_XEN_DEBUG") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "vos-xen[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static struct xen_xport *to_xen(struct vos_xport *x)
{
	return (struct xen_xport *)x;
}

static uint8_t load_u8(const uint8_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_u8(uint8_t *p, uint8_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static long sys_ioctl(int fd, unsigned long req, void *arg)
{
	return vos_sys_ret(syscall(SYS_ioctl, fd, req, arg));
}

static int open_dev(const char *path)
{
	long fd = vos_sys_openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NONBLOCK, 0);

	return (int)fd;
}

/* ------------------------------------------------------------------ parsing */

/* Decimal without sign, spaces or leading zeros, <= max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	if (v > max)
		return -EPROTO;
	*out = v;
	return 0;
}

/* "0" or "-N" with 1 <= N <= 4095. */
static int parse_status(const char *s, int *out)
{
	uint64_t v;

	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (s[0] != '-' || parse_u64(s + 1, 4095, &v) || v == 0)
		return -EPROTO;
	*out = -(int)v;
	return 0;
}

/* Comma-separated list of exactly `want` (or, if want < 0, up to `max`)
 * numbers <= vmax.  Returns the count or -EPROTO. */
static int parse_list(const char *s, uint32_t *out, int want, unsigned max, uint64_t vmax)
{
	unsigned n = 0;
	char num[24];

	if (*s == '\0')
		return want <= 0 ? 0 : -EPROTO;
	for (;;) {
		size_t len = strcspn(s, ",");
		uint64_t v;

		if (len == 0 || len >= sizeof(num) || n >= max)
			return -EPROTO;
		memcpy(num, s, len);
		num[len] = '\0';
		if (parse_u64(num, vmax, &v))
			return -EPROTO;
		out[n++] = (uint32_t)v;
		s += len;
		if (*s == '\0')
			break;
		s++;                    /* the comma; a trailing one fails above */
	}
	if (want >= 0 && n != (unsigned)want)
		return -EPROTO;
	return (int)n;
}

static int parse_token(const char *s, uint8_t tok[VOS_TOKEN_LEN])
{
	if (strlen(s) != 2 * VOS_TOKEN_LEN)
		return -EPROTO;
	for (unsigned i = 0; i < VOS_TOKEN_LEN; i++) {
		unsigned v = 0;

		for (unsigned j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -EPROTO;
		}
		tok[i] = (uint8_t)v;
	}
	return 0;
}

static void format_token(const uint8_t tok[VOS_TOKEN_LEN], char out[2 * VOS_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < VOS_TOKEN_LEN; i++) {
		out[2 * i] = hex[tok[i] >> 4];
		out[2 * i + 1] = hex[tok[i] & 15];
	}
	out[2 * VOS_TOKEN_LEN] = '\0';
}

/* ----------------------------------------------------------------- xenstore */

static int path_join(char *buf, const char *dir, const char *node)
{
	int n = snprintf(buf, PATH_LEN, "%s/%s", dir, node);

	return (n < 0 || n >= PATH_LEN) ? -ENAMETOOLONG : 0;
}

/* The two dirs of a channel (see the header). */
static void frontend_path(char buf[PATH_LEN], uint64_t devid)
{
	snprintf(buf, PATH_LEN, "/local/domain/%u/device/vos/%" PRIu64, VOS_XEN_PRIMARY_DOMID, devid);
}

static void backend_path(char buf[PATH_LEN], uint32_t svc, uint64_t devid)
{
	snprintf(buf, PATH_LEN, "/local/domain/%" PRIu32 "/backend/vos/%u/%" PRIu64,
		 svc, VOS_XEN_PRIMARY_DOMID, devid);
}

/* Read dir/node as a NUL-terminated string (malloc'ed).  NULL + *err. */
static char *xs_get(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		    const char *node, int *err)
{
	char path[PATH_LEN];
	unsigned len = 0;
	char *v;

	*err = path_join(path, dir, node);
	if (*err)
		return NULL;
	v = xs_read(xs, t, path, &len);
	if (!v) {
		*err = errno ? -errno : -EIO;
		if (*err != -ENOENT)
			dbg("read %s: %s", path, strerror(-*err));
		return NULL;
	}
	if (strlen(v) != len) {         /* an embedded NUL: not one of ours */
		free(v);
		*err = -EPROTO;
		return NULL;
	}
	return v;
}

static int xs_get_u64(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		      const char *node, uint64_t max, uint64_t *out)
{
	int err;
	char *v = xs_get(xs, t, dir, node, &err);

	if (!v)
		return err;
	err = parse_u64(v, max, out);
	free(v);
	return err;
}

static int xs_put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int xs_put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *node, const char *fmt, ...)
{
	char path[PATH_LEN], val[PATH_LEN];
	va_list ap;
	int n, err;

	err = path_join(path, dir, node);
	if (err)
		return err;
	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(val))
		return -E2BIG;
	if (!xs_write(xs, t, path, val, (unsigned)n)) {
		err = errno ? -errno : -EIO;
		dbg("write %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

static int xs_put_raw(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		      const char *node, const char *val)
{
	char path[PATH_LEN];
	int err = path_join(path, dir, node);

	if (err)
		return err;
	if (!xs_write(xs, t, path, val, (unsigned)strlen(val))) {
		err = errno ? -errno : -EIO;
		dbg("write %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

/* Run body inside a transaction, retrying on conflicts (bounded). */
static int xs_txn(struct xs_handle *xs, int (*body)(struct xs_handle *, xs_transaction_t, void *),
		  void *arg)
{
	for (int i = 0; i < TXN_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int err;

		if (t == XBT_NULL) {
			dbg("transaction start: %s", strerror(errno));
			return errno ? -errno : -EIO;
		}
		err = body(xs, t, arg);
		if (err) {
			xs_transaction_end(xs, t, true);
			return err;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN) {
			dbg("transaction end: %s", strerror(errno));
			return errno ? -errno : -EIO;
		}
	}
	return -EAGAIN;
}

static struct xs_handle *xs_connect(int *err)
{
	struct xs_handle *xs = xs_open(0);

	if (!xs)
		*err = errno ? -errno : -ENOENT;
	return xs;
}

/* Drop a libxenstore handle; in a fork child its reader thread does not
 * exist, so only the child's descriptors and memory are released. */
static void xs_drop(struct xs_handle *xs, pid_t owner)
{
	if (!xs)
		return;
	if (owner == getpid())
		xs_close(xs);
	else
		xs_daemon_destroy_postfork(xs);
}

/* Our own domid: the toolstack writes it into every domain's home, and a
 * relative path is read from there. */
static int self_domid(struct xs_handle *xs, uint32_t *out)
{
	unsigned len = 0;
	uint64_t v;
	int err;
	char *s = xs_read(xs, XBT_NULL, "domid", &len);

	if (!s) {
		dbg("read domid: %s", strerror(errno));
		return errno ? -errno : -ENOENT;
	}
	err = strlen(s) == len ? parse_u64(s, DOMID_FIRST_RESERVED - 1, &v) : -EPROTO;
	free(s);
	if (err)
		return err;
	*out = (uint32_t)v;
	return 0;
}

static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 64 && !strchr(s, '/');
}

/* The domid of the (newest) domain called `name`, never dom0. */
static int find_domain(struct xs_handle *xs, const char *name, uint32_t *out)
{
	unsigned n = 0;
	char **ids = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	int found = -ENOENT;

	if (!ids)
		return errno ? -errno : -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		char dir[PATH_LEN];
		uint64_t id;
		int err;
		char *v;

		if (parse_u64(ids[i], DOMID_FIRST_RESERVED - 1, &id) || id == 0)
			continue;
		snprintf(dir, sizeof(dir), "/local/domain/%" PRIu64, id);
		v = xs_get(xs, XBT_NULL, dir, "name", &err);
		if (!v)
			continue;
		if (strcmp(v, name) == 0 && (found < 0 || id > *out)) {
			*out = (uint32_t)id;
			found = 0;
		}
		free(v);
	}
	free(ids);
	return found;
}

static int xs_state(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
	uint64_t v;
	int err = xs_get_u64(xs, t, dir, "state", VOS_XEN_CLOSED, &v);

	return err ? err : (int)v;
}

/* ------------------------------------------------------------ event channel */

static int evtchn_notify(int fd, uint32_t port)
{
	struct ioctl_evtchn_notify op = { .port = port };
	long r = sys_ioctl(fd, IOCTL_EVTCHN_NOTIFY, &op);

	return r < 0 ? (int)r : 0;
}

static void evtchn_unbind(int fd, uint32_t port)
{
	struct ioctl_evtchn_unbind op = { .port = port };

	(void)sys_ioctl(fd, IOCTL_EVTCHN_UNBIND, &op);
}

/*
 * Consume pending kicks: read the ports the driver queued and unmask them
 * (the driver masks a port when it queues it).  The fd is nonblocking and
 * reads are serialised, so two waiters woken by one kick cannot block here:
 * the loser gets -EAGAIN.  Returns the number of kicks or -errno.
 */
static int consume_kicks(struct xen_xport *t)
{
	uint32_t ports[16];
	long n;

	pthread_mutex_lock(&t->kick_lock);
	n = vos_sys_read(t->evtchn_fd, ports, sizeof(ports));
	if (n > 0) {
		long cnt = n / (long)sizeof(ports[0]);

		for (long i = 0; i < cnt; i++)
			(void)vos_sys_write(t->evtchn_fd, &ports[i], sizeof(ports[i]));
		n = cnt;
	} else if (n == 0) {
		n = -EAGAIN;
	}
	pthread_mutex_unlock(&t->kick_lock);
	return (int)n;
}

/* ---------------------------------------------------------- transport ops */

static int peer_live_byte(struct xen_xport *t)
{
	/* Before the service attaches, its byte is 0 without meaning death. */
	if (t->side == CLIENT)
		return t->back && t->connected ? load_u8(&t->back->service_live) : 1;
	return t->front ? load_u8(&t->front->client_live) : 1;
}

static int mark_dead(struct xen_xport *t)
{
	atomic_store(&t->dead, 1);
	return -EPIPE;
}

/* Client: the backend is Connected and the service domain still exists.
 * Only a definite answer counts as death; a failing xenstore does not. */
static int job_lookup(const char *name, uint32_t *domid);
static int job_alive(const struct xen_xport *t);
static int job_simple(const struct xen_xport *t, uint32_t op);

static int backend_alive(struct xen_xport *t)
{
	return job_alive(t);
}

static int xen_notify(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t->port_bound)
		return -ENOTCONN;
	return evtchn_notify(t->evtchn_fd, t->port);
}

static int xen_wait(struct vos_xport *x, int timeout_ms)
{
	struct xen_xport *t = to_xen(x);
	uint64_t deadline = timeout_ms >= 0 ? vos_now_ms() + (uint64_t)timeout_ms : 0;
	/* Only the client that published the nodes asks xenstore (see the header). */
	bool check_domain = t->side == CLIENT && t->published && t->owner == getpid();

	for (;;) {
		struct pollfd p = { .fd = t->evtchn_fd, .events = POLLIN };
		int left = timeout_ms;
		long n;

		if (atomic_load(&t->dead) || !peer_live_byte(t))
			return mark_dead(t);
		if (timeout_ms >= 0) {
			uint64_t now = vos_now_ms();

			if (now >= deadline)
				return 0;
			left = (int)(deadline - now);
		}
		if (check_domain && (left < 0 || left > VOS_XEN_DEATH_POLL_MS))
			left = VOS_XEN_DEATH_POLL_MS;
		n = vos_sys_poll(&p, 1, left);
		if (n < 0)
			return (int)n;          /* -EINTR included */
		if (n == 0) {
			if (check_domain && !backend_alive(t))
				return mark_dead(t);
			continue;               /* the deadline is checked above */
		}
		if (p.revents & POLLIN) {
			int k = consume_kicks(t);

			if (k > 0)
				return peer_live_byte(t) ? 1 : mark_dead(t);
			if (k != -EAGAIN)
				return k;
		}
		if (p.revents & (POLLERR | POLLNVAL))
			return -EBADF;
	}
}

static int xen_peer_alive(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (atomic_load(&t->dead) || !peer_live_byte(t))
		return 0;
	if (t->side == CLIENT && t->published && t->owner == getpid() && !backend_alive(t)) {
		atomic_store(&t->dead, 1);
		return 0;
	}
	return 1;
}

/* Service: mark the backend Closed, or remove it when the client is gone
 * (nobody else would).  Never re-creates a dir the client removed. */
static int close_backend_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct xen_xport *t = arg;
	int st = xs_state(xs, txn, t->bpath);

	if (st == -ENOENT)
		return 0;
	if (!peer_live_byte(t))
		return xs_rm(xs, txn, t->bpath) || errno == ENOENT ? 0 : -errno;
	return xs_put(xs, txn, t->bpath, "state", "%d", VOS_XEN_CLOSED);
}

static void unmap_all(struct xen_xport *t)
{
	if (t->x.mem)
		munmap(t->x.mem, t->x.size);
	if (t->back)
		munmap(t->back, PAGE);
	if (t->front)
		munmap(t->front, PAGE);
	t->x.mem = NULL;
	t->back = NULL;
	t->front = NULL;
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

static void free_xport(struct xen_xport *t)
{
	pthread_mutex_destroy(&t->kick_lock);
	free(t->refs);
	free(t);
}

/* In a process other than the owner (a fork child): release only this
 * process's references.  Client mappings were inherited (gntalloc), service
 * mappings were not (MADV_DONTFORK), so only the former are unmapped. */
static void drop_in_child(struct xen_xport *t)
{
	if (t->side == CLIENT)
		unmap_all(t);
	vos_sys_close(t->gnt_fd);
	vos_sys_close(t->evtchn_fd);
	xs_drop(t->xs, t->owner);
	free(t->refs);
	free(t);        /* the mutex may be held by a thread that no longer exists */
}

/*
 * Client: clear our live byte and kick, so the shadow ends; then, if the
 * service had attached and is not known dead, wait at most timeout_ms until
 * gntdev in its domain clears the service's live byte (it has unmapped).
 * Only then can dom0 free the grants at once; a grant still mapped is
 * deferred by Linux, which frees ten a second (transport.h, goodbye).
 */
#define GOODBYE_CLOSE_MS 1000

static void say_goodbye(struct xen_xport *t, int timeout_ms)
{
	uint64_t deadline = vos_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	if (t->front)
		store_u8(&t->front->client_live, 0);
	if (t->port_bound)
		(void)evtchn_notify(t->evtchn_fd, t->port);
	if (!t->connected || !t->back || atomic_load(&t->dead))
		return;
	/* Sleep-poll the byte: the kicks belong to whichever thread waits. */
	while (load_u8(&t->back->service_live) && vos_now_ms() < deadline)
		vos_sys_poll(NULL, 0, 1);
}

static void xen_close(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t)
		return;
	if (t->owner != getpid()) {
		drop_in_child(t);
		return;
	}
	/* Tell the peer first: a sleeping peer wakes and sees our live byte at 0.
	 * A client also lets the service unmap before its grants go (goodbye). */
	if (t->side == CLIENT)
		say_goodbye(t, GOODBYE_CLOSE_MS);
	if (t->side == SERVICE && t->back)
		store_u8(&t->back->service_live, 0);
	if (t->side == SERVICE && t->port_bound)
		(void)evtchn_notify(t->evtchn_fd, t->port);

	if (t->side == CLIENT && t->published) {
		(void)job_simple(t, VOS_XSB_REMOVE);    /* the nodes */
	} else if (t->side == SERVICE && t->xs && t->bpath[0]) {
		(void)xs_txn(t->xs, close_backend_body, t);
	}
	if (t->side == CLIENT)
		unmap_all(t);
	else if (t->gnt_fd >= 0)
		gntdev_unmap(t);
	/* Closing gntalloc frees the grants (once the service has unmapped). */
	vos_sys_close(t->gnt_fd);
	if (t->port_bound)
		evtchn_unbind(t->evtchn_fd, t->port);
	vos_sys_close(t->evtchn_fd);
	xs_drop(t->xs, t->owner);
	free_xport(t);
}

/* Client: see transport.h.  The service's shadow sees our live byte at 0,
 * ends and unmaps; gntdev then clears its live byte in the back page. */
static void xen_goodbye(struct vos_xport *x, int timeout_ms)
{
	struct xen_xport *t = to_xen(x);

	if (t->side != CLIENT || t->owner != getpid() || atomic_load(&t->dead))
		return;
	say_goodbye(t, timeout_ms);
	atomic_store(&t->dead, 1);
}

static const struct vos_xport_ops xen_ops = {
	.name = "xen",
	.notify = xen_notify,
	.wait = xen_wait,
	.peer_alive = xen_peer_alive,
	.close = xen_close,
	.goodbye = xen_goodbye,
};

static struct xen_xport *xen_new(enum side side)
{
	struct xen_xport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->x.ops = &xen_ops;
	t->side = side;
	t->owner = getpid();
	t->gnt_fd = t->evtchn_fd = -1;
	pthread_mutex_init(&t->kick_lock, NULL);
	return t;
}

int vos_xen_present(void)
{
	return access(DEV_EVTCHN, F_OK) == 0 &&
	       (access("/dev/xen/xenbus", F_OK) == 0 ||
		access("/run/xenstored/socket", F_OK) == 0 ||
		access("/var/run/xenstored/socket", F_OK) == 0);
}

/* --------------------------------------------------------------- client side */

/* Allocate `count` grants for domid; their file offset must be `want_off`
 * (a fresh gntalloc file hands out offsets 0, 1, 2... pages in order, which
 * is what adopt relies on).  Maps them and returns the address. */
static void *gntalloc_share(int fd, uint32_t domid, uint32_t count, bool writable,
			    uint64_t want_off, uint32_t *refs, int *err)
{
	size_t sz = sizeof(struct ioctl_gntalloc_alloc_gref) + (size_t)count * sizeof(uint32_t);
	struct ioctl_gntalloc_alloc_gref *op = calloc(1, sz);
	void *m;

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
	m = mmap(NULL, (size_t)count * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)want_off);
	if (m == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return m;
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

	if (!name_ok(service) || size == 0)
		return -EINVAL;
	if (npages > VOS_XEN_MAX_PAGES)
		return -E2BIG;
	t = xen_new(CLIENT);
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
	xen_close(&t->x);
	return err;
}

/* ------------------------------------------------- client xenstore jobs */

struct publish_args {
	const struct vos_xen_conn *c;
	char fpath[PATH_LEN], bpath[PATH_LEN];
	char gids[VOS_XEN_MAX_GIDS * 11 + 1];
};

static int put_refs(struct xs_handle *xs, xs_transaction_t txn, const struct publish_args *a)
{
	uint32_t n = a->c->nr_pages;
	char val[VOS_XEN_REFS_PER_NODE * 11 + 1];

	for (uint32_t chunk = 0; chunk * VOS_XEN_REFS_PER_NODE < n; chunk++) {
		char path[PATH_LEN], node[24];
		size_t len = 0;

		for (uint32_t i = chunk * VOS_XEN_REFS_PER_NODE;
		     i < n && i < (chunk + 1) * VOS_XEN_REFS_PER_NODE; i++)
			len += (size_t)snprintf(val + len, sizeof(val) - len, "%s%" PRIu32,
						len ? "," : "", a->c->refs[i]);
		snprintf(node, sizeof(node), "ring-ref%" PRIu32, chunk);
		if (path_join(path, a->fpath, node))
			return -ENAMETOOLONG;
		if (!xs_write(xs, txn, path, val, (unsigned)len))
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
	char tok[2 * VOS_TOKEN_LEN + 1];
	unsigned len;
	void *old;
	int err = 0;

	/* A stale dir of a dead process with the same devid: pick another. */
	old = xs_read(xs, txn, a->fpath, &len);
	if (old) {
		free(old);
		return -EEXIST;
	}
	/* A backend dir left over with this devid could hold a stale answer. */
	if (!xs_rm(xs, txn, a->bpath) && errno != ENOENT)
		return -errno;
	/* Dirs first, then their permissions, then the children: nodes created
	 * under a dir inherit its permissions. */
	if (!xs_mkdir(xs, txn, a->fpath) || !xs_set_permissions(xs, txn, a->fpath, fperm, 2) ||
	    !xs_mkdir(xs, txn, a->bpath) || !xs_set_permissions(xs, txn, a->bpath, bperm, 2)) {
		dbg("mkdir/set_permissions %s: %s", a->fpath, strerror(errno));
		return errno ? -errno : -EIO;
	}

	format_token(c->hello.token, tok);
	err = err ? err : xs_put_raw(xs, txn, a->fpath, "backend", a->bpath);
	err = err ? err : xs_put(xs, txn, a->fpath, "backend-id", "%" PRIu32, c->self_domid);
	err = err ? err : xs_put(xs, txn, a->fpath, "front-ref", "%" PRIu32, c->front_ref);
	err = err ? err : xs_put(xs, txn, a->fpath, "back-ref", "%" PRIu32, c->back_ref);
	err = err ? err : xs_put(xs, txn, a->fpath, "nr-pages", "%" PRIu32, c->nr_pages);
	err = err ? err : put_refs(xs, txn, a);
	err = err ? err : xs_put(xs, txn, a->fpath, "event-channel", "%" PRIu32, c->port);
	err = err ? err : xs_put(xs, txn, a->fpath, "version", "%u", VOS_PROTO_VERSION);
	err = err ? err : xs_put(xs, txn, a->fpath, "kind", "%" PRIu32, c->hello.kind);
	err = err ? err : xs_put_raw(xs, txn, a->fpath, "token", tok);
	err = err ? err : xs_put(xs, txn, a->fpath, "umask", "%" PRIu32, c->hello.umask & 0777);
	err = err ? err : xs_put(xs, txn, a->fpath, "pid", "%d", (int)c->cred.pid);
	err = err ? err : xs_put(xs, txn, a->fpath, "uid", "%u", (unsigned)c->cred.uid);
	err = err ? err : xs_put(xs, txn, a->fpath, "gid", "%u", (unsigned)c->cred.gid);
	err = err ? err : xs_put_raw(xs, txn, a->fpath, "gids", a->gids);
	err = err ? err : xs_put(xs, txn, a->fpath, "state", "%d", VOS_XEN_INITIALISED);

	err = err ? err : xs_put_raw(xs, txn, a->bpath, "frontend", a->fpath);
	err = err ? err : xs_put(xs, txn, a->bpath, "frontend-id", "%u", VOS_XEN_PRIMARY_DOMID);
	err = err ? err : xs_put(xs, txn, a->bpath, "state", "%d", VOS_XEN_INITIALISING);
	return err;
}

int vos_xen_job_lookup(struct xs_handle *xs, const char *name, uint32_t *domid)
{
	if (!name_ok(name))
		return -EINVAL;
	return find_domain(xs, name, domid);
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
	frontend_path(a->fpath, c->devid);
	backend_path(a->bpath, c->self_domid, c->devid);
	for (uint32_t i = 0; i < c->ngids; i++)
		off += (size_t)snprintf(a->gids + off, sizeof(a->gids) - off, "%s%" PRIu32,
					i ? "," : "", c->gids[i]);
	err = xs_txn(xs, publish_body, a);
	free(a);
	return err;
}

int vos_xen_job_answer(struct xs_handle *xs, uint32_t domid, uint64_t devid,
		       bool *accepted, uint8_t token[VOS_TOKEN_LEN])
{
	char bpath[PATH_LEN];
	int st, status, err;
	char *v;

	backend_path(bpath, domid, devid);
	st = xs_state(xs, XBT_NULL, bpath);
	if (st > VOS_XEN_INITIALISING)
		*accepted = true;
	if (st == -ENOENT)
		return -ECONNREFUSED;   /* the service removed our backend */
	if (st < 0)
		return st == -EPROTO ? -EPROTO : 0;
	v = xs_get(xs, XBT_NULL, bpath, "status", &err);
	if (!v) {
		if (err != -ENOENT)
			return err == -EPROTO ? -EPROTO : 0;
		return (st == VOS_XEN_CLOSING || st == VOS_XEN_CLOSED) ? -ECONNREFUSED : 0;
	}
	err = parse_status(v, &status);
	free(v);
	if (err)
		return err;
	if (status)
		return status;
	if (st == VOS_XEN_CLOSING || st == VOS_XEN_CLOSED)
		return -ECONNREFUSED;
	if (st != VOS_XEN_CONNECTED)
		return 0;               /* answered, not yet attached */
	v = xs_get(xs, XBT_NULL, bpath, "token", &err);
	if (!v)
		return err == -ENOENT ? -EPROTO : err;
	err = parse_token(v, token);
	free(v);
	return err ? err : 1;
}

int vos_xen_job_alive(struct xs_handle *xs, uint32_t domid, uint64_t devid)
{
	char bpath[PATH_LEN];
	int st;

	backend_path(bpath, domid, devid);
	st = xs_state(xs, XBT_NULL, bpath);
	if (st == -ENOENT || (st >= 0 && st != VOS_XEN_CONNECTED))
		return 0;
	/* false with errno untouched means "not introduced": the domain is gone. */
	errno = 0;
	if (!xs_is_domain_introduced(xs, domid) && errno == 0)
		return 0;
	return 1;
}

struct rm_args {
	char fpath[PATH_LEN], bpath[PATH_LEN];
};

static int rm_nodes_body(struct xs_handle *xs, xs_transaction_t txn, void *arg)
{
	struct rm_args *a = arg;

	if (!xs_rm(xs, txn, a->fpath) && errno != ENOENT)
		return -errno;
	if (!xs_rm(xs, txn, a->bpath) && errno != ENOENT)
		return -errno;
	return 0;
}

int vos_xen_job_remove(struct xs_handle *xs, uint32_t domid, uint64_t devid)
{
	struct rm_args a;

	frontend_path(a.fpath, devid);
	backend_path(a.bpath, domid, devid);
	return xs_txn(xs, rm_nodes_body, &a);
}

int vos_xen_job_owner(struct xs_handle *xs, uint32_t domid, uint64_t devid, pid_t pid)
{
	char fpath[PATH_LEN];
	uint64_t v;
	int err;

	frontend_path(fpath, devid);
	err = xs_get_u64(xs, XBT_NULL, fpath, "pid", INT_MAX, &v);
	if (!err && v != (uint64_t)pid)
		err = -ESRCH;
	if (!err)
		err = xs_get_u64(xs, XBT_NULL, fpath, "backend-id", DOMID_FIRST_RESERVED - 1, &v);
	if (!err && v != domid)
		err = -EPROTO;
	return err == -ENOENT ? -EPIPE : err;
}

/* ------------------------------------- the jobs, directly or via the broker */

/*
 * A process in dom0 may use xenstore itself only as root.  Everyone else asks
 * vos-xsbroker (xen_broker.h), which runs the same jobs above after checking
 * who the caller is.  Root goes direct: it does not depend on the broker
 * running (a real Xen host, the Xen tests) and saves a hop per job.
 * VOS_XEN_BROKER=1 forces the broker (tests), =0 forces direct.
 */
static bool via_broker(void)
{
	const char *e = getenv("VOS_XEN_BROKER");

	if (e && e[0])
		return strcmp(e, "0") != 0;
	return geteuid() != 0;
}

static void broker_req(struct vos_xsb_req *r, uint32_t op, const struct xen_xport *t)
{
	memset(r, 0, sizeof(*r));
	r->magic = VOS_XSB_MAGIC;
	r->op = op;
	r->domid = t->peer_domid;
	r->devid = t->devid;
}

static int broker_call(const struct vos_xsb_req *r, size_t len, struct vos_xsb_reply *rep)
{
	int err = vos_xsb_call(NULL, r, len, rep);

	if (err < 0)
		dbg("broker op %" PRIu32 ": %s", r->op, strerror(-err));
	return err;
}

static int job_lookup(const char *name, uint32_t *domid)
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	struct xs_handle *xs;
	int err;

	if (!via_broker()) {
		xs = xs_connect(&err);
		if (!xs)
			return err;
		err = vos_xen_job_lookup(xs, name, domid);
		xs_close(xs);
		return err;
	}
	memset(&r, 0, sizeof(r));
	r.magic = VOS_XSB_MAGIC;
	r.op = VOS_XSB_LOOKUP;
	if (strlen(name) > VOS_XSB_NAME_MAX)
		return -EINVAL;
	memcpy(r.name, name, strlen(name));
	err = broker_call(&r, sizeof(r), &rep);
	if (!err)
		*domid = rep.domid;
	return err;
}

/* Publish the channel with this process's identity (xs: the direct path's
 * connection, NULL through the broker). */
static int job_publish(struct xs_handle *xs, const struct xen_xport *t,
		       const struct vos_hello *hello)
{
	uint32_t n = (uint32_t)(t->x.size / PAGE);
	struct vos_xsb_reply rep;
	struct vos_xsb_req *r;
	struct vos_xen_conn *c;
	size_t len;
	int err;

	if (!xs) {
		len = sizeof(*r) + (size_t)n * sizeof(uint32_t);
		r = calloc(1, len);
		if (!r)
			return -ENOMEM;
		broker_req(r, VOS_XSB_PUBLISH, t);
		r->nr_pages = n;
		r->front_ref = t->front_ref;
		r->back_ref = t->back_ref;
		r->port = t->port;
		r->kind = hello->kind;
		r->umask = hello->umask & 0777;
		memcpy(r->token, hello->token, VOS_TOKEN_LEN);
		memcpy(r->refs, t->refs, (size_t)n * sizeof(uint32_t));
		/* Who we are is the broker's to find out (SO_PEERCRED). */
		err = broker_call(r, len, &rep);
		free(r);
		return err;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->self_domid = t->peer_domid;
	c->front_domid = VOS_XEN_PRIMARY_DOMID;
	c->devid = t->devid;
	c->front_ref = t->front_ref;
	c->back_ref = t->back_ref;
	c->port = t->port;
	c->nr_pages = n;
	memcpy(c->refs, t->refs, (size_t)n * sizeof(uint32_t));
	c->cred.pid = getpid();
	c->cred.uid = geteuid();
	c->cred.gid = getegid();
	c->hello = *hello;
	{
		gid_t g[VOS_XEN_MAX_GIDS];
		int ng = getgroups(VOS_XEN_MAX_GIDS, g);

		if (ng < 0) {
			err = errno == EINVAL ? -E2BIG : -errno;
			free(c);
			return err;
		}
		for (int i = 0; i < ng; i++)
			c->gids[i] = (uint32_t)g[i];
		c->ngids = (uint32_t)ng;
	}
	err = vos_xen_job_publish(xs, c);
	free(c);
	return err;
}

static int job_answer(struct xs_handle *xs, const struct xen_xport *t, bool *accepted,
		      uint8_t token[VOS_TOKEN_LEN])
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	int err;

	if (xs)
		return vos_xen_job_answer(xs, t->peer_domid, t->devid, accepted, token);
	broker_req(&r, VOS_XSB_ANSWER, t);
	err = broker_call(&r, sizeof(r), &rep);
	if (err < 0)
		return err;
	if (rep.accepted)
		*accepted = true;
	if (err == 1)
		memcpy(token, rep.token, VOS_TOKEN_LEN);
	return err;
}

/* The client's death check: only a definite answer counts as death. */
static int job_alive(const struct xen_xport *t)
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	struct xs_handle *xs;
	int err;

	if (!via_broker()) {
		xs = xs_connect(&err);
		if (!xs)
			return 1;
		err = vos_xen_job_alive(xs, t->peer_domid, t->devid);
		xs_close(xs);
		return err;
	}
	broker_req(&r, VOS_XSB_ALIVE, t);
	err = broker_call(&r, sizeof(r), &rep);
	return err == 0 ? 0 : 1;
}

static int job_simple(const struct xen_xport *t, uint32_t op)
{
	struct vos_xsb_req r;
	struct vos_xsb_reply rep;
	struct xs_handle *xs;
	int err;

	if (!via_broker()) {
		xs = xs_connect(&err);
		if (!xs)
			return err;
		if (op == VOS_XSB_REMOVE)
			err = vos_xen_job_remove(xs, t->peer_domid, t->devid);
		else
			err = vos_xen_job_owner(xs, t->peer_domid, t->devid, getpid());
		xs_close(xs);
		return err;
	}
	broker_req(&r, op, t);
	return broker_call(&r, sizeof(r), &rep);
}

/* xs: the direct path's connection for the whole connect (publish and every
 * poll of the answer), NULL through the broker. */
static int connect_with(struct xs_handle *xs, struct xen_xport *t, const struct vos_hello *hello,
			struct vos_hello_reply *reply)
{
	static _Atomic unsigned counter;
	uint64_t deadline, delay = 1;
	int err = -EEXIST;

	for (int i = 0; i < DEVID_RETRIES; i++) {
		/* devid / 1000 is our pid: the broker insists on it. */
		t->devid = (uint64_t)getpid() * VOS_XSB_DEVIDS_PER_PID +
			   atomic_fetch_add(&counter, 1) % VOS_XSB_DEVIDS_PER_PID;
		frontend_path(t->fpath, t->devid);
		backend_path(t->bpath, t->peer_domid, t->devid);
		t->front->devid = t->devid;
		err = job_publish(xs, t, hello);
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
		r = job_answer(xs, t, &accepted, reply->token);
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
	struct xs_handle *xs = NULL;
	int err;

	if (!t || t->side != CLIENT || t->published || !t->front || !hello || !reply ||
	    hello->kind < VOS_HELLO_NEW || hello->kind > VOS_HELLO_FORK_LIVE)
		return -EINVAL;
	if (!via_broker()) {
		xs = xs_connect(&err);
		if (!xs)
			return err;
	}
	err = connect_with(xs, t, hello, reply);
	/* The client keeps no xenstore connection between calls (see the header). */
	if (xs)
		xs_close(xs);
	return err;
}

void vos_xen_get_fds(const struct vos_xport *x, struct vos_xen_fds *fds)
{
	const struct xen_xport *t = (const struct xen_xport *)x;

	fds->gntalloc = t->gnt_fd;
	fds->evtchn = t->evtchn_fd;
}

static void *map_file(int fd, size_t len, uint64_t off, int prot)
{
	void *m = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	return m == MAP_FAILED ? NULL : m;
}

int vos_xen_peek_header(const struct vos_xen_fds *fds, void *buf, size_t len)
{
	void *m;

	if (!fds || fds->gntalloc < 0)
		return -EBADF;
	if (len > PAGE)
		return -EINVAL;
	m = map_file(fds->gntalloc, PAGE, CHANNEL_OFF, PROT_READ);
	if (!m)
		return -errno;
	memcpy(buf, m, len);
	munmap(m, PAGE);
	return 0;
}

int vos_xen_adopt(const struct vos_xen_fds *fds, struct vos_xport **out)
{
	struct xen_xport *t;
	int err;

	if (!fds || fds->gntalloc < 0 || fds->evtchn < 0)
		return -EBADF;
	t = xen_new(CLIENT);
	if (!t)
		return -ENOMEM;
	t->front = map_file(fds->gntalloc, PAGE, FRONT_OFF, PROT_READ | PROT_WRITE);
	if (!t->front) {
		err = errno == ENOENT || errno == EINVAL ? -EPROTO : -errno;
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
	t->back = map_file(fds->gntalloc, PAGE, BACK_OFF, PROT_READ | PROT_WRITE);
	t->x.size = (size_t)f.nr_pages * PAGE;
	t->x.mem = map_file(fds->gntalloc, t->x.size, CHANNEL_OFF, PROT_READ | PROT_WRITE);
	if (!t->back || !t->x.mem) {
		err = -EPROTO;
		goto fail;
	}
	t->peer_domid = f.backend_domid;
	t->devid = f.devid;
	t->port = f.port;
	frontend_path(t->fpath, t->devid);
	backend_path(t->bpath, t->peer_domid, t->devid);

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
	unmap_all(t);
	xs_drop(t->xs, t->owner);
	free_xport(t);
}

int vos_xen_reap_stale(void)
{
	struct xs_handle *xs;
	char base[PATH_LEN];
	char **ids;
	unsigned n = 0;
	int err, reaped = 0;

	xs = xs_connect(&err);
	if (!xs)
		return err;
	snprintf(base, sizeof(base), "/local/domain/%u/device/vos", VOS_XEN_PRIMARY_DOMID);
	ids = xs_directory(xs, XBT_NULL, base, &n);
	if (!ids) {
		err = errno == ENOENT ? 0 : (errno ? -errno : -EIO);
		xs_close(xs);
		return err;
	}
	for (unsigned i = 0; i < n; i++) {
		char dir[PATH_LEN];
		uint64_t devid, pid;
		char *back;

		if (parse_u64(ids[i], UINT64_MAX, &devid))
			continue;
		frontend_path(dir, devid);
		if (xs_get_u64(xs, XBT_NULL, dir, "pid", INT_MAX, &pid))
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		/* dom0 wrote this path itself; still only remove a backend dir. */
		back = xs_get(xs, XBT_NULL, dir, "backend", &err);
		if (back && strncmp(back, "/local/domain/", 14) == 0 && strstr(back, "/backend/vos/"))
			xs_rm(xs, XBT_NULL, back);
		free(back);
		if (xs_rm(xs, XBT_NULL, dir))
			reaped++;
	}
	free(ids);
	xs_close(xs);
	return reaped;
}

/* -------------------------------------------------------------- service side */

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
	xs = xs_connect(err);
	svc_lower(&p);
	return xs;
}


struct vos_xen_listener {
	struct xs_handle *xs;
	pid_t owner;
	uint32_t self;
	int fd;
	char watch[PATH_LEN];           /* .../backend/vos */
	char base[PATH_LEN];            /* .../backend/vos/0: one dir per devid */
	uint64_t cand[MAX_CANDIDATES];  /* devids named by watch events */
	unsigned ncand;
	bool rescan;                    /* list the whole dir on the next accept */
};

int vos_xen_listen(const char *service, struct vos_xen_listener **out)
{
	struct vos_xen_listener *l;
	char home[PATH_LEN];
	char *name;
	int err;

	if (!name_ok(service))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->owner = getpid();
	l->fd = -1;
	l->rescan = true;
	l->xs = xs_connect(&err);
	if (!l->xs)
		goto fail;
	err = self_domid(l->xs, &l->self);
	if (err)
		goto fail;
	snprintf(home, sizeof(home), "/local/domain/%" PRIu32, l->self);
	name = xs_get(l->xs, XBT_NULL, home, "name", &err);
	if (!name)
		goto fail;
	err = strcmp(name, service) == 0 ? 0 : -ENOENT;
	free(name);
	if (err)
		goto fail;
	snprintf(l->watch, sizeof(l->watch), "/local/domain/%" PRIu32 "/backend/vos", l->self);
	snprintf(l->base, sizeof(l->base), "/local/domain/%" PRIu32 "/backend/vos/%u",
		 l->self, VOS_XEN_PRIMARY_DOMID);
	if (!xs_watch(l->xs, l->watch, "vos-listen")) {
		err = errno ? -errno : -EIO;
		dbg("watch %s: %s", l->watch, strerror(errno));
		goto fail;
	}
	l->fd = xs_fileno(l->xs);
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
	xs_drop(l->xs, l->owner);
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

	while ((ev = xs_check_watch(l->xs)) != NULL) {
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
				if (!parse_u64(num, UINT64_MAX, &devid))
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
	char *v = xs_get(xs, XBT_NULL, dir, node, err);

	if (!v && *err == -ENOENT) {
		dbg("frontend node %s/%s missing", dir, node);
		*err = -EPROTO;         /* a required node is missing */
	}
	return v;
}

static int read_num(struct xs_handle *xs, const char *dir, const char *node,
		    uint64_t max, uint64_t *out)
{
	int err = xs_get_u64(xs, XBT_NULL, dir, node, max, out);

	if (err)
		dbg("frontend node %s/%s: %s", dir, node, strerror(-err));
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
	char fdir[PATH_LEN], node[24];
	uint64_t v, n;
	char *s;
	int err;

	memset(c, 0, sizeof(*c));
	c->self_domid = l->self;
	c->front_domid = VOS_XEN_PRIMARY_DOMID;
	c->devid = devid;
	frontend_path(fdir, devid);

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
		err = parse_list(s, c->refs + first, (int)want, want, UINT32_MAX);
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
	err = parse_token(s, c->hello.token);
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
	err = parse_list(s, c->gids, -1, VOS_XEN_MAX_GIDS, UINT32_MAX - 1);
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
	int st = xs_state(xs, txn, w->bdir);
	int err = 0;

	if (st == -ENOENT)
		return -EPIPE;
	if (w->token) {
		format_token(w->token, tok);
		err = xs_put_raw(xs, txn, w->bdir, "token", tok);
	}
	if (!err && w->with_status)
		err = xs_put(xs, txn, w->bdir, "status", "%d", w->status);
	if (!err && w->state)
		err = xs_put(xs, txn, w->bdir, "state", "%d", w->state);
	return err;
}

/* Try one devid: 1 accepted, 0 not a new frontend, < 0 rejected (answered). */
static int try_accept(struct vos_xen_listener *l, uint64_t devid, struct vos_xen_conn *conn)
{
	struct backend_write w = { 0 };
	char bdir[PATH_LEN];
	int st, err;

	backend_path(bdir, l->self, devid);
	st = xs_state(l->xs, XBT_NULL, bdir);
	if (st != VOS_XEN_INITIALISING)
		return 0;
	w.bdir = bdir;
	err = read_frontend(l, devid, conn);
	if (err) {
		dbg("frontend %" PRIu64 " rejected: %s", devid, strerror(-err));
		w.state = VOS_XEN_CLOSED;
		w.status = err;
		w.with_status = true;
		(void)xs_txn(l->xs, backend_write_body, &w);
		return err;
	}
	w.state = VOS_XEN_INITWAIT;
	err = xs_txn(l->xs, backend_write_body, &w);
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
		ids = xs_directory(l->xs, XBT_NULL, l->base, &n);
		if (!ids)
			return errno == ENOENT ? -EAGAIN : (errno ? -errno : -EIO);
		for (unsigned i = 0; i < n; i++) {
			uint64_t devid;

			if (parse_u64(ids[i], UINT64_MAX, &devid))
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
	char bdir[PATH_LEN];
	int err;

	if (!conn || !reply || reply->status > 0 || reply->status < -4095)
		return -EINVAL;
	backend_path(bdir, conn->self_domid, conn->devid);
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
	err = xs_txn(xs, backend_write_body, &w);
	xs_close(xs);
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
	t = xen_new(SERVICE);
	if (!t)
		return -ENOMEM;
	t->peer_domid = conn->front_domid;
	t->devid = conn->devid;
	backend_path(t->bpath, conn->self_domid, conn->devid);

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
		dbg("front page of %" PRIu64 " does not match its frontend (devid %" PRIu64
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
	err = xs_txn(t->xs, backend_write_body, &w);
	if (err)
		goto fail;
	*out = &t->x;
	return 0;
fail:
	t->bpath[0] = '\0';     /* a failed attach leaves the backend to reply() */
	xen_close(&t->x);
	return err;
}
