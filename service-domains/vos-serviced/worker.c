/*
 * worker.c - a shadow's worker threads.
 *
 * Each worker takes a request (spinning, then sleeping on the transport),
 * executes it and posts the completion with the same id and op.  Any worker
 * may take any request, so a call that blocks (a lock wait, a FIFO) holds
 * one worker while the others go on.
 *
 * Workers grow on demand: a request about to wait (optable.c) counts itself
 * in nwaiting; when that would leave no worker free for the next request,
 * one more is started, up to max_workers (--max-workers).  At the bound
 * vos_worker_wait_begin says no: a blocking lock request is then tried
 * without waiting and fails with ENOLCK if the lock is taken (ops_fs.c),
 * so the last free worker always stays free.  Grown workers stay (a shadow
 * lives as long as its client); a forked shadow starts with --workers.  Workers never stop by themselves
 * except when the channel is unusable; the shadow ends by _exit from its
 * control thread, which ends every thread at once.
 *
 * The EXEC barrier (struct vos_barrier in serviced.h) is checked at the top
 * of the loop: one atomic load while no barrier is up.  Each request is
 * bracketed by vos_cancel_begin/end (cancel.c), so VOS_OP_CANCEL can find
 * the worker executing it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serviced.h"

/* How often a waiting EXEC kicks workers asleep on the ring. */
#define BARRIER_KICK_MS 10

/* Lock held: the caller holds no request; count it as crossed.  ob is NULL
 * for a caller that is not a worker (it has nothing to count). */
static void cross(struct vos_barrier *b, struct vos_opbuf *ob)
{
	if (!ob || ob->epoch == b->epoch)
		return;
	ob->epoch = b->epoch;
	if (b->raised && b->uncrossed > 0 && --b->uncrossed == 0)
		pthread_cond_broadcast(&b->cond);
}

/* Top of a worker's loop: cross a raised barrier, wait while it is up. */
static void barrier_check(struct vos_shadow *sh, struct vos_opbuf *ob)
{
	struct vos_barrier *b = &sh->bar;

	if (__atomic_load_n(&b->epoch, __ATOMIC_ACQUIRE) == ob->epoch)
		return;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		cross(b, ob);           /* again after each wake: a new EXEC may have raised it */
		if (!b->raised)
			break;
		pthread_cond_wait(&b->cond, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int vos_exec_barrier_raise(struct vos_shadow *sh, struct vos_opbuf *ob)
{
	struct vos_barrier *b = &sh->bar;
	struct timespec deadline, now, tick;

	deadline_after(&deadline, VOS_EXEC_BARRIER_MS);
	pthread_mutex_lock(&b->lock);
	/* Another EXEC's barrier (only a broken client sends two at once):
	 * this worker holds nothing that writes a slot, so it counts as
	 * crossed for that one, then raises its own. */
	while (b->raised) {
		cross(b, ob);
		if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&b->lock);
			vos_log("exec barrier: another exec kept it raised");
			return 0;
		}
	}
	__atomic_store_n(&b->epoch, b->epoch + 1, __ATOMIC_RELEASE);
	b->raised = 1;
	/* A worker raising it has crossed already; another thread waits for all. */
	if (ob)
		ob->epoch = b->epoch;
	b->uncrossed = ob ? sh->nworkers - 1 : sh->nworkers;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);      /* idle workers come out */
	while (b->uncrossed > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!before(&now, &deadline))
			break;
		/* Wake workers asleep on the ring; one that went to sleep just
		 * after a kick was consumed gets the next one. */
		pthread_mutex_unlock(&b->lock);
		if (sh->ch.xp->ops->wake_local)
			sh->ch.xp->ops->wake_local(sh->ch.xp);
		pthread_mutex_lock(&b->lock);
		deadline_after(&tick, BARRIER_KICK_MS);
		if (before(&deadline, &tick))
			tick = deadline;
		if (b->uncrossed > 0)
			pthread_cond_timedwait(&b->cond, &b->lock, &tick);
	}
	if (b->uncrossed > 0)
		vos_log("exec barrier: %u request(s) still running after %d ms",
			b->uncrossed, VOS_EXEC_BARRIER_MS);
	pthread_mutex_unlock(&b->lock);
	return 1;
}

void vos_exec_barrier_lower(struct vos_shadow *sh)
{
	struct vos_barrier *b = &sh->bar;

	pthread_mutex_lock(&b->lock);
	b->raised = 0;
	b->uncrossed = 0;
	__atomic_store_n(&sh->stop, 0, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* A fresh barrier (also in a forked shadow, whose copy may be mid-use). */
static int barrier_init(struct vos_shadow *sh)
{
	struct vos_barrier *b = &sh->bar;
	pthread_condattr_t ca;

	memset(b, 0, sizeof *b);
	sh->stop = 0;
	if (pthread_mutex_init(&b->lock, NULL) != 0)
		return -ENOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int err = pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	return err ? -err : 0;
}

/* What a new worker is started with: the barrier epoch it counts as having
 * crossed (the one current when it was counted in nworkers). */
struct worker_start {
	struct vos_shadow *sh;
	uint64_t epoch;
};

/* A new worker's first step: it was counted in nworkers under the barrier
 * lock at `epoch`.  A barrier raised since counts it as uncrossed (cross it
 * now); one still up at that epoch did not count it, but it must not take
 * requests either: wait until it is lowered. */
static void barrier_join(struct vos_shadow *sh, struct vos_opbuf *ob, uint64_t epoch)
{
	struct vos_barrier *b = &sh->bar;

	pthread_mutex_lock(&b->lock);
	ob->epoch = epoch;
	for (;;) {
		cross(b, ob);
		if (!b->raised)
			break;
		pthread_cond_wait(&b->cond, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

static void *worker_main(void *arg)
{
	struct worker_start *start = arg;
	struct vos_shadow *sh = start->sh;
	uint64_t epoch = start->epoch;
	struct vos_opbuf *ob = calloc(1, sizeof *ob);
	uint8_t *scratch = malloc(sh->ch.slot_size);

	free(start);
	if (!ob || !scratch) {
		free(ob);
		free(scratch);
		vos_shadow_end(sh, -ENOMEM);
		return NULL;
	}
	ob->scratch = scratch;
	ob->cancel = vos_cancel_register(sh);
	barrier_join(sh, ob, epoch);

	for (;;) {
		struct vos_entry req, done;

		barrier_check(sh, ob);
		int err = vos_channel_next_request(&sh->ch, &req, sh->spin, &sh->stop);

		if (err == -EINTR)
			continue;       /* the EXEC barrier went up */
		if (err) {
			/* -EPIPE: the client is gone; -EPROTO: it broke the ring. */
			vos_shadow_end(sh, err);
			break;
		}
		memset(&done, 0, sizeof done);
		done.id = req.id;
		done.op = req.op;
		if (vos_cancel_begin(sh, ob->cancel, req.id))
			done.arg[0] = -EINTR;   /* cancelled before it ran */
		else
			done.arg[0] = vos_op_execute(sh, &req, ob);
		vos_cancel_end(ob->cancel);
		err = vos_channel_complete(&sh->ch, &done);
		if (err == -EPROTO) {
			vos_shadow_end(sh, err);
			break;
		}
		if (err) {
			/* Ready ring full for a long time: the client does not
			 * consume; it loses this answer (its call times out). */
			__atomic_add_fetch(&sh->ch.hdr->protocol_errors, 1, __ATOMIC_RELAXED);
			vos_debug("completion dropped: error %d", err);
		}
	}
	free(scratch);
	free(ob);
	return NULL;
}

/* Start one more worker.  Barrier lock held (nworkers is counted under it). */
static int spawn_locked(struct vos_shadow *sh)
{
	struct worker_start *start = malloc(sizeof *start);
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (!start)
		return -ENOMEM;
	start->sh = sh;
	start->epoch = sh->bar.epoch;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, worker_main, start);
	pthread_attr_destroy(&attr);
	if (err) {
		free(start);
		return -err;
	}
	__atomic_store_n(&sh->nworkers, sh->nworkers + 1, __ATOMIC_RELEASE);
	return 0;
}

int vos_worker_wait_begin(struct vos_shadow *sh)
{
	unsigned waiting = __atomic_add_fetch(&sh->nwaiting, 1, __ATOMIC_SEQ_CST);
	int ok = 1;

	if (waiting < __atomic_load_n(&sh->nworkers, __ATOMIC_ACQUIRE))
		return 1;       /* another worker is free for the next request */
	pthread_mutex_lock(&sh->bar.lock);
	while (__atomic_load_n(&sh->nwaiting, __ATOMIC_SEQ_CST) >= sh->nworkers) {
		if (sh->nworkers >= sh->max_workers || spawn_locked(sh) < 0) {
			ok = 0;
			break;
		}
	}
	pthread_mutex_unlock(&sh->bar.lock);
	if (!ok) {
		__atomic_sub_fetch(&sh->nwaiting, 1, __ATOMIC_SEQ_CST);
		vos_debug("shadow: all %u workers wait; a blocking call is refused", sh->nworkers);
	}
	return ok;
}

void vos_worker_wait_end(struct vos_shadow *sh)
{
	__atomic_sub_fetch(&sh->nwaiting, 1, __ATOMIC_SEQ_CST);
}

int vos_workers_start(struct vos_shadow *sh)
{
	int err = barrier_init(sh);

	/* A forked shadow starts with the configured workers again (its
	 * parent's grown ones are threads it does not have). */
	sh->nworkers = 0;
	sh->nwaiting = 0;
	if (!err)
		err = vos_cancel_init(sh);
	if (err)
		return err;
	pthread_mutex_lock(&sh->bar.lock);
	for (unsigned i = 0; i < sh->base_workers && !err; i++)
		err = spawn_locked(sh);
	pthread_mutex_unlock(&sh->bar.lock);
	return err;
}
