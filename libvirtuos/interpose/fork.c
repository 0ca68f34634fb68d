/*
 * fork.c - fork, _Fork, vfork: the child keeps the parent's remote fds,
 * each with the kernel's semantics.
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
 * deadlock on the write-held lock.  When fork() itself fails, its wrapper
 * sends VOS_OP_FORK_ABORT.  vfork() is fork(): the simplest correct choice,
 * a vfork child that touched our channel state would corrupt the parent's.
 */
#include <string.h>
#include <unistd.h>
#include "interpose_internal.h"

struct fork_tokens {
	int have[VOS_MAX_SERVICES];
	uint32_t gen[VOS_MAX_SERVICES];
	uint8_t token[VOS_MAX_SERVICES][VOS_TOKEN_LEN];
};

static struct fork_tokens forking;      /* under the write-held fd lock */
static sigset_t forking_mask;
static VOS_TLS int in_fork_wrapper;
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
}

static void fork_parent(void)
{
	sigset_t old = forking_mask;

	if (in_fork_wrapper)
		fork_abort = forking;
	vos_fdtable_unlock();
	vos_restore_signals(&old);
}

static void fork_child(void)
{
	sigset_t old = forking_mask;

	/* Locks another thread of the parent may have held are free here. */
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
		cfg.service = vos_services[i].name;
		cfg.kind = vos_services[i].kind;
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

VOS_EXPORT pid_t fork(void)
{
	pid_t pid;

	vos_init();
	memset(&fork_abort, 0, sizeof(fork_abort));
	in_fork_wrapper = 1;
	pid = real_fork();      /* runs our atfork handlers */
	in_fork_wrapper = 0;
	if (pid < 0)
		fork_failed();
	return pid;
}

/* _Fork runs no atfork handlers; ours are still needed. */
VOS_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	vos_init();
	if (!real__Fork) {
		errno = ENOSYS;
		return -1;
	}
	memset(&fork_abort, 0, sizeof(fork_abort));
	in_fork_wrapper = 1;
	fork_prepare();
	pid = real__Fork();
	if (pid == 0) {
		in_fork_wrapper = 0;
		fork_child();
		return 0;
	}
	fork_parent();
	in_fork_wrapper = 0;
	if (pid < 0)
		fork_failed();
	return pid;
}

VOS_EXPORT pid_t vfork(void)
{
	return fork();
}

void vos_fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
