/*
 * stdio.c - stdio streams on remote files.
 *
 * glibc's fopen() family opens, reads, writes and seeks through internal
 * system calls that never reach our open/read/write wrappers.  So for a
 * routed path or a remote fd we build the FILE with fopencookie(): glibc
 * keeps doing the buffering, formatting, ungetc, ftell arithmetic, locking,
 * and calls our four callbacks, which use the public read/write/lseek/close,
 * i.e. the wrappers that forward remote fds.  Every other stdio function
 * (fread, fprintf, getline, fseeko, fflush, fclose, ...) then works unchanged.
 * Local paths and fds go straight to glibc's own functions.
 *
 * Also here, because they are stdio functions that make internal system
 * calls on a path or an fd: remove() and dprintf()/vdprintf().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vos_interpose.h"
#include "real.h"

/* The interposed functions must stay visible whatever the build's default. */
#define EXPORT __attribute__((visibility("default")))

/* glibc's checking variant behind vasprintf (used by __vdprintf_chk). */
extern int __vasprintf_chk(char **, int, const char *, va_list);

static void streams_atfork_prepare(void);
static void streams_atfork_parent(void);
static void streams_atfork_child(void);

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	pthread_atfork(streams_atfork_prepare, streams_atfork_parent, streams_atfork_child);
}

/* glibc's own functions are real_fopen() etc. (real.h). */
static void stdio_init(void)
{
	vos_init();
	pthread_once(&atfork_once, register_atfork);
}

/* ------------------------------------------------------------------------ */
/* Mode strings                                                             */

struct stream_mode {
	int oflags;          /* open(2) flags, as glibc's fopen derives them */
	char cookie[3];      /* "r", "w", "a", optionally with "+": for fopencookie */
	bool append;
	bool seek_end;       /* "a" without "+": glibc puts the offset at the end
				at open, so ftell() right after fopen is the size */
};

/* Parse an fopen mode the way glibc does: r/w/a first, then up to six
 * modifier characters ('+', 'x' O_EXCL, 'e' O_CLOEXEC, others ignored). */
static int parse_mode(const char *mode, struct stream_mode *m)
{
	bool plus = false;

	memset(m, 0, sizeof *m);
	switch (mode[0]) {
	case 'r':
		m->oflags = 0;
		break;
	case 'w':
		m->oflags = O_CREAT | O_TRUNC;
		break;
	case 'a':
		m->oflags = O_CREAT | O_APPEND;
		m->append = true;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	for (int i = 1; i < 7 && mode[i]; i++) {
		if (mode[i] == '+')
			plus = true;
		else if (mode[i] == 'x')
			m->oflags |= O_EXCL;
		else if (mode[i] == 'e')
			m->oflags |= O_CLOEXEC;
	}
	if (plus)
		m->oflags |= O_RDWR;
	else
		m->oflags |= mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	m->seek_end = m->append && !plus;
	m->cookie[0] = mode[0];
	m->cookie[1] = plus ? '+' : '\0';
	m->cookie[2] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Cookie streams                                                           */

struct vos_stream {
	FILE *fp;
	int fd;                          /* -1 once freopen() detached it */
	bool std;                        /* made by vos_stdio_wrap_fd */
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

static struct vos_stream *stream_find(FILE *fp)
{
	struct vos_stream *s;

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
 * A stream made by vos_stdio_wrap_fd is first reported to its owner, which
 * may still point stdin/stdout/stderr at it: glibc frees it after this. */
static int stream_close(void *cookie)
{
	struct vos_stream *s = cookie;
	int fd = s->fd;

	if (s->std)
		vos_std_stream_closed(s->fp);
	stream_unregister(s);
	free(s);
	return fd < 0 ? 0 : close(fd);
}

/* A cookie FILE on fd.  NULL + errno on failure (fd left open). */
static FILE *stream_new(int fd, const char *cookie_mode, bool std)
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
	s->fd = fd;
	s->std = std;
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

/* After open(): a FILE on fd, which the caller opened with m->oflags. */
static FILE *stream_on_new_fd(int fd, const struct stream_mode *m)
{
	FILE *fp;
	int e;

	if (m->seek_end && lseek(fd, 0, SEEK_END) < 0 && errno != ESPIPE)
		goto fail;
	if (vos_fd_is_remote(fd))
		fp = stream_new(fd, m->cookie, false);
	else
		fp = real_fdopen(fd, m->cookie);
	if (fp)
		return fp;
fail:
	e = errno;
	close(fd);
	errno = e;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* fopen, fdopen, freopen                                                   */

static FILE *open_stream(const char *path, const char *mode,
			 FILE *(*real_fn)(const char *, const char *))
{
	struct stream_mode m;
	char buf[PATH_MAX];
	const char *local;
	int r, fd;

	if (!path || !mode)
		return real_fn(path, mode);
	r = vos_path_local(AT_FDCWD, path, buf, &local);
	if (r < 0)
		return NULL;
	if (r == 0)
		return real_fn(local, mode);
	if (parse_mode(mode, &m) < 0)
		return NULL;
	if (strstr(mode, ",ccs=")) {
		/* Wide-character conversion needs glibc's own file streams. */
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, m.oflags, 0666);
	if (fd < 0)
		return NULL;
	return stream_on_new_fd(fd, &m);
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	stdio_init();
	return open_stream(path, mode, real_fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	stdio_init();
	return open_stream(path, mode, real_fopen64);
}

EXPORT FILE *fdopen(int fd, const char *mode)
{
	struct stream_mode m;
	bool added_append = false;
	int fl;

	stdio_init();
	if (!mode || !vos_fd_is_remote(fd))
		return real_fdopen(fd, mode);
	if (parse_mode(mode, &m) < 0)
		return NULL;
	/* glibc's checks: the fd must allow the access the mode asks for, and
	 * "a" adds O_APPEND if the fd lacks it. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return NULL;
	if (((fl & O_ACCMODE) == O_RDONLY && (m.oflags & O_ACCMODE) != O_RDONLY) ||
	    ((fl & O_ACCMODE) == O_WRONLY && (m.oflags & O_ACCMODE) != O_WRONLY)) {
		errno = EINVAL;
		return NULL;
	}
	if (m.append && !(fl & O_APPEND)) {
		if (fcntl(fd, F_SETFL, fl | O_APPEND) < 0)
			return NULL;
		added_append = true;
	}
	if (added_append && m.seek_end && lseek(fd, 0, SEEK_END) < 0 &&
	    errno != ESPIPE)
		return NULL;
	return stream_new(fd, m.cookie, false);
}

/* freopen's "the stream is closed" for a FILE we cannot free: flush is done,
 * the fd is gone; leave the FILE allocated so a caller that keeps using the
 * old pointer gets EBADF instead of touching freed memory. */
static void stream_detach(FILE *fp, struct vos_stream *s)
{
	if (s)
		s->fd = -1;     /* keeps _fileno; fclose still frees it */
	else
		fp->_fileno = -1; /* glibc then treats it as closed */
}

static FILE *std_stream(int n)
{
	return n == 0 ? stdin : n == 1 ? stdout : stderr;
}

/* n (0-2) if fp and the stdin/stdout/stderr variable for fd n are both
 * streams that stdstreams.c switches for fd n (glibc's or our cookie
 * stream; the variable may have been switched since the caller read it),
 * else -1. */
static int std_number(FILE *fp, int n)
{
	if (n < 0 || n > 2 || vos_std_stream_fd(fp) != n || vos_std_stream_fd(std_stream(n)) != n)
		return -1;
	return n;
}

static void rebind_std_stream(FILE *old, FILE *new)
{
	if (old == stdin)
		stdin = new;
	else if (old == stdout)
		stdout = new;
	else if (old == stderr)
		stderr = new;
}

/*
 * freopen() for every case that involves a remote file: the new path is
 * routed, or the stream is one of our cookie streams, or it is a glibc FILE
 * on a remote fd.  glibc cannot turn a FILE into a cookie FILE in place, and
 * its freopen() must never see a cookie FILE (it crashes: cookie FILEs have
 * no wide-character area and freopen writes into it).
 *
 * As in glibc, the new file takes over the old stream's fd number (dup3),
 * so freopen(path, "w", stdout) makes fd 1 the new file.  For stdin, stdout
 * and stderr on fds 0-2 that is all: dup3 goes through our wrapper, and
 * stdstreams.c points the variable at the stream for the fd's new kind
 * (glibc's FILE when local, a cookie stream when remote); that stream is the
 * result.  For any other stream the result is a NEW cookie or glibc FILE
 * (and if the old one was the stdin/stdout/stderr variable, it is updated).
 */
static FILE *reopen_stream(const char *path, const char *mode, FILE *fp,
			   struct vos_stream *s)
{
	struct stream_mode m;
	int oldfd, fd, e, std;
	FILE *nfp;

	if (parse_mode(mode, &m) < 0)
		return NULL;
	if (strstr(mode, ",ccs=")) {
		errno = EINVAL;
		return NULL;
	}
	flockfile(fp);
	fflush_unlocked(fp);    /* glibc ignores a failure here too */
	oldfd = s ? s->fd : fileno_unlocked(fp);
	std = std_number(fp, oldfd);
	if (std >= 0 && std_stream(std) != fp)
		fflush(std_stream(std));        /* the program sees one stream */
	fd = open(path, m.oflags, 0666);
	if (fd >= 0 && oldfd >= 0 && fd != oldfd) {
		if (dup3(fd, oldfd, m.oflags & O_CLOEXEC) < 0) {
			e = errno;
			close(fd);
			errno = e;
			fd = -1;
		} else {
			close(fd);
			fd = oldfd;
		}
	}
	if (fd < 0) {
		/* Failure closes the original stream, as in glibc. */
		e = errno;
		if (std < 0)
			stream_detach(fp, s);
		if (oldfd >= 0)
			close(oldfd);
		funlockfile(fp);
		errno = e;
		return NULL;
	}
	if (std >= 0) {
		funlockfile(fp);
		nfp = std_stream(std);
		if (m.seek_end && lseek(fd, 0, SEEK_END) < 0 && errno != ESPIPE)
			return NULL;
		clearerr(nfp);
		return nfp;
	}
	/* The old file was closed by dup3 (or fd is the old number anyway). */
	stream_detach(fp, s);
	funlockfile(fp);
	nfp = stream_on_new_fd(fd, &m);
	if (nfp)
		rebind_std_stream(fp, nfp);
	return nfp;
}

static FILE *freopen_common(const char *path, const char *mode, FILE *fp,
			    FILE *(*real_fn)(const char *, const char *, FILE *))
{
	struct vos_stream *s;
	char buf[PATH_MAX];
	const char *local = path;
	int routed = 0;

	if (!fp || !mode)
		return real_fn(path, mode, fp);
	s = stream_find(fp);
	if (path) {
		routed = vos_path_local(AT_FDCWD, path, buf, &local);
		if (routed < 0)
			routed = 1;     /* open() below fails the same way */
	}
	if (!s && !routed && !vos_fd_is_remote(fileno(fp)))
		return real_fn(local, mode, fp);
	if (!path) {
		/* A mode change on a remote stream: glibc reopens
		 * /proc/self/fd/N, which means nothing for a remote fd.
		 * Not done yet (it would need a reopen-by-fd operation from the
		 * service); the stream is left open and usable. */
		errno = EBADF;
		return NULL;
	}
	return reopen_stream(path, mode, fp, s);
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	stdio_init();
	return freopen_common(path, mode, fp, real_freopen);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	stdio_init();
	return freopen_common(path, mode, fp, real_freopen64);
}

FILE *vos_stdio_wrap_fd(int fd, const char *mode)
{
	struct stream_mode m;
	FILE *fp;

	stdio_init();
	if (!mode || parse_mode(mode, &m) < 0) {
		errno = EINVAL;
		return NULL;
	}
	fp = stream_new(fd, m.cookie, true);
	/* Cookie FILEs are fully buffered, which is also what glibc picks for
	 * stdout when it is not a terminal (a remote fd never is); stderr is
	 * always unbuffered. */
	if (fp && fd == STDERR_FILENO)
		setvbuf(fp, NULL, _IONBF, 0);
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

/* ------------------------------------------------------------------------ */
/* remove, dprintf                                                          */

EXPORT int remove(const char *path)
{
	char buf[PATH_MAX];
	const char *local;
	int r;

	stdio_init();
	if (!path)
		return real_remove(path);
	r = vos_path_local(AT_FDCWD, path, buf, &local);
	if (r < 0)
		return -1;
	if (r == 0)
		return real_remove(local);
	/* glibc: unlink, and rmdir if it was a directory (EISDIR on Linux). */
	if (unlink(path) == 0)
		return 0;
	if (errno != EISDIR)
		return -1;
	return rmdir(path);
}

/* Write a formatted string to a remote fd: what vdprintf's temporary FILE
 * does, without its internal write(). */
static int write_formatted(int fd, char *buf, int n)
{
	int done = 0;

	if (n < 0)
		return -1;
	while (done < n) {
		ssize_t w = write(fd, buf + done, (size_t)(n - done));
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			free(buf);
			return -1;
		}
		done += (int)w;
	}
	free(buf);
	return n;
}

EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	char *buf = NULL;
	int n;

	stdio_init();
	if (!vos_fd_is_remote(fd))
		return real_vdprintf(fd, fmt, ap);
	n = vasprintf(&buf, fmt, ap);
	return write_formatted(fd, buf, n);
}

EXPORT int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

/* _FORTIFY_SOURCE builds call these instead of dprintf/vdprintf. */
EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	char *buf = NULL;
	int n;

	stdio_init();
	if (!vos_fd_is_remote(fd))
		return real___vdprintf_chk(fd, flag, fmt, ap);
	n = __vasprintf_chk(&buf, flag, fmt, ap);
	return write_formatted(fd, buf, n);
}

EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return n;
}
