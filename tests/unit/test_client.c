/*
 * test_client.c - the client call engine over a real local transport
 * (memfd + eventfds + Unix socket) against the in-test service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "test_service.h"
#include "channel/transport_xen.h"
#include "common/vos_time.h"

#define CLIENT_THREADS 8
#define CALLS_PER_THREAD 3000

struct caller {
	struct vos_client *c;
	unsigned seed;
	int errors;
	uint64_t calls;
};

/* One echo call: random bytes in, their sum and the reversed bytes out. */
static int echo_once(struct vos_client *c, unsigned *seed)
{
	struct vos_slot *s;
	uint8_t data[200];
	size_t len = (size_t)(rand_r(seed) % sizeof(data)) + 1;
	int64_t sum = 0, res;
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		data[i] = (uint8_t)rand_r(seed);
		sum += data[i];
	}
	if (vos_slot_acquire(c, &s))
		return 1;
	/* Put the input at a nonzero offset so out@0 cannot alias it. */
	memcpy((uint8_t *)vos_slot_buf(s) + 1024, data, len);
	struct vos_req r = { .op = TEST_OP_ECHO, .arg = { (int64_t)len, 0, 1024 } };
	res = vos_slot_call(s, &r);
	if (res != sum)
		bad = 1;
	for (size_t i = 0; i < len && !bad; i++)
		if (((uint8_t *)vos_slot_buf(s))[i] != data[len - 1 - i])
			bad = 1;
	vos_slot_release(s);
	return bad;
}

static void *caller_main(void *arg)
{
	struct caller *k = arg;

	for (int i = 0; i < CALLS_PER_THREAD; i++) {
		if (i % 2 == 0) {
			if (vos_call0(k->c, VOS_OP_NOP, 0, 0, 0) != 0)
				k->errors++;
		} else {
			k->errors += echo_once(k->c, &k->seed);
		}
		k->calls++;
	}
	return NULL;
}

static void run_callers(struct vos_client *c, int nthreads, uint64_t *calls)
{
	pthread_t th[CLIENT_THREADS];
	struct caller k[CLIENT_THREADS];

	for (int i = 0; i < nthreads; i++) {
		k[i] = (struct caller){ .c = c, .seed = 1234u + (unsigned)i };
		pthread_create(&th[i], NULL, caller_main, &k[i]);
	}
	*calls = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].errors, 0);
		*calls += k[i].calls;
	}
}

static void check_counters(struct vos_client *c, uint64_t calls)
{
	struct vos_client_stats st;

	vos_client_stats(c, &st);
	assert_int_equal(st.requests, calls);
	assert_int_equal(st.completions, calls);
	assert_true(st.client_notifies <= st.requests);
	assert_true(st.service_notifies <= st.completions);
	assert_int_equal(st.bad_completions, 0);
	assert_int_equal(st.protocol_errors, 0);
}

/* 8 threads share a channel with fewer slots than threads, so slot waits,
 * the poller hand-over and cross-thread draining all happen. */
static void many_threads_round_trip(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.nslots = 4;
	cfg.spin = 50;      /* sleep often: exercise the wake-up protocol */
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	assert_memory_equal(vos_client_token(c), test_token, VOS_TOKEN_LEN);
	assert_int_equal(vos_client_slot_size(c), VOS_DEFAULT_SLOT_SIZE);

	uint64_t calls;
	run_callers(c, CLIENT_THREADS, &calls);
	assert_int_equal(calls, (uint64_t)CLIENT_THREADS * CALLS_PER_THREAD);
	check_counters(c, calls);
	assert_false(vos_client_dead(c));

	vos_client_close(c);
	test_svc_stop(&svc);
	assert_int_equal(svc.status, 0);
	assert_int_equal(atomic_load(&svc.handled), calls);
}

/* The service in another process: nothing shared but the memfd. */
static void forked_service_round_trip(void **state)
{
	char rundir[] = "/tmp/vos-unit-XXXXXX";
	int pipefd[2];
	(void)state;

	assert_non_null(mkdtemp(rundir));
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct test_svc svc;

		memset(&svc, 0, sizeof(svc));
		strcpy(svc.rundir, rundir);
		svc.mode = SVC_NORMAL;
		svc.nworkers = 2;
		svc.spin = 200;
		svc.lfd = vos_local_listen(rundir, "storage");
		if (write(pipefd[1], "x", 1) != 1 || svc.lfd < 0)
			_exit(2);
		test_svc_main(&svc);
		_exit(svc.status == 0 && atomic_load(&svc.handled) == 2 * CALLS_PER_THREAD ? 0 : 1);
	}
	char ch;
	assert_int_equal(read(pipefd[0], &ch, 1), 1);
	close(pipefd[0]);
	close(pipefd[1]);

	struct vos_client_config cfg = {
		.rundir = rundir, .service = "storage", .kind = VOS_SVC_STORAGE, .spin = 100,
	};
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	uint64_t calls;
	run_callers(c, 2, &calls);
	assert_int_equal(calls, 2 * CALLS_PER_THREAD);
	check_counters(c, calls);
	vos_client_close(c);

	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	/* The child served exactly the calls we made. */
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	test_rundir_remove(rundir);
}

static void connect_without_service_fails(void **state)
{
	char rundir[] = "/tmp/vos-unit-XXXXXX";
	(void)state;

	assert_non_null(mkdtemp(rundir));
	struct vos_client_config cfg = { .rundir = rundir, .service = "storage", .kind = VOS_SVC_STORAGE };
	errno = 0;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
	assert_int_equal(errno, ENOENT);

	cfg.nslots = 3;      /* not a power of two */
	errno = 0;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
	assert_int_equal(errno, EINVAL);
	rmdir(rundir);
}

/* exec support: another client object takes the channel over from the
 * descriptors alone; a process that is not the channel's owner may not. */
static void adopt_takes_over_channel(void **state)
{
	struct test_svc svc;
	int fds[4], dups[4];
	uint8_t tok[VOS_TOKEN_LEN];
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 1), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);

	vos_client_fds(c, fds);
	for (int i = 0; i < 4; i++) {
		assert_true(fds[i] >= 0);
		dups[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		assert_true(dups[i] >= 0);
	}
	assert_int_equal(vos_client_peek_token(dups, tok), 0);
	assert_memory_equal(tok, test_token, VOS_TOKEN_LEN);

	/* A child process is not the channel's owner. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		errno = 0;
		struct vos_client *x = vos_client_adopt(&cfg, dups);
		_exit(x == NULL && errno == ESRCH ? 0 : 1);
	}
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);

	/* Our own view of the header, through the memfd. */
	struct vos_channel_hdr *h = mmap(NULL, VOS_PAGE_SIZE, PROT_READ, MAP_SHARED, dups[1], 0);
	assert_true(h != MAP_FAILED);
	uint32_t epoch = h->client_epoch;
	/* The old image disappears without a word (as across exec). */
	vos_client_abandon(c);
	struct vos_client *c2 = vos_client_adopt(&cfg, dups);
	assert_non_null(c2);
	assert_int_equal(h->client_epoch, epoch + 1);
	munmap(h, VOS_PAGE_SIZE);
	for (int i = 0; i < 100; i++)
		assert_int_equal(vos_call0(c2, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(vos_call0(c2, 999, 0, 0, 0), -ENOSYS);
	vos_client_close(c2);
	test_svc_stop(&svc);
	assert_int_equal(svc.status, 0);
}

/* The transport is a choice by name: cfg->transport, else $VOS_TRANSPORT,
 * else "local"; an unknown name is an error, never a silent fallback. */
static void transport_choice(void **state)
{
	struct test_svc svc;
	int fds[4];
	uint8_t tok[VOS_TOKEN_LEN];
	(void)state;

	unsetenv("VOS_TRANSPORT");
	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 1), 0);
	struct vos_client_config cfg = test_cfg(&svc);

	static const char *const bad[] = { "bogus", "", "LOCAL", "xen " };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.transport = bad[i];
		errno = 0;
		assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
		assert_int_equal(errno, EINVAL);
	}
	cfg.transport = NULL;
	assert_int_equal(setenv("VOS_TRANSPORT", "bogus", 1), 0);
	errno = 0;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
	assert_int_equal(errno, EINVAL);
	/* local needs its run directory */
	cfg.transport = "local";
	cfg.rundir = NULL;
	errno = 0;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
	assert_int_equal(errno, EINVAL);

	/* An empty VOS_TRANSPORT counts as unset: local. */
	cfg = test_cfg(&svc);
	assert_int_equal(setenv("VOS_TRANSPORT", "", 1), 0);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_fds(c, fds);

	/* The descriptors of a local channel are no Xen channel; a refused
	 * adoption leaves them open. */
	cfg.transport = "xen";
	errno = 0;
	assert_null(vos_client_adopt(&cfg, fds));
	assert_int_equal(errno, EPROTO);
	cfg.transport = "bogus";
	errno = 0;
	assert_null(vos_client_adopt(&cfg, fds));
	assert_int_equal(errno, EINVAL);
	for (int i = 0; i < 4; i++)
		assert_true(fcntl(fds[i], F_GETFD) >= 0);

	/* peek_token reads the channel with $VOS_TRANSPORT's transport. */
	assert_int_equal(setenv("VOS_TRANSPORT", "xen", 1), 0);
	assert_int_equal(vos_client_peek_token(fds, tok), -EPROTO);
	assert_int_equal(setenv("VOS_TRANSPORT", "bogus", 1), 0);
	assert_int_equal(vos_client_peek_token(fds, tok), -EINVAL);
	assert_int_equal(setenv("VOS_TRANSPORT", "local", 1), 0);
	assert_int_equal(vos_client_peek_token(fds, tok), 0);
	assert_memory_equal(tok, test_token, VOS_TOKEN_LEN);
	unsetenv("VOS_TRANSPORT");
	assert_int_equal(vos_client_peek_token(fds, tok), 0);

	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
	test_svc_stop(&svc);
	assert_int_equal(svc.status, 0);

	/* Without Xen (this host, usually) the Xen transport fails cleanly. */
	if (!vos_xen_present()) {
		cfg.transport = "xen";
		errno = 0;
		assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
		assert_true(errno != 0);
	}
}

/* What the interposer does to move a channel to high descriptor numbers:
 * adopt it from duplicates, then abandon the first client in the same
 * process.  Only the first client's copies close; the channel lives on. */
static void abandon_after_adopting_duplicates(void **state)
{
	struct test_svc svc;
	int fds[4], dups[4];
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 1), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	vos_client_fds(c, fds);
	for (int i = 0; i < 4; i++) {
		dups[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
		assert_true(dups[i] >= 100);
	}
	struct vos_client *c2 = vos_client_adopt(&cfg, dups);
	assert_non_null(c2);
	vos_client_abandon(c);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(vos_call0(c2, VOS_OP_NOP, 0, 0, 0), 0);
	assert_false(vos_client_dead(c2));
	vos_client_close(c2);
	test_svc_stop(&svc);
	assert_int_equal(svc.status, 0);
	assert_int_equal(atomic_load(&svc.handled), 100);
}

static void *blocking_call(void *arg)
{
	struct inflight_res { struct vos_client *c; int64_t res; } *k = arg;

	k->res = vos_call0(k->c, TEST_OP_BLOCK, 0, 0, 0);
	return NULL;
}

/* Poll (bounded) until *v reaches want; 1 if it did. */
static int wait_count(_Atomic uint64_t *v, uint64_t want, int max_ms)
{
	for (int i = 0; i < max_ms * 10; i++) {
		if (atomic_load(v) >= want)
			return 1;
		usleep(100);
	}
	return atomic_load(v) >= want;
}

/* Submit r on s and poll it (bounded, never parking): 1 if it completed. */
static int call_within(struct vos_slot *s, const struct vos_req *r, int max_ms, int64_t *res)
{
	assert_int_equal(vos_slot_submit(s, r), 0);
	for (int i = 0; i < max_ms * 10; i++) {
		if (vos_slot_poll(s)) {
			*res = vos_slot_wait(s);
			return 1;
		}
		usleep(100);
	}
	return 0;
}

/*
 * A request that blocks its worker (a read on an empty FIFO, a lock wait)
 * must not hold up the request that would unblock it: the other worker has
 * to be woken even when the client saw a worker spinning and did not kick.
 * The service's periodic wake-up is off, so a missing hand-off leaves the
 * RELEASE unanswered (a failure after 10 s) instead of answered a second
 * late; each RELEASE is sent only once the BLOCK has started.
 */
static void blocked_worker_does_not_stall_others(void **state)
{
	struct test_svc svc;
	(void)state;

	test_svc_init(&svc, SVC_NORMAL, 2);
	svc.worker_wait_ms = -1;
	assert_int_equal(test_svc_run(&svc), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	for (int i = 0; i < 200; i++) {
		struct { struct vos_client *c; int64_t res; } k = { c, -1 };
		struct vos_req rel = { .op = TEST_OP_RELEASE };
		struct vos_slot *s;
		pthread_t th;
		int64_t res = -1;

		pthread_create(&th, NULL, blocking_call, &k);
		assert_true(wait_count(&svc.blocks_started, (uint64_t)i + 1, 10000));
		assert_int_equal(vos_slot_acquire(c, &s), 0);
		assert_true(call_within(s, &rel, 10000, &res));
		assert_int_equal(res, 0);
		vos_slot_release(s);
		pthread_join(th, NULL);
		assert_int_equal(k.res, 0);
	}
	vos_client_close(c);
	test_svc_stop(&svc);
}

/* Several calls in flight from one thread, on several slots and on two
 * clients: submit all, poll until all are done, then collect. */
static void submit_poll_wait_several_slots(void **state)
{
	struct test_svc svc[2];
	struct vos_client *c[2];
	struct vos_slot *s[2][3];
	uint8_t data[2][3][64];
	int64_t sum[2][3];
	(void)state;

	for (int k = 0; k < 2; k++) {
		assert_int_equal(test_svc_start(&svc[k], SVC_NORMAL, 2), 0);
		struct vos_client_config cfg = test_cfg(&svc[k]);
		c[k] = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
		assert_non_null(c[k]);
	}
	for (int round = 0; round < 50; round++) {
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < 3; i++) {
				struct vos_req r = { .op = TEST_OP_ECHO, .arg = { 64, 0, 1024 } };

				assert_int_equal(vos_slot_acquire(c[k], &s[k][i]), 0);
				assert_int_equal(vos_slot_wait(s[k][i]), -EINVAL);  /* nothing in flight */
				assert_true(vos_slot_poll(s[k][i]));
				sum[k][i] = 0;
				for (int j = 0; j < 64; j++) {
					data[k][i][j] = (uint8_t)(round * 7 + k * 31 + i * 13 + j);
					sum[k][i] += data[k][i][j];
				}
				memcpy((uint8_t *)vos_slot_buf(s[k][i]) + 1024, data[k][i], 64);
				assert_int_equal(vos_slot_submit(s[k][i], &r), 0);
				/* A slot in flight takes no second request. */
				assert_int_equal(vos_slot_submit(s[k][i], &r), -EINVAL);
			}
		}
		int open = 6;
		for (int spins = 0; open && spins < 1000000; spins++) {
			open = 0;
			for (int k = 0; k < 2; k++)
				for (int i = 0; i < 3; i++)
					open += !vos_slot_poll(s[k][i]);
			if (open)
				usleep(10);
		}
		assert_int_equal(open, 0);
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < 3; i++) {
				assert_int_equal(vos_slot_wait(s[k][i]), sum[k][i]);
				for (int j = 0; j < 64; j++)
					assert_int_equal(((uint8_t *)vos_slot_buf(s[k][i]))[j],
							 data[k][i][63 - j]);
				vos_slot_release(s[k][i]);
			}
		}
	}
	for (int k = 0; k < 2; k++) {
		check_counters(c[k], 50 * 3);
		vos_client_close(c[k]);
		test_svc_stop(&svc[k]);
	}
}

/* ---- a waiter that counts what the engine asks of it ---- */

struct counted_thread {
	_Atomic uint64_t currents, parks, unparks;
};

static _Thread_local struct counted_thread *me_counted;

static void *counted_current(void *ctx)
{
	(void)ctx;
	if (me_counted)
		atomic_fetch_add(&me_counted->currents, 1);
	return me_counted;
}

static void counted_park(void *ctx, void *token, _Atomic uint32_t *word, uint32_t seen, int timeout_ms)
{
	struct counted_thread *t = token;
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	(void)ctx;
	if (t)
		atomic_fetch_add(&t->parks, 1);
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen,
		timeout_ms >= 0 ? &ts : NULL, NULL, 0);
}

static void counted_unpark(void *ctx, void *token, _Atomic uint32_t *word)
{
	struct counted_thread *t = token;

	(void)ctx;
	if (t)
		atomic_fetch_add(&t->unparks, 1);
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static const struct vos_waiter_ops counted_waiter = {
	.current = counted_current, .park = counted_park, .unpark = counted_unpark,
};

struct counted_call {
	struct vos_client *c;
	struct counted_thread t;
	int64_t res;
};

static void *counted_blocking_call(void *arg)
{
	struct counted_call *k = arg;

	me_counted = &k->t;
	k->res = vos_call0(k->c, TEST_OP_BLOCK, 0, 0, 0);
	return NULL;
}

/*
 * Per-slot wake-ups, through the waiter hooks.  Two callers block in the
 * service: one of them is the poller (sleeps in the transport), the other
 * parks (through our waiter).  Many calls of a third thread complete
 * meanwhile; none of them may unpark the parked caller (a broadcast would
 * wake it once per completion).  Its own completion must.
 */
static void completions_wake_only_their_owner(void **state)
{
	struct test_svc svc;
	struct counted_call k[2];
	pthread_t th[2];
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 3), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.spin = 1;           /* go to the sleep phase at once */
	cfg.waiter = &counted_waiter;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	for (int i = 0; i < 2; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].c = c;
		k[i].res = -1;
		pthread_create(&th[i], NULL, counted_blocking_call, &k[i]);
	}
	assert_true(wait_count(&svc.blocks_started, 2, 10000));
	/* One of them parks (the other holds the poller role). */
	struct counted_thread *parked = NULL;
	for (int i = 0; i < 100000 && !parked; i++) {
		for (int j = 0; j < 2; j++)
			if (atomic_load(&k[j].t.parks) > 0)
				parked = &k[j].t;
		if (!parked)
			usleep(100);
	}
	assert_non_null(parked);
	assert_true(atomic_load(&parked->currents) >= 1);
	uint64_t before = atomic_load(&parked->unparks);

	/* Our own calls park too (spin 1) and are unparked by completions:
	 * they count on our token, never on the parked caller's. */
	struct counted_thread mine = { 0 };
	me_counted = &mine;
	for (int i = 0; i < 300; i++)
		assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(atomic_load(&parked->unparks), before);

	assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
	assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
	me_counted = NULL;
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].res, 0);
	}
	/* The parked caller was woken: by its completion or to take over
	 * polling when the poller's call completed first. */
	assert_true(atomic_load(&parked->unparks) > before);
	struct vos_client_stats st;
	vos_client_stats(c, &st);
	assert_true(st.unparks >= 1);
	assert_int_equal(st.bad_completions, 0);
	vos_client_close(c);
	test_svc_stop(&svc);
}

/* Slots run out: waiters for a free slot park through the waiter too, and
 * every one of them gets a slot in the end. */
static void slot_waiters_park_and_get_slots(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.nslots = 2;         /* one for calls, one kept for CANCEL */
	cfg.waiter = &counted_waiter;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	struct counted_call k = { .c = c, .res = -1 };
	pthread_t th;
	pthread_create(&th, NULL, counted_blocking_call, &k);
	assert_true(wait_count(&svc.blocks_started, 1, 10000));
	/* The only call slot is taken: a second caller parks in acquire until
	 * the BLOCK's slot comes back.  Release it from a slot-less path: the
	 * test service's RELEASE needs a slot too, so post the semaphore. */
	struct counted_call w = { .c = c, .res = -1 };
	pthread_t tw;
	pthread_create(&tw, NULL, counted_blocking_call, &w);
	for (int i = 0; i < 100000 && atomic_load(&w.t.parks) == 0; i++)
		usleep(100);
	assert_true(atomic_load(&w.t.parks) >= 1);
	sem_post(&svc.release);
	pthread_join(th, NULL);
	assert_int_equal(k.res, 0);
	assert_true(wait_count(&svc.blocks_started, 2, 10000));
	assert_true(atomic_load(&w.t.unparks) >= 1);
	sem_post(&svc.release);
	pthread_join(tw, NULL);
	assert_int_equal(w.res, 0);
	vos_client_close(c);
	test_svc_stop(&svc);
}

/* A call that waits far longer than the death bound, on a service whose
 * heartbeat ticks, succeeds: calls have no deadline. */
static void long_call_outlives_dead_bound(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.dead_after_ms = 500;       /* ten of the fake's heartbeats */
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	struct { struct vos_client *c; int64_t res; } k = { c, -1 };
	pthread_t th;
	pthread_create(&th, NULL, blocking_call, &k);
	assert_true(wait_count(&svc.blocks_started, 1, 10000));
	uint64_t t0 = vos_now_ms();
	while (vos_now_ms() - t0 < 4 * 500)     /* a duration, not an ordering */
		usleep(10000);
	assert_false(vos_client_dead(c));
	assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
	pthread_join(th, NULL);
	assert_int_equal(k.res, 0);
	assert_false(vos_client_dead(c));
	vos_client_close(c);
	test_svc_stop(&svc);
}

/* The poller role as an API: an outside loop polls the event fd and
 * drains; the engine's own waiters then find their results. */
static void outside_poller_drives_the_channel(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 1), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	int fd = vos_client_event_fd(c);
	assert_true(fd >= 0);
	assert_true(vos_client_poll_interval_ms(c) > 0);

	for (int i = 0; i < 100; i++) {
		struct vos_req r = { .op = VOS_OP_NOP };
		struct vos_slot *s;
		int got = 0;

		assert_int_equal(vos_slot_acquire(c, &s), 0);
		assert_int_equal(vos_slot_submit(s, &r), 0);
		for (int tries = 0; tries < 1000 && !vos_slot_poll(s); tries++) {
			int role = vos_client_poll_begin(c);

			assert_true(role == 1);     /* nobody else polls here */
			if (!vos_slot_poll(s)) {
				struct pollfd p = { .fd = fd, .events = POLLIN };
				poll(&p, 1, vos_client_poll_interval_ms(c));
			}
			got += vos_client_poll_end(c) >= 0;
		}
		assert_true(vos_slot_poll(s));
		assert_int_equal(vos_slot_wait(s), 0);
		vos_slot_release(s);
		(void)got;
	}
	assert_true(vos_client_drain(c) >= 0);
	assert_false(vos_client_dead(c));
	vos_client_close(c);
	test_svc_stop(&svc);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* Signals delivered to a thread blocked in a call must not make it fail. */
static void signals_do_not_fail_calls(void **state)
{
	struct test_svc svc;
	struct sigaction sa = { .sa_handler = on_signal }, old;
	(void)state;

	sigemptyset(&sa.sa_mask);      /* no SA_RESTART: the wait sees EINTR */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.spin = 1;                  /* go to sleep in the transport at once */
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	struct { struct vos_client *c; int64_t res; } k = { c, -1 };
	pthread_t th;
	pthread_create(&th, NULL, blocking_call, &k);
	for (int i = 0; i < 50; i++) {
		pthread_kill(th, SIGUSR1);
		usleep(2000);
	}
	assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
	pthread_join(th, NULL);
	assert_int_equal(k.res, 0);
	assert_false(vos_client_dead(c));

	vos_client_close(c);
	test_svc_stop(&svc);
	sigaction(SIGUSR1, &old, NULL);
}

/* The exit-time call (vos_client_call_at_exit): answered, it returns the
 * result; on a service that does not answer it gives up at its bound with
 * -ETIMEDOUT (never hangs an exit), the call left in flight. */
static void call_at_exit_is_bounded(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	assert_int_equal(vos_client_call_at_exit(c, VOS_OP_NOP, 0, 5000), 0);
	assert_int_equal(vos_client_call_at_exit(c, TEST_OP_BLOCK, 0, 100), -ETIMEDOUT);
	assert_true(wait_count(&svc.blocks_started, 1, 10000));
	assert_false(vos_client_dead(c));
	assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
	test_svc_stop(&svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(many_threads_round_trip),
		cmocka_unit_test(forked_service_round_trip),
		cmocka_unit_test(connect_without_service_fails),
		cmocka_unit_test(adopt_takes_over_channel),
		cmocka_unit_test(transport_choice),
		cmocka_unit_test(abandon_after_adopting_duplicates),
		cmocka_unit_test(blocked_worker_does_not_stall_others),
		cmocka_unit_test(submit_poll_wait_several_slots),
		cmocka_unit_test(completions_wake_only_their_owner),
		cmocka_unit_test(slot_waiters_park_and_get_slots),
		cmocka_unit_test(long_call_outlives_dead_bound),
		cmocka_unit_test(outside_poller_drives_the_channel),
		cmocka_unit_test(signals_do_not_fail_calls),
		cmocka_unit_test(call_at_exit_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
