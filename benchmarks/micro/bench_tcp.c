/*
 * bench_tcp - TCP over loopback, client and server both in this process
 * (threads), so run under LD_PRELOAD=libvirtuos.so with inet routed to a
 * network service both ends are forwarded.  A plain program: like
 * bench_pread it measures one side per process (--side native|remote) and
 * benchmarks/run.sh runs native without the library and remote under it,
 * then joins the two RESULT lines.  Each process prints its numbers in the
 * "ours" columns; --side only checks the caller's intent.
 *
 *   bench_tcp rtt    [--reps R] [--iters N]        1-byte round trip, ns
 *   bench_tcp accept [--reps R] [--ms M]           connect+accept+close, conns/s
 *   bench_tcp bulk   [--reps R] [--mib M]          64 KiB writes, MiB/s
 *   bench_tcp idle   [--reps R] [--iters N] --idle K [--wait epoll|threads]
 *                    [--service-pid PID]
 *
 * idle: K idle connections and one active one; the active one's 1-byte
 * round trip.  --wait epoll: the server thread waits for all K+1 server
 * sockets in one epoll set; --wait threads: one thread per server socket
 * blocked in recv (what a thread-per-connection server does; forwarded,
 * each blocked recv holds a service worker).  With --service-pid the
 * program also reports, while the connections are open, the threads and
 * RSS of that process and all its descendants (the service, its shadows
 * and their workers) as RESULT lines (ours columns only).
 *
 * Every round trip checks the byte that comes back; every bulk byte count
 * is checked at the receiver.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench_util.h"

#define BULK_CHUNK (64 * 1024)

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4096) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		bench_die("bench_tcp: listener: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return s;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		bench_die("bench_tcp: connect: %s", strerror(errno));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

static int accept_one(int l)
{
	int one = 1, s = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (s < 0)
		bench_die("bench_tcp: accept: %s", strerror(errno));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

static void xsend1(int s, char c)
{
	if (send(s, &c, 1, MSG_NOSIGNAL) != 1)
		bench_die("bench_tcp: send: %s", strerror(errno));
}

/* One byte; -1 at EOF. */
static int xrecv1(int s)
{
	char c;
	ssize_t n = recv(s, &c, 1, 0);

	if (n == 0)
		return -1;
	if (n != 1)
		bench_die("bench_tcp: recv: %s", n < 0 ? strerror(errno) : "short");
	return (unsigned char)c;
}

/* ---- rtt: an echo thread on one accepted socket ---- */

static void *echo_thread(void *p)
{
	int s = (int)(intptr_t)p, c;

	while ((c = xrecv1(s)) >= 0)
		xsend1(s, (char)c);
	return NULL;
}

static double round_trips(int c, long iters)
{
	uint64_t t0 = bench_now_ns();

	for (long i = 0; i < iters; i++) {
		char b = (char)('a' + i % 26);

		xsend1(c, b);
		if (xrecv1(c) != (unsigned char)b)
			bench_die("bench_tcp: round trip: wrong byte back");
	}
	return (double)(bench_now_ns() - t0) / (double)iters;
}

static double one_rtt(long iters)
{
	uint16_t port;
	int l = listener(&port), c = connect_to(port), s = accept_one(l);
	pthread_t t;
	double ns;

	pthread_create(&t, NULL, echo_thread, (void *)(intptr_t)s);
	round_trips(c, iters / 10 + 1);         /* warm-up */
	ns = round_trips(c, iters);
	close(c);
	pthread_join(t, NULL);
	close(s);
	close(l);
	return ns;
}

/* ---- accept: connections per second ---- */

struct acc {
	int l;
	_Atomic int stop;
	long n;
};

static void *accept_thread(void *p)
{
	struct acc *a = p;

	for (;;) {
		int s = accept4(a->l, NULL, NULL, SOCK_CLOEXEC);

		if (s < 0)
			bench_die("bench_tcp: accept: %s", strerror(errno));
		if (atomic_load(&a->stop)) {
			close(s);
			return NULL;
		}
		/* Wait for the client's close (EOF): the connection is whole. */
		/* Wait for the client's close (its reset, SO_LINGER 0): the
		 * connection is whole. */
		char c;
		if (recv(s, &c, 1, 0) > 0)
			bench_die("bench_tcp: accept: data on an empty connection");
		close(s);
		a->n++;
	}
}

static double one_accept(unsigned ms)
{
	struct acc a = { .n = 0 };
	uint16_t port;
	pthread_t t;
	uint64_t t0, t1, end;
	struct linger lg = { 1, 0 };    /* RST: no TIME_WAIT pile-up on the client's ports */

	a.l = listener(&port);
	atomic_init(&a.stop, 0);
	pthread_create(&t, NULL, accept_thread, &a);
	t0 = bench_now_ns();
	end = t0 + (uint64_t)ms * 1000000u;
	long n = 0;
	do {
		int c = connect_to(port);

		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
		n++;
		t1 = bench_now_ns();
	} while (t1 < end);
	atomic_store(&a.stop, 1);
	close(connect_to(port));        /* wakes the accept thread */
	pthread_join(t, NULL);
	close(a.l);
	return (double)n * 1e9 / (double)(t1 - t0);
}

/* ---- bulk: one connection, 64 KiB writes ---- */

struct sink {
	int s;
	uint64_t got;
};

static void *sink_thread(void *p)
{
	struct sink *k = p;
	static char buf[BULK_CHUNK];    /* one sink thread at a time */

	for (;;) {
		ssize_t n = recv(k->s, buf, sizeof(buf), 0);

		if (n == 0)
			return NULL;
		if (n < 0)
			bench_die("bench_tcp: bulk recv: %s", strerror(errno));
		k->got += (uint64_t)n;
	}
}

static double one_bulk(long mib)
{
	static char buf[BULK_CHUNK];
	uint16_t port;
	int l = listener(&port), c = connect_to(port);
	struct sink k = { .s = accept_one(l) };
	uint64_t total = (uint64_t)mib << 20, sent = 0, t0;
	pthread_t t;

	memset(buf, 'x', sizeof(buf));
	pthread_create(&t, NULL, sink_thread, &k);
	t0 = bench_now_ns();
	while (sent < total) {
		ssize_t n = send(c, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n <= 0)
			bench_die("bench_tcp: bulk send: %s", n < 0 ? strerror(errno) : "0");
		sent += (uint64_t)n;
	}
	shutdown(c, SHUT_WR);
	pthread_join(t, NULL);
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	if (k.got != sent)
		bench_die("bench_tcp: bulk: sent %llu, received %llu", (unsigned long long)sent,
			  (unsigned long long)k.got);
	close(c);
	close(k.s);
	close(l);
	return (double)sent / (1 << 20) / secs;
}

/* ---- idle: one active connection among K idle ones ---- */

/* Threads and RSS (KiB) of pid and all its descendants. */
static void tree_usage(pid_t root, long *threads, long *rss_kib)
{
	pid_t pids[8192];
	int n = 1;

	pids[0] = root;
	*threads = 0;
	*rss_kib = 0;
	/* Descendants: walk /proc once per generation (bounded by 8 levels). */
	for (int gen = 0, from = 0; gen < 8; gen++) {
		int to = n;
		DIR *d = opendir("/proc");
		struct dirent *e;

		if (!d)
			return;
		while ((e = readdir(d)) && n < 8192) {
			char path[64], line[256];
			pid_t p = (pid_t)atoi(e->d_name), pp = -1;
			FILE *f;

			if (p <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/status", p);
			if (!(f = fopen(path, "r")))
				continue;
			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "PPid: %d", &pp) == 1)
					break;
			fclose(f);
			for (int i = from; i < to; i++)
				if (pids[i] == pp)
					pids[n++] = p;
		}
		closedir(d);
		if (n == to)
			break;
		from = to;
	}
	for (int i = 0; i < n; i++) {
		char path[64], line[256];
		long v;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Threads: %ld", &v) == 1)
				*threads += v;
			else if (sscanf(line, "VmRSS: %ld", &v) == 1)
				*rss_kib += v;
		}
		fclose(f);
	}
}

struct epserver {
	int ep;
};

/* Echo every byte that arrives on any socket of the set; ends at EOF of
 * the active one (its data pointer is -1 - fd). */
static void *epoll_server(void *p)
{
	struct epserver *e = p;
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(e->ep, ev, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("bench_tcp: epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd, c;

			if (fd < 0)
				fd = -1 - fd;
			c = xrecv1(fd);
			if (c < 0 && ev[i].data.fd < 0)
				return NULL;
			if (c >= 0)
				xsend1(fd, (char)c);
		}
	}
}

static void run_idle(const char *name, int reps, long iters, long k, int use_epoll, pid_t svc)
{
	uint16_t port;
	int l = listener(&port);
	int *cli = calloc((size_t)k, sizeof(int)), *srv = calloc((size_t)k, sizeof(int));
	pthread_t *th = calloc((size_t)k + 1, sizeof(pthread_t));
	pthread_attr_t attr;
	struct epserver es = { -1 };
	double v[BENCH_MAX_REPS];
	int ac, as;

	if (!cli || !srv || !th)
		bench_die("bench_tcp: out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < k; i++) {
		cli[i] = connect_to(port);
		srv[i] = accept_one(l);
	}
	ac = connect_to(port);
	as = accept_one(l);
	if (use_epoll) {
		struct epoll_event ev = { .events = EPOLLIN };

		es.ep = epoll_create1(EPOLL_CLOEXEC);
		if (es.ep < 0)
			bench_die("bench_tcp: epoll_create1: %s", strerror(errno));
		for (long i = 0; i < k; i++) {
			ev.data.fd = srv[i];
			if (epoll_ctl(es.ep, EPOLL_CTL_ADD, srv[i], &ev) < 0)
				bench_die("bench_tcp: epoll_ctl: %s", strerror(errno));
		}
		ev.data.fd = -1 - as;
		if (epoll_ctl(es.ep, EPOLL_CTL_ADD, as, &ev) < 0)
			bench_die("bench_tcp: epoll_ctl: %s", strerror(errno));
		if (pthread_create(&th[k], &attr, epoll_server, &es))
			bench_die("bench_tcp: pthread_create");
	} else {
		for (long i = 0; i < k; i++)
			if (pthread_create(&th[i], &attr, echo_thread, (void *)(intptr_t)srv[i]))
				bench_die("bench_tcp: pthread_create (%ld threads)", i);
		if (pthread_create(&th[k], &attr, echo_thread, (void *)(intptr_t)as))
			bench_die("bench_tcp: pthread_create");
	}
	round_trips(ac, iters / 10 + 1);        /* warm-up; every waiter is in place after it */
	if (svc > 0) {
		long threads, rss;
		double t, r;

		tree_usage(svc, &threads, &rss);
		t = (double)threads;
		r = (double)rss / 1024.0;
		char nm[96];
		snprintf(nm, sizeof(nm), "%s_svc_threads", name);
		bench_result(nm, "threads", NULL, &t, 1);
		snprintf(nm, sizeof(nm), "%s_svc_rss", name);
		bench_result(nm, "MiB", NULL, &r, 1);
	}
	for (int r = 0; r < reps; r++)
		v[r] = round_trips(ac, iters);
	close(ac);
	for (long i = 0; i < k; i++)
		close(cli[i]);          /* EOF ends each echo thread */
	if (!use_epoll)
		for (long i = 0; i <= k; i++)
			pthread_join(th[i], NULL);
	else
		pthread_join(th[k], NULL);
	for (long i = 0; i < k; i++)
		close(srv[i]);
	close(as);
	close(l);
	if (es.ep >= 0)
		close(es.ep);
	free(cli);
	free(srv);
	free(th);
	bench_result(name, "ns", NULL, v, reps);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_tcp rtt|accept|bulk|idle [--side native|remote] [--reps R] [--iters N]\n"
			"       [--ms M] [--mib M] [--idle K] [--wait epoll|threads] [--service-pid PID] [--name NAME]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "side", 1, 0, 's' }, { "reps", 1, 0, 'r' }, { "iters", 1, 0, 'i' },
		{ "ms", 1, 0, 'm' }, { "mib", 1, 0, 'b' }, { "idle", 1, 0, 'k' },
		{ "wait", 1, 0, 'w' }, { "service-pid", 1, 0, 'p' }, { "name", 1, 0, 'n' }, { 0, 0, 0, 0 },
	};
	const char *mode, *side = "remote", *name = NULL;
	int reps = 7, use_epoll = 1, o;
	long iters = 20000, ms = 200, mib = 256, k = 1000;
	pid_t svc = 0;
	double v[BENCH_MAX_REPS];

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': side = optarg; break;
		case 'r': reps = (int)bench_parse_count("--reps", optarg, 1, BENCH_MAX_REPS); break;
		case 'i': iters = bench_parse_count("--iters", optarg, 1, 100000000); break;
		case 'm': ms = bench_parse_count("--ms", optarg, 1, 100000); break;
		case 'b': mib = bench_parse_count("--mib", optarg, 1, 65536); break;
		case 'k': k = bench_parse_count("--idle", optarg, 0, 4000); break;
		case 'w': use_epoll = strcmp(optarg, "threads") != 0; break;
		case 'p': svc = (pid_t)bench_parse_count("--service-pid", optarg, 1, 1 << 30); break;
		case 'n': name = optarg; break;
		default: usage();
		}
	}
	if (strcmp(side, "native") && strcmp(side, "remote"))
		usage();
	/* Two fds per connection, plus the service's and the library's own. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(2 * k + 256)) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)(2 * k + 256) ? rl.rlim_max : (rlim_t)(2 * k + 256);
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(side, "native"))
		svc = 0;        /* no service to look at */
	if (!strcmp(mode, "idle")) {
		run_idle(name ? name : "tcp_idle", reps, iters, k, use_epoll, svc);
		return 0;
	}
	for (int r = 0; r < reps; r++) {
		if (!strcmp(mode, "rtt"))
			v[r] = one_rtt(iters);
		else if (!strcmp(mode, "accept"))
			v[r] = one_accept((unsigned)ms);
		else if (!strcmp(mode, "bulk"))
			v[r] = one_bulk(mib);
		else
			usage();
	}
	const char *unit = !strcmp(mode, "rtt") ? "ns" : !strcmp(mode, "accept") ? "conn/s" : "MiB/s";
	char nm[64];
	snprintf(nm, sizeof(nm), "tcp_%s", mode);
	bench_result(name ? name : nm, unit, NULL, v, reps);
	return 0;
}
