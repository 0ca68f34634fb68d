/*
 * mt.c - many threads doing file I/O at once in DIR: each thread writes its
 * own file in chunks of varying size (many larger than one request buffer),
 * reads it back with read and pread, and checks a checksum; all threads
 * also pwrite their own region of one shared file, which is checked at the
 * end.  Threads open and close files all the time, so fd numbers are
 * reused across threads.
 *
 * usage: mt DIR [THREADS] [BYTES]     (default 8 threads, 1 MiB each)
 * Output is deterministic (one line per thread, then the shared file).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS 64
#define REGION 65536

static const char *dir;
static size_t bytes = 1 << 20;
static int shared_fd = -1;

struct result {
	uint64_t sum;
	size_t n;
	char err[640];
};

static struct result results[MAX_THREADS];

static uint8_t pattern(int t, size_t i)
{
	return (uint8_t)((i * 131 + (size_t)t * 7 + (i >> 9)) & 0xff);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void fail(struct result *r, const char *what)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerrorname_np(errno));
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct result *r = &results[t];
	char name[4200];
	uint8_t *buf = malloc(bytes), *back = malloc(bytes);
	size_t off = 0, chunk = 1000 + (size_t)t * 3331;
	uint64_t expect;
	int fd;

	if (!buf || !back) {
		fail(r, "malloc");
		goto out;
	}
	for (size_t i = 0; i < bytes; i++)
		buf[i] = pattern(t, i);
	expect = fnv(0xcbf29ce484222325ull, buf, bytes);
	snprintf(name, sizeof(name), "%s/mt.%d", dir, t);
	fd = open(name, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fail(r, "open");
		goto out;
	}
	while (off < bytes) {
		size_t n = bytes - off < chunk ? bytes - off : chunk;
		ssize_t w = write(fd, buf + off, n);

		if (w <= 0) {
			fail(r, "write");
			break;
		}
		off += (size_t)w;
		chunk = chunk * 7 % 70001 + 1;
		/* churn: a short-lived second fd */
		int tmp = open(name, O_RDONLY);

		if (tmp < 0)
			fail(r, "open tmp");
		else
			close(tmp);
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		fail(r, "lseek");
	memset(back, 0, bytes);
	off = 0;
	while (off < bytes / 2) {
		ssize_t n = read(fd, back + off, 12345);

		if (n <= 0) {
			fail(r, "read");
			break;
		}
		off += (size_t)n;
	}
	while (off < bytes) {
		size_t n = bytes - off < 50000 ? bytes - off : 50000;
		ssize_t k = pread(fd, back + off, n, (off_t)off);

		if (k <= 0) {
			fail(r, "pread");
			break;
		}
		off += (size_t)k;
	}
	r->n = off;
	r->sum = fnv(0xcbf29ce484222325ull, back, bytes);
	if (r->sum != expect && !r->err[0]) {
		/* Say where, so that a failure points at its cause. */
		size_t first = 0, last = 0, nbad = 0;

		for (size_t i = 0; i < bytes; i++)
			if (back[i] != buf[i]) {
				if (!nbad++)
					first = i;
				last = i;
			}
		/* Read the bad bytes once more: wrong again means the file holds
		 * them (write path), right means the first read went wrong. */
		size_t m = bytes - first < 64 ? bytes - first : 64;
		uint8_t again[64];
		char got[129] = "", want[129] = "";
		ssize_t k = pread(fd, again, m, (off_t)first);
		const char *verdict = k != (ssize_t)m ? "failed" :
				      memcmp(again, back + first, m) == 0 ? "same" :
				      memcmp(again, buf + first, m) == 0 ? "right" : "other";

		for (size_t i = 0; i < m; i++) {
			snprintf(got + 2 * i, 3, "%02x", back[first + i]);
			snprintf(want + 2 * i, 3, "%02x", buf[first + i]);
		}
		snprintf(r->err, sizeof(r->err),
			 "checksum mismatch: %zu bytes differ in [%zu, %zu], got %s want %s, read again: %s",
			 nbad, first, last, got, want, verdict);
	}
	if (close(fd) < 0)
		fail(r, "close");
	if (unlink(name) < 0)
		fail(r, "unlink");
	/* this thread's region of the shared file */
	memset(buf, 'a' + t % 26, REGION);
	if (pwrite(shared_fd, buf, REGION, (off_t)t * REGION) != REGION)
		fail(r, "pwrite shared");
out:
	free(buf);
	free(back);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	int n = 8, bad = 0;
	char name[4200];
	uint8_t *region;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: mt DIR [THREADS] [BYTES]\n");
		return 2;
	}
	dir = argv[1];
	if (argc > 2)
		n = atoi(argv[2]);
	if (argc > 3)
		bytes = (size_t)atol(argv[3]);
	if (n < 1 || n > MAX_THREADS || bytes < 1) {
		fprintf(stderr, "mt: bad arguments\n");
		return 2;
	}
	snprintf(name, sizeof(name), "%s/mt.shared", dir);
	shared_fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (shared_fd < 0) {
		perror("mt: open shared");
		return 1;
	}
	for (int t = 0; t < n; t++)
		pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < n; t++) {
		printf("thread %d: bytes=%zu sum=%016llx %s\n", t, results[t].n,
		       (unsigned long long)results[t].sum, results[t].err[0] ? results[t].err : "ok");
		bad |= results[t].err[0] != 0;
	}
	region = malloc(REGION);
	for (int t = 0; t < n && region; t++) {
		ssize_t k = pread(shared_fd, region, REGION, (off_t)t * REGION);
		int ok = k == REGION;

		for (int i = 0; ok && i < REGION; i++)
			ok = region[i] == 'a' + t % 26;
		if (!ok) {
			printf("shared region %d: bad\n", t);
			bad = 1;
		}
	}
	free(region);
	printf("shared file: %s\n", bad ? "FAILED" : "ok");
	close(shared_fd);
	unlink(name);
	return bad;
}
