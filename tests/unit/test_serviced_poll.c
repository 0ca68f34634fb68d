/*
 * test_serviced_poll.c - VOS_OP_POLL against the real daemon: what is
 * ready (a regular file at once, a FIFO once written, its hang-up), the
 * timeout, POLLNVAL for numbers that are not the client's, a wait that
 * VOS_OP_CANCEL ends (-EINTR) while the client's other calls are served;
 * and what a hostile client sends: counts outside the slot, bad timeouts,
 * garbage fd numbers.  Every case ends in a clean answer and the client
 * is served on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serviced_harness.h"

#define FD_FILE 5
#define FD_RD   6       /* the FIFO's reader */
#define FD_WR   7       /* its writer */

/* A client with "file" as fd 5 and a FIFO "pipe" as fds 6 (reader) and 7
 * (writer), both non-blocking. */
static struct vos_client *client_with_fds(void)
{
	struct vos_client *c = connect_new();

	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDWR, 0, FD_FILE), FD_FILE);
	char p[PATH_MAX];
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
	assert_int_equal(r_close(c, FD_FILE), 0);
	assert_int_equal(r_close(c, FD_RD), 0);
	assert_int_equal(r_close(c, FD_WR), 0);
	vos_client_close(c);
}

/* One POLL of list (n entries) with the timeout; revents back into list. */
static int64_t r_poll(struct vos_client *c, struct pollfd *list, int64_t n, int64_t timeout)
{
	struct vos_slot *s;
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { n, timeout } };
	int64_t res;
	size_t bytes = n > 0 ? (size_t)n * sizeof(*list) : 0;

	if (vos_slot_acquire(c, &s) != 0)
		return -999;
	if (list && bytes <= vos_client_slot_size(c))
		memcpy(vos_slot_buf(s), list, bytes);
	res = vos_slot_call(s, &r);
	if (res >= 0 && list && bytes <= vos_client_slot_size(c))
		memcpy(list, vos_slot_buf(s), bytes);
	vos_slot_release(s);
	return res;
}

static void test_ready(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct pollfd p[3] = {
		{ FD_FILE, POLLIN | POLLOUT, 0 }, { FD_RD, POLLIN, 0 }, { FD_WR, POLLOUT, 0 },
	};

	assert_int_equal(r_poll(c, p, 3, 0), 2);
	assert_int_equal(p[0].revents, POLLIN | POLLOUT);
	assert_int_equal(p[1].revents, 0);
	assert_int_equal(p[2].revents, POLLOUT);
	assert_int_equal(p[0].fd, FD_FILE);     /* the client's numbers come back */

	/* Nothing ready: the timeout (its length is not checked). */
	assert_int_equal(r_poll(c, &p[1], 1, 20), 0);
	assert_int_equal(p[1].revents, 0);

	/* Written: readable; the writer gone: hang-up. */
	assert_int_equal(r_write(c, FD_WR, "x"), 1);
	assert_int_equal(r_poll(c, &p[1], 1, -1), 1);
	assert_int_equal(p[1].revents, POLLIN);
	assert_int_equal(r_close(c, FD_WR), 0);
	char buf[4];
	assert_int_equal(r_read(c, FD_RD, buf, 1), 1);
	assert_int_equal(r_poll(c, &p[1], 1, -1), 1);
	assert_int_equal(p[1].revents, POLLHUP);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "pipe", O_WRONLY | O_NONBLOCK, 0, FD_WR), FD_WR);
	done_with(c);
}

/* Numbers that are not the client's remote fds: POLLNVAL, at once (even
 * with no timeout); negative ones are ignored. */
static void test_bad_fds(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct pollfd p[5] = {
		{ 77, POLLIN, 0 }, { -3, POLLIN, 0 }, { INT_MAX, POLLIN, 0 },
		{ FD_RD, POLLIN, 0 }, { 1 << 21, POLLOUT, 0 },
	};

	assert_int_equal(r_poll(c, p, 5, -1), 3);
	assert_int_equal(p[0].revents, POLLNVAL);
	assert_int_equal(p[1].revents, 0);
	assert_int_equal(p[1].fd, -3);
	assert_int_equal(p[2].revents, POLLNVAL);
	assert_int_equal(p[3].revents, 0);
	assert_int_equal(p[4].revents, POLLNVAL);
	/* Closed numbers too. */
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 9), 9);
	assert_int_equal(r_close(c, 9), 0);
	p[0] = (struct pollfd){ 9, POLLIN, 0 };
	assert_int_equal(r_poll(c, p, 1, -1), 1);
	assert_int_equal(p[0].revents, POLLNVAL);
	done_with(c);
}

/* Counts outside the slot and timeouts out of range: EINVAL; an empty list
 * is a sleep; a full slot of ignored entries answers 0. */
static void test_bad_args(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	int64_t max = (int64_t)(vos_client_slot_size(c) / sizeof(struct pollfd));

	assert_int_equal(r_poll(c, NULL, -1, 0), -EINVAL);
	assert_int_equal(r_poll(c, NULL, max + 1, 0), -EINVAL);
	assert_int_equal(r_poll(c, NULL, INT64_MAX, 0), -EINVAL);
	assert_int_equal(r_poll(c, NULL, INT64_MIN, 0), -EINVAL);
	assert_int_equal(r_poll(c, NULL, 0, -2), -EINVAL);
	assert_int_equal(r_poll(c, NULL, 0, (int64_t)INT_MAX + 1), -EINVAL);
	assert_int_equal(r_poll(c, NULL, 0, INT64_MIN), -EINVAL);
	assert_int_equal(r_poll(c, NULL, 0, 10), 0);

	struct vos_slot *s;
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	struct pollfd *list = vos_slot_buf(s);
	for (int64_t i = 0; i < max; i++)
		list[i] = (struct pollfd){ -1, POLLIN, 0x7fff };
	list[max - 1] = (struct pollfd){ FD_FILE, POLLIN, 0x7fff };
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { max, 0 } };
	assert_int_equal(vos_slot_call(s, &r), 1);
	assert_int_equal(list[0].revents, 0);
	assert_int_equal(list[max - 1].revents, POLLIN);
	vos_slot_release(s);
	done_with(c);
}

/* A wait without timeout holds one worker; the client's other calls are
 * served meanwhile; CANCEL ends it with -EINTR.  (The list is not rewritten
 * here: nothing the client can see tells when the worker has copied it, so
 * a rewrite to a ready fd could land before the copy; test_hostile covers
 * lists the service must reject.) */
static void test_cancel(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct vos_slot *s;
	struct pollfd *list;
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { 1, -1 } };

	assert_int_equal(vos_slot_acquire(c, &s), 0);
	list = vos_slot_buf(s);
	list[0] = (struct pollfd){ FD_RD, POLLIN, 0 };
	assert_int_equal(vos_slot_submit(s, &r), 0);
	/* Served while the poll waits. */
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_write(c, FD_FILE, "file"), 4);
	assert_false(vos_slot_poll(s));
	/* Cancelled: -EINTR (1: it was running; 0 only if it had not started
	 * yet, then it still completes with -EINTR). */
	int k = vos_slot_cancel(s);
	assert_true(k == 0 || k == 1);
	assert_int_equal(vos_slot_wait(s), -EINTR);
	/* The slot works again. */
	list[0] = (struct pollfd){ FD_FILE, POLLIN, 0 };
	assert_int_equal(vos_slot_call(s, &r), 1);
	assert_int_equal(list[0].revents, POLLIN);
	vos_slot_release(s);
	done_with(c);
}

/* A FIFO written by another call while the poll waits wakes it. */
static void test_wakes(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct vos_slot *s;
	struct pollfd *list;
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { 2, -1 } };

	assert_int_equal(vos_slot_acquire(c, &s), 0);
	list = vos_slot_buf(s);
	list[0] = (struct pollfd){ FD_RD, POLLIN, 0 };
	list[1] = (struct pollfd){ FD_RD, POLLPRI, 0 };
	assert_int_equal(vos_slot_submit(s, &r), 0);
	assert_int_equal(r_write(c, FD_WR, "y"), 1);
	assert_int_equal(vos_slot_wait(s), 1);
	assert_int_equal(list[0].revents, POLLIN);
	assert_int_equal(list[1].revents, 0);
	vos_slot_release(s);
	done_with(c);
}

/* Another thread's blocking call (a POLL of the FIFO's reader on a second
 * client fd, no timeout) makes it the channel's poller. */
struct blocker {
	struct vos_client *c;
	int64_t res;
};

static void *block_in_poll(void *arg)
{
	struct blocker *b = arg;
	struct pollfd p = { FD_WR + 1, POLLIN, 0 };

	b->res = r_poll(b->c, &p, 1, -1);
	return NULL;
}

/* Wait (bounded: 10 s) until the eventfd is readable; 1 if it became so. */
static int efd_fired(int efd)
{
	struct pollfd p = { efd, POLLIN, 0 };
	uint64_t v;

	if (poll(&p, 1, 10000) != 1)
		return 0;
	return read(efd, &v, sizeof v) == sizeof v;
}

/*
 * vos_slot_watch (client.h): a watched slot's completion, taken off the
 * ring by another thread (the poller), writes the eventfd; so does the
 * poller's hand-over when that thread's own call ends and ours still runs.
 */
static void test_watch(void **state)
{
	(void)state;
	struct vos_client *c = client_with_fds();
	struct blocker b = { .c = c, .res = -999 };
	struct vos_slot *s;
	struct pollfd *list;
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { 1, -1 } };
	pthread_t t;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	/* A second reader, for the blocker (polls never consume data). */
	assert_int_equal(r_open(c, VOS_FD_ROOT, "pipe", O_RDONLY | O_NONBLOCK, 0, FD_WR + 1), FD_WR + 1);
	assert_int_equal(pthread_create(&t, NULL, block_in_poll, &b), 0);
	/* Ours: the file, ready at once.  Whoever takes the answer off the
	 * ring (the blocker, as poller, or we below) writes the eventfd. */
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	list = vos_slot_buf(s);
	list[0] = (struct pollfd){ FD_FILE, POLLIN, 0 };
	vos_slot_watch(s, efd);
	assert_int_equal(vos_slot_submit(s, &r), 0);
	int fired = 0;
	for (int i = 0; i < 100 && !vos_slot_poll(s); i++)
		fired |= efd_fired(efd);
	assert_true(vos_slot_poll(s));
	assert_true(fired || efd_fired(efd));  /* the completer wrote it */
	vos_slot_unwatch(s);
	assert_int_equal(vos_slot_wait(s), 1);
	assert_int_equal(list[0].revents, POLLIN);

	/* Ours waits on the FIFO; the blocker's ends (the FIFO is written)
	 * and its thread hands the poller role to our watched slot, or our
	 * answer comes first: either way the eventfd fires. */
	list[0] = (struct pollfd){ FD_RD, POLLIN, 0 };
	vos_slot_watch(s, efd);
	assert_int_equal(vos_slot_submit(s, &r), 0);
	assert_int_equal(r_write(c, FD_WR, "z"), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.res, 1);
	fired = 0;
	for (int i = 0; i < 100 && !vos_slot_poll(s); i++) {
		fired |= efd_fired(efd);
		int pb = vos_client_poll_begin(c);      /* take the role as poll.c does */
		if (pb == 1) {
			struct pollfd p = { vos_client_event_fd(c), POLLIN, 0 };
			poll(&p, 1, vos_client_poll_interval_ms(c));
			vos_client_poll_end(c);
		}
	}
	assert_true(vos_slot_poll(s));
	assert_true(fired || efd_fired(efd));
	vos_slot_unwatch(s);
	assert_int_equal(vos_slot_wait(s), 1);
	assert_int_equal(list[0].revents, POLLIN);
	vos_slot_release(s);
	assert_int_equal(r_close(c, FD_WR + 1), 0);
	close(efd);
	done_with(c);
}

/* At --max-workers with every other worker waiting, a POLL that would
 * wait answers -EAGAIN at once (the last free worker stays free); one with
 * something ready is answered as usual. */
static void test_worker_bound(void **state)
{
	(void)state;
	stop_daemon();
	daemon_pid = spawn_daemon(rundir, "--max-workers", "2");     /* --workers 2 */
	struct vos_client *c = client_with_fds();
	struct vos_slot *s[2];
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { 1, -1 } };
	int64_t res[2];
	int waiting = -1;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(vos_slot_acquire(c, &s[i]), 0);
		*(struct pollfd *)vos_slot_buf(s[i]) = (struct pollfd){ FD_RD, POLLIN, 0 };
	}
	assert_int_equal(vos_slot_submit(s[0], &r), 0);
	assert_int_equal(vos_slot_submit(s[1], &r), 0);
	/* One of them waits; the other cannot, and says so. */
	for (int done = 0, k = 0; done == 0 && k < 10000; k++) {       /* 10 s at most */
		for (int i = 0; i < 2 && !done; i++)
			if (vos_slot_poll(s[i])) {
				res[i] = vos_slot_wait(s[i]);
				waiting = 1 - i;
				done = 1;
			}
		if (!done)
			sleep_ms(1);
	}
	assert_true(waiting >= 0);
	assert_int_equal(res[1 - waiting], -EAGAIN);
	assert_false(vos_slot_poll(s[waiting]));
	struct pollfd f = { FD_FILE, POLLIN, 0 };
	assert_int_equal(r_poll(c, &f, 1, -1), 1);
	assert_int_equal(f.revents, POLLIN);
	assert_true(vos_slot_cancel(s[waiting]) >= 0);
	assert_int_equal(vos_slot_wait(s[waiting]), -EINTR);
	vos_slot_release(s[0]);
	vos_slot_release(s[1]);
	done_with(c);
	stop_daemon();
	start_daemon();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_bad_fds),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_wakes),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_worker_bound),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
