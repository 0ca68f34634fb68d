/*
 * ring.c - Vyukov's bounded MPMC queue over shared, untrusted memory.
 *
 * Positions only grow.  Cell i of lap L (pos = L * n + i) is free for the
 * producer of pos when cell.seq == pos, full for the consumer of pos when
 * cell.seq == pos + 1; the consumer hands it to the producer of the next lap
 * by storing pos + n.  seq is stored with release and loaded with acquire,
 * so the payload written before the store is visible after the load.
 *
 * Because the peer may scribble on positions and seqs, every loop counts its
 * attempts and gives up with -EPROTO after VOS_RING_MAX_RETRIES.  In a
 * correct system a retry happens only when another thread made progress, so
 * the bound is never reached.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include "ring.h"

_Static_assert(sizeof(struct vos_entry) == 64, "a ring entry is one cache line");
_Static_assert(sizeof(struct vos_ring_hdr) == 128, "ring header is two cache lines");

void vos_ring_format(void *mem, uint32_t n)
{
	struct vos_ring r;

	vos_ring_attach(&r, mem, n);
	atomic_store_explicit(&r.hdr->enqueue_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&r.hdr->dequeue_pos, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++) {
		struct vos_entry *e = &r.ent[i];

		e->id = 0;
		e->op = 0;
		e->flags = 0;
		memset(e->arg, 0, sizeof(e->arg));
		atomic_store_explicit(&e->seq, i, memory_order_release);
	}
}

void vos_ring_attach(struct vos_ring *r, void *mem, uint32_t n)
{
	r->hdr = mem;
	r->ent = (struct vos_entry *)((char *)mem + sizeof(struct vos_ring_hdr));
	r->mask = n - 1;
}

int vos_ring_enqueue(struct vos_ring *r, const struct vos_entry *e)
{
	uint64_t pos = atomic_load_explicit(&r->hdr->enqueue_pos, memory_order_relaxed);

	for (int tries = 0; tries < VOS_RING_MAX_RETRIES; tries++) {
		struct vos_entry *cell = &r->ent[pos & r->mask];
		uint64_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		int64_t diff = (int64_t)(seq - pos);

		if (diff == 0) {
			/* On failure pos is reloaded with the current value. */
			if (atomic_compare_exchange_weak_explicit(&r->hdr->enqueue_pos, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				cell->id = e->id;
				cell->op = e->op;
				cell->flags = e->flags;
				memcpy(cell->arg, e->arg, sizeof(cell->arg));
				atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
				return 0;
			}
		} else if (diff < 0) {
			return -EAGAIN;     /* the consumer of the previous lap has not freed it */
		} else {
			/* Another producer took pos; catch up. */
			pos = atomic_load_explicit(&r->hdr->enqueue_pos, memory_order_relaxed);
		}
		vos_cpu_relax();
	}
	return -EPROTO;
}

int vos_ring_dequeue(struct vos_ring *r, struct vos_entry *out)
{
	uint64_t pos = atomic_load_explicit(&r->hdr->dequeue_pos, memory_order_relaxed);

	for (int tries = 0; tries < VOS_RING_MAX_RETRIES; tries++) {
		struct vos_entry *cell = &r->ent[pos & r->mask];
		uint64_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
		int64_t diff = (int64_t)(seq - (pos + 1));

		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->hdr->dequeue_pos, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				/* Copy out once; the caller validates the copy. */
				atomic_store_explicit(&out->seq, pos, memory_order_relaxed);
				out->id = cell->id;
				out->op = cell->op;
				out->flags = cell->flags;
				memcpy(out->arg, cell->arg, sizeof(out->arg));
				atomic_store_explicit(&cell->seq, pos + (uint64_t)r->mask + 1,
						      memory_order_release);
				return 0;
			}
		} else if (diff < 0) {
			return -EAGAIN;     /* not yet published */
		} else {
			pos = atomic_load_explicit(&r->hdr->dequeue_pos, memory_order_relaxed);
		}
		vos_cpu_relax();
	}
	return -EPROTO;
}

int vos_ring_maybe_nonempty(const struct vos_ring *r)
{
	uint64_t pos = atomic_load_explicit(&r->hdr->dequeue_pos, memory_order_relaxed);
	uint64_t seq = atomic_load_explicit(&r->ent[pos & r->mask].seq, memory_order_relaxed);

	return seq == pos + 1;
}
