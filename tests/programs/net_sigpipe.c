/*
 * net_sigpipe.c - SIGPIPE on a TCP connection whose peer closed, as
 * natively: send with MSG_NOSIGNAL fails with EPIPE and raises nothing;
 * write() and send() without it fail with EPIPE and raise SIGPIPE in the
 * caller (a handler counts it; with the default action a child dies of
 * it, child.h prints "signal SIGPIPE").  The peer's close is made
 * observable before the writes: the first write after it draws the RST
 * (ECONNRESET or success), so the sender writes until it fails (bounded).
 *
 * usage: net_sigpipe DIR
 */
#include <signal.h>
#include "report.h"
#include "child.h"
#include "nethelp.h"

static volatile sig_atomic_t pipes;
static int port, lsock;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

/* A connection whose peer has closed and whose RST has come: further
 * writes fail with EPIPE.  -1 on failure. */
static int broken(void)
{
	int c = tcp_connect(port), s = accept(lsock, NULL, NULL), i;
	char b;

	if (c < 0 || s < 0)
		return -1;
	close(s);
	/* the peer's FIN: read sees the end */
	if (read(c, &b, 1) != 0)
		return -1;
	/* the first send gets a RST back; then EPIPE */
	for (i = 0; i < 1000; i++)
		if (send(c, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE)
			return c;
	return -1;
}

static void default_action(void *arg)
{
	int c = broken();

	(void)arg;
	signal(SIGPIPE, SIG_DFL);
	write(c, "y", 1);
	printf("still alive after write\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_pipe };
	int c;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	lsock = tcp_listener(4, &port);
	c = broken();
	expect("a broken connection", c >= 0);
	show("signals while breaking it", pipes);
	show("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
	show("signals", pipes);
	show("write", write(c, "x", 1));
	show("signals", pipes);
	show("send", send(c, "x", 1, 0));
	show("signals", pipes);
	show("sendto MSG_NOSIGNAL", sendto(c, "x", 1, MSG_NOSIGNAL, NULL, 0));
	show("signals", pipes);
	close(c);
	in_child("default action", default_action, NULL, 20);
	close(lsock);
	return bad;
}
