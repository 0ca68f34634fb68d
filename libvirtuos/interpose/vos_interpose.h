/*
 * vos_interpose.h - what the pieces of the preload library share.
 *
 * libvirtuos.so interposes glibc's system-call wrappers.  A call is
 * forwarded when it names a routed path (see route.c) or a remote fd (see
 * fdtable.c); everything else goes to the real glibc function.
 *
 * Inside the library, call the public functions (open, read, close, ...)
 * freely: they resolve to our own wrappers, which route correctly.  Use the
 * real_* pointers only where a wrapper must reach glibc itself.
 */
#ifndef VOS_INTERPOSE_H
#define VOS_INTERPOSE_H

#include <stddef.h>
#include <stdint.h>
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
 * Route a (dirfd, path) pair.  Returns 1 if the call belongs to a service
 * (then *client is the channel to use, *rdirfd the remote dirfd or
 * VOS_FD_ROOT, and rpath, of size rpath_len, the path to send), 0 if it is
 * local, -1 + errno on error (e.g. EIO when the service is down,
 * ENAMETOOLONG).
 */
int vos_route(int dirfd, const char *path, struct vos_client **client,
	      int *rdirfd, char *rpath, size_t rpath_len);

#endif
