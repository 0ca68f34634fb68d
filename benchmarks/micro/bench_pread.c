/*
 * bench_pread - cached 4 KiB pread through the whole interposed path against
 * the native system call on the same file.  A plain program: run it under
 * LD_PRELOAD=libvirtuos.so with --remote naming the file under a routed
 * prefix (/storage/...) and --native naming the same file by its host path.
 *
 *   bench_pread latency    --remote PATH --native PATH [--reps R] [--iters N] [--name NAME]
 *   bench_pread throughput --remote PATH --native PATH [--reps R] [--threads 1,2,4] [--ms M]
 *   bench_pread entry      --remote PATH --native PATH --side remote [--reps R] [--iters N]
 *
 * Ours is pread(), which the preloaded library forwards.  Native is the raw
 * pread64 system call (syscall(2)), which no preloaded *function* can
 * intercept.  Reads walk the file block by block; the file is read once
 * first so it is in the page cache (both paths name the same inode, so both
 * read cached pages).
 *
 * `entry` measures only the way into the library, without the round trip:
 * pread() of the forwarded fd at offset -1, which the library refuses with
 * EINVAL before any request (io.c's bad_offset), timed with the thread's
 * CPU clock (so other load on the machine hardly counts).  It compares how
 * a call reaches the library (a function wrapper, or the system-call
 * dispatcher's trampoline and table) between two builds (run.sh's
 * BENCH_AB_LIB).
 *
 * With --side native or --side remote only that side is measured (its
 * RESULT line has "-" for the other): a library that catches system calls
 * (issue 8) catches syscall(SYS_pread64) too, so benchmarks/run.sh measures
 * native in a process without the library and joins the two lines.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "bench_util.h"

#define BLOCK 4096

struct target {
	int fd;
	int remote;             /* use pread() (forwarded) rather than the raw syscall */
	uint64_t nblocks;
	char (*buf)[BLOCK];     /* one buffer per thread */
};

static int read_block(const struct target *t, unsigned tid, uint64_t i)
{
	off_t off = (off_t)((i % t->nblocks) * BLOCK);
	ssize_t n = t->remote ? pread(t->fd, t->buf[tid], BLOCK, off)
			      : syscall(SYS_pread64, t->fd, t->buf[tid], BLOCK, off);
	if (n == BLOCK)
		return 0;
	return n < 0 ? errno : EIO;
}

static int op_read(void *arg, unsigned tid, uint64_t i)
{
	return read_block(arg, tid, i);
}

/* ns per read over n reads from thread 0's buffer. */
static double time_reads(const struct target *t, long n)
{
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		int e = read_block(t, 0, (uint64_t)i);
		if (e)
			bench_die("bench_pread: %s read failed: %s", t->remote ? "forwarded" : "native",
				  strerror(e));
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* CPU ns per call of n refused preads (mode entry). */
static double time_entry(const struct target *t, long n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < n; i++)
		if (pread(t->fd, t->buf[0], BLOCK, -1) != -1 || errno != EINVAL)
			bench_die("bench_pread: pread at offset -1 did not fail with EINVAL");
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

static int side_native = 1, side_remote = 1;   /* --side */

static void open_targets(const char *rpath, const char *npath, struct target *rem,
			 struct target *nat)
{
	struct stat st;
	static char (*bufs)[BLOCK];
	char check[BLOCK];

	bufs = aligned_alloc(BLOCK, BENCH_MAX_THREADS * BLOCK);
	if (!bufs)
		bench_die("bench_pread: out of memory");
	nat->fd = open(npath, O_RDONLY | O_CLOEXEC);
	if (nat->fd < 0)
		bench_die("bench_pread: open %s: %s", npath, strerror(errno));
	rem->fd = -1;
	if (side_remote) {
		rem->fd = open(rpath, O_RDONLY | O_CLOEXEC);
		if (rem->fd < 0)
			bench_die("bench_pread: open %s: %s (is libvirtuos.so preloaded and the "
				  "service running?)", rpath, strerror(errno));
	}
	/* A forwarded fd is a placeholder: the kernel itself cannot read it.
	 * (Only checkable where syscall() is not caught: both sides in one run.) */
	if (side_native && side_remote && syscall(SYS_pread64, rem->fd, check, 1, 0) >= 0)
		bench_die("bench_pread: %s is not forwarded (is LD_PRELOAD=libvirtuos.so set?)", rpath);
	if (fstat(nat->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < BLOCK)
		bench_die("bench_pread: %s: need a regular file of at least %d bytes", npath, BLOCK);
	nat->nblocks = rem->nblocks = (uint64_t)st.st_size / BLOCK;
	nat->remote = 0;
	rem->remote = 1;
	nat->buf = rem->buf = bufs;

	/* Warm the page cache and check both paths see the same bytes. */
	for (uint64_t b = 0; b < nat->nblocks; b++)
		if (read_block(nat, 0, b))
			bench_die("bench_pread: cannot read %s", npath);
	if (read_block(nat, 0, 0))
		bench_die("bench_pread: cannot read %s", npath);
	memcpy(check, bufs[0], BLOCK);
	if (!side_remote)
		return;
	int e = read_block(rem, 0, 0);
	if (e)
		bench_die("bench_pread: forwarded read of %s failed: %s", rpath, strerror(e));
	if (memcmp(check, bufs[0], BLOCK))
		bench_die("bench_pread: %s and %s differ: not the same file", rpath, npath);
}

/* The RESULT line of the sides measured: with one side only, the native one
 * is printed in the "ours" columns with "-" for native (run.sh joins). */
static void bench_side_result(const char *name, const char *unit, const double *n,
			      const double *o, int reps)
{
	if (side_native && side_remote)
		bench_result(name, unit, n, o, reps);
	else
		bench_result(name, unit, NULL, side_native ? n : o, reps);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_pread latency|throughput --remote PATH --native PATH [--reps R]\n"
		   "       [--iters N] [--threads T1,T2,..] [--ms M] [--name NAME]\n"
		   "       [--side native|remote|both]\n"
		   "       bench_pread entry --remote PATH --native PATH --side remote [--reps R] [--iters N]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "remote", required_argument, 0, 'R' }, { "native", required_argument, 0, 'L' },
		{ "reps", required_argument, 0, 'r' },   { "iters", required_argument, 0, 'n' },
		{ "threads", required_argument, 0, 't' }, { "ms", required_argument, 0, 'm' },
		{ "name", required_argument, 0, 'N' },   { "help", no_argument, 0, 'h' },
		{ "side", required_argument, 0, 'S' },
		{ 0, 0, 0, 0 },
	};
	const char *rpath = NULL, *npath = NULL, *name = NULL;
	int reps = 7, c;
	long iters = 20000;
	unsigned ms = 200, threads[BENCH_MAX_THREADS], nthreads;
	struct target rem, nat;

	if (argc < 2 || argv[1][0] == '-') {
		int help = argc >= 2 && !strcmp(argv[1], "--help");
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	const char *mode = argv[1];
	optind = 2;
	nthreads = bench_parse_threads("1,2,4", threads);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'R': rpath = optarg; break;
		case 'L': npath = optarg; break;
		case 'r': reps = (int)bench_parse_count("--reps", optarg, 1, BENCH_MAX_REPS); break;
		case 'n': iters = bench_parse_count("--iters", optarg, 1, 1L << 30); break;
		case 't': nthreads = bench_parse_threads(optarg, threads); break;
		case 'm': ms = (unsigned)bench_parse_count("--ms", optarg, 1, 60000); break;
		case 'N': name = optarg; break;
		case 'S':
			side_native = !strcmp(optarg, "native") || !strcmp(optarg, "both");
			side_remote = !strcmp(optarg, "remote") || !strcmp(optarg, "both");
			if (!side_native && !side_remote)
				bench_die("bench_pread: --side native|remote|both");
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !rpath || !npath ||
	    (strcmp(mode, "latency") && strcmp(mode, "throughput") && strcmp(mode, "entry")) ||
	    (!strcmp(mode, "entry") && side_native)) {
		usage(stderr);
		return 2;
	}
	open_targets(rpath, npath, &rem, &nat);

	if (!strcmp(mode, "entry")) {
		double o[BENCH_MAX_REPS];
		if (!name)
			name = "pread_entry";
		time_entry(&rem, iters / 10 + 100);
		for (int r = 0; r < reps; r++)
			o[r] = time_entry(&rem, iters);
		bench_side_result(name, "ns", NULL, o, reps);
		return 0;
	}
	if (!strcmp(mode, "latency")) {
		double n[BENCH_MAX_REPS], o[BENCH_MAX_REPS];
		if (!name)
			name = "pread_4k";
		if (side_native)
			time_reads(&nat, iters);
		if (side_remote)
			time_reads(&rem, iters / 10 + 100);
		for (int r = 0; r < reps; r++) {
			n[r] = side_native ? time_reads(&nat, iters) : 0;
			o[r] = side_remote ? time_reads(&rem, iters) : 0;
			if (side_native && side_remote)
				fprintf(stderr, "  %s: rep %d/%d: native %.0f ns, forwarded %.0f ns\n",
					name, r + 1, reps, n[r], o[r]);
			else
				fprintf(stderr, "  %s: rep %d/%d: %s %.0f ns\n", name, r + 1, reps,
					side_native ? "native" : "forwarded", side_native ? n[r] : o[r]);
		}
		bench_side_result(name, "ns", n, o, reps);
		return 0;
	}
	if (!name)
		name = "pread_4k_tput";
	for (unsigned k = 0; k < nthreads; k++) {
		double n[BENCH_MAX_REPS], o[BENCH_MAX_REPS];
		char nm[128];
		snprintf(nm, sizeof(nm), "%s_%ut", name, threads[k]);
		for (int r = 0; r < reps; r++) {
			n[r] = side_native ? bench_window_run("native pread", threads[k], ms, op_read, &nat) : 0;
			o[r] = side_remote ? bench_window_run("forwarded pread", threads[k], ms, op_read,
							      &rem) : 0;
			if (side_native && side_remote)
				fprintf(stderr, "  %s: rep %d/%d: native %.0f reads/s, forwarded %.0f reads/s\n",
					nm, r + 1, reps, n[r], o[r]);
			else
				fprintf(stderr, "  %s: rep %d/%d: %s %.0f reads/s\n", nm, r + 1, reps,
					side_native ? "native" : "forwarded", side_native ? n[r] : o[r]);
		}
		bench_side_result(nm, "reads/s", n, o, reps);
	}
	return 0;
}
