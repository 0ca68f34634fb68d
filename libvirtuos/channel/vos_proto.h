/*
 * vos_proto.h - the VirtuOS-NG channel protocol.
 *
 * One channel connects one client process (in the primary domain) with one
 * service domain.  The client owns the memory: it allocates the channel (a
 * memfd in local mode, granted pages in Xen mode) and the service maps it.
 * Both sides map it at different addresses, so nothing in it is a pointer.
 *
 * Layout (all offsets from the start of the channel, all page aligned):
 *
 *   +-------------------------+ 0
 *   | struct vos_channel_hdr  |  one page: identity, geometry, sleep flags,
 *   |                         |  counters
 *   +-------------------------+ req_ring_off
 *   | struct vos_ring_hdr     |  request ring: client -> service
 *   | vos_entry[nslots]       |
 *   +-------------------------+ ready_ring_off
 *   | struct vos_ring_hdr     |  ready (completion) ring: service -> client
 *   | vos_entry[nslots]       |
 *   +-------------------------+ data_off
 *   | slot 0 data (slot_size) |  data area: one fixed buffer per slot
 *   | slot 1 data             |
 *   | ...                     |
 *   +-------------------------+ total_size
 *
 * Slots.  A request occupies one slot from submission until its completion
 * has been consumed.  The slot number selects the request's data buffer;
 * the client never has more than nslots requests in flight, so neither ring
 * (nslots entries each) can overflow in a correct system.  A request id is
 * (generation << VOS_ID_SLOT_BITS) | slot; the generation changes every time
 * the slot is reused, so a late or forged completion cannot be mistaken for
 * the answer to a newer request.
 *
 * Rings.  Bounded multi-producer/multi-consumer queues in the style of
 * Vyukov's bounded MPMC queue: each 64-byte entry carries a sequence number
 * that says whether it is free for the producer of lap N or full for the
 * consumer of lap N.  Any client thread may produce requests, any service
 * worker may consume them, and the other way round for completions.  See
 * ring.h for the operations.
 *
 * Marshalling.  Arguments are small integers in arg[0..5].  Anything a
 * pointer would point to (paths, write data, struct flock, timespecs) is
 * copied into the slot's data buffer and passed as an offset relative to the
 * start of that buffer.  Strings are NUL terminated inside the buffer.
 * Outputs (read data, struct stat, directory records, link targets) are
 * written by the service at offset 0 of the slot's buffer.  The completion's
 * arg[0] is the result: >= 0 on success, -errno on failure.
 *
 * Trust.  Everything in the channel can be written by the other side at any
 * time.  A reader copies an entry or header field out once and validates the
 * copy: slot numbers are range checked, generations matched, offsets and
 * lengths checked against slot_size, strings checked for a NUL inside the
 * buffer, loops that wait on the peer are bounded.  A broken peer can make
 * calls fail; it must never crash or hang the other side.
 *
 * Wake-up.  A side that finds its ring empty spins for a budget, then sets
 * its sleeping flag, issues a full fence, checks the ring once more, and
 * only then blocks on its notification (eventfd or Xen event channel).  A
 * producer, after enqueueing, fences and notifies only if the consumer's
 * sleeping flag is set.  Every notification sent and every sleep is counted
 * in the header.  The service has several workers: the client kicks them
 * only when some sleep and none spins (service_spinning == 0), so an idle
 * worker asleep next to a spinning one costs no system call per request;
 * a worker that takes a request while more are queued, none spins and some
 * sleep wakes a sleeping one itself (transport op wake_local), so a request
 * never waits behind a long-running one.
 *
 * File descriptors.  Remote fds are named by the client's fd number: the
 * client kernel allocates the number by holding a placeholder fd, and the
 * service keeps a table from client fd number to its own fd.  VOS_FD_ROOT as
 * a dirfd means "the path is relative to the export root"; the client turns
 * every routed absolute or cwd-relative path into such a path.
 */
#ifndef VOS_PROTO_H
#define VOS_PROTO_H

#include <stdint.h>

#define VOS_CHANNEL_MAGIC   0x314e414843534f56ULL /* "VOSCHAN1" little endian */
#define VOS_PROTO_VERSION   1

#define VOS_PAGE_SIZE       4096u
#define VOS_CACHELINE       64u

/* Geometry limits; a channel outside them is rejected by the service. */
#define VOS_MIN_SLOTS       2u
#define VOS_MAX_SLOTS       256u          /* power of two in [MIN, MAX]    */
#define VOS_MIN_SLOT_SIZE   4096u
#define VOS_MAX_SLOT_SIZE   (1u << 20)    /* multiple of VOS_PAGE_SIZE     */
#define VOS_DEFAULT_SLOTS       32u
#define VOS_DEFAULT_SLOT_SIZE   (16u * 1024u)
/* The most one VOS_OP_COPYFD copies (the shadow's worker is busy that long). */
#define VOS_COPYFD_MAX          (16u << 20)

#define VOS_ID_SLOT_BITS    8u
#define VOS_ID_SLOT_MASK    ((1u << VOS_ID_SLOT_BITS) - 1u)
#define VOS_ID(slot, gen)   (((uint32_t)(gen) << VOS_ID_SLOT_BITS) | (uint32_t)(slot))
#define VOS_ID_SLOT(id)     ((id) & VOS_ID_SLOT_MASK)
#define VOS_ID_GEN(id)      ((id) >> VOS_ID_SLOT_BITS)

/* dirfd value meaning "relative to the export root" (same value as AT_FDCWD). */
#define VOS_FD_ROOT         (-100)
/* path offset meaning "no path": the operation applies to dirfd itself. */
#define VOS_NO_PATH         (-1)

/*
 * A result (-VOS_ELINKOUT) of any operation that walks a path: the walk met
 * a symlink whose target leaves the export (an absolute target outside the
 * export's mount point, or a relative one that climbs out with ".."), or a
 * ".." above the export's root.  The service never follows it; the path
 * goes on in the client's namespace, where VOS_OP_WALK says.  Not an errno
 * (they end below 4096 - this is above every one Linux has).
 */
#define VOS_ELINKOUT        4000

/* One ring entry: exactly one cache line. */
struct vos_entry {
	_Atomic uint64_t seq;   /* ring bookkeeping, see ring.h */
	uint32_t id;            /* VOS_ID(slot, generation) */
	uint16_t op;            /* enum vos_op */
	uint16_t flags;         /* VOS_F_* */
	int64_t  arg[6];        /* request arguments / completion: arg[0] = result */
};

/* Ring control words, each on its own cache line, followed by the entries. */
struct vos_ring_hdr {
	_Alignas(64) _Atomic uint64_t enqueue_pos;
	_Alignas(64) _Atomic uint64_t dequeue_pos;
};

enum vos_service_kind {
	VOS_SVC_STORAGE = 1,
	VOS_SVC_NETWORK = 2,
};

enum vos_service_state {
	VOS_STATE_CONNECTING = 0,   /* client created the channel             */
	VOS_STATE_READY      = 1,   /* a shadow serves it                     */
	VOS_STATE_CLOSED     = 2,   /* the service will post no more answers  */
};

#define VOS_TOKEN_LEN 16

struct vos_channel_hdr {
	/* Written by the client before the service maps the channel. */
	uint64_t magic;             /* VOS_CHANNEL_MAGIC */
	uint32_t version;           /* VOS_PROTO_VERSION */
	uint32_t service_kind;      /* enum vos_service_kind */
	uint32_t nslots;            /* entries per ring == data slots */
	uint32_t slot_size;         /* bytes per data slot */
	uint64_t total_size;        /* whole channel in bytes */
	uint64_t req_ring_off;
	uint64_t ready_ring_off;
	uint64_t data_off;
	uint32_t client_pid;        /* informational; the service never trusts it */
	uint32_t client_epoch;      /* bumped when a new image takes the channel over (exec) */

	/* Written by the service. */
	_Alignas(64) _Atomic uint32_t service_state;   /* enum vos_service_state */
	uint32_t pad0;
	_Atomic uint64_t heartbeat;                     /* ticks (about once a second) while the
							   service lives; a waiting client that
							   sees it stand still declares it dead */
	uint8_t token[VOS_TOKEN_LEN];                   /* proves possession of this channel */

	/* Sleep flags: each on its own line, written by its owner only. */
	_Alignas(64) _Atomic uint32_t client_sleeping;  /* a client thread is blocked */
	_Alignas(64) _Atomic uint32_t service_sleeping; /* number of blocked workers */
	_Atomic uint32_t service_spinning;              /* workers polling the request ring */

	/* Counters (statistics only; never used for control decisions). */
	_Alignas(64) _Atomic uint64_t requests;          /* enqueued by the client */
	_Atomic uint64_t client_notifies;                /* client -> service kicks */
	_Atomic uint64_t client_sleeps;                  /* times the client blocked */
	_Alignas(64) _Atomic uint64_t completions;       /* enqueued by the service */
	_Atomic uint64_t service_notifies;               /* service -> client kicks */
	_Atomic uint64_t service_sleeps;                 /* times a worker blocked */
	_Atomic uint64_t protocol_errors;                /* bad entries the service saw */
};

/* Flags in vos_entry.flags */
#define VOS_F_NONE      0x0000u

/*
 * Operations: one list, vos_ops.def, with each operation's arguments and
 * properties (which role serves it, whether it returns a value, holds a
 * file, may wait without bound, may be retried).  VOS_OP_<name> is its
 * position there; VOS_OP__COUNT is one past the last.
 */
enum vos_op {
#define VOS_OP(name, role, value, file, wait, retry) VOS_OP_##name,
#include "vos_ops.def"
	VOS_OP__COUNT
};

#endif /* VOS_PROTO_H */
