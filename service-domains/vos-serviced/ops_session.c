/*
 * ops_session.c - the session operations (role ANY in vos_ops.def): the
 * state of the shadow itself, whatever role it serves: its fd table
 * (CLOSE, DUP, EXEC), its process (FORK, FORK_ABORT), its ids, umask and
 * file size limit (SETCREDS in creds.c, UMASK, SETRLIMIT).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "op.h"

int64_t op_nop(struct op *o)
{
	(void)o;
	return 0;
}

int64_t op_close(struct op *o)
{
	return epoll_close(o);  /* ops_poll.c: also leaves this shadow's epoll sets */
}

int64_t op_dup(struct op *o)
{
	const int64_t *a = o->a;
	int err = vos_fdt_dup(&o->sh->fdt, a[0], a[1], a[2] & O_CLOEXEC);
	return err ? err : a[1];
}

/* The shadow creates names with its own umask: the client keeps it equal
 * to its own. */
int64_t op_umask(struct op *o)
{
	return (int64_t)umask((mode_t)(o->a[0] & 0777));
}

int64_t op_fork(struct op *o)
{
	uint8_t token[VOS_TOKEN_LEN];
	/* Fork with the other workers parked at the top of their loop (the
	 * EXEC barrier): none of them then holds a lock or is inside the
	 * allocator, so the child, where only this thread lives on, inherits
	 * no lock taken by a thread that does not exist there. */
	int raised = vos_exec_barrier_raise(o->sh, o->ob);
	int err = vos_shadow_fork(o->sh, token);
	if (raised)
		vos_exec_barrier_lower(o->sh);
	if (err)
		return err;
	memcpy(o->buf, token, sizeof token);
	return 0;
}

int64_t op_fork_abort(struct op *o)
{
	uint8_t token[VOS_TOKEN_LEN];

	if (!range_ok(o, o->a[0], sizeof token))
		return -EINVAL;
	memcpy(token, o->buf + o->a[0], sizeof token);
	return vos_shadow_fork_abort(o->sh, token);
}

int64_t op_exec(struct op *o)
{
	const int64_t *a = o->a;

	if (a[0] < 0 || a[0] > (int64_t)(o->size / sizeof(int32_t)) ||
	    !range_ok(o, a[1], a[0] * (int64_t)sizeof(int32_t)))
		return -EINVAL;
	size_t n = (size_t)a[0];
	memcpy(o->ob->scratch, o->buf + a[1], n * sizeof(int32_t));
	/* Requests of the old image still running may write into slots the
	 * new one reuses, or use fds about to be closed: let them finish. */
	int raised = vos_exec_barrier_raise(o->sh, o->ob);
	vos_fdt_keep_only(&o->sh->fdt, (const int32_t *)(void *)o->ob->scratch, (uint32_t)n);
	if (raised)
		vos_exec_barrier_lower(o->sh);
	return 0;
}

int64_t op_setcreds(struct op *o)
{
	return vos_op_setcreds(o->sh, o->a, o->buf, o->ob);
}

/* Interrupt the request another worker executes (cancel.c). */
int64_t op_cancel(struct op *o)
{
	return vos_op_cancel(o->sh, o->e, o->ob->cancel);
}

/* The client's RLIMIT_FSIZE, for the writes this shadow makes for it (the
 * shadow ignores SIGXFSZ, so they fail with EFBIG; the client raises the
 * signal in itself).  Per process, like the client's own. */
int64_t op_setrlimit(struct op *o)
{
	struct rlimit rl;

	if (o->a[0] != RLIMIT_FSIZE)
		return -EINVAL;
	if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
		return -errno;
	rl.rlim_cur = (uint64_t)o->a[1] > rl.rlim_max ? rl.rlim_max : (rlim_t)o->a[1];
	return setrlimit(RLIMIT_FSIZE, &rl) < 0 ? -errno : 0;
}
