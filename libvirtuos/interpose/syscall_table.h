/*
 * syscall_table.h - what the dispatcher's table (syscall_table.c) shares
 * with its precheck (syscall_precheck.c), which is compiled apart: without
 * vector registers and sanitizers.
 */
#ifndef VOS_SYSCALL_TABLE_H
#define VOS_SYSCALL_TABLE_H

#include <stdint.h>

/* Numbers the table covers; every number from here up passes through. */
#define VOS_SC_MAX 512

/* For each number, a bit per argument that is an fd: when all of them are
 * plain local fds the call runs natively (0: the precheck never says so).
 * Filled before the dispatcher is installed, read-only afterwards. */
extern uint8_t vos_sc_local_fds[VOS_SC_MAX];

/* For each path call (on = 1): which arguments hold the path, the dirfd
 * (-1: the cwd) and the flags that may carry AT_EMPTY_PATH (-1: none).  The
 * precheck runs it natively when the path is certainly local.  Filled
 * before the dispatcher is installed, read-only afterwards. */
struct vos_sc_path_args {
	uint8_t on;
	int8_t path, dirfd, flags;
};
extern struct vos_sc_path_args vos_sc_path_args[VOS_SC_MAX];

/* The precheck (vos_dispatch_set_precheck): nonzero to run nr natively. */
int vos_syscall_precheck(long nr, const long a[6]);

#endif
