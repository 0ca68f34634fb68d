/*
 * test_serviced_daemon.c - vos-serviced as a process: its arguments, and
 * cleanup when a client is killed (its shadow ends and releases its
 * files), when the daemon is killed (its shadows end, clients see -EIO, a
 * new daemon serves) and when it is stopped (socket and view removed).
 * The tests run in this order: the last one stops the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serviced_harness.h"

/* Bad arguments and a missing root: exit code 2; --help: 0. */
static void test_daemon_args(void **state)
{
	(void)state;
	assert_int_equal(daemon_status("--role storage --root /nonexistent-vos --rundir /tmp 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--bogus 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--role nosuch --root / --rundir /tmp 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--role network --rundir /nonexistent-vos 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--role storage --net-namespace --root / --rundir /tmp 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--help >/dev/null"), 0);
}

static void test_killed_client(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);

	pid_t client = fork();
	assert_true(client >= 0);
	if (client == 0) {
		close(pfd[0]);
		struct vos_client_config cfg = config();
		struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
		if (!c || r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 7) != 7 ||
		    vos_call0(c, VOS_OP_FLOCK, 7, LOCK_EX, 0) != 0)
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char ch;
	assert_int_equal(read(pfd[0], &ch, 1), 1);
	close(pfd[0]);
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);

	/* The file is locked by the shadow on behalf of the client. */
	char p[PATH_MAX];
	in_dir(p, rootdir, "file");
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);

	kill(client, SIGKILL);
	waitpid(client, NULL, 0);
	assert_true(gone(shadow));
	/* Its fds are gone with it: the lock is free. */
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	/* The daemon goes on serving. */
	struct vos_client *c = connect_new();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

static void test_daemon_death(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	struct vos_client_config cfg = config();
	cfg.dead_after_ms = 3000;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);
	/* A pending (forked) shadow, not a child of the daemon. */
	uint8_t token[VOS_TOKEN_LEN];
	assert_int_equal(r_fork(c, token), 0);
	pid_t forked[16];
	int nf = wait_children(shadow, forked, 16);
	assert_true(nf > 0);

	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
	assert_true(gone(shadow));
	for (int i = 0; i < nf; i++)
		assert_true(gone(forked[i]));
	reap_orphans();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	vos_client_close(c);

	/* A new daemon serves new clients. */
	start_daemon();
	c = connect_new();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

static void test_sigterm_cleans_up(void **state)
{
	(void)state;
	pid_t shadow;
	struct vos_client *c = connect_with_shadow(&shadow);
	stop_daemon();
	assert_true(gone(shadow));
	char sock[PATH_MAX];
	in_dir(sock, rundir, "storage.sock");
	assert_int_equal(access(sock, F_OK), -1);
	in_dir(sock, rundir, "storage.view");
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	vos_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_args),
		cmocka_unit_test(test_killed_client),
		cmocka_unit_test(test_daemon_death),
		cmocka_unit_test(test_sigterm_cleans_up),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
