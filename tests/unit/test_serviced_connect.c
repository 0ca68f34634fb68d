/*
 * test_serviced_connect.c - connections to vos-serviced: ones that never
 * send their hello do not hold up clients and are dropped with a reason;
 * a user's half-open connections are limited without hurting other users;
 * a burst of clients connecting at once is served.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "serviced_harness.h"

static int raw_connect(const char *rd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	xsnprintf(sa.sun_path, sizeof sa.sun_path, "%s/storage.sock", rd);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The reply the daemon sends on a connection it drops (it gives up on a
 * silent one after 5 s; we wait up to 30 s, the machine may be loaded). */
static int32_t refusal(int fd)
{
	struct timeval tv = { 30, 0 };
	struct vos_hello_reply rep;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n = recv(fd, &rep, sizeof rep, 0);
	return n == (ssize_t)sizeof rep ? rep.status : 1;
}

static void test_silent_connection(void **state)
{
	(void)state;
	int silent[3];
	for (int i = 0; i < 3; i++) {
		silent[i] = raw_connect(rundir);
		assert_true(silent[i] >= 0);
	}
	/* Three connections that never speak do not hold up a client: it
	 * connects and gets answers while they are still open. */
	struct vos_client *c = connect_new();
	char buf[16];
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 5), 5);
	assert_int_equal(r_pread(c, 5, buf, 4, 0), 4);
	/* and a forked child's claim is handed over too */
	uint8_t token[VOS_TOKEN_LEN];
	assert_int_equal(r_fork(c, token), 0);
	struct vos_client *c2 = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c2);
	assert_int_equal(r_pread(c2, 5, buf, 4, 0), 4);
	vos_client_close(c2);
	vos_client_close(c);
	/* In the end the daemon gives up on them, with a reason. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(refusal(silent[i]), -ETIMEDOUT);
		close(silent[i]);
	}
}

/* As nobody: 32 silent connections are the most it may have waiting. */
static int nobody_half_open(void)
{
	int fds[33], ret = 0;
	for (int i = 0; i < 33; i++)
		if ((fds[i] = raw_connect(rundir)) < 0)
			return 1;
	if (refusal(fds[32]) != -EAGAIN)
		ret = 2;
	/* the first 32 are still waiting for their hello */
	for (int i = 0; i < 32 && !ret; i++) {
		struct pollfd pf = { .fd = fds[i], .events = POLLIN };
		if (poll(&pf, 1, 0) != 0)
			ret = 3;
	}
	/* Signal the parent, which checks another user is served meanwhile. */
	if (write(3, "x", 1) != 1)
		ret = 4;
	char ch;
	if (read(4, &ch, 1) != 1)
		ret = 5;
	for (int i = 0; i < 33; i++)
		close(fds[i]);
	return ret;
}

/* As nobody: 48 processes connect at once (more than the half-open quota);
 * all are served, since they send their hello right away. */
static int nobody_burst(void)
{
	pid_t kids[48];
	int go[2], ret = 0;
	if (pipe(go) < 0)
		return 1;
	for (int i = 0; i < 48; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			/* connect together: wait until the parent closes the pipe */
			char ch;
			close(go[1]);
			if (read(go[0], &ch, 1) != 0)
				_exit(3);
			struct vos_client_config cfg = config();
			struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
			int ok = c && vos_call0(c, VOS_OP_NOP, 0, 0, 0) == 0;
			if (c)
				vos_client_close(c);
			_exit(ok ? 0 : 1);
		}
		if (kids[i] < 0)
			ret = 1;
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 48; i++) {
		int st;
		if (kids[i] > 0 && (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) ||
				    WEXITSTATUS(st) != 0))
			ret = 2;
	}
	return ret;
}

static void test_connection_burst(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(as_nobody(nobody_burst), 0);
}

static void test_half_open_quota(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(up[1], 3);
		dup2(down[0], 4);
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		_exit(nobody_half_open());
	}
	close(up[1]);
	close(down[0]);
	char ch;
	int got = (int)read(up[0], &ch, 1);
	int64_t served = -1;
	if (got == 1) {
		/* while nobody's quota is full, root is served */
		struct vos_client *c = connect_kind(VOS_HELLO_NEW, NULL);
		if (c) {
			served = vos_call0(c, VOS_OP_NOP, 0, 0, 0);
			vos_client_close(c);
		}
	}
	/* Let the child go before asserting anything. */
	assert_int_equal(write(down[1], "x", 1), 1);
	close(up[0]);
	close(down[1]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(got, 1);
	assert_int_equal(served, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_connection),
		cmocka_unit_test(test_half_open_quota),
		cmocka_unit_test(test_connection_burst),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
