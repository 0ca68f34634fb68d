/*
 * ops.c - the local transport's object and data path, both sides (see
 * transport_local.h): kick the peer's eventfd, wait on ours and on the
 * socket's hang-up, close.
 *
 * All descriptors are close-on-exec; the exec path of the client clears the
 * flag on exactly the ones it wants to keep.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include "local.h"
#include "../vos_sys.h"

static struct local_xport *to_local(struct vos_xport *x)
{
	return (struct local_xport *)x;
}

static int local_notify(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	uint64_t one = 1;

	for (;;) {
		long n = vos_sys_write(l->notify_fd, &one, sizeof(one));

		if (n == (long)sizeof(one))
			return 0;
		if (n == -EINTR)
			continue;
		/* EAGAIN: the counter is saturated, so the peer has a kick pending. */
		if (n == -EAGAIN)
			return 0;
		return n < 0 ? (int)n : -EIO;
	}
}

/* Wake a fellow waiter: kick our own eventfd. */
static int local_wake_local(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	uint64_t one = 1;
	long n;

	do
		n = vos_sys_write(l->kick_fd, &one, sizeof(one));
	while (n == -EINTR);
	return n == (long)sizeof(one) || n == -EAGAIN ? 0 : (n < 0 ? (int)n : -EIO);
}

static int sock_hung_up(short revents)
{
	return (revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0;
}

static int local_wait(struct vos_xport *x, int timeout_ms)
{
	struct local_xport *l = to_local(x);
	struct pollfd p[2] = {
		{ .fd = l->kick_fd, .events = POLLIN },
		/* Only hang-up matters on the socket; never POLLIN, so stray
		 * data from the peer cannot turn this into a busy loop. */
		{ .fd = l->sock, .events = POLLRDHUP },
	};
	long n = vos_sys_poll(p, 2, timeout_ms);

	if (n < 0)
		return (int)n;          /* -EINTR included */
	if (n == 0)
		return 0;
	if (p[0].revents & POLLIN) {
		uint64_t v;

		/* Nonblocking: another waiter on the same eventfd may have
		 * consumed the kick already; that is still a wake-up. */
		(void)vos_sys_read(l->kick_fd, &v, sizeof(v));
		return 1;
	}
	if (sock_hung_up(p[1].revents))
		return -EPIPE;
	if (p[0].revents & (POLLERR | POLLNVAL))
		return -EBADF;
	return 0;
}

static int local_peer_alive(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);
	struct pollfd p = { .fd = l->sock, .events = POLLRDHUP };

	if (l->sock < 0)
		return 1;               /* not connected yet: nothing says it died */
	if (vos_sys_poll(&p, 1, 0) < 0)
		return 1;
	return !sock_hung_up(p.revents);
}

void local_close(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);

	if (!l)
		return;
	if (l->x.mem)
		vos_sys_munmap(l->x.mem, l->x.size);
	vos_sys_close(l->sock);
	vos_sys_close(l->memfd);
	vos_sys_close(l->to_service);
	vos_sys_close(l->to_client);
	free(l);
}

static const struct vos_xport_ops local_ops = {
	.name = "local",
	.notify = local_notify,
	.wait = local_wait,
	.peer_alive = local_peer_alive,
	.close = local_close,
	.wake_local = local_wake_local,
};

struct local_xport *local_new(void)
{
	struct local_xport *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->x.ops = &local_ops;
	l->sock = l->memfd = l->to_service = l->to_client = -1;
	l->kick_fd = l->notify_fd = -1;
	return l;
}

void local_set_client_side(struct local_xport *l)
{
	l->kick_fd = l->to_client;
	l->notify_fd = l->to_service;
}

void local_set_service_side(struct local_xport *l)
{
	l->kick_fd = l->to_service;
	l->notify_fd = l->to_client;
}

int local_map(struct local_xport *l, size_t size)
{
	long m = vos_sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, l->memfd, 0);

	if (m < 0)
		return (int)m;
	l->x.mem = (void *)m;
	l->x.size = size;
	return 0;
}

void vos_local_release(struct vos_xport *x)
{
	struct local_xport *l = to_local(x);

	if (!l)
		return;
	if (l->x.mem)
		vos_sys_munmap(l->x.mem, l->x.size);
	free(l);
}
