/*
 * test_serviced_exec.c - EXEC in vos-serviced: the shadow keeps exactly
 * the fds the new image keeps, and answers only once every request of the
 * old image still running has completed (the EXEC barrier).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "serviced_harness.h"

/* exec keeps exactly the listed fds, in a spawned shadow; the parent's
 * table is untouched */
static void test_exec_keeps_listed_fds(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];

	assert_int_equal(r_open(c1, VOS_FD_ROOT, "file", O_RDONLY, 0, 60), 60);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "secret", O_RDONLY, 0, 61), 61);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "dir/file", O_RDONLY, 0, 62), 62);
	struct vos_client *c2 = connect_kind(VOS_HELLO_FORK_LIVE, vos_client_token(c1));
	assert_non_null(c2);

	int32_t keep[] = { 61, 1000 };
	assert_int_equal(r_exec(c2, keep, 2), 0);
	assert_int_equal(r_pread(c2, 60, buf, 4, 0), -EBADF);
	assert_int_equal(r_pread(c2, 62, buf, 4, 0), -EBADF);
	assert_int_equal(r_pread(c2, 61, buf, 6, 0), 6);
	assert_int_equal(r_pread(c1, 60, buf, 4, 0), 4);
	assert_int_equal(r_pread(c1, 62, buf, 6, 0), 6);
	vos_client_close(c2);
	vos_client_close(c1);
}

/* the shadow serves on after an exec with nothing in flight */
static void test_exec_idle(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	assert_int_equal(vos_call0(c, VOS_OP_EXEC, 0, 0, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

/*
 * Whether a thread of pid sleeps in a futex wait with a timeout.  In a
 * shadow that is a worker in vos_exec_barrier_raise(), waiting (in short
 * ticks) for the other workers to cross the barrier: idle workers sleep in
 * poll, one running a blocking request sleeps in that call, one parked at
 * the barrier waits without a timeout, and a contended mutex is waited for
 * without one as well.  (/proc/<pid>/task/<tid>/syscall: the number and
 * arguments of the call a thread is blocked in.)
 */
static int barrier_waiter_in(pid_t pid)
{
	char p[300], line[512];
	xsnprintf(p, sizeof p, "/proc/%d/task", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		xsnprintf(p, sizeof p, "/proc/%d/task/%s/syscall", (int)pid, de->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		long nr;
		unsigned long long uaddr, op, val, timeout;
		if (fgets(line, sizeof line, f) &&
		    sscanf(line, "%ld %llx %llx %llx %llx", &nr, &uaddr, &op, &val, &timeout) == 5) {
			op &= FUTEX_CMD_MASK;
			found = nr == SYS_futex && (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) &&
				timeout != 0;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

struct bar_thr {
	struct vos_client *c;
	int *released;          /* set by the main thread before it unlocks */
	int64_t result;
	int released_first;     /* *released when the call returned */
	int done;
};

static void finish(struct bar_thr *t, int64_t result)
{
	t->result = result;
	t->released_first = __atomic_load_n(t->released, __ATOMIC_ACQUIRE);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
}

static void *flock_thread(void *arg)
{
	struct bar_thr *t = arg;
	finish(t, vos_call0(t->c, VOS_OP_FLOCK, 70, LOCK_EX, 0));
	return NULL;
}

static void *nop_thread(void *arg)
{
	struct bar_thr *t = arg;
	finish(t, vos_call0(t->c, VOS_OP_NOP, 0, 0, 0));
	return NULL;
}

static void *exec_thread(void *arg)
{
	struct bar_thr *t = arg;
	int32_t keep[] = { 70 };
	finish(t, r_exec(t->c, keep, 1));
	return NULL;
}

/*
 * A request of the client blocks in the shadow (flock on a file we hold
 * locked).  Another call goes through meanwhile (the blocked worker does
 * not hold up the next request).  An EXEC is taken by the other worker,
 * which raises the barrier and waits for the blocked request; it is
 * answered only after that request has completed, which needs our unlock.
 *
 * The order is observed, never assumed: the blocked flock in /proc/locks,
 * the NOP's answer, the EXEC's worker waiting at the barrier (see
 * barrier_waiter_in); an EXEC answered before the unlock fails the test
 * (as it would without a barrier).  The barrier gives up after 5 s
 * (VOS_EXEC_BARRIER_MS), well after we see its worker wait.
 */
static void test_exec_barrier(void **state)
{
	(void)state;
	pid_t shadow;
	struct vos_client *c = connect_with_shadow(&shadow);
	char p[PATH_MAX];
	struct stat st;
	int released = 0;

	assert_int_equal(r_open(c, VOS_FD_ROOT, "barrier", O_CREAT | O_RDWR, 0644, 70), 70);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 71), 71);
	in_dir(p, rootdir, "barrier");
	int nfd = open(p, O_RDONLY);
	assert_true(nfd >= 0);
	assert_int_equal(fstat(nfd, &st), 0);
	assert_int_equal(flock(nfd, LOCK_EX), 0);

	struct bar_thr a = { .c = c, .released = &released }, n = a, b = a;
	pthread_t ta, tn, tb;
	assert_int_equal(pthread_create(&ta, NULL, flock_thread, &a), 0);
	assert_true(lock_waiter_on(st.st_ino));

	/* The other worker answers a NOP while the flock waits. */
	assert_int_equal(pthread_create(&tn, NULL, nop_thread, &n), 0);
	int nop_answered = wait_flag(&n.done);

	/* EXEC: wait until its worker waits at the barrier; it must not be
	 * answered meanwhile. */
	int waiting_before = barrier_waiter_in(shadow);
	assert_int_equal(pthread_create(&tb, NULL, exec_thread, &b), 0);
	int waiting = 0;
	for (int tries = 0; tries < 30000 && !waiting && !__atomic_load_n(&b.done, __ATOMIC_ACQUIRE); tries++) {
		waiting = barrier_waiter_in(shadow);
		if (!waiting)
			sleep_ms(1);
	}
	int exec_answered_early = __atomic_load_n(&b.done, __ATOMIC_ACQUIRE);
	int flock_answered_early = __atomic_load_n(&a.done, __ATOMIC_ACQUIRE);

	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	assert_int_equal(flock(nfd, LOCK_UN), 0);
	pthread_join(ta, NULL);
	pthread_join(tn, NULL);
	pthread_join(tb, NULL);
	close(nfd);
	if (!nop_answered || n.released_first)
		fail_msg("a NOP was not answered while another request was blocked");
	assert_int_equal(n.result, 0);
	if (flock_answered_early)
		fail_msg("the flock was answered while the file was locked");
	if (exec_answered_early)
		fail_msg("EXEC was answered while a request of the old image was still running");
	if (waiting_before)
		fail_msg("shadow %d had a thread in a timed wait before the EXEC (which then "
			 "cannot be told from one waiting at the barrier)", (int)shadow);
	if (!waiting)
		fail_msg("no worker of shadow %d was seen waiting at the EXEC barrier", (int)shadow);
	assert_int_equal(a.result, 0);
	assert_int_equal(b.result, 0);
	assert_true(b.released_first);
	/* and EXEC did its work: 70 kept, 71 closed */
	assert_int_equal(r_close(c, 71), -EBADF);
	assert_int_equal(r_close(c, 70), 0);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
	unlink(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_keeps_listed_fds),
		cmocka_unit_test(test_exec_idle),
		cmocka_unit_test(test_exec_barrier),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
