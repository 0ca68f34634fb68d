/*
 * locks-wait.c - blocking lock waits: eight threads waiting at once
 * (F_SETLKW, F_OFD_SETLKW, flock) do not stop the process's other calls;
 * a signal interrupts a wait with EINTR when its handler has no SA_RESTART,
 * and the wait goes on after the handler when it has.
 *
 * usage: locks-wait DIR
 * A child process holds the locks; the program waits for observable states
 * only (its threads asleep in /proc/self/task/TID/stat, a handler's flag),
 * never for a time.  Deterministic output.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define NWAITERS 8

enum kind { POSIX, OFD, FLOCK };

struct waiter {
	enum kind kind;
	const char *path;
	pthread_t thread;
	_Atomic pid_t tid;      /* set just before the blocking call */
	int result, err;
};

static int take(enum kind kind, int fd, int wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	switch (kind) {
	case POSIX:
		return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
	case OFD:
		return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
	default:
		return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	}
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int fd = open(w->path, O_RDWR);

	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	w->result = fd < 0 ? -1 : take(w->kind, fd, 1);
	w->err = w->result < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);      /* releases it for the next waiter */
	return NULL;
}

/* The thread sleeps (state S in /proc): in the lock wait, natively, or
 * waiting for the service's answer. */
static int asleep(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Bounded poll for w's thread to be asleep in its call. */
static int wait_asleep(struct waiter *w)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 30000; i++) {
		pid_t tid = atomic_load(&w->tid);

		/* Twice in a row: not caught on its way into the call. */
		if (tid && asleep(tid)) {
			nanosleep(&ms, NULL);
			if (asleep(tid))
				return 1;
		}
		nanosleep(&ms, NULL);
	}
	return 0;
}

/* A child holding a write lock of each kind on each of paths; it releases
 * them (by exiting) when *release is closed. */
static pid_t holder(const char *const paths[3], int *release)
{
	int go[2], ready[2];
	char c = 0;

	if (pipe(go) < 0 || pipe(ready) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		int fds[3];
		for (int k = 0; k < 3; k++) {
			fds[k] = open(paths[k], O_RDWR);
			c += fds[k] >= 0 && take((enum kind)k, fds[k], 0) == 0;
		}
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(1);
		for (int k = 0; k < 3; k++)
			close(fds[k]);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || c != 3)
		pid = -1;
	close(ready[0]);
	*release = go[1];
	return pid;
}

static void release_holder(pid_t pid, int release)
{
	close(release);
	waitpid(pid, NULL, 0);
}

static const char *kind_name(enum kind k)
{
	return k == POSIX ? "F_SETLKW" : k == OFD ? "F_OFD_SETLKW" : "flock(LOCK_EX)";
}

static void many_waiters(const char *const paths[3])
{
	struct waiter w[NWAITERS];
	int release;
	pid_t h = holder(paths, &release);

	expect("holder took the three locks", h > 0);
	if (h <= 0)
		return;
	memset(w, 0, sizeof w);
	for (int i = 0; i < NWAITERS; i++) {
		w[i].kind = (enum kind)(i % 3);
		w[i].path = paths[i % 3];
		pthread_create(&w[i].thread, NULL, waiter_main, &w[i]);
	}
	int all = 1;
	for (int i = 0; i < NWAITERS; i++)
		all &= wait_asleep(&w[i]);
	expect("8 threads wait for locks", all);

	/* Meanwhile the process's other calls go on. */
	int fd = open(a("other"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("open another file", fd < 0 ? -1 : 0);
	show("write it", write(fd, "abc", 3));
	show("pread it", pread(fd, (char[4]){ 0 }, 3, 0));
	show("flock(LOCK_EX) it", flock(fd, LOCK_EX));
	show("close it", close(fd));
	show("unlink it", unlink(a("other")));

	release_holder(h, release);
	int ok = 1;
	for (int i = 0; i < NWAITERS; i++) {
		pthread_join(w[i].thread, NULL);
		ok &= w[i].result == 0;
	}
	expect("every waiter got its lock", ok);
}

static atomic_int handled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

/* One wait interrupted by SIGUSR1 (handler with or without SA_RESTART). */
static void interrupted(const char *const paths[3], enum kind kind, int restart)
{
	struct sigaction sa;
	struct waiter w;
	char label[96];
	int release;
	pid_t h = holder(paths, &release);

	if (h <= 0) {
		expect("holder took the three locks", 0);
		return;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&handled, 0);

	memset(&w, 0, sizeof w);
	w.kind = kind;
	w.path = paths[kind];
	pthread_create(&w.thread, NULL, waiter_main, &w);
	snprintf(label, sizeof label, "%s%s: waits", kind_name(kind), restart ? " (SA_RESTART)" : "");
	expect(label, wait_asleep(&w));
	pthread_kill(w.thread, SIGUSR1);
	if (restart) {
		/* The handler runs, and the wait goes on until the lock is free. */
		struct timespec ms = { 0, 1000000 };
		for (int i = 0; i < 30000 && !atomic_load(&handled); i++)
			nanosleep(&ms, NULL);
		snprintf(label, sizeof label, "%s (SA_RESTART): handler ran", kind_name(kind));
		expect(label, atomic_load(&handled) == 1);
		snprintf(label, sizeof label, "%s (SA_RESTART): waits again", kind_name(kind));
		expect(label, wait_asleep(&w));
		release_holder(h, release);
		pthread_join(w.thread, NULL);
	} else {
		pthread_join(w.thread, NULL);
		release_holder(h, release);
		snprintf(label, sizeof label, "%s: handler ran", kind_name(kind));
		expect(label, atomic_load(&handled) == 1);
	}
	snprintf(label, sizeof label, "%s%s: result", kind_name(kind), restart ? " (SA_RESTART)" : "");
	errno = w.err;
	show(label, w.result);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	static char names[3][8192];
	const char *paths[3] = { names[0], names[1], names[2] };
	snprintf(names[0], sizeof names[0], "%s", a("posix"));
	snprintf(names[1], sizeof names[1], "%s", a("ofd"));
	snprintf(names[2], sizeof names[2], "%s", a("flock"));
	for (int k = 0; k < 3; k++) {
		int fd = open(paths[k], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			show("create", -1);
			return 1;
		}
		close(fd);
	}

	many_waiters(paths);
	for (int k = 0; k < 3; k++) {
		interrupted(paths, (enum kind)k, 0);
		interrupted(paths, (enum kind)k, 1);
	}

	for (int k = 0; k < 3; k++)
		unlink(paths[k]);
	return bad;
}
