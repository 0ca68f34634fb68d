/*
 * client.h - the client side of a channel: slot allocation, submission,
 * completion, waiting, cancellation and failure handling.
 *
 * One call, the short way:
 *     struct vos_slot *s;
 *     int e = vos_slot_acquire(c, &s);           // -EIO if the service is dead
 *     memcpy(vos_slot_buf(s), path, n);           // inputs into the slot buffer
 *     struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { VOS_FD_ROOT, 0, flags, mode, fd } };
 *     int64_t res = vos_slot_call(s, &r);         // result or -errno
 *     ... copy outputs out of vos_slot_buf(s) ...
 *     vos_slot_release(s);
 *
 * Several calls in flight from one thread (even on several clients):
 *     vos_slot_submit(a, &ra);  vos_slot_submit(b, &rb);
 *     while (!vos_slot_poll(a) && !vos_slot_poll(b)) ...do other work...;
 *     ra_res = vos_slot_wait(a);  rb_res = vos_slot_wait(b);
 *
 * A slot belongs to the thread that acquired it until it releases it; only
 * vos_slot_cancel() may be called on it from another thread.
 *
 * Liveness.  A call has no deadline: a flock() that waits ten minutes for
 * another process is fine.  The client declares the channel dead (every call
 * in flight completes with -EIO, later calls fail with -EIO at once) only
 * when the transport reports that the service hung up, the service breaks
 * the protocol (a corrupt ready ring), or the heartbeat the service ticks
 * about once a second in the channel header has not moved while a waiting
 * client watched it for dead_after_ms.  Only time spent watching counts: a
 * client that was itself stopped or descheduled restarts its clock.
 */
#ifndef VOS_CLIENT_H
#define VOS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "../channel/vos_proto.h"

struct vos_client;
struct vos_slot;

struct vos_req {
	uint16_t op;
	uint16_t flags;
	int64_t arg[6];
};

/*
 * How a thread waits (pluggable, so that an M:N scheduler can park a user
 * thread instead of blocking the kernel thread).  The engine waits in two
 * places: for the completion of a call (on a word in the slot) and for a
 * free slot (on a word of its own).  In both it does:
 *
 *     token = current(ctx);           // once per wait, on the waiting thread
 *     ...publish token where wakers find it...
 *     seen = *word;
 *     if (!condition) park(ctx, token, word, seen, timeout_ms);
 *
 * and a waker does:  change the condition; ++*word (or any change);
 * unpark(ctx, token, word).
 *
 * Contract:
 * - park() suspends the calling thread until *word differs from `seen`,
 *   unpark() was called for token, or timeout_ms passed (-1: no timeout).
 *   It must re-check *word == seen after it made itself wakeable (as
 *   FUTEX_WAIT does), so a wake-up that lands between the engine's check and
 *   the sleep is never lost.  Returning early (spuriously) is always allowed:
 *   the engine re-checks and parks again.
 * - unpark() may be called from any thread of the process (never from a
 *   signal handler), possibly with engine locks held: it must not block for
 *   long and must not call into the engine.  It may be called for a thread
 *   that is no longer parked, or before it parked (then its next park() on
 *   that word returns at once because *word changed); the engine never calls
 *   unpark() for a token after the wait that published it has returned.
 * - park() may be called with no engine lock held only.  It must not be a
 *   cancellation point (the engine disables cancellation around it anyway).
 * - The poller (the one waiting thread that sleeps in the transport so the
 *   service need not kick everyone, see vos_client_poll_begin) blocks its
 *   kernel thread in poll(2) for at most a heartbeat-check interval; an M:N
 *   runtime that must never block a kernel thread sets external_poll and
 *   drives vos_client_poll_begin/_end from its own event loop instead.
 * The default (NULL ops) is a futex on the word: it blocks the kernel thread.
 */
struct vos_waiter_ops {
	void *(*current)(void *ctx);
	void (*park)(void *ctx, void *token, _Atomic uint32_t *word, uint32_t seen, int timeout_ms);
	void (*unpark)(void *ctx, void *token, _Atomic uint32_t *word);
	int external_poll;      /* waiters never take the poller role themselves */
};

struct vos_client_config {
	const char *transport;       /* "local" or "xen"; NULL = $VOS_TRANSPORT, and
					"local" if that is unset or empty.  Any other
					name: connect/adopt fail with EINVAL */
	const char *rundir;          /* local: where <service>.sock lives (required) */
	const char *service;         /* "storage"; xen: the service domain's name */
	enum vos_service_kind kind;
	uint32_t nslots, slot_size;  /* 0 = defaults; one slot is kept for CANCEL */
	unsigned spin;               /* spin iterations before sleeping; 0 = default */
	int dead_after_ms;           /* the service is dead if a waiting client sees its
					heartbeat stand still this long; <= 0 = default
					(VOS_DEAD_AFTER_DEFAULT_MS) */
	uint32_t umask;              /* the process umask, given to the service at connect
					(the engine never calls umask(): the caller knows it) */
	const struct vos_waiter_ops *waiter;  /* NULL: the process default (below) */
	void *waiter_ctx;
};

/* 10 s: the service ticks once a second; Xen guests under QEMU TCG on a busy
 * host can miss several seconds of ticks without being dead. */
#define VOS_DEAD_AFTER_DEFAULT_MS 10000

/* The waiter for clients whose config names none (NULL: the futex default).
 * Applies to clients connected or adopted afterwards. */
void vos_set_default_waiter(const struct vos_waiter_ops *ops, void *ctx);

/* Connect a new channel (VOS_HELLO_NEW, or claim/fork per hello_kind + token).
 * NULL and errno set on failure. */
struct vos_client *vos_client_connect(const struct vos_client_config *cfg,
				      int hello_kind, const uint8_t token[VOS_TOKEN_LEN]);
void vos_client_close(struct vos_client *c);
/* Load what the transport named (NULL: $VOS_TRANSPORT) will need, now, at
 * start-up rather than at the first connect (Xen: libxenstore for a client
 * that does its own xenstore jobs; local: nothing).  0 or -errno; a failure
 * is not fatal: the first connect fails the same way, with the same message. */
int vos_client_prepare(const char *transport);
/* Nonzero once the service is known dead; every later call fails with -EIO. */
int vos_client_dead(const struct vos_client *c);
/* The channel's token (from the service). */
const uint8_t *vos_client_token(const struct vos_client *c);
/* Slot buffer size (max bytes in or out of one call). */
size_t vos_client_slot_size(const struct vos_client *c);

/* Take a free slot, waiting (through the waiter) while none is free.  0, or
 * -EIO (dead; *out = NULL). */
int vos_slot_acquire(struct vos_client *c, struct vos_slot **out);
void *vos_slot_buf(struct vos_slot *s);
/* Put the request in the ring (the slot must be acquired and not in flight).
 * 0, -EINVAL (slot in flight), -EIO (dead).  The slot buffer belongs to the
 * service until the call completed. */
int vos_slot_submit(struct vos_slot *s, const struct vos_req *r);
/* Nonzero once the call on s completed (never blocks; may move completions
 * of other slots from the ring into their slots and wake their owners). */
int vos_slot_poll(struct vos_slot *s);
/* Wait for the call on s: its result (>= 0 or -errno; -EIO if the channel
 * died).  -EINVAL if nothing was submitted on s. */
int64_t vos_slot_wait(struct vos_slot *s);
/*
 * vos_slot_wait for a call a signal may interrupt: returns VOS_WAIT_STOPPED,
 * with the call still in flight, as soon as *stop is nonzero (checked while
 * spinning and after every wake-up).  The caller then cancels the call
 * (vos_slot_cancel) and waits for its real end with vos_slot_wait.  Whoever
 * sets *stop (a signal handler) calls vos_slot_nudge(s), which is
 * async-signal-safe, so a parked waiter looks again; a waiter that is the
 * poller and sleeps in the transport is woken by the signal itself, or
 * after at most vos_client_poll_interval_ms if the signal came just before
 * it went to sleep.
 */
#define VOS_WAIT_STOPPED INT64_MIN
int64_t vos_slot_wait_stoppable(struct vos_slot *s, const _Atomic int *stop);
void vos_slot_nudge(struct vos_slot *s);
/* vos_slot_submit + vos_slot_wait. */
int64_t vos_slot_call(struct vos_slot *s, const struct vos_req *r);
/*
 * Ask the service to interrupt the call in flight on s (VOS_OP_CANCEL, sent
 * on a slot kept for it; waits only for the service's short answer).  The
 * call then completes as usual: typically with -EINTR, or with its real
 * result if it finished first.  Any thread may call it.  Returns 1 if the
 * call was running and its worker was interrupted, 0 if it was not running
 * (finished, or still queued: then it completes with -EINTR without
 * running), -EIO if the channel is dead.  Not for signal handlers (it
 * takes a lock and waits like a call).
 */
int vos_slot_cancel(struct vos_slot *s);
void vos_slot_release(struct vos_slot *s);

/* A call that carries no data: acquire, call, release. */
int64_t vos_call0(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2);

/* The poller role, for an event loop that waits on several channels (or on
 * channels and its own fds) at once ------------------------------------------- */

/* A descriptor that becomes readable (POLLIN) when the service kicks this
 * client: local the to_client eventfd, Xen the event channel. */
int vos_client_event_fd(const struct vos_client *c);
/* Move completions from the ready ring into their slots and wake their
 * owners; never blocks.  The number moved, or -EIO if the channel is dead. */
int vos_client_drain(struct vos_client *c);
/*
 * Take the poller role: tell the service to kick (the channel's sleeping
 * flag), then drain.  Returns 1 if the caller is now the poller: it should
 * poll vos_client_event_fd (bounded: vos_client_poll_interval_ms) unless
 * the drain found something, and must then call vos_client_poll_end.
 * Returns 0 if another thread is the poller (it will wake our slots' owners)
 * and -EIO if the channel is dead.
 */
int vos_client_poll_begin(struct vos_client *c);
/* The poller is back (only after vos_client_poll_begin returned 1): consume
 * the kick, drain, check the heartbeat and for a hang-up, and give the role
 * up (to a parked waiter that needs it).  Number drained or -EIO. */
int vos_client_poll_end(struct vos_client *c);
/* How long a poller may sleep before it must look at the heartbeat (ms). */
int vos_client_poll_interval_ms(const struct vos_client *c);
/*
 * For a thread that waits for s (in flight) in its own poll(2) rather than
 * in vos_slot_wait: between watch and unwatch it counts as a parked waiter,
 * and whoever completes s, or hands the poller role over to it, writes 1
 * to the eventfd fd (so poll fd too; read it to reset it).  The waiter
 * takes the role itself when vos_client_poll_begin lets it.  Only the
 * slot's owner; after unwatch nobody writes fd any more.
 */
void vos_slot_watch(struct vos_slot *s, int fd);
void vos_slot_unwatch(struct vos_slot *s);

/* fork/exec support ------------------------------------------------------ */

/* Forget the channel without touching its shared state (unmap, close this
 * process's copies of its descriptors).  Frees c.  For a forked child (the
 * parent's channel lives on), and for the process itself once another client
 * object has adopted the channel from duplicates of its descriptors. */
void vos_client_abandon(struct vos_client *c);
/* The descriptors that carry this channel, -1 where unused, so the exec path
 * can keep them open across exec.  local: sock, memfd, to_service, to_client;
 * xen: -1, gntalloc, evtchn, -1. */
void vos_client_fds(const struct vos_client *c, int fds[4]);
/* After exec: take over the channel carried by inherited descriptors, with
 * the transport cfg names (the same as the old image's).  The header's
 * client_epoch is bumped and request ids restart from a random generation,
 * so answers meant for the old image are dropped.  NULL + errno if the
 * descriptors do not carry a live channel of this process (ESRCH: another
 * process's); on failure the descriptors stay the caller's. */
struct vos_client *vos_client_adopt(const struct vos_client_config *cfg, const int fds[4]);
/* The token in the header of the channel carried by fds (no adoption, nothing
 * closed): what a spawned child needs for VOS_HELLO_FORK_LIVE after
 * vos_client_adopt() refused its parent's channel with ESRCH.  The transport
 * is $VOS_TRANSPORT's (as for a config whose transport is NULL).  0 or -errno. */
int vos_client_peek_token(const int fds[4], uint8_t token[VOS_TOKEN_LEN]);

/*
 * The process is exiting: run one call (op, a0) without taking any lock or
 * waiting for a free slot, polling for the answer itself for at most
 * timeout_ms (a dead or hung service never keeps the process).  The
 * result, -EAGAIN (no free slot: nothing sent), -ETIMEDOUT (no answer in
 * time: the call stays in flight), -EIO (dead, or not this process's
 * channel).  Only in the process that owns the channel.
 */
int64_t vos_client_call_at_exit(struct vos_client *c, uint16_t op, int64_t a0, int timeout_ms);

/* The process is exiting: mark the client dead (calls fail with -EIO from
 * now on) and let the transport tell the service, waiting at most
 * timeout_ms for it to let go of the shared memory (transport.h, goodbye).
 * Frees nothing: other threads may still be inside calls.  Only in the
 * process that owns the channel. */
void vos_client_goodbye(struct vos_client *c, int timeout_ms);

/* Counters, read from the shared header (statistics only), and the engine's
 * own (unparks: wake-ups of parked waiters, one per completion that found
 * its owner parked, plus poller hand-overs). */
struct vos_client_stats {
	uint64_t requests, completions, client_notifies, service_notifies,
		 client_sleeps, service_sleeps, protocol_errors, bad_completions,
		 unparks;
};
void vos_client_stats(const struct vos_client *c, struct vos_client_stats *st);

#endif
