/*
 * poll.c - poll, ppoll, select and pselect6 over any mix of local and
 * remote fds (from the dispatcher, syscall_table.c); the wait of epoll.c.
 *
 * The kernel cannot poll a remote fd: its number holds an O_PATH
 * placeholder.  So each call is looked at first:
 *
 *   - no remote (and no internal) fd in the list or sets: the kernel runs
 *     the call unchanged (the cost is one read of the list);
 *   - otherwise the remote fds go to their services, one VOS_OP_POLL per
 *     service (vos_ops.def; more if they do not fit one slot), sent at once
 *     without waiting, with the call's timeout.  The thread then waits in
 *     the kernel's ppoll on its local fds, on each involved channel's
 *     event fd (vos_client_event_fd) while it holds that channel's poller
 *     role, and on an eventfd of its own that the engine writes when one of
 *     our calls completes or the poller role is handed to us
 *     (vos_slot_watch, for channels another thread polls).  It wakes when a
 *     local fd is ready, an answer came, the time is up or a signal came;
 *     the remaining time is recomputed after each wake.  What is still
 *     outstanding is then cancelled (VOS_OP_CANCEL: the service's poll ends
 *     with -EINTR, or answers what it found if it finished first, so an
 *     event found there is never dropped), and the results are merged.
 *
 * Signals: every catchable signal but the faults is blocked while the
 * library does its bookkeeping, and the wait is a ppoll with the program's
 * mask (poll, select) or the mask it passed (ppoll, pselect6): a signal
 * that came before the wait interrupts it at once, never lost.  The
 * handler itself runs when the critical region ends (signals.c), and the
 * call fails with EINTR as natively (these calls are never restarted, even
 * with SA_RESTART).
 *
 * Results as natively: POLLNVAL for a number that is not open (the
 * kernel's, or the service's for a remote one); select fails with EBADF
 * then.  The library's own channel descriptors are the kernel's business
 * (the engine polls them, at times with interception on).  A remote fd of a dead service reports POLLERR|POLLHUP (its
 * calls fail with EIO).  A service too busy to wait (-EAGAIN: every worker
 * waits, vos-serviced --max-workers) is asked again, 1 ms later, then up to
 * every 100 ms.
 *
 * The wait of epoll.c (vos_poll_epoll) adds service-side epoll instances
 * to the list: one VOS_OP_EPOLL_WAIT each, in flight with the POLL groups
 * and waited for, cancelled and collected the same way; the events such an
 * op returned are consumed in the service, so they are always handed back
 * to the caller (it asked for no more than it can report).
 *
 * Memory: everything lives on the stack for small lists and in an
 * anonymous mapping for large ones (no malloc: poll and select are
 * async-signal-safe, and a handler may call them while the program is in
 * malloc).
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"
#include "common/vos_opdef.h"
#include "common/vos_time.h"

/* What select's three sets mean as poll events (the kernel's own sets). */
#define POLLIN_SET      (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define POLLOUT_SET     (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
/* What a remote fd of a dead service is ready for, if asked: everything a
 * read or a write would not wait for (they fail at once). */
#define DEAD_READY      (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLRDHUP)
#define POLLEX_SET      (POLLPRI)

/* Remote groups (one VOS_OP_POLL each) in one call: 16 x 2048 remote fds
 * with the default slot size; more is ENOMEM. */
#define MAX_GROUPS      16
#define STACK_BYTES     2048
#define RETRY_MIN_NS    1000000ull              /* -EAGAIN: ask again after 1 ms */
#define RETRY_MAX_NS    100000000ull            /* ... up to every 100 ms */
/* With no local fd the service's own timeout ends the call; ours is later
 * by this much and only ends a call whose answer is late. */
#define REMOTE_SLACK_NS 1000000000ull
/* Waiting for a channel another thread polls, without an eventfd of our
 * own (none could be made): look again this often. */
#define NO_EVENTFD_NS   10000000ull


static long raw6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };

	return vos_dispatch_raw(nr, a);
}

#define RAW(nr, a0, a1, a2, a3) raw6(nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), 0, 0)

/* ---- memory: the stack for small lists, a mapping for large ones ---- */

struct mem {
	void *p;
	size_t len;
	int mapped;
};

static void *mem_get(struct mem *m, void *stack, size_t need)
{
	if (need <= STACK_BYTES) {
		*m = (struct mem){ stack, need, 0 };
		return stack;
	}
	long p = raw6(SYS_mmap, 0, (long)need, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		return NULL;
	*m = (struct mem){ (void *)p, need, 1 };
	return (void *)p;
}

static void mem_put(struct mem *m)
{
	if (m->mapped)
		RAW(SYS_munmap, m->p, m->len, 0, 0);
}

/* ---- which fds concern us ---- */

/* The fd is remote.  The library's own channel descriptors go to the
 * kernel like local ones: the engine polls them itself (local/ops.c),
 * also from code that runs with interception on (a fork child's hooks). */
static int fd_ours(int fd)
{
	return fd >= 0 && VOS_FDE_KIND(vos_fd_entry(fd)) == VOS_FDK_REMOTE;
}

/* Whether the list names an fd of ours: 1, 0, or -EFAULT (the kernel then
 * says EFAULT itself). */
static int list_needs_us(const struct pollfd *ufds, unsigned n)
{
	struct pollfd chunk[64];

	for (unsigned i = 0; i < n; i += 64) {
		unsigned k = n - i < 64 ? n - i : 64;

		if (vos_copy_from_user(chunk, ufds + i, k * sizeof(*chunk)) < 0)
			return -EFAULT;
		for (unsigned j = 0; j < k; j++)
			if (fd_ours(chunk[j].fd))
				return 1;
	}
	return 0;
}

/* The program's RLIMIT_NOFILE (its view: rlimit.c), the bound on nfds. */
static rlim_t nofile_limit(void)
{
	struct rlimit rl;

	if (vos_prlimit(0, RLIMIT_NOFILE, NULL, &rl) < 0)
		return RLIM_INFINITY;
	return rl.rlim_cur;
}

/* ---- the wait ---- */

enum { G_FLIGHT = 1, G_RETRY, G_DONE };

struct group {
	struct vos_client *c;
	struct vos_slot *s;
	uint32_t first, n;      /* its entries: ridx[first .. first + n) */
	int state;
	int timeout_ms;         /* what the op in flight was sent with */
	int watched;
	uint64_t retry_at, backoff;
	struct vos_epwait *ew;  /* an epoll instance's wait (epoll.c), else NULL */
};

struct pollwork {
	struct pollfd *pf;      /* the program's list (a copy), revents filled */
	unsigned n;
	struct pollfd *kfds;    /* local fds, then our eventfd and event fds */
	uint32_t *kidx;         /* kfds[j] is pf[kidx[j]] (j < nlocal) */
	uint32_t *ridx;         /* remote entries, by group */
	int32_t *tag;           /* per entry: its group, or -1 */
	unsigned nlocal;
	struct group g[MAX_GROUPS];
	int ng;
	int preset;             /* entries answered without asking (POLLNVAL, dead) */
};

static size_t work_bytes(unsigned n)
{
	return (size_t)n * sizeof(struct pollfd) * 2 + (MAX_GROUPS + 1) * sizeof(struct pollfd) +
	       (size_t)n * (sizeof(uint32_t) * 2 + sizeof(int32_t));
}

static void work_init(struct pollwork *w, void *mem, unsigned n)
{
	uint8_t *p = mem;

	memset(w, 0, sizeof(*w));
	w->n = n;
	w->pf = (struct pollfd *)p;
	p += (size_t)n * sizeof(struct pollfd);
	w->kfds = (struct pollfd *)p;
	p += ((size_t)n + MAX_GROUPS + 1) * sizeof(struct pollfd);
	w->kidx = (uint32_t *)p;
	p += (size_t)n * sizeof(uint32_t);
	w->ridx = (uint32_t *)p;
	p += (size_t)n * sizeof(uint32_t);
	w->tag = (int32_t *)p;
}

/* Sort the entries: local ones into kfds, remote ones into groups by
 * channel (at most one slot's worth each), the rest answered now.
 * 0 or -ENOMEM (too many groups). */
static int classify(struct pollwork *w)
{
	uint32_t count[MAX_GROUPS] = { 0 };

	for (unsigned i = 0; i < w->n; i++) {
		struct pollfd *p = &w->pf[i];
		uint32_t e;
		struct vos_client *c = NULL;
		int r, gi;

		p->revents = 0;
		w->tag[i] = -1;
		if (p->fd < 0)
			continue;
		e = vos_fd_entry(p->fd);
		if (VOS_FDE_KIND(e) != VOS_FDK_REMOTE) {
			w->kidx[w->nlocal] = i;
			w->kfds[w->nlocal++] = (struct pollfd){ p->fd, p->events, 0 };
			continue;
		}
		r = vos_fd_remote(p->fd, &c, NULL);
		if (r <= 0) {
			/* Dead channel: its calls fail at once (EIO; a
			 * socket's as on a reset connection), so it is ready
			 * for whatever was asked, as a reset socket is.  (0:
			 * closed meanwhile by another thread.) */
			p->revents = r == 0 ? POLLNVAL : POLLERR | POLLHUP | (p->events & DEAD_READY);
			w->preset++;
			continue;
		}
		size_t cap = vos_client_slot_size(c) / sizeof(struct pollfd);

		for (gi = 0; gi < w->ng; gi++)
			if (w->g[gi].c == c && count[gi] < cap)
				break;
		if (gi == w->ng) {
			if (w->ng == MAX_GROUPS)
				return -ENOMEM;
			w->g[w->ng++] = (struct group){ .c = c };
		}
		count[gi]++;
		w->tag[i] = gi;
	}
	/* Each group's entries contiguous in ridx. */
	uint32_t at = 0;

	for (int gi = 0; gi < w->ng; gi++) {
		w->g[gi].first = at;
		at += count[gi];
	}
	for (unsigned i = 0; i < w->n; i++)
		if (w->tag[i] >= 0) {
			struct group *g = &w->g[w->tag[i]];

			w->ridx[g->first + g->n++] = i;
		}
	return 0;
}

static int ms_of(uint64_t deadline, uint64_t now)
{
	uint64_t left;

	if (deadline == UINT64_MAX)
		return -1;
	if (now >= deadline)
		return 0;
	left = (deadline - now + 999999) / 1000000;     /* rounded up, as the kernel */
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

static int group_take(struct pollwork *w, struct group *g, int64_t res, uint64_t now);

/* Send group g's VOS_OP_POLL (its slot is ours).  The entries a dead
 * channel made ready (0: sent). */
static int group_submit(struct pollwork *w, struct group *g, int timeout_ms)
{
	struct pollfd *buf = vos_slot_buf(g->s);
	struct vos_req r = { .op = VOS_OP_POLL, .arg = { g->n, timeout_ms } };

	if (g->ew)
		r = (struct vos_req){ .op = VOS_OP_EPOLL_WAIT,
				      .arg = { g->ew->inst, g->ew->max, timeout_ms } };
	for (uint32_t k = 0; k < g->n; k++) {
		const struct pollfd *p = &w->pf[w->ridx[g->first + k]];

		buf[k] = (struct pollfd){ p->fd, p->events, 0 };
	}
	g->timeout_ms = timeout_ms;
	g->state = G_FLIGHT;
	if (vos_slot_submit(g->s, &r) < 0)
		return group_take(w, g, -EIO, 0);       /* dead */
	return 0;
}

/* The answer of g's op (res): revents into pf.  Returns the entries it
 * made ready.  The service is untrusted: a count it may not give is EIO,
 * and revents are cut to what poll(2) may report for the events asked. */
static int group_take(struct pollwork *w, struct group *g, int64_t res, uint64_t now)
{
	const struct pollfd *buf = res > 0 ? vos_slot_buf(g->s) : NULL;
	int ready = 0;

	if (res == -EAGAIN) {
		g->backoff = g->backoff ? g->backoff * 2 : RETRY_MIN_NS;
		if (g->backoff > RETRY_MAX_NS)
			g->backoff = RETRY_MAX_NS;
		g->retry_at = now + g->backoff;
		g->state = G_RETRY;
		return 0;
	}
	g->state = G_DONE;
	if (g->ew) {
		/* An epoll instance: its events (consumed there) to the caller. */
		int64_t max = g->ew->max ? g->ew->max : 1;

		if (res > 0 && !vos_op_result_ok(VOS_OP_EPOLL_WAIT, res, max))
			res = -EIO;
		if (res == -EINTR || res == 0)
			return 0;
		if (res > 0 && g->ew->max)
			memcpy(g->ew->out, vos_slot_buf(g->s), (size_t)res * sizeof(struct epoll_event));
		g->ew->got = (int)res;
		return 1;
	}
	if (res >= 0 && !vos_op_result_ok(VOS_OP_POLL, res, g->n))
		res = -EIO;
	if (res == -EINTR || res == 0)
		return 0;       /* cancelled, or nothing ready before its timeout */
	for (uint32_t k = 0; k < g->n; k++) {
		struct pollfd *p = &w->pf[w->ridx[g->first + k]];
		short rev;

		if (res > 0) {
			struct pollfd got;

			memcpy(&got, &buf[k], sizeof(got));     /* once */
			rev = got.revents & (p->events | POLLERR | POLLHUP | POLLNVAL);
		} else if (res == -ENOSYS) {
			/* A service without POLL: ready, as a regular file is. */
			rev = p->events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		} else {
			rev = res == -EIO ? POLLERR | POLLHUP | (p->events & DEAD_READY) : POLLERR;
		}
		if (rev && !p->revents)
			ready++;
		p->revents |= rev;
	}
	return ready;
}

/* Collect what completed.  Returns the entries made ready. */
static int groups_poll(struct pollwork *w, uint64_t now)
{
	int ready = 0;

	for (int i = 0; i < w->ng; i++) {
		struct group *g = &w->g[i];

		if (g->state == G_FLIGHT && g->s && vos_slot_poll(g->s))
			ready += group_take(w, g, vos_slot_wait(g->s), now);
	}
	return ready;
}

static long kppoll(struct pollfd *fds, unsigned n, int64_t wait_ns, const ksigset *mask)
{
	struct timespec ts, *tp = NULL;

	if (wait_ns >= 0) {
		ts.tv_sec = wait_ns / 1000000000;
		ts.tv_nsec = wait_ns % 1000000000;
		tp = &ts;
	}
	return raw6(SYS_ppoll, (long)fds, n, (long)tp, (long)mask, mask ? sizeof(*mask) : 0, 0);
}

/* Copy the local results of the last ppoll into pf; the number ready. */
static int take_local(struct pollwork *w)
{
	int ready = 0;

	for (unsigned j = 0; j < w->nlocal; j++) {
		struct pollfd *p = &w->pf[w->kidx[j]];

		if (w->kfds[j].revents && !p->revents)
			ready++;
		p->revents |= w->kfds[j].revents;
		w->kfds[j].revents = 0;
	}
	return ready;
}

/*
 * Wait for the groups and the local fds (see the top of the file).  Inside
 * a critical region with signals blocked; the wait itself has mask.
 * Returns 1 if a signal ended the wait, 0 otherwise, -errno on an error.
 */
static int wait_mixed(struct pollwork *w, uint64_t deadline, const ksigset *mask, int efd)
{
	uint64_t now = vos_now_ns();
	uint64_t until = deadline;
	int ready = w->preset, checked = 0, intr = 0;

	if (!w->nlocal && deadline != UINT64_MAX)
		until = deadline + REMOTE_SLACK_NS;     /* the service's timeout ends it */
	for (int i = 0; i < w->ng; i++) {
		struct group *g = &w->g[i];

		if (vos_slot_acquire(g->c, &g->s) < 0) {
			g->s = NULL;
			g->state = G_DONE;
			ready += group_take(w, g, -EIO, now);
			continue;
		}
		if (efd >= 0) {
			vos_slot_watch(g->s, efd);
			g->watched = 1;
		}
		ready += group_submit(w, g, ready ? 0 : ms_of(deadline, now));
	}
	for (;;) {
		struct vos_client *pollers[MAX_GROUPS];
		int npollers = 0, inflight = 0, retrying = 0, others = 0, nk;
		int64_t wait_ns;
		long r;

		now = vos_now_ns();
		ready += groups_poll(w, now);
		for (int i = 0; i < w->ng; i++) {
			struct group *g = &w->g[i];

			if (g->state == G_RETRY && !ready && now < deadline && now >= g->retry_at)
				ready += group_submit(w, g, ms_of(deadline, now));
			else if (g->state == G_RETRY && (ready || now >= deadline))
				g->state = G_DONE;
			inflight += g->state == G_FLIGHT;
			retrying += g->state == G_RETRY;
		}
		if (ready || intr)
			break;
		if (now >= until && (checked || !w->nlocal))
			break;
		if (!inflight && !retrying && (!w->nlocal || (checked && now >= deadline)))
			break;  /* every service answered "nothing before the timeout" */

		wait_ns = until == UINT64_MAX ? -1 : (int64_t)(until > now ? until - now : 0);
		nk = (int)w->nlocal;
		if (efd >= 0)
			w->kfds[nk++] = (struct pollfd){ efd, POLLIN, 0 };
		for (int i = 0; i < w->ng; i++) {
			struct group *g = &w->g[i];
			int dup = 0, pb;

			if (g->state == G_RETRY) {
				int64_t t = g->retry_at > now ? (int64_t)(g->retry_at - now) : 0;

				if (wait_ns < 0 || t < wait_ns)
					wait_ns = t;
			}
			if (g->state != G_FLIGHT)
				continue;
			/* One poll_begin per channel. */
			for (int k = 0; k < i; k++)
				dup |= w->g[k].c == g->c && w->g[k].state == G_FLIGHT;
			if (dup)
				continue;
			pb = vos_client_poll_begin(g->c);
			if (pb == 1) {
				int64_t t = (int64_t)vos_client_poll_interval_ms(g->c) * 1000000;

				pollers[npollers++] = g->c;
				w->kfds[nk++] = (struct pollfd){ vos_client_event_fd(g->c), POLLIN, 0 };
				if (wait_ns < 0 || t < wait_ns)
					wait_ns = t;
			} else if (pb == 0) {
				others = 1;
			}
		}
		if (others && efd < 0 && (wait_ns < 0 || wait_ns > (int64_t)NO_EVENTFD_NS))
			wait_ns = NO_EVENTFD_NS;
		/* poll_begin drained: an answer may be in already. */
		for (int i = 0; i < w->ng; i++)
			if (w->g[i].state == G_FLIGHT && vos_slot_poll(w->g[i].s))
				wait_ns = 0;
		r = kppoll(w->kfds, (unsigned)nk, wait_ns, mask);
		for (int k = 0; k < npollers; k++)
			vos_client_poll_end(pollers[k]);
		if (r == -EINTR) {
			intr = 1;
			continue;       /* collect what came, then leave */
		}
		if (r < 0)
			return (int)r;
		checked = 1;
		ready += take_local(w);
		if (efd >= 0 && w->kfds[w->nlocal].revents) {
			uint64_t v;

			RAW(SYS_read, efd, &v, sizeof(v), 0);
		}
	}
	/* Stop what still waits; an answer found meanwhile still counts. */
	for (int i = 0; i < w->ng; i++) {
		struct group *g = &w->g[i];

		if (g->watched)
			vos_slot_unwatch(g->s);
		g->watched = 0;
	}
	for (int i = 0; i < w->ng; i++) {
		struct group *g = &w->g[i];

		if (g->state != G_FLIGHT)
			continue;
		if (g->timeout_ms != 0)
			vos_slot_cancel(g->s);
		group_take(w, g, vos_slot_wait(g->s), now);
		g->state = G_DONE;
	}
	for (int i = 0; i < w->ng; i++) {
		vos_slot_release(w->g[i].s);
		w->g[i].s = NULL;
	}
	/* Local fds ready by now count too (as the kernel's one scan would). */
	if (w->nlocal && !intr) {
		if (kppoll(w->kfds, w->nlocal, 0, NULL) > 0)
			take_local(w);
	}
	return intr;
}

/* Our eventfd for vos_slot_watch, at a number the list does not name: a
 * closed fd in the list must stay POLLNVAL.  -1 if none can be made (the
 * wait then looks again every NO_EVENTFD_NS). */
static int wake_eventfd(const struct pollwork *w)
{
	int fd = (int)RAW(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0), max = -1;

	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < w->n; i++)
		if (w->pf[i].fd > max)
			max = w->pf[i].fd;
	if (fd <= max) {
		int high = (int)RAW(SYS_fcntl, fd, F_DUPFD_CLOEXEC, max + 1, 0);

		RAW(SYS_close, fd, 0, 0, 0);
		fd = high < 0 ? -1 : high;
	}
	return fd;
}

/* Signals the library's bookkeeping blocks: all but the faults (uaccess.c
 * fixes up a bad pointer through SIGSEGV) and SIGSYS (the dispatcher's). */
static ksigset bookkeeping_set(void)
{
	ksigset s = ~(ksigset)0;
	static const int keep[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };

	for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
		s &= ~(1ull << (keep[i] - 1));
	return s;
}

/*
 * Poll w->pf (the program's list, copied) with the timeout (ns; < 0: none)
 * and the signal mask to wait with (NULL: the thread's).  The count of
 * entries with revents, or -errno (-EINTR).  *left_ns: the time left.
 */
static long poll_list(struct pollwork *w, struct vos_epwait *ew, int nw, int64_t timeout_ns,
		      const ksigset *mask, int64_t *left_ns)
{
	uint64_t start = vos_now_ns();
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
	long r;
	int err = classify(w);

	if (err)
		return err;
	for (int i = 0; i < nw; i++) {
		if (w->ng == MAX_GROUPS)
			return -ENOMEM;
		ew[i].got = 0;
		w->g[w->ng++] = (struct group){ .c = ew[i].c, .ew = &ew[i] };
	}
	if (!w->ng) {
		/* Nothing remote: the kernel waits for the local ones. */
		r = kppoll(w->kfds, w->nlocal, w->preset ? 0 : timeout_ns, mask);
		if (r < 0 && !(r == -EINTR && w->preset))
			return r;
		take_local(w);
	} else {
		ksigset block = bookkeeping_set(), old;
		int efd;

		RAW(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, sizeof(old));
		vos_crit_enter();
		efd = wake_eventfd(w);
		r = wait_mixed(w, deadline, mask ? mask : &old, efd);
		if (efd >= 0)
			RAW(SYS_close, efd, 0, 0, 0);
		RAW(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
		vos_crit_leave();       /* the handlers of signals that came run here */
		if (r < 0)
			return r;
		if (r == 1) {
			int any = 0;

			for (unsigned i = 0; i < w->n; i++)
				any |= w->pf[i].revents != 0;
			for (int i = 0; i < nw; i++)
				any |= ew[i].got != 0;
			if (!any)
				return -EINTR;
		}
	}
	if (left_ns) {
		uint64_t now = vos_now_ns();

		*left_ns = deadline == UINT64_MAX ? -1 : now >= deadline ? 0 : (int64_t)(deadline - now);
	}
	r = 0;
	for (unsigned i = 0; i < w->n; i++)
		r += w->pf[i].revents != 0;
	return r;
}

/* poll of a private list and epoll instances (epoll.c): revents set in pf,
 * each instance's events in its out (got); the count of pf entries with
 * revents, or -errno. */
long vos_poll_epoll(struct pollfd *pf, unsigned n, struct vos_epwait *ew, int nw,
		    int64_t timeout_ns, const uint64_t *mask)
{
	_Alignas(64) uint8_t stack[STACK_BYTES];
	struct pollwork w;
	struct mem m;
	void *p = mem_get(&m, stack, work_bytes(n));
	long r;

	if (!p)
		return -ENOMEM;
	work_init(&w, p, n);
	memcpy(w.pf, pf, n * sizeof(*pf));
	r = poll_list(&w, ew, nw, timeout_ns, mask, NULL);
	for (unsigned i = 0; i < n; i++)
		pf[i].revents = w.pf[i].revents;
	mem_put(&m);
	return r;
}

/* ---- poll and ppoll ---- */

static long do_poll(struct pollfd *ufds, unsigned n, int64_t timeout_ns, const ksigset *mask,
		    int64_t *left_ns)
{
	_Alignas(64) uint8_t stack[STACK_BYTES];
	struct pollwork w;
	struct mem m;
	void *p;
	long r;

	if (n > nofile_limit())
		return -EINVAL;
	p = mem_get(&m, stack, work_bytes(n));
	if (!p)
		return -ENOMEM;
	work_init(&w, p, n);
	if (vos_copy_from_user(w.pf, ufds, n * sizeof(*ufds)) < 0) {
		mem_put(&m);
		return -EFAULT;
	}
	r = poll_list(&w, NULL, 0, timeout_ns, mask, left_ns);
	if (r >= 0) {
		/* The kernel writes revents only. */
		for (unsigned i = 0; i < n && r >= 0; i++)
			if (vos_copy_to_user(&ufds[i].revents, &w.pf[i].revents,
					     sizeof(short)) < 0)
				r = -EFAULT;
	}
	mem_put(&m);
	return r;
}

long vos_poll_call(long a[6])
{
	struct pollfd *ufds = (struct pollfd *)a[0];
	unsigned n = (unsigned)a[1];
	int timeout = (int)a[2];

	if (list_needs_us(ufds, n) != 1)
		return vos_dispatch_raw(SYS_poll, a);
	return do_poll(ufds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL, NULL);
}

/* A timespec from the program: 0, -EFAULT or -EINVAL (as the kernel). */
static int get_timespec(const void *u, int64_t *ns)
{
	struct timespec ts;

	if (vos_copy_from_user(&ts, u, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	if (ts.tv_sec >= INT64_MAX / 1000000000 - 1)
		*ns = -1;       /* longer than anyone waits */
	else
		*ns = ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

/* The time left back to the program's timespec (ppoll, pselect6), as the
 * kernel does: not for a zero timeout; a fault is ignored. */
static void put_left_ts(void *u, int64_t timeout_ns, int64_t left_ns)
{
	struct timespec ts;

	if (!u || timeout_ns <= 0 || left_ns < 0)
		return;
	ts.tv_sec = left_ns / 1000000000;
	ts.tv_nsec = left_ns % 1000000000;
	vos_copy_to_user(u, &ts, sizeof(ts));
}

int vos_get_sigmask(const void *u, size_t size, ksigset *buf, const ksigset **out)
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

long vos_ppoll_call(long a[6])
{
	struct pollfd *ufds = (struct pollfd *)a[0];
	unsigned n = (unsigned)a[1];
	int64_t timeout_ns = -1, left = -1;
	ksigset maskbuf;
	const ksigset *mask;
	long r;

	if (list_needs_us(ufds, n) != 1)
		return vos_dispatch_raw(SYS_ppoll, a);
	if (a[2] && (r = get_timespec((const void *)a[2], &timeout_ns)) < 0)
		return r;
	if ((r = vos_get_sigmask((const void *)a[3], (size_t)a[4], &maskbuf, &mask)) < 0)
		return r;
	r = do_poll(ufds, n, timeout_ns, mask, &left);
	if (a[2])
		put_left_ts((void *)a[2], timeout_ns, left);
	return r;
}

/* ---- select and pselect6 ---- */

#define NFDBITS_K       64      /* the kernel's fd_set word */

static size_t set_bytes(int nfds)
{
	return ((size_t)nfds + NFDBITS_K - 1) / NFDBITS_K * sizeof(uint64_t);
}

static int bit(const uint64_t *set, int fd)
{
	return set && (set[fd / NFDBITS_K] >> (fd % NFDBITS_K)) & 1;
}

/*
 * select over sets: in/out/ex the program's pointers (may be NULL).
 * *handled = 0: no fd of ours is named (the caller passes the call to the
 * kernel).  Otherwise the result as the kernel's.
 */
static long do_select(int nfds, uint64_t *uin, uint64_t *uout, uint64_t *uex,
		      int64_t timeout_ns, const ksigset *mask, int64_t *left_ns, int *handled)
{
	uint64_t *u[3] = { uin, uout, uex };
	_Alignas(64) uint8_t stack[STACK_BYTES];
	_Alignas(64) uint8_t stack2[STACK_BYTES];
	struct mem ms, mw;
	struct pollwork w;
	uint64_t *sets[3] = { NULL, NULL, NULL };
	size_t bytes;
	unsigned n = 0;
	int ours = 0;
	long r;
	uint8_t *p;

	*handled = 0;
	if (nfds < 0)
		return 0;       /* the kernel's EINVAL */
	rlim_t lim = nofile_limit();
	if (lim != RLIM_INFINITY && (rlim_t)nfds > lim)
		nfds = (int)lim;        /* the kernel clamps to its table */
	if (nfds > VOS_FD_LIMIT)
		nfds = VOS_FD_LIMIT;
	bytes = set_bytes(nfds);
	p = mem_get(&ms, stack, 6 * bytes);
	if (!p)
		return 0;
	for (int k = 0; k < 3; k++) {
		if (!u[k])
			continue;
		sets[k] = (uint64_t *)(void *)(p + k * bytes);
		if (vos_copy_from_user(sets[k], u[k], bytes) < 0) {
			mem_put(&ms);
			return 0;       /* the kernel's EFAULT */
		}
	}
	for (int fd = 0; fd < nfds; fd++) {
		if (!bit(sets[0], fd) && !bit(sets[1], fd) && !bit(sets[2], fd))
			continue;
		n++;
		ours |= fd_ours(fd);
	}
	if (!ours) {
		mem_put(&ms);
		return 0;
	}
	*handled = 1;
	void *wm = mem_get(&mw, stack2, work_bytes(n));
	if (!wm) {
		mem_put(&ms);
		return -ENOMEM;
	}
	work_init(&w, wm, n);
	n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((bit(sets[0], fd) ? POLLIN_SET : 0) |
				   (bit(sets[1], fd) ? POLLOUT_SET : 0) |
				   (bit(sets[2], fd) ? POLLEX_SET : 0));

		if (ev)
			w.pf[n++] = (struct pollfd){ fd, ev, 0 };
	}
	r = poll_list(&w, NULL, 0, timeout_ns, mask, left_ns);
	if (r >= 0) {
		uint64_t *res[3];

		for (int k = 0; k < 3; k++) {
			res[k] = (uint64_t *)(void *)(p + (3 + k) * bytes);
			memset(res[k], 0, bytes);
		}
		r = 0;
		for (unsigned i = 0; i < n && r >= 0; i++) {
			int fd = w.pf[i].fd;
			short rev = w.pf[i].revents;
			static const short want[3] = { POLLIN_SET, POLLOUT_SET, POLLEX_SET };

			if (rev & POLLNVAL) {
				r = -EBADF;
				break;
			}
			for (int k = 0; k < 3; k++)
				if (bit(sets[k], fd) && (rev & want[k])) {
					res[k][fd / NFDBITS_K] |= 1ull << (fd % NFDBITS_K);
					r++;
				}
		}
		for (int k = 0; k < 3 && r >= 0; k++)
			if (u[k] && vos_copy_to_user(u[k], res[k], bytes) < 0)
				r = -EFAULT;
	}
	mem_put(&mw);
	mem_put(&ms);
	return r;
}

long vos_select_call(long a[6])
{
	const struct timeval *utv = (const struct timeval *)a[4];
	struct timeval tv;
	int64_t timeout_ns = -1, left = -1;
	int handled;
	long r;

	if (utv) {
		if (vos_copy_from_user(&tv, utv, sizeof(tv)) < 0)
			return vos_dispatch_raw(SYS_select, a);
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return vos_dispatch_raw(SYS_select, a);
		timeout_ns = tv.tv_sec >= INT64_MAX / 1000000000 - 1 ? -1 :
			     tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	}
	r = do_select((int)a[0], (uint64_t *)a[1], (uint64_t *)a[2], (uint64_t *)a[3],
		      timeout_ns, NULL, &left, &handled);
	if (!handled)
		return vos_dispatch_raw(SYS_select, a);
	if (utv && left >= 0) {
		/* select(2) on Linux leaves the time not slept in *timeout. */
		tv.tv_sec = left / 1000000000;
		tv.tv_usec = (left % 1000000000) / 1000;
		vos_copy_to_user((void *)utv, &tv, sizeof(tv));
	}
	return r;
}

long vos_pselect6_call(long a[6])
{
	struct { const void *p; size_t size; } sig = { NULL, 0 };
	int64_t timeout_ns = -1, left = -1;
	ksigset maskbuf;
	const ksigset *mask = NULL;
	int handled;
	long r;

	if (a[4] && get_timespec((const void *)a[4], &timeout_ns) < 0)
		return vos_dispatch_raw(SYS_pselect6, a);       /* the kernel's error */
	if (a[5]) {
		if (vos_copy_from_user(&sig, (const void *)a[5], sizeof(sig)) < 0 ||
		    vos_get_sigmask(sig.p, sig.size, &maskbuf, &mask) < 0)
			return vos_dispatch_raw(SYS_pselect6, a);
	}
	r = do_select((int)a[0], (uint64_t *)a[1], (uint64_t *)a[2], (uint64_t *)a[3],
		      timeout_ns, mask, &left, &handled);
	if (!handled)
		return vos_dispatch_raw(SYS_pselect6, a);
	if (a[4])
		put_left_ts((void *)a[4], timeout_ns, left);
	return r;
}

