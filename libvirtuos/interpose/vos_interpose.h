/*
 * vos_interpose.h - what the pieces of the preload library share.
 *
 * libvirtuos.so interposes glibc's system-call wrappers.  A call is
 * forwarded when it names a routed path (see route.c) or a remote fd (see
 * fdtable.c); everything else goes to the real glibc function.
 *
 * Calls to our own wrappers from inside the library (README.md, "Calling
 * our own wrappers"): the core files reach glibc through the real_*
 * pointers (real.h) and the remote side through vos_rpc().  The stdio
 * layer (stdio.c, stream.c, stdstreams.c, dir.c), io.c's copy_emulated and
 * a few path helpers call the public functions (open, read, close, ...) on
 * purpose: they resolve to our wrappers, which route correctly.  Never with
 * the fd lock, a service's lock or any other lock of the core held.
 * Exception: an entry point that a sanitizer's interceptor of ANOTHER
 * function calls (TSan's fstat() calls the next __fxstat()) must not call
 * that function back, or the two recurse: such entry points (the __xstat
 * family, compat.c) and the *64 aliases (VOS_ALIAS) use our code directly.
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

/* Nonzero if fd is a remote fd of a live or dead channel (a placeholder we own). */
int vos_fd_is_remote(int fd);

/* Remote directory records: like getdents64(2) on a remote fd.  Returns bytes
 * (validated struct linux_dirent64 records), 0 at end, -1 + errno. */
ssize_t vos_remote_getdents64(int fd, void *buf, size_t len);

/*
 * Where (dirfd, path) goes, for wrappers that hand local paths to glibc's
 * own function: 1 routed to a service, 0 local, -1 + errno (e.g. EIO when
 * the service is down, ENAMETOOLONG).  When 0, *local is the path to give
 * glibc: path itself, or buf (PATH_MAX bytes) holding an absolute path when
 * path was relative to a virtual cwd inside a routed directory or left a
 * routed directory by ".." ("/storage/.." is "/"): the kernel cannot walk
 * such a path as written.
 */
int vos_path_local(int dirfd, const char *path, char *buf, const char **local);

/*
 * stdio.c and dir.c call vos_init() and vos_path_local() from fopen() and
 * opendir(), so init and routing must not use fopen()/opendir() themselves
 * (use raw open/getdents or glibc's functions via dlsym).
 */

/* stdstreams.c, for freopen (stdio.c): 0-2 if fp is glibc's or our stream
 * for that standard fd, else -1. */
int vos_std_stream_fd(FILE *fp);

#endif
