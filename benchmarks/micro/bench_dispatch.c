/*
 * bench_dispatch - the cost of catching a system call (libvirtuos/dispatch):
 * getppid() natively, through a rewritten site (the page-0 trampoline), and
 * through the SIGSYS slow path, in the same run.
 *
 *   bench_dispatch [--reps R] [--iters N]
 *
 * Native is measured before the dispatcher is installed (it cannot be
 * uninstalled), then in the mode install chose (eager where page 0 can be
 * mapped, unless VOS_DISPATCH=lazy): the trampoline (the handler counts and
 * passes through) and the dispatcher's own gate, then the two fast paths
 * the library uses for calls that do not concern it, each in its own phase
 * (neither can be undone): the precheck saying "native", and getppid made a
 * pass-through number.  glibc's getppid() and syscall(SYS_getppid) are
 * different sites (syscall()'s sits at 7 mod 8), both are measured.  Then
 * the trap site is mapped -- a `syscall` in a read-only shared mapping, a
 * site the dispatcher cannot rewrite -- which ends eager mode: the
 * pass-through and the gate again with Syscall User Dispatch on (_lazy),
 * and the trap path.  ns per call.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench_util.h"
#include "dispatch/dispatch.h"
#include "dispatch/trap_site.h"

static volatile unsigned long calls;

static long count_handler(long nr, long a[6], void *ctx)
{
	(void)ctx;
	calls++;
	return vos_dispatch_raw(nr, a);
}

static vos_trap_site_fn trap_site;

static long trap_getppid(void)
{
	return trap_site(SYS_getppid, 0, 0, 0);
}

static double per_call_ns(long (*fn)(void), long n)
{
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		(void)fn();
	return (double)(bench_now_ns() - t0) / (double)n;
}

static long glibc_getppid(void)
{
	return getppid();
}

static long syscall_getppid(void)
{
	return syscall(SYS_getppid);
}

__attribute__((target("general-regs-only")))
static int precheck_native(long nr, const long a[6])
{
	(void)a;
	return nr == SYS_getppid;
}

static long gate_getppid(void)
{
	static const long a[6];
	return vos_dispatch_raw(SYS_getppid, a);
}

int main(int argc, char **argv)
{
	int reps = 7;
	long iters = 20000;
	static const struct option lo[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'r')
			reps = (int)bench_parse_count("--reps", optarg, 1, BENCH_MAX_REPS);
		else if (c == 'i')
			iters = bench_parse_count("--iters", optarg, 100, 100000000);
		else
			bench_die("usage: bench_dispatch [--reps R] [--iters N]");
	}
	long trap_iters = iters / 10 > 100 ? iters / 10 : 100;
	double native[BENCH_MAX_REPS], native_sc[BENCH_MAX_REPS], tramp[BENCH_MAX_REPS],
	       tramp_sc[BENCH_MAX_REPS], trap[BENCH_MAX_REPS], gate[BENCH_MAX_REPS],
	       pre[BENCH_MAX_REPS], pre_sc[BENCH_MAX_REPS], pass[BENCH_MAX_REPS],
	       pass_sc[BENCH_MAX_REPS], pass_lazy[BENCH_MAX_REPS], pass_lazy_sc[BENCH_MAX_REPS],
	       gate_lazy[BENCH_MAX_REPS];

	for (int r = 0; r < reps; r++) {
		native[r] = per_call_ns(glibc_getppid, iters);
		native_sc[r] = per_call_ns(syscall_getppid, iters);
	}
	int e = vos_dispatch_install(count_handler, NULL);
	if (e)
		bench_die("bench_dispatch: vos_dispatch_install: %s", strerror(-e));
	/* warm-up: in lazy mode the first calls trap and rewrite the sites */
	(void)glibc_getppid();
	(void)syscall_getppid();
	struct vos_dispatch_stats s0, s1, s2;
	vos_dispatch_stats(&s0);
	fprintf(stderr, "bench_dispatch: installed in %s mode%s%s%s\n",
		s0.eager ? "eager" : "lazy", s0.lazy_reason ? " (" : "",
		s0.lazy_reason ? s0.lazy_reason : "", s0.lazy_reason ? ")" : "");
	for (int r = 0; r < reps; r++) {
		tramp[r] = per_call_ns(glibc_getppid, iters);
		tramp_sc[r] = per_call_ns(syscall_getppid, iters);
		gate[r] = per_call_ns(gate_getppid, iters);
	}
	vos_dispatch_set_precheck(precheck_native);
	for (int r = 0; r < reps; r++) {
		pre[r] = per_call_ns(glibc_getppid, iters);
		pre_sc[r] = per_call_ns(syscall_getppid, iters);
	}
	vos_dispatch_set_precheck(NULL);
	vos_dispatch_passthrough(SYS_getppid);
	for (int r = 0; r < reps; r++) {
		pass[r] = per_call_ns(glibc_getppid, iters);
		pass_sc[r] = per_call_ns(syscall_getppid, iters);
	}
	vos_dispatch_stats(&s1);
	/* The trap site is shared executable memory: eager mode ends here, and
	 * Syscall User Dispatch is on from now on (lazy mode). */
	trap_site = vos_make_trap_site();
	if (!trap_site)
		bench_die("bench_dispatch: cannot map the trap-path site (memfd): %s", strerror(errno));
	for (int r = 0; r < reps; r++) {
		pass_lazy[r] = per_call_ns(glibc_getppid, iters);
		pass_lazy_sc[r] = per_call_ns(syscall_getppid, iters);
		gate_lazy[r] = per_call_ns(gate_getppid, iters);
		trap[r] = per_call_ns(trap_getppid, trap_iters);
	}
	vos_dispatch_stats(&s2);
	if (s2.mode != VOS_DISPATCH_REWRITE)
		fprintf(stderr, "bench_dispatch: no page 0: the 'trampoline' figures are the trap path too\n");
	fprintf(stderr, "bench_dispatch: %lu traps before the trap site (%lu sites rewritten at install "
		"in %lu us), %lu trampoline calls, %lu precheck-native, %lu pass-through, %lu handler "
		"calls; %.2g traps per call\n",
		(unsigned long)(s1.traps - s0.traps), (unsigned long)s0.eager_sites,
		(unsigned long)(s0.install_ns / 1000),
		(unsigned long)(s2.tramp_calls - s0.tramp_calls),
		(unsigned long)(s2.precheck_native - s0.precheck_native),
		(unsigned long)(s2.passthrough - s0.passthrough), calls,
		(double)(s2.traps - s0.traps) / (double)(s2.syscalls - s0.syscalls));
	bench_result("dispatch_tramp", "ns", native, tramp, reps);
	bench_result("dispatch_tramp_syscall", "ns", native_sc, tramp_sc, reps);
	bench_result("dispatch_precheck", "ns", native, pre, reps);
	bench_result("dispatch_precheck_syscall", "ns", native_sc, pre_sc, reps);
	bench_result("dispatch_pass", "ns", native, pass, reps);
	bench_result("dispatch_pass_syscall", "ns", native_sc, pass_sc, reps);
	bench_result("dispatch_gate", "ns", native, gate, reps);
	bench_result("dispatch_pass_lazy", "ns", native, pass_lazy, reps);
	bench_result("dispatch_pass_lazy_syscall", "ns", native_sc, pass_lazy_sc, reps);
	bench_result("dispatch_gate_lazy", "ns", native, gate_lazy, reps);
	bench_result("dispatch_trap", "ns", native, trap, reps);
	return 0;
}
