/*
 * netfile.c - one file over HTTP/1.0 with plain blocking socket calls (no
 * poll, no select), for the system test's network checks in dom0.
 *
 *   netfile serve PORT FILE COUNT
 *       listen on 0.0.0.0:PORT, print "netfile: listening on PORT" once the
 *       socket listens, then answer COUNT requests (whatever their path)
 *       with FILE's bytes and exit 0.
 *   netfile get ADDR PORT PATH
 *       GET PATH from ADDR:PORT (IPv4 dotted quad) and write the body to
 *       stdout; exit 0 iff the answer was "200" and the body complete
 *       (Content-Length, if the server sent one, matched).
 *
 * Under libvirtuos with route-family inet, both sides' sockets live in the
 * network service (in the guest set: the network domain), so a dom0
 * program reaches the outside and is reached from it through that domain.
 * Errors go to stderr as "netfile: WHAT: strerror", exit status 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192

static int fail(const char *what)
{
	fprintf(stderr, "netfile: %s: %s\n", what, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until the blank line that ends an HTTP head (bounded); the number of
 * bytes read (some may be body), or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap, size_t *head_len)
{
	size_t got = 0;

	while (got < cap - 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			*head_len = (size_t)(end - buf) + 4;
			return (ssize_t)got;
		}
	}
	errno = EMSGSIZE;
	return -1;
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return (*s && !*end && v > 0 && v < 65536) ? (int)v : -1;
}

static int serve(int port, const char *file, long count)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	char head[HEAD_MAX], buf[65536];

	if (s < 0)
		return fail("socket");
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return fail("setsockopt SO_REUSEADDR");
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) < 0)
		return fail("bind");
	if (listen(s, 16) < 0)
		return fail("listen");
	printf("netfile: listening on %d\n", port);
	fflush(stdout);
	for (long i = 0; i < count; i++) {
		size_t head_len;
		int c = accept(s, NULL, NULL);

		if (c < 0)
			return fail("accept");
		if (read_head(c, head, sizeof head, &head_len) < 0)
			return fail("read request");
		int f = open(file, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			return fail(file);
		off_t size = lseek(f, 0, SEEK_END);
		if (size < 0 || lseek(f, 0, SEEK_SET) < 0)
			return fail("lseek");
		int n = snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Length: %lld\r\n"
				 "Content-Type: application/octet-stream\r\n\r\n", (long long)size);
		if (write_all(c, head, (size_t)n) < 0)
			return fail("write head");
		for (;;) {
			ssize_t r = read(f, buf, sizeof buf);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return fail("read file");
			if (r == 0)
				break;
			if (write_all(c, buf, (size_t)r) < 0)
				return fail("write body");
		}
		close(f);
		if (close(c) < 0)
			return fail("close");
	}
	return close(s) < 0 ? fail("close listener") : 0;
}

static int get(const char *addr, int port, const char *path)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char head[HEAD_MAX], buf[65536];
	size_t head_len;
	ssize_t got;
	long long want = -1, have;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "netfile: bad address '%s'\n", addr);
		return 2;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return fail("socket");
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0)
		return fail("connect");
	int n = snprintf(head, sizeof head, "GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n", path, addr, port);
	if (n < 0 || (size_t)n >= sizeof head) {
		fprintf(stderr, "netfile: path too long\n");
		return 2;
	}
	if (write_all(s, head, (size_t)n) < 0)
		return fail("write request");
	got = read_head(s, head, sizeof head, &head_len);
	if (got < 0)
		return fail("read answer");
	if (strncmp(head, "HTTP/1.", 7) || strncmp(head + 8, " 200", 4)) {
		fprintf(stderr, "netfile: answer: %.*s\n", (int)strcspn(head, "\r\n"), head);
		return 1;
	}
	for (char *p = head; p < head + head_len; p = strstr(p, "\r\n") + 2)
		if (!strncasecmp(p, "Content-Length:", 15))
			want = atoll(p + 15);
	have = (long long)got - (long long)head_len;
	if (write_all(1, head + head_len, (size_t)have) < 0)
		return fail("write stdout");
	for (;;) {
		ssize_t r = read(s, buf, sizeof buf);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("read body");
		if (r == 0)
			break;
		if (write_all(1, buf, (size_t)r) < 0)
			return fail("write stdout");
		have += r;
	}
	close(s);
	if (want >= 0 && have != want) {
		fprintf(stderr, "netfile: body of %lld bytes, Content-Length %lld\n", have, want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "serve") && parse_port(argv[2]) > 0 && atol(argv[4]) > 0)
		return serve(parse_port(argv[2]), argv[3], atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "get") && parse_port(argv[3]) > 0)
		return get(argv[2], parse_port(argv[3]), argv[4]);
	fprintf(stderr, "usage: netfile serve PORT FILE COUNT | netfile get ADDR PORT PATH\n");
	return 2;
}
