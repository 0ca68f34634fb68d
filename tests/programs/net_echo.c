/*
 * net_echo.c - a blocking TCP echo over 127.0.0.1, as natively: a child
 * connects and sends 300 KB in writes of several sizes (larger than one
 * channel slot), then half-closes (shutdown SHUT_WR); the parent accepts,
 * reads to end of stream, still writes everything back, and the child
 * reads it all.  Around it: names (getsockname/getpeername), fstat
 * (S_ISSOCK), options (SO_TYPE, TCP_NODELAY, SO_REUSEADDR), readv/writev,
 * sendmsg/recvmsg with iovecs, FIONREAD, O_NONBLOCK by fcntl and FIONBIO
 * (EAGAIN), MSG_PEEK, and a connection that lives on through dup and a
 * fork whose child closes its copy (closed with the last reference).
 *
 * usage: net_echo DIR
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include "report.h"
#include <sys/wait.h>
#include "nethelp.h"

#define TOTAL (300 * 1000)

static int port;
static unsigned char *out, *back;

static void client(void *arg)
{
	static const size_t sizes[] = { 1, 100, 4096, 65536, 100000 };
	size_t done = 0;
	int s = tcp_connect(port);

	(void)arg;
	if (s < 0) {
		show("client connect", -1);
		bad = 1;
		return;
	}
	for (int i = 0; done < TOTAL; i++) {
		size_t n = sizes[i % 5] < TOTAL - done ? sizes[i % 5] : TOTAL - done;

		if (write_all(s, out + done, n) < 0) {
			show("client write", -1);
			bad = 1;
			return;
		}
		done += n;
	}
	if (shutdown(s, SHUT_WR) < 0) {
		show("client shutdown", -1);
		bad = 1;
	}
	long got = read_all(s, back, TOTAL + 1);
	if (got != TOTAL || memcmp(back, out, TOTAL) != 0) {
		show("client got back", got);
		bad = 1;
	}
	close(s);
}

/* Wait (bounded) until FIONREAD says n bytes are there. */
static int wait_readable(int s, int n)
{
	struct timespec tick = { 0, 1000 * 1000 };
	int v = -1;

	for (int i = 0; i < 5000; i++) {
		if (ioctl(s, FIONREAD, &v) < 0)
			return -1;
		if (v >= n)
			return v;
		nanosleep(&tick, NULL);
	}
	return v;
}

static void extras(int l)
{
	struct sockaddr_in a, b;
	socklen_t al = sizeof a, bl = sizeof b;
	int c = tcp_connect(port), s, v, on = 1;
	socklen_t vl = sizeof v;
	struct stat st;
	char buf[64];
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	char r1[3] = { 0 }, r2[8] = { 0 };
	struct iovec riov[2] = { { r1, 2 }, { r2, 7 } };
	struct msghdr m = { .msg_iov = riov, .msg_iovlen = 2 };

	s = accept(l, (struct sockaddr *)&a, &al);
	expect("accept", s >= 0 && c >= 0);
	expect("peer address is loopback", al == sizeof a && a.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	expect("getpeername = client's getsockname",
	       getpeername(s, (struct sockaddr *)&a, &al) == 0 &&
	       getsockname(c, (struct sockaddr *)&b, &bl) == 0 && a.sin_port == b.sin_port);
	al = 4;         /* too short: truncated, full length told */
	expect("getsockname truncated, length 16", getsockname(s, (struct sockaddr *)&a, &al) == 0 && al == 16);
	expect("fstat says socket", fstat(s, &st) == 0 && S_ISSOCK(st.st_mode));
	show("SO_TYPE", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) < 0 ? -1 : v);
	expect("TCP_NODELAY set", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0);
	vl = sizeof v;
	expect("TCP_NODELAY read back", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0);
	vl = sizeof v;
	expect("SO_REUSEADDR off", getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v == 0);

	/* nothing to read, non-blocking */
	errno = 0;
	show("recv MSG_DONTWAIT, nothing there", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	expect("F_GETFL has O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	show("read, O_NONBLOCK, nothing there", read(s, buf, sizeof buf));
	on = 0;
	expect("FIONBIO off", ioctl(s, FIONBIO, &on) == 0 && !(fcntl(s, F_GETFL) & O_NONBLOCK));

	/* writev / FIONREAD / MSG_PEEK / recvmsg into two iovecs */
	show("writev 6 bytes", writev(c, iov, 3));
	show("FIONREAD", wait_readable(s, 6));
	show("recv MSG_PEEK", recv(s, buf, 3, MSG_PEEK));
	show("recvmsg", recvmsg(s, &m, 0));
	expect("recvmsg scattered", !strcmp(r1, "ab") && !strcmp(r2, "cdef"));
	show("sendmsg 5 bytes", sendmsg(c, &(struct msghdr){ .msg_iov = iov + 2, .msg_iovlen = 1 }, 0) +
				 send(c, "g", 1, 0));
	memset(r2, 0, sizeof r2);
	riov[0].iov_len = 1;
	riov[1].iov_len = 4;
	wait_readable(s, 5);
	show("readv", readv(s, riov, 2));

	/* dup, then a fork whose child closes its copy: still connected */
	int d = dup(s);
	close(s);
	pid_t p = fork();
	if (p == 0) {
		close(d);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	show("write on the dup after the child's close", write(d, "xyz", 3));
	show("client reads it", read_all(c, buf, 3));
	close(d);       /* the last reference: the client sees the end */
	show("client read after the last close", read(c, buf, sizeof buf));
	close(c);
}

int main(int argc, char **argv)
{
	int l;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */
	out = malloc(TOTAL);
	back = malloc(TOTAL + 1);
	for (size_t i = 0; i < TOTAL; i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	l = tcp_listener(4, &port);
	if (l < 0) {
		show("listener", -1);
		return 1;
	}

	/* the echo: the client in a child, the server here */
	pid_t p = fork();
	if (p == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		client(NULL);
		_exit(bad);
	}
	int s = accept(l, NULL, NULL);
	long got = s < 0 ? -1 : read_all(s, back, TOTAL + 1);
	show("server read to end of stream", got);
	expect("server got the bytes sent", got == TOTAL && memcmp(back, out, TOTAL) == 0);
	show("server writes back after the peer's SHUT_WR", s < 0 ? -1 : write_all(s, back, TOTAL));
	close(s);
	int status = 0;
	waitpid(p, &status, 0);
	expect("client got everything back", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("checksum %08x\n", sum(back, TOTAL));

	extras(l);
	close(l);
	return bad;
}
