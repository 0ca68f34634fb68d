/*
 * rlimit.c - resource limits a service must follow for us: RLIMIT_FSIZE.
 *
 * A write, truncate or fallocate on a remote file runs in the shadow, so
 * the kernel checks the *shadow's* file size limit.  The shadow is told
 * ours (VOS_OP_SETRLIMIT): when a channel connects, if ours is finite
 * (vos_rlimit_send, from service.c), and after every change made through
 * setrlimit/prlimit (vos_prlimit, the one internal entry the system-call
 * dispatcher can call for prlimit64 as well).  The shadow ignores SIGXFSZ,
 * so past the limit its call fails with EFBIG; the wrapper that gets EFBIG
 * raises SIGXFSZ in this thread (vos_fsize_exceeded), as the kernel would
 * have done here: the default action ends the process, a handler runs when
 * the call returns, and the call fails with EFBIG.
 *
 * Limits changed by a raw system call (or by another process with
 * prlimit) are not seen; a shadow cannot take a soft limit above its own
 * hard limit (the daemon's).
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"

static rlim_t fsize_limit(void)
{
	struct rlimit rl;

	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) < 0)
		return RLIM_INFINITY;
	return rl.rlim_cur;
}

void vos_rlimit_send(struct vos_client *c)
{
	rlim_t cur = fsize_limit();

	if (cur != RLIM_INFINITY)
		vos_rpc0(c, VOS_OP_SETRLIMIT, RLIMIT_FSIZE, (int64_t)cur, 0, 0, 0);
}

void vos_fsize_exceeded(void)
{
	if (fsize_limit() != RLIM_INFINITY)
		raise(SIGXFSZ);
}

int vos_prlimit(pid_t pid, int resource, const struct rlimit *new, struct rlimit *old)
{
	long r = syscall(SYS_prlimit64, pid, resource, new, old);

	if (r < 0)
		return -1;
	if (new && resource == RLIMIT_FSIZE && (pid == 0 || pid == getpid())) {
		rlim_t cur = fsize_limit();

		/* Serialised with the fd lock, like umask (procattr.c). */
		vos_fdlock_rd();
		for (int i = 0; i < vos_nservices; i++) {
			struct vos_conn *conn = vos_service_live(i);

			if (conn)
				vos_rpc0(conn->client, VOS_OP_SETRLIMIT, RLIMIT_FSIZE,
					 (int64_t)cur, 0, 0, 0);
		}
		vos_fdlock_unlock();
	}
	return 0;
}

VOS_EXPORT int setrlimit(__rlimit_resource_t resource, const struct rlimit *rl)
{
	vos_init();
	return vos_prlimit(0, (int)resource, rl, NULL);
}

/* struct rlimit64 is struct rlimit on 64-bit Linux. */
VOS_EXPORT int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *rl)
{
	vos_init();
	return vos_prlimit(0, (int)resource, (const struct rlimit *)(const void *)rl, NULL);
}

VOS_EXPORT int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *new,
		       struct rlimit *old)
{
	vos_init();
	return vos_prlimit(pid, (int)resource, new, old);
}

VOS_EXPORT int prlimit64(pid_t pid, __rlimit_resource_t resource, const struct rlimit64 *new,
			 struct rlimit64 *old)
{
	vos_init();
	return vos_prlimit(pid, (int)resource, (const struct rlimit *)(const void *)new,
			   (struct rlimit *)(void *)old);
}
