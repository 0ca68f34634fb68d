/*
 * rendezvous.h - the message a client channel starts with, whatever the
 * transport: what kind of client it is (new, a forked child claiming its
 * shadow, a spawned child), its umask and the token of the channel it
 * descends from; and the service's answer.
 *
 * The local transport sends struct vos_hello as one message on its Unix
 * socket (transport_local.h); the Xen transport writes the same fields as
 * frontend nodes in xenstore (transport_xen.h), and the service rebuilds the
 * struct from them.  Either way the service sees one struct vos_hello and
 * answers one struct vos_hello_reply.
 */
#ifndef VOS_RENDEZVOUS_H
#define VOS_RENDEZVOUS_H

#include <stdint.h>
#include "vos_proto.h"

#define VOS_HELLO_MAGIC 0x6f6c6c6548534f56ULL /* "VOSHello" */

enum vos_hello_kind {
	VOS_HELLO_NEW       = 1,   /* a new client: start a fresh shadow */
	VOS_HELLO_CLAIM     = 2,   /* a forked child: take the pending shadow named by token */
	VOS_HELLO_FORK_LIVE = 3,   /* a spawned child (vfork/posix_spawn): fork the shadow whose channel token this is, now */
	/* Local transport only, no channel: grow the one memfd sent to
	 * hello.size bytes, reply, hang up.  For a client whose hard
	 * RLIMIT_FSIZE is below its channel's size: the service's limit
	 * applies, not the client's (front.c, back.c). */
	VOS_HELLO_SIZE_MEMFD = 4,
};

struct vos_hello {
	uint64_t magic;          /* VOS_HELLO_MAGIC */
	uint32_t version;        /* VOS_PROTO_VERSION */
	uint32_t kind;           /* enum vos_hello_kind */
	uint32_t umask;
	uint32_t pad;
	union {
		uint8_t token[VOS_TOKEN_LEN];
		uint64_t size;   /* VOS_HELLO_SIZE_MEMFD */
	};
};

struct vos_hello_reply {
	int32_t status;          /* 0 or -errno */
	uint32_t pad;
	uint8_t token[VOS_TOKEN_LEN];  /* the new channel's token (also in the header) */
};

#endif
