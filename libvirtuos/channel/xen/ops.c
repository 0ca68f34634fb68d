/*
 * ops.c - the Xen transport's object and data path, both sides (see
 * transport_xen.h): kick the event channel, wait for a kick or the peer's
 * death (its live byte, cleared by the kernel when its mapping goes away),
 * release a fork child's copies.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include "xport.h"
#include "../../common/vos_time.h"

int xen_evtchn_notify(int fd, uint32_t port)
{
	struct ioctl_evtchn_notify op = { .port = port };
	long r = sys_ioctl(fd, IOCTL_EVTCHN_NOTIFY, &op);

	return r < 0 ? (int)r : 0;
}

void xen_evtchn_unbind(int fd, uint32_t port)
{
	struct ioctl_evtchn_unbind op = { .port = port };

	(void)sys_ioctl(fd, IOCTL_EVTCHN_UNBIND, &op);
}

/*
 * Consume pending kicks: read the ports the driver queued and unmask them
 * (the driver masks a port when it queues it).  The fd is nonblocking and
 * reads are serialised, so two waiters woken by one kick cannot block here:
 * the loser gets -EAGAIN.  Returns the number of kicks or -errno.
 */
static int consume_kicks(struct xen_xport *t)
{
	uint32_t ports[16];
	long n;

	pthread_mutex_lock(&t->kick_lock);
	n = vos_sys_read(t->evtchn_fd, ports, sizeof(ports));
	if (n > 0) {
		long cnt = n / (long)sizeof(ports[0]);

		for (long i = 0; i < cnt; i++)
			(void)vos_sys_write(t->evtchn_fd, &ports[i], sizeof(ports[i]));
		n = cnt;
	} else if (n == 0) {
		n = -EAGAIN;
	}
	pthread_mutex_unlock(&t->kick_lock);
	return (int)n;
}

static int peer_live_byte(struct xen_xport *t)
{
	/* Before the service attaches, its byte is 0 without meaning death. */
	if (t->side == XEN_CLIENT)
		return t->back && t->connected ? load_u8(&t->back->service_live) : 1;
	return t->front ? load_u8(&t->front->client_live) : 1;
}

static int mark_dead(struct xen_xport *t)
{
	atomic_store(&t->dead, 1);
	return -EPIPE;
}

/* Only the client that published the nodes asks xenstore (transport_xen.h). */
static bool asks_xenstore(const struct xen_xport *t)
{
	return t->backend_alive && t->published && t->owner == getpid();
}

int xen_notify(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (!t->port_bound)
		return -ENOTCONN;
	return xen_evtchn_notify(t->evtchn_fd, t->port);
}

int xen_wait(struct vos_xport *x, int timeout_ms)
{
	struct xen_xport *t = to_xen(x);
	uint64_t deadline = timeout_ms >= 0 ? vos_now_ms() + (uint64_t)timeout_ms : 0;
	bool check_domain = asks_xenstore(t);

	for (;;) {
		struct pollfd p = { .fd = t->evtchn_fd, .events = POLLIN };
		int left = timeout_ms;
		long n;

		if (atomic_load(&t->dead) || !peer_live_byte(t))
			return mark_dead(t);
		if (timeout_ms >= 0) {
			uint64_t now = vos_now_ms();

			/* Poll at least once, so wait(x, 0) takes a pending kick. */
			left = now >= deadline ? 0 : (int)(deadline - now);
		}
		if (check_domain && (left < 0 || left > VOS_XEN_DEATH_POLL_MS))
			left = VOS_XEN_DEATH_POLL_MS;
		n = vos_sys_poll(&p, 1, left);
		if (n < 0)
			return (int)n;          /* -EINTR included */
		if (n == 0) {
			if (check_domain && !t->backend_alive(t))
				return mark_dead(t);
			if (timeout_ms >= 0 && vos_now_ms() >= deadline)
				return 0;
			continue;
		}
		if (p.revents & POLLIN) {
			int k = consume_kicks(t);

			if (k > 0)
				return peer_live_byte(t) ? 1 : mark_dead(t);
			if (k != -EAGAIN)
				return k;
		}
		if (p.revents & (POLLERR | POLLNVAL))
			return -EBADF;
	}
}

int xen_peer_alive(struct vos_xport *x)
{
	struct xen_xport *t = to_xen(x);

	if (atomic_load(&t->dead) || !peer_live_byte(t))
		return 0;
	if (asks_xenstore(t) && !t->backend_alive(t)) {
		atomic_store(&t->dead, 1);
		return 0;
	}
	return 1;
}

struct xen_xport *xen_new(enum xen_side side, const struct vos_xport_ops *ops)
{
	struct xen_xport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->x.ops = ops;
	t->side = side;
	t->owner = getpid();
	t->gnt_fd = t->evtchn_fd = -1;
	pthread_mutex_init(&t->kick_lock, NULL);
	return t;
}

void xen_free(struct xen_xport *t)
{
	pthread_mutex_destroy(&t->kick_lock);
	free(t->refs);
	free(t);
}

void xen_unmap_own(struct xen_xport *t)
{
	if (t->x.mem)
		vos_sys_munmap(t->x.mem, t->x.size);
	if (t->back)
		vos_sys_munmap(t->back, PAGE);
	if (t->front)
		vos_sys_munmap(t->front, PAGE);
	t->x.mem = NULL;
	t->back = NULL;
	t->front = NULL;
}

void xen_close_tail(struct xen_xport *t)
{
	vos_sys_close(t->gnt_fd);
	if (t->port_bound)
		xen_evtchn_unbind(t->evtchn_fd, t->port);
	vos_sys_close(t->evtchn_fd);
	vos_xs_drop(t->xs, t->owner);
	xen_free(t);
}

/* Client mappings were inherited (gntalloc), service mappings were not
 * (MADV_DONTFORK), so only the former are unmapped. */
void xen_drop_in_child(struct xen_xport *t)
{
	if (t->side == XEN_CLIENT)
		xen_unmap_own(t);
	vos_sys_close(t->gnt_fd);
	vos_sys_close(t->evtchn_fd);
	vos_xs_drop(t->xs, t->owner);
	free(t->refs);
	free(t);        /* the mutex may be held by a thread that no longer exists */
}
