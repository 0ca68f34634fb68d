/*
 * test_serviced_locks.c - blocking lock requests in vos-serviced: workers
 * grow while calls wait, up to --max-workers; past it a blocking lock that
 * would wait answers -ENOLCK at once (a free lock is still taken), so the
 * last free worker always serves the client's other calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "serviced_harness.h"

struct lock_thr {
	struct vos_client *c;
	int fd, done;
	int64_t result;
};

static void *flock_thread(void *arg)
{
	struct lock_thr *t = arg;

	t->result = vos_call0(t->c, VOS_OP_FLOCK, t->fd, LOCK_EX, 0);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int threads_of(pid_t pid)
{
	char p[64];
	int n = 0;

	xsnprintf(p, sizeof p, "/proc/%d/task", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Poll (bounded) until the shadow runs n threads. */
static int wait_threads(pid_t shadow, int n)
{
	for (int i = 0; i < 30000; i++) {
		if (threads_of(shadow) == n)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

static void test_workers_grow_then_enolck(void **state)
{
	(void)state;
	stop_daemon();
	daemon_pid = spawn_daemon(rundir, "--max-workers", "3");     /* --workers 2 */

	pid_t shadow;
	struct vos_client *c = connect_with_shadow(&shadow);
	char p[PATH_MAX];

	for (int fd = 70; fd < 74; fd++)
		assert_int_equal(r_open(c, VOS_FD_ROOT, "lockfile", O_CREAT | O_RDWR, 0644, fd), fd);
	in_dir(p, rootdir, "lockfile");
	int nfd = open(p, O_RDONLY);
	assert_true(nfd >= 0);
	assert_int_equal(flock(nfd, LOCK_EX), 0);
	/* Its control thread, 2 workers (and a sanitizer's own thread). */
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	int base = threads_of(shadow);
	assert_true(base >= 3);

	/* Two waits: the second leaves no worker free, so a third starts. */
	struct lock_thr t[2] = { { .c = c, .fd = 70 }, { .c = c, .fd = 71 } };
	pthread_t th[2];
	assert_int_equal(pthread_create(&th[0], NULL, flock_thread, &t[0]), 0);
	assert_int_equal(pthread_create(&th[1], NULL, flock_thread, &t[1]), 0);
	int grew = wait_threads(shadow, base + 1);

	/* The free worker serves other calls. */
	int64_t nop = vos_call0(c, VOS_OP_NOP, 0, 0, 0);
	/* At the bound: a lock that would wait is refused at once; a free
	 * lock (another file) is still taken. */
	int64_t third = vos_call0(c, VOS_OP_FLOCK, 72, LOCK_EX, 0);
	int64_t nb = vos_call0(c, VOS_OP_FLOCK, 73, LOCK_EX | LOCK_NB, 0);
	int waited_early = __atomic_load_n(&t[0].done, __ATOMIC_ACQUIRE) ||
			   __atomic_load_n(&t[1].done, __ATOMIC_ACQUIRE);

	assert_int_equal(flock(nfd, LOCK_UN), 0);
	close(nfd);
	/* One of the two gets it; the other when that one closes. */
	for (int done = 0; done < 2;) {
		done = 0;
		for (int i = 0; i < 2; i++)
			if (__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE) && t[i].fd >= 0) {
				assert_int_equal(t[i].result, 0);
				assert_int_equal(r_close(c, t[i].fd), 0);
				t[i].fd = -1;
			}
		for (int i = 0; i < 2; i++)
			done += t[i].fd < 0;
		if (done < 2)
			sleep_ms(1);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);

	assert_true(grew);
	assert_false(waited_early);
	assert_int_equal(nop, 0);
	assert_int_equal(third, -ENOLCK);
	assert_int_equal(nb, -EWOULDBLOCK);
	/* Not past the bound any more: a wait is allowed again (the lock is free). */
	assert_int_equal(vos_call0(c, VOS_OP_FLOCK, 72, LOCK_EX, 0), 0);
	vos_client_close(c);
	unlink(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_grow_then_enolck),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
