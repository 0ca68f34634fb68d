/*
 * ops_poll.c - VOS_OP_POLL: poll a set of the client's remote fds in the
 * shadow (a session op: every role's files can be polled).
 *
 * The list (struct pollfd, the kernel's layout) is in the slot, which the
 * client may change at any time: it is copied once into the worker's
 * scratch buffer, the count is bounded by the slot, and every fd number is
 * looked up in the shadow's table (a number that is not one of the
 * client's remote fds gets POLLNVAL, as poll(2) gives a closed fd).  The
 * files are held (referenced) for the whole wait, so a concurrent CLOSE
 * never lets their own fd numbers be reused under the poll.
 *
 * The wait is an ordinary poll(2), so VOS_OP_CANCEL ends it: the cancel
 * signal has no SA_RESTART and poll is never restarted anyway (-EINTR).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

int prep_poll(struct op *o)
{
	int64_t n = o->a[0], t = o->a[1];

	if (n < 0 || (uint64_t)n > o->size / sizeof(struct pollfd))
		return -EINVAL;
	if (t < -1 || t > INT_MAX)
		return -EINVAL;
	o->iarg = (int)n;
	o->iarg2 = (int)t;
	o->wait = t != 0;
	return 0;
}

int64_t op_poll(struct op *o)
{
	unsigned n = (unsigned)o->iarg;
	int timeout = o->iarg2, nval = 0;
	struct pollfd *pf = (struct pollfd *)(void *)o->ob->scratch;   /* slot_size bytes */
	struct vos_file **files = NULL;
	int32_t *nums = NULL;
	int64_t r;

	if (n) {
		files = calloc(n, sizeof(*files));
		nums = malloc(n * sizeof(*nums));
		if (!files || !nums) {
			free(files);
			free(nums);
			return -ENOMEM;
		}
	}
	memcpy(pf, o->buf, n * sizeof(*pf));            /* the one read of the list */
	for (unsigned i = 0; i < n; i++) {
		nums[i] = pf[i].fd;
		pf[i].revents = 0;
		if (pf[i].fd < 0)
			continue;                       /* ignored, as poll(2) does */
		if (vos_fdt_get(&o->sh->fdt, pf[i].fd, &files[i]) < 0) {
			files[i] = NULL;
			pf[i].fd = -1;
			nval = 1;
			continue;
		}
		pf[i].fd = files[i]->fd;
	}
	/* A bad number answers at once, as natively; a shadow at its worker
	 * bound must not block its last free worker. */
	if (nval || o->nowait)
		timeout = 0;
	r = sysret(poll(pf, n, timeout));
	if (r >= 0) {
		r = 0;
		for (unsigned i = 0; i < n; i++) {
			if (nums[i] >= 0 && !files[i])
				pf[i].revents = POLLNVAL;
			pf[i].fd = nums[i];
			r += pf[i].revents != 0;
		}
		if (r == 0 && o->nowait && o->iarg2 != 0)
			r = -EAGAIN;            /* would have waited: ask again later */
		else
			memcpy(o->buf, pf, n * sizeof(*pf));
	}
	for (unsigned i = 0; i < n; i++)
		vos_fdt_put(files[i]);
	free(files);
	free(nums);
	return r;
}
