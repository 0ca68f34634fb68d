/*
 * vos_opdef.h - what each operation is, for the client and the service
 * alike: one table generated from libvirtuos/channel/vos_ops.def (the
 * meaning of every column is explained there).
 *
 * The lookups take any 16-bit op number, including ones a peer of a newer
 * build may send: an op this build does not know has no entry (NULL).
 */
#ifndef VOS_OPDEF_H
#define VOS_OPDEF_H

#include <stdint.h>
#include "channel/vos_proto.h"

/* The role column, a mask: 0 = a session operation, served by every role;
 * otherwise bit (1 << kind) for each enum vos_service_kind that serves it
 * (STORAGE_NETWORK: an operation on an fd, a file's or a socket's). */
#define VOS_OPROLE_ANY      0u
#define VOS_OPROLE_STORAGE  (1u << VOS_SVC_STORAGE)
#define VOS_OPROLE_NETWORK  (1u << VOS_SVC_NETWORK)
#define VOS_OPROLE_STORAGE_NETWORK (VOS_OPROLE_STORAGE | VOS_OPROLE_NETWORK)

/* Flags (the 0/1 columns of vos_ops.def). */
#define VOS_OPF_VALUE   0x01u   /* result is a value >= 0, else 0 or -errno */
#define VOS_OPF_FILE    0x02u   /* arg[0] is a client fd held for the call */
#define VOS_OPF_WAIT    0x04u   /* may wait without bound in the service */
#define VOS_OPF_RETRY   0x08u   /* safe to send again after a reconnect */

/* Largest errno a result may carry (-4095 .. -1), as in the kernel. */
#define VOS_MAX_ERRNO   4095

struct vos_opdef {
	const char *name;       /* "OPENAT": VOS_OP_OPENAT without the prefix */
	uint8_t role;           /* VOS_OPROLE_* (a mask) */
	uint8_t flags;          /* VOS_OPF_* */
};

/* The definition of op, or NULL if this build does not know it. */
const struct vos_opdef *vos_opdef(uint32_t op);

/* Its name, or "?" for an op this build does not know (for messages). */
const char *vos_op_name(uint32_t op);

/* Whether role (an enum vos_service_kind) serves op: a session op, or one
 * of the role's own. */
int vos_op_served_by(uint32_t op, unsigned role);

/*
 * Whether res is an answer op may give: -VOS_MAX_ERRNO..0, or for an op
 * that returns a value up to max as well (the caller's bound: the bytes it
 * asked for, or INT64_MAX).  An unknown op may only answer 0 or -errno.
 * The service is untrusted: a client turns anything else into EIO.
 */
static inline int vos_op_result_ok(uint32_t op, int64_t res, int64_t max)
{
	const struct vos_opdef *d;

	if (res < -VOS_MAX_ERRNO)
		return 0;
	if (res <= 0)
		return 1;
	d = vos_opdef(op);
	return d && (d->flags & VOS_OPF_VALUE) && res <= max;
}

#endif
