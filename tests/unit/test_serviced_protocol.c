/*
 * test_serviced_protocol.c - vos-serviced refuses malformed requests
 * (unknown operations, lengths and offsets outside the slot, path offsets
 * without a NUL inside the slot, bad fds and flags) with an error, and
 * serves the same client normally afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "serviced_harness.h"

/* A client with "file" open as remote fd 5. */
static struct vos_client *client_with_fd5(void)
{
	struct vos_client *c = connect_new();
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDWR, 0, 5), 5);
	return c;
}

/* The client is served normally after what it sent. */
static void still_serving(struct vos_client *c)
{
	char buf[16];
	assert_int_equal(r_pread(c, 5, buf, 4, 0), 4);
	assert_int_equal(r_close(c, 5), 0);
	vos_client_close(c);
}

static void test_unknown_ops(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fd5();

	assert_int_equal(vos_call0(c, 999, 0, 0, 0), -ENOSYS);
	assert_int_equal(vos_call0(c, VOS_OP__COUNT, 0, 0, 0), -ENOSYS);
	still_serving(c);
}

/* lengths and offsets outside the slot; unknown flags and commands */
static void test_lengths_outside_slot(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fd5();
	size_t ss = vos_client_slot_size(c);

	assert_int_equal(vos_call0(c, VOS_OP_READ, 5, (int64_t)ss + 1, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_READ, 5, -1, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_PREAD, 5, (int64_t)ss * 2, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, 16, (int64_t)ss - 8), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, 1, -5), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, INT64_MAX, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_GETDENTS64, 5, (int64_t)ss + 4096, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_READLINKAT, VOS_FD_ROOT, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_EXEC, -1, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_EXEC, (int64_t)ss, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FORK_ABORT, (int64_t)ss - 4, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, F_SETLK, (int64_t)ss), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, F_SETFL, O_ASYNC), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, 12345, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FSTATAT, 5, VOS_NO_PATH, 0x10000), -EINVAL);
	still_serving(c);
}

/* path offsets: outside the slot, or no NUL inside it */
static void test_path_offsets(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fd5();
	size_t ss = vos_client_slot_size(c);
	struct vos_slot *s;

	assert_int_equal(vos_call0(c, VOS_OP_OPENAT, VOS_FD_ROOT, -5, O_RDONLY), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_OPENAT, VOS_FD_ROOT, (int64_t)ss, O_RDONLY), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, INT64_MIN, 0), -EINVAL);
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	memset(vos_slot_buf(s), 'a', ss);
	struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { VOS_FD_ROOT, (int64_t)ss - 10, O_RDONLY, 0, 6 } };
	assert_int_equal(vos_slot_call(s, &r), -EINVAL);
	r.arg[1] = 0;           /* longer than PATH_MAX */
	assert_int_equal(vos_slot_call(s, &r), -ENAMETOOLONG);
	vos_slot_release(s);
	still_serving(c);
}

/* bad dirfds / fds */
static void test_bad_fds(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fd5();

	assert_int_equal(call(c, VOS_OP_OPENAT, 77, 0, O_RDONLY, 0, 6, "file", 1, NULL, 0, NULL, 0), -EBADF);
	assert_int_equal(call(c, VOS_OP_OPENAT, -7, 0, O_RDONLY, 0, 6, "file", 1, NULL, 0, NULL, 0), -EBADF);
	assert_int_equal(call(c, VOS_OP_OPENAT, 5, 0, O_RDONLY, 0, 6, "x", 1, NULL, 0, NULL, 0), -ENOTDIR);
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 5, -1, 0), -EBADF);
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 4, 9, 0), -EBADF);
	assert_int_equal(vos_call0(c, VOS_OP_FCHOWN, 5, -2, 0), -EINVAL);
	still_serving(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_ops),
		cmocka_unit_test(test_lengths_outside_slot),
		cmocka_unit_test(test_path_offsets),
		cmocka_unit_test(test_bad_fds),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
