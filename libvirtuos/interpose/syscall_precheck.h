/*
 * syscall_precheck.h - what the precheck (syscall_precheck.c) needs from the
 * rest of the library to answer path calls without the full handler: a
 * snapshot of the routing table taken once at start-up, and whether the
 * working directory is certainly local.
 */
#ifndef VOS_SYSCALL_PRECHECK_H
#define VOS_SYSCALL_PRECHECK_H

#include <stdint.h>

struct vos_conf;

/* Take the snapshot of conf's route prefixes (route.c, once, before the
 * dispatcher is installed).  Prefixes the snapshot cannot hold (too many,
 * too long, or "/") turn the path precheck off: every path call then goes
 * to the full handler. */
void vos_precheck_routes(const struct vos_conf *conf);

/* 1 while the cwd is a local directory not under any route prefix, as
 * recorded by route.c (its cwd state CWD_LOCAL, the kernel's getcwd()).
 * Written by route.c under its cwd lock, read with relaxed loads. */
extern int vos_cwd_plain;

/* uaccess.c: the lowest user address a copy accepts, whether its fault
 * handler is in the kernel (until then a fault in a copy would be fatal),
 * and its fault-safe string copy (length, -ENAMETOOLONG or -EFAULT). */
extern _Atomic uintptr_t vos_ua_low;
extern _Atomic int vos_ua_installed;
long vos_ua_strncpy(char *dst, const char *src, unsigned long max);

#endif
