/*
 * epoll_mixed.c - one epoll set with a local pipe and a FIFO in DIR (remote
 * under libvirtuos), level-triggered: nothing ready (0, also after a
 * timeout), a wake by the FIFO's writer (a forked child that writes only
 * when the parent tells it through another pipe), a wake by the pipe,
 * level-triggered repeats, two ready with maxevents 1 (both reported, in
 * two calls), EPOLLONESHOT and its re-arm by MOD, DEL and the ENOENT/EEXIST
 * errors, a regular file refused (EPERM), EINTR by SIGALRM, epoll_pwait
 * with a signal mask, epoll_pwait2, the FIFO's hang-up (EPOLLHUP), and a
 * closed fd leaving the set.  Steps that could hang run bounded (child.h).
 *
 * usage: epoll_mixed DIR
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

#define D_PIPE 1
#define D_FIFO 2

static int ep, pr, pw, fifo, reg, go_w;
static volatile sig_atomic_t alarms, usr1s;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

static void tell(char cmd)
{
	if (write(go_w, &cmd, 1) != 1)
		bad = 1;
}

static void drain(int fd)
{
	char buf[16];

	if (read(fd, buf, sizeof buf) < 1)
		bad = 1;
}

/* The writer: 'f' writes to the FIFO, 'c' closes it, 'q' ends. */
static void writer(int go_r, int fw)
{
	char cmd;

	while (read(go_r, &cmd, 1) == 1) {
		if (cmd == 'f' && write(fw, "x", 1) != 1)
			_exit(3);
		if (cmd == 'c')
			close(fw);
		if (cmd == 'q')
			break;
	}
	_exit(0);
}

/* epoll_wait and print the events as "data:EVENTS ...". */
static int wait_show(const char *label, int max, int timeout)
{
	struct epoll_event ev[4];
	char line[128] = "";
	int n = epoll_wait(ep, ev, max, timeout);

	for (int i = 0; i < n; i++) {
		char one[32];

		snprintf(one, sizeof one, " %s:%s%s%s", ev[i].data.u64 == D_PIPE ? "pipe" : "fifo",
			 ev[i].events & EPOLLIN ? "IN" : "", ev[i].events & EPOLLOUT ? "OUT" : "",
			 ev[i].events & EPOLLHUP ? "HUP" : "");
		strncat(line, one, sizeof line - strlen(line) - 1);
	}
	if (n < 0)
		show(label, n);
	else
		printf("%-36s %d%s\n", label, n, line);
	return n;
}

static void add(int fd, uint32_t events, uint64_t data, const char *label)
{
	struct epoll_event e = { .events = events, .data.u64 = data };

	show(label, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
}

static void step_basic(void *arg)
{
	(void)arg;
	expect("nothing: 0", wait_show("wait 0 ms", 4, 0) == 0);
	expect("timeout: 0", wait_show("wait 20 ms", 4, 20) == 0);
	tell('f');
	expect("the fifo", wait_show("wait, the fifo is written", 4, -1) == 1);
	expect("again: level-triggered", wait_show("wait again, not read", 4, 0) == 1);
	drain(fifo);
	if (write(pw, "x", 1) != 1)
		bad = 1;
	expect("the pipe", wait_show("wait, the pipe is written", 4, -1) == 1);
	drain(pr);
	expect("nothing", wait_show("wait 0 ms, both read", 4, 0) == 0);
}

static void step_maxevents(void *arg)
{
	struct epoll_event ev;
	int seen = 0, n;

	(void)arg;
	tell('f');
	if (write(pw, "x", 1) != 1)
		bad = 1;
	/* Wait until both are ready, then take them one per call. */
	struct pollfd p = { fifo, POLLIN, 0 };
	if (poll(&p, 1, -1) != 1)
		bad = 1;
	for (int i = 0; i < 2; i++) {
		n = epoll_wait(ep, &ev, 1, 0);
		if (n == 1)
			seen |= 1 << ev.data.u64;
		if (n == 1 && ev.data.u64 == D_PIPE)
			drain(pr);
		if (n == 1 && ev.data.u64 == D_FIFO)
			drain(fifo);
	}
	expect("maxevents 1: both, in two calls", seen == ((1 << D_PIPE) | (1 << D_FIFO)));
	expect("nothing left", wait_show("wait 0 ms after", 4, 0) == 0);
}

static void step_oneshot(void *arg)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = D_FIFO };

	(void)arg;
	show("MOD fifo ONESHOT", epoll_ctl(ep, EPOLL_CTL_MOD, fifo, &e));
	tell('f');
	expect("reported once", wait_show("wait, the fifo is written", 4, -1) == 1);
	expect("then not", wait_show("wait 0 ms, not read", 4, 0) == 0);
	show("MOD fifo again", epoll_ctl(ep, EPOLL_CTL_MOD, fifo, &e));
	expect("re-armed", wait_show("wait 0 ms after MOD", 4, 0) == 1);
	drain(fifo);
	e.events = EPOLLIN;
	show("MOD fifo level", epoll_ctl(ep, EPOLL_CTL_MOD, fifo, &e));
}

static void step_ctl(void *arg)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = D_FIFO };

	(void)arg;
	add(fifo, EPOLLIN, D_FIFO, "ADD fifo again");
	add(reg, EPOLLIN, 9, "ADD regular file");
	show("DEL fifo", epoll_ctl(ep, EPOLL_CTL_DEL, fifo, NULL));
	tell('f');
	if (write(pw, "x", 1) != 1)
		bad = 1;
	expect("only the pipe", wait_show("wait, fifo deleted, both written", 4, -1) == 1);
	drain(pr);
	struct pollfd p = { fifo, POLLIN, 0 };
	if (poll(&p, 1, -1) != 1)       /* the writer's byte is there */
		bad = 1;
	show("DEL fifo again", epoll_ctl(ep, EPOLL_CTL_DEL, fifo, NULL));
	show("MOD fifo", epoll_ctl(ep, EPOLL_CTL_MOD, fifo, &e));
	show("ADD the epoll fd to itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
	show("ADD fifo to a pipe", epoll_ctl(pr, EPOLL_CTL_ADD, fifo, &e));
	add(fifo, EPOLLIN, D_FIFO, "ADD fifo back");
	expect("fifo still readable", wait_show("wait 0 ms", 4, 0) == 1);
	drain(fifo);
}

static void step_signals(void *arg)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	struct epoll_event ev[4];
	sigset_t block, none;
	int n;

	(void)arg;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	n = epoll_wait(ep, ev, 4, -1);
	show("wait, SIGALRM", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && alarms == 1);

	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	n = epoll_pwait(ep, ev, 4, 10, &block);
	show("pwait, SIGUSR1 kept blocked", n);
	n = epoll_pwait(ep, ev, 4, -1, &none);
	show("pwait, mask lets SIGUSR1 in", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && usr1s == 1);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	n = (int)syscall(SYS_epoll_pwait2, ep, ev, 4, &ts, NULL, 8);
	show("pwait2 20 ms", n);
	n = epoll_wait(ep, ev, 0, 0);
	show("wait maxevents 0", n);
}

/* In the parent, once every other holder of the FIFO's reader is gone. */
static void step_hangup(void)
{
	expect("EPOLLHUP", wait_show("wait, the writer closed", 4, -1) == 1);
	close(fifo);
	expect("the closed fd left the set", wait_show("wait 0 ms, fifo closed", 4, 0) == 0);
}

int main(int argc, char **argv)
{
	int go[2], pp[2];
	pid_t pid;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: epoll_mixed /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	reg = open(a("reg"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("mkfifo", mkfifo(a("fifo"), 0600));
	fifo = open(a("fifo"), O_RDONLY | O_NONBLOCK);
	if (reg < 0 || fifo < 0 || pipe(pp) < 0 || pipe(go) < 0)
		return 1;
	pr = pp[0];
	pw = pp[1];
	go_w = go[1];
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fw = open(a("fifo"), O_WRONLY);

		close(go[1]);
		if (fw < 0)
			_exit(2);
		writer(go[0], fw);
	}
	close(go[0]);
	{
		struct pollfd p = { fifo, POLLIN, 0 };
		char c;

		tell('f');
		if (poll(&p, 1, 5000) != 1 || read(fifo, &c, 1) != 1)
			bad = 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	add(pr, EPOLLIN, D_PIPE, "ADD pipe");
	add(fifo, EPOLLIN, D_FIFO, "ADD fifo");
	in_child("basic", step_basic, NULL, 10);
	in_child("maxevents", step_maxevents, NULL, 10);
	in_child("oneshot", step_oneshot, NULL, 10);
	in_child("ctl", step_ctl, NULL, 10);
	in_child("signals", step_signals, NULL, 10);
	tell('c');
	tell('q');
	waitpid(pid, NULL, 0);
	step_hangup();
	close(ep);
	close(reg);
	unlink(a("fifo"));
	unlink(a("reg"));
	return bad;
}
