/*
 * test_fdtable.c - the interposer's fd table (libvirtuos/interpose/fdtable.c),
 * alone: the binary links fdtable.o and libc, nothing else of the library.
 *
 * Entries (kind, service, generation), set/get/forget, the bounds of the
 * table, growth across chunk boundaries, the generation rule (an fd of an
 * earlier connection stays dead after a reconnect), lock-free readers
 * racing writers and chunk creation (run under TSan by tests/run-unit.sh),
 * and the fd lock, also across fork.
 *
 * The table is process-global: each test uses its own range of fd numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "interpose/fdtable.h"

#define CHUNK 1024      /* fdtable.c's chunk size; the tests straddle it */

/* ---- entries ------------------------------------------------------------ */

static void entry_encoding(void **state)
{
	static const uint32_t svcs[] = { 0, 1, 7, 63 };
	static const uint32_t gens[] = { 1, 2, 0x123456, VOS_GEN_MASK };

	(void)state;
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		for (size_t j = 0; j < sizeof(gens) / sizeof(gens[0]); j++) {
			uint32_t e = VOS_FDE_REMOTE(svcs[i], gens[j]);

			assert_int_equal(VOS_FDE_KIND(e), VOS_FDK_REMOTE);
			assert_int_equal(VOS_FDE_SVC(e), svcs[i]);
			assert_int_equal(VOS_FDE_GEN(e), gens[j]);
		}
	}
	assert_int_equal(VOS_FDE_KIND(VOS_FDK_INTERNAL), VOS_FDK_INTERNAL);
	assert_int_equal(VOS_FDE_KIND(0), VOS_FDK_LOCAL);
}

static void set_get_forget(void **state)
{
	const int fd = 5;
	const uint32_t e = VOS_FDE_REMOTE(3, 7);

	(void)state;
	assert_int_equal(vos_fd_entry(fd), 0);
	assert_int_equal(vos_fd_forget(fd), 0);         /* nothing to drop */

	assert_int_equal(vos_fd_set(fd, e), 0);
	assert_int_equal(vos_fd_entry(fd), e);
	assert_int_equal(vos_fd_entry(fd + 1), 0);      /* neighbours untouched */
	assert_int_equal(vos_fd_entry(fd - 1), 0);

	assert_int_equal(vos_fd_forget(fd), 1);         /* a stale entry dropped */
	assert_int_equal(vos_fd_entry(fd), 0);
	assert_int_equal(vos_fd_forget(fd), 0);

	/* A channel descriptor: internal kind, forgotten like any entry. */
	assert_int_equal(vos_fd_set(fd, VOS_FDK_INTERNAL), 0);
	assert_int_equal(VOS_FDE_KIND(vos_fd_entry(fd)), VOS_FDK_INTERNAL);
	assert_int_equal(vos_fd_set(fd, 0), 0);
	assert_int_equal(vos_fd_entry(fd), 0);
	assert_int_equal(vos_fd_forget(fd), 0);
}

static void bounds(void **state)
{
	static const int outside[] = { -1, -2, -CHUNK, INT_MIN, VOS_FD_LIMIT, VOS_FD_LIMIT + 1,
				       INT_MAX };
	const uint32_t e = VOS_FDE_REMOTE(1, 1);

	(void)state;
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		int fd = outside[i];

		assert_int_equal(vos_fd_entry(fd), 0);
		assert_int_equal(vos_fd_set(fd, e), -EMFILE);
		assert_int_equal(vos_fd_set(fd, VOS_FDK_INTERNAL), -EMFILE);
		assert_int_equal(vos_fd_set(fd, 0), 0);         /* clearing: nothing to do */
		assert_int_equal(vos_fd_forget(fd), 0);
		assert_int_equal(vos_fd_entry(fd), 0);
	}
	/* The last number of the table is a number like any other. */
	assert_int_equal(vos_fd_set(VOS_FD_LIMIT - 1, e), 0);
	assert_int_equal(vos_fd_entry(VOS_FD_LIMIT - 1), e);
	assert_int_equal(vos_fd_entry(VOS_FD_LIMIT - 2), 0);
	assert_int_equal(vos_fd_forget(VOS_FD_LIMIT - 1), 1);
	assert_int_equal(vos_fd_entry(VOS_FD_LIMIT - 1), 0);
}

/* ---- growth ------------------------------------------------------------- */

static void chunk_boundaries(void **state)
{
	/* Numbers on both sides of several chunk boundaries, in chunks no
	 * other test touched, set in descending order (later chunks first). */
	static const int fds[] = { 8 * CHUNK + 1, 8 * CHUNK, 8 * CHUNK - 1, 5 * CHUNK,
				   5 * CHUNK - 1, 3 * CHUNK, 3 * CHUNK - 1 };
	const size_t n = sizeof(fds) / sizeof(fds[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vos_fd_entry(fds[i]), 0);
	/* Clearing in a chunk never made is a no-op, not an allocation failure. */
	assert_int_equal(vos_fd_set(20 * CHUNK, 0), 0);
	assert_int_equal(vos_fd_entry(20 * CHUNK), 0);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(vos_fd_set(fds[i], VOS_FDE_REMOTE(i, i + 1)), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vos_fd_entry(fds[i]), VOS_FDE_REMOTE(i, i + 1));
	/* Entries between them stay empty. */
	assert_int_equal(vos_fd_entry(8 * CHUNK + 2), 0);
	assert_int_equal(vos_fd_entry(6 * CHUNK), 0);
	assert_int_equal(vos_fd_entry(4 * CHUNK), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vos_fd_forget(fds[i]), 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vos_fd_entry(fds[i]), 0);
}

static void scan_limit(void **state)
{
	const int fd = 30 * CHUNK + 17;
	int before = vos_fd_scan_limit();

	(void)state;
	/* Runs before the tests that mark higher fds remote (it never shrinks). */
	assert_true(before <= fd);
	/* Channel descriptors are never scanned for remote files. */
	assert_int_equal(vos_fd_set(fd + 100, VOS_FDK_INTERNAL), 0);
	assert_int_equal(vos_fd_scan_limit(), before);
	assert_int_equal(vos_fd_set(fd, VOS_FDE_REMOTE(2, 9)), 0);
	assert_int_equal(vos_fd_scan_limit(), fd + 1);
	/* A lower remote fd does not lower it; neither does clearing. */
	assert_int_equal(vos_fd_set(fd - 5, VOS_FDE_REMOTE(2, 9)), 0);
	assert_int_equal(vos_fd_scan_limit(), fd + 1);
	vos_fd_forget(fd);
	vos_fd_forget(fd - 5);
	vos_fd_forget(fd + 100);
	assert_int_equal(vos_fd_scan_limit(), fd + 1);
}

/* ---- generations ------------------------------------------------------ */

static void generations(void **state)
{
	const int old_fd = 40, new_fd = 41;
	uint32_t gen = 5;

	(void)state;
	/* An fd opened on the connection of generation 5... */
	assert_int_equal(vos_fd_set(old_fd, VOS_FDE_REMOTE(2, gen)), 0);
	assert_true(vos_fde_current(vos_fd_entry(old_fd), gen));
	/* ...is dead once the service reconnected (generation 6), for good,
	 * while an fd opened on the new connection works. */
	gen = 6;
	assert_int_equal(vos_fd_set(new_fd, VOS_FDE_REMOTE(2, gen)), 0);
	assert_false(vos_fde_current(vos_fd_entry(old_fd), gen));
	assert_true(vos_fde_current(vos_fd_entry(new_fd), gen));
	assert_false(vos_fde_current(vos_fd_entry(old_fd), gen + 1));
	/* Generation 0 means "never had a channel": never current. */
	assert_false(vos_fde_current(VOS_FDE_REMOTE(2, 0), 0));
	assert_false(vos_fde_current(VOS_FDE_REMOTE(2, 0), 1));
	/* Only remote entries have a connection. */
	assert_false(vos_fde_current(0, 0));
	assert_false(vos_fde_current(VOS_FDK_INTERNAL, 0));
	assert_false(vos_fde_current(VOS_FDK_INTERNAL | (6u << 8), 6));
	/* The largest generation fits. */
	assert_true(vos_fde_current(VOS_FDE_REMOTE(63, VOS_GEN_MASK), VOS_GEN_MASK));
	vos_fd_forget(old_fd);
	vos_fd_forget(new_fd);
}

/* ---- concurrency -------------------------------------------------------- */

#define NWRITERS 4
#define NREADERS 3
#define ROUNDS   1000
#define RACE_BASE (100 * CHUNK)         /* fresh chunks for the race */
#define RACE_FDS  (3 * CHUNK)           /* spans three chunks */

struct race {
	pthread_barrier_t start;
	_Atomic int writers_left;
	_Atomic long torn;              /* entries no writer wrote */
};

struct writer_arg {
	struct race *race;
	int id;
};

/* Writer id owns fds RACE_BASE + id, + NWRITERS, ...: its entries name
 * service id, and the generation is the round (1-based).  It ends with
 * every one of its fds set to generation ROUNDS. */
static void *writer(void *p)
{
	struct writer_arg *a = p;

	pthread_barrier_wait(&a->race->start);
	for (uint32_t round = 1; round <= ROUNDS; round++) {
		for (int fd = RACE_BASE + a->id; fd < RACE_BASE + RACE_FDS; fd += NWRITERS) {
			if (round % 3 == 0)
				vos_fd_forget(fd);
			if (vos_fd_set(fd, VOS_FDE_REMOTE(a->id, round)) != 0)
				atomic_fetch_add(&a->race->torn, 1);
		}
	}
	atomic_fetch_sub(&a->race->writers_left, 1);
	return NULL;
}

/* Every entry a reader sees is 0 or one its owner wrote. */
static void *reader(void *p)
{
	struct race *race = p;
	unsigned x = 12345;

	pthread_barrier_wait(&race->start);
	while (atomic_load(&race->writers_left) > 0) {
		for (int i = 0; i < 256; i++) {
			int fd;
			uint32_t e;

			x = x * 1103515245u + 12345u;
			fd = RACE_BASE + (int)((x >> 8) % RACE_FDS);
			e = vos_fd_entry(fd);
			if (e != 0 && (VOS_FDE_KIND(e) != VOS_FDK_REMOTE ||
				       VOS_FDE_SVC(e) != (uint32_t)((fd - RACE_BASE) % NWRITERS) ||
				       VOS_FDE_GEN(e) < 1 || VOS_FDE_GEN(e) > ROUNDS))
				atomic_fetch_add(&race->torn, 1);
		}
		(void)vos_fd_scan_limit();
	}
	return NULL;
}

/* Writers create the same fresh chunks at the same moment (the losers of
 * the publication race must write into the winner's chunk), while readers
 * read lock-free. */
static void readers_and_writers(void **state)
{
	pthread_t w[NWRITERS], r[NREADERS];
	struct writer_arg wa[NWRITERS];
	struct race race = { .writers_left = NWRITERS };

	(void)state;
	assert_int_equal(pthread_barrier_init(&race.start, NULL, NWRITERS + NREADERS), 0);
	for (int i = 0; i < NREADERS; i++)
		assert_int_equal(pthread_create(&r[i], NULL, reader, &race), 0);
	for (int i = 0; i < NWRITERS; i++) {
		wa[i] = (struct writer_arg){ &race, i };
		assert_int_equal(pthread_create(&w[i], NULL, writer, &wa[i]), 0);
	}
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(r[i], NULL);
	pthread_barrier_destroy(&race.start);

	assert_int_equal(atomic_load(&race.torn), 0);
	for (int fd = RACE_BASE; fd < RACE_BASE + RACE_FDS; fd++)
		assert_int_equal(vos_fd_entry(fd),
				 VOS_FDE_REMOTE((fd - RACE_BASE) % NWRITERS, ROUNDS));
	assert_true(vos_fd_scan_limit() >= RACE_BASE + RACE_FDS);
	for (int fd = RACE_BASE; fd < RACE_BASE + RACE_FDS; fd++)
		vos_fd_forget(fd);
}

/* Many threads set their first entry in the same fresh chunk at once, many
 * times over (a new chunk each time): no entry may be lost. */
#define FIRST_TOUCH_THREADS 8
#define FIRST_TOUCH_CHUNKS  64
#define FIRST_TOUCH_BASE    (200 * CHUNK)

static pthread_barrier_t ft_barrier;

static void *first_toucher(void *p)
{
	int id = (int)(intptr_t)p;

	for (int c = 0; c < FIRST_TOUCH_CHUNKS; c++) {
		pthread_barrier_wait(&ft_barrier);
		vos_fd_set(FIRST_TOUCH_BASE + c * CHUNK + id, VOS_FDE_REMOTE(id, c + 1));
	}
	return NULL;
}

static void chunk_creation_race(void **state)
{
	pthread_t th[FIRST_TOUCH_THREADS];

	(void)state;
	assert_int_equal(pthread_barrier_init(&ft_barrier, NULL, FIRST_TOUCH_THREADS), 0);
	for (int i = 0; i < FIRST_TOUCH_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, first_toucher, (void *)(intptr_t)i), 0);
	for (int i = 0; i < FIRST_TOUCH_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&ft_barrier);
	for (int c = 0; c < FIRST_TOUCH_CHUNKS; c++)
		for (int i = 0; i < FIRST_TOUCH_THREADS; i++)
			assert_int_equal(vos_fd_entry(FIRST_TOUCH_BASE + c * CHUNK + i),
					 VOS_FDE_REMOTE(i, c + 1));
}

/* ---- the fd lock -------------------------------------------------------- */

#define LOCK_THREADS 4
#define LOCK_ROUNDS  2000

static long guarded_a, guarded_b;       /* written only under the write lock */
static _Atomic int lock_violations;

static void *lock_user(void *p)
{
	int writer_thread = (int)(intptr_t)p;

	for (int i = 0; i < LOCK_ROUNDS; i++) {
		if (writer_thread && i % 4 == 0) {
			vos_fdtable_wrlock();
			guarded_a++;
			guarded_b++;
			vos_fdtable_unlock();
		} else {
			vos_fdtable_rdlock();
			/* A writer is never inside with us (and TSan sees a
			 * race on guarded_* if the lock does not order us). */
			if (guarded_a != guarded_b)
				atomic_fetch_add(&lock_violations, 1);
			vos_fdtable_unlock();
		}
	}
	return NULL;
}

static void fd_lock(void **state)
{
	pthread_t th[LOCK_THREADS];

	(void)state;
	/* Two read holds at once (a thread inside a wrapper may enter another). */
	vos_fdtable_rdlock();
	vos_fdtable_rdlock();
	vos_fdtable_unlock();
	vos_fdtable_unlock();

	for (int i = 0; i < LOCK_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lock_user,
						 (void *)(intptr_t)(i < 2)), 0);
	for (int i = 0; i < LOCK_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&lock_violations), 0);
	assert_int_equal(guarded_a, 2 * LOCK_ROUNDS / 4);
	assert_int_equal(guarded_b, guarded_a);
}

/* fork() runs with the lock write-held by the forking thread: the child
 * gets a fresh lock and can take it both ways. */
static void fd_lock_after_fork(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	vos_fdtable_wrlock();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vos_fdtable_after_fork_child();
		vos_fdtable_rdlock();
		vos_fdtable_unlock();
		vos_fdtable_wrlock();
		vos_fdtable_unlock();
		_exit(0);
	}
	vos_fdtable_unlock();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_encoding),
		cmocka_unit_test(scan_limit),
		cmocka_unit_test(set_get_forget),
		cmocka_unit_test(bounds),
		cmocka_unit_test(chunk_boundaries),
		cmocka_unit_test(generations),
		cmocka_unit_test(readers_and_writers),
		cmocka_unit_test(chunk_creation_race),
		cmocka_unit_test(fd_lock),
		cmocka_unit_test(fd_lock_after_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
