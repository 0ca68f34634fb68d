/*
 * net_svcdeath.c - what a program sees when its network service dies and
 * comes back (under libvirtuos only: natively there is no service to
 * kill).  KILL_CMD and RESTART_CMD are shell commands run with system()
 * (the harness knows how it started the service:
 * tests/integration/cases/93-net-service-killed.sh).
 *
 * A listener, a connection (both ends), a thread blocked in recv and one
 * blocked in accept; the service is killed: the blocked calls return (no
 * hang) and every call on the old sockets fails with the errno
 * libvirtuos/interpose/README.md ("Sockets") documents; socket() fails
 * while the service is down; after the restart a new listener and
 * connection echo, while the old sockets stay dead.
 *
 * usage: net_svcdeath KILL_CMD RESTART_CMD
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include "report.h"
#include "nethelp.h"

struct blocked {
	pthread_t t;
	int fd;
	int accepting;
	_Atomic int tid;        /* set just before the call */
	long r;
	int err;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	char c;

	b->tid = (int)syscall(SYS_gettid);
	b->r = b->accepting ? accept(b->fd, NULL, NULL) : recv(b->fd, &c, 1, 0);
	b->err = errno;
	return NULL;
}

/* Whether thread tid sleeps (state S in /proc): it waits in its call. */
static int sleeping(int tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Start b and wait (bounded) until its thread sleeps in the call. */
static void start_blocked(struct blocked *b, int fd, int accepting)
{
	b->fd = fd;
	b->accepting = accepting;
	b->tid = 0;
	pthread_create(&b->t, NULL, blocked_main, b);
	for (int i = 0; i < 2000 && !(b->tid && sleeping(b->tid)); i++)
		pause_ms(5);
}

/* Join b within 20 s: 1, or 0 (it hangs). */
static int join_bounded(struct blocked *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	return pthread_timedjoin_np(b->t, NULL, &ts) == 0;
}

static void show_err(const char *label, long r, int err)
{
	errno = err;
	show(label, r);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

int main(int argc, char **argv)
{
	struct blocked rb, ab;
	int port, l, l2, c, s, e, len = sizeof e;
	char ch;
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;

	if (argc != 3) {
		fprintf(stderr, "usage: net_svcdeath KILL_CMD RESTART_CMD\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	(void)a;        /* report.h's names: no directory here */
	signal(SIGPIPE, on_sigpipe);
	l = tcp_listener(4, &port);
	l2 = tcp_listener(4, &port);    /* one for the blocked accept */
	c = tcp_connect(port);
	s = accept(l2, NULL, NULL);
	expect("connected before", l >= 0 && l2 >= 0 && c >= 0 && s >= 0);
	start_blocked(&rb, s, 0);
	start_blocked(&ab, l, 1);
	expect("recv and accept wait", sleeping(rb.tid) && sleeping(ab.tid));

	if (system(argv[1]) != 0)
		printf("kill command failed\n");
	expect("blocked recv returned", join_bounded(&rb));
	show_err("  recv", rb.r, rb.err);
	expect("blocked accept returned", join_bounded(&ab));
	show_err("  accept", ab.r, ab.err);

	{
		/* As a reset connection: ready at once, errors and hang-up
		 * whether asked or not, in and out as asked. */
		struct pollfd pf = { c, POLLIN | POLLOUT | POLLRDHUP, 0 };
		fd_set rs, ws, xs;
		struct timeval tv = { 5, 0 };

		show("poll after death", poll(&pf, 1, 5000));
		printf("%-36s%s%s%s%s%s\n", "  revents", pf.revents & POLLIN ? " IN" : "",
		       pf.revents & POLLOUT ? " OUT" : "", pf.revents & POLLRDHUP ? " RDHUP" : "",
		       pf.revents & POLLERR ? " ERR" : "", pf.revents & POLLHUP ? " HUP" : "");
		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_ZERO(&xs);
		FD_SET(c, &rs);
		FD_SET(c, &ws);
		FD_SET(c, &xs);
		show("select after death", select(c + 1, &rs, &ws, &xs, &tv));
		printf("%-36s%s%s%s\n", "  sets", FD_ISSET(c, &rs) ? " read" : "",
		       FD_ISSET(c, &ws) ? " write" : "", FD_ISSET(c, &xs) ? " except" : "");
	}
	show("recv after death", recv(c, &ch, 1, 0));
	show("read after death", read(c, &ch, 1));
	show("send MSG_NOSIGNAL after death", send(c, "x", 1, MSG_NOSIGNAL));
	show("  SIGPIPE raised", sigpipes);
	show("write after death", write(c, "x", 1));
	show("  SIGPIPE raised", sigpipes);
	show("connect after death", connect(c, (struct sockaddr *)&(struct sockaddr_in){
		.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, sizeof(struct sockaddr_in)));
	show("getsockopt SO_ERROR after death", getsockopt(c, SOL_SOCKET, SO_ERROR, &e, (socklen_t *)&len));
	printf("%-36s %s\n", "  SO_ERROR", strerrorname_np(e));
	show("getpeername after death", getpeername(c, (struct sockaddr *)&sin, &sl));
	show("shutdown after death", shutdown(c, SHUT_RDWR));
	show("listen after death", listen(l, 4));
	show("accept after death", accept(l, NULL, NULL));
	show("socket while the service is down", socket(AF_INET, SOCK_STREAM, 0));
	show("close after death", close(s));

	if (system(argv[2]) != 0)
		printf("restart command failed\n");
	int nl = tcp_listener(4, &port), nc = tcp_connect(port), ns = nl >= 0 ? accept(nl, NULL, NULL) : -1;
	char buf[8] = "";
	expect("new listener and connection", nl >= 0 && nc >= 0 && ns >= 0);
	show("  send on the new connection", send(nc, "ping", 4, 0));
	show("  recv on the other end", read_all(ns, buf, 4));
	show("  echo back", write(ns, buf, 4));
	memset(buf, 0, sizeof buf);
	show("  recv the echo", read_all(nc, buf, 4));
	expect("  echoed", strcmp(buf, "ping") == 0);
	show("old socket still dead", recv(c, &ch, 1, 0));
	show("close old sockets", close(c) | close(l) | close(l2));
	show("close new sockets", close(nc) | close(ns) | close(nl));
	return bad;
}
