/*
 * bench_getppid - ns per getppid() through glibc and through syscall(), in
 * whatever process it runs: benchmarks/run.sh runs it natively and under a
 * preloaded library in turn and compares the runs (a process with the
 * dispatcher installed cannot measure "native" itself).
 *
 *   bench_getppid [--iters N]
 *
 * Prints `getppid_glibc NS` and `getppid_syscall NS`: each the median of 5
 * windows of N calls, after a warm-up (the first calls trap and rewrite);
 * then `getppid_glibc_cpu NS` and `getppid_syscall_cpu NS`, the same windows
 * timed with the thread's CPU clock, which does not count the time the
 * thread waited for a core (the machine is shared: wall time per call
 * doubles or triples under other load, CPU time barely moves).
 */
#include <getopt.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench_util.h"

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per call over n calls, wall clock; *cpu gets the thread-CPU figure. */
static double window_ns(int use_syscall, long n, double *cpu)
{
	uint64_t c0 = cpu_now_ns(), t0 = bench_now_ns();
	if (use_syscall)
		for (long i = 0; i < n; i++)
			(void)syscall(SYS_getppid);
	else
		for (long i = 0; i < n; i++)
			(void)getppid();
	uint64_t t1 = bench_now_ns();
	*cpu = (double)(cpu_now_ns() - c0) / (double)n;
	return (double)(t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
	long iters = 20000;
	static const struct option lo[] = {
		{ "iters", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'i')
			iters = bench_parse_count("--iters", optarg, 100, 100000000);
		else
			bench_die("usage: bench_getppid [--iters N]");
	}
	double cpu_med[2];
	for (int k = 0; k < 2; k++) {
		double w[5], cw[5], ignored;
		(void)window_ns(k, 1000, &ignored);     /* warm-up */
		for (int i = 0; i < 5; i++)
			w[i] = window_ns(k, iters, &cw[i]);
		struct bench_stat st = bench_stats(w, 5);
		printf("%s %.1f\n", k ? "getppid_syscall" : "getppid_glibc", st.med);
		cpu_med[k] = bench_stats(cw, 5).med;
	}
	printf("getppid_glibc_cpu %.1f\ngetppid_syscall_cpu %.1f\n", cpu_med[0], cpu_med[1]);
	return 0;
}
