/*
 * client.c - the client call engine (see client.h).
 *
 * A call takes a slot, writes its request into the request ring and waits
 * for the completion carrying the slot's id.  Waiting has two phases:
 *
 *   spin   check our slot, and drain the ready ring when something is in
 *          it, for cfg->spin iterations.  Any thread may drain; whoever
 *          finds a completion stores the result in its slot and wakes the
 *          slot's owner.
 *   sleep  exactly one waiting thread, the poller, sets the header's
 *          client_sleeping flag, fences, drains once more and then blocks in
 *          the transport until the service kicks it.  Every other waiter
 *          sleeps on a condition variable.  The poller drains after each
 *          wake-up, wakes the owners, and hands the role over when it leaves.
 *
 * The service is untrusted: a completion is accepted only if its slot is in
 * range, that slot has a request in flight, and the generation matches the
 * one sent; anything else is counted and dropped.  A service that hangs up,
 * corrupts the ready ring, or leaves a call unanswered for call_timeout_ms
 * makes the client dead: every call in flight completes with -EIO, later
 * calls fail with -EIO at once.
 *
 * The transport under the channel (local or Xen) is chosen per client by
 * name; client_xport.c holds what differs between them.
 *
 * This file ends up in the LD_PRELOAD library: no constructors, no stdio,
 * and raw system calls only (vos_sys.h), so it never re-enters the
 * interposed wrappers.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
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
#define DEFAULT_TIMEOUT_MS  60000
#define GEN_MASK            ((1u << (32 - VOS_ID_SLOT_BITS)) - 1u)

enum slot_state {
	SLOT_FREE,          /* on the free stack */
	SLOT_OWNED,         /* acquired, no request in flight */
	SLOT_INFLIGHT,      /* request submitted, no answer yet */
	SLOT_DONE,          /* result valid */
};

struct vos_slot {
	struct vos_client *c;
	uint32_t index;
	uint32_t gen;           /* generation of the current request (under c->lock) */
	_Atomic int state;      /* written under c->lock; read lock-free while spinning */
	int64_t result;         /* written before state becomes SLOT_DONE */
};

struct vos_client {
	struct vos_channel ch;
	struct vos_xport *xp;
	const struct vos_client_xport *xt;  /* which transport xp is */
	pid_t owner;                /* the process that connected or adopted */
	unsigned spin;
	int timeout_ms;

	pthread_mutex_t lock;
	pthread_cond_t slot_cv;     /* a slot became free, or the client died */
	pthread_cond_t done_cv;     /* results arrived, the poller left, or the client died */
	int poller;                 /* a thread holds the poller role */
	struct vos_slot *slots;
	uint32_t *free_stack;
	uint32_t nfree;

	_Atomic int dead;
	_Atomic uint64_t bad_completions;
	uint8_t token[VOS_TOKEN_LEN];
};

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

/* Read the umask without changing it (umask() twice would race with other
 * threads creating files). */
static uint32_t current_umask(void)
{
	char buf[2048];
	long fd, n;
	mode_t m;

	fd = vos_sys_openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		n = vos_sys_read((int)fd, buf, sizeof(buf) - 1);
		vos_sys_close((int)fd);
		if (n > 0) {
			buf[n] = '\0';
			char *p = strstr(buf, "\nUmask:");

			if (p) {
				char *end;
				unsigned long v = strtoul(p + 7, &end, 8);

				if (end != p + 7)
					return (uint32_t)(v & 0777);
			}
		}
	}
	m = umask(022);
	umask(m);
	return (uint32_t)m;
}

/* ---- slot table, all under c->lock ---- */

static void mark_dead_locked(struct vos_client *c)
{
	atomic_store_explicit(&c->dead, 1, memory_order_relaxed);
	for (uint32_t i = 0; i < c->ch.nslots; i++) {
		struct vos_slot *s = &c->slots[i];

		if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_INFLIGHT) {
			s->result = -EIO;
			atomic_store_explicit(&s->state, SLOT_DONE, memory_order_release);
		}
	}
	pthread_cond_broadcast(&c->done_cv);
	pthread_cond_broadcast(&c->slot_cv);
	/* The poller may be blocked in the transport with a later deadline
	 * than ours: wake it (if the transport can; else its deadline ends it). */
	if (c->poller && c->xp->ops->wake_local)
		c->xp->ops->wake_local(c->xp);
}

/*
 * Move completions from the ready ring into the slot table.  Bounded: a
 * service that keeps the ring full of junk cannot keep us here forever.
 */
static void drain_locked(struct vos_client *c)
{
	unsigned found = 0;

	for (uint32_t n = 0; n < 2 * c->ch.nslots; n++) {
		struct vos_entry e;
		int err = vos_ring_dequeue(&c->ch.ready, &e);

		if (err == -EAGAIN)
			break;
		if (err) {
			mark_dead_locked(c);    /* corrupt ring: the service is broken */
			return;
		}
		uint32_t slot = VOS_ID_SLOT(e.id), gen = VOS_ID_GEN(e.id);
		struct vos_slot *s = slot < c->ch.nslots ? &c->slots[slot] : NULL;

		if (!s || atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_INFLIGHT ||
		    s->gen != gen) {
			atomic_fetch_add_explicit(&c->bad_completions, 1, memory_order_relaxed);
			continue;
		}
		s->result = e.arg[0];
		atomic_store_explicit(&s->state, SLOT_DONE, memory_order_release);
		found++;
	}
	if (found)
		pthread_cond_broadcast(&c->done_cv);
}

static int slot_done(struct vos_slot *s)
{
	return atomic_load_explicit(&s->state, memory_order_acquire) == SLOT_DONE;
}

static int is_dead(const struct vos_client *c)
{
	return atomic_load_explicit(&c->dead, memory_order_relaxed);
}

static void ns_to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

/*
 * The poller's turn (called and returns with c->lock held): announce that we
 * sleep, look once more, block in the transport, collect what woke us.
 */
static void poll_once_locked(struct vos_client *c, struct vos_slot *s, uint64_t deadline)
{
	struct vos_channel_hdr *h = c->ch.hdr;
	int w = 1;

	c->poller = 1;
	atomic_store_explicit(&h->client_sleeping, 1, memory_order_seq_cst);
	vos_full_fence();
	drain_locked(c);
	if (!slot_done(s) && !is_dead(c)) {
		uint64_t now = vos_now_ns();
		uint64_t left_ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
		int ms = left_ms > INT_MAX ? INT_MAX : (int)left_ms;

		atomic_fetch_add_explicit(&h->client_sleeps, 1, memory_order_relaxed);
		pthread_mutex_unlock(&c->lock);
		w = c->xp->ops->wait(c->xp, ms);
		pthread_mutex_lock(&c->lock);
		/* Even on hang-up: answers already posted still count. */
		drain_locked(c);
	}
	atomic_store_explicit(&h->client_sleeping, 0, memory_order_relaxed);
	c->poller = 0;
	pthread_cond_broadcast(&c->done_cv);   /* let another waiter take over */
	if (w < 0 && w != -EINTR)
		mark_dead_locked(c);            /* -EPIPE: the service is gone */
}

static int64_t wait_result(struct vos_client *c, struct vos_slot *s, uint64_t deadline)
{
	for (unsigned i = 0; i < c->spin; i++) {
		if (slot_done(s))
			return s->result;
		if (vos_ring_maybe_nonempty(&c->ch.ready)) {
			pthread_mutex_lock(&c->lock);
			drain_locked(c);
			pthread_mutex_unlock(&c->lock);
		} else {
			vos_cpu_relax();
		}
	}

	pthread_mutex_lock(&c->lock);
	while (!slot_done(s)) {
		if (vos_now_ns() >= deadline) {
			mark_dead_locked(c);    /* our slot completes with -EIO */
			break;
		}
		if (c->poller) {
			struct timespec ts;

			ns_to_timespec(deadline, &ts);
			pthread_cond_timedwait(&c->done_cv, &c->lock, &ts);
		} else {
			poll_once_locked(c, s, deadline);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return s->result;
}

/* ---- public API ---- */

int vos_slot_acquire(struct vos_client *c, struct vos_slot **out)
{
	int err = 0, cs;

	*out = NULL;
	/* A cancelled condvar wait would leave c->lock held. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&c->lock);
	while (!is_dead(c) && c->nfree == 0)
		pthread_cond_wait(&c->slot_cv, &c->lock);
	if (is_dead(c)) {
		err = -EIO;
	} else {
		struct vos_slot *s = &c->slots[c->free_stack[--c->nfree]];

		atomic_store_explicit(&s->state, SLOT_OWNED, memory_order_relaxed);
		*out = s;
	}
	pthread_mutex_unlock(&c->lock);
	pthread_setcancelstate(cs, NULL);
	return err;
}

void *vos_slot_buf(struct vos_slot *s)
{
	return vos_channel_slot(&s->c->ch, s->index);
}

int64_t vos_slot_call(struct vos_slot *s, const struct vos_req *r)
{
	struct vos_client *c = s->c;
	struct vos_entry e;
	int64_t res;
	int err, cs, st;

	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (st != SLOT_OWNED && st != SLOT_DONE)
		return -EINVAL;
	if (is_dead(c))
		return -EIO;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	uint64_t deadline = vos_now_ns() + (uint64_t)c->timeout_ms * 1000000u;

	pthread_mutex_lock(&c->lock);
	s->gen = (s->gen + 1) & GEN_MASK;
	atomic_store_explicit(&s->state, SLOT_INFLIGHT, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);

	memset(&e, 0, sizeof(e));
	e.id = VOS_ID(s->index, s->gen);
	e.op = r->op;
	e.flags = r->flags;
	memcpy(e.arg, r->arg, sizeof(e.arg));
	err = vos_channel_submit(&c->ch, &e);
	if (err) {
		/* A ring that stays full or is corrupt, or a failed kick: the
		 * channel cannot carry calls any more. */
		pthread_mutex_lock(&c->lock);
		mark_dead_locked(c);
		pthread_mutex_unlock(&c->lock);
	}
	res = wait_result(c, s, deadline);
	pthread_setcancelstate(cs, NULL);
	return res;
}

void vos_slot_release(struct vos_slot *s)
{
	struct vos_client *c;

	if (!s)
		return;
	c = s->c;
	pthread_mutex_lock(&c->lock);
	/* A slot still in flight (misuse) stays out of circulation: the
	 * service may still write into its buffer. */
	if (atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_INFLIGHT &&
	    atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_FREE) {
		atomic_store_explicit(&s->state, SLOT_FREE, memory_order_relaxed);
		c->free_stack[c->nfree++] = s->index;
		pthread_cond_signal(&c->slot_cv);
	}
	pthread_mutex_unlock(&c->lock);
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
		pthread_cond_destroy(&c->done_cv);
		pthread_cond_destroy(&c->slot_cv);
		pthread_mutex_destroy(&c->lock);
	}
	if (c->xp)
		c->xp->ops->close(c->xp);
	free(c->slots);
	free(c->free_stack);
	free(c);
}

/* Allocate the client around an opened channel; xp becomes owned by it. */
static struct vos_client *new_client(const struct vos_client_config *cfg,
				     const struct vos_client_xport *xt, struct vos_xport *xp)
{
	struct vos_client *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (!c)
		return NULL;
	c->xp = xp;
	c->xt = xt;
	c->owner = getpid();
	c->spin = cfg->spin ? cfg->spin : DEFAULT_SPIN;
	c->timeout_ms = cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms : DEFAULT_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cv, &ca);
	pthread_cond_init(&c->slot_cv, &ca);
	pthread_condattr_destroy(&ca);
	return c;
}

/* Fill the slot table once c->ch is open. 0 or -ENOMEM. */
static int init_slots(struct vos_client *c)
{
	uint32_t n = c->ch.nslots;
	uint32_t *gens;

	c->slots = calloc(n, sizeof(*c->slots));
	c->free_stack = calloc(n, sizeof(*c->free_stack));
	gens = calloc(n, sizeof(*gens));
	if (!c->slots || !c->free_stack || !gens) {
		free(gens);
		return -ENOMEM;
	}
	/* Random first generations: answers meant for an earlier user of the
	 * same channel (an exec'd-away image) do not match ours. */
	fill_random(gens, n * sizeof(*gens));
	for (uint32_t i = 0; i < n; i++) {
		c->slots[i].c = c;
		c->slots[i].index = i;
		c->slots[i].gen = gens[i] & GEN_MASK;
		atomic_init(&c->slots[i].state, SLOT_FREE);
		/* Pop order 0, 1, 2...: low slots stay warm in the cache. */
		c->free_stack[i] = n - 1 - i;
	}
	c->nfree = n;
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
	hello.umask = current_umask();
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
}
