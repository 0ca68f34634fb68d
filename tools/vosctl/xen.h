/*
 * xen.h - what the Xen-mode pieces of vosctl share.
 *
 *   xen.c          the subcommands (up, down, status, shell, exec, kill,
 *                  restart, logs): images, QEMU, waiting for the domains
 *   xen_agent.c    running a command in dom0 through its control agent
 *   xen_console.c  attaching the terminal to dom0's serial console
 *
 * QEMU runs detached; everything about one running guest set lives in its run
 * directory (build/xen/run): qemu.pid, console.sock/console.log (serial 0:
 * Xen and dom0's console), control.sock (serial 1: vos-agent), monitor.sock.
 */
#ifndef VOSCTL_XEN_H
#define VOSCTL_XEN_H

#include <signal.h>
#include <stddef.h>

/*
 * Run COMMAND with /bin/sh in dom0 through vos-agent on the control socket
 * SOCK_PATH.  The command's output (stdout and stderr together) is written to
 * OUT_FD as it arrives (OUT_FD < 0 discards it).  Waits at most TIMEOUT_MS
 * in total.  Returns the command's exit status (0..255), or -errno: -ETIMEDOUT
 * when dom0 did not finish in time, -ECONNREFUSED/-ENOENT when the guest set
 * is not running, -EPROTO on a garbled answer.
 */
int xen_agent_run(const char *sock_path, const char *command, int out_fd,
		  int timeout_ms);

/*
 * Attach this terminal to the serial console behind SOCK_PATH until the user
 * types Ctrl-] (or stdin ends, or the console goes away).  Returns 0, or
 * -errno if the console cannot be reached.
 */
int xen_console_attach(const char *sock_path);

/* Set by SIGINT/SIGTERM/SIGHUP while vosctl waits: waits give up (-EINTR). */
extern volatile sig_atomic_t xen_stop_requested;

/* Connect a stream socket to the Unix socket PATH; returns the fd or -errno. */
int xen_unix_connect(const char *path);

/* Write all n bytes of buf to fd (retrying short writes and EINTR).  0 or
 * -errno. */
int xen_write_all(int fd, const char *buf, size_t n);

#endif
