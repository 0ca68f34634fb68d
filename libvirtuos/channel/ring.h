/*
 * ring.h - bounded MPMC ring of 64-byte entries in memory shared between
 * two address spaces (see vos_proto.h for where rings live).
 *
 * Algorithm: Vyukov's bounded MPMC queue.  Entry i of lap L is free for the
 * producer when entry.seq == pos (pos = L * n + i) and full for the consumer
 * when entry.seq == pos + 1.  The consumer frees it by storing pos + n.
 *
 * The peer is untrusted: positions and sequence numbers may hold anything.
 * Every loop is bounded (VOS_RING_MAX_RETRIES); a ring that never makes
 * sense again yields -EPROTO instead of a hang.  Entries are copied out
 * before the caller looks at them.
 */
#ifndef VOS_RING_H
#define VOS_RING_H

#include <stdint.h>
#include "vos_proto.h"

#define VOS_RING_MAX_RETRIES 4096

/*
 * Full fence for the sleep/wake handshake (flag store; fence; ring check on
 * one side, ring store; fence; flag check on the other).  TSan does not
 * model fences and GCC warns about them under -fsanitize=thread; the fence
 * is still emitted, and it only orders atomics, so silencing is safe.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wtsan"
static inline void vos_full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#pragma GCC diagnostic pop

/* Spin-wait hint for busy loops (the x86 PAUSE instruction). */
static inline void vos_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

struct vos_ring {
	struct vos_ring_hdr *hdr;
	struct vos_entry *ent;
	uint32_t mask;          /* nentries - 1, taken from our own copy of the geometry */
};

/* Bytes a ring with n entries occupies (header + entries). */
static inline uint64_t vos_ring_bytes(uint32_t n)
{
	return sizeof(struct vos_ring_hdr) + (uint64_t)n * sizeof(struct vos_entry);
}

/* Format the ring at mem (done once, by the channel's owner). n: power of two. */
void vos_ring_format(void *mem, uint32_t n);
/* Attach a view to a ring at mem with n entries (n comes from validated geometry). */
void vos_ring_attach(struct vos_ring *r, void *mem, uint32_t n);
/* 0 on success; -EAGAIN if full; -EPROTO if the shared state is inconsistent. */
int vos_ring_enqueue(struct vos_ring *r, const struct vos_entry *e);
/* 0 and *out filled; -EAGAIN if empty; -EPROTO if the shared state is inconsistent. */
int vos_ring_dequeue(struct vos_ring *r, struct vos_entry *out);
/* Cheap check, may be stale: nonzero if a dequeue would probably succeed. */
int vos_ring_maybe_nonempty(const struct vos_ring *r);

#endif
