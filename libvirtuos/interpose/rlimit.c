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
 * RLIMIT_NOFILE: the library's own descriptors (4 per channel, moved
 * just below the limit by service.c) must not make the program run out of
 * descriptors earlier than natively.  Once the program sets its limit
 * (setrlimit/prlimit), that is its *view*: the kernel's soft limit is set
 * to the view plus the number of our descriptors below it (raising the
 * hard limit with it if needed and allowed), so the program gets EMFILE
 * after the same number of opens as natively, and getrlimit/prlimit report
 * the view.  Recomputed when a channel connects.  The program may then get
 * fd numbers up to view + 4 per service - 1; /proc/self/limits and
 * glibc-internal readers (sysconf(_SC_OPEN_MAX)) show the kernel's value.
 * If the kernel refuses (an unprivileged program that lowered its hard
 * limit to its soft one), the count is short by our descriptors, as
 * before.
 *
 * Limits changed by a raw system call (or by another process with
 * prlimit) are not seen; a shadow cannot take a soft limit above its own
 * hard limit (the daemon's).
 */
#include <pthread.h>
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

/* RLIMIT_NOFILE as the program set it (view_set), under nofile_lock. */
static pthread_mutex_t nofile_lock = PTHREAD_MUTEX_INITIALIZER;
static int view_set;
static struct rlimit view;

/* Lock held, view_set: the kernel's limit = the view + our fds below it. */
static void nofile_apply(void)
{
	int fds[4 * 64], n = vos_internal_fds(fds, (int)(sizeof fds / sizeof *fds));
	rlim_t s = view.rlim_cur;
	struct rlimit k;

	if (s == RLIM_INFINITY)
		return;
	for (int iter = 0; iter <= n; iter++) {         /* grows, at most n times */
		rlim_t below = 0;

		for (int i = 0; i < n; i++)
			below += (rlim_t)fds[i] < s;
		if (view.rlim_cur + below == s)
			break;
		s = view.rlim_cur + below;
	}
	k.rlim_cur = s;
	k.rlim_max = view.rlim_max != RLIM_INFINITY && view.rlim_max < s ? s : view.rlim_max;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &k, NULL) == 0)
		return;
	/* The hard limit cannot be raised: up to it, then. */
	k.rlim_max = view.rlim_max;
	if (k.rlim_cur > k.rlim_max)
		k.rlim_cur = k.rlim_max;
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &k, NULL);
}

void vos_rlimit_send(struct vos_client *c)
{
	rlim_t cur = fsize_limit();

	if (cur != RLIM_INFINITY)
		vos_rpc0(c, VOS_OP_SETRLIMIT, RLIMIT_FSIZE, (int64_t)cur, 0, 0, 0);
	/* New descriptors of ours: the kernel's NOFILE limit follows. */
	vos_crit_enter();
	pthread_mutex_lock(&nofile_lock);
	if (view_set)
		nofile_apply();
	pthread_mutex_unlock(&nofile_lock);
	vos_crit_leave();
}

/* Around fork (fork.c): a child must not inherit the lock held by another
 * thread of the parent (its next getrlimit(RLIMIT_NOFILE) would wait for
 * ever), nor a half-written view.  The child unlocks its copy. */
void vos_rlimit_fork_lock(void)
{
	pthread_mutex_lock(&nofile_lock);
}

void vos_rlimit_fork_unlock(void)
{
	pthread_mutex_unlock(&nofile_lock);
}

void vos_fsize_exceeded(void)
{
	if (fsize_limit() != RLIM_INFINITY)
		raise(SIGXFSZ);
}

int vos_prlimit(pid_t pid, int resource, const struct rlimit *new, struct rlimit *old)
{
	int self = pid == 0 || pid == getpid();
	long r;

	if (resource == RLIMIT_NOFILE && self) {
		struct rlimit prev;

		/* The program's request as it is first: the kernel says
		 * EPERM/EINVAL as natively.  A critical region: a handler
		 * that forks would wait for the lock (fork.c takes it). */
		vos_crit_enter();
		pthread_mutex_lock(&nofile_lock);
		r = syscall(SYS_prlimit64, 0, resource, new, &prev);
		if (r == 0) {
			if (view_set)
				prev = view;
			if (new) {
				view = *new;
				view_set = 1;
				nofile_apply();
			}
			if (old)
				*old = prev;
		}
		pthread_mutex_unlock(&nofile_lock);
		vos_crit_leave();
		return r < 0 ? -1 : 0;
	}
	r = syscall(SYS_prlimit64, pid, resource, new, old);
	if (r < 0)
		return -1;
	if (new && resource == RLIMIT_FSIZE && self) {
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

/*
 * The wrappers are not instrumented and do not start the library: a
 * preloaded sanitizer calls getrlimit/setrlimit (RLIMIT_CORE, RLIMIT_STACK)
 * while it initialises, before any instrumented code may run.  Only
 * RLIMIT_NOFILE and a change of RLIMIT_FSIZE concern us; nothing here needs
 * a channel (vos_rlimit_send catches up when one connects).
 */
#define RLIMIT_WRAPPER __attribute__((no_sanitize("address", "undefined", "thread")))

static RLIMIT_WRAPPER int ours(int resource, const void *new)
{
	return resource == RLIMIT_NOFILE || (resource == RLIMIT_FSIZE && new);
}

static RLIMIT_WRAPPER int plain(pid_t pid, int resource, const void *new, void *old)
{
	return syscall(SYS_prlimit64, pid, resource, new, old) < 0 ? -1 : 0;
}

VOS_EXPORT RLIMIT_WRAPPER int setrlimit(__rlimit_resource_t resource, const struct rlimit *rl)
{
	if (!ours((int)resource, rl))
		return plain(0, (int)resource, rl, NULL);
	return vos_prlimit(0, (int)resource, rl, NULL);
}

/* struct rlimit64 is struct rlimit on 64-bit Linux. */
VOS_EXPORT RLIMIT_WRAPPER int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *rl)
{
	if (!ours((int)resource, rl))
		return plain(0, (int)resource, rl, NULL);
	return vos_prlimit(0, (int)resource, (const struct rlimit *)(const void *)rl, NULL);
}

VOS_EXPORT RLIMIT_WRAPPER int prlimit(pid_t pid, __rlimit_resource_t resource,
				      const struct rlimit *new, struct rlimit *old)
{
	if (!ours((int)resource, new))
		return plain(pid, (int)resource, new, old);
	return vos_prlimit(pid, (int)resource, new, old);
}

VOS_EXPORT RLIMIT_WRAPPER int prlimit64(pid_t pid, __rlimit_resource_t resource,
					const struct rlimit64 *new, struct rlimit64 *old)
{
	if (!ours((int)resource, new))
		return plain(pid, (int)resource, new, old);
	return vos_prlimit(pid, (int)resource, (const struct rlimit *)(const void *)new,
			   (struct rlimit *)(void *)old);
}

VOS_EXPORT RLIMIT_WRAPPER int getrlimit(__rlimit_resource_t resource, struct rlimit *rl)
{
	if (!ours((int)resource, NULL))
		return plain(0, (int)resource, NULL, rl);
	return vos_prlimit(0, (int)resource, NULL, rl);
}

VOS_EXPORT RLIMIT_WRAPPER int getrlimit64(__rlimit_resource_t resource, struct rlimit64 *rl)
{
	if (!ours((int)resource, NULL))
		return plain(0, (int)resource, NULL, rl);
	return vos_prlimit(0, (int)resource, NULL, (struct rlimit *)(void *)rl);
}
