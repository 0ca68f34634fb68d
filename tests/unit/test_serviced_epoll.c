/*
 * test_serviced_epoll.c - VOS_OP_EPOLL_CTL and VOS_OP_EPOLL_WAIT against
 * the real daemon: an instance made by the first ADD, edge triggering
 * (one event per edge), the data coming back unchanged, readiness without
 * consuming (maxevents 0), EPOLLONESHOT, a registered fd leaving the
 * instance when its last number is closed, the instance shared by a forked
 * shadow, a wait that VOS_OP_CANCEL ends; and what a hostile client sends:
 * bad ops, flags and counts, numbers that are not its own or out of range,
 * an instance number that names a file (never replaced), the events slot
 * rewritten during a wait.  Every case ends in a clean answer and the
 * client is served on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serviced_harness.h"

#define FD_FILE 5
#define FD_RD   6       /* the FIFO's reader */
#define FD_WR   7       /* its writer */
#define EP      600     /* the instance's number (the client's marker) */

/* A client with "file" as fd 5 and a FIFO as fds 6 (reader) and 7
 * (writer), both non-blocking. */
static struct vos_client *client_with_fds(void)
{
	struct vos_client *c = connect_new();
	char p[PATH_MAX];

	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDWR, 0, FD_FILE), FD_FILE);
	in_dir(p, rootdir, "pipe");
	unlink(p);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "pipe", O_RDONLY | O_NONBLOCK, 0, FD_RD), FD_RD);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "pipe", O_WRONLY | O_NONBLOCK, 0, FD_WR), FD_WR);
	return c;
}

static void done_with(struct vos_client *c)
{
	char buf[16];

	assert_int_equal(r_pread(c, FD_FILE, buf, 4, 0), 4);
	r_close(c, FD_RD);
	r_close(c, FD_WR);
	r_close(c, EP);
	assert_int_equal(r_close(c, FD_FILE), 0);
	vos_client_close(c);
}

static int64_t ep_ctl(struct vos_client *c, int64_t ep, int64_t op, int64_t fd, int64_t events,
		      int64_t data, int64_t create)
{
	struct vos_req r = { .op = VOS_OP_EPOLL_CTL, .arg = { ep, op, fd, events, data, create } };

	return call_with(c, &r, NULL, 0, 0);
}

/* EPOLL_WAIT; up to 4 events into ev. */
static int64_t ep_wait(struct vos_client *c, int64_t ep, int64_t max, int64_t timeout,
		       struct epoll_event *ev)
{
	struct vos_slot *s;
	struct vos_req r = { .op = VOS_OP_EPOLL_WAIT, .arg = { ep, max, timeout } };
	int64_t res;

	if (vos_slot_acquire(c, &s) != 0)
		return -999;
	res = vos_slot_call(s, &r);
	if (res > 0 && res <= 4 && ev)
		memcpy(ev, vos_slot_buf(s), (size_t)res * sizeof(*ev));
	vos_slot_release(s);
	return res;
}

static void test_edge(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct epoll_event ev[4];

	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN | EPOLLET, 0x1234567890abcdefll, 1), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 0);
	assert_int_equal(r_write(c, FD_WR, "x"), 1);
	assert_int_equal(ep_wait(c, EP, 4, -1, ev), 1);
	assert_int_equal(ev[0].events, EPOLLIN);
	assert_true(ev[0].data.u64 == 0x1234567890abcdefull);
	/* No new edge: nothing, though the byte is unread. */
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 0);
	/* A new edge; maxevents 0 only says so and consumes nothing. */
	assert_int_equal(r_write(c, FD_WR, "y"), 1);
	assert_int_equal(ep_wait(c, EP, 0, -1, NULL), 1);
	assert_int_equal(ep_wait(c, EP, 0, 0, NULL), 1);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 1);
	assert_int_equal(ep_wait(c, EP, 0, 0, NULL), 0);
	/* One-shot: once, then off until MOD. */
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_MOD, FD_RD, EPOLLIN | EPOLLONESHOT, 9, 0), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 1);
	assert_int_equal(ev[0].data.u64, 9);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 0);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_MOD, FD_RD, EPOLLIN, 10, 0), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 1);
	/* The writer in the instance too: two events. */
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_WR, EPOLLOUT, 11, 0), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 2);
	assert_int_equal(ep_wait(c, EP, 1, 0, ev), 1);
	done_with(c);
}

/* A registered fd leaves the instance when its last number is closed. */
static void test_close_leaves(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct epoll_event ev[4];
	struct vos_req dup = { .op = VOS_OP_DUP, .arg = { FD_RD, 20, 0 } };

	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 1, 1), 0);
	assert_int_equal(r_write(c, FD_WR, "x"), 1);
	assert_int_equal(call_with(c, &dup, NULL, 0, 0), 20);
	assert_int_equal(r_close(c, FD_RD), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 1);         /* 20 holds the file */
	assert_int_equal(r_close(c, 20), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 0);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_DEL, FD_WR, 0, 0, 0), -ENOENT);
	done_with(c);
}

/* A forked shadow holds the same instance: the child's wait takes the
 * edge, and the parent's then finds nothing. */
static void test_fork_shared(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds(), *child;
	struct epoll_event ev[4];
	uint8_t token[VOS_TOKEN_LEN];

	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN | EPOLLET, 3, 1), 0);
	assert_int_equal(r_fork(c, token), 0);
	child = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(child);
	assert_int_equal(r_write(c, FD_WR, "x"), 1);
	assert_int_equal(ep_wait(child, EP, 4, -1, ev), 1);
	assert_int_equal(ev[0].data.u64, 3);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 0);
	/* What the child adds, the parent's wait reports. */
	assert_int_equal(ep_ctl(child, EP, EPOLL_CTL_ADD, FD_WR, EPOLLOUT, 4, 0), 0);
	assert_int_equal(ep_wait(c, EP, 4, 0, ev), 1);
	assert_int_equal(ev[0].data.u64, 4);
	vos_client_close(child);
	done_with(c);
}

/* A wait without timeout holds one worker; the client's other calls are
 * served; a slot rewritten meanwhile changes nothing; CANCEL ends it. */
static void test_cancel(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct vos_slot *s;
	struct vos_req r = { .op = VOS_OP_EPOLL_WAIT, .arg = { EP, 4, -1 } };

	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 1, 1), 0);
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	assert_int_equal(vos_slot_submit(s, &r), 0);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	memset(vos_slot_buf(s), 0xff, 64);                      /* hostile, harmless */
	assert_false(vos_slot_poll(s));
	int k = vos_slot_cancel(s);
	assert_true(k == 0 || k == 1);
	assert_int_equal(vos_slot_wait(s), -EINTR);
	vos_slot_release(s);
	done_with(c);
}

/* Hostile arguments: clean errors, nothing of the client's replaced. */
static void test_hostile(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	int64_t max = (int64_t)(vos_client_slot_size(c) / sizeof(struct epoll_event));
	struct epoll_event ev[4];

	/* ctl: no instance yet, bad ops, flags, numbers */
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_MOD, FD_RD, EPOLLIN, 0, 0), -EBADF);
	assert_int_equal(ep_ctl(c, EP, 0, FD_RD, EPOLLIN, 0, 1), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, 99, FD_RD, EPOLLIN, 0, 1), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, (int64_t)UINT32_MAX + 1, 0, 1), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, -1, 0, 1), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 2), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_MOD, FD_RD, EPOLLIN, 0, 1), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, 77, EPOLLIN, 0, 1), -EBADF);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, -1, EPOLLIN, 0, 1), -EBADF);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, 1 << 21, EPOLLIN, 0, 1), -EBADF);
	assert_int_equal(ep_ctl(c, -1, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), -EBADF);
	assert_int_equal(ep_ctl(c, INT64_MAX, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), -EBADF);
	assert_int_equal(ep_ctl(c, FD_RD, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), -EINVAL);
	/* An instance number that is a file: not an epoll fd, and kept. */
	assert_int_equal(ep_ctl(c, FD_FILE, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), -EINVAL);
	assert_int_equal(ep_wait(c, FD_FILE, 4, 0, ev), -EINVAL);
	assert_int_equal(r_write(c, FD_FILE, "file"), 4);
	/* As epoll_ctl(2): a regular file, twice, unknown */
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_FILE, EPOLLIN, 0, 1), -EPERM);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), 0);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, FD_RD, EPOLLIN, 0, 1), -EEXIST);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_DEL, FD_WR, 0, 0, 0), -ENOENT);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_ADD, EP, EPOLLIN, 0, 0), -EINVAL);
	assert_int_equal(ep_ctl(c, EP, EPOLL_CTL_MOD, FD_RD, EPOLLIN | EPOLLEXCLUSIVE, 0, 0), -EINVAL);
	/* wait: counts outside the slot, bad timeouts, numbers */
	assert_int_equal(ep_wait(c, EP, -1, 0, ev), -EINVAL);
	assert_int_equal(ep_wait(c, EP, max + 1, 0, ev), -EINVAL);
	assert_int_equal(ep_wait(c, EP, INT64_MAX, 0, ev), -EINVAL);
	assert_int_equal(ep_wait(c, EP, 4, -2, ev), -EINVAL);
	assert_int_equal(ep_wait(c, EP, 4, (int64_t)INT_MAX + 1, ev), -EINVAL);
	assert_int_equal(ep_wait(c, 77, 4, 0, ev), -EBADF);
	assert_int_equal(ep_wait(c, -5, 4, 0, ev), -EBADF);
	assert_int_equal(ep_wait(c, 1 << 21, 4, 0, ev), -EBADF);
	/* A full slot of room answers as usual. */
	assert_int_equal(r_write(c, FD_WR, "x"), 1);
	assert_int_equal(ep_wait(c, EP, max, 0, ev), 1);
	done_with(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge),
		cmocka_unit_test(test_close_leaves),
		cmocka_unit_test(test_fork_shared),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_hostile),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
