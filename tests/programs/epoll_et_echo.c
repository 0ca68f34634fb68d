/*
 * epoll_et_echo.c - a non-blocking, edge-triggered epoll TCP echo server
 * and 200 concurrent clients, all in this program (issue 9 point 7): the
 * server thread accepts and echoes with one EPOLLET set (reading and
 * writing until EAGAIN, as edge triggering demands: a lost edge hangs a
 * connection), four client threads drive 50 non-blocking connections each
 * with an edge-triggered set of their own: connect (EINPROGRESS), send a
 * pseudo-random message of its own length, shut the sending side, read
 * the echo until EOF.  Every echo is checksummed against what was sent.
 * Under libvirtuos every socket lives in the network service.
 *
 * usage: epoll_et_echo DIR   (DIR is not used: sockets only)
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "report.h"
#include "nethelp.h"

#define CONNS           200
#define THREADS         4
#define PER_THREAD      (CONNS / THREADS)
#define BUF             65536
#define BOUND_MS        20000   /* a wait that finds nothing this long: stuck */

static int port, listener;

static uint32_t rng(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t msg_len(int i)
{
	return 1000 + (size_t)i * 173 % 20000;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- the server ---- */

struct sconn {
	int fd, eof;
	uint8_t *buf;
	size_t have, off;       /* pending: buf[off .. have) */
};

static int server_failed, server_done;

/* Echo what there is until EAGAIN; 1 when the connection is finished. */
static int serve(struct sconn *c)
{
	for (;;) {
		while (c->off < c->have) {
			ssize_t n = write(c->fd, c->buf + c->off, c->have - c->off);

			if (n < 0 && errno == EAGAIN)
				return 0;       /* the OUT edge brings us back */
			if (n <= 0) {
				server_failed = 1;
				return 1;
			}
			c->off += (size_t)n;
		}
		c->off = c->have = 0;
		if (c->eof)
			return 1;
		ssize_t n = read(c->fd, c->buf, BUF);

		if (n < 0 && errno == EAGAIN)
			return 0;               /* the IN edge brings us back */
		if (n < 0) {
			server_failed = 1;
			return 1;
		}
		if (n == 0)
			c->eof = 1;
		c->have = (size_t)n;
	}
}

static void *server(void *arg)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), closed = 0;
	struct epoll_event ev[64];
	struct sconn *conns = calloc(CONNS, sizeof(*conns));
	int nconns = 0;

	(void)arg;
	if (ep < 0 || !conns) {
		server_failed = 1;
		return NULL;
	}
	struct epoll_event le = { .events = EPOLLIN | EPOLLET, .data.u64 = UINT64_MAX };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &le) < 0)
		server_failed = 1;
	while (!server_failed && closed < CONNS) {
		int n = epoll_wait(ep, ev, 64, BOUND_MS);

		if (n <= 0) {
			server_failed = 1;      /* stuck: an edge was lost */
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == UINT64_MAX) {
				int fd;

				while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (nconns == CONNS) {
						server_failed = 1;
						close(fd);
						continue;
					}
					struct sconn *c = &conns[nconns];
					struct epoll_event ce = {
						.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
						.data.u64 = (uint64_t)nconns,
					};
					c->fd = fd;
					c->buf = malloc(BUF);
					nconns++;
					if (!c->buf || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce) < 0)
						server_failed = 1;
				}
				if (errno != EAGAIN)
					server_failed = 1;
				continue;
			}
			struct sconn *c = &conns[ev[i].data.u64];

			if (c->fd >= 0 && c->buf && serve(c)) {
				close(c->fd);
				c->fd = -1;
				free(c->buf);
				c->buf = NULL;
				closed++;
			}
		}
	}
	server_done = closed;
	close(ep);
	free(conns);
	return NULL;
}

/* ---- the clients ---- */

struct cconn {
	int fd, id, shut, done;
	uint8_t *msg;
	size_t len, sent, got;
	uint64_t want, hash;
};

struct cthread {
	int first;
	int ok, failed;
	size_t bytes;
};

/* Send and receive until EAGAIN; 1 when the echo is complete. */
static int drive(struct cconn *c, int *failed)
{
	uint8_t buf[16384];

	while (c->sent < c->len) {
		ssize_t n = write(c->fd, c->msg + c->sent, c->len - c->sent);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			*failed = 1;
			return 1;
		}
		c->sent += (size_t)n;
	}
	if (c->sent == c->len && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof buf);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			*failed = 1;
			return 1;
		}
		if (n == 0)
			return 1;
		c->hash = fnv(c->hash, buf, (size_t)n);
		c->got += (size_t)n;
	}
}

static void *client(void *arg)
{
	struct cthread *t = arg;
	struct cconn c[PER_THREAD];
	struct epoll_event ev[16];
	int ep = epoll_create1(0), left = PER_THREAD;

	for (int i = 0; i < PER_THREAD; i++) {
		struct sockaddr_in sin = loopback(port);
		struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = (uint64_t)i };
		uint32_t seed = (uint32_t)(t->first + i) * 2654435761u;

		memset(&c[i], 0, sizeof c[i]);
		c[i].id = t->first + i;
		c[i].len = msg_len(c[i].id);
		c[i].msg = malloc(c[i].len);
		c[i].hash = c[i].want = 0xcbf29ce484222325ull;
		for (size_t k = 0; c[i].msg && k < c[i].len; k++)
			c[i].msg[k] = (uint8_t)rng(&seed);
		if (c[i].msg)
			c[i].want = fnv(c[i].want, c[i].msg, c[i].len);
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (!c[i].msg || c[i].fd < 0 ||
		    (connect(c[i].fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e) < 0) {
			t->failed = 1;
			return NULL;
		}
	}
	while (left > 0 && !t->failed) {
		int n = epoll_wait(ep, ev, 16, BOUND_MS);

		if (n <= 0) {
			t->failed = 1;          /* stuck: an edge was lost */
			break;
		}
		for (int k = 0; k < n; k++) {
			struct cconn *cc = &c[ev[k].data.u64];

			if (cc->done || !drive(cc, &t->failed))
				continue;
			cc->done = 1;
			left--;
			t->ok += cc->got == cc->len && cc->hash == cc->want;
			t->bytes += cc->got;
			close(cc->fd);
		}
	}
	for (int i = 0; i < PER_THREAD; i++) {
		if (!c[i].done && c[i].fd >= 0)
			close(c[i].fd);
		free(c[i].msg);
	}
	close(ep);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t st, ct[THREADS];
	struct cthread t[THREADS];
	size_t bytes = 0, want = 0;
	int ok = 0, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: epoll_et_echo DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;
	signal(SIGPIPE, SIG_IGN);
	listener = tcp_listener(CONNS + 16, &port);
	show("listener", listener >= 0 ? 0 : -1);
	if (listener < 0)
		return 1;
	fcntl(listener, F_SETFL, O_NONBLOCK);
	pthread_create(&st, NULL, server, NULL);
	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct cthread){ .first = i * PER_THREAD };
		pthread_create(&ct[i], NULL, client, &t[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(ct[i], NULL);
		ok += t[i].ok;
		failed |= t[i].failed;
		bytes += t[i].bytes;
	}
	pthread_join(st, NULL);
	for (int i = 0; i < CONNS; i++)
		want += msg_len(i);
	show("connections echoed whole", ok);
	show("bytes echoed", (long)bytes);
	expect("every checksum matches", ok == CONNS && bytes == want);
	expect("no client stuck or failed", !failed);
	expect("server: every connection closed", server_done == CONNS && !server_failed);
	close(listener);
	return bad;
}
