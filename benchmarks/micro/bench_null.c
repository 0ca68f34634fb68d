/*
 * bench_null - the remote null call (VOS_OP_NOP through the client engine to
 * a running vos-serviced) against the native null system call, getppid().
 *
 *   bench_null latency    --rundir DIR [--reps R] [--iters N] [--spin S] [--name NAME]
 *   bench_null throughput --rundir DIR [--reps R] [--threads 1,2,4] [--ms M] [--name NAME]
 *
 * latency: one thread; per repetition N getppid() then N remote calls, each
 * timed as a block; ns per call.  Also the notifications per call (client
 * and service kicks from the channel header counters over the remote calls).
 * throughput: for each thread count T, T threads call for M ms, native
 * then remote; calls per second of all threads together.
 *
 * --spin is the client's spin budget before it sleeps (default: the engine's
 * default; 0: sleep at once); the service's budget is the daemon's --spin.
 */
#include <getopt.h>
#include <unistd.h>
#include "bench_util.h"
#include "channel/transport_local.h"
#include "client/client.h"

struct opts {
	const char *rundir, *service, *name;
	int reps;
	long iters;
	unsigned spin, ms;
	unsigned threads[BENCH_MAX_THREADS];
	unsigned nthreads;
};

#define SPIN_DEFAULT (~0u)   /* no --spin: the engine's default budget */

static struct vos_client *connect_client(const struct opts *o)
{
	unsigned spin = o->spin;
	/* The engine reads 0 as "its default"; for --spin 0 (sleep at once) ask
	 * for the least budget it has, one check. */
	if (spin == SPIN_DEFAULT)
		spin = 0;
	else if (spin == 0)
		spin = 1;
	struct vos_client_config cfg = {
		.rundir = o->rundir,
		.service = o->service,
		.kind = VOS_SVC_STORAGE,
		.spin = spin,
	};
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	if (!c)
		bench_die("bench_null: cannot connect to %s/%s.sock: %s", o->rundir,
			  o->service, strerror(errno));
	return c;
}

static void remote_nops(struct vos_client *c, long n)
{
	for (long i = 0; i < n; i++) {
		int64_t r = vos_call0(c, VOS_OP_NOP, 0, 0, 0);
		if (r != 0)
			bench_die("bench_null: remote null call failed: %s",
				  strerror(r < 0 ? (int)-r : EPROTO));
	}
}

static void native_nulls(long n)
{
	for (long i = 0; i < n; i++)
		(void)getppid();
}

/* (client + service notifications) per request between two snapshots. */
static double notifies_per_call(const struct vos_client_stats *s0,
				const struct vos_client_stats *s1)
{
	uint64_t req = s1->requests - s0->requests;
	uint64_t kicks = (s1->client_notifies - s0->client_notifies) +
			 (s1->service_notifies - s0->service_notifies);
	return req ? (double)kicks / (double)req : 0;
}

static void run_latency(const struct opts *o)
{
	double nat[BENCH_MAX_REPS], ours[BENCH_MAX_REPS], notif[BENCH_MAX_REPS];
	struct vos_client *c = connect_client(o);
	struct vos_client_stats s0, s1;
	long warm = o->iters / 10 + 100;

	native_nulls(warm * 10);
	remote_nops(c, warm);
	for (int r = 0; r < o->reps; r++) {
		uint64_t t0 = bench_now_ns();
		native_nulls(o->iters);
		uint64_t t1 = bench_now_ns();
		vos_client_stats(c, &s0);
		uint64_t t2 = bench_now_ns();
		remote_nops(c, o->iters);
		uint64_t t3 = bench_now_ns();
		vos_client_stats(c, &s1);

		nat[r] = (double)(t1 - t0) / (double)o->iters;
		ours[r] = (double)(t3 - t2) / (double)o->iters;
		notif[r] = notifies_per_call(&s0, &s1);
		fprintf(stderr, "  %s: rep %d/%d: getppid %.0f ns, remote null call %.0f ns, "
			"%.3f notifications/call\n", o->name, r + 1, o->reps, nat[r], ours[r], notif[r]);
	}
	bench_result(o->name, "ns", nat, ours, o->reps);
	char nm[128];
	snprintf(nm, sizeof(nm), "%s_notifies", o->name);
	bench_result(nm, "notif/call", NULL, notif, o->reps);
	vos_client_close(c);
}

static int op_native(void *arg, unsigned tid, uint64_t i)
{
	(void)arg, (void)tid, (void)i;
	(void)getppid();
	return 0;
}

static int op_remote(void *arg, unsigned tid, uint64_t i)
{
	(void)tid, (void)i;
	int64_t r = vos_call0(arg, VOS_OP_NOP, 0, 0, 0);
	return r == 0 ? 0 : r < 0 ? (int)r : -EPROTO;
}

static void run_throughput(const struct opts *o)
{
	struct vos_client *c = connect_client(o);

	remote_nops(c, 1000);
	for (unsigned k = 0; k < o->nthreads; k++) {
		unsigned t = o->threads[k];
		double nat[BENCH_MAX_REPS], ours[BENCH_MAX_REPS];
		char nm[128];
		snprintf(nm, sizeof(nm), "%s_%ut", o->name, t);
		for (int r = 0; r < o->reps; r++) {
			struct vos_client_stats s0, s1;
			nat[r] = bench_window_run("getppid", t, o->ms, op_native, NULL);
			vos_client_stats(c, &s0);
			ours[r] = bench_window_run("remote null call", t, o->ms, op_remote, c);
			vos_client_stats(c, &s1);
			fprintf(stderr, "  %s: rep %d/%d: getppid %.0f calls/s, remote %.0f calls/s, "
				"%.3f notifications/call\n", nm, r + 1, o->reps, nat[r], ours[r],
				notifies_per_call(&s0, &s1));
		}
		bench_result(nm, "calls/s", nat, ours, o->reps);
	}
	vos_client_close(c);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_null latency|throughput --rundir DIR [--service NAME] [--reps R]\n"
		   "       [--iters N] [--spin S] [--threads T1,T2,..] [--ms M] [--name NAME]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rundir", required_argument, 0, 'd' }, { "service", required_argument, 0, 's' },
		{ "reps", required_argument, 0, 'r' },   { "iters", required_argument, 0, 'n' },
		{ "spin", required_argument, 0, 'p' },   { "threads", required_argument, 0, 't' },
		{ "ms", required_argument, 0, 'm' },     { "name", required_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 },
	};
	struct opts o = { .service = "storage", .reps = 7, .iters = 20000, .spin = SPIN_DEFAULT, .ms = 200 };
	int c;

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	const char *mode = argv[1];
	optind = 2;
	o.nthreads = bench_parse_threads("1,2,4", o.threads);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o.rundir = optarg; break;
		case 's': o.service = optarg; break;
		case 'r': o.reps = (int)bench_parse_count("--reps", optarg, 1, BENCH_MAX_REPS); break;
		case 'n': o.iters = bench_parse_count("--iters", optarg, 1, 1L << 30); break;
		case 'p': o.spin = (unsigned)bench_parse_count("--spin", optarg, 0, 1L << 30); break;
		case 't': o.nthreads = bench_parse_threads(optarg, o.threads); break;
		case 'm': o.ms = (unsigned)bench_parse_count("--ms", optarg, 1, 60000); break;
		case 'N': o.name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !o.rundir) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "latency")) {
		if (!o.name)
			o.name = "null_call";
		run_latency(&o);
	} else if (!strcmp(mode, "throughput")) {
		if (!o.name)
			o.name = "null_call_tput";
		run_throughput(&o);
	} else {
		usage(stderr);
		return 2;
	}
	return 0;
}
