/*
 * test_long_calls.c - calls that wait for long, against the real daemon
 * (storage role, local mode): a call has no deadline (a flock that waits
 * longer than the death bound succeeds), a service whose heartbeat stops is
 * declared dead within the bound, and VOS_OP_CANCEL interrupts a blocked
 * call and leaves the channel usable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "serviced_harness.h"
#include "common/vos_time.h"

/* The death bound the tests use, and how long test (a) holds its lock. */
#define DEAD_AFTER_MS 3000    /* three heartbeats: no false death on a loaded machine */
#define HOLD_MS       (3 * DEAD_AFTER_MS)
#define LOCKFILE      "lockfile"

static char lockpath[PATH_MAX];

/* A new client of the test's daemon that declares it dead after
 * DEAD_AFTER_MS without a heartbeat. */
static struct vos_client *connect_bounded(void)
{
	struct vos_client_config cfg = config();
	cfg.dead_after_ms = DEAD_AFTER_MS;
	cfg.umask = 022;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	return c;
}

/* Open the lock file remotely as client fd `fd`. */
static void r_open_lockfile(struct vos_client *c, int fd)
{
	assert_int_equal(r_open(c, VOS_FD_ROOT, LOCKFILE, O_RDWR, 0, fd), fd);
}

/* Lock the lock file natively (LOCK_EX); the holder's fd. */
static int hold_lockfile(void)
{
	int holder = open(lockpath, O_RDWR);
	assert_true(holder >= 0);
	assert_int_equal(flock(holder, LOCK_EX), 0);
	return holder;
}

static ino_t lockfile_ino(void)
{
	struct stat st;

	assert_int_equal(stat(lockpath, &st), 0);
	return st.st_ino;
}

/* A call on its own slot, waited for in a thread. */
struct bg_call {
	struct vos_slot *s;
	struct vos_req r;
	int64_t res;
	pthread_t th;
};

static void *bg_wait(void *arg)
{
	struct bg_call *b = arg;

	b->res = vos_slot_wait(b->s);
	return NULL;
}

static void bg_start(struct bg_call *b, struct vos_client *c, uint16_t op, int64_t a0, int64_t a1)
{
	b->r = (struct vos_req){ .op = op, .arg = { a0, a1 } };
	b->res = 1234;
	assert_int_equal(vos_slot_acquire(c, &b->s), 0);
	assert_int_equal(vos_slot_submit(b->s, &b->r), 0);
	pthread_create(&b->th, NULL, bg_wait, b);
}

static int64_t bg_finish(struct bg_call *b)
{
	pthread_join(b->th, NULL);
	vos_slot_release(b->s);
	return b->res;
}

/* (a) A flock that waits (in the service) three times the death bound for
 * another process to let go succeeds: calls have no deadline while the
 * service's heartbeat ticks. */
static void flock_outlives_dead_bound(void **state)
{
	(void)state;
	int holder = hold_lockfile();

	struct vos_client *c = connect_bounded();
	r_open_lockfile(c, 10);
	struct bg_call b;
	bg_start(&b, c, VOS_OP_FLOCK, 10, LOCK_EX);
	assert_true(lock_waiter_on(lockfile_ino()));

	uint64_t t0 = vos_now_ms();
	while (vos_now_ms() - t0 < HOLD_MS)     /* a duration, not an ordering */
		sleep_ms(50);
	assert_false(vos_client_dead(c));
	assert_int_equal(flock(holder, LOCK_UN), 0);
	assert_int_equal(bg_finish(&b), 0);
	assert_false(vos_client_dead(c));
	/* The shadow holds the lock now. */
	assert_int_equal(flock(holder, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(vos_call0(c, VOS_OP_CLOSE, 10, 0, 0), 0);
	assert_int_equal(flock(holder, LOCK_EX | LOCK_NB), 0);
	close(holder);
	vos_client_close(c);
}

/* Wait (bounded) until every thread of pid is stopped (SIGSTOP lands on
 * each thread a moment after kill() returns). */
static int all_threads_stopped(pid_t pid)
{
	char p[64];

	for (int tries = 0; tries < 1000; tries++) {
		int running = 0, n = 0;
		DIR *d;
		struct dirent *de;

		snprintf(p, sizeof p, "/proc/%d/task", (int)pid);
		d = opendir(p);
		if (!d)
			return 0;
		while ((de = readdir(d))) {
			char sp[300], line[512];
			FILE *f;

			if (de->d_name[0] == '.')
				continue;
			snprintf(sp, sizeof sp, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
			f = fopen(sp, "r");
			if (!f)
				continue;
			if (fgets(line, sizeof line, f)) {
				char *rp = strrchr(line, ')');

				n++;
				running += !(rp && (rp[2] == 'T' || rp[2] == 't'));
			}
			fclose(f);
		}
		closedir(d);
		if (n > 0 && running == 0)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

/* (b) A shadow that stops ticking (stopped, as a hung service domain would
 * be) makes calls fail with -EIO: the waiting client watched the heartbeat
 * stand still for the bound.  Only that it ends, and how, is checked. */
static void stopped_service_is_declared_dead(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);

	struct vos_client *c = connect_bounded();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);
	assert_int_equal(kill(shadow, SIGSTOP), 0);
	assert_true(all_threads_stopped(shadow));
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	assert_true(vos_client_dead(c));
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	kill(shadow, SIGCONT);
	vos_client_close(c);    /* the shadow sees the hang-up and ends */
}

/* (c) CANCEL interrupts a flock blocked in the service: the call fails with
 * -EINTR, the channel stays usable, and the lock was not taken. */
static void cancel_interrupts_blocked_flock(void **state)
{
	(void)state;
	int holder = hold_lockfile();

	struct vos_client *c = connect_bounded();
	r_open_lockfile(c, 11);
	for (int round = 0; round < 5; round++) {
		struct bg_call b;

		bg_start(&b, c, VOS_OP_FLOCK, 11, LOCK_EX);
		assert_true(lock_waiter_on(lockfile_ino()));
		assert_int_equal(vos_slot_cancel(b.s), 1);
		assert_int_equal(bg_finish(&b), -EINTR);
		assert_false(vos_client_dead(c));
		assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	}
	/* Nobody took the lock on the service's side. */
	assert_int_equal(flock(holder, LOCK_UN), 0);
	assert_int_equal(vos_call0(c, VOS_OP_FLOCK, 11, LOCK_EX | LOCK_NB, 0), 0);
	assert_int_equal(flock(holder, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(vos_call0(c, VOS_OP_CLOSE, 11, 0, 0), 0);
	close(holder);
	vos_client_close(c);
}

/* (d) Cancelling a call that already finished, an id nobody uses, or a
 * malformed id is harmless: later calls on every slot work. */
static void cancel_of_finished_or_unknown_id_is_harmless(void **state)
{
	(void)state;
	struct vos_client *c = connect_bounded();
	struct vos_slot *s;
	struct vos_req nop = { .op = VOS_OP_NOP };

	assert_int_equal(vos_slot_acquire(c, &s), 0);
	assert_int_equal(vos_slot_call(s, &nop), 0);
	assert_int_equal(vos_slot_cancel(s), 0);         /* finished: nothing sent */
	assert_int_equal(vos_slot_call(s, &nop), 0);
	vos_slot_release(s);

	/* Unknown ids on every slot (recorded by the service, never matched). */
	for (uint32_t slot = 0; slot < VOS_DEFAULT_SLOTS; slot++)
		assert_int_equal(vos_call0(c, VOS_OP_CANCEL, VOS_ID(slot, 0xabcdef), 0, 0), 0);
	/* Malformed: slot out of range, negative, too large. */
	assert_int_equal(vos_call0(c, VOS_OP_CANCEL, VOS_ID(VOS_DEFAULT_SLOTS, 1), 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_CANCEL, -1, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_CANCEL, (int64_t)1 << 40, 0, 0), -EINVAL);
	/* Every slot still answers normally (several in flight at once). */
	for (int round = 0; round < 20; round++) {
		struct vos_slot *ss[8];

		for (int i = 0; i < 8; i++) {
			assert_int_equal(vos_slot_acquire(c, &ss[i]), 0);
			assert_int_equal(vos_slot_submit(ss[i], &nop), 0);
		}
		for (int i = 0; i < 8; i++) {
			assert_int_equal(vos_slot_wait(ss[i]), 0);
			vos_slot_release(ss[i]);
		}
	}
	assert_false(vos_client_dead(c));
	vos_client_close(c);
}

/* ---- daemon -------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	scratch_make("/tmp/vos-longcalls-XXXXXX");
	in_dir(lockpath, rootdir, LOCKFILE);
	put_file(lockpath, "", 0666);
	const char *args[] = {
		"--role", "storage", "--root", rootdir, "--rundir", rundir, "--workers", "2", NULL,
	};
	daemon_pid = daemon_start(rundir, "storage", args);
	return 0;
}

int main(int argc, char **argv)
{
	if (serviced_init(argv[0]) < 0)
		return 1;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flock_outlives_dead_bound),
		cmocka_unit_test(stopped_service_is_declared_dead),
		cmocka_unit_test(cancel_interrupts_blocked_flock),
		cmocka_unit_test(cancel_of_finished_or_unknown_id_is_harmless),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, setup, serviced_teardown);
}
