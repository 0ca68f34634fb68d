/*
 * stdstreams.c - stdout moved between files with dup2, freopen and fclose,
 * the way shells and coreutils do it.  Under libvirtuos, fd 1 on a routed
 * file means stdout is a different FILE behind the scenes; the program must
 * not notice.  Reports go to a duplicate of the original fd 1 (with
 * dprintf), so they do not depend on what stdout is.
 *
 * usage: stdstreams DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int rep;                 /* where the report goes */
static const char *dir;
static char local_path[64];     /* a local file, whatever DIR is */

static const char *path(const char *name)
{
	static char buf[4][4200];
	static int next;
	char *p = buf[next++ % 4];

	if (strcmp(name, "@") == 0)
		return local_path;
	snprintf(p, 4200, "%s/%s", dir, name);
	return p;
}

/* A file's contents as one line (newlines shown as '|'). */
static void show(const char *name)
{
	char buf[256];
	int fd = open(path(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n < 0) {
		dprintf(rep, "  %s: %s\n", name, strerrorname_np(errno));
	} else {
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		dprintf(rep, "  %s: \"%s\"\n", name, buf);
	}
	if (fd >= 0)
		close(fd);
}

static int open_file(const char *name, int flags)
{
	int fd = open(path(name), flags | O_CREAT, 0644);

	if (fd < 0)
		dprintf(rep, "open %s: %s\n", name, strerrorname_np(errno));
	return fd;
}

/* Point fd 1 at a file (name "@" = the local file). */
static void redirect(const char *name, int flags)
{
	int fd = open_file(name, O_WRONLY | flags);

	if (fd >= 0) {
		dup2(fd, 1);
		close(fd);
	}
}

/* Bytes still in stdout's buffer go to whatever fd 1 is when they are
 * flushed: dup2 does not flush. */
static void test_pending(void)
{
	dprintf(rep, "== pending bytes follow fd 1\n");
	redirect("@", O_TRUNC);
	printf("local-1\n");
	redirect("p1", O_TRUNC);        /* local -> routed */
	printf("routed-1\n");
	redirect("p2", O_TRUNC);        /* routed -> routed */
	printf("routed-2\n");
	redirect("@", O_APPEND);        /* routed -> local */
	printf("local-2\n");
	fflush(stdout);
	show("p1");
	show("p2");
	show("@");
}

static void test_freopen(void)
{
	FILE *f;

	dprintf(rep, "== freopen stdout\n");
	f = freopen(path("f1"), "w", stdout);
	dprintf(rep, "freopen f1 w: %s\n", !f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
	printf("F1\n");
	f = freopen(path("@"), "w", stdout);
	dprintf(rep, "freopen local w: %s\n", !f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
	printf("L1\n");
	f = freopen(path("f1"), "a", stdout);
	dprintf(rep, "freopen f1 a: %s\n", !f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
	printf("F2\n");
	f = freopen(path("f2"), "w", stdout);  /* routed -> routed */
	dprintf(rep, "freopen f2 w: %s\n", !f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
	printf("F3\n");
	/* an old copy of the stdout pointer, fd 1 moved meanwhile */
	{
		FILE *old = stdout;

		redirect("@", O_APPEND);
		printf("L2\n");
		f = freopen(path("f3"), "w", old);
		dprintf(rep, "freopen f3 via old pointer: %s\n",
			!f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
		printf("F4\n");
	}
	/* fd 1 closed first: the file gets fd 1 anyway (lowest free) */
	fflush(stdout);
	close(1);
	f = freopen(path("f4"), "w", stdout);
	dprintf(rep, "freopen f4 after close(1): %s\n", !f ? strerrorname_np(errno) : f == stdout ? "stdout" : "other");
	printf("F5\n");
	fflush(stdout);
	dprintf(rep, "fileno(stdout): %d\n", fileno(stdout));
	show("f1");
	show("f2");
	show("f3");
	show("f4");
	show("@");
	/* stderr too, unbuffered */
	{
		int saved = dup(2), fd = open_file("e1", O_WRONLY | O_TRUNC);

		dup2(fd, 2);
		close(fd);
		fprintf(stderr, "E1\n");
		dup2(saved, 2);
		close(saved);
		show("e1");
	}
}

/* Another thread inside stdout (holding its lock) while fd 1 moves: dup2
 * must not wait for it.  The holder gives up after 10 s, so a dup2 that
 * waits shows up as "blocked" instead of hanging the test. */
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static int hold_state;          /* 1: stdout locked, 2: dup2 returned */
static int hold_timeout;

static void *hold_stdout(void *arg)
{
	FILE *f = arg;
	struct timespec until;

	flockfile(f);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&hold_lock);
	hold_state = 1;
	pthread_cond_broadcast(&hold_cond);
	while (hold_state != 2 && !hold_timeout)
		hold_timeout = pthread_cond_timedwait(&hold_cond, &hold_lock, &until) != 0;
	pthread_mutex_unlock(&hold_lock);
	funlockfile(f);
	return NULL;
}

static void dup2_while_locked(const char *label, const char *name, int flags)
{
	pthread_t t;

	hold_state = hold_timeout = 0;
	if (pthread_create(&t, NULL, hold_stdout, stdout) != 0)
		return;
	pthread_mutex_lock(&hold_lock);
	while (hold_state != 1)
		pthread_cond_wait(&hold_cond, &hold_lock);
	pthread_mutex_unlock(&hold_lock);
	redirect(name, flags);
	pthread_mutex_lock(&hold_lock);
	hold_state = 2;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
	pthread_join(t, NULL);
	dprintf(rep, "%s: %s\n", label, hold_timeout ? "blocked" : "returned");
}

static void test_locked(void)
{
	dprintf(rep, "== dup2 while another thread holds stdout\n");
	redirect("@", O_TRUNC);
	dup2_while_locked("local -> routed", "k1", O_TRUNC);
	printf("K1\n");
	dup2_while_locked("routed -> local", "@", O_APPEND);
	printf("K2\n");
	fflush(stdout);
	show("k1");
	show("@");
}

/* coreutils' close_stdout(): fclose(stdout) at exit.  Afterwards stdout is
 * a closed stream, even when fd 1 is open again. */
static void test_fclose(void)
{
	int r, fd;

	dprintf(rep, "== fclose stdout\n");
	redirect("c1", O_TRUNC);
	printf("C1\n");
	r = fclose(stdout);
	dprintf(rep, "fclose: %d\n", r);
	dprintf(rep, "fd 1 after fclose: %s\n", fcntl(1, F_GETFD) < 0 ? strerrorname_np(errno) : "open");
	errno = 0;
	r = printf("C2\n");
	dprintf(rep, "printf on closed stdout: %d %s\n", r, strerrorname_np(errno));
	fd = open_file("c2", O_WRONLY | O_TRUNC);       /* lowest free: 1 */
	dprintf(rep, "reopened fd: %d\n", fd);
	errno = 0;
	r = printf("C3\n");
	dprintf(rep, "printf with fd 1 open again: %d %s\n", r, strerrorname_np(errno));
	r = fputs("C4\n", stdout);
	dprintf(rep, "fputs: %d\n", r);
	r = fflush(stdout);
	dprintf(rep, "fflush: %d\n", r);
	r = fclose(stdout);
	dprintf(rep, "second fclose: %d\n", r);
	errno = 0;
	r = printf("C5\n");
	dprintf(rep, "printf after second fclose: %d %s\n", r, strerrorname_np(errno));
	close(fd);
	show("c1");
	show("c2");
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: stdstreams DIR\n");
		return 2;
	}
	dir = argv[1];
	snprintf(local_path, sizeof(local_path), "/tmp/vos-stdstreams.XXXXXX");
	fd = mkstemp(local_path);
	if (fd < 0) {
		perror("stdstreams: mkstemp");
		return 1;
	}
	close(fd);
	fflush(stdout);
	rep = dup(1);
	/* Each test in a child of its own: it starts from the standard
	 * streams as the program got them, and may leave them closed. */
	for (int i = 0; i < 4; i++) {
		static void (*const tests[4])(void) = {
			test_pending, test_freopen, test_locked, test_fclose,
		};
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			tests[i]();
			exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
			dprintf(rep, "test %d: child failed (status %d)\n", i, pid < 0 ? -1 : st);
	}
	unlink(local_path);
	return 0;
}
