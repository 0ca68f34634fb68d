/*
 * optable.c - the handler of every operation, and the dispatcher that runs
 * a request through it (the steps are in op.h).
 *
 * What an operation is (its role, whether it holds a file, may wait, ...)
 * is defined once in libvirtuos/channel/vos_ops.def and looked up through
 * vos_opdef(); this table adds only how the service runs it.  A new
 * operation: one line in vos_ops.def, one line here, its handler in the
 * file of its role (ops_session.c, ops_fs.c, ...).
 */
#include <errno.h>
#include <fcntl.h>

#include "op.h"
#include "common/vos_opdef.h"

static const struct vos_ophandler handlers[] = {
	/* session: every role */
	[VOS_OP_NOP]        = { .issue = op_nop },
	[VOS_OP_CLOSE]      = { .issue = op_close },
	[VOS_OP_DUP]        = { .issue = op_dup },
	[VOS_OP_UMASK]      = { .issue = op_umask },
	[VOS_OP_FORK]       = { .issue = op_fork },
	[VOS_OP_FORK_ABORT] = { .issue = op_fork_abort },
	[VOS_OP_EXEC]       = { .issue = op_exec },
	[VOS_OP_SETCREDS]   = { .issue = op_setcreds },
	[VOS_OP_CANCEL]     = { .issue = op_cancel },
	[VOS_OP_SETRLIMIT]  = { .issue = op_setrlimit },
	[VOS_OP_POLL]       = { .prep = prep_poll, .issue = op_poll, .wait = WAIT_IF_PREP },

	/* storage */
	[VOS_OP_OPENAT]     = { .prep = prep_openat, .issue = op_openat, .wait = WAIT_IF_PREP },
	[VOS_OP_READ]       = { .prep = prep_read, .issue = op_read, .wait = WAIT_IF_FILE },
	[VOS_OP_PREAD]      = { .prep = prep_read, .issue = op_pread, .wait = WAIT_IF_FILE },
	[VOS_OP_WRITE]      = { .prep = prep_write, .issue = op_write, .wait = WAIT_IF_FILE },
	[VOS_OP_PWRITE]     = { .prep = prep_write, .issue = op_pwrite, .wait = WAIT_IF_FILE },
	[VOS_OP_LSEEK]      = { .prep = prep_lseek, .issue = op_lseek },
	[VOS_OP_FSTATAT]    = { .issue = op_fstatat },
	[VOS_OP_STATX]      = { .issue = op_statx },
	[VOS_OP_FACCESSAT]  = { .issue = op_faccessat },
	[VOS_OP_FSYNC]      = { .issue = op_fsync, .wait = WAIT_ALWAYS },
	[VOS_OP_FTRUNCATE]  = { .issue = op_ftruncate },
	[VOS_OP_TRUNCATE]   = { .issue = op_truncate },
	[VOS_OP_UNLINKAT]   = { .issue = op_unlinkat },
	[VOS_OP_RENAMEAT2]  = { .issue = op_renameat2 },
	[VOS_OP_MKDIRAT]    = { .issue = op_mkdirat },
	[VOS_OP_FCHMOD]     = { .issue = op_fchmod },
	[VOS_OP_FCHMODAT]   = { .issue = op_fchmodat },
	[VOS_OP_FCHOWN]     = { .prep = prep_fchown, .issue = op_fchown },
	[VOS_OP_FCHOWNAT]   = { .issue = op_fchownat },
	[VOS_OP_UTIMENSAT]  = { .issue = op_utimensat },
	[VOS_OP_READLINKAT] = { .issue = op_readlinkat },
	[VOS_OP_SYMLINKAT]  = { .issue = op_symlinkat },
	[VOS_OP_LINKAT]     = { .issue = op_linkat },
	[VOS_OP_FSTATFS]    = { .issue = op_fstatfs },
	[VOS_OP_STATFS]     = { .issue = op_statfs },
	[VOS_OP_FCNTL]      = { .prep = prep_fcntl, .issue = op_fcntl, .wait = WAIT_IF_PREP },
	[VOS_OP_FLOCK]      = { .prep = prep_flock, .issue = op_flock, .wait = WAIT_IF_PREP },
	[VOS_OP_GETDENTS64] = { .prep = prep_getdents, .issue = op_getdents },
	[VOS_OP_FDPATH]     = { .issue = op_fdpath },
	[VOS_OP_FALLOCATE]  = { .prep = prep_fallocate, .issue = op_fallocate },
	[VOS_OP_MKNODAT]    = { .issue = op_mknodat },
	[VOS_OP_WALK]       = { .issue = op_walk },

	/* network (ops_net.c) */
	[VOS_OP_SOCKET]     = { .prep = prep_socket, .issue = op_socket },
	[VOS_OP_BIND]       = { .issue = op_bind },
	[VOS_OP_LISTEN]     = { .issue = op_listen },
	[VOS_OP_ACCEPT4]    = { .prep = prep_accept4, .issue = op_accept4, .wait = WAIT_IF_BLOCKING },
	[VOS_OP_CONNECT]    = { .prep = prep_connect, .issue = op_connect, .wait = WAIT_IF_BLOCKING },
	[VOS_OP_SHUTDOWN]   = { .issue = op_shutdown },
	[VOS_OP_SENDMSG]    = { .prep = prep_sendmsg, .issue = op_sendmsg, .wait = WAIT_IF_BLOCKING },
	[VOS_OP_RECVMSG]    = { .prep = prep_recvmsg, .issue = op_recvmsg, .wait = WAIT_IF_BLOCKING },
	[VOS_OP_GETSOCKOPT] = { .issue = op_getsockopt },
	[VOS_OP_SETSOCKOPT] = { .issue = op_setsockopt },
	[VOS_OP_GETSOCKNAME] = { .issue = op_getsockname },
	[VOS_OP_SOCKIOCTL]  = { .issue = op_sockioctl },

	/* fd-to-fd copies inside one service (ops_fs.c) */
	[VOS_OP_COPYFD]     = { .prep = prep_copyfd, .issue = op_copyfd, .wait = WAIT_IF_PREP },

	/* epoll (ops_poll.c) */
	[VOS_OP_EPOLL_CTL]  = { .prep = prep_epoll_ctl, .issue = op_epoll_ctl },
	[VOS_OP_EPOLL_WAIT] = { .prep = prep_epoll_wait, .issue = op_epoll_wait, .wait = WAIT_IF_PREP },
};

/* The last op of vos_ops.def has its line here (the ones before it are
 * checked by vos_optable_check at start and by tests/unit/test_optable.c). */
_Static_assert(sizeof handlers / sizeof *handlers == VOS_OP__COUNT,
	       "an op of vos_ops.def has no handler in optable.c");

const struct vos_ophandler *vos_op_handler(uint32_t op, unsigned role)
{
	if (!vos_op_served_by(op, role) || !handlers[op].issue)
		return NULL;
	return &handlers[op];
}

int vos_optable_check(void)
{
	int bad = 0;

	for (uint32_t op = 0; op < VOS_OP__COUNT; op++) {
		const struct vos_opdef *d = vos_opdef(op);
		const struct vos_ophandler *h = &handlers[op];
		int waits = (d->flags & VOS_OPF_WAIT) != 0;

		if (!h->issue) {
			vos_log("op table: %s (%u) has no handler", d->name, op);
			bad = 1;
		} else if (waits != (h->wait != WAIT_NEVER)) {
			vos_log("op table: %s (%u): vos_ops.def says wait=%d, its handler %s",
				d->name, op, waits, waits ? "never waits" : "has a wait rule");
			bad = 1;
		} else if ((h->wait == WAIT_IF_FILE || h->wait == WAIT_IF_BLOCKING) &&
			   !(d->flags & VOS_OPF_FILE)) {
			vos_log("op table: %s (%u) waits if its file blocks, but holds no file",
				d->name, op);
			bad = 1;
		}
	}
	return bad ? -EINVAL : 0;
}

static int will_wait(const struct vos_ophandler *h, const struct op *o)
{
	switch (h->wait) {
	case WAIT_ALWAYS:
		return 1;
	case WAIT_IF_FILE:
		return o->f->may_block;
	case WAIT_IF_PREP:
		return o->wait;
	case WAIT_IF_BLOCKING: {
		int fl = o->wait ? fcntl(o->f->fd, F_GETFL) : O_NONBLOCK;
		return fl >= 0 && !(fl & O_NONBLOCK);
	}
	default:
		return 0;
	}
}

int64_t vos_op_execute(struct vos_shadow *sh, const struct vos_entry *e, struct vos_opbuf *ob)
{
	uint32_t slot = VOS_ID_SLOT(e->id);

	if (slot >= sh->ch.nslots) {
		__atomic_add_fetch(&sh->ch.hdr->protocol_errors, 1, __ATOMIC_RELAXED);
		return -EINVAL;
	}
	const struct vos_ophandler *h = vos_op_handler(e->op, sh->role->kind);
	if (!h)
		return -ENOSYS;
	struct op o = {
		.sh = sh, .e = e, .a = e->arg, .ob = ob,
		.buf = vos_channel_slot(&sh->ch, slot),
		.size = sh->ch.slot_size,
	};
	int err = h->prep ? h->prep(&o) : 0;
	if (err)
		return err;
	if (vos_opdef(e->op)->flags & VOS_OPF_FILE) {
		err = get_file(&o, o.a[0], &o.f);
		if (err)
			return err;
	}
	/* The request may wait for long (a lock, a FIFO, a device, a disk
	 * flush): stop counting this worker as one that comes straight back to
	 * the ring, so that the client kicks a sleeping worker for its next
	 * request instead of leaving it queued behind this one (channel.h). */
	int waiting = 0;
	if (will_wait(h, &o)) {
		waiting = vos_worker_wait_begin(sh);
		o.nowait = !waiting;
		vos_channel_worker_idle(&sh->ch);
	}
	int64_t r = h->issue(&o);
	if (waiting)
		vos_worker_wait_end(sh);
	vos_fdt_put(o.f);
	return r;
}
