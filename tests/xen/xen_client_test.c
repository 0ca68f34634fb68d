/*
 * xen_client_test.c - the client call engine (libvirtuos/client) over the Xen
 * transport: a dom0 process calls "xen_channel_test serve" in the service
 * domain through vos_client_connect/vos_slot_call, as libvirtuos does.
 *
 *   xen_client_test all [--service NAME]
 *       every test below, then "XC-RESULT PASS" or "XC-RESULT FAIL"
 *   xen_client_test exec [--service NAME]
 *       the channel survives exec: a spawned child is refused its parent's
 *       channel (ESRCH) and forks the shadow with the peeked token; the
 *       process itself execs and adopts.  Ends with "XC-OK exec".
 *
 * The requests are those xen_channel_test's server answers (xt_common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include "channel/transport_local.h"   /* enum vos_hello_kind */
#include "client/client.h"
#include "common/vos_time.h"
#include "xt_common.h"

#define THREADS         8
#define ECHO_MAX        4096u

static const char *service = "storage";
static const char *self_path;

#define CHECK(cond, ...) do { if (!(cond)) { \
	printf("XC-FAIL %s: ", __func__); printf(__VA_ARGS__); printf("\n"); return 1; } } while (0)

/* transport NULL: $VOS_TRANSPORT decides (set to "xen" by main). */
static struct vos_client_config config(unsigned spin, uint32_t nslots)
{
	struct vos_client_config cfg = {
		.transport = NULL,
		.service = service,
		.kind = VOS_SVC_STORAGE,
		.nslots = nslots,
		.spin = spin,
		.dead_after_ms = 30000,        /* the test server ticks no heartbeat */
	};
	return cfg;
}

static struct vos_client *connect_new(unsigned spin, uint32_t nslots)
{
	struct vos_client_config cfg = config(spin, nslots);

	return vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
}

/* Tell the serving process how to wait: spin budget, how many workers take
 * requests (0 = all). */
static int64_t server_mode(struct vos_client *c, unsigned spin, unsigned active)
{
	return vos_call0(c, VOS_OP_NOP, CMD_SPIN, spin, active);
}

/* One checksummed echo of `len` bytes through a slot. */
static int echo(struct vos_client *c, uint32_t len, unsigned *seed)
{
	struct vos_slot *s;
	uint8_t *buf;
	uint64_t want;
	int64_t res;

	if (vos_slot_acquire(c, &s))
		return 1;
	buf = vos_slot_buf(s);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rand_r(seed);
	struct vos_req r = { .op = VOS_OP_NOP };
	want = (uint64_t)xt_echo_request(buf, len, r.arg);
	res = vos_slot_call(s, &r);
	/* The server XORed the slot in place: it must now hash to want. */
	int bad = res != (int64_t)want || (fnv1a(buf, len) & INT64_MAX) != want;
	vos_slot_release(s);
	return bad;
}

struct caller {
	struct vos_client *c;
	unsigned calls, seed;
	int errors;
};

static void *caller_main(void *arg)
{
	struct caller *k = arg;

	for (unsigned i = 0; i < k->calls; i++) {
		if (i % 2 == 0)
			k->errors += vos_call0(k->c, VOS_OP_NOP, CMD_NULL, 0, 0) != 0;
		else
			k->errors += echo(k->c, 1 + (unsigned)rand_r(&k->seed) % ECHO_MAX, &k->seed);
	}
	return NULL;
}

/* nthreads callers on one client; returns the number of failed calls. */
static int run_callers(struct vos_client *c, int nthreads, unsigned calls)
{
	pthread_t th[THREADS];
	struct caller k[THREADS];
	int errors = 0;

	for (int i = 0; i < nthreads; i++) {
		k[i] = (struct caller){ .c = c, .calls = calls, .seed = 77u + (unsigned)i };
		if (pthread_create(&th[i], NULL, caller_main, &k[i]))
			return -1;
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		errors += k[i].errors;
	}
	return errors;
}

/* Many threads, fewer slots than threads: slot waits, the poller hand-over
 * and cross-thread draining over event channels. */
static int threads(const char *name, unsigned cspin, unsigned sspin, unsigned active,
		   unsigned calls)
{
	struct vos_client_stats a, b;
	struct vos_client *c = connect_new(cspin, 4);
	uint64_t t0;
	int errors;

	CHECK(c, "connect: %s", strerror(errno));
	CHECK(server_mode(c, sspin, active) == 0, "server mode");
	vos_client_stats(c, &a);
	t0 = vos_now_ns();
	errors = run_callers(c, THREADS, calls);
	double secs = (double)(vos_now_ns() - t0) / 1e9;
	vos_client_stats(c, &b);
	uint64_t n = (uint64_t)THREADS * calls;
	CHECK(errors == 0, "%s: %d of %" PRIu64 " calls failed", name, errors, n);
	CHECK(b.requests - a.requests == n && b.completions - a.completions == n,
	      "%s: requests %" PRIu64 " completions %" PRIu64 ", want %" PRIu64, name,
	      b.requests - a.requests, b.completions - a.completions, n);
	CHECK(b.bad_completions == 0 && b.protocol_errors == 0,
	      "%s: bad completions %" PRIu64 ", protocol errors %" PRIu64, name,
	      b.bad_completions, b.protocol_errors);
	CHECK(!vos_client_dead(c), "%s: client dead", name);
	printf("XC-THREADS %s threads=%d slots=4 calls=%" PRIu64 " time=%.2fs "
	       "notifies/call=%.3f sleeps/call=%.3f\n", name, THREADS, n, secs,
	       (double)(b.client_notifies - a.client_notifies + b.service_notifies -
			a.service_notifies) / (double)n,
	       (double)(b.client_sleeps - a.client_sleeps + b.service_sleeps -
			a.service_sleeps) / (double)n);
	vos_client_close(c);
	return 0;
}

/* Null-call round trip through vos_slot_call, one call in flight. */
static int rtt(void)
{
	static const struct { const char *name; unsigned cspin, sspin, n; } modes[] = {
		{ "spin", BIG_SPIN, BIG_SPIN, 20000 },
		{ "sleep", 1, 0, 500 },
		{ "client-spin/service-sleep", BIG_SPIN, 0, 500 },
	};

	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct vos_client_stats a, b;
		struct vos_client *c = connect_new(modes[m].cspin, 0);
		struct vos_slot *s;
		unsigned n = modes[m].n;
		uint64_t t0;

		CHECK(c, "connect: %s", strerror(errno));
		/* One worker: a second would share the service domain's vCPU. */
		CHECK(server_mode(c, modes[m].sspin, 1) == 0, "server mode");
		CHECK(vos_slot_acquire(c, &s) == 0, "acquire");
		struct vos_req r = { .op = VOS_OP_NOP, .arg = { CMD_NULL } };
		for (unsigned i = 0; i < n / 10 + 1; i++)
			CHECK(vos_slot_call(s, &r) == 0, "warm-up call %u", i);
		vos_client_stats(c, &a);
		t0 = vos_now_ns();
		for (unsigned i = 0; i < n; i++) {
			int64_t res = vos_slot_call(s, &r);

			CHECK(res == 0, "call %u: %" PRId64, i, res);
		}
		double us = (double)(vos_now_ns() - t0) / 1e3 / n;
		vos_client_stats(c, &b);
		vos_slot_release(s);
		printf("XC-RTT mode=%s calls=%u rtt_us=%.2f notifies/call=%.3f (client %.3f service "
		       "%.3f) sleeps/call=%.3f\n", modes[m].name, n, us,
		       (double)(b.client_notifies - a.client_notifies + b.service_notifies -
				a.service_notifies) / n,
		       (double)(b.client_notifies - a.client_notifies) / n,
		       (double)(b.service_notifies - a.service_notifies) / n,
		       (double)(b.client_sleeps - a.client_sleeps + b.service_sleeps -
				a.service_sleeps) / n);
		(void)server_mode(c, 0, 0);
		vos_client_close(c);
	}
	return 0;
}

/* Choosing the transport: $VOS_TRANSPORT, an explicit name, unknown names,
 * an unknown service domain. */
static int selection(void)
{
	struct vos_client_config cfg = config(0, 0);
	uint8_t tok[VOS_TOKEN_LEN];
	struct vos_client *c;
	int fds[4];

	c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);       /* $VOS_TRANSPORT=xen */
	CHECK(c, "connect with VOS_TRANSPORT=xen: %s", strerror(errno));
	vos_client_fds(c, fds);
	CHECK(fds[0] == -1 && fds[1] >= 0 && fds[2] >= 0 && fds[3] == -1,
	      "descriptor slots %d,%d,%d,%d", fds[0], fds[1], fds[2], fds[3]);
	CHECK(vos_client_peek_token(fds, tok) == 0, "peek_token");
	CHECK(memcmp(tok, vos_client_token(c), VOS_TOKEN_LEN) == 0,
	      "the header's token is not the one the service answered");
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call");
	CHECK(vos_call0(c, VOS_OP_NOP, 99, 0, 0) == -ENOSYS, "unknown command");
	vos_client_close(c);

	cfg.transport = "xen";
	cfg.rundir = NULL;
	c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	CHECK(c, "connect with transport xen: %s", strerror(errno));
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call");
	vos_client_close(c);

	cfg.transport = "Xen";
	errno = 0;
	CHECK(!vos_client_connect(&cfg, VOS_HELLO_NEW, NULL) && errno == EINVAL,
	      "unknown transport: errno %d", errno);
	cfg.transport = "local";        /* without a run directory */
	errno = 0;
	CHECK(!vos_client_connect(&cfg, VOS_HELLO_NEW, NULL) && errno == EINVAL,
	      "local without rundir: errno %d", errno);
	cfg.transport = "xen";
	cfg.service = "no-such-domain";
	errno = 0;
	CHECK(!vos_client_connect(&cfg, VOS_HELLO_NEW, NULL) && errno == ENOENT,
	      "unknown service domain: errno %d (%s)", errno, strerror(errno));
	printf("XC-OK selection\n");
	return 0;
}

/* A fork child abandons the inherited client (dropping only its own
 * references) and opens its own channel; the parent's keeps working. */
static int fork_abandon(void)
{
	struct vos_client *c = connect_new(0, 0);
	int st;
	pid_t pid;

	CHECK(c, "connect: %s", strerror(errno));
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call before fork");
	pid = fork();
	if (pid == 0) {
		struct vos_client *mine;

		vos_client_abandon(c);
		mine = connect_new(0, 0);
		if (!mine)
			_exit(2);
		for (int i = 0; i < 100; i++)
			if (vos_call0(mine, VOS_OP_NOP, CMD_NULL, 0, 0) != 0)
				_exit(3);
		vos_client_close(mine);
		_exit(0);
	}
	CHECK(pid > 0, "fork: %s", strerror(errno));
	for (int i = 0; i < 100; i++)
		CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "parent call %d", i);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status %#x)", st);
	for (int i = 0; i < 100; i++)
		CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0,
		      "parent call %d after the child's exit", i);
	CHECK(!vos_client_dead(c), "the parent's channel died with the child");
	vos_client_close(c);
	printf("XC-OK fork-abandon\n");
	return 0;
}

/* What the interposer does to move a channel to high descriptor numbers:
 * adopt from duplicates, abandon the first client in the same process. */
static int relocate(void)
{
	struct vos_client_config cfg = config(0, 0);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL), *c2;
	int fds[4], high[4];

	CHECK(c, "connect: %s", strerror(errno));
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call");
	vos_client_fds(c, fds);
	for (int i = 0; i < 4; i++) {
		high[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 500);
		CHECK(fds[i] < 0 || high[i] >= 500, "dup: %s", strerror(errno));
	}
	c2 = vos_client_adopt(&cfg, high);
	CHECK(c2, "adopt of the duplicates: %s", strerror(errno));
	vos_client_abandon(c);
	for (int i = 0; i < 4; i++)
		CHECK(fds[i] < 0 || fcntl(fds[i], F_GETFD) == -1, "slot %d still open", i);
	for (int i = 0; i < 200; i++)
		CHECK(vos_call0(c2, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call %d after relocation", i);
	CHECK(run_callers(c2, 4, 200) == 0, "threads after relocation");
	CHECK(!vos_client_dead(c2), "dead after relocation");
	vos_client_close(c2);
	printf("XC-OK relocate\n");
	return 0;
}

/* The serving process dies under a call: that call and every later one fail
 * with -EIO, without waiting for the heartbeat bound. */
static int service_death(void)
{
	struct vos_client_config cfg = config(0, 0);
	struct vos_client *c;
	uint64_t t0;
	int64_t r;

	cfg.dead_after_ms = 60000;
	c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	CHECK(c, "connect: %s", strerror(errno));
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call");
	t0 = vos_now_ns();
	r = vos_call0(c, VOS_OP_NOP, CMD_DIE, 0, 0);
	double ms = (double)(vos_now_ns() - t0) / 1e6;
	CHECK(r == -EIO, "call to a dying server: %" PRId64 ", want -EIO", r);
	CHECK(vos_client_dead(c), "not dead");
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == -EIO, "call after death");
	/* Not the heartbeat bound: the transport reported the death. */
	CHECK(ms < cfg.dead_after_ms, "-EIO came from the heartbeat bound (%.0f ms)", ms);
	vos_client_close(c);
	printf("XC-OK service-death: -EIO after %.1f ms\n", ms);
	return 0;
}

/* No frontend of this process is left in xenstore. */
static int leftovers(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned n = 0, mine = 0;
	char **d;

	CHECK(xs, "xs_open: %s", strerror(errno));
	d = xs_directory(xs, XBT_NULL, "/local/domain/0/device/vos", &n);
	for (unsigned i = 0; d && i < n; i++) {
		char path[128];
		unsigned len;
		char *v;

		snprintf(path, sizeof(path), "/local/domain/0/device/vos/%s/pid", d[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && atoi(v) == (int)getpid())
			mine++;
		free(v);
	}
	free(d);
	xs_close(xs);
	CHECK(mine == 0, "%u frontend dirs of this process left", mine);
	printf("XC-OK no xenstore leftovers\n");
	return 0;
}

static int run_all(void)
{
	int fails = 0;

	fails += selection();
	fails += threads("sleeping-service", 50, 0, 0, 1500);
	fails += threads("spinning-service", 0, BIG_SPIN, 1, 1500);
	fails += rtt();
	fails += fork_abandon();
	fails += relocate();
	fails += service_death();
	fails += leftovers();
	printf("XC-RESULT %s (%d failed)\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ exec */

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int parse_fds(const char *s, int fds[4])
{
	char extra;

	return sscanf(s, "%d,%d,%d,%d%c", &fds[0], &fds[1], &fds[2], &fds[3], &extra) == 4 ? 0 : -1;
}

/* Exec'd by a child of the channel's owner: not ours (ESRCH), but the token
 * lets us fork the owner's shadow (VOS_HELLO_FORK_LIVE). */
static int spawned(const char *fdlist, const char *want)
{
	struct vos_client_config cfg = config(0, 0);
	uint8_t tok[VOS_TOKEN_LEN];
	char got[2 * VOS_TOKEN_LEN + 1];
	struct vos_client *c;
	int fds[4];

	CHECK(parse_fds(fdlist, fds) == 0, "bad descriptor list %s", fdlist);
	errno = 0;
	CHECK(!vos_client_adopt(&cfg, fds) && errno == ESRCH,
	      "adopt of the parent's channel: errno %d (%s), want ESRCH", errno, strerror(errno));
	for (int i = 0; i < 4; i++)
		CHECK(fds[i] < 0 || fcntl(fds[i], F_GETFD) >= 0, "a refused adopt closed slot %d", i);
	CHECK(vos_client_peek_token(fds, tok) == 0, "peek_token");
	hex(tok, VOS_TOKEN_LEN, got);
	CHECK(strcmp(got, want) == 0, "peeked token %s, want %s", got, want);
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	c = vos_client_connect(&cfg, VOS_HELLO_FORK_LIVE, tok);
	CHECK(c, "FORK_LIVE connect: %s", strerror(errno));
	for (int i = 0; i < 50; i++)
		CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call %d", i);
	vos_client_close(c);
	printf("XC-OK exec: a spawned child is refused its parent's channel and forks it\n");
	return 0;
}

/* The new image of the owner: adopt and carry on. */
static int adopted(const char *fdlist, const char *want)
{
	struct vos_client_config cfg = config(0, 0);
	char got[2 * VOS_TOKEN_LEN + 1];
	struct vos_client *c;
	int fds[4];

	CHECK(parse_fds(fdlist, fds) == 0, "bad descriptor list %s", fdlist);
	c = vos_client_adopt(&cfg, fds);
	CHECK(c, "adopt: %s", strerror(errno));
	hex(vos_client_token(c), VOS_TOKEN_LEN, got);
	CHECK(strcmp(got, want) == 0, "token after adopt %s, want %s", got, want);
	for (int i = 0; i < 4; i++)
		CHECK(fds[i] < 0 || fcntl(fds[i], F_GETFD) == FD_CLOEXEC,
		      "close-on-exec not restored on slot %d", i);
	for (int i = 0; i < 100; i++)
		CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call %d after exec", i);
	CHECK(run_callers(c, 4, 300) == 0, "threads after exec");
	CHECK(!vos_client_dead(c), "dead after exec");
	vos_client_close(c);
	CHECK(leftovers() == 0, "leftovers");
	printf("XC-OK exec: 1300 calls on the adopted channel\n");
	return 0;
}

static int exec_test(void)
{
	struct vos_client *c = connect_new(0, 0);
	char list[64], tok[2 * VOS_TOKEN_LEN + 1];
	int fds[4], st;
	pid_t pid;

	CHECK(c, "connect: %s", strerror(errno));
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call before exec");
	vos_client_fds(c, fds);
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFD, 0);
	snprintf(list, sizeof(list), "%d,%d,%d,%d", fds[0], fds[1], fds[2], fds[3]);
	hex(vos_client_token(c), VOS_TOKEN_LEN, tok);
	fflush(stdout);

	pid = fork();          /* a posix_spawn'ed child inherits the descriptors */
	if (pid == 0) {
		execl("/proc/self/exe", self_path, "spawned", list, tok, service, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0, "fork: %s", strerror(errno));
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "spawned child failed (status %#x)", st);
	CHECK(vos_call0(c, VOS_OP_NOP, CMD_NULL, 0, 0) == 0, "call after the spawned child");

	/* The old image vanishes without a word. */
	execl("/proc/self/exe", self_path, "adopted", list, tok, service, (char *)NULL);
	printf("XC-FAIL exec %s: %s\n", self_path, strerror(errno));
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: xen_client_test all|exec [--service NAME]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	self_path = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The client engine picks the transport from here when the config
	 * names none; exec'd images inherit it, as libvirtuos's do. */
	setenv("VOS_TRANSPORT", "xen", 1);
	/* The exec'd images: mode, descriptor list, token, service. */
	if (argc == 5 && strcmp(argv[1], "spawned") == 0) {
		service = argv[4];
		return spawned(argv[2], argv[3]);
	}
	if (argc == 5 && strcmp(argv[1], "adopted") == 0) {
		service = argv[4];
		return adopted(argv[2], argv[3]);
	}
	if (argc < 2)
		usage();
	for (int i = 2; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--service") == 0)
			service = argv[++i];
		else
			usage();
	}
	if (strcmp(argv[1], "all") == 0)
		return run_all();
	if (strcmp(argv[1], "exec") == 0)
		return exec_test();
	usage();
}
