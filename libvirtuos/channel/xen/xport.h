/*
 * xport.h - inside the Xen transport (transport_xen.h is its interface):
 * the shared pages, the transport object, and what its files share.
 *
 *   xs.c           libxenstore (loaded on first use) and xenstore helpers
 *   ops.c          the transport object and its data path, both sides
 *   front.c        client side: grants, create, connect, adopt, peek, close
 *   jobs.c         the client's xenstore jobs, shared with vos-xsbroker
 *                  (xen_jobs.h)
 *   jobs_via.c     one job, done directly or through vos-xsbroker
 *   broker_client.c  one request to vos-xsbroker
 *   --- not linked into libvirtuos.so ---
 *   back.c         service side: listener, accept, reply, attach (gntdev)
 *   reap.c         dom0 housekeeping: remove dead clients' nodes (vos-reap)
 *   broker_check.c the broker's checks of a request
 *
 * Who trusts what: the client (dom0) trusts nothing the service domain wrote
 * (backend nodes, the back page); the service trusts dom0's frontend nodes and
 * front page as to who the client is, but still parses and bounds them, since
 * a bug must not turn into an out-of-range mapping.
 */
#ifndef VOS_XEN_XPORT_H
#define VOS_XEN_XPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "xs.h"
#include "../transport_xen.h"
#include "../vos_sys.h"

#define PAGE            VOS_PAGE_SIZE
#define FRONT_OFF       0u              /* gntalloc file offsets, see transport_xen.h */
#define BACK_OFF        PAGE
#define CHANNEL_OFF     (2u * PAGE)
#define FRONT_MAGIC     0x544e4f5246534f56ULL   /* "VOSFRONT" */

#define DEV_EVTCHN      "/dev/xen/evtchn"
#define DEV_GNTALLOC    "/dev/xen/gntalloc"
#define DEV_GNTDEV      "/dev/xen/gntdev"

/* Page 0 of the grants: written by the client only (granted read-only). */
struct front_page {
	uint64_t magic;
	uint32_t version;
	uint32_t backend_domid;
	uint64_t devid;
	uint32_t port;          /* the client's (dom0-side) event-channel port */
	uint32_t nr_pages;      /* channel pages, at CHANNEL_OFF in the file */
	uint32_t client_pid;
	uint32_t pad;
	/* 1 while the client holds the channel; gntalloc clears it when the
	 * grant goes away (the client died or closed). */
	_Alignas(64) uint8_t client_live;
};

/* Page 1: the service's live byte; gntdev clears it when the service's
 * mapping goes away (the shadow died or closed). */
struct back_page {
	uint8_t service_live;
};

#define CLIENT_LIVE_OFF  offsetof(struct front_page, client_live)
#define SERVICE_LIVE_OFF offsetof(struct back_page, service_live)

enum xen_side { XEN_CLIENT, XEN_SERVICE };

struct xen_xport {
	struct vos_xport x;             /* first: the public part */
	enum xen_side side;
	pid_t owner;                    /* the process that built it */
	int gnt_fd;                     /* gntalloc (client) or gntdev (service) */
	int evtchn_fd;
	uint32_t port;                  /* our local event-channel port */
	bool port_bound;
	struct front_page *front;
	struct back_page *back;
	uint64_t gntdev_idx[3];         /* service: gntdev offsets of front, back, channel */
	uint32_t peer_domid;
	uint64_t devid;
	bool published;                 /* client: xenstore nodes exist */
	bool connected;                 /* client: the service has attached */
	char fpath[VOS_XS_PATH_LEN], bpath[VOS_XS_PATH_LEN];
	struct xs_handle *xs;           /* service: for good; client: NULL between calls */
	uint32_t *refs;                 /* client: channel grant refs */
	uint32_t front_ref, back_ref;
	_Atomic int dead;               /* peer known gone */
	pthread_mutex_t kick_lock;      /* one reader of the evtchn fd at a time */
	/* Client: does the service domain still hold the channel?  Asked by a
	 * sleeping wait() every VOS_XEN_DEATH_POLL_MS (front.c).  NULL: never. */
	int (*backend_alive)(const struct xen_xport *t);
};

static inline struct xen_xport *to_xen(struct vos_xport *x)
{
	return (struct xen_xport *)x;
}

static inline uint8_t load_u8(const uint8_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_u8(uint8_t *p, uint8_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static inline long sys_ioctl(int fd, unsigned long req, void *arg)
{
	return vos_sys_ret(syscall(SYS_ioctl, fd, req, arg));
}

static inline int open_dev(const char *path)
{
	return (int)vos_sys_openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NONBLOCK, 0);
}

/* ops.c: the object and the data path (the vos_xport_ops both sides share;
 * each side has its own close, see front.c and back.c). */
struct xen_xport *xen_new(enum xen_side side, const struct vos_xport_ops *ops);
void xen_free(struct xen_xport *t);
int xen_notify(struct vos_xport *x);
int xen_wait(struct vos_xport *x, int timeout_ms);
int xen_peer_alive(struct vos_xport *x);
int xen_evtchn_notify(int fd, uint32_t port);
void xen_evtchn_unbind(int fd, uint32_t port);
/* Unmap the client's mappings of its own grants (gntalloc). */
void xen_unmap_own(struct xen_xport *t);
/* In a process other than the owner (a fork child): release only this
 * process's references, free t. */
void xen_drop_in_child(struct xen_xport *t);
/* The end of either side's close, once its own pages are unmapped: close
 * the grant device, unbind and close the event channel, drop xenstore, free t. */
void xen_close_tail(struct xen_xport *t);

#endif
