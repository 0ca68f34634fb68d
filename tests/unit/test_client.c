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
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "test_service.h"
#include "channel/transport_xen.h"

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

/*
 * A request that blocks its worker (a read on an empty FIFO, a lock wait)
 * must not hold up the request that would unblock it: the other worker has
 * to be woken even when the client saw a worker spinning and did not kick.
 */
static void blocked_worker_does_not_stall_others(void **state)
{
	struct test_svc svc;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_NORMAL, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.call_timeout_ms = 20000;   /* a stall would show as -EIO, not a hang */
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	for (int i = 0; i < 300; i++) {
		struct { struct vos_client *c; int64_t res; } k = { c, -1 };
		pthread_t th;

		pthread_create(&th, NULL, blocking_call, &k);
		assert_int_equal(vos_call0(c, TEST_OP_RELEASE, 0, 0, 0), 0);
		pthread_join(th, NULL);
		assert_int_equal(k.res, 0);
	}
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
		cmocka_unit_test(signals_do_not_fail_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
