/*
 * main.c - `vosctl`: run programs under VirtuOS-NG and manage its services.
 *
 * This file only parses the first word and hands over: local mode lives in
 * local.c, Xen mode in xen.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "vosctl.h"

static void usage(FILE *f)
{
	fputs("usage: vosctl COMMAND [ARGS...]\n"
	      "\n"
	      "Local mode (each service of the config is a process on this host):\n"
	      "  vosctl local run [OPTIONS] [--] CMD [ARGS...]\n"
	      "        start the services, run CMD with their files (/storage by default)\n"
	      "        behind it, stop the services; exit with CMD's status\n"
	      "  vosctl local serve [--root NAME=DIR]... [--rundir DIR] [--workers N]\n"
	      "        run the services in the foreground until interrupted\n"
	      "  vosctl local env --rundir DIR [--config FILE]\n"
	      "        print the shell `export` lines that put a program under a running service\n"
	      "  vosctl local run --help   (the options of each subcommand)\n"
	      "\n"
	      "Xen mode (the guest set under QEMU):\n"
	      "  vosctl up [--shell | --exec 'COMMAND']   boot the guest set\n"
	      "  vosctl down                              stop it\n"
	      "  vosctl status                            domains, their state, and each client\n"
	      "                                           channel: dom0 pid, program, uid, domain,\n"
	      "                                           channel state (stale clients are reaped)\n"
	      "  vosctl shell                             a shell in the primary domain\n"
	      "  vosctl exec 'COMMAND'                    run COMMAND in the primary domain\n"
	      "  vosctl kill|restart storage|network      destroy / destroy+create a service domain\n"
	      "  vosctl logs [N]                          last N console lines of every domain\n"
	      "\n"
	      "  vosctl --help                            this text\n"
	      "\n"
	      "Exit status: 2 for a usage or setup error, else the status of the program run.\n",
	      f);
}

const char *vosctl_bindir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n <= 0) {
		strcpy(dir, ".");
		return dir;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';      /* the binary is in "/" */
	else
		*slash = '\0';
	return dir;
}

int main(int argc, char **argv)
{
	static const char *const xen_cmds[] = { "up", "down", "status", "shell", "exec",
						 "kill", "restart", "logs" };
	const char *cmd;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return VOSCTL_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "local"))
		return vosctl_local_main(argc - 1, argv + 1);
	for (i = 0; i < sizeof xen_cmds / sizeof xen_cmds[0]; i++)
		if (!strcmp(cmd, xen_cmds[i]))
			return vosctl_xen_main(cmd, argc - 1, argv + 1);

	fprintf(stderr, "vosctl: unknown command '%s' (try: vosctl --help)\n", cmd);
	return VOSCTL_EXIT_USAGE;
}
