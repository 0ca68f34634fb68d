/*
 * rpc.c - one remote call: marshal inputs into the slot buffer, call,
 * validate the result and copy the output out (see vos_proto.h).  Every
 * remote call takes its slot through vos_call_begin() (also io.c's
 * transfers, which marshal their own data).
 *
 * The service is untrusted: a result its op may not give (a value from an
 * op that answers 0 or -errno, see vos_ops.def) or an output longer than
 * asked for becomes EIO.  Outputs are copied out of shared memory exactly
 * once.
 *
 * Inputs and outputs are the program's memory: they are copied with
 * uaccess.c's fault-safe copies, so a bad pointer gives EFAULT (an input
 * before the request is sent, an output after the service answered).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include "interpose_internal.h"
#include "common/vos_opdef.h"

/*
 * Calls a signal interrupts, as natively: those that wait for another
 * process without bound (vos_ops.def, "wait") and only when they do so by
 * their arguments: a blocking lock.  Not FIFO opens or reads (io.c), and
 * not calls that wait only for a device or a disk flush, which Linux does
 * not interrupt either.
 */
static int interruptible(const struct vos_req *r)
{
	switch (r->op) {
	case VOS_OP_FCNTL:
		return r->arg[1] == F_SETLKW || r->arg[1] == F_OFD_SETLKW;
	case VOS_OP_FLOCK:
		return !(r->arg[1] & LOCK_NB);
	default:
		return 0;
	}
}

/* Submit and wait; a signal (signals.c) cancels the call in the service,
 * which then ends with -EINTR, or with its real result if it finished
 * first.  *intr: what vos_intr_disarm said. */
int64_t vos_slot_call_intr(struct vos_slot *s, const struct vos_req *r, int *intr)
{
	int err = vos_slot_submit(s, r);
	int64_t res;

	if (err)
		return err;
	res = vos_slot_wait_stoppable(s, vos_intr_arm(s));
	if (res == VOS_WAIT_STOPPED) {
		vos_slot_cancel(s);     /* -EIO: dead; the wait says so too */
		res = vos_slot_wait(s);
	}
	*intr = vos_intr_disarm();
	return res;
}

int64_t vos_rpc(struct vos_client *c, struct vos_req *r, const struct vos_in *in, int nin,
		void *out, size_t outlen, int out_fixed)
{
	size_t size = vos_client_slot_size(c), off = 0;
	struct vos_slot *s;
	uint8_t *buf;
	int64_t res;
	int err, intr;

	for (int i = 0; i < nin; i++) {
		if (in[i].len > size || off > size - in[i].len)
			return -ENAMETOOLONG;   /* only paths can be that long */
		off += (in[i].len + 7) & ~(size_t)7;
	}
	if (outlen > size)
		return -EINVAL;
	if (!out && outlen)
		return -EFAULT;         /* the program's NULL (stat(path, NULL)) */
again:
	err = vos_call_begin(c, &s);
	if (err)
		return err;
	buf = vos_slot_buf(s);
	off = 0;
	for (int i = 0; i < nin; i++) {
		if (vos_copy_from_user(buf + off, in[i].data, in[i].len) < 0) {
			vos_call_end(s);
			return -EFAULT;
		}
		r->arg[in[i].arg] = (int64_t)off;
		off += (in[i].len + 7) & ~(size_t)7;
	}
	intr = 0;
	if (interruptible(r))
		res = vos_slot_call_intr(s, r, &intr);
	else
		res = vos_slot_call(s, r);
	if (!vos_op_result_ok(r->op, res, INT64_MAX)) {
		res = -EIO;
	} else if (res >= 0 && out) {
		if (out_fixed) {
			if (vos_copy_to_user(out, buf, outlen) < 0)
				res = -EFAULT;
		} else if ((uint64_t)res > outlen) {
			res = -EIO;
		} else if (vos_copy_to_user(out, buf, (size_t)res) < 0) {
			res = -EFAULT;
		}
	}
	if (res == -EFBIG && (r->op == VOS_OP_FTRUNCATE || r->op == VOS_OP_TRUNCATE ||
			      r->op == VOS_OP_FALLOCATE))
		vos_fsize_exceeded();   /* SIGXFSZ, as the kernel raises it (rlimit.c) */
	vos_call_end(s);        /* the deferred handlers run here */
	if (res == -EINTR && intr == 1)
		goto again;     /* every handler has SA_RESTART: the kernel restarts */
	return res;
}

int64_t vos_rpc0(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
		 int64_t a3, int64_t a4)
{
	struct vos_req r = { .op = op, .arg = { a0, a1, a2, a3, a4, 0 } };

	return vos_rpc(c, &r, NULL, 0, NULL, 0, 0);
}

/*
 * Every remote call of the interposer holds its slot inside a critical
 * region (signals.c): a handler of a signal that arrives meanwhile runs
 * after vos_call_end(), never while this thread holds a slot (a handler
 * that made a remote call could wait for our slot or our answer, i.e. for
 * itself).
 */
int vos_call_begin(struct vos_client *c, struct vos_slot **s)
{
	int err;

	vos_crit_enter();
	err = vos_slot_acquire(c, s);
	if (err)
		vos_crit_leave();
	return err;
}

void vos_call_end(struct vos_slot *s)
{
	vos_slot_release(s);
	vos_crit_leave();
}

int64_t vos_path_rpc(const struct vos_path *p, uint16_t op, int64_t a2, int64_t a3, int64_t a4,
		     void *out, size_t outlen, int out_fixed)
{
	struct vos_req r = { .op = op, .arg = { p->dirfd, VOS_NO_PATH, a2, a3, a4 } };
	struct vos_in in = { 1, p->path, p->path ? strlen(p->path) + 1 : 0 };

	return vos_rpc(p->client, &r, &in, p->path ? 1 : 0, out, outlen, out_fixed);
}
