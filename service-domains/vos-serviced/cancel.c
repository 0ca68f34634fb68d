/*
 * cancel.c - VOS_OP_CANCEL: interrupt a request a worker is executing.
 *
 * Each worker publishes which request id it executes (vos_cancel_begin /
 * vos_cancel_end around vos_op_execute).  CANCEL(id) finds the worker and
 * interrupts its system call with a signal whose handler does nothing and is
 * installed without SA_RESTART: a blocked flock(), fcntl(F_SETLKW), FIFO
 * open or pipe read then fails with EINTR, which goes back to the client as
 * the call's result.  A signal that lands just before the worker enters the
 * system call interrupts nothing, so CANCEL repeats it (bounded) while the
 * worker is still inside that request.
 *
 * A CANCEL can also overtake its request: the client queued id, then
 * CANCEL(id), and another worker took the CANCEL before the first one
 * published id.  So CANCEL first records id in a per-slot word, and a worker
 * that begins a request looks there: a request cancelled before it ran
 * completes with -EINTR without running.  The two sides are a Dekker pair
 * (publish, fence, look at the other's word), so at least one of them sees
 * the other.  A recorded id that never comes (the request already finished)
 * is harmless: the slot's next request has another generation.
 *
 * No signal may reach a worker after it left the cancelled request, or it
 * would interrupt the next one.  The canceller signals only under the
 * worker's lock and only while the worker still shows the id; the worker,
 * after clearing the id, takes that lock once if it was signalled (so a
 * canceller inside tgkill has finished) and consumes a signal still
 * pending (blocked, sigtimedwait with no wait).
 *
 * Everything the client sends is untrusted: the id's slot is range checked,
 * and CANCEL never waits for more than VOS_CANCEL_RETRY_MS.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serviced.h"

/* SIGURG: ignored by default, so a stray one can never kill a shadow. */
#define CANCEL_SIGNAL       SIGURG
/* How long CANCEL keeps re-sending while the worker is still in the call. */
#define VOS_CANCEL_RETRY_MS 200

#define RUNNING             (1ull << 32)    /* set in running while a request executes */
#define RECORDED            (1ull << 32)    /* set in pending[slot] while recorded */

struct vos_cancel_worker {
	_Atomic uint64_t running;       /* RUNNING | id, or 0 */
	_Atomic int signalled;          /* a canceller sent us the signal */
	pthread_mutex_t lock;           /* canceller's check + send vs. our exit */
	pthread_t thread;
};

struct vos_cancel {
	unsigned nworkers;
	_Atomic unsigned registered;
	uint32_t nslots;
	_Atomic uint64_t *pending;      /* per slot: RECORDED | id, or 0 */
	struct vos_cancel_worker w[];
};

static void on_cancel_signal(int sig)
{
	(void)sig;      /* its only job is to end the system call with EINTR */
}

int vos_cancel_init(struct vos_shadow *sh)
{
	struct sigaction sa;
	struct vos_cancel *k;

	/* A forked shadow inherits its parent's table, threads gone: a new one. */
	sh->cancel = NULL;
	/* Room for every worker the shadow may grow to (worker.c). */
	k = calloc(1, sizeof(*k) + sh->max_workers * sizeof(k->w[0]));
	if (!k)
		return -ENOMEM;
	k->pending = calloc(sh->ch.nslots, sizeof(*k->pending));
	if (!k->pending) {
		free(k);
		return -ENOMEM;
	}
	k->nworkers = sh->max_workers;
	k->nslots = sh->ch.nslots;
	for (unsigned i = 0; i < k->nworkers; i++)
		pthread_mutex_init(&k->w[i].lock, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;        /* no SA_RESTART: the interrupted call fails with EINTR */
	if (sigaction(CANCEL_SIGNAL, &sa, NULL) < 0) {
		free(k->pending);
		free(k);
		return -errno;
	}
	sh->cancel = k;
	return 0;
}

struct vos_cancel_worker *vos_cancel_register(struct vos_shadow *sh)
{
	struct vos_cancel *k = sh->cancel;
	unsigned i = atomic_fetch_add(&k->registered, 1);

	if (i >= k->nworkers)
		return NULL;    /* cannot happen: one call per worker */
	k->w[i].thread = pthread_self();
	return &k->w[i];
}

int vos_cancel_begin(struct vos_shadow *sh, struct vos_cancel_worker *w, uint32_t id)
{
	struct vos_cancel *k = sh->cancel;
	uint32_t slot = VOS_ID_SLOT(id);

	if (!w)
		return 0;
	atomic_store_explicit(&w->running, RUNNING | id, memory_order_seq_cst);
	if (slot >= k->nslots)
		return 0;       /* vos_op_execute refuses it */
	uint64_t p = atomic_load_explicit(&k->pending[slot], memory_order_seq_cst);
	if (!(p & RECORDED))
		return 0;
	/* Ours (cancelled before it ran), or a stale one: clear it either way. */
	atomic_compare_exchange_strong(&k->pending[slot], &p, 0);
	return (uint32_t)p == id;
}

/* Consume a cancel signal that was sent but not yet delivered. */
static void drop_pending_signal(void)
{
	sigset_t set, old;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, CANCEL_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	while (sigtimedwait(&set, NULL, &zero) == CANCEL_SIGNAL)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void vos_cancel_end(struct vos_cancel_worker *w)
{
	if (!w)
		return;
	atomic_store_explicit(&w->running, 0, memory_order_seq_cst);
	if (atomic_load_explicit(&w->signalled, memory_order_seq_cst)) {
		pthread_mutex_lock(&w->lock);   /* a canceller inside pthread_kill is done */
		atomic_store_explicit(&w->signalled, 0, memory_order_relaxed);
		pthread_mutex_unlock(&w->lock);
		drop_pending_signal();
	}
}

/* Signal w if it still runs `want`.  1 sent, 0 it left the request. */
static int interrupt(struct vos_cancel_worker *w, uint64_t want)
{
	int sent = 0;

	pthread_mutex_lock(&w->lock);
	atomic_store_explicit(&w->signalled, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&w->running, memory_order_seq_cst) == want) {
		pthread_kill(w->thread, CANCEL_SIGNAL);
		sent = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return sent;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

int64_t vos_op_cancel(struct vos_shadow *sh, const struct vos_entry *e,
		      struct vos_cancel_worker *self)
{
	struct vos_cancel *k = sh->cancel;
	int64_t arg = e->arg[0];
	struct vos_cancel_worker *target = NULL;

	if (!k || arg < 0 || arg > UINT32_MAX || VOS_ID_SLOT((uint32_t)arg) >= k->nslots)
		return -EINVAL;
	uint32_t id = (uint32_t)arg;
	uint64_t want = RUNNING | id;

	/* Record first, then look (the worker publishes, then looks). */
	atomic_store_explicit(&k->pending[VOS_ID_SLOT(id)], RECORDED | id, memory_order_seq_cst);
	unsigned n = atomic_load(&k->registered);

	for (unsigned i = 0; i < n && i < k->nworkers; i++) {
		struct vos_cancel_worker *w = &k->w[i];

		if (w != self && atomic_load_explicit(&w->running, memory_order_seq_cst) == want) {
			target = w;
			break;
		}
	}
	if (!target)
		return 0;       /* not running: finished, unknown, or queued (recorded) */
	/* Found running: the record is not needed (it may already be used). */
	uint64_t rec = RECORDED | id;
	atomic_compare_exchange_strong(&k->pending[VOS_ID_SLOT(id)], &rec, 0);

	if (!interrupt(target, want))
		return 1;
	/* Re-send while it is still inside the request: the first signal may
	 * have landed before the system call.  Other requests go to other
	 * workers meanwhile. */
	vos_channel_worker_idle(&sh->ch);
	long us = 50, waited = 0;
	while (waited < VOS_CANCEL_RETRY_MS * 1000L) {
		sleep_us(us);
		waited += us;
		if (!interrupt(target, want))
			break;
		if (us < 10000)
			us *= 2;
	}
	return 1;
}
