/*
 * test_service.h - a small in-test service for the unit tests: listens in a
 * temporary run directory, accepts one client, serves its channel with a
 * few worker threads.  It speaks only two operations:
 *
 *   VOS_OP_NOP      -> 0
 *   TEST_OP_ECHO    len, data@a2 -> sum of the bytes; the bytes reversed out@0
 *   TEST_OP_BLOCK   -> 0 once a TEST_OP_RELEASE has run (holds its worker;
 *                      like the daemon before a call that may block, it
 *                      first calls vos_channel_worker_idle, then counts
 *                      itself in blocks_started)
 *   TEST_OP_RELEASE -> 0, lets one TEST_OP_BLOCK finish
 *
 * It ticks the header's heartbeat every TEST_HEARTBEAT_MS as the daemon's
 * shadow does (except in SVC_SILENT), and can misbehave on purpose (mode)
 * to exercise the client's defences.
 *
 * test_svc_start = test_svc_init + test_svc_run; set fields (worker_wait_ms)
 * in between.
 * Header-only so every test program can use it (the Makefile links each
 * tests/unit/test_*.c on its own).
 */
#ifndef TEST_SERVICE_H
#define TEST_SERVICE_H

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "channel/channel.h"
#include "channel/transport_local.h"
#include "client/client.h"

#define TEST_OP_ECHO    0x7e01
#define TEST_OP_BLOCK   0x7e02
#define TEST_OP_RELEASE 0x7e03
#define TEST_MAX_WORKERS 8
#define TEST_HEARTBEAT_MS 50

enum svc_mode {
	SVC_NORMAL,     /* answer everything correctly */
	SVC_FORGE,      /* before each real answer, post forged ones (bad slot, bad generation) */
	SVC_SILENT,     /* take requests, never answer, no heartbeat: a hung service */
	SVC_HANGUP,     /* hang up the socket on the first request, never answer */
};

struct test_svc {
	char rundir[64];
	int lfd;
	enum svc_mode mode;
	int nworkers;
	unsigned spin;
	pthread_t main_thread;
	pthread_t workers[TEST_MAX_WORKERS];
	pthread_t ticker;
	int worker_wait_ms;            /* ch.worker_wait_ms: 0 default, < 0 never */
	int ticking;                   /* the ticker runs until this is cleared */
	struct vos_xport *xp;
	struct vos_channel ch;
	int stop;
	int status;                    /* accept/attach/open result of the main thread */
	_Atomic uint64_t handled;      /* requests taken off the ring */
	_Atomic uint64_t blocks_started;       /* TEST_OP_BLOCKs waiting for a release */
	sem_t release;                 /* TEST_OP_RELEASE -> TEST_OP_BLOCK */
};

static const uint8_t test_token[VOS_TOKEN_LEN] = "unit-test-token";

static int64_t test_echo(struct vos_channel *ch, const struct vos_entry *req)
{
	uint32_t slot = VOS_ID_SLOT(req->id);
	int64_t len = req->arg[0], off = req->arg[2], sum = 0;
	uint8_t tmp[VOS_MAX_SLOT_SIZE / 64];
	uint8_t *buf;

	if (slot >= ch->nslots || !vos_slot_range_ok(ch, off, len) || (uint64_t)len > sizeof(tmp))
		return -EINVAL;
	buf = vos_channel_slot(ch, slot);
	memcpy(tmp, buf + off, (size_t)len);       /* copy once, then use the copy */
	for (int64_t i = 0; i < len; i++) {
		sum += tmp[i];
		buf[i] = tmp[len - 1 - i];
	}
	return sum;
}

static void *test_svc_worker(void *arg)
{
	struct test_svc *t = arg;
	struct vos_entry req;
	int hung_up = 0;

	for (;;) {
		int err = vos_channel_next_request(&t->ch, &req, t->spin, &t->stop);

		if (err)
			break;
		atomic_fetch_add(&t->handled, 1);
		switch (t->mode) {
		case SVC_SILENT:
			continue;
		case SVC_HANGUP:
			if (!hung_up) {
				struct vos_local_fds f;

				vos_local_get_fds(t->xp, &f);
				shutdown(f.sock, SHUT_RDWR);
				hung_up = 1;
			}
			continue;
		case SVC_FORGE: {
			struct vos_entry bad = req;

			bad.arg[0] = 666;
			bad.id = VOS_ID(VOS_ID_SLOT_MASK, VOS_ID_GEN(req.id));   /* slot out of range */
			vos_channel_complete(&t->ch, &bad);
			bad.id = VOS_ID(VOS_ID_SLOT(req.id), VOS_ID_GEN(req.id) ^ 0x5555);  /* wrong generation */
			vos_channel_complete(&t->ch, &bad);
			break;
		}
		case SVC_NORMAL:
			break;
		}
		if (req.op == VOS_OP_NOP)
			req.arg[0] = 0;
		else if (req.op == TEST_OP_ECHO)
			req.arg[0] = test_echo(&t->ch, &req);
		else if (req.op == TEST_OP_BLOCK) {
			vos_channel_worker_idle(&t->ch);
			atomic_fetch_add(&t->blocks_started, 1);
			req.arg[0] = sem_wait(&t->release) ? -errno : 0;
		}
		else if (req.op == TEST_OP_RELEASE)
			req.arg[0] = sem_post(&t->release) ? -errno : 0;
		else
			req.arg[0] = -ENOSYS;
		if (vos_channel_complete(&t->ch, &req))
			break;
	}
	return NULL;
}

static void *test_svc_ticker(void *arg)
{
	struct test_svc *t = arg;
	struct timespec ts = { 0, TEST_HEARTBEAT_MS * 1000000L };

	while (__atomic_load_n(&t->ticking, __ATOMIC_RELAXED)) {
		atomic_fetch_add(&t->ch.hdr->heartbeat, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *test_svc_main(void *arg)
{
	struct test_svc *t = arg;
	struct vos_local_conn conn;
	struct vos_hello_reply rep = { .status = 0 };
	int err;

	err = vos_local_accept(t->lfd, &conn);
	if (!err) {
		err = vos_local_attach(&conn, 64u << 20, &t->xp);
		if (err)
			vos_local_conn_close(&conn);
	}
	if (!err) {
		err = vos_channel_open(&t->ch, t->xp, VOS_SVC_STORAGE);
		if (!err) {
			t->ch.worker_wait_ms = t->worker_wait_ms;
			struct vos_local_fds f;

			vos_local_get_fds(t->xp, &f);
			memcpy(t->ch.hdr->token, test_token, VOS_TOKEN_LEN);
			memcpy(rep.token, test_token, VOS_TOKEN_LEN);
			conn.sock = f.sock;
			err = vos_local_reply(&conn, &rep);
		}
	}
	t->status = err;
	if (err)
		return NULL;
	t->ticking = t->mode != SVC_SILENT;
	if (t->ticking)
		pthread_create(&t->ticker, NULL, test_svc_ticker, t);
	for (int i = 0; i < t->nworkers; i++)
		pthread_create(&t->workers[i], NULL, test_svc_worker, t);
	for (int i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	if (t->ticking) {
		__atomic_store_n(&t->ticking, 0, __ATOMIC_RELAXED);
		pthread_join(t->ticker, NULL);
	}
	t->xp->ops->close(t->xp);
	t->xp = NULL;
	return NULL;
}

/* Set up a service that will serve one client (not running yet). */
static void test_svc_init(struct test_svc *t, enum svc_mode mode, int nworkers)
{
	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->nworkers = nworkers < 1 ? 1 : nworkers > TEST_MAX_WORKERS ? TEST_MAX_WORKERS : nworkers;
	t->spin = 200;
}

/* Listen and serve (in a thread); 0 or -errno. */
static int test_svc_run(struct test_svc *t)
{
	strcpy(t->rundir, "/tmp/vos-unit-XXXXXX");
	if (!mkdtemp(t->rundir))
		return -errno;
	sem_init(&t->release, 0, 0);
	t->lfd = vos_local_listen(t->rundir, "storage");
	if (t->lfd < 0)
		return t->lfd;
	pthread_create(&t->main_thread, NULL, test_svc_main, t);
	return 0;
}

/* Start a service that serves one client; 0 or -errno. */
static int test_svc_start(struct test_svc *t, enum svc_mode mode, int nworkers)
{
	test_svc_init(t, mode, nworkers);
	return test_svc_run(t);
}

static void test_rundir_remove(const char *rundir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/storage.sock", rundir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/storage.remote-fd", rundir);
	unlink(path);
	rmdir(rundir);
}

/* Stop the service: normally after the client closed (workers then see
 * -EPIPE); otherwise workers notice `stop` within their 1 s wait. */
static void test_svc_stop(struct test_svc *t)
{
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
	shutdown(t->lfd, SHUT_RDWR);   /* wakes an accept() still waiting */
	pthread_join(t->main_thread, NULL);
	close(t->lfd);
	sem_destroy(&t->release);
	test_rundir_remove(t->rundir);
}

static struct vos_client_config test_cfg(const struct test_svc *t)
{
	struct vos_client_config cfg = {
		.rundir = t->rundir,
		.service = "storage",
		.kind = VOS_SVC_STORAGE,
	};
	return cfg;
}

#endif
