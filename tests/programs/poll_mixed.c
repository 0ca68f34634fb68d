/*
 * poll_mixed.c - poll, ppoll, select and pselect over a mix of a local
 * pipe, a regular file and a FIFO in DIR (under libvirtuos both are remote,
 * and the FIFO really blocks): what is ready, a timeout with nothing ready
 * (0; the time is not checked), a wake by the FIFO's writer (a forked child
 * that writes only when the parent tells it through another pipe), a wake
 * by the local pipe while the FIFO waits (the remote wait is cancelled),
 * the FIFO's hang-up, POLLNVAL and select's EBADF for closed fds, EINTR by
 * SIGALRM (mixed and remote only), ppoll and pselect with a signal mask, a
 * poll while another thread is blocked in a read of a FIFO (so the poller
 * role is another thread's), and epoll_ctl of the regular file (EPERM).
 * Each step that could hang runs bounded (child.h).
 *
 * usage: poll_mixed DIR
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

static int reg, fifo, pr, pw;           /* the three kinds; the local pipe */
static int go_w, writer_pid;            /* tell the writer what to do */
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

static void show_rev(const char *label, short rev)
{
	printf("%-36s %s%s%s%s%s\n", label, rev & POLLIN ? "IN " : "", rev & POLLOUT ? "OUT " : "",
	       rev & POLLHUP ? "HUP " : "", rev & POLLNVAL ? "NVAL " : "", rev ? "" : "-");
}

/* The writer: for each command byte from the parent: 'f' writes "x" to
 * the FIFO, 'p' writes "x" to the local pipe, 'c' closes the FIFO, 'q'
 * ends.  It writes only when told, so no order depends on time. */
static void writer(int go_r, int fw)
{
	char cmd;

	while (read(go_r, &cmd, 1) == 1) {
		if (cmd == 'f' && write(fw, "x", 1) != 1)
			_exit(3);
		if (cmd == 'p' && write(pw, "x", 1) != 1)
			_exit(4);
		if (cmd == 'c')
			close(fw);
		if (cmd == 'q')
			break;
	}
	_exit(0);
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

static int poll3(struct pollfd *p, int timeout)
{
	p[0] = (struct pollfd){ pr, POLLIN, 0 };
	p[1] = (struct pollfd){ reg, POLLIN | POLLOUT, 0 };
	p[2] = (struct pollfd){ fifo, POLLIN, 0 };
	return poll(p, 3, timeout);
}

static void step_ready(void *arg)
{
	struct pollfd p[3];
	int n = poll3(p, 0);

	(void)arg;
	show("poll pipe+file+fifo, 0 ms", n);
	show_rev("  pipe", p[0].revents);
	show_rev("  file", p[1].revents);
	show_rev("  fifo", p[2].revents);
	expect("only the file is ready", n == 1 && p[1].revents == (POLLIN | POLLOUT));
}

static void step_timeout(void *arg)
{
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	int n;

	(void)arg;
	n = poll(p, 2, 30);
	show("poll pipe+fifo, 30 ms, nothing", n);
	expect("timeout: 0", n == 0 && !p[0].revents && !p[1].revents);
	n = poll(&p[1], 1, 30);
	show("poll fifo only, 30 ms, nothing", n);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	n = ppoll(p, 2, &ts, NULL);
	show("ppoll pipe+fifo, 20 ms, nothing", n);
	expect("ppoll timeout: 0", n == 0);
}

static void step_fifo_wakes(void *arg)
{
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	int n;

	(void)arg;
	tell('f');
	n = poll(p, 2, -1);
	show("poll pipe+fifo, the fifo is written", n);
	show_rev("  pipe", p[0].revents);
	show_rev("  fifo", p[1].revents);
	expect("woken by the fifo", n == 1 && p[1].revents == POLLIN);
	drain(fifo);
}

static void step_pipe_wakes(void *arg)
{
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	int n;

	(void)arg;
	tell('p');
	n = poll(p, 2, -1);
	show("poll pipe+fifo, the pipe is written", n);
	show_rev("  pipe", p[0].revents);
	show_rev("  fifo", p[1].revents);
	expect("woken by the pipe", n == 1 && p[0].revents == POLLIN);
	drain(pr);
	/* The remote wait was cancelled; the FIFO still works. */
	tell('f');
	n = poll(&p[1], 1, -1);
	show("poll fifo after that", n);
	expect("fifo readable", n == 1 && p[1].revents == POLLIN);
	drain(fifo);
}

/* A thread blocked in a read of another FIFO: the channel's poller. */
static void *blocked_reader(void *arg)
{
	char c;

	return (void *)(long)read(*(int *)arg, &c, 1);
}

static void step_other_poller(void *arg)
{
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	pthread_t t;
	int r2, w2, n;
	void *res;

	(void)arg;
	if (mkfifo(a("fifo2"), 0600) < 0 || (r2 = open(a("fifo2"), O_RDONLY | O_NONBLOCK)) < 0 ||
	    (w2 = open(a("fifo2"), O_WRONLY)) < 0) {
		show("fifo2", -1);
		bad = 1;
		return;
	}
	fcntl(r2, F_SETFL, 0);          /* the reader blocks */
	pthread_create(&t, NULL, blocked_reader, &r2);
	tell('f');
	n = poll(p, 2, -1);
	show("poll while a thread reads fifo2", n);
	show_rev("  fifo", p[1].revents);
	expect("woken by the fifo", n == 1 && p[1].revents == POLLIN);
	drain(fifo);
	n = poll(p, 2, 20);
	show("  and a timeout meanwhile", n);
	if (write(w2, "y", 1) != 1)
		bad = 1;
	pthread_join(t, &res);
	show("the reader got", (long)res);
	close(r2);
	close(w2);
	unlink(a("fifo2"));
}

static void alarm_in(int ms)
{
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void step_eintr(void *arg)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	int n;

	(void)arg;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);      /* poll is never restarted, even so */
	alarm_in(30);
	n = poll(p, 2, -1);
	show("poll pipe+fifo, SIGALRM", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && alarms == 1);
	alarm_in(30);
	n = poll(&p[1], 1, 5000);
	show("poll fifo only, SIGALRM", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && alarms == 2);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	alarm_in(30);
	n = select((pr > fifo ? pr : fifo) + 1, &rs, NULL, NULL, NULL);
	show("select pipe+fifo, SIGALRM", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && alarms == 3);
}

static void step_nval(void *arg)
{
	int lfd = dup(pr), rfd = open(a("reg"), O_RDONLY);
	struct pollfd p[3];
	fd_set rs;
	int n;

	(void)arg;
	close(lfd);
	close(rfd);
	p[0] = (struct pollfd){ lfd, POLLIN, 0 };
	p[1] = (struct pollfd){ rfd, POLLIN, 0 };
	p[2] = (struct pollfd){ fifo, POLLIN, 0 };
	n = poll(p, 3, -1);
	show("poll closed local, closed remote, fifo", n);
	show_rev("  closed local", p[0].revents);
	show_rev("  closed remote", p[1].revents);
	show_rev("  fifo", p[2].revents);
	expect("POLLNVAL twice", n == 2 && p[0].revents == POLLNVAL && p[1].revents == POLLNVAL);
	p[0] = (struct pollfd){ -1, POLLIN, 0 };
	n = poll(p, 1, 0);
	show("poll fd -1", n);
	FD_ZERO(&rs);
	FD_SET(fifo, &rs);
	FD_SET(rfd, &rs);
	n = select((fifo > rfd ? fifo : rfd) + 1, &rs, NULL, NULL, NULL);
	show("select fifo and a closed fd", n);
	expect("EBADF", n == -1 && errno == EBADF);
	struct pollfd *volatile badp = (struct pollfd *)8;
	n = poll(badp, 1, 0);
	show("poll bad pointer", n);
	struct timespec bad_ts = { 0, 2000000000 };
	p[0] = (struct pollfd){ fifo, POLLIN, 0 };
	n = ppoll(p, 1, &bad_ts, NULL);
	show("ppoll tv_nsec 2e9", n);
	struct timespec *volatile badt = (struct timespec *)8;
	n = (int)syscall(SYS_ppoll, p, 1, badt, NULL, 8);  /* glibc's ppoll reads it first */
	show("ppoll bad timespec pointer", n);
}

static void step_sigmask(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	struct timespec zero = { 0, 0 }, ten = { 0, 10 * 1000 * 1000 };
	sigset_t block, none, pend;
	fd_set rs;
	int n;

	(void)arg;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	n = ppoll(p, 2, &ten, &block);
	show("ppoll, SIGUSR1 pending, kept blocked", n);
	sigpending(&pend);
	expect("still pending, handler not run", n == 0 && sigismember(&pend, SIGUSR1) && usr1s == 0);
	n = ppoll(p, 2, NULL, &none);
	show("ppoll, mask lets SIGUSR1 in", n);
	expect("EINTR, handler ran once", n == -1 && errno == EINTR && usr1s == 1);
	raise(SIGUSR1);
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	n = pselect((pr > fifo ? pr : fifo) + 1, &rs, NULL, NULL, &zero, &block);
	show("pselect 0 s, SIGUSR1 kept blocked", n);
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	n = pselect((pr > fifo ? pr : fifo) + 1, &rs, NULL, NULL, NULL, &none);
	show("pselect, mask lets SIGUSR1 in", n);
	expect("EINTR, handler ran", n == -1 && errno == EINTR && usr1s == 2);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}

static void step_select(void *arg)
{
	fd_set rs, ws, es;
	struct timeval tv = { 0, 20000 };
	int max = reg, n;

	(void)arg;
	if (fifo > max)
		max = fifo;
	if (pr > max)
		max = pr;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	FD_SET(pr, &rs);
	FD_SET(reg, &rs);
	FD_SET(fifo, &rs);
	FD_SET(reg, &ws);
	FD_SET(reg, &es);
	FD_SET(fifo, &es);
	n = select(max + 1, &rs, &ws, &es, &tv);
	show("select pipe+file+fifo", n);
	expect("file readable and writable only", n == 2 && FD_ISSET(reg, &rs) && FD_ISSET(reg, &ws) &&
	       !FD_ISSET(pr, &rs) && !FD_ISSET(fifo, &rs) && !FD_ISSET(reg, &es) &&
	       !FD_ISSET(fifo, &es));
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	tv = (struct timeval){ 0, 20000 };
	n = select(max + 1, &rs, NULL, NULL, &tv);
	show("select pipe+fifo, 20 ms, nothing", n);
	expect("timeout: 0, sets cleared", n == 0 && !FD_ISSET(pr, &rs) && !FD_ISSET(fifo, &rs));
	tell('f');
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	n = select(max + 1, &rs, NULL, NULL, NULL);
	show("select pipe+fifo, the fifo is written", n);
	expect("fifo readable", n == 1 && FD_ISSET(fifo, &rs) && !FD_ISSET(pr, &rs));
	drain(fifo);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	FD_ZERO(&rs);
	FD_SET(pr, &rs);
	FD_SET(fifo, &rs);
	n = pselect(max + 1, &rs, NULL, NULL, &ts, NULL);
	show("pselect pipe+fifo, 20 ms, nothing", n);
}

static void step_hangup(void *arg)
{
	struct pollfd p[2] = { { pr, POLLIN, 0 }, { fifo, POLLIN, 0 } };
	int n;

	(void)arg;
	tell('c');
	n = poll(p, 2, -1);
	show("poll pipe+fifo, the writer closes", n);
	show_rev("  fifo", p[1].revents);
	expect("POLLHUP", n == 1 && (p[1].revents & POLLHUP));
}

static void step_epoll(void *arg)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	show("epoll_ctl ADD the file", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
	show("epoll_ctl ADD the pipe", epoll_ctl(ep, EPOLL_CTL_ADD, pr, &ev));
	close(ep);
}

int main(int argc, char **argv)
{
	int go[2], pp[2], fw;
	pid_t pid;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: poll_mixed /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	reg = open(a("reg"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("open reg", reg < 0 ? -1 : 0);
	show("write reg", write(reg, "data", 4));
	show("mkfifo", mkfifo(a("fifo"), 0600));
	fifo = open(a("fifo"), O_RDONLY | O_NONBLOCK);
	show("open fifo reader", fifo < 0 ? -1 : 0);
	if (reg < 0 || fifo < 0 || pipe(pp) < 0 || pipe(go) < 0)
		return 1;
	pr = pp[0];
	pw = pp[1];
	go_w = go[1];
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		fw = open(a("fifo"), O_WRONLY);
		if (fw < 0)
			_exit(2);
		writer(go[0], fw);
	}
	writer_pid = pid;
	close(go[0]);
	/* Wait for the writer's open: a FIFO without one says POLLHUP only
	 * once a writer came and went, and a read gives EOF. */
	{
		struct pollfd p = { fifo, POLLIN, 0 };
		char c;

		tell('f');
		if (poll(&p, 1, 5000) != 1 || read(fifo, &c, 1) != 1)
			bad = 1;
	}
	/* Nothing written from here until a step asks. */
	in_child("ready", step_ready, NULL, 10);
	in_child("timeout", step_timeout, NULL, 10);
	in_child("fifo wakes", step_fifo_wakes, NULL, 10);
	in_child("pipe wakes", step_pipe_wakes, NULL, 10);
	in_child("other poller", step_other_poller, NULL, 10);
	in_child("eintr", step_eintr, NULL, 10);
	in_child("nval", step_nval, NULL, 10);
	in_child("sigmask", step_sigmask, NULL, 10);
	in_child("select", step_select, NULL, 10);
	in_child("epoll", step_epoll, NULL, 10);
	in_child("hangup", step_hangup, NULL, 10);
	tell('q');
	waitpid(writer_pid, NULL, 0);
	close(fifo);
	close(reg);
	unlink(a("fifo"));
	unlink(a("reg"));
	return bad;
}
