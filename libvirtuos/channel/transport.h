/*
 * transport.h - how a channel's memory is shared and how one side kicks the
 * other.  Two implementations: local (memfd + eventfd + Unix socket
 * rendezvous; transport_local.h, local/) and Xen (gntalloc/gntdev + event
 * channels + xenstore; transport_xen.h, xen/).  Everything above this
 * interface (rings, marshalling, fd table, service workers, recovery) is
 * shared.  How a client starts a channel (struct vos_hello) is in
 * rendezvous.h, the same for both.
 *
 * Each transport is split by side: its client half (front) is linked into
 * libvirtuos.so, its service half (back) only into the service and tools
 * (Makefile, CHANNEL_SERVICE_SRC); the data path (these ops) is shared.
 */
#ifndef VOS_TRANSPORT_H
#define VOS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "vos_proto.h"

struct vos_xport;

struct vos_xport_ops {
	const char *name;
	/* Kick the peer (the caller has already checked its sleeping flag). 0 or -errno. */
	int (*notify)(struct vos_xport *x);
	/*
	 * Block until the peer kicks us, timeout_ms passes (-1 = no timeout) or
	 * the peer is gone.  Returns 1 kicked, 0 timeout, -EPIPE peer gone,
	 * -EINTR interrupted by a signal, other -errno on error.  Consumes the kick.
	 * timeout_ms 0 never blocks: it takes a pending kick and reports a peer
	 * known to be gone.
	 */
	int (*wait)(struct vos_xport *x, int timeout_ms);
	/* Nonzero while the peer is believed alive (no blocking). */
	int (*peer_alive)(struct vos_xport *x);
	/* Unmap, close everything.  Safe on a half-built transport. */
	void (*close)(struct vos_xport *x);
	/*
	 * Optional (NULL if unsupported): wake one other thread of OUR side
	 * that is blocked in wait() (a fellow service worker).  With it the
	 * service counts its spinning workers and passes wake-ups on, so the
	 * client kicks only when no worker spins (see vos_proto.h, Wake-up).
	 */
	int (*wake_local)(struct vos_xport *x);
	/*
	 * Optional (NULL if there is nothing to wait for): the client is about
	 * to exit.  Tell the peer the channel is over and wait, at most
	 * timeout_ms, until the peer has let go of the shared memory; leave our
	 * mapping and descriptors alone (other threads may still touch them
	 * until the process is gone).  Xen: dom0 can free a granted page at
	 * once only if the service domain no longer maps it; otherwise Linux
	 * defers the grant and retries ten grants a second, so a stream of
	 * short programs that skip this fills dom0's grant table in minutes.
	 */
	void (*goodbye)(struct vos_xport *x, int timeout_ms);
};

struct vos_xport {
	const struct vos_xport_ops *ops;
	void *mem;              /* the mapped channel */
	size_t size;
};

#endif
