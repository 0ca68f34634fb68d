/*
 * channel.c - channel geometry, validation and the wake-up protocol
 * (layout and rules in vos_proto.h).
 *
 * Wake-up, the Dekker pattern on both sides:
 *   producer: publish entry; fence; if (peer sleeping) notify
 *   consumer: sleeping = 1;  fence; re-check ring; block
 * With a full fence on both sides at least one of them sees the other's
 * write, so an entry is never left in the ring with its consumer asleep.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "channel.h"
#include "common/vos_time.h"

/*
 * TSan cannot see that the client's mapping and the service's mapping are
 * the same memory, so it misses the happens-before that runs through the
 * client: worker A writes slot X's output and completes; the client takes
 * the answer and reuses slot X; worker B takes the new request and writes
 * slot X again.  Tell it about that edge on the service side, keyed on the
 * slot buffer's address in our own mapping.  This is the protocol's
 * guarantee for a correct client (a slot is reused only after its answer
 * was consumed); a hostile client cannot hurt us through it since the
 * service copies inputs out of the slot before using them.
 */
#if defined(__SANITIZE_THREAD__)
#define VOS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VOS_TSAN 1
#endif
#endif
#ifdef VOS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static void slot_handoff(struct vos_channel *ch, uint32_t id, int release)
{
	uint32_t slot = VOS_ID_SLOT(id);

	if (slot < ch->nslots) {
		if (release)
			__tsan_release(vos_channel_slot(ch, slot));
		else
			__tsan_acquire(vos_channel_slot(ch, slot));
	}
}
#else
static void slot_handoff(struct vos_channel *ch, uint32_t id, int release)
{
	(void)ch, (void)id, (void)release;
}
#endif

/* How long submit/complete keep retrying a ring that looks full (ms). */
#define VOS_FULL_RETRY_MS 1000

static uint64_t page_up(uint64_t n)
{
	return (n + VOS_PAGE_SIZE - 1) & ~(uint64_t)(VOS_PAGE_SIZE - 1);
}

static int geometry_ok(uint32_t nslots, uint32_t slot_size)
{
	return nslots >= VOS_MIN_SLOTS && nslots <= VOS_MAX_SLOTS &&
	       (nslots & (nslots - 1)) == 0 &&
	       slot_size >= VOS_MIN_SLOT_SIZE && slot_size <= VOS_MAX_SLOT_SIZE &&
	       slot_size % VOS_PAGE_SIZE == 0;
}

struct layout {
	uint64_t req_off, ready_off, data_off, total;
};

static void compute_layout(uint32_t nslots, uint32_t slot_size, struct layout *l)
{
	uint64_t ring = page_up(vos_ring_bytes(nslots));

	l->req_off = VOS_PAGE_SIZE;
	l->ready_off = l->req_off + ring;
	l->data_off = l->ready_off + ring;
	l->total = l->data_off + (uint64_t)nslots * slot_size;
}

_Static_assert(sizeof(struct vos_channel_hdr) <= VOS_PAGE_SIZE, "header fits its page");

uint64_t vos_channel_bytes(uint32_t nslots, uint32_t slot_size)
{
	struct layout l;

	if (!geometry_ok(nslots, slot_size))
		return 0;
	compute_layout(nslots, slot_size, &l);
	return l.total;
}

int vos_channel_format(void *mem, uint64_t size, enum vos_service_kind kind,
		       uint32_t nslots, uint32_t slot_size)
{
	struct vos_channel_hdr *h = mem;
	struct layout l;

	if (!mem || !geometry_ok(nslots, slot_size))
		return -EINVAL;
	if (kind != VOS_SVC_STORAGE && kind != VOS_SVC_NETWORK)
		return -EINVAL;
	compute_layout(nslots, slot_size, &l);
	if (size < l.total)
		return -EINVAL;

	memset(h, 0, VOS_PAGE_SIZE);
	h->magic = VOS_CHANNEL_MAGIC;
	h->version = VOS_PROTO_VERSION;
	h->service_kind = kind;
	h->nslots = nslots;
	h->slot_size = slot_size;
	h->total_size = l.total;
	h->req_ring_off = l.req_off;
	h->ready_ring_off = l.ready_off;
	h->data_off = l.data_off;
	vos_ring_format((char *)mem + l.req_off, nslots);
	vos_ring_format((char *)mem + l.ready_off, nslots);
	/* Publish the formatted rings before anyone can see the channel. */
	atomic_thread_fence(memory_order_release);
	return 0;
}

int vos_channel_open(struct vos_channel *ch, struct vos_xport *xp,
		     enum vos_service_kind expect_kind)
{
	volatile const struct vos_channel_hdr *h;
	struct layout l;

	if (!ch || !xp || !xp->mem || xp->size < VOS_PAGE_SIZE)
		return -EINVAL;
	h = xp->mem;

	/* Read every field exactly once; validate only the copies. */
	uint64_t magic = h->magic;
	uint32_t version = h->version;
	uint32_t kind = h->service_kind;
	uint32_t nslots = h->nslots;
	uint32_t slot_size = h->slot_size;
	uint64_t total = h->total_size;
	uint64_t req_off = h->req_ring_off;
	uint64_t ready_off = h->ready_ring_off;
	uint64_t data_off = h->data_off;

	if (magic != VOS_CHANNEL_MAGIC || version != VOS_PROTO_VERSION)
		return -EPROTO;
	if (expect_kind && kind != (uint32_t)expect_kind)
		return -EPROTO;
	if (!geometry_ok(nslots, slot_size))
		return -EPROTO;
	compute_layout(nslots, slot_size, &l);
	if (req_off != l.req_off || ready_off != l.ready_off || data_off != l.data_off ||
	    total != l.total || total > xp->size)
		return -EPROTO;

	static _Atomic uint64_t instances;

	atomic_thread_fence(memory_order_acquire);
	memset(ch, 0, sizeof(*ch));
	ch->instance = atomic_fetch_add_explicit(&instances, 1, memory_order_relaxed) + 1;
	ch->hdr = xp->mem;
	ch->xp = xp;
	ch->nslots = nslots;
	ch->slot_size = slot_size;
	ch->size = l.total;
	vos_ring_attach(&ch->req, (char *)xp->mem + l.req_off, nslots);
	vos_ring_attach(&ch->ready, (char *)xp->mem + l.ready_off, nslots);
	ch->data = (uint8_t *)xp->mem + l.data_off;
	return 0;
}

/*
 * Enqueue, retrying while the ring looks full.  In a correct system a ring
 * of nslots entries never holds more than nslots entries, but Vyukov's
 * queue can report "full" for a moment while a consumer that already
 * claimed an older position has not yet released its cell (e.g. it was
 * preempted).  So retry, yielding, for a bounded time; a ring that stays
 * full is the peer's fault and the caller gets -EAGAIN.
 */
static int enqueue_retry(struct vos_ring *r, const struct vos_entry *e)
{
	uint64_t deadline = 0;

	for (unsigned i = 0;; i++) {
		int err = vos_ring_enqueue(r, e);

		if (err != -EAGAIN)
			return err;
		if (i < 64) {
			vos_cpu_relax();
			continue;
		}
		if (deadline == 0)
			deadline = vos_now_ms() + VOS_FULL_RETRY_MS;
		else if ((i & 63) == 0 && vos_now_ms() > deadline)
			return -EAGAIN;
		sched_yield();
	}
}

int vos_channel_submit(struct vos_channel *ch, const struct vos_entry *e)
{
	struct vos_channel_hdr *h = ch->hdr;
	int err = enqueue_retry(&ch->req, e);

	if (err)
		return err;
	atomic_fetch_add_explicit(&h->requests, 1, memory_order_relaxed);
	vos_full_fence();
	/* A spinning worker will see the request (it re-checks the ring after
	 * it stops spinning), and passes the wake-up on if more are queued. */
	if (atomic_load_explicit(&h->service_sleeping, memory_order_relaxed) > 0 &&
	    atomic_load_explicit(&h->service_spinning, memory_order_relaxed) == 0) {
		atomic_fetch_add_explicit(&h->client_notifies, 1, memory_order_relaxed);
		return ch->xp->ops->notify(ch->xp);
	}
	return 0;
}

int vos_channel_complete(struct vos_channel *ch, const struct vos_entry *e)
{
	struct vos_channel_hdr *h = ch->hdr;
	int err;

	slot_handoff(ch, e->id, 1);
	err = enqueue_retry(&ch->ready, e);

	if (err)
		return err;
	atomic_fetch_add_explicit(&h->completions, 1, memory_order_relaxed);
	vos_full_fence();
	if (atomic_load_explicit(&h->client_sleeping, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&h->service_notifies, 1, memory_order_relaxed);
		return ch->xp->ops->notify(ch->xp);
	}
	return 0;
}

/* *stop is set by another thread: read it atomically (writers should use
 * __atomic_store_n(stop, 1, __ATOMIC_RELAXED) or a plain store). */
static int stopped(volatile int *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static int next_request(struct vos_channel *ch, struct vos_entry *out,
			unsigned spin, volatile int *stop);

int vos_channel_next_request(struct vos_channel *ch, struct vos_entry *out,
			     unsigned spin, volatile int *stop)
{
	int err = next_request(ch, out, spin, stop);

	if (!err)
		slot_handoff(ch, out->id, 0);
	return err;
}

/*
 * service_spinning counts the workers that will look at the request ring
 * again without being kicked: those polling it and those executing a
 * request they took (they come straight back).  A worker drops out only
 * before it sleeps, or before an operation that may block for long
 * (vos_channel_worker_idle).  The client kicks only when no worker counts,
 * so a busy worker next to a sleeping one costs no system call per request.
 * Which channel the calling worker thread is counted on is kept per thread,
 * by the channel's instance number rather than its address: a shadow forked
 * from a worker reopens a new channel in the same struct, and must not
 * believe it is already counted there.
 * Only transports that can wake a fellow worker take part (wake_local).
 */
static __thread uint64_t counted_on;

static void count_awake(struct vos_channel *ch)
{
	if (counted_on != ch->instance && ch->xp->ops->wake_local) {
		atomic_fetch_add_explicit(&ch->hdr->service_spinning, 1, memory_order_seq_cst);
		counted_on = ch->instance;
	}
}

static void uncount_awake(struct vos_channel *ch)
{
	if (counted_on == ch->instance) {
		atomic_fetch_sub_explicit(&ch->hdr->service_spinning, 1, memory_order_seq_cst);
		counted_on = 0;
	}
}

/*
 * Requests are queued and no other worker will look at the ring without a
 * kick: wake a sleeping one, so that a request never waits behind one that
 * may block (a client that saw us awake kicked nobody).
 */
static void pass_on_wakeup(struct vos_channel *ch)
{
	struct vos_channel_hdr *h = ch->hdr;
	uint32_t self = counted_on == ch->instance;

	vos_full_fence();
	if (ch->xp->ops->wake_local && vos_ring_maybe_nonempty(&ch->req) &&
	    atomic_load_explicit(&h->service_spinning, memory_order_relaxed) <= self &&
	    atomic_load_explicit(&h->service_sleeping, memory_order_relaxed) > 0)
		ch->xp->ops->wake_local(ch->xp);
}

void vos_channel_worker_idle(struct vos_channel *ch)
{
	uncount_awake(ch);
	pass_on_wakeup(ch);
}

static int next_request(struct vos_channel *ch, struct vos_entry *out,
			unsigned spin, volatile int *stop)
{
	struct vos_channel_hdr *h = ch->hdr;
	int err;

	count_awake(ch);
	for (;;) {
		err = vos_ring_dequeue(&ch->req, out);
		if (err != -EAGAIN)
			break;
		if (stopped(stop)) {
			err = -EINTR;
			break;
		}
		for (unsigned i = 0; i < spin; i++) {
			if (i >= VOS_SPIN_YIELD_AFTER && (i & VOS_SPIN_YIELD_MASK) == VOS_SPIN_YIELD_MASK)
				sched_yield();
			else
				vos_cpu_relax();
			if (vos_ring_maybe_nonempty(&ch->req))
				break;
		}
		err = vos_ring_dequeue(&ch->req, out);
		if (err != -EAGAIN)
			break;

		/* Sleeping before not-awake: never invisible to a producer. */
		atomic_fetch_add_explicit(&h->service_sleeping, 1, memory_order_seq_cst);
		uncount_awake(ch);
		vos_full_fence();
		err = vos_ring_dequeue(&ch->req, out);
		if (err != -EAGAIN) {
			atomic_fetch_sub_explicit(&h->service_sleeping, 1, memory_order_relaxed);
			count_awake(ch);
			break;
		}
		atomic_fetch_add_explicit(&h->service_sleeps, 1, memory_order_relaxed);
		int ms = ch->worker_wait_ms ? ch->worker_wait_ms : VOS_WORKER_WAIT_MS;
		int w = ch->xp->ops->wait(ch->xp, ms < 0 ? -1 : ms);
		atomic_fetch_sub_explicit(&h->service_sleeping, 1, memory_order_relaxed);
		if (w == -EPIPE)
			return -EPIPE;
		if (w < 0 && w != -EINTR)
			return w;
		/* Kicked, timed out or interrupted: look at the ring and *stop again. */
		count_awake(ch);
	}
	if (err == 0)
		pass_on_wakeup(ch);
	else
		uncount_awake(ch);
	return err;
}
