/*
 * shadow.c - one process per client process.
 *
 * A shadow carries its client's credentials (uid, gids, umask; creds.c) and
 * remote fds, and serves exactly one channel.  Its main thread is the control
 * thread: it watches the control socket to the daemon, the client's
 * connection socket (hang-up = client gone) and the workers' wake-up
 * eventfd, and ticks the channel's heartbeat.  Worker threads (worker.c)
 * serve the rings.
 *
 * Lifetimes:
 *  - client gone (exit, SIGKILL, exec without the library): its socket hangs
 *    up, the control thread _exits; the kernel closes every remote fd.
 *  - daemon gone: the control socket hangs up, same.  Shadows the daemon
 *    forked also have PR_SET_PDEATHSIG.
 *  - fork: a worker executing VOS_OP_FORK forks the shadow; only that thread
 *    lives on in the child, which waits (bounded) for the forked client to
 *    claim it, then starts its own workers.  The fd table lock is held
 *    across fork() so the child's copy is consistent.
 *  - spawn (VOS_HELLO_FORK_LIVE): the daemon hands the new client's
 *    connection to this shadow's control thread, which forks; the child
 *    serves the new connection at once.
 * A forked child registers with the daemon through a new control socket
 * sent up on the parent's, before fork(), so the daemon knows the token
 * before any client can present it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serviced.h"
#include "common/vos_time.h"

#define HEARTBEAT_MS 1000

static struct vos_shadow S;     /* the one shadow of this process */

static size_t max_channel_bytes(void)
{
	return (size_t)vos_channel_bytes(VOS_MAX_SLOTS, VOS_MAX_SLOT_SIZE);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Close every descriptor above 2 except keep[] (sorted here). */
static void close_all_but(int *keep, size_t n)
{
	unsigned next = 3;

	qsort(keep, n, sizeof *keep, cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < next)
			continue;
		if ((unsigned)keep[i] > next)
			close_range(next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	close_range(next, ~0u, 0);
}

static void __attribute__((noreturn)) shadow_exit(const char *why)
{
	if (S.ch.hdr)
		atomic_store_explicit(&S.ch.hdr->service_state, VOS_STATE_CLOSED,
				      memory_order_release);
	vos_debug("shadow %d ends: %s", (int)getpid(), why);
	_exit(0);
}

void vos_shadow_end(struct vos_shadow *sh, int why)
{
	uint64_t one = 1;

	vos_debug("shadow %d: worker stops (error %d)", (int)getpid(), why);
	if (write(sh->wake, &one, sizeof one) < 0)
		shadow_exit("cannot wake the control thread");
}

/* ---- serving a channel -------------------------------------------------- */

static void reply_status(struct vos_peer *conn, int status)
{
	vos_peer_refuse(conn, status);
}

/* Attach the client's channel, start the workers, answer the client.
 * 0, or -errno after telling the client (the caller then exits). */
static int serve(struct vos_peer *conn, const uint8_t token[VOS_TOKEN_LEN])
{
	int err = vos_peer_attach(conn, max_channel_bytes(), &S.xp);
	if (err) {
		reply_status(conn, err);
		return err;
	}
	S.xen = conn->xen;
	err = vos_channel_open(&S.ch, S.xp, S.role->kind);
	if (err) {
		memset(&S.ch, 0, sizeof S.ch);
		reply_status(conn, err);
		return err;
	}
	memcpy(S.ch.hdr->token, token, VOS_TOKEN_LEN);
	S.client_sock = vos_peer_hangup_fd(conn);
	err = vos_workers_start(&S);
	if (err) {
		reply_status(conn, err);
		return err;
	}
	vos_pidmap_set(getpid(), vos_peer_cred(conn)->pid);
	atomic_store_explicit(&S.ch.hdr->service_state, VOS_STATE_READY, memory_order_release);

	struct vos_hello_reply rep = { .status = 0 };
	memcpy(rep.token, token, VOS_TOKEN_LEN);
	return vos_peer_reply(conn, &rep);
}

static void fork_live(struct vos_peer *conn);

/* Handoffs from the daemon; static: a Xen connection is large. */
static struct vos_peer handoff;

static void __attribute__((noreturn)) control_loop(void)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = S.ctl, .events = POLLIN },
			/* hang-up only: never POLLIN, stray data must not spin us */
			{ .fd = S.client_sock, .events = POLLRDHUP },
			{ .fd = S.wake, .events = POLLIN },
		};
		int n = poll(p, 3, HEARTBEAT_MS);
		atomic_fetch_add_explicit(&S.ch.hdr->heartbeat, 1, memory_order_relaxed);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			shadow_exit("poll failed");
		}
		if (p[1].revents)
			shadow_exit("client gone");
		if (p[2].revents)
			shadow_exit("channel unusable");
		if (p[0].revents & POLLIN) {
			int err = vos_peer_recv(S.ctl, &handoff);
			if (err == -ECONNRESET)
				shadow_exit("daemon gone");
			if (err == 0)
				fork_live(&handoff);
		} else if (p[0].revents) {
			shadow_exit("daemon gone");
		}
	}
}

/* ---- fork --------------------------------------------------------------- */

/*
 * In a child right after fork(): drop the parent's channel (without touching
 * its shared state), close every descriptor but the table's, the root, the
 * new control socket and (spawn) the new client's, recount the table.
 */
static void child_reset(int ctl, const struct vos_peer *conn)
{
	struct vos_peer kind = { .xen = S.xen };
	vos_peer_release_xport(&kind, S.xp);    /* local: the fds go below */
	S.xp = NULL;
	memset(&S.ch, 0, sizeof S.ch);

	uint32_t n = vos_fdt_own_fds(&S.fdt, NULL, 0);
	int *keep = malloc(((size_t)n + 9) * sizeof *keep);
	if (!keep)
		_exit(1);
	vos_fdt_own_fds(&S.fdt, keep, n);
	size_t k = n;
	keep[k++] = S.root.fd;
	keep[k++] = S.root.walk_fd;
	keep[k++] = ctl;
	if (conn)
		k += (size_t)vos_peer_fds(conn, keep + k);
	close_all_but(keep, k);
	free(keep);
	vos_fdt_after_fork_child(&S.fdt);

	S.ctl = ctl;
	S.client_sock = -1;
	S.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (S.wake < 0)
		_exit(1);
}

/* Register a child-to-be with the daemon: a new control socket pair whose
 * daemon end travels with the message.  Returns 0 and *child_end. */
static int register_child(uint32_t type, const uint8_t token[VOS_TOKEN_LEN], int *child_end)
{
	int sp[2];
	struct vos_ctl_msg m = { .type = type };

	memcpy(m.token, token, VOS_TOKEN_LEN);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	int err = vos_ctl_send(S.ctl, &m, sp[0]);
	close(sp[0]);
	if (err) {
		close(sp[1]);
		return err;
	}
	*child_end = sp[1];
	return 0;
}

/* The child of VOS_OP_FORK: wait for the forked client's claim, then serve. */
static void __attribute__((noreturn)) pending_child(int ctl, const uint8_t token[VOS_TOKEN_LEN])
{
	child_reset(ctl, NULL);

	uint64_t deadline = vos_now_ms() + S.pending_ms;
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	for (;;) {
		uint64_t now = vos_now_ms();
		if (now >= deadline)
			shadow_exit("pending shadow not claimed");
		int n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			shadow_exit("poll failed");
	}
	if (!(p.revents & POLLIN))
		shadow_exit("pending shadow dropped");  /* aborted, or the daemon is gone */

	struct vos_peer *conn = &handoff;
	if (vos_peer_recv(ctl, conn) < 0)
		shadow_exit("bad claim handoff");
	int status = 0;
	if (vos_peer_hello(conn)->kind != VOS_HELLO_CLAIM ||
	    memcmp(vos_peer_hello(conn)->token, token, VOS_TOKEN_LEN) != 0)
		status = -EINVAL;
	else if (vos_peer_cred(conn)->uid != S.uid)
		status = -EPERM;        /* the shadow keeps the parent's credentials */

	/* The channel gets a token of its own, which only the new client sees. */
	uint8_t chan[VOS_TOKEN_LEN];
	struct vos_ctl_msg m = { .type = VOS_CTL_TOKEN };
	if (!status)
		status = vos_random_token(chan);
	if (!status) {
		memcpy(m.token, chan, VOS_TOKEN_LEN);
		status = vos_ctl_send(S.ctl, &m, -1);
	}
	if (status) {
		reply_status(conn, status);
		shadow_exit("claim refused");
	}
	umask((mode_t)(vos_peer_hello(conn)->umask & 0777));
	if (serve(conn, chan))
		shadow_exit("cannot serve the claimed channel");
	vos_debug("shadow %d: forked, serves client pid %d", (int)getpid(),
		  (int)vos_peer_cred(conn)->pid);
	control_loop();
}

int vos_shadow_fork(struct vos_shadow *sh, uint8_t token[VOS_TOKEN_LEN])
{
	int ctl, err = vos_random_token(token);
	if (err)
		return err;
	err = register_child(VOS_CTL_PENDING, token, &ctl);
	if (err)
		return err;

	vos_fdt_lock(&sh->fdt);
	pid_t pid = fork();
	if (pid == 0)
		pending_child(ctl, token);
	err = pid < 0 ? -errno : 0;
	vos_fdt_unlock(&sh->fdt);
	/* Closing our end makes the daemon drop the registration if fork failed. */
	close(ctl);
	return err;
}

int vos_shadow_fork_abort(struct vos_shadow *sh, const uint8_t token[VOS_TOKEN_LEN])
{
	struct vos_ctl_msg m = { .type = VOS_CTL_ABORT };

	memcpy(m.token, token, VOS_TOKEN_LEN);
	return vos_ctl_send(sh->ctl, &m, -1);
}

/* VOS_HELLO_FORK_LIVE: a spawned child of our client wants a copy of us. */
static void fork_live(struct vos_peer *conn)
{
	uint8_t token[VOS_TOKEN_LEN];
	int status, ctl = -1;

	if (vos_peer_hello(conn)->kind != VOS_HELLO_FORK_LIVE)
		status = -EINVAL;
	else if (vos_peer_cred(conn)->uid != __atomic_load_n(&S.uid, __ATOMIC_RELAXED))
		status = -EPERM;        /* S.uid: a worker may be in SETCREDS */
	else if (!(status = vos_random_token(token)))
		status = register_child(VOS_CTL_LIVE, token, &ctl);

	if (!status) {
		/* As for a fork claim (ops_session.c, op_fork): fork with every worker
		 * parked at the barrier, so the child inherits no lock or
		 * allocator state held by a thread it does not have. */
		int raised = vos_exec_barrier_raise(&S, NULL);
		vos_fdt_lock(&S.fdt);
		pid_t pid = fork();
		if (pid == 0) {
			child_reset(ctl, conn);
			umask((mode_t)(vos_peer_hello(conn)->umask & 0777));
			if (serve(conn, token))
				shadow_exit("cannot serve the spawned client");
			vos_debug("shadow %d: spawned, serves client pid %d",
				  (int)getpid(), (int)vos_peer_cred(conn)->pid);
			control_loop();
		}
		status = pid < 0 ? -errno : 0;
		vos_fdt_unlock(&S.fdt);
		if (raised)
			vos_exec_barrier_lower(&S);
		close(ctl);
	}
	if (status)
		reply_status(conn, status);
	vos_peer_close(conn);
}

/* ---- start -------------------------------------------------------------- */

static void die_with_daemon(pid_t daemon_pid)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != daemon_pid)
		_exit(0);
}

void vos_shadow_run(const struct vos_serviced_opts *o, const struct vos_root *root,
		    struct vos_peer *conn, int ctl, const uint8_t token[VOS_TOKEN_LEN],
		    pid_t daemon_pid)
{
	sigset_t none;

	die_with_daemon(daemon_pid);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_IGN);       /* forked shadows reap themselves */
	signal(SIGINT, SIG_IGN);        /* the daemon decides when shadows end */
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);       /* EPIPE goes back to the client instead */
	signal(SIGXFSZ, SIG_IGN);       /* likewise EFBIG */

	memset(&S, 0, sizeof S);
	S.role = o->role;
	S.root = *root;
	S.ctl = ctl;
	S.base_workers = o->workers;
	S.max_workers = o->max_workers;
	S.spin = o->spin;
	S.pending_ms = o->pending_ms;
	S.client_sock = -1;

	int keep[7] = { root->fd, root->walk_fd, ctl };
	size_t nkeep = 3 + (size_t)vos_peer_fds(conn, keep + 3);
	close_all_but(keep, nkeep);

	int err = 0;
	S.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (S.wake < 0)
		err = -errno;
	if (!err)
		err = vos_fdt_init(&S.fdt);
	if (!err)
		err = vos_creds_take(&S, conn);
	if (err) {
		vos_log("client pid %d uid %d refused: %s", (int)vos_peer_cred(conn)->pid,
			(int)vos_peer_cred(conn)->uid, strerror(-err));
		reply_status(conn, err);
		_exit(0);
	}
	/* Changing credentials cleared the parent-death signal: set it again. */
	die_with_daemon(daemon_pid);
	umask((mode_t)(vos_peer_hello(conn)->umask & 0777));
	if (serve(conn, token))
		shadow_exit("cannot serve the channel");
	vos_debug("shadow %d serves client pid %d (uid %d)", (int)getpid(),
		  (int)vos_peer_cred(conn)->pid, (int)vos_peer_cred(conn)->uid);
	control_loop();
}
