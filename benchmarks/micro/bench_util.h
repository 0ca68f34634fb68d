/*
 * bench_util.h - what the micro-benchmarks share: a monotonic clock,
 * median/min/max over repetitions, the RESULT line benchmarks/run.sh reads,
 * and a start barrier for timed multi-threaded windows.
 *
 * A benchmark measures the native operation and ours in the same process,
 * interleaved repetition by repetition, so both see the same machine state.
 * Each prints one line per metric on stdout:
 *
 *   RESULT <name> <unit> <native_med> <native_min> <native_max> <ours_med> <ours_min> <ours_max>
 *
 * where a metric with no native counterpart prints "-" for the native
 * fields.  Progress goes to stderr.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_REPS 101

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct bench_stat {
	double med, min, max;
};

/* Median (mean of the middle two for an even count), min and max of v[0..n). */
static inline struct bench_stat bench_stats(const double *v, int n)
{
	double s[BENCH_MAX_REPS];
	struct bench_stat st = { 0, 0, 0 };
	if (n <= 0)
		return st;
	if (n > BENCH_MAX_REPS)
		n = BENCH_MAX_REPS;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), bench_cmp_double);
	st.min = s[0];
	st.max = s[n - 1];
	st.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return st;
}

/* Print the RESULT line of one metric; native may be NULL (no counterpart). */
static inline void bench_result(const char *name, const char *unit,
				const double *native, const double *ours, int n)
{
	struct bench_stat o = bench_stats(ours, n);
	if (native) {
		struct bench_stat nat = bench_stats(native, n);
		printf("RESULT %s %s %.4g %.4g %.4g %.4g %.4g %.4g\n", name, unit,
		       nat.med, nat.min, nat.max, o.med, o.min, o.max);
	} else {
		printf("RESULT %s %s - - - %.4g %.4g %.4g\n", name, unit, o.med, o.min, o.max);
	}
	fflush(stdout);
}

/* Parse an integer option value in [min, max]; exits on bad input. */
static inline long bench_parse_count(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		bench_die("bad value for %s: '%s' (want %ld..%ld)", opt, s, min, max);
	return v;
}

#define BENCH_MAX_THREADS 16

/* Parse a comma-separated list of thread counts into out[BENCH_MAX_THREADS]. */
static inline unsigned bench_parse_threads(const char *s, unsigned *out)
{
	unsigned n = 0;
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == BENCH_MAX_THREADS)
			bench_die("--threads: too many entries");
		out[n++] = (unsigned)bench_parse_count("--threads", tok, 1, BENCH_MAX_THREADS);
	}
	if (!n)
		bench_die("--threads: empty list");
	return n;
}

/*
 * A timed window run by several threads: every thread waits on the start
 * barrier, then calls op() until the main thread sets `stop` after the
 * window's length.  Each thread notes when it stopped; throughput is all
 * operations over (latest stop - start), so operations that finish after
 * `stop` are counted together with the time they took.
 */
typedef int (*bench_op_fn)(void *arg, unsigned tid, uint64_t i);

struct bench_window {
	pthread_barrier_t start;
	_Atomic int stop;
	bench_op_fn op;
	void *arg;
};

struct bench_thread {
	struct bench_window *w;
	unsigned tid;
	uint64_t ops, end_ns;
	int err;                /* op()'s first non-zero return */
};

static void *bench_window_thread(void *p)
{
	struct bench_thread *t = p;
	struct bench_window *w = t->w;
	uint64_t n = 0;
	pthread_barrier_wait(&w->start);
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		int e = w->op(w->arg, t->tid, n);
		if (e) {
			t->err = e;
			break;
		}
		n++;
	}
	t->end_ns = bench_now_ns();
	t->ops = n;
	return NULL;
}

/* Run op in nthreads threads for ms milliseconds; operations per second, or
 * exits with a message if an op failed. */
static inline double bench_window_run(const char *what, unsigned nthreads, unsigned ms,
				      bench_op_fn op, void *arg)
{
	struct bench_window w = { .op = op, .arg = arg };
	struct bench_thread th[BENCH_MAX_THREADS];
	pthread_t pt[BENCH_MAX_THREADS];
	uint64_t t0, end = 0, ops = 0;

	if (nthreads < 1 || nthreads > BENCH_MAX_THREADS)
		bench_die("%s: bad thread count %u", what, nthreads);
	atomic_init(&w.stop, 0);
	pthread_barrier_init(&w.start, NULL, nthreads + 1);
	for (unsigned i = 0; i < nthreads; i++) {
		th[i] = (struct bench_thread){ .w = &w, .tid = i };
		int e = pthread_create(&pt[i], NULL, bench_window_thread, &th[i]);
		if (e)
			bench_die("%s: pthread_create: %s", what, strerror(e));
	}
	pthread_barrier_wait(&w.start);
	t0 = bench_now_ns();
	bench_sleep_ms(ms);
	atomic_store(&w.stop, 1);
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(pt[i], NULL);
		if (th[i].err)
			bench_die("%s: thread %u: operation failed: %s", what, i,
				  strerror(th[i].err > 0 ? th[i].err : -th[i].err));
		ops += th[i].ops;
		if (th[i].end_ns > end)
			end = th[i].end_ns;
	}
	pthread_barrier_destroy(&w.start);
	return end > t0 ? (double)ops * 1e9 / (double)(end - t0) : 0;
}

#endif
