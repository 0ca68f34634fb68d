/*
 * signals.c - signal semantics a program relies on, natively and under
 * libvirtuos (which installs the program's handlers behind a trampoline):
 * what sigaction()/signal() report back, SA_SIGINFO, SA_RESETHAND,
 * SA_NODEFER, sa_mask, blocked signals, siglongjmp out of a handler, and
 * SA_RESTART/EINTR for local blocking calls (pipe read, nanosleep) while
 * handlers do remote I/O on DIR.
 *
 * A blocking call is interrupted deterministically: a child process waits
 * until the parent said "about to block" (shared memory) and the kernel
 * shows it sleeping, then sends the signal; the handler acknowledges on a
 * pipe before the child writes the data the call waits for.
 *
 * usage: signals DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int dfd = -1;                    /* a file in DIR, read by handlers */
static volatile sig_atomic_t hits, blocked_self, blocked_usr2, remote_ok, info_ok;
static int ack[2];                      /* handler -> child: "signal seen" */
static volatile int *about_to_block;    /* shared with the child */
static sigjmp_buf jmp;

static const char *err(int r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

static void record_mask(int sig)
{
	sigset_t cur;

	sigprocmask(SIG_SETMASK, NULL, &cur);
	blocked_self = sigismember(&cur, sig);
	blocked_usr2 = sigismember(&cur, SIGUSR2);
}

/* Reads the file in DIR: under libvirtuos a remote call from a handler. */
static void remote_io(void)
{
	char b[4];

	remote_ok = pread(dfd, b, 4, 0) == 4 && memcmp(b, "data", 4) == 0;
}

static void on_plain(int sig)
{
	int e = errno;

	hits++;
	record_mask(sig);
	remote_io();
	if (write(ack[1], "a", 1) < 0)
		hits = -100;
	errno = e;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	hits++;
	record_mask(sig);
	info_ok = uc != NULL && si->si_signo == sig && si->si_code == SI_QUEUE &&
		  si->si_value.sival_int == 42 && si->si_pid == getpid();
}

static void on_jump(int sig)
{
	hits++;
	record_mask(sig);
	siglongjmp(jmp, 1);
}

static void set(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(sig, &sa, NULL) < 0)
		printf("sigaction: %s\n", strerrorname_np(errno));
}

static const char *name_of(void *fn)
{
	return fn == (void *)SIG_DFL ? "SIG_DFL" : fn == (void *)SIG_IGN ? "SIG_IGN" :
	       fn == (void *)on_plain ? "on_plain" : fn == (void *)on_info ? "on_info" :
	       fn == (void *)on_jump ? "on_jump" : "OTHER";
}

static void show_action(const char *label, int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa) < 0) {
		printf("%s: %s\n", label, strerrorname_np(errno));
		return;
	}
	printf("%s: %s flags %#x mask-usr2 %d\n", label, name_of((void *)sa.sa_handler),
	       (unsigned)sa.sa_flags, sigismember(&sa.sa_mask, SIGUSR2));
}

static void test_report_back(void)
{
	struct sigaction sa, old;
	void (*prev)(int);

	printf("== what sigaction and signal report\n");
	set(SIGUSR1, on_plain, SA_RESTART);
	show_action("plain SA_RESTART", SIGUSR1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, &old);
	printf("old: %s flags %#x\n", name_of((void *)old.sa_handler), (unsigned)old.sa_flags);
	show_action("siginfo", SIGUSR1);
	prev = signal(SIGUSR1, on_plain);
	printf("signal() returned %s\n", name_of((void *)prev));
	show_action("after signal()", SIGUSR1);
	prev = signal(SIGUSR1, SIG_IGN);
	printf("signal(SIG_IGN) returned %s\n", name_of((void *)prev));
	show_action("ignored", SIGUSR1);
	prev = signal(SIGUSR1, SIG_DFL);
	printf("signal(SIG_DFL) returned %s\n", name_of((void *)prev));
}

static void test_delivery(void)
{
	union sigval v = { .sival_int = 42 };
	struct sigaction sa;
	sigset_t set1, pend;

	printf("== delivery\n");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	sigqueue(getpid(), SIGUSR1, v);
	printf("siginfo: hits %d info %d self-blocked %d\n", hits, info_ok, blocked_self);

	set(SIGUSR1, on_plain, SA_RESETHAND);
	hits = 0;
	raise(SIGUSR1);
	printf("resethand: hits %d remote %d\n", hits, remote_ok);
	show_action("after resethand", SIGUSR1);

	set(SIGUSR1, on_plain, SA_NODEFER);
	raise(SIGUSR1);
	printf("nodefer: self-blocked %d usr2-blocked %d\n", blocked_self, blocked_usr2);
	set(SIGUSR1, on_plain, 0);
	raise(SIGUSR1);
	printf("default: self-blocked %d usr2-blocked %d\n", blocked_self, blocked_usr2);

	sigemptyset(&set1);
	sigaddset(&set1, SIGUSR1);
	hits = 0;
	sigprocmask(SIG_BLOCK, &set1, NULL);
	raise(SIGUSR1);
	sigpending(&pend);
	printf("blocked: hits %d pending %d\n", hits, sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &set1, NULL);
	printf("unblocked: hits %d\n", hits);

	set(SIGUSR1, on_jump, 0);
	hits = 0;
	if (sigsetjmp(jmp, 1) == 0) {
		raise(SIGUSR1);
		printf("siglongjmp: not taken\n");
	} else {
		sigset_t cur;

		sigprocmask(SIG_SETMASK, NULL, &cur);
		printf("siglongjmp: hits %d in-handler-blocked %d after-blocked %d\n", hits,
		       blocked_self, sigismember(&cur, SIGUSR1));
	}
	signal(SIGUSR1, SIG_DFL);
}

/* siglongjmp out of handlers that interrupt remote I/O (under libvirtuos
 * they may be deferred to the end of a remote call). */
static void test_jump_out_of_io(void)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	volatile int jumps = 0, bad_mask = 0;
	char b[4];

	printf("== siglongjmp out of handlers during I/O\n");
	set(SIGALRM, on_jump, 0);
	/* The timer starts only once jmp is this function's: a tick between
	 * setitimer() and sigsetjmp() would jump into the previous test's dead
	 * frame (it did, on a slow TCG guest). */
	if (sigsetjmp(jmp, 1) != 0) {
		sigset_t cur;

		sigprocmask(SIG_SETMASK, NULL, &cur);
		bad_mask |= sigismember(&cur, SIGALRM);
		jumps++;
	} else {
		setitimer(ITIMER_REAL, &it, NULL);
	}
	while (jumps < 20)
		if (pread(dfd, b, 4, 0) != 4)
			bad_mask |= 2;
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	/* The timer may fire once more between the loop's end and the
	 * setitimer() that stops it: 20 or 21 jumps are both right. */
	printf("jumps %s, mask after jump ok %d, reads ok %d\n",
	       jumps >= 20 ? "at least 20" : "too few", !(bad_mask & 1), !(bad_mask & 2));
}

/* Is pid asleep (state S) right now? */
static int sleeping(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/*
 * Child: once the parent blocks, send sig, wait for the handler's
 * acknowledgement, then (if data >= 0) write one byte to that pipe.
 */
static pid_t interrupter(int sig, int data)
{
	pid_t parent = getpid(), pid;
	char c;

	/* Acknowledgements of earlier handler runs must not count. */
	fcntl(ack[0], F_SETFL, O_NONBLOCK);
	while (read(ack[0], &c, 1) == 1)
		;
	fcntl(ack[0], F_SETFL, 0);
	*about_to_block = 0;
	pid = fork();
	if (pid != 0)
		return pid;
	for (int i = 0; i < 100000 && !(*about_to_block && sleeping(parent)); i++)
		usleep(100);
	kill(parent, sig);
	if (read(ack[0], &(char){ 0 }, 1) != 1)
		_exit(1);
	if (data >= 0 && write(data, "x", 1) != 1)
		_exit(1);
	_exit(0);
}

static void finish(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("interrupter failed\n");
}

static void blocked_read(const char *label, int flags, int use_signal)
{
	int p[2];
	char c = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) < 0)
		return;
	if (use_signal)
		signal(SIGUSR1, on_plain);
	else
		set(SIGUSR1, on_plain, flags);
	hits = remote_ok = 0;
	pid = interrupter(SIGUSR1, p[1]);
	*about_to_block = 1;
	r = read(p[0], &c, 1);
	printf("%s: read %zd %s", label, r, err((int)r));
	if (r < 0)
		r = read(p[0], &c, 1);  /* the byte the child wrote afterwards */
	printf(", then %zd '%c', hits %d remote %d\n", r, c, hits, remote_ok);
	finish(pid);
	close(p[0]);
	close(p[1]);
}

/* Deprecated, but older programs still call it. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void test_restart(void)
{
	struct timespec ts = { 30, 0 };
	pid_t pid;
	int r;

	printf("== SA_RESTART and EINTR on local blocking calls\n");
	blocked_read("pipe, SA_RESTART", SA_RESTART, 0);
	blocked_read("pipe, no SA_RESTART", 0, 0);
	blocked_read("pipe, signal()", 0, 1);
	siginterrupt(SIGUSR1, 1);
	show_action("after siginterrupt 1", SIGUSR1);
	blocked_read("pipe, siginterrupt 1", 0, 1);
	siginterrupt(SIGUSR1, 0);
	show_action("after siginterrupt 0", SIGUSR1);

	set(SIGUSR1, on_plain, SA_RESTART);
	pid = interrupter(SIGUSR1, -1);
	*about_to_block = 1;
	r = nanosleep(&ts, NULL);
	printf("nanosleep, SA_RESTART: %d %s, hits %d\n", r, err(r), hits);
	finish(pid);
	signal(SIGUSR1, SIG_DFL);
}

int main(int argc, char **argv)
{
	char path[4200];

	if (argc != 2) {
		fprintf(stderr, "usage: signals DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);       /* children share stdout */
	snprintf(path, sizeof(path), "%s/signals.dat", argv[1]);
	dfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	about_to_block = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (dfd < 0 || write(dfd, "data", 4) != 4 || about_to_block == MAP_FAILED ||
	    pipe(ack) < 0) {
		perror("signals: setup");
		return 1;
	}
	test_report_back();
	test_delivery();
	test_jump_out_of_io();
	test_restart();
	close(dfd);
	unlink(path);
	return 0;
}
