/*
 * vos_interpose.h - the smallest things the pieces of the preload library
 * share (interpose_internal.h has the rest).
 *
 * libvirtuos.so catches the process's system calls (syscall_table.c): a
 * call is forwarded when it names a routed path (see route.c) or a remote
 * fd (see fdtable.c); everything else goes to the kernel.
 */
#ifndef VOS_INTERPOSE_H
#define VOS_INTERPOSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "../client/client.h"

/* Make sure the library is initialised (config read, fd table rebuilt after
 * exec).  Cheap after the first call; safe from any wrapper. */
void vos_init(void);

#endif
