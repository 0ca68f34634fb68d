/*
 * vos_opdef.c - the operation table, generated from vos_ops.def (the
 * io_uring opdef.c pattern: one entry per op, looked up by number).
 */
#include <stddef.h>
#include "common/vos_opdef.h"

static const struct vos_opdef opdefs[] = {
#define VOS_OP(n, r, value, file, wait, retry)                              \
	[VOS_OP_##n] = {                                                     \
		.name = #n,                                                  \
		.role = VOS_OPROLE_##r,                                      \
		.flags = ((value) ? VOS_OPF_VALUE : 0) |                     \
			 ((file) ? VOS_OPF_FILE : 0) |                       \
			 ((wait) ? VOS_OPF_WAIT : 0) |                       \
			 ((retry) ? VOS_OPF_RETRY : 0),                      \
	},
#include "channel/vos_ops.def"
};

_Static_assert(sizeof opdefs / sizeof *opdefs == VOS_OP__COUNT,
	       "vos_ops.def and enum vos_op disagree");
_Static_assert(VOS_OP__COUNT <= UINT16_MAX, "op numbers are 16 bits on the wire");

const struct vos_opdef *vos_opdef(uint32_t op)
{
	return op < VOS_OP__COUNT ? &opdefs[op] : NULL;
}

const char *vos_op_name(uint32_t op)
{
	const struct vos_opdef *d = vos_opdef(op);

	return d ? d->name : "?";
}

int vos_op_served_by(uint32_t op, unsigned role)
{
	const struct vos_opdef *d = vos_opdef(op);

	return d && role < 8 && (d->role == VOS_OPROLE_ANY || (d->role & (1u << role)));
}
