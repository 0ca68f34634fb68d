/*
 * epoll_edge.c - epoll as in Linux over FIFOs in DIR and AF_INET sockets
 * (both remote under libvirtuos: the storage and the network service),
 * with local pipes mixed in: edge-triggered (one event per edge; a second
 * wait without new data finds nothing), EPOLLRDHUP and EPOLLHUP,
 * EPOLLONESHOT re-armed by MOD, EPOLLEXCLUSIVE, more ready fds than
 * maxevents (each reported once across the waits), a set shared with a
 * fork child (the child's wait takes the edge the parent then does not
 * see; an fd the child adds is seen by the parent), a dup of the epoll fd,
 * a registered fd closed (it leaves the set only when its last dup is
 * closed), an fd in two sets.  Waits that must find an event are bounded
 * (10 s), never timed.
 *
 * usage: epoll_edge DIR
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"
#include "nethelp.h"

#define BOUND 10000     /* ms: a wait that must find an event */

static const char *flags(uint32_t e)
{
	static char buf[64];

	snprintf(buf, sizeof buf, "%s%s%s%s%s%s", e & EPOLLIN ? "IN " : "", e & EPOLLOUT ? "OUT " : "",
		 e & EPOLLRDHUP ? "RDHUP " : "", e & EPOLLHUP ? "HUP " : "", e & EPOLLERR ? "ERR " : "",
		 e & EPOLLPRI ? "PRI " : "");
	return buf;
}

/* epoll_wait and print "n data:FLAGS ..."; the count. */
static int wait_show(const char *label, int ep, int max, int timeout)
{
	struct epoll_event ev[16];
	char line[512] = "";
	int n = epoll_wait(ep, ev, max, timeout);

	for (int i = 0; i < n; i++) {
		char one[80];

		snprintf(one, sizeof one, " %llu:%s", (unsigned long long)ev[i].data.u64,
			 flags(ev[i].events));
		strncat(line, one, sizeof line - strlen(line) - 1);
	}
	if (n < 0)
		show(label, n);
	else
		printf("%-36s %d%s\n", label, n, line);
	return n;
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, op, fd, &e);
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		bad = 1;
}

/* Read until EAGAIN: the bytes read. */
static long drain(int fd)
{
	char buf[256];
	long total = 0, n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		total += n;
	return total;
}

/* A FIFO in DIR: its reading and writing ends, non-blocking. */
static void fifo(const char *name, int *r, int *w)
{
	if (mkfifo(a(name), 0600) < 0)
		bad = 1;
	*r = open(a(name), O_RDONLY | O_NONBLOCK);
	*w = open(a(name), O_WRONLY | O_NONBLOCK);
	if (*r < 0 || *w < 0)
		bad = 1;
}

/* A connected TCP pair on 127.0.0.1, non-blocking. */
static void tcp_pair(int *c, int *s)
{
	int port = 0, l = tcp_listener(4, &port);

	*c = tcp_connect(port);
	*s = accept(l, NULL, NULL);
	close(l);
	if (*c < 0 || *s < 0)
		bad = 1;
	fcntl(*c, F_SETFL, O_NONBLOCK);
	fcntl(*s, F_SETFL, O_NONBLOCK);
}

static void edge_fifo(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), r, w;

	puts("-- edge-triggered FIFO");
	fifo("f1", &r, &w);
	show("ADD fifo IN|ET", ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET, 1));
	expect("nothing yet", wait_show("wait 0 ms", ep, 4, 0) == 0);
	put(w, "a");
	expect("one edge", wait_show("written: wait", ep, 4, BOUND) == 1);
	expect("no new data: nothing", wait_show("wait 0 ms, not read", ep, 4, 0) == 0);
	put(w, "b");
	expect("a new edge", wait_show("written again: wait", ep, 4, BOUND) == 1);
	show("read until EAGAIN", drain(r));
	expect("nothing after", wait_show("wait 0 ms, read", ep, 4, 0) == 0);
	close(w);
	expect("hang-up edge", wait_show("writer closed: wait", ep, 4, BOUND) == 1);
	expect("once", wait_show("wait 0 ms", ep, 4, 0) == 0);
	close(r);
	close(ep);
}

static void edge_socket(void)
{
	int ep = epoll_create1(0), c, s;

	puts("-- edge-triggered TCP");
	tcp_pair(&c, &s);
	show("ADD server IN|RDHUP|ET", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLRDHUP | EPOLLET, 2));
	show("ADD client OUT|ET", ctl(ep, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 3));
	expect("client writable, once", wait_show("wait", ep, 4, BOUND) == 1);
	expect("then nothing", wait_show("wait 0 ms", ep, 4, 0) == 0);
	/* The client's OUT edges would come with every send: out of the set. */
	show("DEL client", epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
	put(c, "hello");
	expect("server readable", wait_show("client wrote: wait", ep, 4, BOUND) == 1);
	expect("no new data: nothing", wait_show("wait 0 ms, not read", ep, 4, 0) == 0);
	show("read until EAGAIN", drain(s));
	shutdown(c, SHUT_WR);
	expect("peer shut down", wait_show("client shutdown: wait", ep, 4, BOUND) == 1);
	expect("once", wait_show("wait 0 ms", ep, 4, 0) == 0);
	close(c);
	close(s);
	close(ep);
}

static void oneshot_exclusive(void)
{
	int ep = epoll_create1(0), r, w;

	puts("-- EPOLLONESHOT, EPOLLEXCLUSIVE");
	fifo("f2", &r, &w);
	show("ADD fifo IN|ONESHOT", ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLONESHOT, 4));
	put(w, "a");
	expect("reported", wait_show("written: wait", ep, 4, BOUND) == 1);
	put(w, "b");
	expect("disabled", wait_show("written again: wait 0 ms", ep, 4, 0) == 0);
	show("MOD re-arm IN|ONESHOT", ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 5));
	expect("re-armed", wait_show("wait 0 ms", ep, 4, 0) == 1);
	expect("disabled again", wait_show("wait 0 ms", ep, 4, 0) == 0);
	show("read", drain(r));
	show("DEL", epoll_ctl(ep, EPOLL_CTL_DEL, r, NULL));
	show("ADD IN|EXCLUSIVE", ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLEXCLUSIVE, 6));
	show("MOD with EXCLUSIVE", ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLEXCLUSIVE, 6));
	put(w, "c");
	expect("exclusive wakes", wait_show("written: wait", ep, 4, BOUND) == 1);
	drain(r);
	close(r);
	close(w);
	close(ep);
}

/* Three FIFOs and three pipes ready, maxevents 2: each reported once. */
static void many(void)
{
	int ep = epoll_create1(0), r[6], w[6], seen = 0, calls = 0, n, dups = 0;
	struct epoll_event ev[2];

	puts("-- more ready than maxevents");
	for (int i = 0; i < 6; i++) {
		char name[16];
		int p[2];

		snprintf(name, sizeof name, "m%d", i);
		if (i < 3) {
			fifo(name, &r[i], &w[i]);
		} else {
			if (pipe2(p, O_NONBLOCK) < 0)
				bad = 1;
			r[i] = p[0];
			w[i] = p[1];
		}
		if (ctl(ep, EPOLL_CTL_ADD, r[i], EPOLLIN | EPOLLET, 10 + (uint64_t)i) < 0)
			bad = 1;
		put(w[i], "x");
	}
	while (calls < 20 && (n = epoll_wait(ep, ev, 2, 0)) > 0) {
		calls++;
		for (int k = 0; k < n; k++) {
			int bit = 1 << (ev[k].data.u64 - 10);

			dups += (seen & bit) != 0;
			seen |= bit;
		}
	}
	expect("all six reported", seen == 0x3f);
	expect("each once", dups == 0);
	expect("then nothing", wait_show("wait 0 ms", ep, 2, 0) == 0);
	for (int i = 0; i < 6; i++) {
		close(r[i]);
		close(w[i]);
	}
	close(ep);
}

/* The set is the child's too: its wait takes the edge; what it adds, the
 * parent sees. */
static void forked(void)
{
	int ep = epoll_create1(0), r, w, r2, w2, st = 0;
	pid_t pid;

	puts("-- shared with a fork child");
	fifo("f3", &r, &w);
	fifo("f4", &r2, &w2);
	show("ADD fifo IN|ET", ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET, 7));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct epoll_event ev;
		int n = epoll_wait(ep, &ev, 1, BOUND);

		if (n != 1 || ev.data.u64 != 7)
			_exit(1);
		if (ctl(ep, EPOLL_CTL_ADD, r2, EPOLLIN, 8) < 0)
			_exit(2);
		_exit(0);
	}
	put(w, "a");
	waitpid(pid, &st, 0);
	show("child: its wait saw the edge, added", WIFEXITED(st) ? WEXITSTATUS(st) : 99);
	expect("the edge was the child's", wait_show("parent: wait 0 ms", ep, 4, 0) == 0);
	put(w2, "b");
	expect("the child's fd, in the parent", wait_show("parent: fifo 2 written", ep, 4, BOUND) == 1);
	drain(r);
	drain(r2);
	close(r);
	close(w);
	close(r2);
	close(w2);
	close(ep);
}

static void dups_and_close(void)
{
	int ep = epoll_create1(0), ep2, ep3, r, w, r2;

	puts("-- dup of the epoll fd, close of a registered fd");
	fifo("f5", &r, &w);
	show("ADD fifo IN (level)", ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 20));
	ep2 = dup(ep);
	put(w, "a");
	expect("the dup sees it", wait_show("dup: wait", ep2, 4, BOUND) == 1);
	show("MOD through the dup", ctl(ep2, EPOLL_CTL_MOD, r, EPOLLIN, 21));
	expect("the original sees the MOD", wait_show("original: wait 0 ms", ep, 4, 0) == 1);
	close(ep);
	expect("the dup, original closed", wait_show("dup: wait 0 ms", ep2, 4, 0) == 1);
	/* In a second set too. */
	ep3 = epoll_create1(0);
	show("ADD fifo to a second set", ctl(ep3, EPOLL_CTL_ADD, r, EPOLLIN, 30));
	expect("second set", wait_show("second: wait 0 ms", ep3, 4, 0) == 1);
	expect("first set still", wait_show("first: wait 0 ms", ep2, 4, 0) == 1);
	/* Closed, but a dup holds the file: still in the sets, as in Linux. */
	r2 = dup(r);
	close(r);
	expect("a dup holds it: reported", wait_show("closed, dup open: wait 0 ms", ep2, 4, 0) == 1);
	close(r2);
	expect("last one closed: gone", wait_show("last closed: wait 0 ms", ep2, 4, 0) == 0);
	expect("gone from the second", wait_show("second: wait 0 ms", ep3, 4, 0) == 0);
	close(w);
	close(ep2);
	close(ep3);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: epoll_edge DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	signal(SIGPIPE, SIG_IGN);
	edge_fifo();
	edge_socket();
	oneshot_exclusive();
	many();
	forked();
	dups_and_close();
	return bad;
}
