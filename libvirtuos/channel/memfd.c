/*
 * memfd.c - see memfd.h.
 *
 * With no file size limit (the usual case) this is one ftruncate.  With a
 * finite soft limit, the ftruncate is made by a short-lived helper process
 * that shares our memory (clone CLONE_VM | CLONE_VFORK, so this thread
 * waits for it): the helper lifts its own limit (with CAP_SYS_RESOURCE),
 * or raises its soft limit to its hard limit (limits are per process, so
 * the program's threads never see a raised limit), and truncates.  The helper has no exit signal: the program gets
 * no SIGCHLD, and its waitpid(-1) never reaps it (that needs __WCLONE).
 * Should the hard limit also be below size (an unprivileged program after
 * "ulimit -f N", which lowers both), the helper does not truncate and we
 * answer EFBIG: the caller goes another way (the local channel asks its
 * service to size the memfd, an mmap copy is anonymous memory) or fails
 * (an exec copy: see the interpose README).
 *
 * Why not lower our guard and raise the process's limit for a moment:
 * another thread's write in that moment would go past the program's limit.
 *
 * A limit lowered by another thread between the check and a plain
 * ftruncate (a window of one system call) is not covered.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "memfd.h"
#include "vos_sys.h"

#define HELPER_STACK (64 * 1024)

struct truncate_job {
	int fd;
	off_t size;
	long result;            /* 0 or -errno, written by the helper */
};

/* The helper: raw system calls only, on its own stack, in our memory. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static int truncate_helper(void *arg)
{
	struct truncate_job *job = arg;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	/* No limit if we may (CAP_SYS_RESOURCE: a shell's "ulimit -f" lowers
	 * the hard limit too), else up to the hard limit. */
	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &rl, NULL) < 0 &&
	    syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &rl, NULL);
	}
	/* Past even the hard limit the kernel would raise SIGXFSZ here, and
	 * the helper runs the program's handler (a copy: no CLONE_SIGHAND)
	 * on our memory: do not try. */
	if (rl.rlim_cur != RLIM_INFINITY && (unsigned long long)job->size > rl.rlim_cur)
		job->result = -EFBIG;
	else
		job->result = vos_sys_ret(syscall(SYS_ftruncate, job->fd, job->size));
	syscall(SYS_exit, 0);
	return 0;
}

int vos_memfd_truncate(int fd, off_t size)
{
	struct truncate_job job = { fd, size, -EFBIG };
	struct rlimit rl;
	long stack, pid, r;
	int status, saved = errno;

	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) < 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return (int)vos_sys_ret(syscall(SYS_ftruncate, fd, size));

	stack = vos_sys_mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack < 0)
		return (int)stack;
	pid = clone(truncate_helper, (char *)stack + HELPER_STACK,
		    CLONE_VM | CLONE_VFORK | CLONE_FILES, &job);
	if (pid < 0) {
		r = -errno;
	} else {
		/* CLONE_VFORK: it has exited; reap it (no exit signal). */
		do
			r = syscall(SYS_wait4, pid, &status, __WCLONE, NULL);
		while (r < 0 && errno == EINTR);
		r = job.result;
	}
	vos_sys_munmap((void *)stack, HELPER_STACK);
	errno = saved;
	return (int)r;
}
