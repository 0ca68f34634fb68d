/*
 * dispatch_shim.so - libvirtuos/dispatch alone, preloaded into any program,
 * to measure what catching every system call costs a real program (`make
 * bench`: tar).  Its constructor installs the dispatcher with a handler
 * that passes every call through; VOS_SHIM says which path steady-state
 * calls take:
 *
 *   VOS_SHIM=handler    (default) every call reaches the handler: the
 *                       trampoline's full path (vector state saved)
 *   VOS_SHIM=precheck   a precheck answers "native" for every call: the
 *                       path libvirtuos takes for calls on local fds
 *   VOS_SHIM=pass       every number is a pass-through number
 *
 * VOS_SHIM_STATS=1 prints the dispatcher's counters at exit on stderr.
 * Not part of libvirtuos.so; only for benchmarks/run.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch/dispatch.h"

static long pass_handler(long nr, long a[6], void *ctx)
{
	(void)ctx;
	return vos_dispatch_raw(nr, a);
}

__attribute__((target("general-regs-only")))
static int always_native(long nr, const long a[6])
{
	(void)nr;
	(void)a;
	return 1;
}

static int stats_fd = -1;     /* a copy of stderr: programs like tar close theirs at exit */

static void print_stats(void)
{
	struct vos_dispatch_stats s;
	vos_dispatch_stats(&s);
	dprintf(stats_fd, "dispatch_shim: %llu calls, %llu traps (%.2g per call), %llu sites, "
		"%llu handler, %llu precheck-native, %llu pass-through, state save %s\n",
		(unsigned long long)s.syscalls, (unsigned long long)s.traps,
		s.syscalls ? (double)s.traps / (double)s.syscalls : 0.0,
		(unsigned long long)s.rewritten, (unsigned long long)s.tramp_calls,
		(unsigned long long)s.precheck_native, (unsigned long long)s.passthrough,
		s.state_save ? s.state_save : "-");
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *how = getenv("VOS_SHIM");
	if (how && strcmp(how, "precheck") == 0)
		vos_dispatch_set_precheck(always_native);
	else if (how && strcmp(how, "pass") == 0)
		for (long nr = 0; nr < 1024; nr++)
			vos_dispatch_passthrough(nr);
	int r = vos_dispatch_install(pass_handler, NULL);
	if (r) {
		fprintf(stderr, "dispatch_shim: vos_dispatch_install: %s\n", strerror(-r));
		exit(127);
	}
	const char *st = getenv("VOS_SHIM_STATS");
	if (st && *st == '1' && (stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 100)) >= 0)
		atexit(print_stats);
}
