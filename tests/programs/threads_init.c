/*
 * threads_init.c - threads started before main (from a constructor of the
 * program: it runs after the constructors of the libraries, a preloaded
 * one included) and after it, all doing routed I/O at once: each of 4 + 4
 * threads writes its own file in DIR in 50 rounds (open, write, pread
 * back, fstat, close) and counts the rounds that checked out.  The early
 * threads take DIR from the constructor's argv and start before main runs.
 *
 * usage: threads_init DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

#define EARLY 4
#define LATE 4
#define ROUNDS 50

static pthread_t th[EARLY + LATE];
static int good[EARLY + LATE];
static int early_started;

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	char path[4200], buf[64], back[64];

	/* not report.h's a(): its rotating buffers are not per thread */
	snprintf(path, sizeof(path), "%s/t%d", dir, t);
	for (int r = 0; r < ROUNDS; r++) {
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		int n = snprintf(buf, sizeof(buf), "thread %d round %d\n", t, r);
		struct stat st;

		if (fd < 0)
			continue;
		if (write(fd, buf, (size_t)n) == n && pread(fd, back, (size_t)n, 0) == n &&
		    memcmp(buf, back, (size_t)n) == 0 && fstat(fd, &st) == 0 && st.st_size == n)
			good[t]++;
		close(fd);
	}
	return NULL;
}

__attribute__((constructor)) static void early(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir))
		return;
	strcpy(dir, argv[1]);
	for (int t = 0; t < EARLY; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0)
			early_started++;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: threads_init /DIR\n");
		return 2;
	}
	show("threads started by the constructor", early_started);
	for (int t = EARLY; t < EARLY + LATE; t++)
		pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
	for (int t = 0; t < EARLY + LATE; t++) {
		char label[64];

		if (t < early_started || t >= EARLY)
			pthread_join(th[t], NULL);
		snprintf(label, sizeof(label), "%s thread %d: good rounds", t < EARLY ? "early" : "late", t);
		show(label, good[t]);
		if (good[t] != ROUNDS)
			bad = 1;
	}
	expect("all 4 early threads started", early_started == EARLY);
	expect("DIR/t0 is there", access(a("t0"), F_OK) == 0);
	return bad;
}
