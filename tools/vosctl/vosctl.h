/*
 * vosctl.h - what the pieces of the vosctl command share.
 *
 *   main.c   top-level help and dispatch
 *   local.c  local mode: `vosctl local run|serve|env` (each service of the
 *            config is a vos-serviced process on this host)
 *   daemon.c starting, waiting for and stopping those processes
 *   xen.c    Xen mode: `vosctl up|down|status|shell|exec` (the guest set
 *            under QEMU)
 *
 * Exit codes follow one rule everywhere: 2 for a usage or setup error
 * (bad option, bad config, missing directory, daemon that does not start);
 * otherwise the status of the program that was run.
 */
#ifndef VOSCTL_H
#define VOSCTL_H

#define VOSCTL_EXIT_USAGE 2

/* `vosctl local SUBCMD ...`: argv[0] is "local". */
int vosctl_local_main(int argc, char **argv);

/* `vosctl SUBCMD ...` for the Xen-mode subcommands (up, down, status, shell,
 * exec).  argv[0] is SUBCMD itself, argv[1..argc-1] its arguments. */
int vosctl_xen_main(const char *subcmd, int argc, char **argv);

/* Directory holding the running vosctl binary (from /proc/self/exe), without
 * a trailing slash.  Never NULL: falls back to ".". */
const char *vosctl_bindir(void);

#endif
