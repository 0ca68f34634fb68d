/*
 * main.c - vos-serviced: arguments, the daemon loop, the registry of shadows.
 *
 * The daemon never touches a channel.  It serves one role (roles.c) under
 * one name (--name, default the role's).  It accepts connections on
 * <rundir>/<name>.sock (--transport local) or, in a Xen service domain, new
 * frontends that dom0's programs publish in xenstore for this domain
 * (--transport xen; peer.c hides the difference), and routes each one:
 *   VOS_HELLO_NEW        fork a new shadow (shadow.c) for the client
 *   VOS_HELLO_CLAIM      hand the connection to the pending shadow whose
 *                        token it names (a forked client's child)
 *   VOS_HELLO_FORK_LIVE  hand it to the live shadow whose channel token it
 *                        names; that shadow forks a copy for the new client
 * Each shadow has a control socket to the daemon (registry entry).  A shadow
 * that ends closes it, which is how its entry goes away; the daemon reaps
 * shadows (it is a child subreaper, so shadows forked by shadows come back
 * to it when their parent shadow ends).
 *
 * Nothing a client does may stall the loop: connections are accepted
 * without blocking and wait in the poll set ("half-open") until their hello
 * arrives or their deadline passes; every socket the daemon writes to is
 * non-blocking or fresh; per-user quotas keep one user from taking every
 * registry entry or half-open place.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serviced.h"
#include "op.h"
#include "common/vos_time.h"

#define MAX_SHADOWS   4096
#define MAX_WORKERS   64
/* Default and highest --max-workers: workers a shadow may grow to while
 * calls wait (worker.c). */
#define DEFAULT_MAX_WORKERS 64
#define MAX_MAX_WORKERS     1024
#define DEFAULT_SPIN  2000
/* Registry entries one user (other than root) may hold, when the daemon
 * serves several users (runs as root). */
#define MAX_SHADOWS_PER_UID (MAX_SHADOWS / 4)
/* Connections waiting for their hello: in all, per user, and for how long. */
#define MAX_HALF_OPEN          256
#define MAX_HALF_OPEN_PER_UID  32
#define HELLO_TIMEOUT_MS       5000
/* Longest --name: what a client's route table takes (VOS_NAME_MAX in
 * libvirtuos/interpose, 32 bytes with the NUL). */
#define MAX_NAME_LEN           31
/* Out of descriptors: stop accepting for a moment instead of spinning. */
#define ACCEPT_BACKOFF_MS      100
/* Control messages read from one shadow per loop turn. */
#define CTL_BATCH              64

enum ent_state {
	ENT_LIVE,       /* serves a channel; token = the channel's token */
	ENT_PENDING,    /* forked for a client fork, waits for its claim */
	ENT_CLAIMING,   /* claim handed over, waits for its channel token */
};

struct entry {
	uint64_t id;            /* unique, never reused */
	uint64_t parent_id;     /* entry that registered it (0: the daemon) */
	int ctl;                /* daemon end of the control socket */
	pid_t pid;              /* > 0 for shadows this process forked */
	uid_t uid;              /* the client user it serves (quota) */
	enum ent_state state;
	uint8_t token[VOS_TOKEN_LEN];
};

static struct entry reg[MAX_SHADOWS];
static unsigned nreg;
static uint64_t next_id = 1;

/* An accepted connection whose hello has not arrived yet. */
struct half_open {
	int sock;               /* non-blocking */
	uid_t uid;
	uint64_t deadline;      /* ms, CLOCK_MONOTONIC */
};

static struct half_open half[MAX_HALF_OPEN];
static unsigned nhalf;
static uint64_t accept_pause_until;     /* ms; 0 = accepting */

static struct vos_serviced_opts opts = {
	.workers = 2, .max_workers = DEFAULT_MAX_WORKERS, .spin = DEFAULT_SPIN, .pending_ms = VOS_PENDING_TIMEOUT_MS,
};
static struct vos_root root = { .fd = -1, .walk_fd = -1 };
static int listen_fd = -1, sig_fd = -1;
static struct vos_xen_listener *xen_listener;
/* The connection being routed (static: a Xen one holds the grant refs). */
static struct vos_peer incoming;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vos-serviced --role ROLE [--name NAME] --root DIR --rundir DIR\n"
		"                    [--transport local|xen] [--mount-point PATH]\n"
		"                    [--workers N] [--max-workers N] [--spin N]\n"
		"                    [--pending-timeout MS] [--net-namespace] [--verbose]\n"
		"\n"
		"Serves forwarded system calls for one service.  ROLE is what it serves:\n");
	for (unsigned i = 0; vos_roles[i]; i++)
		fprintf(f, "  %-9s%s\n", vos_roles[i]->name,
			vos_roles[i]->exports_dir ? "the files under DIR (the export root)" : "");
	fprintf(f,
		"\n"
		"NAME (default: ROLE; letters, digits, '.', '_', '-') names the service:\n"
		"clients connect at RUNDIR/NAME.sock and hold RUNDIR/NAME.remote-fd, the\n"
		"view is RUNDIR/NAME.view, so daemons with different names can share a\n"
		"run directory.  Each client gets a shadow process with its credentials\n"
		"and N worker threads (default 2) that spin N iterations (default %d)\n"
		"before sleeping; while calls wait (locks, FIFOs, flushes) a shadow\n"
		"starts more workers, up to --max-workers (default %d; past it a\n"
		"blocking lock request that would wait fails with ENOLCK).  A shadow\n"
		"forked for a client's fork waits MS milliseconds (default %d) for the\n"
		"child to claim it.  Runs until SIGTERM\n"
		"or SIGINT.\n"
		"\n"
		"--transport xen: run in a Xen service domain named NAME and serve\n"
		"programs in dom0, which grant the channel's pages and bind an event\n"
		"channel (rendezvous in xenstore); RUNDIR then holds only the view.\n"
		"Default: local (clients on this host, RUNDIR/NAME.sock).\n"
		"\n"
		"PATH (absolute, default /NAME) is where clients see DIR.  Run as root,\n"
		"the daemon resolves paths in a private mount namespace where DIR is\n"
		"mounted at PATH and nothing else exists, so an absolute symlink to\n"
		"PATH/x means DIR/x and any other absolute target finds nothing.\n"
		"Without root, absolute symlinks resolve from DIR.\n"
		"\n"
		"--net-namespace (network role, root only): serve from a network\n"
		"namespace of its own, where only `lo` exists (brought up), so the\n"
		"clients' sockets live there and not in the host's stack.\n",
		DEFAULT_SPIN, DEFAULT_MAX_WORKERS, VOS_PENDING_TIMEOUT_MS);
}

/* A service name: it names files in the run directory and a Xen domain. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_NAME_LEN || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static int __attribute__((noreturn)) bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vos-serviced: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(try --help)\n");
	exit(2);
}

static unsigned parse_count(const char *s, const char *what, unsigned lo, unsigned hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		bad_usage(what, s);
	return (unsigned)v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "root", required_argument, NULL, 'R' },
		{ "rundir", required_argument, NULL, 'd' },
		{ "mount-point", required_argument, NULL, 'm' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-workers", required_argument, NULL, 'W' },
		{ "spin", required_argument, NULL, 's' },
		{ "pending-timeout", required_argument, NULL, 'p' },
		{ "transport", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "net-namespace", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL;
	int c, have_mount_point = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 'R': opts.root_dir = optarg; break;
		case 'd': opts.rundir = optarg; break;
		case 'm':
			if (vos_mount_point_parse(optarg, opts.mount_point, sizeof opts.mount_point))
				bad_usage("bad --mount-point '%s' (an absolute path without \"..\")", optarg);
			have_mount_point = 1;
			break;
		case 'w': opts.workers = parse_count(optarg, "bad --workers value '%s' (1..64)", 1, MAX_WORKERS); break;
		case 'W': opts.max_workers = parse_count(optarg, "bad --max-workers value '%s' (1..1024)", 1, MAX_MAX_WORKERS); break;
		case 's': opts.spin = parse_count(optarg, "bad --spin value '%s'", 0, 100000000); break;
		case 'p': opts.pending_ms = parse_count(optarg, "bad --pending-timeout value '%s' (100..600000)", 100, 600000); break;
		case 't':
			if (strcmp(optarg, "local") && strcmp(optarg, "xen"))
				bad_usage("bad --transport '%s' (local or xen)", optarg);
			opts.xen = !strcmp(optarg, "xen");
			break;
		case 'n': opts.name = optarg; break;
		case 'v': vos_verbose = 1; break;
		case 'N': opts.net_namespace = 1; break;
		case 'h': usage(stdout); exit(0);
		case ':': bad_usage("option %s needs a value", argv[optind - 1]);
		default: bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!role)
		bad_usage("%s", "--role is required");
	opts.role = vos_role_find(role);
	if (!opts.role) {
		char msg[256];
		int n = snprintf(msg, sizeof msg, "'%s' (this build serves:", role);
		for (unsigned i = 0; vos_roles[i] && n > 0 && (size_t)n < sizeof msg; i++)
			n += snprintf(msg + n, sizeof msg - (size_t)n, " %s", vos_roles[i]->name);
		bad_usage("unknown role %s)", msg);
	}
	if (!opts.name)
		opts.name = opts.role->name;
	if (!valid_name(opts.name))
		bad_usage("bad --name '%s' (letters, digits, '.', '_', '-'; at most 31)", opts.name);
	if (!have_mount_point)
		snprintf(opts.mount_point, sizeof opts.mount_point, "/%s", opts.name);
	if (opts.role->exports_dir && !opts.root_dir)
		bad_usage("%s", "--root is required");
	if (opts.net_namespace && opts.role->kind != VOS_SVC_NETWORK)
		bad_usage("--net-namespace is for the network role, not %s", opts.role->name);
	if (!opts.rundir)
		bad_usage("%s", "--rundir is required");
	if (opts.max_workers < opts.workers)
		opts.max_workers = opts.workers;

	struct stat st;
	if (opts.root_dir && (stat(opts.root_dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		bad_usage("export root '%s' is not a directory", opts.root_dir);
	if (stat(opts.rundir, &st) < 0 || !S_ISDIR(st.st_mode))
		bad_usage("run directory '%s' is not a directory", opts.rundir);
}

/* ---- registry ------------------------------------------------------------ */

/* Nonzero if uid may hold another registry entry. */
static int quota_ok(uid_t uid)
{
	if (nreg == MAX_SHADOWS)
		return 0;
	if (geteuid() != 0 || uid == 0)
		return 1;       /* one user only, or root: the global limit */
	unsigned n = 0;
	for (unsigned i = 0; i < nreg; i++)
		n += reg[i].uid == uid;
	return n < MAX_SHADOWS_PER_UID;
}

static struct entry *add_entry(int ctl, enum ent_state state, const uint8_t *token,
			       pid_t pid, uid_t uid, uint64_t parent_id)
{
	if (!quota_ok(uid))
		return NULL;
	/* Never block on a shadow: a full socket fails the one handoff. */
	fcntl(ctl, F_SETFL, O_NONBLOCK);
	struct entry *e = &reg[nreg++];
	memset(e, 0, sizeof *e);
	e->id = next_id++;
	e->parent_id = parent_id;
	e->ctl = ctl;
	e->pid = pid;
	e->uid = uid;
	e->state = state;
	memcpy(e->token, token, VOS_TOKEN_LEN);
	return e;
}

static void drop_entry(unsigned i)
{
	vos_debug("shadow entry %llu (pid %d) dropped", (unsigned long long)reg[i].id, (int)reg[i].pid);
	close(reg[i].ctl);
	reg[i] = reg[--nreg];
}

static int token_eq(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (unsigned i = 0; i < VOS_TOKEN_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int find_token(const uint8_t *token, enum ent_state state)
{
	for (unsigned i = 0; i < nreg; i++)
		if (reg[i].state == state && token_eq(reg[i].token, token))
			return (int)i;
	return -1;
}

/* Handle what arrived on entry i's control socket (a batch at most: a
 * shadow that keeps sending must not keep the loop here); drops the entry
 * (and returns 0) when the shadow is gone, else returns 1. */
static int ctl_input(unsigned i)
{
	for (unsigned batch = 0; batch < CTL_BATCH; batch++) {
		struct vos_ctl_msg m;
		int fd;
		int err = vos_ctl_recv(reg[i].ctl, &m, &fd);
		if (err == -EAGAIN)
			return 1;
		if (err == -EPROTO)
			continue;       /* malformed: ignored (attached fd already closed) */
		if (err) {
			drop_entry(i);
			return 0;
		}
		uint64_t sender = reg[i].id;
		switch (m.type) {
		case VOS_CTL_PENDING:
		case VOS_CTL_LIVE:
			if (fd < 0 || !add_entry(fd, m.type == VOS_CTL_LIVE ? ENT_LIVE : ENT_PENDING,
						 m.token, 0, reg[i].uid, sender)) {
				vos_log("cannot register a forked shadow (table or quota full)");
				if (fd >= 0)
					close(fd);      /* the child sees a hang-up and ends */
			}
			fd = -1;
			break;
		case VOS_CTL_TOKEN:
			if (reg[i].state == ENT_CLAIMING) {
				memcpy(reg[i].token, m.token, VOS_TOKEN_LEN);
				reg[i].state = ENT_LIVE;
			}
			break;
		case VOS_CTL_ABORT: {
			int k = find_token(m.token, ENT_PENDING);
			if (k >= 0 && reg[k].parent_id == sender) {
				drop_entry((unsigned)k);    /* the pending shadow sees a hang-up */
				if ((unsigned)k < nreg && reg[k].id == sender)
					i = (unsigned)k;    /* the sender moved into slot k */
			}
			break;
		}
		default:
			break;
		}
		if (fd >= 0)
			close(fd);
	}
	return 1;
}

/* Read every control socket without blocking (before a token lookup). */
static void drain_ctl(void)
{
	for (unsigned i = 0; i < nreg;)
		if (ctl_input(i))
			i++;
}

static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		vos_debug("shadow %d exited (status 0x%x)", (int)pid, status);
		vos_pidmap_clear(pid);
		for (unsigned i = 0; i < nreg; i++)
			if (reg[i].pid == pid) {
				drop_entry(i);
				break;
			}
	}
}

/* ---- connections --------------------------------------------------------- */

static void refuse(struct vos_peer *conn, int status)
{
	vos_peer_refuse(conn, status);
}

static void new_shadow(struct vos_peer *conn)
{
	const struct ucred *cred = vos_peer_cred(conn);
	uint8_t token[VOS_TOKEN_LEN];
	int sp[2];
	int err = !quota_ok(cred->uid) ? -EAGAIN : vos_random_token(token);

	if (err) {
		refuse(conn, err);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		refuse(conn, -errno);
		return;
	}
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[0]);
		vos_shadow_run(&opts, &root, conn, sp[1], token, me);
	}
	close(sp[1]);
	if (pid < 0) {
		refuse(conn, -errno);
		close(sp[0]);
		return;
	}
	add_entry(sp[0], ENT_LIVE, token, pid, cred->uid, 0);
	vos_debug("client pid %d uid %d: shadow %d", (int)cred->pid, (int)cred->uid, (int)pid);
}

static void hand_over(struct vos_peer *conn, enum ent_state state)
{
	const uint8_t *token = vos_peer_hello(conn)->token;
	int i = find_token(token, state);
	if (i < 0) {
		drain_ctl();        /* the registration may be waiting unread */
		i = find_token(token, state);
	}
	if (i < 0) {
		refuse(conn, -ENOENT);
		return;
	}
	int err = vos_peer_send(reg[i].ctl, conn);
	if (err) {
		refuse(conn, err == -EPIPE || err == -ECONNRESET ? -ENOENT : err);
		return;
	}
	if (state == ENT_PENDING)
		reg[i].state = ENT_CLAIMING;
	vos_debug("client pid %d: handed to shadow entry %llu", (int)vos_peer_cred(conn)->pid,
		  (unsigned long long)reg[i].id);
}

/* Route a connection whose hello has arrived (either transport). */
static void route(struct vos_peer *conn)
{
	switch (vos_peer_hello(conn)->kind) {
	case VOS_HELLO_NEW:
		new_shadow(conn);
		break;
	case VOS_HELLO_CLAIM:
		hand_over(conn, ENT_PENDING);
		break;
	case VOS_HELLO_FORK_LIVE:
		hand_over(conn, ENT_LIVE);
		break;
	default:
		refuse(conn, -EPROTO);
		break;
	}
	vos_peer_close(conn);
}

/* A hello arrived (or the peer hung up) on half-open connection sock. */
static void finish_hello(int sock)
{
	memset(&incoming, 0, sizeof incoming);
	if (vos_local_accept_fd(sock, &incoming.local) < 0)
		return;         /* the client was told (if it could be) */
	/* Shadows get the socket as a blocking one, as they always did. */
	fcntl(incoming.local.sock, F_SETFL, 0);
	route(&incoming);
}

/* Xen: take every new frontend (each arrives with its hello).  -errno if
 * the listener broke. */
static int accept_xen(void)
{
	for (;;) {
		memset(&incoming, 0, sizeof incoming);
		incoming.xen = 1;
		int err = vos_xen_accept(xen_listener, &incoming.x);
		if (err == -EAGAIN)
			return 0;
		if (err)
			return err;
		route(&incoming);
	}
}

static void drop_half(unsigned i, int status)
{
	if (status) {
		struct vos_hello_reply rep = { .status = status };
		(void)send(half[i].sock, &rep, sizeof rep, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(half[i].sock);
	half[i] = half[--nhalf];
}

/* Take every waiting connection into the half-open set (never blocks). */
static void accept_new(void)
{
	while (nhalf < MAX_HALF_OPEN) {
		int sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (sock < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The connection stays queued; retry later, don't spin. */
				vos_log("accept: %s; pausing", strerror(errno));
				accept_pause_until = vos_now_ms() + ACCEPT_BACKOFF_MS;
			}
			return;
		}
		/* Clients send their hello right after connecting: usually it is
		 * there already, and only silent connections count as half-open. */
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		if (poll(&pf, 1, 0) > 0) {
			finish_hello(sock);
			continue;
		}
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(sock);
			continue;
		}
		unsigned mine = 0;
		for (unsigned i = 0; i < nhalf; i++)
			mine += half[i].uid == cred.uid;
		half[nhalf] = (struct half_open){
			.sock = sock, .uid = cred.uid, .deadline = vos_now_ms() + HELLO_TIMEOUT_MS,
		};
		nhalf++;
		if (mine >= MAX_HALF_OPEN_PER_UID && cred.uid != 0) {
			vos_debug("uid %d: too many connections without a hello", (int)cred.uid);
			drop_half(nhalf - 1, -EAGAIN);
		}
	}
}

/* Milliseconds until the next deadline (half-open or accept pause), -1: none. */
static int poll_timeout(uint64_t now)
{
	uint64_t next = accept_pause_until ? accept_pause_until : UINT64_MAX;

	for (unsigned i = 0; i < nhalf; i++)
		if (half[i].deadline < next)
			next = half[i].deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

/* ---- main loop ----------------------------------------------------------- */

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return sig_fd < 0 ? -errno : 0;
}

/* Returns 1 when asked to stop. */
static int signal_input(void)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else
			stop = 1;
	}
	return stop;
}

static void shutdown_all(void)
{
	/* Shadows we forked get SIGKILL; the ones they forked see their
	 * control socket hang up and end by themselves. */
	for (unsigned i = 0; i < nreg; i++)
		if (reg[i].pid > 0)
			kill(reg[i].pid, SIGKILL);
	while (nreg)
		drop_entry(nreg - 1);
	/* Reap for a bounded time (subreaper: orphaned shadows come here). */
	for (int i = 0; i < 300; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0)
			break;
		if (pid == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
}

static int socket_path(char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.sock", opts.rundir, opts.name);
	return n > 0 && (size_t)n < len;
}

static void remove_socket(void)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!opts.xen && socket_path(path, sizeof path))
		unlink(path);
}

/* Local: the socket in the run directory; Xen: the xenstore watch. */
static int start_listening(void)
{
	if (opts.xen) {
		if (!vos_xen_present()) {
			vos_log("--transport xen: no Xen devices or xenstore in this domain");
			return -1;
		}
		int err = vos_xen_listen(opts.name, &xen_listener);
		if (err) {
			vos_log("cannot listen as Xen domain '%s': %s%s", opts.name, strerror(-err),
				err == -ENOENT ? " (this domain has another name)" : "");
			return -1;
		}
		listen_fd = vos_xen_listener_fd(xen_listener);
		return 0;
	}
	listen_fd = vos_local_listen(opts.rundir, opts.name);
	if (listen_fd < 0) {
		vos_log("cannot listen in '%s': %s", opts.rundir, strerror(-listen_fd));
		return -1;
	}
	if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) < 0) {
		vos_log("cannot make the socket non-blocking: %s", strerror(errno));
		remove_socket();
		return -1;
	}
	/* Any local user may connect: each shadow takes its client's
	 * kernel-verified credentials, so access control stays the kernel's. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!socket_path(path, sizeof path) || chmod(path, 0666) < 0)
		vos_log("warning: cannot make the socket usable by all users");
	return 0;
}

static void stop_listening(void)
{
	if (opts.xen) {
		vos_xen_listener_close(xen_listener);
		return;
	}
	remove_socket();
	close(listen_fd);
}

/* More descriptors: one control socket per shadow, plus connections. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (vos_optable_check())
		return 1;

	int err = opts.role->open ? opts.role->open(&opts, &root) : 0;
	if (err) {
		if (opts.role->exports_dir)
			fprintf(stderr, "vos-serviced: cannot open export root '%s': %s\n",
				opts.root_dir, strerror(-err));
		else
			fprintf(stderr, "vos-serviced: cannot start the %s role: %s\n",
				opts.role->name, strerror(-err));
		return 2;
	}
	raise_fd_limit();
	err = vos_pidmap_init();
	if (err)
		vos_log("warning: no shadow pid table (F_GETLK reports shadows' pids): %s",
			strerror(-err));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		vos_log("warning: cannot become a child subreaper: %s", strerror(errno));
	err = setup_signals();
	if (err) {
		vos_log("cannot set up signals: %s", strerror(-err));
		return 1;
	}
	/* Listen first: a second daemon of this name on this run directory
	 * stops here, before it touches the view directory. */
	if (start_listening() < 0)
		return 1;
	if (opts.role->setup)
		opts.role->setup(&opts, &root);

	struct pollfd *p = malloc((MAX_SHADOWS + MAX_HALF_OPEN + 2) * sizeof *p);
	if (!p) {
		vos_log("out of memory");
		if (opts.role->cleanup)
			opts.role->cleanup();
		stop_listening();
		return 1;
	}
	const char *how = opts.xen ? "Xen transport" : "local transport";
	if (root.mnt_len)
		vos_log("ready (%s role as %s, %s, root %s at %s, %u workers per shadow, spin %u)",
			opts.role->name, opts.name, how, opts.root_dir, opts.mount_point,
			opts.workers, opts.spin);
	else
		vos_log("ready (%s role as %s, %s, root %s, %u workers per shadow, spin %u)",
			opts.role->name, opts.name, how, opts.root_dir ? root.path : "-",
			opts.workers, opts.spin);
	for (;;) {
		uint64_t now = vos_now_ms();
		if (accept_pause_until && now >= accept_pause_until)
			accept_pause_until = 0;
		int accepting = !accept_pause_until && nhalf < MAX_HALF_OPEN;

		p[0] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = accepting ? listen_fd : -1, .events = POLLIN };
		unsigned nh = nhalf, n = nreg;
		struct pollfd *ph = p + 2, *pr = p + 2 + nh;
		for (unsigned i = 0; i < nh; i++)
			ph[i] = (struct pollfd){ .fd = half[i].sock, .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pr[i] = (struct pollfd){ .fd = reg[i].ctl, .events = POLLIN };
		if (poll(p, 2 + nh + n, poll_timeout(now)) < 0) {
			if (errno == EINTR)
				continue;
			vos_log("poll: %s", strerror(errno));
			break;
		}
		if ((p[0].revents & POLLIN) && signal_input())
			break;
		/* Control messages first: a registration must be known before a
		 * client can present its token in a hello.  Walk backwards by fd
		 * so entries moved by drop_entry are not skipped. */
		for (unsigned i = n; i-- > 0;) {
			if (!pr[i].revents)
				continue;
			for (unsigned k = 0; k < nreg; k++)
				if (reg[k].ctl == pr[i].fd) {
					ctl_input(k);
					break;
				}
		}
		/* Hellos, and connections out of time.  Backwards: drop_half
		 * moves the last entry (already seen) into the hole. */
		now = vos_now_ms();
		for (unsigned i = nh; i-- > 0;) {
			if (ph[i].revents) {
				int sock = half[i].sock;
				half[i] = half[--nhalf];        /* finish_hello owns it now */
				finish_hello(sock);
			} else if (now >= half[i].deadline) {
				vos_debug("uid %d: no hello in time", (int)half[i].uid);
				drop_half(i, -ETIMEDOUT);
			}
		}
		if ((p[1].revents & POLLIN) && !opts.xen)
			accept_new();
		if ((p[1].revents & POLLIN) && opts.xen) {
			int err = accept_xen();
			if (err) {
				vos_log("xenstore failed: %s", strerror(-err));
				break;
			}
		}
	}
	vos_log("stopping (%u shadows)", nreg);
	shutdown_all();
	while (nhalf)
		drop_half(nhalf - 1, 0);
	/* The view first: once the socket is gone a new daemon may start and
	 * attach its own view to the same directory. */
	if (opts.role->cleanup)
		opts.role->cleanup();
	stop_listening();
	vos_root_close(&root);
	free(p);
	return 0;
}
