/*
 * loadgen.c - the workload of the fault-recovery experiment
 * (benchmarks/macro/recover.sh): THREADS threads doing random reads and
 * writes of BLOCK bytes in a set of files (like sysbench fileio rndrw), which
 * count successful and failed operations per time bucket (100 ms) and
 * survive errors, as a program written for a service that can die would:
 * an operation that fails closes its file, the next use opens it again, and
 * an open that fails is retried after RETRY ms.  So once the storage service
 * runs again, the threads go on over a new channel (fds opened before a
 * service death stay dead, see libvirtuos/interpose/README.md).
 *
 * sysbench cannot be used here: its reports come once a second at most and
 * it ends at its first failed read.
 *
 * usage: loadgen --dir DIR [--threads N] [--files N] [--file-mib N]
 *                [--block BYTES] [--write-pct P] [--duration-ms MS]
 *                [--bucket-ms MS] [--retry-ms MS] [--slow-ms MS]
 *
 * The files DIR/load.N are created (or reused if they have the size) before
 * the measured period.  Output on stdout, times in ms since START, taken
 * when an operation ended:
 *   START <CLOCK_REALTIME ns>     the measured period begins (flushed at once)
 *   BUCKET <index> <start ms> <ok> <errors> <bytes>
 *   EVENT <ms> <thread> fail <errno name>   first failure after a success
 *   EVENT <ms> <thread> recover <ms failing> first success after failures
 *   EVENT <ms> <thread> slow <ms taken>     a success that took >= SLOW ms
 *   SUMMARY ok=N io_errors=N open_errors=N dropped_events=N
 * Exit status: 0 after the whole period (whatever failed), 1 if the files
 * could not be set up, 2 for a bad option.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAX_THREADS 256
#define MAX_FILES 64
#define MAX_EVENTS 1024         /* per thread; more are counted as dropped */

struct options {
	const char *dir;
	long threads, files, file_mib, block, write_pct;
	long duration_ms, bucket_ms, retry_ms, slow_ms;
};

struct event {
	int64_t t_ns;           /* since start */
	int64_t value;          /* fail: errno; recover: ns failing; slow: ns taken */
	char kind;              /* 'f', 'r', 's' */
};

/* One thread's counters: written by that thread only, read after the join. */
struct worker {
	pthread_t tid;
	int index;
	uint64_t rng;
	uint64_t *ok, *err, *bytes;     /* per bucket */
	uint64_t io_errors, open_errors;
	struct event ev[MAX_EVENTS];
	int nev;
	long dropped;
};

static struct options opt = {
	.threads = 4, .files = 4, .file_mib = 8, .block = 16384, .write_pct = 40,
	.duration_ms = 10000, .bucket_ms = 100, .retry_ms = 10, .slow_ms = 50,
};
static int64_t start_ns, end_ns, bucket_ns;
static long nbuckets;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: enough to spread offsets, the same sequence every run */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void path_of(char *buf, size_t len, long i)
{
	snprintf(buf, len, "%s/load.%ld", opt.dir, i);
}

static void add_event(struct worker *w, int64_t t, char kind, int64_t value)
{
	if (w->nev == MAX_EVENTS) {
		w->dropped++;
		return;
	}
	w->ev[w->nev++] = (struct event){ .t_ns = t - start_ns, .value = value, .kind = kind };
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long bucket_of(int64_t t)
{
	long b = (long)((t - start_ns) / bucket_ns);

	return b < 0 ? 0 : b >= nbuckets ? nbuckets - 1 : b;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	long blocks = opt.file_mib * (1024 * 1024 / opt.block);
	int fds[MAX_FILES];
	char path[4200];
	char *buf;
	int failing = 0;
	int64_t fail_since = 0;

	buf = malloc((size_t)opt.block);
	if (!buf)
		return NULL;
	memset(buf, 'a' + w->index % 26, (size_t)opt.block);
	for (long i = 0; i < opt.files; i++)
		fds[i] = -1;
	for (;;) {
		long f = (long)(next_rand(&w->rng) % (uint64_t)opt.files);
		off_t off = (off_t)(next_rand(&w->rng) % (uint64_t)blocks) * opt.block;
		int write_op = (long)(next_rand(&w->rng) % 100) < opt.write_pct;
		int64_t t0 = now_ns(), t1;
		ssize_t r;
		int e = 0;

		if (t0 >= end_ns)
			break;
		if (fds[f] < 0) {
			path_of(path, sizeof path, f);
			fds[f] = open(path, O_RDWR | O_CLOEXEC);
			if (fds[f] < 0) {
				e = errno;
				t1 = now_ns();
				w->open_errors++;
				w->err[bucket_of(t1)]++;
				if (!failing) {
					failing = 1;
					fail_since = t1;
					add_event(w, t1, 'f', e);
				}
				sleep_ms(opt.retry_ms);
				continue;
			}
		}
		if (write_op)
			r = pwrite(fds[f], buf, (size_t)opt.block, off);
		else
			r = pread(fds[f], buf, (size_t)opt.block, off);
		if (r < 0)
			e = errno;
		t1 = now_ns();
		if (r == opt.block) {
			w->ok[bucket_of(t1)]++;
			w->bytes[bucket_of(t1)] += (uint64_t)r;
			if (failing) {
				failing = 0;
				add_event(w, t1, 'r', t1 - fail_since);
			} else if (t1 - t0 >= opt.slow_ms * 1000000) {
				add_event(w, t1, 's', t1 - t0);
			}
			continue;
		}
		/* failed or short: drop the fd, the next use opens the file again */
		w->io_errors++;
		w->err[bucket_of(t1)]++;
		if (!failing) {
			failing = 1;
			fail_since = t1;
			add_event(w, t1, 'f', r < 0 ? e : 0);
		}
		close(fds[f]);
		fds[f] = -1;
	}
	for (long i = 0; i < opt.files; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(buf);
	return NULL;
}

/* Create DIR/load.N of file_mib MiB each, unless it has that size already. */
static int setup_files(void)
{
	long size = opt.file_mib * 1024 * 1024;
	char path[4200];
	char *chunk = malloc(1024 * 1024);

	if (!chunk)
		return -1;
	memset(chunk, 'x', 1024 * 1024);
	for (long i = 0; i < opt.files; i++) {
		struct stat st;
		int fd;

		path_of(path, sizeof path, i);
		if (stat(path, &st) == 0 && st.st_size == size)
			continue;
		fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
			free(chunk);
			return -1;
		}
		for (long m = 0; m < opt.file_mib; m++) {
			if (write(fd, chunk, 1024 * 1024) != 1024 * 1024) {
				fprintf(stderr, "loadgen: writing %s: %s\n", path, strerror(errno));
				close(fd);
				free(chunk);
				return -1;
			}
		}
		if (close(fd) < 0) {
			fprintf(stderr, "loadgen: closing %s: %s\n", path, strerror(errno));
			free(chunk);
			return -1;
		}
	}
	free(chunk);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: loadgen --dir DIR [--threads N] [--files N] [--file-mib N] [--block BYTES]\n"
	      "               [--write-pct P] [--duration-ms MS] [--bucket-ms MS] [--retry-ms MS]\n"
	      "               [--slow-ms MS]\n"
	      "Random reads and writes of BLOCK bytes by THREADS threads in DIR/load.0..FILES-1,\n"
	      "successes and failures counted per bucket; failed files are reopened (see the\n"
	      "header of benchmarks/macro/loadgen.c for the output).\n", f);
}

/* --name VALUE for the numeric options: 0, or -1 if name is not one. */
static int set_number(const char *name, const char *value)
{
	static const struct { const char *name; long *p; long min, max; } nums[] = {
		{ "--threads", &opt.threads, 1, MAX_THREADS },
		{ "--files", &opt.files, 1, MAX_FILES },
		{ "--file-mib", &opt.file_mib, 1, 4096 },
		{ "--block", &opt.block, 512, 1 << 20 },
		{ "--write-pct", &opt.write_pct, 0, 100 },
		{ "--duration-ms", &opt.duration_ms, 1, 3600 * 1000 },
		{ "--bucket-ms", &opt.bucket_ms, 1, 60 * 1000 },
		{ "--retry-ms", &opt.retry_ms, 0, 60 * 1000 },
		{ "--slow-ms", &opt.slow_ms, 1, 3600 * 1000 },
	};

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		char *end;
		long v;

		if (strcmp(name, nums[i].name))
			continue;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || *end || end == value || v < nums[i].min || v > nums[i].max) {
			fprintf(stderr, "loadgen: %s: '%s' is not a number from %ld to %ld\n",
				name, value, nums[i].min, nums[i].max);
			exit(2);
		}
		*nums[i].p = v;
		return 0;
	}
	return -1;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "loadgen: %s: needs a value or is unknown\n", argv[i]);
			exit(2);
		}
		if (!strcmp(argv[i], "--dir"))
			opt.dir = argv[i + 1];
		else if (set_number(argv[i], argv[i + 1]) < 0) {
			fprintf(stderr, "loadgen: unknown option '%s'\n", argv[i]);
			usage(stderr);
			exit(2);
		}
		i++;
	}
	if (!opt.dir) {
		usage(stderr);
		exit(2);
	}
	if ((1024 * 1024) % opt.block) {
		fprintf(stderr, "loadgen: --block must divide 1 MiB\n");
		exit(2);
	}
}

static const char *errno_name(int e)
{
	const char *n = e ? strerrorname_np(e) : "short";

	return n ? n : "unknown";
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	struct timespec real;
	uint64_t ok = 0, io_errors = 0, open_errors = 0;
	long dropped = 0;

	parse(argc, argv);
	if (setup_files() < 0)
		return 1;
	bucket_ns = (int64_t)opt.bucket_ms * 1000000;
	nbuckets = opt.duration_ms / opt.bucket_ms + 1;
	for (long i = 0; i < opt.threads; i++) {
		w[i].index = (int)i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		w[i].ok = calloc((size_t)nbuckets, sizeof(uint64_t));
		w[i].err = calloc((size_t)nbuckets, sizeof(uint64_t));
		w[i].bytes = calloc((size_t)nbuckets, sizeof(uint64_t));
		if (!w[i].ok || !w[i].err || !w[i].bytes) {
			fprintf(stderr, "loadgen: out of memory\n");
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &real);
	start_ns = now_ns();
	end_ns = start_ns + (int64_t)opt.duration_ms * 1000000;
	printf("START %lld\n", (long long)real.tv_sec * 1000000000 + real.tv_nsec);
	fflush(stdout);
	for (long i = 0; i < opt.threads; i++) {
		int e = pthread_create(&w[i].tid, NULL, work, &w[i]);

		if (e) {
			fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	for (long i = 0; i < opt.threads; i++)
		pthread_join(w[i].tid, NULL);

	for (long b = 0; b < nbuckets; b++) {
		uint64_t bo = 0, be = 0, bb = 0;

		for (long i = 0; i < opt.threads; i++) {
			bo += w[i].ok[b];
			be += w[i].err[b];
			bb += w[i].bytes[b];
		}
		printf("BUCKET %ld %ld %llu %llu %llu\n", b, b * opt.bucket_ms,
		       (unsigned long long)bo, (unsigned long long)be, (unsigned long long)bb);
		ok += bo;
	}
	for (long i = 0; i < opt.threads; i++) {
		for (int k = 0; k < w[i].nev; k++) {
			const struct event *ev = &w[i].ev[k];
			double t = (double)ev->t_ns / 1e6;

			if (ev->kind == 'f')
				printf("EVENT %.3f %ld fail %s\n", t, i, errno_name((int)ev->value));
			else
				printf("EVENT %.3f %ld %s %.3f\n", t, i, ev->kind == 'r' ? "recover" : "slow",
				       (double)ev->value / 1e6);
		}
		io_errors += w[i].io_errors;
		open_errors += w[i].open_errors;
		dropped += w[i].dropped;
		free(w[i].ok);
		free(w[i].err);
		free(w[i].bytes);
	}
	printf("SUMMARY ok=%llu io_errors=%llu open_errors=%llu dropped_events=%ld\n",
	       (unsigned long long)ok, (unsigned long long)io_errors,
	       (unsigned long long)open_errors, dropped);
	return fflush(stdout) == 0 ? 0 : 1;
}
