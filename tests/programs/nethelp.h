/*
 * nethelp.h - what the socket test programs share (net_*.c): a TCP
 * listener on 127.0.0.1 port 0 (the kernel picks a free port, so parallel
 * runs never collide; getsockname tells it), a connection to it, and whole
 * reads and writes.  Use with report.h (included first).  Under
 * libvirtuos with configs/vos.conf the sockets live in the network
 * service; natively in this host's stack: the output is the same.
 */
#ifndef VOS_TEST_NETHELP_H
#define VOS_TEST_NETHELP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listening TCP socket on 127.0.0.1, its port in *port; -1 on failure. */
static __attribute__((unused)) int tcp_listener(int backlog, int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(s, backlog) < 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return s;
}

static __attribute__((unused)) struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return sin;
}

/* A blocking TCP connection to 127.0.0.1:port; -1 on failure (errno). */
static __attribute__((unused)) int tcp_connect(int port)
{
	struct sockaddr_in sin = loopback(port);
	int s = socket(AF_INET, SOCK_STREAM, 0), e;

	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0) {
		e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* Write all n bytes: n, or -1. */
static __attribute__((unused)) long write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);

		if (k < 0)
			return -1;
		done += (size_t)k;
	}
	return (long)n;
}

/* Read until n bytes or end of stream: the count, or -1. */
static __attribute__((unused)) long read_all(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = read(fd, (char *)buf + done, n - done);

		if (k < 0)
			return -1;
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (long)done;
}

/* A simple checksum of n bytes (FNV-1a). */
static __attribute__((unused)) uint32_t sum(const void *buf, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)buf)[i]) * 16777619u;
	return h;
}

#endif
