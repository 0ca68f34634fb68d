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
 *
 * VOS_OP_EPOLL_CTL and VOS_OP_EPOLL_WAIT: the epoll instance of a client
 * epoll set, a real epoll fd of the shadow kept in its fd table at the
 * number the client names (its marker's number, which no remote fd of the
 * client can take).  Registrations are of the shadow's own fds, keyed by
 * the kernel on (file, own fd number): a file leaves the instance when its
 * last reference goes (the client closed every number of it, and no
 * forked shadow shares it), as on Linux.  A forked shadow's table holds the
 * same epoll file, so parent and child share the set.  The instance and
 * the fd must be the client's numbers (-EBADF); an instance number that is
 * not an epoll fd is the kernel's -EINVAL.  The epoll_data is the
 * client's and is returned unchanged.  epoll_wait is cancelled as poll is.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

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

/* ---- epoll ---- */

/* Serialises making an instance (two first ADDs of one set at once), and
 * guards the list of instance numbers. */
static pthread_mutex_t ep_create_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ep_once = PTHREAD_ONCE_INIT;
/* This shadow's instance numbers (a forked shadow inherits the list with
 * the table), for CLOSE: see epoll_close. */
#define EP_INSTANCES 64
static int64_t ep_nums[EP_INSTANCES];
static int ep_n;

/* A forked shadow: the forking worker held no such lock, another may have. */
static void ep_after_fork_child(void)
{
	pthread_mutex_init(&ep_create_lock, NULL);
}

static void ep_init(void)
{
	pthread_atfork(NULL, NULL, ep_after_fork_child);
}

int prep_epoll_ctl(struct op *o)
{
	int64_t op = o->a[1], ev = o->a[3], create = o->a[5];

	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (ev < 0 || ev > UINT32_MAX || create < 0 || create > 1 ||
	    (create && op != EPOLL_CTL_ADD))
		return -EINVAL;
	if (o->a[0] < 0 || o->a[0] >= VOS_FDT_MAX || o->a[2] < 0 || o->a[2] >= VOS_FDT_MAX)
		return -EBADF;
	return 0;
}

/* The instance at num, made there if create and num is not open.  The
 * reference is the caller's.  0 or -errno. */
static int ep_instance(struct op *o, int64_t num, int create, struct vos_file **out)
{
	int err, fd;

	if (!create)
		return vos_fdt_get(&o->sh->fdt, num, out);
	pthread_once(&ep_once, ep_init);
	pthread_mutex_lock(&ep_create_lock);
	err = vos_fdt_get(&o->sh->fdt, num, out);
	if (err == -EBADF) {
		fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0) {
			err = -errno;
		} else {
			err = vos_fdt_install(&o->sh->fdt, num, fd, 1, 1);
			if (err)
				close(fd);
			else
				err = vos_fdt_get(&o->sh->fdt, num, out);
			if (!err && __atomic_load_n(&ep_n, __ATOMIC_RELAXED) < EP_INSTANCES) {
				ep_nums[ep_n] = num;
				__atomic_store_n(&ep_n, ep_n + 1, __ATOMIC_RELEASE);
			}
		}
	}
	pthread_mutex_unlock(&ep_create_lock);
	return err;
}

int64_t op_epoll_ctl(struct op *o)
{
	struct vos_file *ep = NULL, *f = NULL;
	struct epoll_event ev = { .events = (uint32_t)o->a[3], .data.u64 = (uint64_t)o->a[4] };
	int64_t r;

	if (o->a[0] == o->a[2])
		return -EINVAL;                 /* an instance into itself, as natively */
	r = vos_fdt_get(&o->sh->fdt, o->a[2], &f);
	if (r == 0)
		r = ep_instance(o, o->a[0], (int)o->a[5], &ep);
	if (r == 0)
		r = sysret(epoll_ctl(ep->fd, (int)o->a[1], f->fd, &ev));
	vos_fdt_put(ep);
	vos_fdt_put(f);
	return r;
}

int prep_epoll_wait(struct op *o)
{
	int64_t max = o->a[1], t = o->a[2];

	if (o->a[0] < 0 || o->a[0] >= VOS_FDT_MAX)
		return -EBADF;
	if (max < 0 || (uint64_t)max > o->size / sizeof(struct epoll_event))
		return -EINVAL;
	if (t < -1 || t > INT_MAX)
		return -EINVAL;
	o->iarg = (int)max;
	o->iarg2 = (int)t;
	o->wait = t != 0;
	return 0;
}

int64_t op_epoll_wait(struct op *o)
{
	struct vos_file *ep;
	int timeout = o->nowait ? 0 : o->iarg2;
	int64_t r = vos_fdt_get(&o->sh->fdt, o->a[0], &ep);

	if (r)
		return r;
	if (o->iarg == 0) {
		/* Readiness only: the epoll fd polls readable when an event is
		 * ready, and polling it consumes nothing. */
		struct pollfd p = { ep->fd, POLLIN, 0 };

		r = sysret(poll(&p, 1, timeout));
		if (r > 0)
			r = (p.revents & POLLIN) != 0;
	} else {
		/* Straight into the slot: the events are data the client reads
		 * (the kernel checks the buffer, we never read it back). */
		r = sysret(epoll_wait(ep->fd, (struct epoll_event *)(void *)o->buf, o->iarg,
				      timeout));
	}
	vos_fdt_put(ep);
	if (r == 0 && o->nowait && o->iarg2 != 0)
		r = -EAGAIN;                    /* would have waited: ask again later */
	return r;
}

/*
 * VOS_OP_CLOSE (ops_session.c): remove the number; when it was this
 * shadow's last reference to its file, take the file out of this shadow's
 * epoll instances now.  The kernel would drop the registration only when
 * the file's last reference goes, and a forked shadow whose client has
 * exited may still hold it for a moment (a shadow ends when it sees its
 * client's hang-up): the program, which saw its child end and closed its
 * fd, must find the fd out of its sets.  0 or the close error.
 */
int64_t epoll_close(struct op *o)
{
	struct vos_file *f;
	int64_t nums[EP_INSTANCES];
	int n, r, r2;

	if (__atomic_load_n(&ep_n, __ATOMIC_ACQUIRE) == 0 ||
	    vos_fdt_get(&o->sh->fdt, o->a[0], &f) < 0)
		return vos_fdt_remove(&o->sh->fdt, o->a[0]);
	r = vos_fdt_remove(&o->sh->fdt, o->a[0]);
	pthread_mutex_lock(&ep_create_lock);
	n = 0;
	for (int i = 0; i < ep_n; i++)
		if (ep_nums[i] != o->a[0])
			ep_nums[n++] = ep_nums[i];      /* an instance closed leaves the list */
	__atomic_store_n(&ep_n, n, __ATOMIC_RELEASE);
	memcpy(nums, ep_nums, (size_t)n * sizeof(*nums));
	pthread_mutex_unlock(&ep_create_lock);
	if (r == 0 && __atomic_load_n(&f->refs, __ATOMIC_ACQUIRE) == 1) {
		/* No other number of it here, and no call using it. */
		for (int i = 0; i < n; i++) {
			struct vos_file *ep;

			if (vos_fdt_get(&o->sh->fdt, nums[i], &ep) < 0)
				continue;
			epoll_ctl(ep->fd, EPOLL_CTL_DEL, f->fd, NULL);  /* ENOENT: was not in it */
			vos_fdt_put(ep);
		}
	}
	r2 = vos_fdt_put(f);
	return r ? r : r2;
}
