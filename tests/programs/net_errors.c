/*
 * net_errors.c - the errors of socket calls, as natively: connection
 * refused (a port whose listener was closed), a port in use (EADDRINUSE,
 * and SO_REUSEADDR not enough while it listens), a non-blocking connect to
 * a closed port (EINPROGRESS or at once ECONNREFUSED, then SO_ERROR says
 * ECONNREFUSED, read once), accept on a non-blocking listener (EAGAIN),
 * getpeername and send on an unconnected socket (ENOTCONN, EPIPE), listen
 * on UDP (EOPNOTSUPP), a bad address family or length (EAFNOSUPPORT,
 * EINVAL), bad pointers (EFAULT), socket calls on a pipe (ENOTSOCK), and a
 * family that stays local (AF_UNIX socketpair works as ever).
 *
 * usage: net_errors DIR
 */
#include <fcntl.h>
#include <time.h>
#include "report.h"
#include "nethelp.h"

/* A port nothing listens on: bound by a listener, then closed. */
static int closed_port(void)
{
	int port, l = tcp_listener(1, &port);

	if (l < 0)
		return -1;
	close(l);
	return port;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	int s, t, port, v, fds[2];
	socklen_t vl = sizeof v;
	char c;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */

	port = closed_port();
	errno = 0;
	show("connect to a closed port", tcp_connect(port));

	/* in use */
	s = tcp_listener(1, &port);
	t = socket(AF_INET, SOCK_STREAM, 0);
	sin = loopback(port);
	show("bind a listening port", bind(t, (struct sockaddr *)&sin, sizeof sin));
	v = 1;
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v);
	show("again with SO_REUSEADDR", bind(t, (struct sockaddr *)&sin, sizeof sin));
	close(t);

	/* non-blocking accept, nothing queued */
	fcntl(s, F_SETFL, O_NONBLOCK);
	show("accept, non-blocking, none queued", accept(s, NULL, NULL));
	close(s);

	/* non-blocking connect to a closed port */
	port = closed_port();
	t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sin = loopback(port);
	int r = connect(t, (struct sockaddr *)&sin, sizeof sin);
	expect("non-blocking connect: EINPROGRESS or ECONNREFUSED",
	       r < 0 && (errno == EINPROGRESS || errno == ECONNREFUSED));
	if (r < 0 && errno == EINPROGRESS) {
		/* the refusal comes (bounded wait): SO_ERROR reports it once */
		struct timespec tick = { 0, 1000 * 1000 };
		v = 0;
		for (int i = 0; i < 5000 && v == 0; i++) {
			vl = sizeof v;
			if (getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &vl) < 0)
				break;
			if (v == 0)
				nanosleep(&tick, NULL);
		}
	} else {
		v = ECONNREFUSED;
	}
	printf("%-36s %s\n", "SO_ERROR", strerrorname_np(v));
	vl = sizeof v;
	show("SO_ERROR read again", getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &vl) < 0 ? -1 : v);
	close(t);

	/* unconnected */
	t = socket(AF_INET, SOCK_STREAM, 0);
	vl = sizeof sin;
	show("getpeername, not connected", getpeername(t, (struct sockaddr *)&sin, &vl));
	show("send, not connected", send(t, "x", 1, MSG_NOSIGNAL));
	show("read, not connected", read(t, &c, 1));
	show("shutdown, not connected", shutdown(t, SHUT_RDWR));
	show("shutdown, bad how", shutdown(t, 7));
	sin = loopback(0);
	sin.sin_family = AF_INET6;
	show("bind, wrong family", bind(t, (struct sockaddr *)&sin, sizeof sin));
	sin.sin_family = AF_INET;
	show("bind, short length", bind(t, (struct sockaddr *)&sin, 4));
	show("bind, bad pointer", bind(t, (struct sockaddr *)8, sizeof sin));
	vl = sizeof sin;
	show("getsockname, bad pointer", getsockname(t, (struct sockaddr *)8, &vl));
	show("getsockname, bad length pointer", getsockname(t, (struct sockaddr *)&sin, (socklen_t *)8));
	show("setsockopt, bad pointer", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, (void *)8, sizeof v));
	show("setsockopt, unknown option", setsockopt(t, SOL_SOCKET, 9999, &v, sizeof v));
	vl = sizeof v;
	show("getsockopt, bad level", getsockopt(t, 9999, 1, &v, &vl));
	close(t);
	show("socket, bad type", socket(AF_INET, 99, 0));
	show("socket, bad protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));

	t = socket(AF_INET, SOCK_DGRAM, 0);
	sin = loopback(closed_port());
	expect("connect UDP", connect(t, (struct sockaddr *)&sin, sizeof sin) == 0);
	show("send, bad buffer", send(t, (void *)8, 10, 0));
	show("recv, bad buffer", recv(t, (void *)8, 10, MSG_DONTWAIT));
	show("listen on UDP", listen(t, 1));
	close(t);
	show("accept on a closed fd", accept(t, NULL, NULL));

	/* not sockets */
	expect("pipe", pipe(fds) == 0);
	show("connect on a pipe", connect(fds[0], (struct sockaddr *)&sin, sizeof sin));
	show("getsockopt on a pipe", getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &v, &vl));
	close(fds[0]);
	close(fds[1]);

	/* AF_UNIX stays local and works */
	expect("socketpair AF_UNIX", socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	show("write", write(fds[0], "u", 1));
	show("read", read(fds[1], &c, 1));
	close(fds[0]);
	close(fds[1]);
	return bad;
}
