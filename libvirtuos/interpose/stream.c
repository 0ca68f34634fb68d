/*
 * stream.c - cookie streams: a stdio FILE on a remote fd.
 *
 * glibc's file streams read, write and seek with internal system calls,
 * which never reach our wrappers.  A FILE made with fopencookie() keeps
 * glibc's buffering, formatting, ungetc, ftell arithmetic and locking, and
 * calls our four callbacks, which use the public read/write/lseek/close,
 * i.e. the wrappers that forward remote fds.  Every other stdio function
 * (fread, fprintf, getline, fseeko, fflush, fclose, ...) then works
 * unchanged.
 *
 * The streams' users are stdio.c (fopen, fdopen, freopen on remote files)
 * and stdstreams.c (stdin/stdout/stderr on remote fds 0-2); this file
 * knows neither.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "stream.h"

struct vos_stream {
	FILE *fp;
	int fd;                          /* -1 once freopen() detached it */
	void (*on_close)(FILE *);        /* see vos_stream_new() */
	struct vos_stream *prev, *next;  /* registry of our streams */
};

/* Every live cookie stream, so freopen() can tell ours from glibc's and the
 * exit path can flush them.  Held only for list updates and short walks. */
static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vos_stream *streams;

/* A fork from another thread must not leave the child with the lock held. */
static void streams_atfork_prepare(void) { pthread_mutex_lock(&streams_lock); }
static void streams_atfork_parent(void) { pthread_mutex_unlock(&streams_lock); }
static void streams_atfork_child(void) { pthread_mutex_unlock(&streams_lock); }

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	pthread_atfork(streams_atfork_prepare, streams_atfork_parent, streams_atfork_child);
}

static void streams_init(void)
{
	pthread_once(&atfork_once, register_atfork);
}

static void stream_register(struct vos_stream *s)
{
	pthread_mutex_lock(&streams_lock);
	s->prev = NULL;
	s->next = streams;
	if (streams)
		streams->prev = s;
	streams = s;
	pthread_mutex_unlock(&streams_lock);
}

static void stream_unregister(struct vos_stream *s)
{
	pthread_mutex_lock(&streams_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&streams_lock);
}

struct vos_stream *vos_stream_find(FILE *fp)
{
	struct vos_stream *s;

	streams_init();
	pthread_mutex_lock(&streams_lock);
	for (s = streams; s && s->fp != fp; s = s->next)
		;
	pthread_mutex_unlock(&streams_lock);
	return s;
}

/* The callbacks run with the FILE's lock held (glibc takes it). */

static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct vos_stream *s = cookie;

	if (s->fd < 0) {
		errno = EBADF;
		return -1;
	}
	return read(s->fd, buf, size);
}

/* glibc's file streams retry short writes themselves, but a cookie stream
 * treats a short count as an error, so retry here.  On failure return what
 * was written (maybe 0) rather than -1: glibc does unsigned arithmetic with
 * the count, and the short count already sets the stream's error flag. */
static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	struct vos_stream *s = cookie;
	size_t done = 0;

	if (s->fd < 0) {
		errno = EBADF;
		return 0;
	}
	while (done < size) {
		ssize_t n = write(s->fd, buf + done, size - done);
		if (n < 0)
			break;
		if (n == 0) {           /* would loop forever */
			errno = EIO;
			break;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int stream_seek(void *cookie, off64_t *offset, int whence)
{
	struct vos_stream *s = cookie;
	off_t pos;

	if (s->fd < 0) {
		errno = EBADF;
		return -1;
	}
	pos = lseek(s->fd, *offset, whence);
	if (pos < 0)
		return -1;
	*offset = pos;
	return 0;
}

/* fclose() closes the fd, as it does natively (fclose(stdout) closes fd 1).
 * The stream's owner hears of it first (on_close): it may still point
 * stdin/stdout/stderr at it, and glibc frees it after this. */
static int stream_close(void *cookie)
{
	struct vos_stream *s = cookie;
	int fd = s->fd;

	if (s->on_close)
		s->on_close(s->fp);
	stream_unregister(s);
	free(s);
	return fd < 0 ? 0 : close(fd);
}

FILE *vos_stream_new(int fd, const char *cookie_mode, void (*on_close)(FILE *))
{
	static const cookie_io_functions_t io = {
		.read = stream_read,
		.write = stream_write,
		.seek = stream_seek,
		.close = stream_close,
	};
	struct vos_stream *s = calloc(1, sizeof *s);
	FILE *fp;

	if (!s)
		return NULL;
	streams_init();
	s->fd = fd;
	s->on_close = on_close;
	fp = fopencookie(s, cookie_mode, io);
	if (!fp) {
		free(s);
		return NULL;
	}
	/*
	 * fopencookie() sets _fileno to -2 ("no real file behind it"), so
	 * fileno() would fail with EBADF.  Programs need fileno() on their
	 * FILEs: fstat(fileno(f)), ftruncate(fileno(f)), gnulib's fseeko that
	 * lseeks fileno(f) itself, libstdc++'s filebuf that does its own
	 * read/write on fileno(f).  <stdio.h> exposes struct _IO_FILE's
	 * _fileno, so store the fd there.  glibc never makes a system call on
	 * _fileno of a cookie FILE itself (I/O goes through the callbacks and
	 * its "stat" hook for cookie files is a stub), so this is safe.
	 */
	fp->_fileno = fd;
	s->fp = fp;
	stream_register(s);
	return fp;
}

/*
 * glibc flushes stdio buffers only after every destructor has run, which
 * may be after the channel to the service is gone.  Flush our streams from a
 * destructor too.  Only trylock: a thread may sit in fgets() on a stream
 * forever while another exits; native exit does not wait for it either.
 */
__attribute__((destructor)) static void flush_streams(void)
{
	pthread_mutex_lock(&streams_lock);
	for (struct vos_stream *s = streams; s; s = s->next) {
		if (ftrylockfile(s->fp) == 0) {
			fflush_unlocked(s->fp);
			funlockfile(s->fp);
		}
	}
	pthread_mutex_unlock(&streams_lock);
}

int vos_stream_fd(const struct vos_stream *s)
{
	return s->fd;
}

void vos_stream_detach(struct vos_stream *s)
{
	s->fd = -1;     /* keeps _fileno; fclose still frees it */
}
