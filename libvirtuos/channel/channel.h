/*
 * channel.h - a channel: header + request ring + ready ring + data slots
 * over a transport (layout and rules in vos_proto.h).
 *
 * The geometry is read from shared memory once, validated, and kept in this
 * private struct; later code uses only the private copy.
 */
#ifndef VOS_CHANNEL_H
#define VOS_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include "vos_proto.h"
#include "ring.h"
#include "transport.h"

struct vos_channel {
	struct vos_channel_hdr *hdr;   /* shared, untrusted */
	struct vos_xport *xp;
	uint32_t nslots, slot_size;    /* private, validated copies */
	uint64_t size;
	struct vos_ring req, ready;
	uint8_t *data;                 /* slot 0's buffer */
	uint64_t instance;             /* unique per vos_channel_open in this process tree */
	int worker_wait_ms;            /* service: a sleeping worker wakes up this often to
					  look at *stop (vos_channel_next_request); 0 =
					  VOS_WORKER_WAIT_MS, < 0 = never (tests: a missing
					  kick then shows as a hang, not a delay).  Set
					  after vos_channel_open */
};

/* Default of worker_wait_ms. */
#define VOS_WORKER_WAIT_MS 1000
/*
 * Spinning waiters (service workers, client callers) give the CPU away every
 * VOS_SPIN_YIELD_MASK + 1 iterations once they spun VOS_SPIN_YIELD_AFTER
 * (several round trips, ~6 us here): when callers and workers outnumber the
 * cores, the thread that would answer us may be waiting for ours.  Without
 * other runnable threads sched_yield returns at once; with an unrelated one
 * it costs us its time slice, hence not before the answer is overdue.
 */
#define VOS_SPIN_YIELD_AFTER 256u
#define VOS_SPIN_YIELD_MASK 63u

/* Total bytes for a geometry, or 0 if the geometry is outside the limits. */
uint64_t vos_channel_bytes(uint32_t nslots, uint32_t slot_size);
/* Client: lay out a fresh channel in zeroed memory. 0 or -EINVAL. */
int vos_channel_format(void *mem, uint64_t size, enum vos_service_kind kind,
		       uint32_t nslots, uint32_t slot_size);
/* Either side: validate the header of mapped memory and fill ch. 0 or -EPROTO/-EINVAL. */
int vos_channel_open(struct vos_channel *ch, struct vos_xport *xp,
		     enum vos_service_kind expect_kind);
/* Data buffer of a slot (slot < ch->nslots). */
static inline uint8_t *vos_channel_slot(const struct vos_channel *ch, uint32_t slot)
{
	return ch->data + (uint64_t)slot * ch->slot_size;
}

/* Client: enqueue a request, kick the service if a worker sleeps. 0 or -errno. */
int vos_channel_submit(struct vos_channel *ch, const struct vos_entry *e);
/* Service: enqueue a completion, kick the client if it sleeps. 0 or -errno. */
int vos_channel_complete(struct vos_channel *ch, const struct vos_entry *e);

/*
 * Service worker: take the next request.  Spins `spin` iterations, then
 * follows the sleep protocol (service_sleeping++, fence, re-check, block;
 * the block ends after ch->worker_wait_ms even without a kick).
 * Returns 0 with *out filled, -EPIPE when the client is gone, -EPROTO if the
 * ring is corrupt, -EINTR if `*stop` became nonzero.
 */
int vos_channel_next_request(struct vos_channel *ch, struct vos_entry *out,
			     unsigned spin, volatile int *stop);

/*
 * Service worker: the request just taken may block for long (a lock wait, a
 * FIFO).  Stop counting this worker as one that will come back to the ring
 * by itself, and wake a sleeping worker if requests are waiting.  The next
 * vos_channel_next_request counts it again.
 */
void vos_channel_worker_idle(struct vos_channel *ch);

/* Check that [off, off+len) lies inside one slot buffer. */
static inline int vos_slot_range_ok(const struct vos_channel *ch, int64_t off, int64_t len)
{
	return off >= 0 && len >= 0 && (uint64_t)off <= ch->slot_size &&
	       (uint64_t)len <= ch->slot_size - (uint64_t)off;
}

#endif
