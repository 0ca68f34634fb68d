/*
 * client.c - the client call engine (see client.h).
 *
 * A call takes a slot, writes its request into the request ring and later
 * finds its completion in the slot.  The slot's state word carries the
 * generation of the request in flight together with its state, so taking a
 * completion is one compare-and-swap on (generation, INFLIGHT): a forged,
 * late or duplicate answer (wrong slot, wrong generation, slot not in
 * flight) fails it and is counted and dropped.  Any thread may drain the
 * ready ring; whoever takes a completion stores the result in its slot and
 * wakes only that slot's owner, and only if the owner is parked.
 *
 * Waiting (vos_slot_wait) has two phases:
 *
 *   spin   check our slot, and drain the ready ring when something is in
 *          it, for cfg->spin iterations.
 *   sleep  one waiting thread, the poller, sets the header's
 *          client_sleeping flag, fences, drains once more and then blocks in
 *          the transport (bounded: it looks at the heartbeat in between)
 *          until the service kicks it.  Every other waiter parks on its own
 *          slot's word (struct vos_waiter_ops; the default is a futex).  The
 *          poller drains after each wake-up and keeps the role until its own
 *          call completed; then it hands the role to a parked waiter.
 *
 * Rules that keep a parked waiter from being forgotten (both are Dekker
 * pairs: each side writes, fences, then reads the other's word):
 *   - a completer sets DONE, bumps the slot's word, then unparks the owner
 *     if it is parked; the owner publishes "parked", reads the word, checks
 *     DONE, then parks until the word moves;
 *   - a waiter counts itself in nparked, then looks whether a poller exists
 *     (if not it becomes one); a leaving poller clears the role, then looks
 *     at nparked and unparks one parked waiter whose call is still open.
 *
 * Death.  The service is dead when the transport reports a hang-up, the
 * ready ring is corrupt, a request cannot be queued, or the heartbeat in the
 * header stood still for dead_after_ms while a poller watched it.  Then
 * every call in flight completes with -EIO and later calls fail at once.
 *
 * The transport under the channel (local or Xen) is chosen per client by
 * name; client_xport.c holds what differs between them.
 *
 * This file ends up in the LD_PRELOAD library: no constructors, no stdio,
 * and raw system calls only (vos_sys.h), so it never re-enters the
 * interposed wrappers.  It never calls umask(): the caller passes it.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "client_xport.h"
#include "../channel/channel.h"
#include "../channel/vos_sys.h"
#include "common/vos_time.h"

#define DEFAULT_SPIN        2000u
#define GEN_MASK            ((1u << (32 - VOS_ID_SLOT_BITS)) - 1u)
#define POLL_MS_MAX         1000    /* the shadow ticks its heartbeat once a second */
#define POLL_MS_MIN         10

enum slot_state {
	SLOT_FREE,          /* on the free stack */
	SLOT_OWNED,         /* acquired, no request in flight */
	SLOT_INFLIGHT,      /* request submitted, no answer yet */
	SLOT_COMPLETING,    /* one thread is storing the result */
	SLOT_DONE,          /* result valid */
};

/* The state word: generation of the last request << 3 | enum slot_state. */
#define ST(gen, state)  (((uint32_t)(gen) << 3) | (uint32_t)(state))
#define ST_STATE(w)     ((w) & 7u)
#define ST_GEN(w)       ((w) >> 3)

enum park_state {
	PARK_NONE,          /* the owner is not parked (spinning, or not waiting) */
	PARK_SET,           /* the owner published its token and may be parked */
	PARK_WAKING,        /* a waker is inside unpark(token) */
};

/* One slot per cache line: owners spin on their own line only. */
struct vos_slot {
	struct vos_client *c;
	uint32_t index;
	_Atomic uint32_t st;        /* ST(gen, state); see the top of the file */
	_Atomic uint32_t wake;      /* the owner parks on this word */
	_Atomic uint32_t parked;    /* enum park_state */
	void *token;                /* the parked owner, for unpark() */
	int64_t result;             /* written in COMPLETING, read after DONE */
	_Atomic int watch_fd;       /* vos_slot_watch: an eventfd wakers write, or -1 */
} __attribute__((aligned(64)));

/* A thread waiting for a free slot (on its own stack; linked under c->lock). */
struct slot_waiter {
	struct slot_waiter *next;
	void *token;
	_Atomic uint32_t word;
};

struct vos_client {
	struct vos_channel ch;
	struct vos_xport *xp;
	const struct vos_client_xport *xt;  /* which transport xp is */
	pid_t owner;                /* the process that connected or adopted */
	unsigned spin;
	int dead_after_ms;
	int poll_ms;                /* longest sleep between two heartbeat checks */
	const struct vos_waiter_ops *wops;
	void *wctx;

	pthread_mutex_t lock;       /* slot waiters */
	struct slot_waiter *slot_waiters, **slot_waiters_tail;
	_Atomic uint32_t nslot_waiters;     /* threads in the slow path of acquire */
	struct vos_slot *slots;
	uint32_t cancel_slot;       /* never free: kept for VOS_OP_CANCEL */
	pthread_mutex_t cancel_lock;

	_Alignas(64) _Atomic int poller;    /* a thread holds the poller role */
	_Atomic uint32_t nparked;           /* waiters in the sleep phase */
	/* The poller's own (handed over with the role). */
	uint64_t hb_seen, hb_since_ns, hb_checked_ns;

	_Alignas(64) _Atomic int dead;
	_Atomic uint64_t bad_completions;
	_Atomic uint64_t unparks;
	uint8_t token[VOS_TOKEN_LEN];
};

/* ---- the default waiter: a futex on the word ---- */

static void *futex_current(void *ctx)
{
	(void)ctx;
	return NULL;
}

static void futex_park(void *ctx, void *token, _Atomic uint32_t *word, uint32_t seen,
		       int timeout_ms)
{
	struct timespec ts, *tp = NULL;
	int saved = errno;

	(void)ctx, (void)token;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, tp, NULL, 0);
	errno = saved;
}

static void futex_unpark(void *ctx, void *token, _Atomic uint32_t *word)
{
	int saved = errno;

	(void)ctx, (void)token;
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved;
}

static const struct vos_waiter_ops futex_waiter = {
	.current = futex_current,
	.park = futex_park,
	.unpark = futex_unpark,
};

static const struct vos_waiter_ops *_Atomic default_wops;
static void *_Atomic default_wctx;

void vos_set_default_waiter(const struct vos_waiter_ops *ops, void *ctx)
{
	atomic_store(&default_wctx, ctx);
	atomic_store(&default_wops, ops);
}

/* ---- small helpers ---- */

static void fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		long n = syscall(SYS_getrandom, p + got, len - got, GRND_NONBLOCK);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len) {
		/* No entropy yet (early boot): generations only need to differ
		 * from recent ones, so a clock/pid mix is good enough. */
		uint64_t x = vos_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)buf;

		for (size_t i = got; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)x;
		}
	}
}

static int is_dead(const struct vos_client *c)
{
	return atomic_load_explicit(&c->dead, memory_order_relaxed);
}

static int slot_done(struct vos_slot *s)
{
	return ST_STATE(atomic_load_explicit(&s->st, memory_order_acquire)) == SLOT_DONE;
}

/* ---- completion and wake-up ---- */

/*
 * Wake whoever parks on s->wake: bump the word (a park that has not started
 * yet returns at once), then unpark the published token.  PARK_WAKING keeps
 * the owner from returning (and its token from going stale) while unpark()
 * runs.  Concurrent wakers: one unparks, the others' bumps are seen by the
 * owner's next check.
 */
static void wake_slot(struct vos_client *c, struct vos_slot *s)
{
	uint32_t expect = PARK_SET;

	atomic_fetch_add_explicit(&s->wake, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&s->parked, memory_order_seq_cst) != PARK_SET)
		return;
	if (atomic_compare_exchange_strong(&s->parked, &expect, PARK_WAKING)) {
		int fd = atomic_load_explicit(&s->watch_fd, memory_order_relaxed);

		if (fd >= 0) {
			uint64_t one = 1;       /* an owner waiting in its own poll(2) */
			int saved = errno;

			syscall(SYS_write, fd, &one, sizeof(one));
			errno = saved;
		}
		c->wops->unpark(c->wctx, s->token, &s->wake);
		atomic_store_explicit(&s->parked, PARK_SET, memory_order_release);
		atomic_fetch_add_explicit(&c->unparks, 1, memory_order_relaxed);
	}
}

/* Take the completion of request (gen) on s: 1 if it was in flight. */
static int complete_slot(struct vos_client *c, struct vos_slot *s, uint32_t gen, int64_t result)
{
	uint32_t expect = ST(gen, SLOT_INFLIGHT);

	if (!atomic_compare_exchange_strong_explicit(&s->st, &expect, ST(gen, SLOT_COMPLETING),
						     memory_order_acq_rel, memory_order_relaxed))
		return 0;
	s->result = result;
	atomic_store_explicit(&s->st, ST(gen, SLOT_DONE), memory_order_release);
	wake_slot(c, s);
	return 1;
}

/* The call on s fails with -EIO if it is still in flight (the channel died). */
static void fail_slot(struct vos_client *c, struct vos_slot *s)
{
	uint32_t w = atomic_load_explicit(&s->st, memory_order_acquire);

	if (ST_STATE(w) == SLOT_INFLIGHT)
		complete_slot(c, s, ST_GEN(w), -EIO);
}

static void wake_slot_waiters_locked(struct vos_client *c, int all)
{
	while (c->slot_waiters) {
		struct slot_waiter *w = c->slot_waiters;

		c->slot_waiters = w->next;
		if (!c->slot_waiters)
			c->slot_waiters_tail = &c->slot_waiters;
		w->next = NULL;
		atomic_store_explicit(&w->word, 1, memory_order_seq_cst);
		c->wops->unpark(c->wctx, w->token, &w->word);
		if (!all)
			break;
	}
}

/* The service is dead (or broke the protocol): fail every call in flight,
 * wake every waiter.  Idempotent. */
static void mark_dead(struct vos_client *c)
{
	atomic_store_explicit(&c->dead, 1, memory_order_seq_cst);
	for (uint32_t i = 0; i < c->ch.nslots; i++)
		fail_slot(c, &c->slots[i]);
	pthread_mutex_lock(&c->lock);
	wake_slot_waiters_locked(c, 1);
	pthread_mutex_unlock(&c->lock);
	/* The poller may be blocked in the transport: wake it (if the
	 * transport can; else its bounded wait ends soon). */
	if (atomic_load(&c->poller) && c->xp->ops->wake_local)
		c->xp->ops->wake_local(c->xp);
}

/*
 * Move completions from the ready ring into their slots.  Lock-free: any
 * number of threads may drain at once.  Bounded: a service that keeps the
 * ring full of junk cannot keep us here forever.  Number taken, or -EIO.
 */
static int drain(struct vos_client *c)
{
	int found = 0;

	for (uint32_t n = 0; n < 2 * c->ch.nslots; n++) {
		struct vos_entry e;
		int err = vos_ring_dequeue(&c->ch.ready, &e);

		if (err == -EAGAIN)
			break;
		if (err) {
			mark_dead(c);           /* corrupt ring: the service is broken */
			return -EIO;
		}
		uint32_t slot = VOS_ID_SLOT(e.id);

		if (slot < c->ch.nslots && complete_slot(c, &c->slots[slot], VOS_ID_GEN(e.id), e.arg[0]))
			found++;
		else
			atomic_fetch_add_explicit(&c->bad_completions, 1, memory_order_relaxed);
	}
	return found;
}

/* ---- the poller role ---- */

static int try_poller(struct vos_client *c)
{
	int expect = 0;

	return atomic_compare_exchange_strong(&c->poller, &expect, 1);
}

/* Unpark one parked waiter whose call is still open, so it takes the
 * poller role.  Waiters whose calls completed leave by themselves. */
static void hand_over(struct vos_client *c)
{
	for (uint32_t i = 0; i < c->ch.nslots; i++) {
		struct vos_slot *s = &c->slots[i];

		if (atomic_load_explicit(&s->parked, memory_order_seq_cst) == PARK_SET &&
		    ST_STATE(atomic_load_explicit(&s->st, memory_order_relaxed)) == SLOT_INFLIGHT) {
			wake_slot(c, s);
			return;
		}
	}
}

static void release_poller(struct vos_client *c)
{
	atomic_store_explicit(&c->poller, 0, memory_order_seq_cst);
	if (atomic_load_explicit(&c->nparked, memory_order_seq_cst) > 0)
		hand_over(c);
}

/* Poller only: the heartbeat must have moved within dead_after_ms of the
 * time we spent looking at it.  A gap in our looking (no poller, or this
 * thread not scheduled) restarts the clock rather than count against the
 * service. */
static void check_heartbeat(struct vos_client *c)
{
	uint64_t now = vos_now_ns();
	uint64_t hb = atomic_load_explicit(&c->ch.hdr->heartbeat, memory_order_relaxed);

	if (hb != c->hb_seen || now - c->hb_checked_ns > 2ull * (uint64_t)c->poll_ms * 1000000u) {
		c->hb_seen = hb;
		c->hb_since_ns = now;
	} else if (now - c->hb_since_ns >= (uint64_t)c->dead_after_ms * 1000000u) {
		mark_dead(c);
	}
	c->hb_checked_ns = now;
}

/* Poller: announce that we are about to sleep, then look once more. */
static int poll_arm(struct vos_client *c)
{
	atomic_store_explicit(&c->ch.hdr->client_sleeping, 1, memory_order_seq_cst);
	vos_full_fence();
	return drain(c);
}

/* Poller, back from the transport (w: what wait() said). */
static int poll_disarm(struct vos_client *c, int w)
{
	int n;

	atomic_store_explicit(&c->ch.hdr->client_sleeping, 0, memory_order_relaxed);
	n = drain(c);           /* even on hang-up: answers already posted count */
	if (w < 0 && w != -EINTR)
		mark_dead(c);   /* -EPIPE: the service is gone */
	else
		check_heartbeat(c);
	return is_dead(c) ? -EIO : n;
}

/* Nonzero once the caller of a stoppable wait asked it to stop. */
static int stopped(const _Atomic int *stop)
{
	return stop && atomic_load_explicit(stop, memory_order_acquire);
}

/* Poller: sleep in the transport until our own call completed (or the
 * caller's stop flag is set). */
static void poll_until_done(struct vos_client *c, struct vos_slot *s, const _Atomic int *stop)
{
	while (!slot_done(s) && !is_dead(c) && !stopped(stop)) {
		int w = 0;

		if (poll_arm(c) == 0 && !slot_done(s)) {
			atomic_fetch_add_explicit(&c->ch.hdr->client_sleeps, 1, memory_order_relaxed);
			w = c->xp->ops->wait(c->xp, c->poll_ms);
		}
		poll_disarm(c, w);
	}
	release_poller(c);
}

int vos_client_event_fd(const struct vos_client *c)
{
	int fds[4];

	c->xt->get_fds(c->xp, fds);
	return fds[3] >= 0 ? fds[3] : fds[2];   /* local: to_client; xen: evtchn */
}

int vos_client_drain(struct vos_client *c)
{
	if (is_dead(c))
		return -EIO;
	return drain(c);
}

int vos_client_poll_begin(struct vos_client *c)
{
	if (is_dead(c))
		return -EIO;
	if (!try_poller(c))
		return 0;
	poll_arm(c);
	return 1;
}

int vos_client_poll_end(struct vos_client *c)
{
	/* Take the kick if there is one, and learn whether the service is
	 * still there, without blocking. */
	int w = c->xp->ops->wait(c->xp, 0), n;

	n = poll_disarm(c, w);
	release_poller(c);
	return n;
}

int vos_client_poll_interval_ms(const struct vos_client *c)
{
	return c->poll_ms;
}

/* ---- waiting ---- */

/* Leave the sleep phase: wait out a waker inside unpark(our token). */
static void unpublish(struct vos_slot *s)
{
	for (unsigned i = 0;; i++) {
		uint32_t expect = PARK_SET;

		if (atomic_compare_exchange_weak(&s->parked, &expect, PARK_NONE))
			return;
		if (i < 64)
			vos_cpu_relax();
		else
			syscall(SYS_sched_yield);
	}
}

static int64_t wait_slow(struct vos_client *c, struct vos_slot *s, const _Atomic int *stop)
{
	int cs, poll_self = !c->wops->external_poll, gave_up = 0;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	s->token = c->wops->current(c->wctx);
	atomic_store_explicit(&s->parked, PARK_SET, memory_order_seq_cst);
	atomic_fetch_add_explicit(&c->nparked, 1, memory_order_seq_cst);
	while (!slot_done(s)) {
		if (is_dead(c)) {
			fail_slot(c, s);        /* e.g. after goodbye: nobody else will */
			continue;
		}
		if (stopped(stop)) {
			gave_up = 1;
			break;
		}
		if (poll_self && atomic_load(&c->poller) == 0 && try_poller(c)) {
			poll_until_done(c, s, stop);
			continue;
		}
		uint32_t seen = atomic_load_explicit(&s->wake, memory_order_seq_cst);

		if (slot_done(s) || (poll_self && atomic_load(&c->poller) == 0))
			continue;
		c->wops->park(c->wctx, s->token, &s->wake, seen, c->poll_ms);
	}
	atomic_fetch_sub_explicit(&c->nparked, 1, memory_order_seq_cst);
	unpublish(s);
	/* Others still wait and nobody polls (the poller handed the role to
	 * us but our call completed meanwhile): pass it on. */
	if (poll_self && atomic_load(&c->poller) == 0 &&
	    atomic_load_explicit(&c->nparked, memory_order_seq_cst) > 0)
		hand_over(c);
	pthread_setcancelstate(cs, NULL);
	return gave_up ? VOS_WAIT_STOPPED : s->result;
}

int vos_slot_poll(struct vos_slot *s)
{
	struct vos_client *c = s->c;
	uint32_t st = ST_STATE(atomic_load_explicit(&s->st, memory_order_acquire));

	if (st != SLOT_INFLIGHT && st != SLOT_COMPLETING)
		return 1;
	if (vos_ring_maybe_nonempty(&c->ch.ready))
		drain(c);
	if (is_dead(c))
		fail_slot(c, s);
	return ST_STATE(atomic_load_explicit(&s->st, memory_order_acquire)) != SLOT_INFLIGHT;
}

static int64_t slot_wait(struct vos_slot *s, const _Atomic int *stop)
{
	struct vos_client *c = s->c;
	uint32_t st = ST_STATE(atomic_load_explicit(&s->st, memory_order_acquire));

	if (st == SLOT_DONE)
		return s->result;
	if (st != SLOT_INFLIGHT && st != SLOT_COMPLETING)
		return -EINVAL;
	for (unsigned i = 0; i < c->spin; i++) {
		if (slot_done(s))
			return s->result;
		if (stopped(stop))
			return VOS_WAIT_STOPPED;
		if (vos_ring_maybe_nonempty(&c->ch.ready))
			drain(c);
		else if (i >= VOS_SPIN_YIELD_AFTER && (i & VOS_SPIN_YIELD_MASK) == VOS_SPIN_YIELD_MASK)
			syscall(SYS_sched_yield);       /* a worker may need this core */
		else
			vos_cpu_relax();
	}
	return wait_slow(c, s, stop);
}

int64_t vos_slot_wait(struct vos_slot *s)
{
	return slot_wait(s, NULL);
}

int64_t vos_slot_wait_stoppable(struct vos_slot *s, const _Atomic int *stop)
{
	return slot_wait(s, stop);
}

/* Async-signal-safe: one atomic add.  A park that has not started returns
 * at once (the word changed); one in progress was ended by the signal. */
void vos_slot_nudge(struct vos_slot *s)
{
	atomic_fetch_add_explicit(&s->wake, 1, memory_order_seq_cst);
}

/*
 * An owner that waits in its own poll(2) (libvirtuos/interpose/poll.c)
 * counts as a parked waiter, so a completion of s and a poller's hand-over
 * write to fd instead of (as well as) unparking it.  Published before the
 * owner checks the slot, cleared only after unpublish() waited out a waker
 * (so nobody writes fd once vos_slot_unwatch returned).
 */
void vos_slot_watch(struct vos_slot *s, int fd)
{
	struct vos_client *c = s->c;

	atomic_store_explicit(&s->watch_fd, fd, memory_order_relaxed);
	s->token = c->wops->current(c->wctx);
	atomic_store_explicit(&s->parked, PARK_SET, memory_order_seq_cst);
	atomic_fetch_add_explicit(&c->nparked, 1, memory_order_seq_cst);
}

void vos_slot_unwatch(struct vos_slot *s)
{
	struct vos_client *c = s->c;

	atomic_fetch_sub_explicit(&c->nparked, 1, memory_order_seq_cst);
	unpublish(s);
	atomic_store_explicit(&s->watch_fd, -1, memory_order_relaxed);
	/* The role may have been handed to us: pass it on (as wait_slow). */
	if (!c->wops->external_poll && atomic_load(&c->poller) == 0 &&
	    atomic_load_explicit(&c->nparked, memory_order_seq_cst) > 0)
		hand_over(c);
}

/* ---- public API ---- */

/*
 * Slots are taken without a lock: each is free when its state word says so,
 * and a caller takes one with a compare-and-swap, starting at a slot of its
 * own (a per-thread hint), so callers on different threads touch different
 * cache lines.  Only a caller that finds every slot taken locks, queues
 * itself and parks; a release that sees such waiters wakes one.  (Dekker:
 * the waiter counts itself, then scans; the releaser frees, then looks at
 * the count.)
 */
static __thread __attribute__((tls_model("initial-exec"))) uint32_t slot_hint = UINT32_MAX;
static _Atomic uint32_t next_slot_hint;

static struct vos_slot *find_free(struct vos_client *c)
{
	uint32_t n = c->ch.nslots - 1;          /* the last slot is CANCEL's */

	if (slot_hint == UINT32_MAX)
		slot_hint = atomic_fetch_add_explicit(&next_slot_hint, 1, memory_order_relaxed);
	for (uint32_t k = 0, i = slot_hint % n; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
		struct vos_slot *s = &c->slots[i];
		uint32_t w = atomic_load_explicit(&s->st, memory_order_relaxed);

		if (ST_STATE(w) == SLOT_FREE &&
		    atomic_compare_exchange_strong_explicit(&s->st, &w, ST(ST_GEN(w), SLOT_OWNED),
							    memory_order_acquire, memory_order_relaxed)) {
			slot_hint = i;
			return s;
		}
	}
	return NULL;
}

static int acquire_slow(struct vos_client *c, struct vos_slot **out)
{
	struct slot_waiter me = { .next = NULL };
	int err = 0, cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	me.token = c->wops->current(c->wctx);
	pthread_mutex_lock(&c->lock);
	atomic_fetch_add_explicit(&c->nslot_waiters, 1, memory_order_seq_cst);
	for (;;) {
		if (is_dead(c)) {
			err = -EIO;
			break;
		}
		*out = find_free(c);
		if (*out)
			break;
		atomic_store_explicit(&me.word, 0, memory_order_relaxed);
		me.next = NULL;
		*c->slot_waiters_tail = &me;
		c->slot_waiters_tail = &me.next;
		pthread_mutex_unlock(&c->lock);
		c->wops->park(c->wctx, me.token, &me.word, 0, c->poll_ms);
		pthread_mutex_lock(&c->lock);
		/* Still queued (timeout, spurious return): unlink ourselves.  A
		 * waker unlinks before it unparks, under the lock. */
		for (struct slot_waiter **p = &c->slot_waiters; *p; p = &(*p)->next) {
			if (*p == &me) {
				*p = me.next;
				if (!*p)
					c->slot_waiters_tail = p;
				break;
			}
		}
	}
	atomic_fetch_sub_explicit(&c->nslot_waiters, 1, memory_order_seq_cst);
	pthread_mutex_unlock(&c->lock);
	pthread_setcancelstate(cs, NULL);
	return err;
}

int vos_slot_acquire(struct vos_client *c, struct vos_slot **out)
{
	*out = NULL;
	if (is_dead(c))
		return -EIO;
	*out = find_free(c);
	return *out ? 0 : acquire_slow(c, out);
}

void *vos_slot_buf(struct vos_slot *s)
{
	return vos_channel_slot(&s->c->ch, s->index);
}

int vos_slot_submit(struct vos_slot *s, const struct vos_req *r)
{
	struct vos_client *c = s->c;
	uint32_t w = atomic_load_explicit(&s->st, memory_order_relaxed);
	uint32_t gen = (ST_GEN(w) + 1) & GEN_MASK;
	struct vos_entry e;

	if (ST_STATE(w) != SLOT_OWNED && ST_STATE(w) != SLOT_DONE)
		return -EINVAL;
	if (is_dead(c))
		return -EIO;
	/* In flight before it is visible: a fast answer must find it so. */
	atomic_store_explicit(&s->st, ST(gen, SLOT_INFLIGHT), memory_order_seq_cst);
	memset(&e, 0, sizeof(e));
	e.id = VOS_ID(s->index, gen);
	e.op = r->op;
	e.flags = r->flags;
	memcpy(e.arg, r->arg, sizeof(e.arg));
	if (vos_channel_submit(&c->ch, &e)) {
		/* A ring that stays full or is corrupt, or a failed kick: the
		 * channel cannot carry calls any more (our call fails too). */
		mark_dead(c);
	} else if (is_dead(c)) {
		fail_slot(c, s);        /* died meanwhile: mark_dead may have missed us */
	}
	return 0;
}

int64_t vos_slot_call(struct vos_slot *s, const struct vos_req *r)
{
	int err = vos_slot_submit(s, r);

	return err ? err : vos_slot_wait(s);
}

int vos_slot_cancel(struct vos_slot *s)
{
	struct vos_client *c = s->c;
	uint32_t w = atomic_load_explicit(&s->st, memory_order_acquire);
	struct vos_req r = { .op = VOS_OP_CANCEL, .arg = { VOS_ID(s->index, ST_GEN(w)) } };
	int64_t res;

	if (ST_STATE(w) != SLOT_INFLIGHT)
		return is_dead(c) ? -EIO : 0;
	pthread_mutex_lock(&c->cancel_lock);
	res = vos_slot_call(&c->slots[c->cancel_slot], &r);
	pthread_mutex_unlock(&c->cancel_lock);
	if (res < 0)
		return (int)res;
	return res > 0;
}

void vos_slot_release(struct vos_slot *s)
{
	struct vos_client *c;
	uint32_t w;

	if (!s)
		return;
	c = s->c;
	w = atomic_load_explicit(&s->st, memory_order_relaxed);
	/* A slot still in flight (misuse) stays out of circulation: the
	 * service may still write into its buffer.  The CANCEL slot is never
	 * released. */
	if ((ST_STATE(w) != SLOT_OWNED && ST_STATE(w) != SLOT_DONE) || s->index == c->cancel_slot)
		return;
	atomic_store_explicit(&s->st, ST(ST_GEN(w), SLOT_FREE), memory_order_seq_cst);
	if (atomic_load_explicit(&c->nslot_waiters, memory_order_seq_cst) > 0) {
		pthread_mutex_lock(&c->lock);
		wake_slot_waiters_locked(c, 0);
		pthread_mutex_unlock(&c->lock);
	}
}

int64_t vos_call0(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2)
{
	struct vos_req r = { .op = op, .arg = { a0, a1, a2 } };
	struct vos_slot *s;
	int64_t res;
	int err = vos_slot_acquire(c, &s);

	if (err)
		return err;
	res = vos_slot_call(s, &r);
	vos_slot_release(s);
	return res;
}

int vos_client_dead(const struct vos_client *c)
{
	return is_dead(c);
}

const uint8_t *vos_client_token(const struct vos_client *c)
{
	return c->token;
}

size_t vos_client_slot_size(const struct vos_client *c)
{
	return c->ch.slot_size;
}

/* ---- setup and teardown ---- */

static void free_client(struct vos_client *c, int destroy_sync)
{
	if (!c)
		return;
	if (destroy_sync) {
		pthread_mutex_destroy(&c->cancel_lock);
		pthread_mutex_destroy(&c->lock);
	}
	if (c->xp)
		c->xp->ops->close(c->xp);
	free(c->slots);
	free(c);
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Allocate the client around an opened channel; xp becomes owned by it. */
static struct vos_client *new_client(const struct vos_client_config *cfg,
				     const struct vos_client_xport *xt, struct vos_xport *xp)
{
	struct vos_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->xp = xp;
	c->xt = xt;
	c->owner = getpid();
	c->spin = cfg->spin ? cfg->spin : DEFAULT_SPIN;
	c->dead_after_ms = cfg->dead_after_ms > 0 ? cfg->dead_after_ms : VOS_DEAD_AFTER_DEFAULT_MS;
	/* Several looks per bound, so that a bound is met within about a
	 * quarter of itself; never more often than POLL_MS_MIN. */
	c->poll_ms = clamp_int(c->dead_after_ms / 4, POLL_MS_MIN, POLL_MS_MAX);
	c->wops = cfg->waiter;
	c->wctx = cfg->waiter_ctx;
	if (!c->wops) {
		c->wops = atomic_load(&default_wops);
		c->wctx = atomic_load(&default_wctx);
	}
	if (!c->wops) {
		c->wops = &futex_waiter;
		c->wctx = NULL;
	}
	c->slot_waiters_tail = &c->slot_waiters;
	c->hb_since_ns = c->hb_checked_ns = vos_now_ns();
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->cancel_lock, NULL);
	return c;
}

/* Fill the slot table once c->ch is open. 0 or -ENOMEM.  The last slot is
 * kept for VOS_OP_CANCEL, so a cancel never waits for a free slot. */
static int init_slots(struct vos_client *c)
{
	uint32_t n = c->ch.nslots;
	uint32_t *gens;
	void *mem = NULL;

	if (posix_memalign(&mem, 64, n * sizeof(*c->slots)))
		return -ENOMEM;
	c->slots = memset(mem, 0, n * sizeof(*c->slots));
	gens = calloc(n, sizeof(*gens));
	if (!gens)
		return -ENOMEM;
	/* Random first generations: answers meant for an earlier user of the
	 * same channel (an exec'd-away image) do not match ours. */
	fill_random(gens, n * sizeof(*gens));
	c->cancel_slot = n - 1;
	for (uint32_t i = 0; i < n; i++) {
		struct vos_slot *s = &c->slots[i];

		s->c = c;
		s->index = i;
		atomic_init(&s->st, ST(gens[i] & GEN_MASK, i == c->cancel_slot ? SLOT_OWNED : SLOT_FREE));
		atomic_init(&s->wake, 0);
		atomic_init(&s->parked, PARK_NONE);
		atomic_init(&s->watch_fd, -1);
	}
	free(gens);
	return 0;
}

struct vos_client *vos_client_connect(const struct vos_client_config *cfg,
				      int hello_kind, const uint8_t token[VOS_TOKEN_LEN])
{
	uint32_t nslots = cfg->nslots ? cfg->nslots : VOS_DEFAULT_SLOTS;
	uint32_t slot_size = cfg->slot_size ? cfg->slot_size : VOS_DEFAULT_SLOT_SIZE;
	uint64_t size = vos_channel_bytes(nslots, slot_size);
	const struct vos_client_xport *xt = vos_client_xport_find(cfg->transport);
	struct vos_hello hello;
	struct vos_hello_reply reply;
	struct vos_xport *xp = NULL;
	struct vos_client *c;
	int err;

	if (!xt || !size || !cfg->service || hello_kind < VOS_HELLO_NEW ||
	    hello_kind > VOS_HELLO_FORK_LIVE || (hello_kind != VOS_HELLO_NEW && !token)) {
		errno = EINVAL;
		return NULL;
	}
	err = xt->create(cfg, size, &xp);
	if (err) {
		errno = -err;
		return NULL;
	}
	c = new_client(cfg, xt, xp);
	if (!c) {
		xp->ops->close(xp);
		errno = ENOMEM;
		return NULL;
	}
	err = vos_channel_format(xp->mem, size, cfg->kind, nslots, slot_size);
	if (!err) {
		((struct vos_channel_hdr *)xp->mem)->client_pid = (uint32_t)getpid();
		err = vos_channel_open(&c->ch, xp, cfg->kind);
	}
	if (!err)
		err = init_slots(c);
	if (err)
		goto fail;

	memset(&hello, 0, sizeof(hello));
	hello.magic = VOS_HELLO_MAGIC;
	hello.version = VOS_PROTO_VERSION;
	hello.kind = (uint32_t)hello_kind;
	hello.umask = cfg->umask & 0777;
	if (token)
		memcpy(hello.token, token, VOS_TOKEN_LEN);
	err = xt->connect(xp, cfg, &hello, &reply);
	if (err)
		goto fail;
	memcpy(c->token, reply.token, VOS_TOKEN_LEN);
	return c;
fail:
	free_client(c, 1);
	errno = -err;
	return NULL;
}

void vos_client_close(struct vos_client *c)
{
	/* Closing the socket is the goodbye: the service sees the hang-up. */
	free_client(c, 1);
}

void vos_client_abandon(struct vos_client *c)
{
	if (!c)
		return;
	if (c->xp && c->owner == getpid()) {
		/* Another client object of this process has adopted the
		 * channel (from duplicates of our descriptors): close only our
		 * copies and mappings.  A transport close() here would end
		 * the channel for everyone (Xen: remove its xenstore nodes). */
		int fds[4];

		c->xt->get_fds(c->xp, fds);
		c->xt->release(c->xp);
		c->xp = NULL;
		for (int i = 0; i < 4; i++)
			vos_sys_close(fds[i]);
	}
	/* In a fork child, close() drops only the child's references (the
	 * transports' fork rule).  Another (now vanished) thread of the
	 * parent may have held c->lock at fork time: leave the sync objects
	 * alone. */
	free_client(c, 0);
}

int64_t vos_client_call_at_exit(struct vos_client *c, uint16_t op, int64_t a0, int timeout_ms)
{
	struct vos_req r = { .op = op, .arg = { a0 } };
	struct timespec tick = { 0, 1000 * 1000 };
	uint64_t deadline = vos_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	struct vos_slot *s;
	int err;

	if (!c || !c->xp || c->owner != getpid() || is_dead(c))
		return -EIO;
	/* No waiting for a slot (acquire_slow takes the lock): all busy is
	 * the caller's problem, it skips the call. */
	s = find_free(c);
	if (!s)
		return -EAGAIN;
	err = vos_slot_submit(s, &r);
	if (err)
		return err;
	/* Poll the ring ourselves: no lock, no parking, bounded by the
	 * clock.  A call still in flight at the deadline keeps its slot. */
	for (int spin = 0; !vos_slot_poll(s); spin++) {
		if (vos_now_ms() >= deadline)
			return -ETIMEDOUT;
		if (spin < 64)
			sched_yield();
		else
			nanosleep(&tick, NULL);
	}
	err = (int)vos_slot_wait(s);    /* done: returns at once */
	vos_slot_release(s);
	return err;
}

void vos_client_goodbye(struct vos_client *c, int timeout_ms)
{
	if (!c || !c->xp || c->owner != getpid() || is_dead(c))
		return;
	/* No lock: a thread that held it at exit would keep us here.  The
	 * flag only makes later calls fail at once. */
	atomic_store_explicit(&c->dead, 1, memory_order_relaxed);
	if (c->xp->ops->goodbye)
		c->xp->ops->goodbye(c->xp, timeout_ms);
}

void vos_client_fds(const struct vos_client *c, int fds[4])
{
	c->xt->get_fds(c->xp, fds);
}

struct vos_client *vos_client_adopt(const struct vos_client_config *cfg, const int fds[4])
{
	const struct vos_client_xport *xt = vos_client_xport_find(cfg->transport);
	struct vos_xport *xp;
	struct vos_client *c;
	struct vos_channel_hdr *h;
	int err;

	if (!xt) {
		errno = EINVAL;
		return NULL;
	}
	err = xt->adopt(fds, &xp);
	if (err) {
		errno = -err;
		return NULL;
	}
	c = new_client(cfg, xt, xp);
	if (!c) {
		xt->release(xp);
		errno = ENOMEM;
		return NULL;
	}
	err = vos_channel_open(&c->ch, xp, cfg->kind);
	if (err)
		goto fail;
	h = c->ch.hdr;
	/* A spawned child inherits its parent's channel fds: not ours. */
	if (__atomic_load_n(&h->client_pid, __ATOMIC_RELAXED) != (uint32_t)getpid()) {
		err = -ESRCH;
		goto fail;
	}
	err = init_slots(c);
	if (err)
		goto fail;
	memcpy(c->token, h->token, VOS_TOKEN_LEN);
	__atomic_fetch_add(&h->client_epoch, 1, __ATOMIC_RELAXED);
	return c;
fail:
	/* The descriptors stay the caller's on failure. */
	xt->release(xp);
	c->xp = NULL;
	free_client(c, 1);
	errno = -err;
	return NULL;
}

int vos_client_peek_token(const int fds[4], uint8_t token[VOS_TOKEN_LEN])
{
	const struct vos_client_xport *xt = vos_client_xport_find(NULL);
	struct vos_channel_hdr h;
	int err;

	_Static_assert(sizeof(h) <= VOS_PAGE_SIZE, "the header fits in its page");

	if (!xt)
		return -EINVAL;
	/* A copy: the header is shared with the service, so read it once. */
	err = xt->peek_header(fds, &h, sizeof(h));
	if (err)
		return err;
	if (h.magic != VOS_CHANNEL_MAGIC || h.version != VOS_PROTO_VERSION)
		return -EPROTO;
	memcpy(token, h.token, VOS_TOKEN_LEN);
	return 0;
}

void vos_client_stats(const struct vos_client *c, struct vos_client_stats *st)
{
	struct vos_channel_hdr *h = c->ch.hdr;

	st->requests = atomic_load_explicit(&h->requests, memory_order_relaxed);
	st->completions = atomic_load_explicit(&h->completions, memory_order_relaxed);
	st->client_notifies = atomic_load_explicit(&h->client_notifies, memory_order_relaxed);
	st->service_notifies = atomic_load_explicit(&h->service_notifies, memory_order_relaxed);
	st->client_sleeps = atomic_load_explicit(&h->client_sleeps, memory_order_relaxed);
	st->service_sleeps = atomic_load_explicit(&h->service_sleeps, memory_order_relaxed);
	st->protocol_errors = atomic_load_explicit(&h->protocol_errors, memory_order_relaxed);
	st->bad_completions = atomic_load_explicit(&c->bad_completions, memory_order_relaxed);
	st->unparks = atomic_load_explicit(&c->unparks, memory_order_relaxed);
}

int vos_client_prepare(const char *transport)
{
	const struct vos_client_xport *xt = vos_client_xport_find(transport);

	if (!xt)
		return -EINVAL;
	return xt->prepare ? xt->prepare() : 0;
}
