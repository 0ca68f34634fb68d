/*
 * main.c - vos-serviced: arguments, the daemon loop, the registry of shadows.
 *
 * The daemon never touches a channel.  It accepts connections on
 * <rundir>/<role>.sock and routes each one:
 *   VOS_HELLO_NEW        fork a new shadow (shadow.c) for the client
 *   VOS_HELLO_CLAIM      hand the connection to the pending shadow whose
 *                        token it names (a forked client's child)
 *   VOS_HELLO_FORK_LIVE  hand it to the live shadow whose channel token it
 *                        names; that shadow forks a copy for the new client
 * Each shadow has a control socket to the daemon (registry entry).  A shadow
 * that ends closes it, which is how its entry goes away; the daemon reaps
 * shadows (it is a child subreaper, so shadows forked by shadows come back
 * to it when their parent shadow ends).
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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serviced.h"

#define MAX_SHADOWS   4096
#define MAX_WORKERS   64
#define DEFAULT_SPIN  2000

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
	enum ent_state state;
	uint8_t token[VOS_TOKEN_LEN];
};

static struct entry reg[MAX_SHADOWS];
static unsigned nreg;
static uint64_t next_id = 1;

static struct vos_serviced_opts opts = {
	.workers = 2, .spin = DEFAULT_SPIN, .pending_ms = VOS_PENDING_TIMEOUT_MS,
};
static struct vos_root root = { .fd = -1 };
static int listen_fd = -1, sig_fd = -1;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vos-serviced --role storage --root DIR --rundir DIR\n"
		"                    [--workers N] [--spin N] [--pending-timeout MS] [--verbose]\n"
		"\n"
		"Serves forwarded system calls for the files under DIR (the export root).\n"
		"Clients connect at RUNDIR/storage.sock; each gets a shadow process with\n"
		"its credentials and N worker threads (default 2) that spin N iterations\n"
		"(default %d) before sleeping.  A shadow forked for a client's fork waits\n"
		"MS milliseconds (default %d) for the child to claim it.  Runs until\n"
		"SIGTERM or SIGINT.\n",
		DEFAULT_SPIN, VOS_PENDING_TIMEOUT_MS);
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
		{ "workers", required_argument, NULL, 'w' },
		{ "spin", required_argument, NULL, 's' },
		{ "pending-timeout", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 'R': opts.root_dir = optarg; break;
		case 'd': opts.rundir = optarg; break;
		case 'w': opts.workers = parse_count(optarg, "bad --workers value '%s' (1..64)", 1, MAX_WORKERS); break;
		case 's': opts.spin = parse_count(optarg, "bad --spin value '%s'", 0, 100000000); break;
		case 'p': opts.pending_ms = parse_count(optarg, "bad --pending-timeout value '%s' (100..600000)", 100, 600000); break;
		case 'v': vos_verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		case ':': bad_usage("option %s needs a value", argv[optind - 1]);
		default: bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!role)
		bad_usage("%s", "--role is required");
	if (strcmp(role, "storage") != 0)
		bad_usage("unsupported role '%s' (this build serves: storage)", role);
	if (!opts.root_dir)
		bad_usage("%s", "--root is required");
	if (!opts.rundir)
		bad_usage("%s", "--rundir is required");

	struct stat st;
	if (stat(opts.root_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		bad_usage("export root '%s' is not a directory", opts.root_dir);
	if (stat(opts.rundir, &st) < 0 || !S_ISDIR(st.st_mode))
		bad_usage("run directory '%s' is not a directory", opts.rundir);
}

/* ---- registry ------------------------------------------------------------ */

static struct entry *add_entry(int ctl, enum ent_state state, const uint8_t *token,
			       pid_t pid, uint64_t parent_id)
{
	if (nreg == MAX_SHADOWS)
		return NULL;
	/* Never block on a shadow: a full socket fails the one handoff. */
	fcntl(ctl, F_SETFL, O_NONBLOCK);
	struct entry *e = &reg[nreg++];
	memset(e, 0, sizeof *e);
	e->id = next_id++;
	e->parent_id = parent_id;
	e->ctl = ctl;
	e->pid = pid;
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

/* Handle what arrived on entry i's control socket; drops the entry (and
 * returns 0) when the shadow is gone, else returns 1. */
static int ctl_input(unsigned i)
{
	for (;;) {
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
						 m.token, 0, sender)) {
				vos_log("cannot register a forked shadow (table full?)");
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
		for (unsigned i = 0; i < nreg; i++)
			if (reg[i].pid == pid) {
				drop_entry(i);
				break;
			}
	}
}

/* ---- connections --------------------------------------------------------- */

static void refuse(struct vos_local_conn *conn, int status)
{
	struct vos_hello_reply rep = { .status = status };
	(void)vos_local_reply(conn, &rep);
}

static void new_shadow(struct vos_local_conn *conn)
{
	uint8_t token[VOS_TOKEN_LEN];
	int sp[2];
	int err = nreg == MAX_SHADOWS ? -EAGAIN : vos_random_token(token);

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
	add_entry(sp[0], ENT_LIVE, token, pid, 0);
	vos_debug("client pid %d uid %d: shadow %d", (int)conn->cred.pid, (int)conn->cred.uid, (int)pid);
}

static void hand_over(struct vos_local_conn *conn, enum ent_state state)
{
	int i = find_token(conn->hello.token, state);
	if (i < 0) {
		drain_ctl();        /* the registration may be waiting unread */
		i = find_token(conn->hello.token, state);
	}
	if (i < 0) {
		refuse(conn, -ENOENT);
		return;
	}
	int err = vos_local_conn_send(reg[i].ctl, conn);
	if (err) {
		refuse(conn, err == -EPIPE || err == -ECONNRESET ? -ENOENT : err);
		return;
	}
	if (state == ENT_PENDING)
		reg[i].state = ENT_CLAIMING;
	vos_debug("client pid %d: handed to shadow entry %llu", (int)conn->cred.pid,
		  (unsigned long long)reg[i].id);
}

static void accept_one(void)
{
	struct vos_local_conn conn;

	if (vos_local_accept(listen_fd, &conn) < 0)
		return;         /* the client was told (if it could be) */
	switch (conn.hello.kind) {
	case VOS_HELLO_NEW:
		new_shadow(&conn);
		break;
	case VOS_HELLO_CLAIM:
		hand_over(&conn, ENT_PENDING);
		break;
	case VOS_HELLO_FORK_LIVE:
		hand_over(&conn, ENT_LIVE);
		break;
	default:
		refuse(&conn, -EPROTO);
		break;
	}
	vos_local_conn_close(&conn);
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
	int n = snprintf(buf, len, "%s/storage.sock", opts.rundir);
	return n > 0 && (size_t)n < len;
}

static void remove_socket(void)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (socket_path(path, sizeof path))
		unlink(path);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);

	int err = vos_root_open(&root, opts.root_dir);
	if (err) {
		fprintf(stderr, "vos-serviced: cannot open export root '%s': %s\n",
			opts.root_dir, strerror(-err));
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		vos_log("warning: cannot become a child subreaper: %s", strerror(errno));
	err = setup_signals();
	if (err) {
		vos_log("cannot set up signals: %s", strerror(-err));
		return 1;
	}
	listen_fd = vos_local_listen(opts.rundir, "storage");
	if (listen_fd < 0) {
		vos_log("cannot listen in '%s': %s", opts.rundir, strerror(-listen_fd));
		return 1;
	}
	/* Any local user may connect: each shadow takes its client's
	 * kernel-verified credentials, so access control stays the kernel's. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!socket_path(path, sizeof path) || chmod(path, 0666) < 0)
		vos_log("warning: cannot make the socket usable by all users");
	vos_log("ready (root %s, %u workers per shadow, spin %u)", root.path,
		opts.workers, opts.spin);

	struct pollfd *p = malloc((MAX_SHADOWS + 2) * sizeof *p);
	if (!p) {
		vos_log("out of memory");
		remove_socket();
		return 1;
	}
	for (;;) {
		p[0] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		unsigned n = nreg;
		for (unsigned i = 0; i < n; i++)
			p[2 + i] = (struct pollfd){ .fd = reg[i].ctl, .events = POLLIN };
		if (poll(p, 2 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			vos_log("poll: %s", strerror(errno));
			break;
		}
		if ((p[0].revents & POLLIN) && signal_input())
			break;
		/* Control messages first: a registration must be known before a
		 * client can present its token on the listening socket.  Walk
		 * backwards by fd so entries moved by drop_entry are not skipped. */
		for (unsigned i = n; i-- > 0;) {
			if (!p[2 + i].revents)
				continue;
			for (unsigned k = 0; k < nreg; k++)
				if (reg[k].ctl == p[2 + i].fd) {
					ctl_input(k);
					break;
				}
		}
		if (p[1].revents & POLLIN)
			accept_one();
	}
	vos_log("stopping (%u shadows)", nreg);
	shutdown_all();
	remove_socket();
	close(listen_fd);
	vos_root_close(&root);
	free(p);
	return 0;
}
