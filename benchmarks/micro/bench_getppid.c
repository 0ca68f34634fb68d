/*
 * bench_getppid - ns per getppid() through glibc and through syscall(), in
 * whatever process it runs: benchmarks/run.sh runs it natively and under a
 * preloaded library in turn and compares the runs (a process with the
 * dispatcher installed cannot measure "native" itself).
 *
 *   bench_getppid [--iters N]
 *
 * Prints `getppid_glibc NS` and `getppid_syscall NS`: each the median of 5
 * windows of N calls, after a warm-up (the first calls trap and rewrite).
 */
#include <getopt.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench_util.h"

static double window_ns(int use_syscall, long n)
{
	uint64_t t0 = bench_now_ns();
	if (use_syscall)
		for (long i = 0; i < n; i++)
			(void)syscall(SYS_getppid);
	else
		for (long i = 0; i < n; i++)
			(void)getppid();
	return (double)(bench_now_ns() - t0) / (double)n;
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
	for (int k = 0; k < 2; k++) {
		double w[5];
		(void)window_ns(k, 1000);       /* warm-up */
		for (int i = 0; i < 5; i++)
			w[i] = window_ns(k, iters);
		struct bench_stat st = bench_stats(w, 5);
		printf("%s %.1f\n", k ? "getppid_syscall" : "getppid_glibc", st.med);
	}
	return 0;
}
