/*
 * test_ring.c - the bounded MPMC ring: FIFO/full/empty behaviour, and
 * exactly-once delivery under concurrency, between threads and between
 * processes sharing a memfd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "channel/ring.h"

#define NITEMS      200000u
#define NPRODUCERS  4
#define NCONSUMERS  4
#define RING_SLOTS  16u     /* small: many laps, lots of wrap-around */

/* A ring in its own memfd mapping, as in a channel. */
struct shm_ring {
	void *mem;
	size_t size;
	int fd;
	struct vos_ring r;
};

static void shm_ring_new(struct shm_ring *s, uint32_t n)
{
	s->size = (size_t)vos_ring_bytes(n);
	s->fd = memfd_create("test-ring", MFD_CLOEXEC);
	assert_true(s->fd >= 0);
	assert_int_equal(ftruncate(s->fd, (off_t)s->size), 0);
	s->mem = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	assert_true(s->mem != MAP_FAILED);
	vos_ring_format(s->mem, n);
	vos_ring_attach(&s->r, s->mem, n);
}

static void shm_ring_free(struct shm_ring *s)
{
	munmap(s->mem, s->size);
	close(s->fd);
}

/* Item k: every field derived from k, so a torn or mixed-up entry shows. */
static void make_item(struct vos_entry *e, uint32_t k)
{
	memset(e, 0, sizeof(*e));
	e->id = k;
	e->op = (uint16_t)(k * 7u);
	e->flags = (uint16_t)(k >> 16);
	for (int i = 0; i < 5; i++)
		e->arg[i] = (int64_t)k * 1000003 + i;
	e->arg[5] = (int64_t)(k ^ 0x5a5a5a5au) * 31;
}

static int item_ok(const struct vos_entry *e)
{
	struct vos_entry want;

	if (e->id >= NITEMS)
		return 0;
	make_item(&want, e->id);
	return e->op == want.op && e->flags == want.flags &&
	       memcmp(e->arg, want.arg, sizeof(want.arg)) == 0;
}

static void full_and_empty(void **state)
{
	struct shm_ring s;
	struct vos_entry e;
	(void)state;

	shm_ring_new(&s, 4);
	assert_false(vos_ring_maybe_nonempty(&s.r));
	assert_int_equal(vos_ring_dequeue(&s.r, &e), -EAGAIN);
	for (int lap = 0; lap < 3; lap++) {
		for (uint32_t k = 0; k < 4; k++) {
			make_item(&e, k + 10u * (uint32_t)lap);
			assert_int_equal(vos_ring_enqueue(&s.r, &e), 0);
		}
		make_item(&e, 99);
		assert_int_equal(vos_ring_enqueue(&s.r, &e), -EAGAIN);
		assert_true(vos_ring_maybe_nonempty(&s.r));
		for (uint32_t k = 0; k < 4; k++) {
			assert_int_equal(vos_ring_dequeue(&s.r, &e), 0);
			assert_int_equal(e.id, k + 10u * (uint32_t)lap);  /* FIFO */
			assert_true(item_ok(&e));
		}
		assert_int_equal(vos_ring_dequeue(&s.r, &e), -EAGAIN);
		assert_false(vos_ring_maybe_nonempty(&s.r));
	}
	shm_ring_free(&s);
}

/* ---- concurrent delivery ---- */

struct stress {
	struct vos_ring *r;
	_Atomic uint32_t next_item;     /* producers claim item numbers here */
	_Atomic uint32_t consumed;
	_Atomic uint64_t *seen;         /* bitmap of delivered items */
	_Atomic int errors;
};

static void *producer(void *arg)
{
	struct stress *st = arg;
	struct vos_entry e;

	for (;;) {
		uint32_t k = atomic_fetch_add(&st->next_item, 1);

		if (k >= NITEMS)
			return NULL;
		make_item(&e, k);
		for (;;) {
			int err = vos_ring_enqueue(st->r, &e);

			if (err == 0)
				break;
			if (err != -EAGAIN) {
				atomic_fetch_add(&st->errors, 1);
				return NULL;
			}
			sched_yield();
		}
	}
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void *consumer(void *arg)
{
	struct stress *st = arg;
	struct vos_entry e;
	time_t give_up = now_s() + 60;      /* a dead producer must not hang the test */
	unsigned idle = 0;

	while (atomic_load(&st->consumed) < NITEMS && !atomic_load(&st->errors)) {
		int err = vos_ring_dequeue(st->r, &e);

		if (err == -EAGAIN) {
			if (++idle % 1024 == 0 && now_s() > give_up) {
				atomic_fetch_add(&st->errors, 1);
				return NULL;
			}
			sched_yield();
			continue;
		}
		if (err || !item_ok(&e)) {
			atomic_fetch_add(&st->errors, 1);
			return NULL;
		}
		uint64_t bit = 1ull << (e.id % 64);
		if (atomic_fetch_or(&st->seen[e.id / 64], bit) & bit)
			atomic_fetch_add(&st->errors, 1);      /* delivered twice */
		atomic_fetch_add(&st->consumed, 1);
	}
	return NULL;
}

static _Atomic uint64_t *bitmap_new(void)
{
	_Atomic uint64_t *b = calloc(NITEMS / 64 + 1, sizeof(*b));

	assert_non_null(b);
	return b;
}

static void assert_all_seen(_Atomic uint64_t *seen)
{
	for (uint32_t k = 0; k < NITEMS; k++)
		if (!(atomic_load(&seen[k / 64]) & (1ull << (k % 64))))
			fail_msg("item %u never delivered", k);
}

static void mpmc_threads(void **state)
{
	struct shm_ring s;
	struct stress st = { 0 };
	pthread_t p[NPRODUCERS], c[NCONSUMERS];
	(void)state;

	shm_ring_new(&s, RING_SLOTS);
	st.r = &s.r;
	st.seen = bitmap_new();
	for (int i = 0; i < NCONSUMERS; i++)
		pthread_create(&c[i], NULL, consumer, &st);
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, &st);
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < NCONSUMERS; i++)
		pthread_join(c[i], NULL);

	assert_int_equal(atomic_load(&st.errors), 0);
	assert_int_equal(atomic_load(&st.consumed), NITEMS);
	assert_all_seen(st.seen);
	assert_int_equal(vos_ring_dequeue(&s.r, &(struct vos_entry){ 0 }), -EAGAIN);
	free((void *)st.seen);
	shm_ring_free(&s);
}

/*
 * Producers in a child process, consumers here; the two map the memfd at
 * different addresses.  Under TSan this still runs: each process only sees
 * its own threads, and the two sides meet only through atomics.
 */
static void mpmc_processes(void **state)
{
	struct shm_ring s;
	struct stress st = { 0 };
	pthread_t c[NCONSUMERS];
	(void)state;

	shm_ring_new(&s, RING_SLOTS);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Map it again: a different address, as in the real service. */
		struct vos_ring r;
		void *mem = mmap(NULL, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, 0);
		pthread_t p[NPRODUCERS];
		struct stress pst = { 0 };

		if (mem == MAP_FAILED)
			_exit(2);
		munmap(s.mem, s.size);
		vos_ring_attach(&r, mem, RING_SLOTS);
		pst.r = &r;
		for (int i = 0; i < NPRODUCERS; i++)
			pthread_create(&p[i], NULL, producer, &pst);
		for (int i = 0; i < NPRODUCERS; i++)
			pthread_join(p[i], NULL);
		_exit(atomic_load(&pst.errors) ? 1 : 0);
	}
	st.r = &s.r;
	st.seen = bitmap_new();
	for (int i = 0; i < NCONSUMERS; i++)
		pthread_create(&c[i], NULL, consumer, &st);
	for (int i = 0; i < NCONSUMERS; i++)
		pthread_join(c[i], NULL);
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);

	assert_int_equal(atomic_load(&st.errors), 0);
	assert_int_equal(atomic_load(&st.consumed), NITEMS);
	assert_all_seen(st.seen);
	free((void *)st.seen);
	shm_ring_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_and_empty),
		cmocka_unit_test(mpmc_threads),
		cmocka_unit_test(mpmc_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
