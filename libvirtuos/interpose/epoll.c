/*
 * epoll.c - remote fds in epoll sets, level-triggered (from the
 * dispatcher, syscall_table.c).
 *
 * An epoll fd stays the kernel's: local fds are in it as natively.  The
 * kernel cannot watch a remote fd (its number holds an O_PATH placeholder),
 * so epoll_ctl of a remote fd is answered here: the fd, its events and
 * its epoll_data are kept in this library's record of that epoll instance.
 * epoll_wait on an instance with remote fds is a poll (poll.c, which sends
 * the remote fds to their services and waits on everything at once) of
 * the epoll fd itself (readable when a local fd is ready) and the remote
 * fds; then the kernel's events are taken without waiting, and the remote
 * ones added after them, up to maxevents.
 *
 * Which instance a record belongs to: the program names it by number, and
 * a number may be closed and reused.  So each record puts a marker of its
 * own (an eventfd that never becomes ready, at a high number) into the
 * kernel's set, and a lookup checks with kcmp(KCMP_EPOLL_TFD) that the
 * marker is still in the set the number names now; if not, the record is
 * stale and dropped.
 *
 * Semantics: level-triggered.  EPOLLONESHOT: a remote fd reported once is
 * disabled until EPOLL_CTL_MOD.  EPOLLET is served as level-triggered
 * (an edge-triggered program reads until EAGAIN before it waits again, so
 * it sees the same events; it may be woken more often).  EPOLLEXCLUSIVE
 * as level.  More remote fds ready than maxevents: the next call starts
 * after the last one reported (round robin), none is starved.  A remote
 * fd that was closed (POLLNVAL) leaves the record.  A regular file or a
 * directory cannot be added (EPERM, as natively).
 *
 * Not as natively (README.md): a duplicate of the epoll fd (dup, or
 * inherited through exec) does not see the remote fds; after fork the
 * record is the child's copy (changes no longer reach the other process);
 * a remote fd number closed and reused before the next wait stays in the
 * set as the new file.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"
#include "common/vos_time.h"

#define MARK_FD_BASE    512             /* markers go here or above */
#define EP_MAX_EVENTS   (INT32_MAX / (int)sizeof(struct epoll_event))
/* epoll's own flags; the rest are poll(2) events with the same values. */
#define EP_FLAGS        (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)

typedef uint64_t ksigset;

struct ep_reg {
	int fd;
	uint32_t events;
	uint64_t data;
	int off;                        /* EPOLLONESHOT fired: off until MOD */
};

struct ep_set {
	struct ep_set *next;
	int epfd, mark;
	struct ep_reg *regs;
	unsigned n, cap, rr;            /* rr: where the next report starts */
	int turn;                       /* the last report was the kernel's (maxevents 1) */
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

/* Is set's marker still in the epoll instance its number names? */
static int set_current(const struct ep_set *s)
{
	struct kcmp_epoll_slot slot = { (uint32_t)s->epfd, (uint32_t)s->mark, 0 };
	long pid = raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long r = raw(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, s->mark, (long)&slot, 0);

	return r == 0 || r == -ENOSYS;  /* without kcmp: trust the number */
}

static void set_free(struct ep_set *s)
{
	raw(SYS_close, s->mark, 0, 0, 0, 0, 0);
	free(s->regs);
	free(s);
}

/* Lock held: the record of epfd, stale ones dropped.  NULL if none. */
static struct ep_set *find_locked(int epfd)
{
	for (struct ep_set **p = &ep_sets; *p; p = &(*p)->next) {
		struct ep_set *s = *p;

		if (s->epfd != epfd)
			continue;
		if (set_current(s))
			return s;
		*p = s->next;
		set_free(s);
		atomic_fetch_sub(&ep_count, 1);
		return NULL;
	}
	return NULL;
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
	s->epfd = epfd;
	s->mark = (int)mark;
	s->next = ep_sets;
	ep_sets = s;
	atomic_fetch_add(&ep_count, 1);
	*out = s;
	return 0;
}

static struct ep_reg *reg_of(struct ep_set *s, int fd)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->regs[i].fd == fd)
			return &s->regs[i];
	return NULL;
}

static void reg_remove(struct ep_set *s, struct ep_reg *r)
{
	*r = s->regs[--s->n];
}

/* epoll_ctl(epfd, op, fd, event) with fd remote.  Result or -errno. */
long vos_epoll_ctl_remote(long a[6])
{
	int epfd = (int)a[0], op = (int)a[1], fd = (int)a[2];
	struct epoll_event ev = { 0 };
	struct ep_set *s;
	struct ep_reg *r;
	struct stat st;
	long res = 0;

	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && vos_copy_from_user(&ev, (const void *)a[3], sizeof(ev)) < 0)
		return -EFAULT;
	if (epfd == fd)
		return -EINVAL;
	if (op == EPOLL_CTL_ADD) {
		/* As natively: files that do not support poll are refused. */
		if (vos_fstat(fd, &st) < 0)
			return -errno;
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			return -EPERM;
	}
	if ((ev.events & EPOLLEXCLUSIVE) && op == EPOLL_CTL_MOD)
		return -EINVAL;
	lock();
	s = find_locked(epfd);
	if (!s && op != EPOLL_CTL_ADD) {
		/* Never added here: ENOENT, once epfd is known to be open. */
		res = raw(SYS_fcntl, epfd, F_GETFD, 0, 0, 0, 0) < 0 ? -EBADF : -ENOENT;
		goto out;
	}
	if (!s && (res = create_locked(epfd, &s)) < 0)
		goto out;
	r = reg_of(s, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (r) {
			res = -EEXIST;
			break;
		}
		if (s->n == s->cap) {
			unsigned cap = s->cap ? s->cap * 2 : 8;
			struct ep_reg *nr = realloc(s->regs, cap * sizeof(*nr));

			if (!nr) {
				res = -ENOMEM;
				break;
			}
			s->regs = nr;
			s->cap = cap;
		}
		s->regs[s->n++] = (struct ep_reg){ fd, ev.events, ev.data.u64, 0 };
		break;
	case EPOLL_CTL_MOD:
		if (!r) {
			res = -ENOENT;
			break;
		}
		r->events = ev.events;
		r->data = ev.data.u64;
		r->off = 0;
		break;
	default:
		if (!r)
			res = -ENOENT;
		else
			reg_remove(s, r);
		break;
	}
out:
	unlock();
	return res;
}

/*
 * epoll_wait on epfd: timeout_ns < 0 none; mask NULL: the thread's.
 * *handled = 0: no remote fd in the set (the caller asks the kernel).
 */
static long ep_wait(int epfd, struct epoll_event *uev, int maxevents, int64_t timeout_ns,
		    const ksigset *mask, int *handled)
{
	struct ep_set *s;
	struct pollfd *pf = NULL;
	struct ep_reg *regs = NULL;
	unsigned n = 0, rr = 0;
	int turn = 0;
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : vos_now_ns() + (uint64_t)timeout_ns;
	long total = 0;

	*handled = 0;
	if (atomic_load(&ep_count) == 0)
		return 0;
	lock();
	s = find_locked(epfd);
	if (s && s->n) {
		regs = malloc(s->n * sizeof(*regs));
		pf = malloc((s->n + 1) * sizeof(*pf));
		if (regs && pf) {
			n = s->n;
			memcpy(regs, s->regs, n * sizeof(*regs));
			rr = s->rr;
			turn = s->turn;
		}
	}
	unlock();
	if (!n) {
		free(regs);
		free(pf);
		return 0;       /* nothing remote (or no memory): the kernel's call */
	}
	*handled = 1;
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) {
		total = -EINVAL;
		goto done;
	}
	if (!vos_user_range_ok(uev, (size_t)maxevents * sizeof(*uev))) {
		total = -EFAULT;
		goto done;
	}
	for (;;) {
		uint64_t now = vos_now_ns();
		int64_t left = deadline == UINT64_MAX ? -1 : now >= deadline ? 0 :
			       (int64_t)(deadline - now);
		long r;

		pf[0] = (struct pollfd){ epfd, POLLIN, 0 };
		for (unsigned i = 0; i < n; i++)
			pf[1 + i] = (struct pollfd){ regs[i].off ? -1 : regs[i].fd,
						     (short)(regs[i].events & ~EP_FLAGS & 0xffff), 0 };
		r = vos_poll_list(pf, n + 1, left, mask);
		if (r < 0) {
			total = r;
			break;
		}
		if (pf[0].revents & POLLNVAL) {
			total = -EBADF;
			break;
		}
		if (pf[0].revents & POLLIN) {
			/* Room for the remote ones too (up to half), so neither
			 * side starves the other; with room for one, turns. */
			int ready = 0, room = maxevents;

			for (unsigned i = 0; i < n; i++)
				ready += pf[1 + i].revents && !(pf[1 + i].revents & POLLNVAL);
			if (ready && maxevents > 1)
				room -= ready < maxevents / 2 ? ready : maxevents / 2;
			else if (ready && turn)
				room = 0;
			r = room ? raw(SYS_epoll_wait, epfd, (long)uev, room, 0, 0, 0) : 0;
			if (r < 0) {
				total = r;
				break;
			}
			total = r;
			turn = r > 0;
		}
		for (unsigned k = 0; k < n && total < maxevents; k++) {
			unsigned i = (rr + k) % n;
			struct epoll_event e;

			if (!pf[1 + i].revents || (pf[1 + i].revents & POLLNVAL))
				continue;
			e.events = (uint32_t)(uint16_t)pf[1 + i].revents;
			e.data.u64 = regs[i].data;
			if (vos_copy_to_user(&uev[total], &e, sizeof(e)) < 0) {
				total = -EFAULT;
				break;
			}
			total++;
			rr = i + 1;
			if (regs[i].events & EPOLLONESHOT)
				regs[i].off = 1;
		}
		if (total != 0 || (deadline != UINT64_MAX && vos_now_ns() >= deadline))
			break;
		/* The kernel's events went to another thread meanwhile: wait on. */
	}
	/* Back into the record: one-shots that fired, closed fds, fairness. */
	lock();
	s = find_locked(epfd);
	for (unsigned i = 0; s && i < n; i++) {
		struct ep_reg *cur = reg_of(s, regs[i].fd);

		if (!cur)
			continue;
		if (pf[1 + i].revents & POLLNVAL)
			reg_remove(s, cur);
		else if (regs[i].off && cur->events == regs[i].events && cur->data == regs[i].data)
			cur->off = 1;
	}
	if (s) {
		s->rr = rr;
		s->turn = turn;
	}
	unlock();
done:
	free(regs);
	free(pf);
	return total;
}

static int get_mask(const void *u, size_t size, ksigset *buf, const ksigset **out)
{
	*out = NULL;
	if (!u)
		return 0;
	if (size != sizeof(ksigset))
		return -EINVAL;
	if (vos_copy_from_user(buf, u, sizeof(*buf)) < 0)
		return -EFAULT;
	*out = buf;
	return 0;
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

	if (atomic_load(&ep_count) == 0 || get_mask((const void *)a[4], (size_t)a[5], &buf, &mask) < 0)
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

	if (atomic_load(&ep_count) == 0 || get_mask((const void *)a[4], (size_t)a[5], &buf, &mask) < 0)
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
