/*
 * serviced.h - vos-serviced's internal interfaces (flow in README.md).
 *
 *   main.c     arguments, the daemon loop, the registry of shadows
 *   ctl.c      messages between a shadow and the daemon
 *   shadow.c   one process per client: channel, fork
 *   creds.c    the ids a shadow acts with; VOS_OP_SETCREDS
 *   peer.c     a client's connection over either transport (local or Xen)
 *   worker.c   worker threads: take a request, execute, complete
 *   roles.c    the roles (--role): what each serves and sets up
 *   optable.c  execute one request: the op table and dispatcher (op.h),
 *              with opargs.c, ops_session.c, ops_fs.c
 *   cancel.c   VOS_OP_CANCEL: interrupt the request a worker executes
 *   resolve.c  path confinement inside the export root
 *   view.c     the view root: a private mount namespace holding the export
 *              at its mount point
 *   fdtable.c  client fd number -> own fd
 *   pidmap.c   shadow pid -> client pid, shared by all shadows (F_GETLK,
 *              locks of a client that has ended)
 */
#ifndef VOS_SERVICED_H
#define VOS_SERVICED_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel/channel.h"
#include "channel/transport_local.h"
#include "channel/transport_xen.h"
#include "fdtable.h"
#include "resolve.h"

/* Log line to stderr, "vos-serviced: " prefixed, one write() (safe after
 * fork in a threaded process, unlike stdio). */
void vos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int vos_verbose;
#define vos_debug(...) do { if (vos_verbose) vos_log(__VA_ARGS__); } while (0)

/* How long a pending shadow (forked for a client fork) waits for its claim. */
#define VOS_PENDING_TIMEOUT_MS 10000
/* How long VOS_OP_EXEC waits for the requests taken before it to finish. */
#define VOS_EXEC_BARRIER_MS 5000

/*
 * Control messages, shadow -> daemon, over the shadow's SOCK_SEQPACKET
 * control socket.  The daemon -> shadow direction carries only
 * client connection handoffs (vos_peer_send).  A shadow closing its end
 * (exit, death) is how the daemon learns it is gone.
 */
enum vos_ctl_type {
	VOS_CTL_PENDING = 1,    /* + fd: a forked child shadow waits for a claim of token */
	VOS_CTL_LIVE    = 2,    /* + fd: a forked child shadow serves channel token */
	VOS_CTL_TOKEN   = 3,    /* the sender (just claimed) now serves channel token */
	VOS_CTL_ABORT   = 4,    /* drop the sender's pending child registered as token */
};

struct vos_ctl_msg {
	uint32_t type;
	uint32_t pad;
	uint8_t token[VOS_TOKEN_LEN];
};

/* Send m, with fd attached if fd >= 0.  0 or -errno. */
int vos_ctl_send(int sock, const struct vos_ctl_msg *m, int fd);
/* Receive one message without blocking; *fd = attached fd or -1.
 * 0, -EAGAIN (nothing there), -ECONNRESET (peer gone) or -EPROTO. */
int vos_ctl_recv(int sock, struct vos_ctl_msg *m, int *fd);

/* Fill a token with random bytes.  0 or -errno. */
int vos_random_token(uint8_t token[VOS_TOKEN_LEN]);

struct vos_serviced_opts;
struct vos_root;

/*
 * A role (roles.c): a kind of service.  Its channels carry `kind`, and it
 * serves the ops vos_ops.def gives that kind plus the session ops.
 */
struct vos_role {
	const char *name;               /* --role NAME */
	enum vos_service_kind kind;
	int exports_dir;                /* serves the files under --root DIR (required),
					   seen by clients at --mount-point */
	/* Before listening: open what the role serves (storage: the export
	 * root).  0 or -errno: the daemon says so and exits 2. */
	int (*open)(const struct vos_serviced_opts *o, struct vos_root *root);
	/* Once listening (so the daemon owns its names in the run directory):
	 * set up what lives there (storage: the view, which may replace root).
	 * Failures are warnings. */
	void (*setup)(const struct vos_serviced_opts *o, struct vos_root *root);
	/* At exit, before the socket goes (storage: remove the view). */
	void (*cleanup)(void);
};

/* Every role this build serves, NULL-terminated. */
extern const struct vos_role *const vos_roles[];
/* The role called name, or NULL. */
const struct vos_role *vos_role_find(const char *name);

struct vos_serviced_opts {
	const struct vos_role *role;
	int xen;                /* clients in dom0 over the Xen transport */
	/* Names everything of this service (default: the role's name): the
	 * socket <rundir>/<name>.sock, the placeholder <rundir>/<name>.remote-fd,
	 * the view <rundir>/<name>.view; Xen: this domain's name. */
	const char *name;
	const char *root_dir;
	const char *rundir;
	char mount_point[PATH_MAX];     /* normalised; "/" = no view; default /<name> */
	unsigned workers;       /* worker threads per shadow at start */
	unsigned max_workers;   /* ... grown on demand up to this many */
	unsigned spin;          /* spin budget before a worker sleeps */
	unsigned pending_ms;    /* a pending shadow's wait for its claim */
	int net_namespace;      /* network role: a network namespace of its own */
};

/*
 * The EXEC barrier (worker.c).  A new image reuses the slots its old image
 * may still have requests in; VOS_OP_EXEC must not answer before every
 * request taken off the ring before it has completed.  The ring is FIFO, so
 * those were all claimed before the EXEC was; a worker that is back at the
 * top of its loop after the barrier went up holds none of them ("crossed").
 * The EXEC worker raises the barrier, makes idle workers leave their wait
 * (stop), and waits (bounded) until every other worker has crossed.
 */
struct vos_barrier {
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* any change below; broadcast */
	uint64_t epoch;                 /* bumped when raised; read unlocked as a hint */
	int raised;
	unsigned uncrossed;             /* other workers yet to cross this epoch */
};

/* One shadow process (there is exactly one per process). */
struct vos_shadow {
	const struct vos_role *role;   /* what it serves (the daemon's) */
	struct vos_root root;          /* inherited from the daemon */
	struct vos_fdtable fdt;
	struct vos_xport *xp;          /* the client's channel */
	int xen;                       /* ... over the Xen transport */
	struct vos_channel ch;
	int ctl;                       /* control socket to the daemon */
	int client_sock;               /* polled for hang-up only; owned by xp */
	int wake;                      /* eventfd: a worker ended the shadow */
	unsigned nworkers;              /* running workers: grows, under bar.lock */
	unsigned base_workers;          /* --workers: started with */
	unsigned max_workers;           /* --max-workers: the bound of growth */
	unsigned nwaiting;              /* workers in a call that may wait (atomic) */
	unsigned spin, pending_ms;
	uid_t uid;                     /* effective ids the shadow serves with; changed */
	gid_t gid;                     /* by SETCREDS (atomic access off its worker) */
	int stop;                      /* for vos_channel_next_request: set while the
					  EXEC barrier is up */
	struct vos_barrier bar;
	struct vos_cancel *cancel;     /* who executes which request (cancel.c) */
};

/*
 * A client's connection, local or Xen (peer.c).  Local: the fds and the
 * kernel-verified credentials of a Unix socket; Xen: what dom0 published in
 * xenstore (plain values).  Large (the grant refs): keep it static.
 */
struct vos_peer {
	int xen;
	struct vos_local_conn local;
	struct vos_local_conn answer;   /* local, after attach: where to reply */
	int attached;
	struct vos_xen_conn x;
};

const struct vos_hello *vos_peer_hello(const struct vos_peer *p);
const struct ucred *vos_peer_cred(const struct vos_peer *p);
/* Answer the client; refuse = answer with status only.  0 or -errno. */
int vos_peer_reply(struct vos_peer *p, const struct vos_hello_reply *rep);
void vos_peer_refuse(struct vos_peer *p, int status);
/* Map the client's channel.  0 or -errno. */
int vos_peer_attach(struct vos_peer *p, size_t max_size, struct vos_xport **out);
/* A descriptor that hangs up when the client goes, or -1 (Xen: the channel
 * itself reports it). */
int vos_peer_hangup_fd(const struct vos_peer *p);
/* The descriptors a connection holds before attach (0..4 of them). */
int vos_peer_fds(const struct vos_peer *p, int fds[4]);
/* Drop the connection (the daemon, after handing it on). */
void vos_peer_close(struct vos_peer *p);
/* In a fork child: drop an inherited transport of this kind without
 * touching the peer. */
void vos_peer_release_xport(const struct vos_peer *p, struct vos_xport *xp);
/* Daemon -> shadow handoff over the control socket.  0 or -errno. */
int vos_peer_send(int sock, const struct vos_peer *p);
int vos_peer_recv(int sock, struct vos_peer *p);

/* In the daemon's child: become the shadow of the client on conn.  ctl is
 * this shadow's control socket, token the channel's token.  Never returns. */
void vos_shadow_run(const struct vos_serviced_opts *o, const struct vos_root *root,
		    struct vos_peer *conn, int ctl, const uint8_t token[VOS_TOKEN_LEN],
		    pid_t daemon_pid) __attribute__((noreturn));

/* VOS_OP_FORK, from a worker: fork a pending child shadow.  0 and *token, or -errno. */
int vos_shadow_fork(struct vos_shadow *sh, uint8_t token[VOS_TOKEN_LEN]);
/* VOS_OP_FORK_ABORT: drop the pending child registered as token. */
int vos_shadow_fork_abort(struct vos_shadow *sh, const uint8_t token[VOS_TOKEN_LEN]);
/* A worker cannot go on (client gone, broken ring): end the shadow. */
void vos_shadow_end(struct vos_shadow *sh, int why);

/* Start sh->base_workers worker threads (and a fresh barrier).  0 or -errno. */
int vos_workers_start(struct vos_shadow *sh);
/* A worker's request is about to wait without bound (optable.c): count it,
 * and start another worker if none would be left free.  1: go on (then
 * vos_worker_wait_end after the call); 0: max_workers reached and every
 * other worker waits: the call must not block (nothing was counted). */
int vos_worker_wait_begin(struct vos_shadow *sh);
void vos_worker_wait_end(struct vos_shadow *sh);

/* A worker's private memory: strings are copied here before use. */
struct vos_opbuf {
	char path[PATH_MAX];
	char path2[PATH_MAX];
	uint8_t *scratch;              /* slot_size bytes */
	uint64_t epoch;                /* last barrier epoch this worker crossed */
	struct vos_cancel_worker *cancel;      /* this worker's entry in cancel.c */
};

/*
 * Cancellation (cancel.c).  vos_cancel_init once the channel is open and
 * before the workers start (also in a forked shadow); each worker registers
 * once, and brackets every request with begin/end.  begin returns nonzero
 * if the request was cancelled before it ran: complete it with -EINTR
 * without executing it.
 */
struct vos_cancel;
struct vos_cancel_worker;
int vos_cancel_init(struct vos_shadow *sh);
struct vos_cancel_worker *vos_cancel_register(struct vos_shadow *sh);
int vos_cancel_begin(struct vos_shadow *sh, struct vos_cancel_worker *w, uint32_t id);
void vos_cancel_end(struct vos_cancel_worker *w);
/* VOS_OP_CANCEL (vos_proto.h), from the worker self. */
int64_t vos_op_cancel(struct vos_shadow *sh, const struct vos_entry *e,
		      struct vos_cancel_worker *self);

/* VOS_OP_EXEC, from the worker running it: raise the barrier and wait (at
 * most VOS_EXEC_BARRIER_MS) until the other workers crossed it.  Returns 1
 * if raised (then call vos_exec_barrier_lower), 0 if another EXEC's barrier
 * stayed up all that time.  ob NULL: the caller is not a worker (the control
 * thread forking for a spawned client); then every worker must cross. */
int vos_exec_barrier_raise(struct vos_shadow *sh, struct vos_opbuf *ob);
void vos_exec_barrier_lower(struct vos_shadow *sh);

/* Set up the view root (view.c) in a private mount namespace, attached at
 * <rundir>/<name>.view, and open root on it.  0, or -errno: the caller goes
 * on without a view. */
int vos_view_setup(const char *rundir, const char *name, const char *export_dir,
		   const char *mnt, struct vos_root *root);
/* Unmount the view and remove its directory (at exit). */
void vos_view_remove(void);

/* pidmap.c: the daemon maps the table before it forks a shadow (0 or
 * -errno: then F_GETLK reports shadows' pids); a shadow records whom it
 * serves; the daemon clears a reaped shadow's entry.  vos_pidmap_client
 * answers the client pid for a shadow's pid, any other pid unchanged. */
int vos_pidmap_init(void);
void vos_pidmap_set(pid_t shadow, pid_t client);
void vos_pidmap_clear(pid_t shadow);
pid_t vos_pidmap_client(pid_t pid);
/* Wait, at most timeout_ms in all, for the shadows whose client has ended
 * to end too (their locks go with them); only > 0: that shadow alone, if it
 * is one.  Local mode only (client pids are in this pid namespace).
 * Returns how many ended: > 0, a lock conflict may be gone. */
int vos_pidmap_wait_orphans(pid_t only, int timeout_ms);

/* Execute one request (a private copy of the entry) as sh's role serves it
 * (optable.c); returns arg[0] of the completion: the result or -errno
 * (-ENOSYS: an op this build or this role does not serve). */
int64_t vos_op_execute(struct vos_shadow *sh, const struct vos_entry *e, struct vos_opbuf *ob);

/* Take the ids of the client on conn (creds.c), in the shadow before it
 * serves.  0 or -errno (-EPERM: a daemon not running as root serves only
 * its own user). */
int vos_creds_take(struct vos_shadow *sh, const struct vos_peer *conn);
/* VOS_OP_SETCREDS with arguments a, slot buffer buf, from a worker. */
int64_t vos_op_setcreds(struct vos_shadow *sh, const int64_t a[6], const uint8_t *buf,
			struct vos_opbuf *ob);

#endif
