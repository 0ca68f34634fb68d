/*
 * fork.c - every fork (glibc's fork and _Fork, vfork, a raw fork or clone
 * system call): the child keeps the parent's remote fds, each with the
 * kernel's semantics.
 *
 * The service must snapshot our remote fds exactly as the kernel
 * copies our placeholders, so fd-table-changing wrappers hold the fd lock
 * (fdtable.h) for reading and fork holds it for writing.  In the
 * pthread_atfork prepare handler (it runs for every fork, also
 * glibc-internal ones like daemon()) each live channel gets VOS_OP_FORK,
 * which leaves a pending child shadow and returns its token; the child
 * handler forgets the parent's channels and claims the pending shadows
 * (VOS_HELLO_CLAIM) before fork returns in the child, so the child's first
 * remote call already has its own shadow and no answer meant for the parent
 * reaches it.  Signals are blocked across this so a handler cannot
 * deadlock on the write-held lock.  When the fork fails, VOS_OP_FORK_ABORT
 * drops the pending shadows.  vfork() is fork() (the dispatcher runs it
 * so): the simplest correct choice, a vfork child that touched our channel
 * state would corrupt the parent's.  Which code runs these steps (glibc's
 * atfork handlers or the dispatcher's fork hooks): see vos_fork_init().
 * There is no function wrapper: the system call is what is caught.
 */
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"

struct fork_tokens {
	int have[VOS_MAX_SERVICES];
	uint32_t gen[VOS_MAX_SERVICES];
	uint8_t token[VOS_MAX_SERVICES][VOS_TOKEN_LEN];
};

static struct fork_tokens forking;      /* under the write-held fd lock */
static sigset_t forking_mask;
static VOS_TLS struct fork_tokens fork_abort;

static void fork_prepare(void)
{
	sigset_t old;

	vos_init();
	vos_block_signals(&old);
	vos_fdtable_wrlock();
	forking_mask = old;
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = atomic_load(&vos_services[i].conn);
		struct vos_req r = { .op = VOS_OP_FORK };

		forking.have[i] = 0;
		forking.gen[i] = conn ? conn->gen : 0;
		if (conn && vos_conn_usable(conn) &&
		    vos_rpc(conn->client, &r, NULL, 0, forking.token[i], VOS_TOKEN_LEN, 1) == 0)
			forking.have[i] = 1;
	}
	/* The library's other locks a child may need, after the calls (a
	 * connect takes the first): held by another thread at the fork, a
	 * copy would stay held in the child. */
	vos_rlimit_fork_lock();
	vos_uaccess_fork_lock();
}

static void fork_parent(void)
{
	sigset_t old = forking_mask;

	vos_uaccess_fork_unlock();
	vos_rlimit_fork_unlock();
	vos_fdtable_unlock();
	vos_restore_signals(&old);
}

static void fork_child(void)
{
	sigset_t old = forking_mask;

	/* Locks another thread of the parent may have held are free here. */
	vos_uaccess_fork_unlock();
	vos_rlimit_fork_unlock();
	vos_fdtable_after_fork_child();
	vos_exec_after_fork_child();
	vos_route_after_fork_child();
	vos_signals_after_fork_child();
	vos_service_abandon_all();
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_client_config cfg = vos_cfg;
		struct vos_client *c;
		struct vos_conn *conn;

		if (!forking.have[i])
			continue;       /* its remote fds fail with EIO */
		vos_service_cfg(i, &cfg);
		cfg.umask = vos_umask_current();
		c = vos_client_connect(&cfg, VOS_HELLO_CLAIM, forking.token[i]);
		if (!c)
			continue;
		c = vos_client_relocate(&cfg, c);
		conn = vos_conn_new(c, forking.gen[i]);
		if (conn)
			vos_service_install(i, conn);
		else
			vos_client_close(c);
	}
	vos_restore_signals(&old);
}

static void fork_failed(void)
{
	int e = errno;

	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);
		struct vos_req r = { .op = VOS_OP_FORK_ABORT };
		struct vos_in in = { 0, fork_abort.token[i], VOS_TOKEN_LEN };

		if (fork_abort.have[i] && conn)
			vos_rpc(conn->client, &r, &in, 1, NULL, 0, 0);
	}
	errno = e;
}

/*
 * Every fork reaches us twice at most, once through each of two doors:
 *  - glibc's fork() (also daemon(), ...) runs our pthread_atfork handlers
 *    around its clone system call;
 *  - the dispatcher runs every fork-like system call itself and calls its
 *    fork hooks around it (glibc's _Fork, clone without a stack with other
 *    flags), except a plain fork (fork, vfork run as fork, clone(SIGCHLD)),
 *    which it runs through hook_fork(): glibc's fork(), so the atfork
 *    handlers below do the work.
 * Whichever prepares first owns the fork on this thread: the atfork
 * handler (atfork_prepared) when glibc's fork() is used, then the hooks do
 * nothing but pass on the result, and the atfork parent/child handlers
 * finish; otherwise the hooks do the whole work.  A failed fork sends
 * VOS_OP_FORK_ABORT (the pending child shadows go).  A child sharing our
 * memory (CLONE_VM: posix_spawn's) is not a fork of our state: exec.c.
 */
static VOS_TLS int atfork_prepared, hook_prepared;
static VOS_TLS long atfork_ret;

static void fork_done_parent(long ret)
{
	if (ret < 0)
		fork_abort = forking;   /* read under the write-held fd lock */
	fork_parent();
	if (ret < 0)
		fork_failed();
}

static void atfork_prepare(void)
{
	fork_prepare();
	atfork_ret = 0;
	atfork_prepared = 1;
}

static void atfork_parent(void)
{
	atfork_prepared = 0;
	fork_done_parent(atfork_ret);
}

static void atfork_child(void)
{
	atfork_prepared = 0;
	fork_child();
}

static void hook_prepare(unsigned long flags)
{
	if (atfork_prepared || (flags & CLONE_VM) || !atomic_load(&vos_inited))
		return;
	fork_prepare();
	hook_prepared = 1;
}

static void hook_parent(unsigned long flags, long ret)
{
	(void)flags;
	if (atfork_prepared)
		atfork_ret = ret;
	if (!hook_prepared)
		return;
	hook_prepared = 0;
	fork_done_parent(ret);
}

static void hook_child(unsigned long flags)
{
	(void)flags;
	if (!hook_prepared)
		return;
	hook_prepared = 0;
	fork_child();
}

/*
 * A plain fork met as a system call (vfork, which runs as fork, a raw
 * fork or clone(SIGCHLD)): run as glibc's fork(), so the atfork handlers
 * above do our part and glibc resets malloc's and stdio's locks in the
 * child.  fork_child() connects and allocates: after a raw clone, an arena
 * lock another thread held at that moment stays held in the child, which
 * then hangs in free() (a multi-threaded program's vfork + exec hung so;
 * Python's subprocess uses vfork).
 */
static long hook_fork(void)
{
	int e = errno;
	pid_t pid = fork();
	long r = pid < 0 ? -errno : pid;

	errno = e;
	return r;
}

void vos_fork_init(void)
{
	static const struct vos_dispatch_fork_hooks hooks = {
		hook_prepare, hook_parent, hook_child, hook_fork,
	};

	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	vos_dispatch_set_fork_hooks(&hooks);
}
