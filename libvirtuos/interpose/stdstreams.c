/*
 * stdstreams.c - stdin/stdout/stderr on remote fds.
 *
 * glibc's own FILEs for fds 0-2 would write to the O_PATH placeholder with
 * internal calls (EBADF).  When one of these fds is remote (inherited at
 * startup, e.g. `cmd > /storage/f` in a preloaded shell, or made remote by
 * dup2/dup3/open), the stdin/stdout/stderr variable is pointed at a cookie
 * stream on that fd (stream.c), which goes through our
 * wrappers; when the fd becomes local again glibc's FILE comes back.  One
 * cookie stream per fd number is kept (it names the fd, not a file).
 *
 * Natively dup2() and close() do not touch stdio: bytes still buffered in
 * stdout are written to whatever fd 1 is when they are flushed.  So is it
 * here.  Going remote, what glibc's stream buffers is moved into ours.
 * Going local, our stream is flushed (its writes follow the fd) and glibc's
 * comes back; if ours is busy or holds unread input, it simply stays.  No
 * switch waits for a stream lock (another thread may sit in a stream for
 * ever): if another thread is inside glibc's stream when fd 1 goes remote,
 * the bytes it buffered are not moved and are lost (glibc writes them to
 * the placeholder).  Input glibc's stdin has read ahead when fd 0 goes
 * remote is not seen either.
 *
 * fclose(stdout) on our stream closes glibc's stdout too (see
 * std_stream_closed), so stdout stays a closed stream afterwards, as
 * natively, even if fd 1 is opened again.  A program that assigned its
 * own FILE to stdout is left alone: we only switch glibc's stream and ours.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "stream.h"

/* glibc's three streams (public ABI symbols; stdin/stdout/stderr start
 * out pointing at them). */
extern FILE _IO_2_1_stdin_, _IO_2_1_stdout_, _IO_2_1_stderr_;

static FILE *const orig[3] = { &_IO_2_1_stdin_, &_IO_2_1_stdout_, &_IO_2_1_stderr_ };
static FILE *ours[3];
static pthread_mutex_t std_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static FILE **var(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

/* Bytes glibc's stream buffers for output, moved to our stream. */
static void move_pending(FILE *from, FILE *to)
{
	size_t n;

	if (ftrylockfile(from) != 0)
		return;
	if (ftrylockfile(to) == 0) {
		n = (size_t)(from->_IO_write_ptr - from->_IO_write_base);
		if (n > 0 && fwrite_unlocked(from->_IO_write_base, 1, n, to) == n)
			from->_IO_write_ptr = from->_IO_write_base;
		funlockfile(to);
	}
	funlockfile(from);
}

/*
 * Can our stream for fd be replaced by glibc's without losing anything?
 * Its output is flushed first (to fd's new file, as natively).  Not if
 * another thread is inside it or input is still buffered: our stream then
 * stays, which is fine, its I/O goes through the wrappers to whatever fd
 * is.
 */
static int can_give_back(FILE *fp, int fd)
{
	int ok;

	if (ftrylockfile(fp) != 0)
		return 0;
	if (fd > 0)
		fflush_unlocked(fp);
	ok = fp->_IO_read_ptr == fp->_IO_read_end && fp->_IO_write_ptr == fp->_IO_write_base;
	funlockfile(fp);
	return ok;
}

/*
 * fp, one of ours, is being fclose()d (stream.c; glibc frees it next).
 * Natively there is one stdout FILE and fclose leaves it allocated but
 * closed: later output fails with EBADF, a second fclose returns EOF.  Make
 * glibc's stream that closed FILE and put it back in place of ours.  Its fd
 * is set to one that cannot be open (above the kernel's fd limit), so
 * glibc's close does not touch fd, which our stream's close releases.
 */
static void std_stream_closed(FILE *fp)
{
	int e = errno;

	pthread_mutex_lock(&std_lock);
	for (int fd = 0; fd <= 2; fd++) {
		if (ours[fd] != fp)
			continue;
		ours[fd] = NULL;
		if (fileno_unlocked(orig[fd]) == fd) {
			orig[fd]->_fileno = INT_MAX;
			fclose(orig[fd]);       /* glibc never frees its own three */
		}
		if (*var(fd) == fp)
			*var(fd) = orig[fd];
	}
	pthread_mutex_unlock(&std_lock);
	errno = e;
}

/* Our stream for fd.  Fully buffered, which is also what glibc picks for
 * stdout when it is not a terminal (a remote fd never is); stderr is
 * always unbuffered. */
static FILE *wrap_fd(int fd)
{
	FILE *fp = vos_stream_new(fd, fd == 0 ? "r" : "w", std_stream_closed);

	if (fp && fd == STDERR_FILENO)
		setvbuf(fp, NULL, _IONBF, 0);
	return fp;
}

void vos_std_after_change(int fd)
{
	int remote, e = errno;

	if (fd < 0 || fd > 2)
		return;
	remote = vos_fd_is_remote(fd);
	pthread_mutex_lock(&std_lock);
	/* A closed glibc stream (fileno -1) stays closed, as natively. */
	if (remote && *var(fd) == orig[fd] && fileno_unlocked(orig[fd]) == fd) {
		if (!ours[fd])
			ours[fd] = wrap_fd(fd);
		if (ours[fd]) {
			if (fd > 0)
				move_pending(orig[fd], ours[fd]);
			*var(fd) = ours[fd];
		}
	} else if (!remote && ours[fd] && *var(fd) == ours[fd] && can_give_back(ours[fd], fd)) {
		*var(fd) = orig[fd];
	}
	pthread_mutex_unlock(&std_lock);
	errno = e;
}

/* 0-2 if fp is a stream we switch for that fd (glibc's or ours), else -1. */
int vos_std_stream_fd(FILE *fp)
{
	int n = -1;

	pthread_mutex_lock(&std_lock);
	for (int fd = 0; fd <= 2 && n < 0; fd++)
		if (fp == orig[fd] || (fp && fp == ours[fd]))
			n = fd;
	pthread_mutex_unlock(&std_lock);
	return n;
}

void vos_std_after_fork_child(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&std_lock, &a);
	pthread_mutexattr_destroy(&a);
}
