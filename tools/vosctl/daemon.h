/*
 * daemon.h - how `vosctl local` supervises its service daemons: finding
 * vos-serviced and libvirtuos.so, starting one vos-serviced per service,
 * waiting until it listens, stopping it, reporting how it ended; and the
 * signal forwarding that sends a SIGTERM or SIGINT aimed at vosctl on to
 * the processes it runs.
 */
#ifndef VOSCTL_DAEMON_H
#define VOSCTL_DAEMON_H

#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/un.h>
#include "common/vosconf.h"

#define VOSCTL_PRELOAD_MAX (4 * PATH_MAX)

/* One service daemon: a vos-serviced process serving one service line. */
struct vosctl_daemon {
	char name[VOS_CONF_NAME_MAX];   /* the service's name (its socket: <rundir>/<name>.sock) */
	const char *role;               /* its --role */
	int exports_dir;                /* it has a route (storage): --root, --mount-point */
	char root[PATH_MAX];            /* the export root, absolute ("" if none) */
	int root_is_temp;               /* created by vosctl, removed afterwards */
	char mount_point[PATH_MAX];     /* its first route prefix */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char pidfile[PATH_MAX + VOS_CONF_NAME_MAX + 8];
	int pidfile_written;
	char log[PATH_MAX + VOS_CONF_NAME_MAX + 8];    /* its output ("" = vosctl's stderr) */
	pid_t pid;                      /* running (or not yet reaped) if > 0 */
	int status;                     /* wait status, once reaped */
	int died;                       /* it ended before vosctl asked it to */
};

/* What every daemon of a session shares. */
struct vosctl_launch {
	char serviced[PATH_MAX];        /* the vos-serviced binary */
	const char *rundir;
	const char *workers;            /* --workers, or NULL */
	int net_namespace;              /* network services in a network namespace of their own */
	int own_group;                  /* a process group of its own (see start) */
};

/* vos-serviced next to vosctl (or $VOS_SERVICED).  0 or -1 after an error. */
int vosctl_find_serviced(char *out, size_t len);
/* The preload list, absolute, space separated: libvirtuos.so in ../lib (or
 * $VOS_LIBVIRTUOS).  0 or -1 after an error. */
int vosctl_find_preload(char *out, size_t len);
/* Is something listening on the Unix socket at path?  1 yes, 0 no, -1
 * cannot tell (read from /proc/net/unix: checking does not connect). */
int vosctl_socket_listening(const char *path);
/* The same in the network namespace of process pid (0: vosctl's). */
int vosctl_socket_listening_in(pid_t pid, const char *path);

/*
 * Start d: `vos-serviced --role ROLE --name NAME --root DIR --rundir DIR
 * --mount-point PREFIX [--workers N]`, output to d->log if set.  With
 * own_group it gets its own process group, so that a Ctrl-C meant for the
 * command does not take the service down under its feet; it dies with
 * vosctl in any case (PR_SET_PDEATHSIG).  0 or -1 after reporting.
 */
int vosctl_daemon_start(const struct vosctl_launch *l, struct vosctl_daemon *d);
/* Wait until d listens (bounded).  0, or -1 after reporting which service
 * failed and showing its log; d is then reaped or still to be stopped. */
int vosctl_daemon_wait_ready(struct vosctl_daemon *d);
/* Stop every running daemon of d[0..n-1]: SIGTERM, then SIGKILL after a
 * grace period.  Each gets pid 0, its wait status and `died`. */
void vosctl_daemons_stop(struct vosctl_daemon *d, int n);
/* Did d end the way a stop asks it to (exit 0, or SIGTERM)? */
int vosctl_daemon_clean_exit(const struct vosctl_daemon *d);
/* Write d's pid to d->pidfile.  0 or -1 after reporting. */
int vosctl_daemon_write_pidfile(struct vosctl_daemon *d);
/* Copy a daemon's log to stderr (nothing if log is ""). */
void vosctl_show_log(const char *log);
/* "exit status N", "killed by signal N (NAME)". */
void vosctl_describe_status(int status, char *buf, size_t len);

/* ---- signals ---------------------------------------------------------- */

/* Handle SIGINT, SIGTERM, SIGHUP and SIGQUIT: record the last one, and
 * pass one another process sent on to the forwarding targets (one the
 * terminal generated already reached the whole foreground group). */
void vosctl_signals_install(void);
/* Block those signals (around a fork); old gets the previous mask. */
void vosctl_signals_block(sigset_t *old);
/* In a child about to exec: default dispositions, nothing blocked. */
void vosctl_signals_reset_in_child(void);
/* Where forwarded signals go from now on (n = 0: nowhere). */
void vosctl_signals_forward_to(const pid_t *pids, int n);
/* The last of those signals received, or 0. */
int vosctl_last_signal(void);

#endif
