/*
 * memfd.h - sizing the library's own memory files (the local channel's
 * ring, the copies behind mmap and exec of remote files) whatever the
 * program's RLIMIT_FSIZE says.
 */
#ifndef VOS_MEMFD_H
#define VOS_MEMFD_H

#include <sys/types.h>

/*
 * ftruncate(fd, size) that the process's file size limit does not stop:
 * natively the program's mmap or exec of a file, or a library's internal
 * memory, is not subject to RLIMIT_FSIZE, and an ftruncate past it would
 * fail with EFBIG and raise SIGXFSZ in the program.  0 or -errno.
 */
int vos_memfd_truncate(int fd, off_t size);

#endif
