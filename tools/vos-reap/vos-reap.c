/*
 * vos-reap - dom0 housekeeping for the Xen transport: remove the xenstore
 * nodes (frontend and backend dir) of client channels whose dom0 process no
 * longer exists.
 *
 * A client that exits normally removes its own nodes; a killed one cannot.
 * Its nodes would stay forever: `vosctl status` would list a client that is
 * gone, and the service domain's backend dirs count against that domain's
 * xenstore quota, so enough killed clients would stop new ones from
 * connecting.  The work itself is vos_xen_reap_stale() in the transport
 * (it knows the node layout); this is only the program around it.
 *
 *   vos-reap                 one pass, then exit (vosctl status runs this
 *                            first, so that it never lists a dead client)
 *   vos-reap --every S       a pass every S seconds, forever (dom0's inittab
 *                            respawns it: nodes never pile up between two
 *                            status calls)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "channel/transport_xen.h"

#define MAX_INTERVAL_S 3600

static void usage(FILE *f)
{
	fputs("usage: vos-reap [--every SECONDS] [--quiet]\n"
	      "  Remove the xenstore nodes of Xen-transport client channels whose dom0\n"
	      "  process has died (killed clients cannot clean up after themselves).\n"
	      "  Runs in dom0, as root.\n"
	      "  --every S   repeat every S seconds (1..3600) until killed; default: once\n"
	      "  --quiet     say nothing when channels are removed (errors are still printed)\n"
	      "  --help      this text\n"
	      "Exit status: 0, 1 if xenstore could not be read (one pass), 2 for bad usage.\n",
	      f);
}

/* One pass: 0, or -1 if xenstore failed (said on stderr). */
static int reap_once(int quiet)
{
	int n = vos_xen_reap_stale();

	if (n < 0) {
		fprintf(stderr, "vos-reap: cannot read the client channels in xenstore: %s\n",
			strerror(-n));
		return -1;
	}
	if (n > 0 && !quiet) {
		time_t now = time(NULL);
		char when[32];

		strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
		printf("vos-reap: %s removed %d stale client channel%s (process gone)\n",
		       when, n, n == 1 ? "" : "s");
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "every", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long every = 0;
	int quiet = 0, c;

	while ((c = getopt_long(argc, argv, "e:qh", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'e':
			errno = 0;
			every = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || every < 1 || every > MAX_INTERVAL_S) {
				fprintf(stderr, "vos-reap: bad number of seconds '%s' (1..%d)\n",
					optarg, MAX_INTERVAL_S);
				return 2;
			}
			break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vos-reap: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!vos_xen_present()) {
		fprintf(stderr, "vos-reap: no Xen here (needs dom0's /dev/xen and xenstore)\n");
		return 1;
	}
	if (!every)
		return reap_once(quiet) < 0 ? 1 : 0;
	/* A failed pass (xenstored restarting, say) is not fatal: try again
	 * at the next tick. */
	for (;;) {
		reap_once(quiet);
		sleep((unsigned)every);
	}
}
