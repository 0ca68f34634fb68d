/*
 * transport_xen.h - the Xen transport: the client is a process in the primary
 * domain (dom0), the service runs in a service domain (a DomU).
 *
 *   memory        the client allocates pages with gntalloc and grants them to
 *                 the service domain, which maps them with gntdev
 *   notification  one interdomain event channel; both directions kick on it
 *   rendezvous    xenstore, in the style of Xen's split drivers (frontend =
 *                 client in dom0, backend = service domain)
 *   liveness      gntalloc/gntdev unmap notifications: when either process
 *                 dies, its kernel clears that side's "live" byte in a shared
 *                 page and kicks the event channel, so wait() returns -EPIPE
 *                 within one event-channel hop.  A service domain that dies
 *                 as a whole runs no unmap notification, so a client asleep
 *                 in wait() also re-reads its backend state and asks xenstore
 *                 whether the domain still exists every
 *                 VOS_XEN_DEATH_POLL_MS.  No xenstore watches (see below).
 *
 * Grants.  One gntalloc file per channel; the client allocates, in order:
 *   file offset 0          front page, granted READ-ONLY: identity of the
 *                          channel (devid, backend domid, port, page count,
 *                          client pid) and the client's live byte.  The
 *                          service cannot change what the client re-reads
 *                          after exec.
 *   file offset 4096       back page, granted writable: the service's live byte.
 *   file offset 8192       the channel itself (vos_proto.h layout), nr-pages
 *                          pages, granted writable.
 * The file keeps its own reference to every grant (no DEALLOC after mmap), so
 * the grants survive exec as long as the descriptor does: that is what
 * vos_xen_adopt() relies on.  libxengnttab's xengntshr_share_pages() drops
 * that reference right after mmap, which is why this file talks to
 * /dev/xen/gntalloc, /dev/xen/gntdev and /dev/xen/evtchn with their ioctls
 * (public kernel headers from libxen-dev) and uses libxenstore only.
 *
 * Xenstore nodes (<devid> is unique per channel, decimal).
 *   frontend dir  /local/domain/0/device/vos/<devid>/
 *                 owner dom0, read: the service domain only
 *     backend        path of the backend dir
 *     backend-id     service domid
 *     front-ref      grant ref of the front page
 *     back-ref       grant ref of the back page
 *     nr-pages       channel pages, 1..VOS_XEN_MAX_PAGES
 *     ring-ref<i>    the channel's grant refs, comma-separated decimal, at most
 *                    VOS_XEN_REFS_PER_NODE per node (a xenstore value holds at
 *                    most 4 KiB); i = 0..ceil(nr-pages/REFS_PER_NODE)-1, in order
 *     event-channel  the client's unbound port (dom0 side)
 *     version        VOS_PROTO_VERSION
 *     kind           enum vos_hello_kind
 *     token          VOS_TOKEN_LEN bytes, lower-case hex
 *     umask, pid, uid, gid   decimal (effective ids of the client process,
 *                    as the kernel reports them when the broker writes them)
 *     gids           supplementary groups, comma-separated decimal, may be empty
 *     state          XenbusState: 3 Initialised (written with everything else
 *                    in one transaction), 6 Closed
 *   backend dir   /local/domain/<svc>/backend/vos/0/<devid>/
 *                 created by the client; owner: the service domain, read: dom0
 *     frontend       path of the frontend dir
 *     frontend-id    0
 *     state          1 Initialising (by the client), 2 InitWait (accepted),
 *                    4 Connected (attached), 6 Closed
 *     status         0 or -errno (the service's answer)
 *     token          the channel's token, hex (with status 0)
 * A DomU sees only its own backend dirs and the frontend dirs made for it.
 * Values written by the other domain are parsed strictly: junk is -EPROTO.
 *
 * Processes.  Every transport remembers the pid that built it.  close() in
 * any other process (a fork child) only drops that process's references: it
 * never touches xenstore, grants or the peer.  A fork child must call close()
 * on every transport it inherited (else its copy of the descriptors keeps the
 * grants alive after the owner dies, and the peer never learns of the death).
 *
 * Who writes the client's nodes.  In dom0 only root may use xenstore, but a
 * program under libvirtuos may have dropped its ids (setresuid, then fork or
 * exec) and still needs new channels.  The client's xenstore jobs (look up
 * the service domain, publish, read the answer, the death check, the pid
 * check of adopt, remove; xen_jobs.h) are therefore done either directly
 * (root) or by dom0's broker vos-xsbroker (not root, or VOS_XEN_BROKER=1;
 * xen_broker.h), which runs the very same job code.  The broker takes pid,
 * uid, gid and groups from the kernel (SO_PEERCRED, /proc/<pid>/status),
 * not from the client, and lets a process touch only its own channels
 * (devid / 1000 == its pid, and the frontend's pid node says so), so the
 * service domain can go on trusting the identity in a frontend.  The pages
 * and the event channel stay the client's own (gntalloc and evtchn are open
 * to every dom0 user, see dom0's rcS).  Root does not go through the broker:
 * it keeps working without one (a real Xen host, tests/xen) and saves a hop
 * per job.
 *
 * libxenstore, client side: a connection is opened for each xenstore job
 * (connect, the pid check of adopt, the sleeping client's death check,
 * close) and closed after it, and no watch is ever set.  Two reasons:
 *   - a watch makes libxenstore start a reader thread that calls read(),
 *     which in a program under libvirtuos is our wrapper; while the library
 *     initialises (exec adopt) that thread would wait for the very thread
 *     that waits for its reply;
 *   - a connection kept open holds a low descriptor number the program did
 *     not open: it shifts the numbers the program gets, and a program that
 *     closes or dup2()s over "its" descriptors would cut or hijack it.
 * libxenstore calls the libc wrappers (open, socket, read, write, close);
 * everything else here uses raw system calls.  libvirtuos.so does not link
 * libxenstore: the transport loads it with dlopen the first time it opens a
 * xenstore connection (xen/xs.h), so a program in local mode, or a non-root
 * one that goes through the broker, never loads it; if it cannot be loaded,
 * the job fails with -ELIBACC and a line on stderr.  The service side
 * (vos-serviced, not interposed) keeps its connection and watches its
 * backend dir to learn of new frontends.
 *
 * Files (libvirtuos/channel/xen/xport.h lists them): the client side
 * (front.c, jobs.c, jobs_via.c, broker_client.c), the data path both sides
 * share (ops.c, xs.c), and, never linked into libvirtuos.so, the service
 * side (back.c) and dom0's housekeeping (reap.c).
 */
#ifndef VOS_TRANSPORT_XEN_H
#define VOS_TRANSPORT_XEN_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include "transport.h"
#include "rendezvous.h"

#define VOS_XEN_PRIMARY_DOMID   0u     /* clients live in dom0 */
#define VOS_XEN_MAX_PAGES       2048u  /* channel pages (8 MiB) per transport */
#define VOS_XEN_REFS_PER_NODE   256u   /* grant refs per ring-ref<i> node */
#define VOS_XEN_MAX_GIDS        256u
/* Per connect phase.  The guest set under QEMU/TCG on a loaded 2-core host
 * took over 5 s to accept now and then (a first call failed with EIO); a
 * service that is alive answers well within this, a hung one is found out
 * this much later. */
#define VOS_XEN_CONNECT_TIMEOUT_MS 15000
#define VOS_XEN_DEATH_POLL_MS   500    /* a sleeping client's domain-death check */

/* XenbusState values used in the state nodes. */
enum vos_xen_state {
	VOS_XEN_INITIALISING = 1,
	VOS_XEN_INITWAIT     = 2,
	VOS_XEN_INITIALISED  = 3,
	VOS_XEN_CONNECTED    = 4,
	VOS_XEN_CLOSING      = 5,
	VOS_XEN_CLOSED       = 6,
};

/* Client side (dom0) ------------------------------------------------------ */

/* Find the service domain by name (xenstore /local/domain/<id>/name), grant it
 * `size` bytes (rounded up to pages) of zeroed memory and bind an unbound event
 * channel for it.  *out->mem is ready for vos_channel_format().  0 or -errno
 * (-ENOENT: no domain of that name; -E2BIG: size over VOS_XEN_MAX_PAGES;
 * -ENOSPC: gntalloc's grant limit reached). */
int vos_xen_create(const char *service, size_t size, struct vos_xport **out);
/* Publish the frontend, create the backend dir and wait for the service's
 * answer: VOS_XEN_CONNECT_TIMEOUT_MS for it to accept (backend InitWait), then
 * as long again to attach and reply.  hello: magic/version are not sent
 * (implicit), kind/umask/token are.  0 (reply filled) or -errno: the service's
 * status, -ETIMEDOUT, -ECONNREFUSED (backend closed without a status),
 * -EPROTO (malformed answer).  On error the caller closes the transport,
 * which removes the nodes. */
int vos_xen_connect(struct vos_xport *x, const struct vos_hello *hello,
		    struct vos_hello_reply *reply);

/* The descriptors that carry a client channel across exec.  The exec path
 * clears close-on-exec on exactly these (they are close-on-exec otherwise);
 * everything else is found again through the front page and xenstore. */
struct vos_xen_fds { int gntalloc, evtchn; };
void vos_xen_get_fds(const struct vos_xport *x, struct vos_xen_fds *fds);
/* After exec: re-map the channel from inherited descriptors, reconnect to
 * xenstore, restore close-on-exec.  On success the transport owns the fds; on
 * failure they stay the caller's.  -ESRCH if the channel belongs to another
 * process (a spawned child inherited its parent's descriptors), -EPIPE if its
 * xenstore nodes are gone. */
int vos_xen_adopt(const struct vos_xen_fds *fds, struct vos_xport **out);
/* Copy the first len (<= 4096) bytes of the channel (its header page) carried
 * by fds without adopting anything (what a spawned child needs to read its
 * parent's token).  0 or -errno. */
int vos_xen_peek_header(const struct vos_xen_fds *fds, void *buf, size_t len);
/* Unmap and free an adopted transport WITHOUT closing its descriptors or
 * touching xenstore (undo an adopt). */
void vos_xen_release(struct vos_xport *x);
/* Load now what the client's xenstore jobs need (libxenstore, unless the
 * jobs go through vos-xsbroker), so that no channel's first connect, which
 * runs with engine locks held, enters the dynamic loader.  0 or -errno. */
int vos_xen_client_prepare(void);
/* Service side and dom0 tools (xen/back.c, xen/reap.c; not in libvirtuos.so) */

/* Nonzero if this domain has the Xen devices and a xenstore to talk to. */
int vos_xen_present(void);
/* dom0 housekeeping (vos-reap): remove the xenstore nodes of channels whose
 * client process no longer exists (killed clients cannot clean up).  Returns
 * the number of channels removed or -errno. */
int vos_xen_reap_stale(void);

struct vos_xen_listener;

/* Everything one accepted frontend brings: plain values, no handles, so it can
 * be used in a forked child or sent over a pipe.  uid/gid/gids/pid are what
 * dom0 claims (dom0 is trusted); everything is range-checked. */
struct vos_xen_conn {
	uint32_t self_domid;         /* this (service) domain */
	uint32_t front_domid;        /* always VOS_XEN_PRIMARY_DOMID */
	uint64_t devid;
	uint32_t front_ref, back_ref;
	uint32_t port;               /* the client's event-channel port */
	uint32_t nr_pages;
	uint32_t refs[VOS_XEN_MAX_PAGES];
	struct ucred cred;           /* pid, uid, gid of the client process */
	uint32_t ngids;
	uint32_t gids[VOS_XEN_MAX_GIDS];
	struct vos_hello hello;      /* magic/version filled in, kind/umask/token */
};

/* Check that this domain is named `service` and watch its backend/vos dir.
 * 0 or -errno (-ENOENT: this domain's name is not `service`). */
int vos_xen_listen(const char *service, struct vos_xen_listener **out);
/* Poll this fd for POLLIN, then call vos_xen_accept() until it returns -EAGAIN. */
int vos_xen_listener_fd(const struct vos_xen_listener *l);
/* Take the next new frontend: 0 (conn filled; the backend is marked InitWait
 * so it is returned only once) or -EAGAIN when none is pending.  A malformed
 * frontend is answered with -EPROTO (or the like) here and skipped
 * (VOS_XEN_DEBUG=1 says why).  Any other -errno: xenstore failed; the
 * listener is unusable. */
int vos_xen_accept(struct vos_xen_listener *l, struct vos_xen_conn *conn);
/* Stop watching and free.  In a fork child: only drop the child's copies. */
void vos_xen_listener_close(struct vos_xen_listener *l);
/* Answer the client (status and token in the backend dir; a nonzero status
 * also closes the backend).  Needs no listener.  0 or -errno (-EPIPE: the
 * client has gone). */
int vos_xen_reply(const struct vos_xen_conn *conn, const struct vos_hello_reply *reply);
/* Map the client's pages (at most max_size bytes), bind the event channel,
 * set the backend Connected.  Opens its own handles, so it may run in a
 * different process than accept.  The conn stays valid. 0 or -errno. */
int vos_xen_attach(const struct vos_xen_conn *conn, size_t max_size, struct vos_xport **out);

#endif
