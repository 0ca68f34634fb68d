/*
 * stream.h - cookie streams: a stdio FILE on a remote fd (stream.c).
 *
 * I/O goes through the public read/write/lseek/close, so through our
 * wrappers.  fileno() returns the fd; fclose() closes it, as fclose(stdout)
 * closes fd 1 natively.  Fully buffered, which is also what glibc picks
 * for a file that is not a terminal (a remote fd never is).
 */
#ifndef VOS_STREAM_H
#define VOS_STREAM_H

#include <stdio.h>

struct vos_stream;

/*
 * A cookie FILE on fd, opened with cookie_mode ("r", "w", "a", with an
 * optional "+": fopencookie's modes).  on_close, if not NULL, is told when
 * the FILE is fclose()d: fp is locked by the calling thread, its fd still
 * open, and glibc frees fp right after.  NULL + errno on failure (fd left
 * open).
 */
FILE *vos_stream_new(int fd, const char *cookie_mode, void (*on_close)(FILE *fp));
/* The stream behind fp if fp is one of ours, else NULL. */
struct vos_stream *vos_stream_find(FILE *fp);
/* Its fd; -1 once detached. */
int vos_stream_fd(const struct vos_stream *s);
/* freopen: the stream no longer owns its fd (its I/O fails with EBADF,
 * fclose frees it without closing anything). */
void vos_stream_detach(struct vos_stream *s);

#endif
