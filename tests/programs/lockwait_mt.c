/*
 * lockwait_mt.c - blocking lock waits in 8 threads at once (3 F_SETLKW, 3
 * F_OFD_SETLKW, 2 flock) on files another process holds locked (holder.h),
 * while the main thread's other calls on routed files still complete: the
 * waits must not take every resource the process's calls need.  The main
 * thread waits (bounded) until the kernel lists 8 blocked requests on the
 * three files in /proc/locks, then makes 200 open/write/fstat/close rounds
 * and an uncontended F_SETLKW on another file, checks that no waiter got
 * its lock yet, lets the holder go and joins the threads, which must all
 * have got their locks.  Runs in a child (child.h), bounded: a hang shows
 * as "timeout".
 *
 * usage: lockwait_mt DIR
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "report.h"
#include "child.h"
#include "holder.h"

#define THREADS 8

static atomic_int acquired[THREADS];
static char path_a[4200], path_b[4200], path_c[4200];  /* a() is not per thread */

static void *waiter(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int fd, rc;

	if (t < 3) {
		fd = open(path_a, O_RDWR);
		rc = fcntl(fd, F_SETLKW, &fl);
	} else if (t < 6) {
		fd = open(path_b, O_RDWR);
		rc = fcntl(fd, F_OFD_SETLKW, &fl);
	} else {
		fd = open(path_c, O_RDWR);
		rc = flock(fd, LOCK_EX);
	}
	if (fd >= 0 && rc == 0)
		atomic_store(&acquired[t], 1);
	/* closing releases the lock, for the next OFD waiter */
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Blocked lock requests on A, B and C listed in /proc/locks ("->" lines). */
static int blocked(const ino_t ino[3])
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/locks", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;

		if (!strstr(line, "->"))
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
			char *c = strrchr(tok, ':');

			if (c && c != tok && strchr(tok, ':') != c) {
				unsigned long long i = strtoull(c + 1, NULL, 10);

				n += i == ino[0] || i == ino[1] || i == ino[2];
				break;
			}
		}
	}
	fclose(f);
	return n;
}

static void run(void *arg)
{
	pthread_t th[THREADS];
	ino_t ino[3];
	struct stat st;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int n = 0, i, got = 0, fd;

	(void)arg;
	if (start_holder() < 0) {
		show("start the holder", -1);
		bad = 1;
		return;
	}
	for (i = 0; i < 3; i++) {
		char name[2] = { "ABC"[i], 0 };

		ino[i] = stat(a(name), &st) == 0 ? st.st_ino : 0;
	}
	snprintf(path_a, sizeof(path_a), "%s", a("A"));
	snprintf(path_b, sizeof(path_b), "%s", a("B"));
	snprintf(path_c, sizeof(path_c), "%s", a("C"));
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, waiter, (void *)(intptr_t)i);
	for (i = 0; i < 500 && (n = blocked(ino)) < THREADS; i++)
		nanosleep(&tick, NULL);
	printf("%-36s %s\n", "8 blocked requests in /proc/locks", n == THREADS ? "yes" : "no");

	for (i = 0; i < 200; i++) {
		fd = open(a("other"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || write(fd, "12345678", 8) != 8 || fstat(fd, &st) < 0 || close(fd) < 0)
			break;
	}
	show("rounds of other calls", i);
	show("  size of other", stat(a("other"), &st) == 0 ? st.st_size : -1);
	fd = open(a("D"), O_RDWR | O_CREAT, 0644);
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		show("F_SETLKW on D (free)", fcntl(fd, F_SETLKW, &fl));
	}
	close(fd);
	for (i = 0; i < THREADS; i++)
		got += atomic_load(&acquired[i]);
	show("waiters with a lock before release", got);

	release_holder();
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	got = 0;
	for (i = 0; i < THREADS; i++)
		got += atomic_load(&acquired[i]);
	show("waiters with a lock after release", got);
	expect("all 8 got their locks", got == THREADS);
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: lockwait_mt /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	in_child("lock waits in 8 threads", run, NULL, 15);
	return bad;
}
