/*
 * net_eintr.c - a signal interrupts a blocking socket call as natively:
 * with a SIGALRM handler installed without SA_RESTART, a blocking accept
 * (nothing connects) and a blocking recv (nothing comes) fail with EINTR;
 * with SA_RESTART, accept is restarted after each handler and returns the
 * connection a child makes once the handler (on its third run) tells it
 * to, through a pipe.  An interval timer sends SIGALRM every 50 ms, so a
 * signal that comes before the call blocks is followed by one during the
 * wait.  Each step runs in a child (child.h), bounded: a wait that is
 * never interrupted shows as "timeout".
 *
 * usage: net_eintr DIR
 */
#include <signal.h>
#include <sys/time.h>
#include "report.h"
#include "child.h"
#include "nethelp.h"

static volatile sig_atomic_t ticks;
static int go_fd = -1;          /* written by the handler on its third run */

static void on_alarm(int sig)
{
	(void)sig;
	if (++ticks == 3 && go_fd >= 0)
		write(go_fd, "g", 1);   /* async-signal-safe; a local pipe */
}

static void timer(int on)
{
	struct itimerval it = { { 0, on ? 50000 : 0 }, { 0, on ? 50000 : 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(int flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static void interrupted(void *arg)
{
	int port, l = tcp_listener(1, &port), c, s;
	char b;

	(void)arg;
	handler(0);
	timer(1);
	show("accept, no SA_RESTART", accept(l, NULL, NULL));
	timer(0);
	expect("the handler ran", ticks > 0);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	expect("connected", c >= 0 && s >= 0);
	timer(1);
	show("recv, no SA_RESTART", recv(s, &b, 1, 0));
	show("read, no SA_RESTART", read(s, &b, 1));
	timer(0);
}

static void restarted(void *arg)
{
	int port, l = tcp_listener(1, &port), p[2], s;
	pid_t child;
	char b;

	(void)arg;
	if (l < 0 || pipe(p) < 0) {
		show("setup", -1);
		bad = 1;
		return;
	}
	child = fork();
	if (child == 0) {
		int c;

		close(p[1]);
		if (read(p[0], &b, 1) != 1)
			_exit(1);
		c = tcp_connect(port);
		if (c < 0 || write(c, "k", 1) != 1)
			_exit(2);
		read(c, &b, 1);         /* until the parent closes */
		_exit(0);
	}
	close(p[0]);
	go_fd = p[1];
	handler(SA_RESTART);
	timer(1);
	s = accept(l, NULL, NULL);
	timer(0);
	expect("accept with SA_RESTART: connected", s >= 0);
	expect("the handler ran 3 times or more", ticks >= 3);
	show("read from the connection", s < 0 ? -1 : read(s, &b, 1));
	close(s);
	int status;
	waitpid(child, &status, 0);
	expect("the child connected", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */
	in_child("interrupted", interrupted, NULL, 20);
	in_child("restarted", restarted, NULL, 20);
	return bad;
}
