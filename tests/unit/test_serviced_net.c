/*
 * test_serviced_net.c - the network role of vos-serviced (ops_net.c)
 * driven through the client engine: every socket operation once as a
 * client uses it (a TCP connection over 127.0.0.1 made, used and closed
 * through the service, and the fd operations files and sockets share);
 * a hostile client's requests (lengths and offsets outside the slot or
 * the kernel's limits, bad fds and flags, control messages that would pass
 * the shadow's fds, options that carry pointers, families that stay local)
 * each refused with an error, the client served normally afterwards;
 * blocking calls cancelled (VOS_OP_CANCEL: -EINTR) and more of them
 * waiting than there are workers; a client that hangs up releases its
 * sockets at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "serviced_harness.h"

#define SLOT (80 * 1024)        /* the network channel's slots (libvirtuos/interpose/net.c) */

static pid_t netd;

static struct vos_client *net_client(void)
{
	struct vos_client_config cfg = config_named(rundir, "network");

	cfg.kind = VOS_SVC_NETWORK;
	cfg.slot_size = SLOT;
	return vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
}

static int setup(void **state)
{
	(void)state;
	scratch_make("/tmp/vos-net-XXXXXX");
	netd = fork();
	assert_true(netd >= 0);
	if (netd == 0) {
		const char *t = getenv("TSAN_OPTIONS");
		char opts[512];

		snprintf(opts, sizeof opts, "%s%sdie_after_fork=0", t ? t : "", t ? ":" : "");
		setenv("TSAN_OPTIONS", opts, 1);
		execl(daemon_bin, daemon_bin, "--role", "network", "--rundir", rundir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		struct vos_client *c = net_client();

		if (c) {
			vos_client_close(c);
			return 0;
		}
		sleep_ms(10);
	}
	fail_msg("the network daemon did not answer");
	return -1;
}

static int teardown(void **state)
{
	stop_pid(netd);
	return serviced_teardown(state);
}

/* ---- helpers ---------------------------------------------------------------- */

static struct sockaddr_in lo(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return sin;
}

/* op with len bytes of data at slot offset off, other arguments as given. */
static int64_t rq(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2, int64_t a3,
		  int64_t a4, int64_t a5, const void *data, size_t len, size_t off)
{
	struct vos_req r = { .op = op, .arg = { a0, a1, a2, a3, a4, a5 } };

	return call_with(c, &r, data, len, off);
}

/* One call, its output (outlen bytes from offset 0) copied to out. */
static int64_t rq_out(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
		      int64_t a3, int64_t a4, void *out, size_t outlen)
{
	return call(c, op, a0, a1, a2, a3, a4, NULL, 0, NULL, 0, out, outlen);
}

/* ---- the operations ----------------------------------------------------------- */

static void test_every_op(void **state)
{
	(void)state;
	struct vos_client *c = net_client();
	struct sockaddr_in sin = lo(0), got;
	uint8_t buf[256];
	uint32_t hdr[4];
	int one = 1, v;
	struct stat st;

	assert_non_null(c);
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_STREAM, 0, 5, 0, 0, NULL, 0, 0), 5);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, SOL_SOCKET, SO_REUSEADDR, sizeof one, 0, 0,
			    &one, sizeof one, 0), 0);
	assert_int_equal(rq(c, VOS_OP_BIND, 5, sizeof sin, 0, 0, 0, 0, &sin, sizeof sin, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_LISTEN, 5, 4, 0), 0);
	assert_int_equal(rq_out(c, VOS_OP_GETSOCKNAME, 5, 0, 0, 0, 0, &got, sizeof got), sizeof got);
	assert_true(got.sin_port != 0);
	assert_int_equal(rq_out(c, VOS_OP_GETSOCKOPT, 5, SOL_SOCKET, SO_REUSEADDR, sizeof v, 0,
				&v, sizeof v), sizeof v);
	assert_int_equal(v, 1);

	/* a connection through the service: 6 connects, 7 is accepted */
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 6, 0, 0,
			    NULL, 0, 0), 6);
	assert_int_equal(rq(c, VOS_OP_CONNECT, 6, sizeof got, 0, 0, 0, 0, &got, sizeof got, 0), 0);
	assert_int_equal(rq_out(c, VOS_OP_ACCEPT4, 5, SOCK_NONBLOCK, 7, sizeof sin, 0,
				buf, 8 + sizeof sin), 7);
	memcpy(hdr, buf, 8);
	assert_int_equal(hdr[0], sizeof sin);
	assert_int_equal(rq_out(c, VOS_OP_GETSOCKNAME, 7, 1, 0, 0, 0, &got, sizeof got), sizeof got);
	assert_int_equal(memcmp(&got, buf + 8, sizeof got), 0);   /* the peer accept named */

	/* SENDMSG 6 -> RECVMSG 7 */
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 6, 0, 5, 0, 0, 5, "hello", 5, 0), 5);
	for (int i = 0; i < 500 && vos_call0(c, VOS_OP_SOCKIOCTL, 7, FIONREAD, 0) < 5; i++)
		sleep_ms(2);
	assert_int_equal(vos_call0(c, VOS_OP_SOCKIOCTL, 7, FIONREAD, 0), 5);
	assert_int_equal(rq_out(c, VOS_OP_RECVMSG, 7, 0, 64, 0, 0, buf, 32), 5);
	memcpy(hdr, buf, sizeof hdr);
	assert_int_equal(memcmp(buf + 16, "hello", 5), 0);
	/* the fd ops sockets share with files */
	assert_int_equal(rq(c, VOS_OP_WRITE, 7, 3, 0, 0, 0, 0, "abc", 3, 0), 3);
	for (int i = 0; i < 500 && vos_call0(c, VOS_OP_SOCKIOCTL, 6, FIONREAD, 0) < 3; i++)
		sleep_ms(2);
	assert_int_equal(rq_out(c, VOS_OP_READ, 6, 16, 0, 0, 0, buf, 3), 3);
	assert_int_equal(memcmp(buf, "abc", 3), 0);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 7, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(vos_call0(c, VOS_OP_SOCKIOCTL, 7, FIONBIO, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 7, F_GETFL, 0) & O_NONBLOCK, 0);
	assert_int_equal(rq_out(c, VOS_OP_FSTATAT, 7, VOS_NO_PATH, AT_EMPTY_PATH, 0, 0,
				&st, sizeof st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 7, 0, SEEK_SET), -ESPIPE);
	assert_int_equal(vos_call0(c, VOS_OP_SOCKIOCTL, 7, SIOCOUTQ, 0), 0);
	{
		struct ifreq ifr = { .ifr_name = "lo" };
		assert_int_equal(rq(c, VOS_OP_SOCKIOCTL, 7, SIOCGIFINDEX, 0, 0, 0, 0,
				    &ifr, sizeof ifr, 0), 0);
		assert_true(vos_call0(c, VOS_OP_SOCKIOCTL, 7, SIOCGIFCONF, 4096) > 0);
	}
	assert_int_equal(vos_call0(c, VOS_OP_SHUTDOWN, 6, SHUT_WR, 0), 0);
	assert_int_equal(rq_out(c, VOS_OP_RECVMSG, 7, 0, 64, 0, 0, buf, 16), 0);   /* EOF */
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 7, 8, 0), 8);
	for (int fd = 5; fd <= 8; fd++)
		assert_int_equal(vos_call0(c, VOS_OP_CLOSE, fd, 0, 0), 0);
	/* the storage role's path ops are not served here */
	assert_int_equal(call(c, VOS_OP_OPENAT, VOS_FD_ROOT, 0, O_RDONLY, 0, 9, "x", 1, NULL, 0,
			      NULL, 0), -ENOSYS);
	vos_client_close(c);
}

/* ---- a hostile client ------------------------------------------------------------ */

static void test_hostile(void **state)
{
	(void)state;
	struct vos_client *c = net_client();
	size_t ss = vos_client_slot_size(c);
	struct sockaddr_in sin = lo(0);
	uint8_t big[512];
	int v = 1;

	assert_non_null(c);
	memset(big, 0, sizeof big);
	/* families that stay local, numbers outside the table */
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_UNIX, SOCK_STREAM, 0, 5, 0, 0, NULL, 0, 0), -EAFNOSUPPORT);
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_NETLINK, SOCK_RAW, 0, 5, 0, 0, NULL, 0, 0), -EAFNOSUPPORT);
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_PACKET, SOCK_RAW, 0, 5, 0, 0, NULL, 0, 0), -EAFNOSUPPORT);
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_STREAM, 0, -1, 0, 0, NULL, 0, 0), -EBADF);
	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_STREAM, 0, INT64_MAX, 0, 0, NULL, 0, 0), -EBADF);
	assert_int_equal(rq(c, VOS_OP_SOCKET, (int64_t)1 << 40, SOCK_STREAM, 0, 5, 0, 0, NULL, 0, 0), -EINVAL);
	/* every op on an fd never opened */
	for (uint16_t op = VOS_OP_BIND; op <= VOS_OP_SOCKIOCTL; op++)
		assert_int_equal(rq(c, op, 900, 0, 0, 0, 0, 0, NULL, 0, 0) == -EBADF ||
				 rq(c, op, 900, 0, 0, 0, 0, 0, NULL, 0, 0) == -EINVAL, 1);

	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_DGRAM, 0, 5, 0, 0, NULL, 0, 0), 5);
	/* addresses: longer than any, negative, outside the slot */
	assert_int_equal(rq(c, VOS_OP_BIND, 5, 129, 0, 0, 0, 0, big, 129, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_BIND, 5, -1, 0, 0, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_BIND, 5, sizeof sin, (int64_t)ss - 4, 0, 0, 0, NULL, 0, 0), -EFAULT);
	assert_int_equal(rq(c, VOS_OP_CONNECT, 5, sizeof sin, -8, 0, 0, 0, NULL, 0, 0), -EFAULT);
	assert_int_equal(rq(c, VOS_OP_CONNECT, 5, sizeof sin, INT64_MAX, 0, 0, 0, NULL, 0, 0), -EFAULT);
	assert_int_equal(rq(c, VOS_OP_BIND, 5, sizeof sin, 0, 0, 0, 0, &sin, sizeof sin, 0), 0);
	/* messages: lengths past the slot, control too long, total < len */
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, (int64_t)ss + 1, 0, 0, (int64_t)ss + 1, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, -1, 0, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 10, 0, 0, 5, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 8, 200, 0, 8, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 8, 0, 5000, 8, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, (int64_t)ss - 8, 16, 64, (int64_t)ss - 8, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 8, 0, 0, INT64_MAX, NULL, 0, 0), -EMSGSIZE);
	{
		/* control messages: a cmsg_len past the buffer, one too short, SCM_RIGHTS */
		struct cmsghdr h = { .cmsg_len = 64, .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS };
		uint8_t ctl[CMSG_SPACE(sizeof(int))];
		int fd0 = 0;

		sin = lo(9);
		memcpy(big, &sin, sizeof sin);
		memcpy(big + 16, &h, sizeof h);
		assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 0, sizeof sin, sizeof h, 0, big, 16 + sizeof h, 0), -EINVAL);
		h.cmsg_len = 2;
		memcpy(big + 16, &h, sizeof h);
		assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 0, sizeof sin, sizeof h, 0, big, 16 + sizeof h, 0), -EINVAL);
		memset(ctl, 0, sizeof ctl);
		h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(ctl, &h, sizeof h);
		memcpy(ctl + CMSG_LEN(0), &fd0, sizeof fd0);
		memcpy(big + 16, ctl, sizeof ctl);
		assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 0, sizeof sin, sizeof ctl, 0, big, 16 + sizeof ctl, 0), -EINVAL);
		h.cmsg_type = SCM_CREDENTIALS;
		memcpy(big + 16, &h, sizeof h);
		assert_int_equal(rq(c, VOS_OP_SENDMSG, 5, 0, 0, sizeof sin, sizeof ctl, 0, big, 16 + sizeof ctl, 0), -EINVAL);
	}
	assert_int_equal(rq(c, VOS_OP_RECVMSG, 5, 0, (int64_t)ss, 0, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_RECVMSG, 5, 0, 16, 129, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_RECVMSG, 5, 0, 16, 0, 4097, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_RECVMSG, 5, 0, -16, 0, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_RECVMSG, 5, (int64_t)1 << 33, 16, 0, 0, 0, NULL, 0, 0), -EINVAL);
	/* options: too long, a pointer inside, levels and names out of range */
	assert_int_equal(rq(c, VOS_OP_GETSOCKOPT, 5, SOL_SOCKET, SO_TYPE, 300, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_GETSOCKOPT, 5, SOL_SOCKET, SO_TYPE, -1, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, SOL_SOCKET, SO_REUSEADDR, 300, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, SOL_SOCKET, SO_REUSEADDR, 4, (int64_t)ss, 0, NULL, 0, 0), -EFAULT);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, SOL_SOCKET, SO_ATTACH_FILTER, 16, 0, 0, big, 16, 0), -ENOPROTOOPT);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, SOL_SOCKET, SO_ATTACH_BPF, 4, 0, 0, &v, 4, 0), -ENOPROTOOPT);
	assert_int_equal(rq(c, VOS_OP_SETSOCKOPT, 5, (int64_t)1 << 40, 1, 4, 0, 0, &v, 4, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_GETSOCKNAME, 5, 2, 0, 0, 0, 0, NULL, 0, 0), -EINVAL);
	/* accept: flags, numbers, address room */
	assert_int_equal(rq(c, VOS_OP_ACCEPT4, 5, O_APPEND, 6, 16, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_ACCEPT4, 5, 0, -3, 16, 0, 0, NULL, 0, 0), -EBADF);
	assert_int_equal(rq(c, VOS_OP_ACCEPT4, 5, 0, 6, 1000, 0, 0, NULL, 0, 0), -EINVAL);
	/* ioctls */
	assert_int_equal(rq(c, VOS_OP_SOCKIOCTL, 5, TIOCSTI, 0, 0, 0, 0, NULL, 0, 0), -ENOTTY);
	assert_int_equal(rq(c, VOS_OP_SOCKIOCTL, 5, SIOCGIFCONF, (int64_t)ss + 1, 0, 0, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(rq(c, VOS_OP_SOCKIOCTL, 5, SIOCGIFCONF, -1, 0, 0, 0, NULL, 0, 0), -EINVAL);
	memset(big, 'x', sizeof big);   /* an interface name without a NUL */
	assert_true(rq(c, VOS_OP_SOCKIOCTL, 5, SIOCGIFINDEX, 0, 0, 0, 0, big, sizeof big, 0) < 0);
	/* a path op of the storage role that the network role shares: no root */
	assert_true(call(c, VOS_OP_FSTATAT, VOS_FD_ROOT, 0, 0, 0, 0, "etc", 1, NULL, 0, NULL, 0) < 0);

	/* still serving */
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(rq_out(c, VOS_OP_GETSOCKNAME, 5, 0, 0, 0, 0, &sin, sizeof sin), sizeof sin);
	assert_int_equal(vos_call0(c, VOS_OP_CLOSE, 5, 0, 0), 0);
	vos_client_close(c);
}

/* ---- blocking ------------------------------------------------------------------- */

/* A listener at fd 5 of c; its port. */
static int listener5(struct vos_client *c)
{
	struct sockaddr_in sin = lo(0);

	assert_int_equal(rq(c, VOS_OP_SOCKET, AF_INET, SOCK_STREAM, 0, 5, 0, 0, NULL, 0, 0), 5);
	assert_int_equal(rq(c, VOS_OP_BIND, 5, sizeof sin, 0, 0, 0, 0, &sin, sizeof sin, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_LISTEN, 5, 4, 0), 0);
	assert_int_equal(rq_out(c, VOS_OP_GETSOCKNAME, 5, 0, 0, 0, 0, &sin, sizeof sin), sizeof sin);
	return ntohs(sin.sin_port);
}

/* More blocking accepts than workers (2 at start): each waits in a worker
 * of its own, the client's other calls are still answered, and a cancel
 * ends each with -EINTR. */
static void test_blocking_cancel(void **state)
{
	(void)state;
	struct vos_client *c = net_client();
	struct vos_slot *s[4];

	assert_non_null(c);
	listener5(c);
	for (int i = 0; i < 4; i++) {
		struct vos_req r = { .op = VOS_OP_ACCEPT4, .arg = { 5, 0, 10 + i, 0 } };

		assert_int_equal(vos_slot_acquire(c, &s[i]), 0);
		assert_int_equal(vos_slot_submit(s[i], &r), 0);
	}
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	for (int i = 0; i < 4; i++) {
		int64_t ans = vos_slot_cancel(s[i]);

		assert_true(ans == 0 || ans == 1);
		assert_int_equal(vos_slot_wait(s[i]), -EINTR);
		vos_slot_release(s[i]);
	}
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

/* A client that hangs up: its shadow ends and its listener is gone at once
 * (a connect is refused within a bounded wait). */
static void test_client_gone(void **state)
{
	(void)state;
	struct vos_client *c = net_client();
	struct sockaddr_in sin;
	int port, refused = 0;

	assert_non_null(c);
	port = listener5(c);
	sin = lo(port);
	vos_client_close(c);
	for (int i = 0; i < 1000 && !refused; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		refused = connect(s, (struct sockaddr *)&sin, sizeof sin) < 0 && errno == ECONNREFUSED;
		close(s);
		if (!refused)
			sleep_ms(5);
	}
	assert_true(refused);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_blocking_cancel),
		cmocka_unit_test(test_client_gone),
	};

	if (serviced_init(argv[0]) < 0)
		return 1;
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
