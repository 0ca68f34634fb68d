/*
 * client.h - the client side of a channel: slot allocation, submission,
 * waiting for completions (spin, then one thread sleeps in the kernel while
 * the others wait on a condition variable), failure handling.
 *
 * Usage (one call):
 *     struct vos_slot *s;
 *     int e = vos_slot_acquire(c, &s);           // -EIO if the service is dead
 *     memcpy(vos_slot_buf(s), path, n);           // inputs into the slot buffer
 *     struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { VOS_FD_ROOT, 0, flags, mode, fd } };
 *     int64_t res = vos_slot_call(s, &r);         // result or -errno
 *     ... copy outputs out of vos_slot_buf(s) ...
 *     vos_slot_release(s);
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

struct vos_client_config {
	const char *transport;       /* "local" or "xen"; NULL = $VOS_TRANSPORT, and
					"local" if that is unset or empty.  Any other
					name: connect/adopt fail with EINVAL */
	const char *rundir;          /* local: where <service>.sock lives (required) */
	const char *service;         /* "storage"; xen: the service domain's name */
	enum vos_service_kind kind;
	uint32_t nslots, slot_size;  /* 0 = defaults */
	unsigned spin;               /* spin iterations before sleeping; 0 = default */
	int call_timeout_ms;         /* a call not answered in this time fails with -EIO
				        and the channel is declared dead; <= 0 = default (60 s) */
};

/* Connect a new channel (VOS_HELLO_NEW, or claim/fork per hello_kind + token).
 * NULL and errno set on failure. */
struct vos_client *vos_client_connect(const struct vos_client_config *cfg,
				      int hello_kind, const uint8_t token[VOS_TOKEN_LEN]);
void vos_client_close(struct vos_client *c);
/* Nonzero once the service is known dead; every later call fails with -EIO. */
int vos_client_dead(const struct vos_client *c);
/* The channel's token (from the service). */
const uint8_t *vos_client_token(const struct vos_client *c);
/* Slot buffer size (max bytes in or out of one call). */
size_t vos_client_slot_size(const struct vos_client *c);

int vos_slot_acquire(struct vos_client *c, struct vos_slot **out);
void *vos_slot_buf(struct vos_slot *s);
int64_t vos_slot_call(struct vos_slot *s, const struct vos_req *r);
void vos_slot_release(struct vos_slot *s);

/* A call that carries no data: acquire, call, release. */
int64_t vos_call0(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2);

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

/* The process is exiting: mark the client dead (calls fail with -EIO from
 * now on) and let the transport tell the service, waiting at most
 * timeout_ms for it to let go of the shared memory (transport.h, goodbye).
 * Frees nothing: other threads may still be inside calls.  Only in the
 * process that owns the channel. */
void vos_client_goodbye(struct vos_client *c, int timeout_ms);

/* Counters, read from the shared header (statistics only). */
struct vos_client_stats {
	uint64_t requests, completions, client_notifies, service_notifies,
		 client_sleeps, service_sleeps, protocol_errors, bad_completions;
};
void vos_client_stats(const struct vos_client *c, struct vos_client_stats *st);

#endif
