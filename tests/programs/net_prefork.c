/*
 * net_prefork.c - a prefork server, as natively: the parent listens, forks
 * 4 children that each accept on the inherited listening socket (blocking,
 * all at once) and answer one connection with their number; the parent
 * then connects 4 times and gets 4 different answers.  The listening socket
 * lives on in every child after the parent closes its own copy (a fifth
 * client, served by a child that accepts once more, proves it).  The
 * children end bounded (child timeouts: the parent kills them).  Then
 * SO_REUSEPORT across processes: a child binds and listens on the port of
 * the parent's SO_REUSEPORT listener; a socket without the option cannot.
 * Last, 20 children each listen and end (_exit, exit): each listener is
 * refused right after the parent reaped its child.
 *
 * usage: net_prefork DIR
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include "report.h"
#include "nethelp.h"

#define N 4

static void serve(int l, int me, int times)
{
	for (int i = 0; i < times; i++) {
		int s = accept(l, NULL, NULL);
		char b = (char)('0' + me), in;

		if (s < 0)
			_exit(10);
		if (read(s, &in, 1) != 1 || write(s, &b, 1) != 1)
			_exit(11);
		close(s);
	}
	_exit(0);
}

static int ask(int port, char *answer)
{
	int c = tcp_connect(port);

	if (c < 0 || write(c, "?", 1) != 1 || read(c, answer, 1) != 1)
		return -1;
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	pid_t kids[N + 1];
	int port = 0, l, seen[N + 1] = { 0 }, ok = 1;
	char ans;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */
	l = tcp_listener(16, &port);
	expect("listening", l >= 0);
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			serve(l, i, 1);
	}
	for (int i = 0; i < N; i++) {
		if (ask(port, &ans) < 0 || ans < '0' || ans >= '0' + N) {
			ok = 0;
			continue;
		}
		seen[ans - '0']++;
	}
	for (int i = 0; i < N; i++)
		ok &= seen[i] == 1;
	expect("4 connections, each child served one", ok);

	/* the parent's copy goes; a child's stays open and serves */
	kids[N] = fork();
	if (kids[N] == 0)
		serve(l, N, 1);
	close(l);
	expect("a fifth after the parent closed its listener", ask(port, &ans) == 0 && ans == '0' + N);

	for (int i = 0; i <= N; i++) {
		int status = -1;
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		pid_t r = 0;

		for (int t = 0; t < 1000 && r == 0; t++) {
			r = waitpid(kids[i], &status, WNOHANG);
			if (r == 0)
				nanosleep(&tick, NULL);
		}
		if (r == 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], &status, 0);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
	expect("every child exited 0", ok);
	/* nobody listens any more */
	show("connect after the last child", tcp_connect(port));

	/* A child's listener is gone once the parent has reaped it: the kernel
	 * closes a process's fds before its parent can wait for it.  Forwarded,
	 * exit_group (and exit()) closes the remote fds before the process ends
	 * (libvirtuos/interpose/service.c, release_all); a race here would show
	 * as a connect that finds the listener.  _exit() and exit() children. */
	{
		int refused = 0;

		fflush(stdout);         /* an exit() child flushes its copy */
		for (int i = 0; i < 20; i++) {
			int pp[2], cport = 0, status = -1, c;

			if (pipe(pp) < 0)
				break;
			pid_t p = fork();
			if (p == 0) {
				int cl = tcp_listener(4, &cport);

				if (write(pp[1], &cport, sizeof cport) != sizeof cport || cl < 0)
					_exit(1);
				if (i % 2)
					exit(0);
				_exit(0);
			}
			close(pp[1]);
			if (read(pp[0], &cport, sizeof cport) != sizeof cport)
				cport = 0;
			close(pp[0]);
			waitpid(p, &status, 0);
			c = cport ? tcp_connect(cport) : 0;
			if (c < 0 && errno == ECONNREFUSED)
				refused++;
			else if (c > 0)
				close(c);
		}
		show("children whose listener was gone once reaped (of 20)", refused);
	}

	/* SO_REUSEPORT across processes */
	{
		int one = 1, r = socket(AF_INET, SOCK_STREAM, 0), status = -1;
		struct sockaddr_in sin = loopback(0);
		socklen_t len = sizeof sin;

		setsockopt(r, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
		expect("SO_REUSEPORT listener", bind(r, (struct sockaddr *)&sin, sizeof sin) == 0 &&
		       listen(r, 4) == 0 && getsockname(r, (struct sockaddr *)&sin, &len) == 0);
		pid_t p = fork();
		if (p == 0) {
			int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_STREAM, 0);

			setsockopt(t, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
			if (bind(t, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(t, 4) < 0)
				_exit(1);
			if (bind(u, (struct sockaddr *)&sin, sizeof sin) == 0 || errno != EADDRINUSE)
				_exit(2);
			_exit(0);
		}
		waitpid(p, &status, 0);
		show("another process's SO_REUSEPORT listener on it (0: bound; 2: the plain one too)",
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		close(r);
	}
	return bad;
}
