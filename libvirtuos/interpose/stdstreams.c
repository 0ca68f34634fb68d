/*
 * stdstreams.c - stdin/stdout/stderr on remote fds.
 *
 * glibc's own FILEs for fds 0-2 would write to the O_PATH placeholder with
 * internal calls (EBADF).  When one of these fds is remote (inherited at
 * startup, e.g. `cmd > /storage/f` in a preloaded shell, or made remote by
 * dup2/dup3/open), the stdin/stdout/stderr variable is pointed at a cookie
 * stream on that fd (vos_stdio_wrap_fd, stdio.c), which goes through our
 * wrappers.  When the fd becomes local again the stream is flushed and
 * glibc's FILE comes back.  One cookie stream per fd number is made and
 * kept for the life of the process (it names the fd, not a file).
 *
 * A program that assigned its own FILE to stdout is left alone: we only
 * switch between glibc's stream and ours.
 */
#include <stdio.h>
#include "interpose_internal.h"

static FILE *orig[3], *ours[3];
static pthread_mutex_t std_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static FILE **var(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

void vos_std_before_change(int fd)
{
	if (fd < 0 || fd > 2)
		return;
	pthread_mutex_lock(&std_lock);
	if (ours[fd] && *var(fd) == ours[fd] && fd > 0)
		fflush(ours[fd]);
	pthread_mutex_unlock(&std_lock);
}

void vos_std_after_change(int fd)
{
	int remote;

	if (fd < 0 || fd > 2)
		return;
	remote = vos_fd_is_remote(fd);
	pthread_mutex_lock(&std_lock);
	if (remote && (!ours[fd] || *var(fd) != ours[fd])) {
		if (!orig[fd])
			orig[fd] = *var(fd);
		if (*var(fd) == orig[fd]) {
			if (!ours[fd]) {
				ours[fd] = vos_stdio_wrap_fd(fd, fd == 0 ? "r" : "w");
				if (ours[fd] && fd == 2)
					setvbuf(ours[fd], NULL, _IONBF, 0);
			}
			if (ours[fd]) {
				if (fd > 0)
					fflush(orig[fd]);   /* what was written before */
				*var(fd) = ours[fd];
			}
		}
	} else if (!remote && ours[fd] && *var(fd) == ours[fd]) {
		if (fd > 0)
			fflush(ours[fd]);
		*var(fd) = orig[fd];
	}
	pthread_mutex_unlock(&std_lock);
}

void vos_std_after_fork_child(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&std_lock, &a);
	pthread_mutexattr_destroy(&a);
}
