/*
 * epoll.c - remote fds in epoll sets (from the dispatcher,
 * syscall_table.c), with the semantics of Linux: the service's kernel does
 * the epoll work on its own files.
 *
 * An epoll fd stays the kernel's and holds the local fds as natively.  The
 * kernel cannot watch a remote fd (its number holds an O_PATH placeholder),
 * so a set with remote fds has, in each service involved, an epoll
 * instance of its own (VOS_OP_EPOLL_CTL, VOS_OP_EPOLL_WAIT): the shadow's
 * real epoll fd, registered with the shadow's own files and the program's
 * epoll_data.  Edge triggering, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLRDHUP,
 * the ready list and a file leaving the set when its last reference goes
 * are that kernel's.  epoll_wait on such a set waits (poll.c) on the epoll
 * fd itself (readable when a local fd is ready) and one VOS_OP_EPOLL_WAIT
 * per instance, at once; what the instances return was consumed there and
 * is always reported (each is asked for no more than there is room for),
 * then the kernel's own events fill the rest.
 *
 * Which set a number names.  The library keeps one record per set: a
 * marker of its own (an eventfd that never becomes ready, at fd 512 or
 * above) is in the kernel's set, and kcmp(KCMP_EPOLL_TFD) tells whether
 * a number names the set holding that marker.  So a dup of the epoll fd,
 * or the same fd in a fork child, finds the record; a closed and reused
 * number does not.  The marker's number also names the instances in the
 * services (the shadow's fd table holds them there): no remote fd can take
 * that number while the marker holds it.  After fork the child's shadow is
 * a fork of the parent's and holds the same instances, so the set is
 * shared as in Linux.  A record none of whose known numbers names its set
 * any more is freed (its instances closed) when another set is made.
 *
 * Fairness: when the kernel's part has events too, the instances get at
 * most half of maxevents (with room for one: turns), so neither side
 * starves the other; with more instances than room, the others are only
 * asked whether they have events (VOS_OP_EPOLL_WAIT with 0) and get their
 * turn in the next call.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"
#include "common/vos_time.h"

#define MARK_FD_BASE    512             /* markers go here or above */
#define EP_MAX_EVENTS   (INT32_MAX / (int)sizeof(struct epoll_event))
#define EP_NUMS         8               /* numbers remembered per set */


struct ep_set {
	struct ep_set *next;
	int mark;                       /* the marker, and the instances' number */
	int nums[EP_NUMS];              /* numbers seen naming the set (-1: none) */
	unsigned nextnum;               /* where the next one goes (round) */
	uint64_t svcs;                  /* services with an instance (bit = index) */
	unsigned rr;                    /* instance to serve first (more than room) */
	int turn;                       /* the last report was the kernel's (room 1) */
};

static pthread_mutex_t ep_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ep_set *ep_sets;
static _Atomic int ep_count;            /* records; 0: every wait is the kernel's */
static pthread_once_t ep_once = PTHREAD_ONCE_INIT;

static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };

	return vos_dispatch_raw(nr, a);
}

/* A fork child: another thread may have held the lock. */
static void ep_after_fork_child(void)
{
	pthread_mutex_init(&ep_lock, NULL);
}

static void ep_init(void)
{
	pthread_atfork(NULL, NULL, ep_after_fork_child);
}

static void lock(void)
{
	pthread_once(&ep_once, ep_init);
	vos_crit_enter();
	pthread_mutex_lock(&ep_lock);
}

static void unlock(void)
{
	pthread_mutex_unlock(&ep_lock);
	vos_crit_leave();
}

/* Does number epfd name the set holding s's marker? */
static int names(const struct ep_set *s, int epfd)
{
	struct kcmp_epoll_slot slot = { (uint32_t)epfd, (uint32_t)s->mark, 0 };
	long pid = raw(SYS_getpid, 0, 0, 0, 0, 0, 0);

	if (epfd < 0)
		return 0;
	return raw(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, s->mark, (long)&slot, 0) == 0;
}

static void remember(struct ep_set *s, int epfd)
{
	for (unsigned i = 0; i < EP_NUMS; i++)
		if (s->nums[i] == epfd)
			return;
	s->nums[s->nextnum++ % EP_NUMS] = epfd;
}

/* Lock held: the record of the set epfd names, or NULL. */
static struct ep_set *find_locked(int epfd)
{
	for (struct ep_set *s = ep_sets; s; s = s->next)
		for (unsigned i = 0; i < EP_NUMS; i++)
			if (s->nums[i] == epfd && names(s, epfd))
				return s;
	for (struct ep_set *s = ep_sets; s; s = s->next)
		if (names(s, epfd)) {
			remember(s, epfd);      /* a dup, or a number after fork */
			return s;
		}
	return NULL;
}

/* Lock held: unlink the records no known number names any more onto *dead
 * (freed by free_sets, outside the lock: it makes remote calls). */
static void collect_locked(struct ep_set **dead)
{
	for (struct ep_set **p = &ep_sets; *p;) {
		struct ep_set *s = *p;
		int live = 0;

		for (unsigned i = 0; i < EP_NUMS && !live; i++)
			live = names(s, s->nums[i]);
		if (live) {
			p = &s->next;
			continue;
		}
		*p = s->next;
		s->next = *dead;
		*dead = s;
		atomic_fetch_sub(&ep_count, 1);
	}
}

/* Close the instances of dead records (unless a remote fd took the marker's
 * number: then the program closed the marker, and the service's entry was
 * replaced already), then the markers. */
static void free_sets(struct ep_set *dead)
{
	while (dead) {
		struct ep_set *s = dead;

		dead = s->next;
		for (int svc = 0; svc < vos_nservices && svc < 64; svc++) {
			struct vos_conn *conn;

			if (!(s->svcs >> svc & 1) ||
			    VOS_FDE_KIND(vos_fd_entry(s->mark)) == VOS_FDK_REMOTE)
				continue;
			conn = vos_service_live(svc);
			if (conn && vos_conn_usable(conn))
				vos_rpc0(conn->client, VOS_OP_CLOSE, s->mark, 0, 0, 0, 0);
		}
		raw(SYS_close, s->mark, 0, 0, 0, 0, 0);
		free(s);
	}
}

/* A new record for epfd (lock held): its marker goes into the kernel's set,
 * which also checks epfd (EBADF, EINVAL as for any epoll_ctl).  0 or -errno. */
static int create_locked(int epfd, struct ep_set **out)
{
	struct epoll_event ev = { .events = 0, .data.u64 = 0 };
	struct ep_set *s;
	long fd, mark, r;

	fd = raw(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	mark = raw(SYS_fcntl, fd, F_DUPFD_CLOEXEC, MARK_FD_BASE, 0, 0, 0);
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	if (mark < 0)
		return (int)mark;
	r = raw(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, mark, (long)&ev, 0, 0);
	if (r < 0) {
		raw(SYS_close, mark, 0, 0, 0, 0, 0);
		return (int)r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		raw(SYS_close, mark, 0, 0, 0, 0, 0);
		return -ENOMEM;
	}
	s->mark = (int)mark;
	for (unsigned i = 0; i < EP_NUMS; i++)
		s->nums[i] = -1;
	remember(s, epfd);
	s->next = ep_sets;
	ep_sets = s;
	atomic_fetch_add(&ep_count, 1);
	*out = s;
	return 0;
}

/* epoll_ctl(epfd, op, fd, event) with fd remote.  Result or -errno. */
long vos_epoll_ctl_remote(long a[6])
{
	int epfd = (int)a[0], op = (int)a[1], fd = (int)a[2], svc, mark = -1, create = 0;
	struct epoll_event ev = { 0 };
	struct vos_client *c;
	struct ep_set *s, *dead = NULL;
	long res = 0;
	int r;

	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && vos_copy_from_user(&ev, (const void *)a[3], sizeof(ev)) < 0)
		return -EFAULT;
	if (epfd == fd)
		return -EINVAL;
	r = vos_fd_remote(fd, &c, &svc);
	if (r <= 0)
		return r == 0 ? -EBADF : -EIO;
	if (svc < 0 || svc >= 64)
		return -EPERM;
	lock();
	s = find_locked(epfd);
	if (!s && op != EPOLL_CTL_ADD) {
		/* Never added here: ENOENT, once epfd is known to be open. */
		res = raw(SYS_fcntl, epfd, F_GETFD, 0, 0, 0, 0) < 0 ? -EBADF : -ENOENT;
		unlock();
		return res;
	}
	if (!s) {
		collect_locked(&dead);
		res = create_locked(epfd, &s);
	}
	if (res == 0) {
		mark = s->mark;
		create = !(s->svcs >> svc & 1);
	}
	unlock();
	free_sets(dead);
	if (res < 0)
		return res;
	/* The instance is made by the first ADD (a MOD or DEL before any ADD
	 * in this service: the service says ENOENT for its fd). */
	if (create && op != EPOLL_CTL_ADD) {
		res = -ENOENT;
	} else {
		struct vos_req q = { .op = VOS_OP_EPOLL_CTL,
				     .arg = { mark, op, fd, ev.events, (int64_t)ev.data.u64, create } };

		res = vos_rpc(c, &q, NULL, 0, NULL, 0, 0);
	}
	if (res == -ENOSYS)
		res = -EPERM;           /* a service without epoll: as an unpollable file */
	if (res == 0 && create) {
		lock();
		for (s = ep_sets; s; s = s->next)
			if (s->mark == mark)
				s->svcs |= 1ull << svc;
		unlock();
	}
	return res;
}

/* The instances of a set, and what each may return this time. */
struct ep_plan {
	struct vos_epwait ew[64];
	int svc[64];
	int n;
};

/*
 * Share room events among the instances (room may be 0: readiness only),
 * starting at rr: each of the first room instances gets one, the rest of
 * room goes to them in turn.
 */
static void plan_room(struct ep_plan *p, int room, unsigned rr, struct epoll_event *buf)
{
	int k = p->n, off = 0;

	for (int j = 0; j < k; j++) {
		int i = (int)((rr + (unsigned)j) % (unsigned)k);
		int share = room / k + (j < room % k);

		p->ew[i].max = share;
		p->ew[i].out = buf + off;
		off += share;
	}
}

/*
 * epoll_wait on epfd: timeout_ns < 0 none; mask NULL: the thread's.
 * *handled = 0: no instance in any service (the caller asks the kernel).
 */
static long ep_wait(int epfd, struct epoll_event *uev, int maxevents, int64_t timeout_ns,
		    const ksigset *mask, int *handled)
{
	struct ep_set *s;
	struct ep_plan plan;
	struct epoll_event *buf = NULL;
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : vos_now_ns() + (uint64_t)timeout_ns;
	uint64_t svcs = 0;
	unsigned rr = 0;
	int turn = 0, mark = -1;
	long total = 0;

	*handled = 0;
	if (atomic_load(&ep_count) == 0)
		return 0;
	lock();
	s = find_locked(epfd);
	if (s) {
		svcs = s->svcs;
		rr = s->rr;
		turn = s->turn;
		mark = s->mark;
	}
	unlock();
	plan.n = 0;
	for (int svc = 0; svc < vos_nservices && svc < 64; svc++) {
		struct vos_conn *conn;

		if (!(svcs >> svc & 1))
			continue;
		conn = vos_service_live(svc);
		if (!conn || !vos_conn_usable(conn))
			continue;       /* a dead service: its files report nothing */
		plan.ew[plan.n] = (struct vos_epwait){ .c = conn->client, .inst = mark };
		plan.svc[plan.n++] = svc;
	}
	if (!plan.n)
		return 0;       /* nothing remote: the kernel's call */
	*handled = 1;
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (!vos_user_range_ok(uev, (size_t)maxevents * sizeof(*uev)))
		return -EFAULT;
	for (int i = 0; i < plan.n; i++) {
		size_t cap = vos_client_slot_size(plan.ew[i].c) / sizeof(struct epoll_event);

		if ((size_t)maxevents > cap)
			maxevents = (int)cap;   /* a short report; the rest next time */
	}
	buf = malloc((size_t)maxevents * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (;;) {
		uint64_t now = vos_now_ns();
		int64_t left = deadline == UINT64_MAX ? -1 : now >= deadline ? 0 :
			       (int64_t)(deadline - now);
		struct pollfd pf = { epfd, POLLIN, 0 };
		int room = maxevents, dropped = 0;
		long r;

		/* The kernel's part ready already: the instances get at most
		 * half the room, and with room for one take turns with it. */
		r = raw(SYS_ppoll, (long)&pf, 1, (long)&(struct timespec){ 0, 0 }, 0, 0, 0);
		if (r > 0 && (pf.revents & POLLNVAL)) {
			total = -EBADF;
			break;
		}
		if (r > 0 && (pf.revents & POLLIN)) {
			room = maxevents > 1 ? maxevents / 2 : turn ? 1 : 0;
			left = 0;
		}
		plan_room(&plan, room, rr, buf);
		for (int i = 0; i < plan.n; i++)
			plan.ew[i].got = 0;
		pf.revents = 0;
		/* No room at all (the kernel's turn): the instances wait. */
		r = vos_poll_epoll(&pf, 1, plan.ew, room ? plan.n : 0, left, mask);
		if (r < 0) {
			total = r;
			break;
		}
		if (pf.revents & POLLNVAL) {
			total = -EBADF;
			break;
		}
		/* The instances' events first: they were consumed there. */
		for (int j = 0; j < plan.n; j++) {
			int i = (int)((rr + (unsigned)j) % (unsigned)plan.n);
			struct vos_epwait *e = &plan.ew[i];

			if (e->got < 0) {
				/* Gone (a service restarted, or it has no epoll):
				 * stop asking it. */
				svcs &= ~(1ull << plan.svc[i]);
				dropped = 1;
				continue;
			}
			if (e->max == 0 || e->got == 0)
				continue;
			if (vos_copy_to_user(&uev[total], e->out, (size_t)e->got * sizeof(*buf)) < 0) {
				total = -EFAULT;
				break;
			}
			total += e->got;
		}
		if (total < 0)
			break;
		/* Whoever had no room this time goes first next time. */
		for (int j = 0; j < plan.n && room; j++) {
			int i = (int)((rr + (unsigned)j) % (unsigned)plan.n);

			if (plan.ew[i].max == 0) {
				rr = (unsigned)i;
				break;
			}
		}
		if ((pf.revents & POLLIN) && total < maxevents) {
			r = raw(SYS_epoll_wait, epfd, (long)(uev + total), maxevents - total, 0, 0, 0);
			if (r < 0) {
				total = total ? total : r;
				break;
			}
			turn = r > 0;
			total += r;
		} else if (total) {
			turn = 0;
		}
		if (dropped) {
			int k = 0;

			for (int i = 0; i < plan.n; i++)
				if (svcs >> plan.svc[i] & 1) {
					plan.ew[k] = plan.ew[i];
					plan.svc[k++] = plan.svc[i];
				}
			plan.n = k;
			lock();
			for (s = ep_sets; s; s = s->next)
				if (s->mark == mark)
					s->svcs &= svcs;
			unlock();
		}
		if (total != 0 || !plan.n || (deadline != UINT64_MAX && vos_now_ns() >= deadline))
			break;
		/* An instance had events but no room, or the kernel's went to
		 * another thread meanwhile: ask again. */
	}
	lock();
	for (s = ep_sets; s; s = s->next)
		if (s->mark == mark) {
			s->rr = rr;
			s->turn = turn;
		}
	unlock();
	free(buf);
	if (total == 0 && !plan.n) {
		/* Every instance gone: the kernel's part alone, for the time left. */
		uint64_t now = vos_now_ns();
		long ms = deadline == UINT64_MAX ? -1 : now >= deadline ? 0 :
			  (long)((deadline - now + 999999) / 1000000);

		return raw(SYS_epoll_pwait, epfd, (long)uev, maxevents, ms, (long)mask,
			   mask ? sizeof(*mask) : 0);
	}
	return total;
}

long vos_epoll_wait_call(long a[6])
{
	int handled;
	long r = ep_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2],
			 (int)a[3] < 0 ? -1 : (int64_t)(int)a[3] * 1000000, NULL, &handled);

	return handled ? r : vos_dispatch_raw(SYS_epoll_wait, a);
}

long vos_epoll_pwait_call(long a[6])
{
	ksigset buf;
	const ksigset *mask;
	int handled;
	long r;

	if (atomic_load(&ep_count) == 0 || vos_get_sigmask((const void *)a[4], (size_t)a[5], &buf, &mask) < 0)
		return vos_dispatch_raw(SYS_epoll_pwait, a);
	r = ep_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2],
		    (int)a[3] < 0 ? -1 : (int64_t)(int)a[3] * 1000000, mask, &handled);
	return handled ? r : vos_dispatch_raw(SYS_epoll_pwait, a);
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

long vos_epoll_pwait2_call(long a[6])
{
	ksigset buf;
	const ksigset *mask;
	struct timespec ts;
	int64_t timeout_ns = -1;
	int handled;
	long r;

	if (atomic_load(&ep_count) == 0 || vos_get_sigmask((const void *)a[4], (size_t)a[5], &buf, &mask) < 0)
		return vos_dispatch_raw(SYS_epoll_pwait2, a);
	if (a[3]) {
		if (vos_copy_from_user(&ts, (const void *)a[3], sizeof(ts)) < 0 || ts.tv_sec < 0 ||
		    ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return vos_dispatch_raw(SYS_epoll_pwait2, a);   /* its EFAULT/EINVAL */
		timeout_ns = ts.tv_sec >= INT64_MAX / 1000000000 - 1 ? -1 :
			     ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	r = ep_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], timeout_ns, mask, &handled);
	return handled ? r : vos_dispatch_raw(SYS_epoll_pwait2, a);
}
