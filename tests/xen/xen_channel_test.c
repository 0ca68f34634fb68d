/*
 * xen_channel_test.c - the channel (rings, wake-up protocol) over the Xen
 * transport, between a process in dom0 and one in a service domain.
 *
 *   xen_channel_test serve [--service NAME] [--workers N]
 *       In the service domain.  Accepts channels; each is attached and served
 *       in a forked child (the way vos-serviced's shadows work) by N worker
 *       threads.  Logs "XT-SERVER ..." lines on stdout.
 *   xen_channel_test all [--service NAME] [--guest-log FILE]
 *       In dom0: every test below, then "XT-RESULT PASS" or "XT-RESULT FAIL".
 *   xen_channel_test stress|rtt|reject|kill-client|kill-server|exec|fork
 *       In dom0: one test (see the functions of the same name).
 *
 * The test requests and their arguments: xt_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include "channel/channel.h"
#include "channel/ring.h"
#include "channel/transport_xen.h"
#include "common/vos_time.h"
#include "xt_common.h"

#define NSLOTS          32u
#define SLOT_SIZE       (16u * 1024u)
#define WAIT_LIMIT_MS   10000   /* a completion later than this is a failure */

static const char *service = "storage";
static const char *guest_log = "/var/log/xen/guest-storage.log";
static const char *self_path;

/* ================================================================= server */

struct served {
	struct vos_channel ch;
	_Atomic unsigned spin;
	_Atomic unsigned active;        /* workers taking requests, 0 = all */
	_Atomic unsigned next_idx;
	volatile int stop;
	_Atomic uint64_t requests;
	_Atomic int end;                /* why the workers stopped (0 or -errno) */
};

static int64_t handle(struct served *s, const struct vos_entry *e)
{
	uint32_t slot = VOS_ID_SLOT(e->id);
	uint8_t *buf;
	int64_t len;

	if (slot >= s->ch.nslots)
		return -EPROTO;
	switch (e->arg[0]) {
	case CMD_NULL:
		return 0;
	case CMD_SPIN:
		atomic_store(&s->spin, (unsigned)e->arg[1]);
		atomic_store(&s->active, (unsigned)e->arg[2]);
		return 0;
	case CMD_DIE:
		_exit(3);
	case CMD_HANG:
		for (int i = 0; i < 1200 && !s->stop; i++)
			usleep(100000);
		return 0;
	case CMD_ECHO:
		len = e->arg[1];
		if (!vos_slot_range_ok(&s->ch, 0, len))
			return -EINVAL;
		buf = vos_channel_slot(&s->ch, slot);
		if (fnv1a(buf, (size_t)len) != (uint64_t)e->arg[2])
			return -EBADMSG;
		for (int64_t i = 0; i < len; i++)
			buf[i] ^= XT_ECHO_XOR;
		return (int64_t)(fnv1a(buf, (size_t)len) & INT64_MAX);
	default:
		return -ENOSYS;
	}
}

static void *worker(void *arg)
{
	struct served *s = arg;
	unsigned idx = atomic_fetch_add(&s->next_idx, 1);

	while (!s->stop) {
		struct vos_entry e, c;
		unsigned active = atomic_load(&s->active);
		int err;

		if (active && idx >= active) {
			usleep(20000);
			continue;
		}
		err = vos_channel_next_request(&s->ch, &e, atomic_load(&s->spin), &s->stop);

		if (err == -EINTR)
			continue;
		if (err) {
			int zero = 0;

			atomic_compare_exchange_strong(&s->end, &zero, err);
			s->stop = 1;
			/* Wake the other workers: they see stop on their next timeout. */
			break;
		}
		atomic_fetch_add(&s->requests, 1);
		memset(&c, 0, sizeof(c));
		c.id = e.id;
		c.op = e.op;
		c.arg[0] = handle(s, &e);
		if (vos_channel_complete(&s->ch, &c) < 0)
			s->stop = 1;
	}
	return NULL;
}

/* A forked child: attach, answer, serve until the client goes away. */
static int serve_one(const struct vos_xen_conn *conn, int nworkers)
{
	struct vos_hello_reply rep = { 0 };
	struct served *s = calloc(1, sizeof(*s));
	struct vos_xport *xp;
	pthread_t th[8];
	int err;

	if (!s)
		return 1;
	atomic_store(&s->spin, 0);
	if (getrandom(rep.token, sizeof(rep.token), 0) != (ssize_t)sizeof(rep.token))
		return 1;
	uint64_t t0 = vos_now_ns();

	err = vos_xen_attach(conn, vos_channel_bytes(VOS_MAX_SLOTS, SLOT_SIZE * 4), &xp);
	if (!err)
		err = vos_channel_open(&s->ch, xp, VOS_SVC_STORAGE);
	if (err) {
		rep.status = err;
		(void)vos_xen_reply(conn, &rep);
		printf("XT-SERVER attach pid=%d failed: %s\n", (int)conn->cred.pid, strerror(-err));
		return 1;
	}
	memcpy(s->ch.hdr->token, rep.token, VOS_TOKEN_LEN);
	atomic_store(&s->ch.hdr->service_state, VOS_STATE_READY);
	err = vos_xen_reply(conn, &rep);
	printf("XT-SERVER attached pid=%d devid=%" PRIu64 " pages=%u uid=%u gids=%u reply=%d "
	       "attach+reply=%.1fms\n", (int)conn->cred.pid, conn->devid, conn->nr_pages,
	       (unsigned)conn->cred.uid, conn->ngids, err, (double)(vos_now_ns() - t0) / 1e6);
	fflush(stdout);
	if (nworkers < 1 || nworkers > 8)
		nworkers = 1;
	for (int i = 0; i < nworkers; i++)
		pthread_create(&th[i], NULL, worker, s);
	for (int i = 0; i < nworkers; i++)
		pthread_join(th[i], NULL);
	printf("XT-SERVER end pid=%d requests=%" PRIu64 " reason=%s\n", (int)conn->cred.pid,
	       atomic_load(&s->requests), atomic_load(&s->end) == -EPIPE ? "EPIPE" :
	       strerror(-atomic_load(&s->end)));
	fflush(stdout);
	xp->ops->close(xp);
	return 0;
}

/* A hostile backend: a malformed status and token where the client expects
 * its answer (the client must refuse with -EPROTO, not crash or hang). */
static int junk_answer(const struct vos_xen_conn *conn)
{
	struct xs_handle *xs = xs_open(0);
	char dir[128], path[160];
	static const char *const nodes[][2] = {
		{ "token", "zz" }, { "status", "12abc" }, { "state", "4" },
	};
	int err = 0;

	if (!xs)
		return -errno;
	snprintf(dir, sizeof(dir), "/local/domain/%u/backend/vos/0/%" PRIu64, conn->self_domid,
		 conn->devid);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, nodes[i][0]);
		if (!xs_write(xs, XBT_NULL, path, nodes[i][1], (unsigned)strlen(nodes[i][1])))
			err = -errno;
	}
	xs_close(xs);
	return err;
}

/* A DomU must not see dom0's private nodes. */
static void check_permissions(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned len;
	void *v;

	if (!xs) {
		printf("XT-SERVER perm-check: no xenstore (%s)\n", strerror(errno));
		return;
	}
	v = xs_read(xs, XBT_NULL, "/local/domain/0/name", &len);
	printf("XT-SERVER perm-check %s (read of dom0's name: %s)\n",
	       v ? "FAIL" : "ok", v ? "allowed" : strerror(errno));
	free(v);
	xs_close(xs);
}

static int cmd_serve(int nworkers)
{
	struct vos_xen_listener *l;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	check_permissions();
	err = vos_xen_listen(service, &l);
	if (err) {
		printf("XT-SERVER listen failed: %s\n", strerror(-err));
		return 1;
	}
	printf("XT-SERVER ready service=%s\n", service);
	for (;;) {
		struct pollfd p = { .fd = vos_xen_listener_fd(l), .events = POLLIN };
		struct vos_xen_conn *conn = malloc(sizeof(*conn));
		pid_t pid;
		int st;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			printf("XT-SERVER child %d %s %d\n", (int)pid,
			       WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		if (!conn)
			return 1;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return 1;
		for (;;) {
			uint64_t t0 = vos_now_ns();

			err = vos_xen_accept(l, conn);
			if (err == -EAGAIN)
				break;
			if (err) {
				printf("XT-SERVER accept: %s\n", strerror(-err));
				return 1;
			}
			printf("XT-SERVER accepted pid=%d in %.1fms\n", (int)conn->cred.pid,
			       (double)(vos_now_ns() - t0) / 1e6);
			if (conn->hello.kind == VOS_HELLO_FORK_LIVE && conn->hello.token[0] == 0xbb) {
				printf("XT-SERVER junk answer pid=%d: %d\n", (int)conn->cred.pid,
				       junk_answer(conn));
				continue;
			}
			if (conn->hello.kind == VOS_HELLO_CLAIM) {
				/* This test server has no pending shadows to claim. */
				struct vos_hello_reply rep = { .status = -ESRCH };

				printf("XT-SERVER refuse claim pid=%d: %d\n", (int)conn->cred.pid,
				       vos_xen_reply(conn, &rep));
				continue;
			}
			pid = fork();
			if (pid == 0) {
				vos_xen_listener_close(l);      /* the child's copy only */
				_exit(serve_one(conn, nworkers));
			}
			if (pid < 0)
				printf("XT-SERVER fork: %s\n", strerror(errno));
		}
		free(conn);
	}
}

/* ================================================================= client */

struct client {
	struct vos_xport *xp;
	struct vos_channel ch;
	uint32_t gen[NSLOTS];
	unsigned spin;
};

static int client_open(struct client *c, int kind, uint8_t fill)
{
	uint64_t size = vos_channel_bytes(NSLOTS, SLOT_SIZE);
	struct vos_hello hello = { .magic = VOS_HELLO_MAGIC, .version = VOS_PROTO_VERSION };
	struct vos_hello_reply rep;
	int err;

	memset(c, 0, sizeof(*c));
	err = vos_xen_create(service, size, &c->xp);
	if (err)
		return err;
	err = vos_channel_format(c->xp->mem, size, VOS_SVC_STORAGE, NSLOTS, SLOT_SIZE);
	if (!err)
		err = vos_channel_open(&c->ch, c->xp, VOS_SVC_STORAGE);
	hello.kind = (uint32_t)kind;
	hello.umask = 022;
	memset(hello.token, fill, sizeof(hello.token));
	if (!err)
		err = vos_xen_connect(c->xp, &hello, &rep);
	if (err) {
		c->xp->ops->close(c->xp);
		c->xp = NULL;
		return err;
	}
	if (memcmp(rep.token, c->ch.hdr->token, VOS_TOKEN_LEN) != 0)
		fprintf(stderr, "xen_channel_test: reply token differs from the header's\n");
	return 0;
}

static void client_close(struct client *c)
{
	if (c->xp)
		c->xp->ops->close(c->xp);
	c->xp = NULL;
}

/* Next completion, with the client half of the wake-up protocol. */
static int get_completion(struct client *c, struct vos_entry *out)
{
	struct vos_channel_hdr *h = c->ch.hdr;
	uint64_t deadline = vos_now_ns() + (uint64_t)WAIT_LIMIT_MS * 1000000u;

	for (;;) {
		int err = vos_ring_dequeue(&c->ch.ready, out);

		if (err != -EAGAIN)
			return err;
		for (unsigned i = 0; i < c->spin; i++) {
			vos_cpu_relax();
			if (vos_ring_maybe_nonempty(&c->ch.ready))
				break;
		}
		err = vos_ring_dequeue(&c->ch.ready, out);
		if (err != -EAGAIN)
			return err;
		atomic_store(&h->client_sleeping, 1);
		vos_full_fence();
		err = vos_ring_dequeue(&c->ch.ready, out);
		if (err != -EAGAIN) {
			atomic_store(&h->client_sleeping, 0);
			return err;
		}
		atomic_fetch_add(&h->client_sleeps, 1);
		err = c->xp->ops->wait(c->xp, 1000);
		atomic_store(&h->client_sleeping, 0);
		if (err < 0 && err != -EINTR)
			return err;
		if (vos_now_ns() > deadline)
			return -ETIMEDOUT;
	}
}

static int submit(struct client *c, uint32_t slot, const int64_t args[3])
{
	struct vos_entry e;

	memset(&e, 0, sizeof(e));
	c->gen[slot] = (c->gen[slot] + 1) & 0xffffff;
	e.id = VOS_ID(slot, c->gen[slot]);
	e.op = VOS_OP_NOP;
	for (int i = 0; i < 3; i++)
		e.arg[i] = args[i];
	return vos_channel_submit(&c->ch, &e);
}

/* One synchronous call; the result in *res. */
static int call2(struct client *c, int64_t cmd, int64_t a1, int64_t a2, int64_t *res)
{
	int64_t args[3] = { cmd, a1, a2 };
	struct vos_entry e;
	int err = submit(c, 0, args);

	if (!err)
		err = get_completion(c, &e);
	if (!err && e.id != VOS_ID(0, c->gen[0]))
		err = -EPROTO;
	if (!err && res)
		*res = e.arg[0];
	return err;
}

static int call(struct client *c, int64_t cmd, int64_t a1, int64_t *res)
{
	return call2(c, cmd, a1, 0, res);
}

struct counters { uint64_t cn, sn, cs, ss; };

static void counters(struct client *c, struct counters *k)
{
	struct vos_channel_hdr *h = c->ch.hdr;

	k->cn = atomic_load(&h->client_notifies);
	k->sn = atomic_load(&h->service_notifies);
	k->cs = atomic_load(&h->client_sleeps);
	k->ss = atomic_load(&h->service_sleeps);
}

#define CHECK(cond, ...) do { if (!(cond)) { \
	printf("XT-FAIL %s: ", __func__); printf(__VA_ARGS__); printf("\n"); return 1; } } while (0)

/* Fill slot with pseudo-random data of a pseudo-random length (from
 * *seed) and submit its ECHO; *expect: the answer the server must give. */
static int submit_echo(struct client *c, uint32_t slot, uint32_t *seed, uint64_t *expect)
{
	uint8_t *buf = vos_channel_slot(&c->ch, slot);
	uint32_t len = 1 + (*seed = *seed * 1103515245u + 12345u) % SLOT_SIZE;
	int64_t args[3];

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((*seed >> 16) + i * 7);
	*expect = (uint64_t)xt_echo_request(buf, len, args);
	return submit(c, slot, args);
}

/* Checksummed echo with `depth` requests in flight over all slots. */
static int stress(unsigned requests, unsigned depth, unsigned spin, unsigned server_spin)
{
	struct client c;
	uint64_t expect[NSLOTS], sent = 0, done = 0, t0;
	uint32_t seed = 12345;
	struct counters k0, k1;
	int64_t r;
	int err = client_open(&c, VOS_HELLO_NEW, 0);

	CHECK(!err, "connect: %s", strerror(-err));
	c.spin = spin;
	/* Sleeping: both workers (concurrent waits on one event channel);
	 * spinning: one, so it does not share its vCPU with the other. */
	err = call2(&c, CMD_SPIN, server_spin, server_spin ? 1 : 0, &r);
	CHECK(!err && r == 0, "spin command: %s", strerror(-err));
	if (depth > NSLOTS)
		depth = NSLOTS;
	counters(&c, &k0);
	t0 = vos_now_ns();
	for (uint32_t slot = 0; slot < depth && sent < requests; slot++, sent++) {
		err = submit_echo(&c, slot, &seed, &expect[slot]);
		CHECK(!err, "submit: %s", strerror(-err));
	}
	while (done < sent) {
		struct vos_entry e;
		uint32_t slot;

		err = get_completion(&c, &e);
		CHECK(!err, "completion %" PRIu64 ": %s", done, strerror(-err));
		slot = VOS_ID_SLOT(e.id);
		CHECK(slot < depth && e.id == VOS_ID(slot, c.gen[slot]), "bad id %#x", e.id);
		CHECK(e.arg[0] == (int64_t)expect[slot], "slot %u: result %" PRId64 " want %" PRIu64,
		      slot, e.arg[0], expect[slot]);
		done++;
		if (sent < requests) {
			err = submit_echo(&c, slot, &seed, &expect[slot]);
			CHECK(!err, "submit: %s", strerror(-err));
			sent++;
		}
	}
	counters(&c, &k1);
	printf("XT-STRESS requests=%" PRIu64 " depth=%u spin=%u/%u time=%.3fs notifies/call=%.3f "
	       "sleeps/call=%.3f\n", done, depth, spin, server_spin,
	       (double)(vos_now_ns() - t0) / 1e9,
	       (double)(k1.cn - k0.cn + k1.sn - k0.sn) / (double)done,
	       (double)(k1.cs - k0.cs + k1.ss - k0.ss) / (double)done);
	client_close(&c);
	return 0;
}

/* Null-call round trip, one call in flight, spinning vs sleeping peers. */
static int rtt(unsigned spin_calls, unsigned sleep_calls)
{
	static const struct { const char *name; unsigned cspin, sspin; } modes[] = {
		{ "spin", BIG_SPIN, BIG_SPIN },
		{ "sleep", 0, 0 },
		{ "client-spin/service-sleep", BIG_SPIN, 0 },
	};
	double us[3];
	struct client c;
	int64_t r;
	int err = client_open(&c, VOS_HELLO_NEW, 0);

	CHECK(!err, "connect: %s", strerror(-err));
	for (unsigned m = 0; m < 3; m++) {
		unsigned n = modes[m].cspin ? spin_calls : sleep_calls;
		struct counters k0, k1;
		uint64_t t0;

		c.spin = modes[m].cspin;
		err = call2(&c, CMD_SPIN, modes[m].sspin, 1, &r);
		CHECK(!err, "spin command: %s", strerror(-err));
		for (unsigned i = 0; i < n / 10 + 1; i++)       /* warm up */
			CHECK(!call(&c, CMD_NULL, 0, &r), "warm-up call");
		counters(&c, &k0);
		t0 = vos_now_ns();
		for (unsigned i = 0; i < n; i++) {
			err = call(&c, CMD_NULL, 0, &r);
			CHECK(!err && r == 0, "call %u: %s", i, strerror(-err));
		}
		us[m] = (double)(vos_now_ns() - t0) / 1e3 / n;
		counters(&c, &k1);
		printf("XT-RTT mode=%s calls=%u rtt_us=%.3f notifies/call=%.3f (client %.3f service %.3f) "
		       "sleeps/call=%.3f\n", modes[m].name, n, us[m],
		       (double)(k1.cn - k0.cn + k1.sn - k0.sn) / n, (double)(k1.cn - k0.cn) / n,
		       (double)(k1.sn - k0.sn) / n, (double)(k1.cs - k0.cs + k1.ss - k0.ss) / n);
	}
	printf("XT-RTT ratio sleep/spin=%.0f\n", us[1] / us[0]);
	(void)call(&c, CMD_SPIN, 0, &r);
	client_close(&c);
	return 0;
}

/* The service refuses: connect returns its status. */
static int reject(void)
{
	struct client c;
	int err = client_open(&c, VOS_HELLO_CLAIM, 0xee);

	CHECK(err == -ESRCH, "claim of an unknown token: got %d (%s), want -ESRCH", err,
	      strerror(-err));
	printf("XT-OK reject: %s\n", strerror(-err));
	return 0;
}

/* Malformed answers from the service domain are refused. */
static int junk_backend(void)
{
	struct client c;
	int err = client_open(&c, VOS_HELLO_FORK_LIVE, 0xbb);

	CHECK(err == -EPROTO, "junk answer: got %d (%s), want -EPROTO", err, strerror(-err));
	printf("XT-OK junk-backend: %s\n", strerror(-err));
	return 0;
}

/* A frontend written by hand with an out-of-range page count: the service
 * answers -EPROTO and closes the backend. */
static int junk_frontend(void)
{
	struct xs_handle *xs = xs_open(0);
	static const char *const nodes[][2] = {
		{ "backend-id", NULL }, { "version", "1" }, { "front-ref", "8" },
		{ "back-ref", "9" }, { "event-channel", "1" }, { "nr-pages", "100000" },
		{ "ring-ref0", "10" }, { "state", "3" },
	};
	char fdir[128], bdir[128], path[192], dom[16], *v = NULL;
	unsigned n = 0, len;
	char **ids;
	int svc = -1;

	CHECK(xs, "xs_open: %s", strerror(errno));
	ids = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; ids && i < n; i++) {
		snprintf(path, sizeof(path), "/local/domain/%s/name", ids[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && strcmp(v, service) == 0)
			svc = atoi(ids[i]);
		free(v);
	}
	free(ids);
	CHECK(svc > 0, "no domain %s", service);
	snprintf(dom, sizeof(dom), "%d", svc);
	snprintf(fdir, sizeof(fdir), "/local/domain/0/device/vos/%d", 999000 + (int)getpid() % 1000);
	snprintf(bdir, sizeof(bdir), "/local/domain/%d/backend/vos/0/%d", svc,
		 999000 + (int)getpid() % 1000);
	struct xs_permissions fp[2] = { { 0, XS_PERM_NONE }, { (unsigned)svc, XS_PERM_READ } };
	struct xs_permissions bp[2] = { { (unsigned)svc, XS_PERM_NONE }, { 0, XS_PERM_READ } };
	CHECK(xs_mkdir(xs, XBT_NULL, fdir) && xs_set_permissions(xs, XBT_NULL, fdir, fp, 2),
	      "mkdir %s", fdir);
	for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		const char *val = nodes[i][1] ? nodes[i][1] : dom;

		snprintf(path, sizeof(path), "%s/%s", fdir, nodes[i][0]);
		CHECK(xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val)), "write %s", path);
	}
	CHECK(xs_mkdir(xs, XBT_NULL, bdir) && xs_set_permissions(xs, XBT_NULL, bdir, bp, 2),
	      "mkdir %s", bdir);
	snprintf(path, sizeof(path), "%s/state", bdir);
	CHECK(xs_write(xs, XBT_NULL, path, "1", 1), "write %s", path);
	snprintf(path, sizeof(path), "%s/status", bdir);
	v = NULL;
	for (int i = 0; i < 100 && !v; i++) {
		usleep(100000);
		v = xs_read(xs, XBT_NULL, path, &len);
	}
	CHECK(v && strcmp(v, "-71") == 0, "status of a junk frontend: %s, want -71 (EPROTO)",
	      v ? v : "none after 10 s");
	free(v);
	xs_rm(xs, XBT_NULL, fdir);
	xs_rm(xs, XBT_NULL, bdir);
	xs_close(xs);
	printf("XT-OK junk-frontend: refused with EPROTO\n");
	return 0;
}

/* Count lines of the guest log that contain `needle`. */
static int log_count(const char *needle)
{
	FILE *f = fopen(guest_log, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* Wait (bounded) for `needle` to appear in the guest log. */
static int log_wait(const char *needle, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		int n = log_count(needle);

		if (n < 0)
			return -1;
		if (n > 0)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* A client killed with SIGKILL: the server learns through gntalloc's unmap
 * notification (no xenstore update happens). */
static int kill_client(void)
{
	char needle[64];
	int st, p[2];
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = fork();
	if (pid == 0) {
		struct client c;
		int64_t r;
		char ok = client_open(&c, VOS_HELLO_NEW, 0) == 0 && call(&c, CMD_NULL, 0, &r) == 0;

		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		raise(SIGKILL);
	}
	char ok = 0;
	close(p[1]);
	CHECK(read(p[0], &ok, 1) == 1 && ok, "the child could not connect");
	close(p[0]);
	waitpid(pid, &st, 0);
	snprintf(needle, sizeof(needle), "XT-SERVER end pid=%d ", (int)pid);
	if (log_count("XT-SERVER") < 0) {
		printf("XT-SKIP kill-client: cannot read %s\n", guest_log);
		return 0;
	}
	CHECK(log_wait(needle, 15) == 0, "the server did not notice the death of client %d",
	      (int)pid);
	snprintf(needle, sizeof(needle), "XT-SERVER end pid=%d requests=1 reason=EPIPE", (int)pid);
	CHECK(log_count(needle) == 1, "the server ended for another reason than EPIPE");
	printf("XT-OK kill-client: the server saw EPIPE\n");
	return 0;
}

/* The serving process dies in the middle of a call: the client's wait
 * returns -EPIPE (gntdev's unmap notification), not a timeout. */
static int kill_server(void)
{
	struct client c;
	uint64_t t0;
	int64_t r;
	int err = client_open(&c, VOS_HELLO_NEW, 0);

	CHECK(!err, "connect: %s", strerror(-err));
	CHECK(!call(&c, CMD_NULL, 0, &r), "first call");
	CHECK(c.xp->ops->peer_alive(c.xp), "peer_alive false while the server lives");
	t0 = vos_now_ns();
	err = call(&c, CMD_DIE, 0, &r);
	CHECK(err == -EPIPE, "call to a dying server: got %d (%s), want -EPIPE", err, strerror(-err));
	CHECK(!c.xp->ops->peer_alive(c.xp), "peer_alive true after the server died");
	printf("XT-OK kill-server: EPIPE after %.1f ms\n", (double)(vos_now_ns() - t0) / 1e6);
	client_close(&c);
	return 0;
}

/* The whole service domain is destroyed while a call is in flight: the
 * client's wait returns -EPIPE (xenstore watch), and a new channel to the
 * service fails cleanly.  The driver script runs "xl destroy" once this
 * prints XT-READY. */
static int domain_death(void)
{
	struct client c;
	struct vos_xport *xp;
	struct vos_entry e;
	int64_t args[3] = { CMD_HANG, 0, 0 };
	uint64_t t0;
	int err = client_open(&c, VOS_HELLO_NEW, 0);

	CHECK(!err, "connect: %s", strerror(-err));
	CHECK(!submit(&c, 0, args), "submit");
	printf("XT-READY domain-death\n");
	t0 = vos_now_ns();
	do
		err = get_completion(&c, &e);
	while (err == -ETIMEDOUT && vos_now_ns() - t0 < 60000000000ULL);
	CHECK(err == -EPIPE, "call in flight during the domain's death: got %d (%s), want -EPIPE",
	      err, strerror(-err));
	CHECK(!c.xp->ops->peer_alive(c.xp), "peer_alive true after the domain died");
	printf("XT-OK domain-death: EPIPE %.1f s after the call started\n",
	       (double)(vos_now_ns() - t0) / 1e9);
	client_close(&c);
	for (int i = 0; i < 100; i++) {
		err = vos_xen_create(service, 4096, &xp);
		if (err)
			break;
		xp->ops->close(xp);
		usleep(100000);
	}
	CHECK(err == -ENOENT, "a new channel to a destroyed domain: %d (%s), want -ENOENT",
	      err, strerror(-err));
	printf("XT-OK domain-death: new channel refused with %s\n", strerror(-err));
	return 0;
}

/* Argument checks that need no Xen (runs on any Linux host, e.g. under ASan). */
static int offline(void)
{
	struct vos_xen_fds bad = { -1, -1 };
	struct vos_xen_conn *conn = calloc(1, sizeof(*conn));
	struct vos_hello_reply rep = { .status = 5 };
	struct vos_xen_listener *l;
	struct vos_xport *xp;
	char buf[64];
	int fd, err;

	CHECK(conn, "calloc");
	CHECK(vos_xen_create("bad/name", 4096, &xp) == -EINVAL, "slash in the name");
	CHECK(vos_xen_create("", 4096, &xp) == -EINVAL, "empty name");
	CHECK(vos_xen_create("storage", 0, &xp) == -EINVAL, "size 0");
	CHECK(vos_xen_create("storage", (size_t)(VOS_XEN_MAX_PAGES + 1) * 4096, &xp) == -E2BIG,
	      "too big");
	CHECK(vos_xen_listen("a/b", &l) == -EINVAL, "listen: slash in the name");
	CHECK(vos_xen_adopt(NULL, &xp) == -EBADF, "adopt(NULL)");
	CHECK(vos_xen_adopt(&bad, &xp) == -EBADF, "adopt(-1, -1)");
	CHECK(vos_xen_peek_header(&bad, buf, sizeof(buf)) == -EBADF, "peek(-1)");
	/* A descriptor that is no gntalloc file: zeros are no front page. */
	fd = memfd_create("not-gntalloc", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, 3 * 4096) == 0, "memfd");
	struct vos_xen_fds junk = { fd, fd };
	CHECK(vos_xen_adopt(&junk, &xp) == -EPROTO, "adopt of junk");
	CHECK(fcntl(fd, F_GETFD) >= 0, "a failed adopt closed the caller's descriptor");
	CHECK(vos_xen_peek_header(&junk, buf, 8192) == -EINVAL, "peek over a page");
	CHECK(vos_xen_peek_header(&junk, buf, sizeof(buf)) == 0, "peek of a mappable file");
	close(fd);
	CHECK(vos_xen_reply(NULL, &rep) == -EINVAL, "reply(NULL)");
	CHECK(vos_xen_reply(conn, &rep) == -EINVAL, "reply with a positive status");
	CHECK(vos_xen_attach(conn, 1 << 20, &xp) == -EINVAL, "attach of 0 pages");
	conn->nr_pages = VOS_XEN_MAX_PAGES + 1;
	CHECK(vos_xen_attach(conn, SIZE_MAX, &xp) == -EINVAL, "attach of too many pages");
	conn->nr_pages = 16;
	CHECK(vos_xen_attach(conn, 15 * 4096, &xp) == -EINVAL, "attach over max_size");
	conn->front_domid = 7;
	CHECK(vos_xen_attach(conn, 16 * 4096, &xp) == -EINVAL, "attach of a non-dom0 frontend");
	if (!vos_xen_present()) {
		err = vos_xen_create("storage", 4096, &xp);
		CHECK(err < 0, "create without Xen succeeded");
		err = vos_xen_listen("storage", &l);
		CHECK(err < 0, "listen without Xen succeeded");
		err = vos_xen_reap_stale();
		CHECK(err < 0, "reap without Xen succeeded");
	}
	free(conn);
	printf("XT-OK offline argument checks\n");
	return 0;
}

/* The channel survives exec: clear close-on-exec, exec, adopt. */
static int exec_test(void)
{
	struct client c;
	struct vos_xen_fds fds;
	char a1[16], a2[16];
	int64_t r;
	int err = client_open(&c, VOS_HELLO_NEW, 0);

	CHECK(!err, "connect: %s", strerror(-err));
	CHECK(!call(&c, CMD_NULL, 0, &r), "call before exec");
	vos_xen_get_fds(c.xp, &fds);
	fcntl(fds.gntalloc, F_SETFD, 0);
	fcntl(fds.evtchn, F_SETFD, 0);
	snprintf(a1, sizeof(a1), "%d", fds.gntalloc);
	snprintf(a2, sizeof(a2), "%d", fds.evtchn);
	fflush(stdout);
	execl("/proc/self/exe", self_path, "adopted", a1, a2, (char *)NULL);
	printf("XT-FAIL exec %s: %s\n", self_path, strerror(errno));
	return 1;
}

static int adopted(int gfd, int efd)
{
	struct vos_xen_fds fds = { .gntalloc = gfd, .evtchn = efd };
	struct client c;
	int64_t r;
	int err;

	memset(&c, 0, sizeof(c));
	err = vos_xen_adopt(&fds, &c.xp);
	CHECK(!err, "adopt: %s", strerror(-err));
	err = vos_channel_open(&c.ch, c.xp, VOS_SVC_STORAGE);
	CHECK(!err, "channel_open after adopt: %s", strerror(-err));
	/* Generations restart; the ring positions carry on. */
	c.gen[0] = 0x1000;
	for (int i = 0; i < 100; i++) {
		err = call(&c, CMD_NULL, 0, &r);
		CHECK(!err && r == 0, "call %d after exec: %s", i, strerror(-err));
	}
	CHECK(fcntl(gfd, F_GETFD) == FD_CLOEXEC, "close-on-exec not restored");
	printf("XT-OK exec: 100 calls on the adopted channel\n");
	client_close(&c);
	return 0;
}

/* A fork child drops the inherited transport and opens its own; the
 * parent's channel is unaffected. */
static int fork_test(void)
{
	struct client c;
	int64_t r;
	int st, err = client_open(&c, VOS_HELLO_NEW, 0);
	pid_t pid;

	CHECK(!err, "connect: %s", strerror(-err));
	CHECK(!call(&c, CMD_NULL, 0, &r), "call before fork");
	pid = fork();
	if (pid == 0) {
		struct client mine;

		client_close(&c);               /* the child's references only */
		if (client_open(&mine, VOS_HELLO_NEW, 0))
			_exit(2);
		for (int i = 0; i < 100; i++)
			if (call(&mine, CMD_NULL, 0, &r))
				_exit(3);
		client_close(&mine);
		_exit(0);
	}
	CHECK(pid > 0, "fork: %s", strerror(errno));
	for (int i = 0; i < 100; i++) {
		err = call(&c, CMD_NULL, 0, &r);
		CHECK(!err, "parent call %d: %s", i, strerror(-err));
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status %#x)", st);
	CHECK(c.xp->ops->peer_alive(c.xp), "parent's channel died with the child");
	for (int i = 0; i < 100; i++) {
		err = call(&c, CMD_NULL, 0, &r);
		CHECK(!err, "parent call %d after the child's exit: %s", i, strerror(-err));
	}
	printf("XT-OK fork: parent and child channels independent\n");
	client_close(&c);
	return 0;
}

/* Nothing of ours is left in xenstore once every test is done (the last
 * closes may still be going on: wait for it, bounded). */
static int leftovers(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned n = 0;

	CHECK(xs, "xs_open: %s", strerror(errno));
	for (int tries = 0; tries < 300; tries++) {
		(void)vos_xen_reap_stale();     /* the SIGKILLed client's nodes */
		n = 0;
		free(xs_directory(xs, XBT_NULL, "/local/domain/0/device/vos", &n));
		if (n == 0)
			break;
		usleep(100000);
	}
	xs_close(xs);
	CHECK(n == 0, "%u frontend dirs left", n);
	printf("XT-OK no xenstore leftovers\n");
	return 0;
}

static int run_all(void)
{
	int fails = 0;

	fails += stress(20000, NSLOTS, 0, 0);
	fails += stress(20000, 4, BIG_SPIN, BIG_SPIN);
	fails += rtt(20000, 500);
	fails += reject();
	fails += junk_backend();
	fails += junk_frontend();
	fails += fork_test();
	fails += kill_client();
	fails += kill_server();
	fails += leftovers();
	printf("XT-RESULT %s (%d failed)\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xen_channel_test serve [--service NAME] [--workers N]\n"
		"       xen_channel_test all|stress|rtt|reject|kill-client|kill-server|exec|fork|\n"
		"                        domain-death|offline\n"
		"                        [--service NAME] [--guest-log FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int workers = 2;

	self_path = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "adopted") == 0 && argc == 4)
		return adopted(atoi(argv[2]), atoi(argv[3]));
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--service") == 0)
			service = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0)
			workers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--guest-log") == 0)
			guest_log = argv[++i];
		else
			usage();
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(workers);
	if (strcmp(argv[1], "all") == 0)
		return run_all();
	if (strcmp(argv[1], "stress") == 0)
		return stress(20000, NSLOTS, 0, 0);
	if (strcmp(argv[1], "rtt") == 0)
		return rtt(20000, 500);
	if (strcmp(argv[1], "reject") == 0)
		return reject();
	if (strcmp(argv[1], "kill-client") == 0)
		return kill_client();
	if (strcmp(argv[1], "kill-server") == 0)
		return kill_server();
	if (strcmp(argv[1], "exec") == 0)
		return exec_test();
	if (strcmp(argv[1], "fork") == 0)
		return fork_test();
	if (strcmp(argv[1], "domain-death") == 0)
		return domain_death();
	if (strcmp(argv[1], "offline") == 0)
		return offline();
	usage();
}
