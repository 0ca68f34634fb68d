/*
 * worker.c - a shadow's worker threads.
 *
 * Each worker takes a request (spinning, then sleeping on the transport),
 * executes it and posts the completion with the same id and op.  Any worker
 * may take any request, so a call that blocks (a lock wait, a FIFO) holds
 * one worker while the others go on.  Workers never stop by themselves
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

static void *worker_main(void *arg)
{
	struct vos_shadow *sh = arg;
	struct vos_opbuf *ob = calloc(1, sizeof *ob);
	uint8_t *scratch = malloc(sh->ch.slot_size);

	if (!ob || !scratch) {
		free(ob);
		free(scratch);
		vos_shadow_end(sh, -ENOMEM);
		return NULL;
	}
	ob->scratch = scratch;
	ob->cancel = vos_cancel_register(sh);

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

int vos_workers_start(struct vos_shadow *sh)
{
	pthread_attr_t attr;
	int err = barrier_init(sh);

	if (!err)
		err = vos_cancel_init(sh);
	if (err)
		return err;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (unsigned i = 0; i < sh->nworkers; i++) {
		pthread_t t;
		err = pthread_create(&t, &attr, worker_main, sh);
		if (err) {
			pthread_attr_destroy(&attr);
			return -err;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}
