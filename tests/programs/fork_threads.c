/*
 * fork_threads.c - fork and posix_spawn while other threads are busy inside
 * the library: some threads keep executing `syscall` instructions never
 * executed before (each one's first execution traps and is rewritten by the
 * dispatcher, under its rewrite lock), others make routed calls in DIR
 * (open, write, pread, close: the fd lock, the client engine).  The main
 * thread forks many times meanwhile; each child executes a `syscall` site of
 * its own that is new to it (a first encounter, so a rewrite in the child),
 * reads a routed file and exits.  A lock another thread held at the fork
 * must not stay held in the child: a child that does not exit within a
 * generous bound is reported (and killed) instead of hanging the run.  Then
 * a few posix_spawn children (CLONE_VM|CLONE_VFORK) are started the same way,
 * then vfork children (a raw system call, not glibc's fork(): no atfork
 * handlers, no lock reset) that exit or exec at once, while one more thread
 * keeps allocating and freeing blocks too big for malloc's per-thread cache
 * from the one arena every thread shares (M_ARENA_MAX 1): whatever the
 * library does in such a child must not wait for the arena lock.  One more
 * thread sets RLIMIT_NOFILE all the time; the fork children read it.
 *
 * Each phase is bounded in time as well as in count: it stops after its
 * count, or after its time budget once a minimum count is done.  Natively
 * and in local mode on a development machine the counts are reached.  The
 * Xen guest set under TCG, where every fork meets threads that trap at a
 * fresh site again and again (each trap and rewrite, and every fork, goes
 * through the SIGSYS handler at ~130 us) and each child connects a channel
 * of its own over event channels and xenstore, does some 10 forks in the
 * budget where it would take five minutes for all (slow, not stuck: every
 * child exits).
 * The output does not depend on the counts reached.
 *
 * The fresh sites are generated code: stubs `mov $SYS_getppid, %eax;
 * syscall; ret`, one per 8 bytes, in an anonymous executable mapping.
 *
 * usage: fork_threads DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define SITE_THREADS 3
#define IO_THREADS 2
#define NTHREADS (SITE_THREADS + IO_THREADS + 2)       /* + allocating, + limits */
#define FORKS 100
#define SPAWNS 8
#define VFORKS 40
#define VFORK_EXECS 5                   /* spread: one after every 8 exits */
#define STR(x) #x
#define XSTR(x) STR(x)
#define STUB 8                          /* bytes per stub */
#define STUBS_PER_THREAD (1 << 16)      /* more than a run uses */
#define CHILD_BOUND_MS 30000            /* only a stuck child takes this long */
/* Per phase: at least MIN_* children, then more while within its budget. */
#define MIN_FORKS 5
#define MIN_SPAWNS 2
#define MIN_VFORKS 9                    /* with at least one exec */
#define FORK_BUDGET_MS 20000
#define SPAWN_BUDGET_MS 10000
#define VFORK_BUDGET_MS 10000

extern char **environ;

typedef long stub_fn(void);

static unsigned char *code;             /* [thread regions..., the children's region] */
static atomic_int stop, running;
static char seed[4096], io_path[IO_THREADS][4096];  /* report.h's a() is not thread-safe */
static atomic_long site_calls, io_rounds, io_errors;

/* The stub k of region r: a `syscall` at an address nobody executed yet. */
static stub_fn *stub(int r, long k)
{
	void *p = code + ((size_t)r * STUBS_PER_THREAD + (size_t)k) * STUB;
	stub_fn *f;

	memcpy(&f, &p, sizeof(f));
	return f;
}

static int make_code(void)
{
	size_t len = (size_t)(SITE_THREADS + 1) * STUBS_PER_THREAD * STUB;
	static const unsigned char s[STUB] = {
		0xb8, SYS_getppid, 0, 0, 0,     /* mov $SYS_getppid, %eax */
		0x0f, 0x05,                     /* syscall */
		0xc3,                           /* ret */
	};

	code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return -1;
	for (size_t off = 0; off < len; off += STUB)
		memcpy(code + off, s, STUB);
	return mprotect(code, len, PROT_READ | PROT_EXEC);
}

static void *site_thread(void *arg)
{
	int r = (int)(intptr_t)arg;
	long k;
	pid_t parent = getpid();

	atomic_fetch_add(&running, 1);
	for (k = 0; k < STUBS_PER_THREAD && !atomic_load(&stop); k++)
		if (stub(r, k)() != getppid() || getpid() != parent)
			break;
	atomic_fetch_add(&site_calls, k);
	return NULL;
}

static int io_round(int t)
{
	char buf[4096], back[4096];
	int fd, ok;

	memset(buf, 'a' + t, sizeof(buf));
	fd = open(io_path[t], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	     pread(fd, back, sizeof(back), 0) == (ssize_t)sizeof(back) &&
	     memcmp(buf, back, sizeof(buf)) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

static void *io_thread(void *arg)
{
	int t = (int)(intptr_t)arg;

	atomic_fetch_add(&running, 1);
	while (!atomic_load(&stop)) {
		if (io_round(t) < 0)
			atomic_fetch_add(&io_errors, 1);
		atomic_fetch_add(&io_rounds, 1);
	}
	return NULL;
}

static void *alloc_thread(void *arg)
{
	(void)arg;
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&stop)) {
		void *p[16];

		for (int i = 0; i < 16; i++)
			p[i] = malloc(2048 + (size_t)i * 512);
		for (int i = 0; i < 16; i++)
			free(p[i]);
	}
	return NULL;
}

/* vfork children: one that exits at once, one that execs /bin/true. */
static pid_t vfork_exit(void)
{
	pid_t pid = vfork();

	if (pid == 0)
		_exit(0);
	return pid;
}

static pid_t vfork_exec(void)
{
	static char *const args[] = { "true", NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execve("/bin/true", args, environ);
		_exit(127);
	}
	return pid;
}

/* setrlimit/getrlimit(RLIMIT_NOFILE) all the time: the library keeps the
 * program's view of that limit under a lock of its own. */
static void *limits_thread(void *arg)
{
	struct rlimit rl;

	(void)arg;
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&stop))
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
			setrlimit(RLIMIT_NOFILE, &rl);
	return NULL;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Whether a phase that started at t0 and made n children goes on. */
static int phase_goes_on(int n, int max, int min, long t0, long budget_ms)
{
	return n < max && (n < min || now_ms() - t0 < budget_ms);
}

/* Wait for pid with a bound: 0 exited with status 0, 1 other status, -1 stuck (killed). */
static int wait_bounded(pid_t pid)
{
	struct timespec ms = { 0, 1000000 };
	int st;

	for (int waited = 0; waited < CHILD_BOUND_MS; waited++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
		if (r < 0)
			return 1;
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* The child of fork i: a first encounter of its own, then a routed read. */
static void child(int i)
{
	struct rlimit rl;
	char c;
	int fd, ok;

	if (stub(SITE_THREADS, i)() != getppid())
		_exit(2);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		_exit(4);
	fd = open(seed, O_RDONLY);
	ok = fd >= 0 && read(fd, &c, 1) == 1 && c == 's' && close(fd) == 0;
	_exit(ok ? 0 : 3);
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	int stuck = 0, failed = 0, fd, n;
	long t0;
	struct timespec ms = { 0, 1000000 };

	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	mallopt(M_ARENA_MAX, 1);        /* every thread allocates from one arena */
	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(seed, sizeof(seed), "%s", a("seed"));
	for (int t = 0; t < IO_THREADS; t++)
		snprintf(io_path[t], sizeof(io_path[t]), "%s", a(t ? "io1" : "io0"));
	fd = open(seed, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "s", 1) != 1 || close(fd) != 0 || make_code() < 0) {
		perror("setup");
		return 1;
	}
	for (int t = 0; t < SITE_THREADS; t++)
		pthread_create(&th[t], NULL, site_thread, (void *)(intptr_t)t);
	for (int t = 0; t < IO_THREADS; t++)
		pthread_create(&th[SITE_THREADS + t], NULL, io_thread, (void *)(intptr_t)t);
	pthread_create(&th[NTHREADS - 2], NULL, alloc_thread, NULL);
	pthread_create(&th[NTHREADS - 1], NULL, limits_thread, NULL);
	while (atomic_load(&running) < NTHREADS)
		nanosleep(&ms, NULL);   /* they started: forks now meet them mid-call */
	show("threads busy during the forks", NTHREADS);

	t0 = now_ms();
	for (n = 0; phase_goes_on(n, FORKS, MIN_FORKS, t0, FORK_BUDGET_MS) && !stuck; n++) {
		pid_t pid = fork();     /* one stuck child says enough */

		if (pid == 0)
			child(n);
		if (pid < 0) {
			failed++;
			continue;
		}
		switch (wait_bounded(pid)) {
		case -1: stuck++; break;
		case 1: failed++; break;
		}
	}
	expect("forks: at least " XSTR(MIN_FORKS), n >= MIN_FORKS);
	expect("fork children all exited", stuck == 0);
	expect("fork children all succeeded", failed == 0);

	stuck = failed = 0;
	t0 = now_ms();
	for (n = 0; phase_goes_on(n, SPAWNS, MIN_SPAWNS, t0, SPAWN_BUDGET_MS) && !stuck; n++) {
		char *args[] = { "cat", seed, NULL };
		posix_spawn_file_actions_t fa;
		pid_t pid;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		if (posix_spawn(&pid, "/bin/cat", &fa, NULL, args, environ) != 0) {
			failed++;
		} else {
			switch (wait_bounded(pid)) {
			case -1: stuck++; break;
			case 1: failed++; break;
			}
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	expect("posix_spawns: at least " XSTR(MIN_SPAWNS), n >= MIN_SPAWNS);
	expect("spawned children all exited", stuck == 0);
	expect("spawned children all succeeded", failed == 0);

	stuck = failed = 0;
	t0 = now_ms();
	for (n = 0; phase_goes_on(n, VFORKS + VFORK_EXECS, MIN_VFORKS, t0, VFORK_BUDGET_MS) &&
		    !stuck; n++) {
		/* one exec after every 8 exits */
		pid_t pid = n % 9 == 8 ? vfork_exec() : vfork_exit();

		if (pid < 0) {
			failed++;
			continue;
		}
		switch (wait_bounded(pid)) {
		case -1: stuck++; break;
		case 1: failed++; break;
		}
	}
	expect("vforks: at least " XSTR(MIN_VFORKS), n >= MIN_VFORKS);
	expect("vfork children all exited", stuck == 0);
	expect("vfork children all succeeded", failed == 0);

	atomic_store(&stop, 1);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	expect("fresh sites executed by the threads", atomic_load(&site_calls) > 0);
	expect("routed rounds by the threads", atomic_load(&io_rounds) > 0);
	expect("routed rounds all correct", atomic_load(&io_errors) == 0);
	return bad;
}
