/*
 * xen_broker.h - the xenstore broker of the primary domain (vos-xsbroker).
 *
 * Why.  With the Xen transport a dom0 client publishes its channel in
 * xenstore (transport_xen.h), and only root may talk to xenstore in dom0.
 * A process that dropped its ids (setresuid(nobody), then fork or exec) could
 * therefore not open a channel at all.  vos-xsbroker, a root daemon in dom0,
 * does the client's xenstore jobs on its behalf.  The client still grants its
 * own pages (gntalloc) and binds its own event channel (evtchn): those
 * devices are open to every dom0 user, see dom0's rcS.
 *
 * What the broker guarantees (the service domain relies on it):
 *   - identity: pid, uid, gid come from SO_PEERCRED of the client's
 *     connection, the supplementary groups from /proc/<pid>/status (whose
 *     effective uid/gid must match SO_PEERCRED); never from the message;
 *   - ownership: a client names channels by devid, and a devid belongs to
 *     the pid devid / VOS_XSB_DEVIDS_PER_PID.  The broker publishes only
 *     devids of the caller's pid, and touches an existing channel only if its
 *     frontend's pid node is the caller's and its backend-id is the domid
 *     the caller names;
 *   - strict messages: one request per connection, fixed layout, exact
 *     length, unused fields zero, every value range-checked (junk -> EPROTO).
 *
 * Wire protocol (Unix SOCK_SEQPACKET, one request and one reply per
 * connection, host byte order: both ends are in the same domain).
 * The client keeps no descriptor between jobs (transport_xen.h says why).
 */
#ifndef VOS_XEN_BROKER_H
#define VOS_XEN_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vos_proto.h"

#define VOS_XSB_SOCKET          "/run/vos/xsbroker.sock"
#define VOS_XSB_MAGIC           0x42535856u     /* "VXSB" */
#define VOS_XSB_NAME_MAX        64u             /* a domain name, bytes */
#define VOS_XSB_NAME_FIELD      80u             /* name + NUL, NUL-padded */
#define VOS_XSB_DEVIDS_PER_PID  1000u           /* devid = pid * 1000 + n */
#define VOS_XSB_MAX_PAGES       2048u           /* = VOS_XEN_MAX_PAGES */
#define VOS_XSB_MAX_GIDS        256u            /* = VOS_XEN_MAX_GIDS */
#define VOS_XSB_TIMEOUT_MS      5000            /* a client's wait for one reply */

enum vos_xsb_op {
	VOS_XSB_LOOKUP = 1,     /* name -> domid of that service domain */
	VOS_XSB_PUBLISH,        /* write frontend + backend nodes (0, -EEXIST, -errno) */
	VOS_XSB_ANSWER,         /* the backend's answer: 1 done (token), 0 wait, -errno */
	VOS_XSB_ALIVE,          /* 1 backend Connected and domain introduced, 0 not */
	VOS_XSB_REMOVE,         /* remove the channel's nodes */
	VOS_XSB_OWNER,          /* 0 if the channel is the caller's (adopt after exec) */
	VOS_XSB_OP_MAX = VOS_XSB_OWNER,
};

struct vos_xsb_req {
	uint32_t magic;
	uint32_t op;
	uint32_t domid;                 /* the service domain (all but LOOKUP) */
	uint32_t nr_pages;              /* PUBLISH: number of refs[] that follow */
	uint64_t devid;                 /* all but LOOKUP */
	char name[VOS_XSB_NAME_FIELD];  /* LOOKUP: NUL-padded, no '/' */
	uint32_t front_ref, back_ref;   /* PUBLISH (also the fields below) */
	uint32_t port;
	uint32_t kind;                  /* enum vos_hello_kind */
	uint32_t umask;
	uint32_t pad;
	uint8_t token[VOS_TOKEN_LEN];
	uint32_t refs[];                /* PUBLISH: nr_pages grant refs */
};

struct vos_xsb_reply {
	uint32_t magic;
	int32_t result;                 /* >= 0: the op's result; -errno */
	uint32_t domid;                 /* LOOKUP */
	uint32_t accepted;              /* ANSWER: the service has taken the frontend */
	uint8_t token[VOS_TOKEN_LEN];   /* ANSWER with result 1 */
};

/* Largest request on the wire. */
#define VOS_XSB_REQ_MAX (sizeof(struct vos_xsb_req) + VOS_XSB_MAX_PAGES * sizeof(uint32_t))

/* Broker side: check a received request of `len` bytes from the process
 * `peer_pid`.  0, or -EPROTO (malformed), -EPERM (a devid of another pid). */
int vos_xsb_check_request(const struct vos_xsb_req *req, size_t len, pid_t peer_pid);

/* Broker side: from the text of /proc/<pid>/status, check that its effective
 * uid and gid are euid/egid and take its supplementary groups (at most
 * max).  Returns the number of groups or -EPROTO / -ESRCH (ids differ) /
 * -E2BIG. */
int vos_xsb_parse_status(const char *text, uid_t euid, gid_t egid, uint32_t *gids,
			 unsigned max);

/* Client side: check a reply of `len` bytes to a request of `op`.
 * 0 or -EPROTO. */
int vos_xsb_check_reply(const struct vos_xsb_reply *rep, size_t len, uint32_t op);

/* Client side: send req (len bytes) to the broker at `path` (NULL: the
 * default socket) and wait for its reply.  Raw system calls, close-on-exec,
 * nothing kept open.  Returns the reply's result (rep filled) or -errno of
 * the exchange (-ECONNREFUSED/-ENOENT: no broker, -ETIMEDOUT, -EPROTO). */
int vos_xsb_call(const char *path, const struct vos_xsb_req *req, size_t len,
		 struct vos_xsb_reply *rep);

#endif
