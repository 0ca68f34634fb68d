/*
 * test_serviced_fork.c - shadows for forked and spawned clients: FORK
 * registers a pending shadow claimed once with its token, sharing the
 * parent's open file descriptions but not its table; FORK_ABORT and the
 * pending timeout end an unclaimed one; FORK_LIVE gives a spawned client
 * a copy of a live shadow.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "serviced_harness.h"

/* A forked child's shadow, claimed (fails the test otherwise). */
static struct vos_client *fork_and_claim(struct vos_client *parent)
{
	uint8_t token[VOS_TOKEN_LEN];
	assert_int_equal(r_fork(parent, token), 0);
	struct vos_client *c = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c);
	return c;
}

/* Connecting with kind and token is refused with ENOENT. */
static void expect_no_such_token(int kind, const uint8_t *token)
{
	assert_null(connect_kind(kind, token));
	assert_int_equal(errno, ENOENT);
}

/* a token is claimed once; unknown tokens are refused */
static void test_claim_once(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	uint8_t token[VOS_TOKEN_LEN], bogus[VOS_TOKEN_LEN] = { 1, 2, 3 };

	assert_int_equal(r_fork(c1, token), 0);
	struct vos_client *c2 = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c2);
	expect_no_such_token(VOS_HELLO_CLAIM, token);
	expect_no_such_token(VOS_HELLO_CLAIM, bogus);
	assert_memory_not_equal(vos_client_token(c1), vos_client_token(c2), VOS_TOKEN_LEN);
	vos_client_close(c2);
	vos_client_close(c1);
}

/* fork semantics: same open file descriptions (shared offset), own tables */
static void test_fork_shares_files_not_table(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];

	make_remote_file(c1, "forkfile", 40, "0123456789");
	assert_int_equal(vos_call0(c1, VOS_OP_LSEEK, 40, 0, SEEK_SET), 0);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "file", O_RDONLY, 0, 41), 41);
	struct vos_client *c2 = fork_and_claim(c1);

	assert_int_equal(r_read(c1, 40, buf, 3), 3);
	assert_int_equal(r_read(c2, 40, buf, 3), 3);
	assert_string_equal(buf, "345");
	assert_int_equal(r_close(c1, 41), 0);
	assert_int_equal(r_pread(c2, 41, buf, 4, 0), 4);
	assert_int_equal(r_open(c2, VOS_FD_ROOT, "secret", O_RDONLY, 0, 42), 42);
	assert_int_equal(r_read(c1, 42, buf, 4), -EBADF);
	vos_client_close(c2);
	assert_int_equal(r_close(c1, 40), 0);
	vos_client_close(c1);
}

/* a forked shadow forks again (its token is registered anew) */
static void test_forked_shadow_forks(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];

	struct vos_client *c2 = fork_and_claim(c1);
	assert_int_equal(r_open(c2, VOS_FD_ROOT, "secret", O_RDONLY, 0, 42), 42);
	struct vos_client *c3 = fork_and_claim(c2);
	assert_int_equal(r_pread(c3, 42, buf, 6, 0), 6);
	assert_string_equal(buf, "inside");
	vos_client_close(c3);
	vos_client_close(c2);
	vos_client_close(c1);
}

/* FORK_ABORT drops the pending shadow */
static void test_fork_abort(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	uint8_t token[VOS_TOKEN_LEN];

	assert_int_equal(r_fork(c1, token), 0);
	assert_int_equal(r_fork_abort(c1, token), 0);
	expect_no_such_token(VOS_HELLO_CLAIM, token);
	vos_client_close(c1);
}

/* A spawned client's shadow (FORK_LIVE) has the fds of the live one. */
static void test_fork_live(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];

	assert_int_equal(r_open(c1, VOS_FD_ROOT, "secret", O_RDONLY, 0, 61), 61);
	struct vos_client *c2 = connect_kind(VOS_HELLO_FORK_LIVE, vos_client_token(c1));
	assert_non_null(c2);
	assert_int_equal(r_pread(c2, 61, buf, 6, 0), 6);
	assert_string_equal(buf, "inside");

	/* a spawned shadow can be spawned from in turn */
	struct vos_client *c3 = connect_kind(VOS_HELLO_FORK_LIVE, vos_client_token(c2));
	assert_non_null(c3);
	assert_int_equal(r_pread(c3, 61, buf, 6, 0), 6);
	uint8_t bogus[VOS_TOKEN_LEN] = { 9 };
	expect_no_such_token(VOS_HELLO_FORK_LIVE, bogus);
	vos_client_close(c3);
	vos_client_close(c2);
	vos_client_close(c1);
}

/* A new client that forked: its pending shadow (the one child of its
 * shadow) in *pending, the token in token. */
static struct vos_client *client_that_forked(uint8_t token[VOS_TOKEN_LEN], pid_t *pending)
{
	pid_t shadow, kids[4];
	struct vos_client *c = connect_with_shadow(&shadow);
	assert_int_equal(r_fork(c, token), 0);
	assert_int_equal(wait_children(shadow, kids, 4), 1);
	*pending = kids[0];
	return c;
}

/* FORK_ABORT: the pending shadow ends at once. */
static void test_fork_abort_ends_pending(void **state)
{
	(void)state;
	uint8_t token[VOS_TOKEN_LEN];
	pid_t pending;
	struct vos_client *c = client_that_forked(token, &pending);

	assert_int_equal(r_fork_abort(c, token), 0);
	assert_true(gone(pending));
	vos_client_close(c);
}

/* Never claimed: it ends by itself (--pending-timeout 3000), and its token
 * is no longer accepted. */
static void test_pending_timeout(void **state)
{
	(void)state;
	uint8_t token[VOS_TOKEN_LEN];
	pid_t pending;
	struct vos_client *c = client_that_forked(token, &pending);

	assert_true(gone(pending));
	expect_no_such_token(VOS_HELLO_CLAIM, token);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_once),
		cmocka_unit_test(test_fork_shares_files_not_table),
		cmocka_unit_test(test_forked_shadow_forks),
		cmocka_unit_test(test_fork_abort),
		cmocka_unit_test(test_fork_live),
		cmocka_unit_test(test_fork_abort_ends_pending),
		cmocka_unit_test(test_pending_timeout),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
