/*
 * net_sendfile.c - sendfile, splice, tee and copy_file_range between a file
 * in DIR (under /storage: the storage service), local files and pipes, and
 * TCP sockets (under libvirtuos: the network service), as natively.  Every
 * transfer is checked by a checksum of what arrived against the source's
 * bytes, and by the file positions and offsets after it:
 *   - sendfile file -> socket without an offset (the position moves) and
 *     with one (the offset moves, the position stays), read on the other
 *     end by a thread;
 *   - copy_file_range DIR -> local, local -> DIR, DIR -> DIR (one service:
 *     done by the service alone), with and without offsets;
 *   - splice file -> pipe -> socket, socket -> pipe; sendfile file -> pipe;
 *     tee between pipes;
 *   - a non-blocking socket with small buffers: sendfile gives short counts
 *     and EAGAIN, and still no byte is lost or sent twice (with an offset,
 *     and with the file position);
 *   - errors: EFAULT, EBADF, EINVAL, ESPIPE as the kernel gives them.
 *
 * usage: net_sendfile DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include "report.h"
#include "nethelp.h"

#define SIZE (300 * 1000 + 123)

static unsigned char *data;

/* The other end: reads `want` bytes (or to end of stream), sums them. */
struct reader {
	pthread_t t;
	int fd;
	size_t want;
	long got;
	uint32_t sum;
	unsigned char *buf;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->got = read_all(r->fd, r->buf, r->want);
	r->sum = r->got > 0 ? sum(r->buf, (size_t)r->got) : 0;
	return NULL;
}

static void reader_start(struct reader *r, int fd, size_t want)
{
	r->fd = fd;
	r->want = want;
	r->got = -1;
	r->buf = malloc(want ? want : 1);
	pthread_create(&r->t, NULL, reader_main, r);
}

/* Whether the reader got exactly data[from, from + n). */
static int reader_check(struct reader *r, size_t from, size_t n)
{
	int ok;

	pthread_join(r->t, NULL);
	ok = r->got == (long)n && r->sum == sum(data + from, n);
	free(r->buf);
	return ok;
}

/* A thread writing data[0, n) on fd. */
struct writer {
	pthread_t t;
	int fd;
	size_t n;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	write_all(w->fd, data, w->n);
	return NULL;
}

/* A connected pair: *srv (accepted) and *cli; small buffers if asked. */
static int tcp_pair(int *srv, int *cli, int small)
{
	int port, l = tcp_listener(1, &port), s, one = 4096;
	struct sockaddr_in sin = loopback(port);

	if (l < 0)
		return -1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (small)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof sin) < 0)
		return -1;
	*srv = accept(l, NULL, NULL);
	close(l);
	*cli = s;
	if (*srv >= 0 && small)
		setsockopt(*srv, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
	return *srv < 0 ? -1 : 0;
}

/* The whole content of a file (fd), summed from offset 0. */
static int file_is(int fd, size_t from, size_t n)
{
	unsigned char *buf = malloc(n + 1);
	long got = pread(fd, buf, n + 1, 0);
	int ok = got == (long)n && memcmp(buf, data + from, n) == 0;

	free(buf);
	return ok;
}

static void pause_ms(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

static void sendfile_blocking(int src)
{
	struct reader r;
	int srv, cli;
	off_t off;

	if (tcp_pair(&srv, &cli, 0) < 0) {
		show("tcp pair", -1);
		bad = 1;
		return;
	}
	/* without an offset: from the position, which moves */
	lseek(src, 0, SEEK_SET);
	reader_start(&r, cli, SIZE);
	long n = 0, k;
	while (n < SIZE && (k = sendfile(srv, src, NULL, SIZE - n)) > 0)
		n += k;
	show("sendfile (position) sent", n);
	expect("sendfile (position) arrived whole", reader_check(&r, 0, SIZE));
	show("  position after", lseek(src, 0, SEEK_CUR));

	/* with an offset: the offset moves, the position stays */
	lseek(src, 7, SEEK_SET);
	off = 1000;
	reader_start(&r, cli, 50000);
	show("sendfile (offset 1000, 50000)", sendfile(srv, src, &off, 50000));
	expect("sendfile (offset) arrived whole", reader_check(&r, 1000, 50000));
	show("  offset after", (long)off);
	show("  position after", lseek(src, 0, SEEK_CUR));

	/* past the end: a short count, then 0 */
	off = SIZE - 10;
	reader_start(&r, cli, 10);
	show("sendfile past the end", sendfile(srv, src, &off, 100));
	expect("sendfile past the end arrived", reader_check(&r, SIZE - 10, 10));
	show("sendfile at the end", sendfile(srv, src, &off, 100));

	/* splice: file -> pipe -> socket */
	int p[2];
	if (pipe(p) < 0) {
		show("pipe", -1);
		bad = 1;
		return;
	}
	reader_start(&r, cli, SIZE);
	off = 0;
	long moved = 0, bad_step = 0;
	while (moved < SIZE) {
		long in = splice(src, &off, p[1], NULL, SIZE - moved, 0), out = 0;

		if (in <= 0) {
			bad_step = in < 0 ? -errno : -1000;
			break;
		}
		while (out < in) {
			long w = splice(p[0], NULL, srv, NULL, in - out, 0);

			if (w <= 0) {
				bad_step = w < 0 ? -errno : -1001;
				break;
			}
			out += w;
		}
		if (bad_step)
			break;
		moved += in;
	}
	show("splice file->pipe->socket moved", moved);
	show("  failed step", bad_step);
	expect("splice arrived whole", reader_check(&r, 0, SIZE));
	show("  offset after", (long)off);
	show("  position after", lseek(src, 0, SEEK_CUR));

	/* splice socket -> pipe -> memory (a writer thread sends) */
	{
		struct writer w = { .fd = srv, .n = SIZE };
		unsigned char *got = malloc(SIZE);
		long have = 0, step = 0;

		pthread_create(&w.t, NULL, writer_main, &w);
		while (have < SIZE) {
			long in = splice(cli, NULL, p[1], NULL, SIZE - have, 0);

			if (in <= 0) {
				step = in < 0 ? -errno : -1000;
				break;
			}
			if (read_all(p[0], got + have, (size_t)in) != in) {
				step = -1001;
				break;
			}
			have += in;
		}
		pthread_join(w.t, NULL);
		show("splice socket->pipe moved", have);
		show("  failed step", step);
		expect("  arrived whole", have == SIZE && memcmp(got, data, SIZE) == 0);
		free(got);
	}

	/* sendfile file -> pipe (a splice since Linux 5.12) */
	{
		unsigned char got[4096];

		off = 200;
		show("sendfile file->pipe", sendfile(p[1], src, &off, 4096));
		show("  offset after", (long)off);
		expect("  the file's bytes", read_all(p[0], got, 4096) == 4096 &&
		       memcmp(got, data + 200, 4096) == 0);
	}

	/* errors */
	show("sendfile bad offset pointer", sendfile(srv, src, (off_t *)8, 10));
	show("sendfile from a socket", sendfile(src, srv, NULL, 10));
	show("splice file -> socket (no pipe)", splice(src, NULL, srv, NULL, 10, 0));
	show("splice with an offset for the pipe", splice(p[0], &off, srv, NULL, 10, 0));
	show("splice socket with an offset", splice(p[0], NULL, srv, &off, 10, 0));
	show("tee socket -> pipe", tee(srv, p[1], 10, 0));
	show("tee pipe -> socket", tee(p[0], srv, 10, 0));
	show("sendfile from a closed fd", sendfile(srv, 999, NULL, 10));
	int wo = open(a("src"), O_WRONLY);
	show("sendfile from a write-only file", sendfile(srv, wo, NULL, 10));
	close(wo);
	close(p[0]);
	close(p[1]);
	close(srv);
	close(cli);
}

/* A non-blocking socket whose peer's buffers are small: short counts and
 * EAGAIN, nothing lost or sent twice.  with_off: an offset, else the
 * position. */
static void sendfile_nonblocking(int src, int with_off)
{
	struct reader r;
	int srv, cli, again = 0, shorts = 0;
	off_t off = 0;
	long n = 0, k;

	if (tcp_pair(&srv, &cli, 1) < 0) {
		show("tcp pair (small)", -1);
		bad = 1;
		return;
	}
	fcntl(srv, F_SETFL, O_NONBLOCK);
	lseek(src, 0, SEEK_SET);
	/* Nobody reads yet: the buffers fill, then EAGAIN. */
	for (int i = 0; i < 1000 && !again; i++) {
		k = sendfile(srv, src, with_off ? &off : NULL, SIZE - n);
		if (k < 0 && errno == EAGAIN)
			again = 1;
		else if (k > 0)
			n += k, shorts += k < SIZE;
		else
			break;
	}
	expect(with_off ? "non-blocking (offset): short count" : "non-blocking (position): short count",
	       shorts > 0 && n < SIZE);
	expect("  then EAGAIN", again);
	reader_start(&r, cli, SIZE);
	for (int i = 0; n < SIZE && i < 60000; i++) {
		k = sendfile(srv, src, with_off ? &off : NULL, SIZE - n);
		if (k > 0)
			n += k;
		else if (k < 0 && errno == EAGAIN)
			pause_ms();     /* the reader makes room */
		else
			break;
	}
	show("  sent in all", n);
	expect("  arrived whole, in order", reader_check(&r, 0, SIZE));
	if (with_off) {
		show("  offset after", (long)off);
		show("  position after", lseek(src, 0, SEEK_CUR));
	} else {
		show("  position after", lseek(src, 0, SEEK_CUR));
	}
	close(srv);
	close(cli);
}

static void copies(int src)
{
	char local[] = "/tmp/vos-net-sendfile.XXXXXX";
	int loc = mkstemp(local), dst, dst2;
	off_t oin, oout;
	long n, k;

	if (loc < 0) {
		show("mkstemp", -1);
		bad = 1;
		return;
	}
	unlink(local);
	/* DIR -> local, with an input offset: the position stays */
	lseek(src, 5, SEEK_SET);
	oin = 0;
	for (n = 0; n < SIZE && (k = copy_file_range(src, &oin, loc, NULL, SIZE - n, 0)) > 0; n += k)
		;
	show("copy_file_range DIR -> local", n);
	expect("  local file is the source", file_is(loc, 0, SIZE));
	show("  input offset after", (long)oin);
	show("  input position after", lseek(src, 0, SEEK_CUR));
	show("  output position after", lseek(loc, 0, SEEK_CUR));

	/* local -> DIR, positions on both sides */
	dst = open(a("dst"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	lseek(loc, 1000, SEEK_SET);
	for (n = 0; n < SIZE - 1000 && (k = copy_file_range(loc, NULL, dst, NULL, SIZE, 0)) > 0; n += k)
		;
	show("copy_file_range local -> DIR", n);
	expect("  DIR file is the source's tail", file_is(dst, 1000, SIZE - 1000));
	show("  input position after", lseek(loc, 0, SEEK_CUR));
	show("  output position after", lseek(dst, 0, SEEK_CUR));

	/* DIR -> DIR (one service), both offsets */
	dst2 = open(a("dst2"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	oin = 100;
	oout = 0;
	for (n = 0; n < 200000 && (k = copy_file_range(src, &oin, dst2, &oout, 200000 - n, 0)) > 0; n += k)
		;
	show("copy_file_range DIR -> DIR", n);
	expect("  DIR file is the source's part", file_is(dst2, 100, 200000));
	show("  input offset after", (long)oin);
	show("  output offset after", (long)oout);
	show("  output position after", lseek(dst2, 0, SEEK_CUR));

	/* sendfile DIR -> DIR (one service) */
	lseek(dst2, 0, SEEK_SET);
	ftruncate(dst2, 0);
	lseek(src, 0, SEEK_SET);
	for (n = 0; n < SIZE && (k = sendfile(dst2, src, NULL, SIZE - n)) > 0; n += k)
		;
	show("sendfile DIR -> DIR", n);
	expect("  DIR file is the source", file_is(dst2, 0, SIZE));
	show("  input position after", lseek(src, 0, SEEK_CUR));

	/* errors */
	show("copy_file_range flags 1", copy_file_range(src, NULL, loc, NULL, 10, 1));
	show("copy_file_range bad offset pointer", copy_file_range(src, (off_t *)8, loc, NULL, 10, 0));
	int ap = open(a("dst"), O_WRONLY | O_APPEND);
	show("copy_file_range into O_APPEND", copy_file_range(loc, NULL, ap, NULL, 10, 0));
	close(ap);
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	show("copy_file_range from a directory", copy_file_range(d, NULL, loc, NULL, 10, 0));
	close(d);
	close(dst);
	close(dst2);
	close(loc);
	unlink(a("dst"));
	unlink(a("dst2"));
}

static void tees(void)
{
	int p1[2], p2[2];
	char b1[32] = "", b2[32] = "";

	if (pipe(p1) < 0 || pipe(p2) < 0) {
		show("pipes", -1);
		bad = 1;
		return;
	}
	write(p1[1], "hello, tee", 10);
	show("tee pipe -> pipe", tee(p1[0], p2[1], 100, 0));
	show("  read the first", read(p1[0], b1, sizeof b1));
	show("  read the copy", read(p2[0], b2, sizeof b2));
	expect("  both the same", strcmp(b1, "hello, tee") == 0 && strcmp(b2, b1) == 0);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

int main(int argc, char **argv)
{
	int src;

	if (argc != 2) {
		fprintf(stderr, "usage: net_sendfile DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);
	data = malloc(SIZE);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	src = open(a("src"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (src < 0 || write_all(src, data, SIZE) != SIZE) {
		show("source file", -1);
		return 1;
	}
	sendfile_blocking(src);
	sendfile_nonblocking(src, 1);
	sendfile_nonblocking(src, 0);
	copies(src);
	tees();
	close(src);
	unlink(a("src"));
	return bad;
}
