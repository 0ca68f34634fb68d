/*
 * client_xport.h - the transports a client channel can use, and what the
 * call engine needs from each beyond struct vos_xport_ops: how to build and
 * connect a channel, and how to carry it across exec in four descriptor
 * slots (client.h: vos_client_fds/adopt/peek_token).
 *
 *   name     slots (fds[0..3])                          rendezvous
 *   local    sock, memfd, to_service, to_client         <rundir>/<service>.sock
 *   xen      -1, gntalloc, evtchn, -1                   xenstore, domain named <service>
 *
 * Slot 1 always carries the channel memory.
 */
#ifndef VOS_CLIENT_XPORT_H
#define VOS_CLIENT_XPORT_H

#include <stddef.h>
#include "../channel/transport.h"
#include "../channel/rendezvous.h"

struct vos_client_config;

struct vos_client_xport {
	const char *name;
	/* Zeroed, mapped memory of `size` bytes for the service named in cfg.
	 * 0 or -errno (-EINVAL if cfg lacks what this transport needs). */
	int (*create)(const struct vos_client_config *cfg, size_t size, struct vos_xport **out);
	/* Hand the channel to the service, wait (bounded) for its answer. */
	int (*connect)(struct vos_xport *xp, const struct vos_client_config *cfg,
		       const struct vos_hello *hello, struct vos_hello_reply *reply);
	void (*get_fds)(const struct vos_xport *xp, int fds[4]);
	/* Rebuild from inherited slots; on failure the descriptors stay the caller's. */
	int (*adopt)(const int fds[4], struct vos_xport **out);
	/* Unmap and free without closing the descriptors or telling anyone. */
	void (*release)(struct vos_xport *xp);
	/* Copy the first len (<= VOS_PAGE_SIZE) bytes of the channel. 0 or -errno. */
	int (*peek_header)(const int fds[4], void *buf, size_t len);
	/* Optional: load now what later calls will need (see vos_client_prepare). */
	int (*prepare)(void);
};

/* The transport called `name`; NULL means $VOS_TRANSPORT, and if that is
 * unset or empty, "local".  NULL for any other name (the caller fails with
 * EINVAL: no silent fallback). */
const struct vos_client_xport *vos_client_xport_find(const char *name);

#endif
