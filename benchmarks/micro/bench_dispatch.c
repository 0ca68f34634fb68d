/*
 * bench_dispatch - the cost of catching a system call (libvirtuos/dispatch):
 * getppid() natively, through a rewritten site (the page-0 trampoline), and
 * through the SIGSYS slow path, in the same run.
 *
 *   bench_dispatch [--reps R] [--iters N]
 *
 * Native is measured before the dispatcher is installed (it cannot be
 * uninstalled), then, per repetition, the trampoline and the trap path
 * interleaved.  The handler counts and passes through.  Then the two fast
 * paths the library uses for calls that do not concern it, each in its own
 * phase (neither can be undone): the precheck saying "native", and getppid
 * made a pass-through number.  glibc's getppid() and syscall(SYS_getppid)
 * are different sites (syscall()'s sits at 7 mod 8), both are measured.  The trap path uses
 * a `syscall` in a read-only shared mapping, a site the dispatcher cannot
 * rewrite.
 * ns per call; also the dispatcher's own gate after install (info).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench_util.h"
#include "dispatch/dispatch.h"

static volatile unsigned long calls;

static long count_handler(long nr, long a[6], void *ctx)
{
	(void)ctx;
	calls++;
	return vos_dispatch_raw(nr, a);
}

/*
 * A `syscall` site the dispatcher cannot rewrite, so it stays on the SIGSYS
 * path: `long f(nr, a0, a1, a2)` = mov rdi,rax; mov rsi,rdi; mov rdx,rsi;
 * mov rcx,rdx; syscall; ret, in a shared mapping of a memfd reopened
 * read-only (mprotect cannot make it writable).  NULL if that fails.
 */
typedef long (*trap_site_fn)(long nr, long a0, long a1, long a2);
static trap_site_fn make_trap_site(void)
{
	static const unsigned char code[] = { 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6,
					      0x48, 0x89, 0xca, 0x0f, 0x05, 0xc3 };
	char path[64];
	int fd = memfd_create("vos-trap-site", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = -1;
	void *p = MAP_FAILED;
	if (ftruncate(fd, 4096) == 0 && pwrite(fd, code, sizeof(code), 0) == (ssize_t)sizeof(code) &&
	    (ro = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, ro, 0);
	if (ro >= 0)
		close(ro);
	close(fd);
	return p == MAP_FAILED ? NULL : (trap_site_fn)p;
}

static trap_site_fn trap_site;

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
	       pass_sc[BENCH_MAX_REPS];

	for (int r = 0; r < reps; r++) {
		native[r] = per_call_ns(glibc_getppid, iters);
		native_sc[r] = per_call_ns(syscall_getppid, iters);
	}
	trap_site = make_trap_site();
	if (!trap_site)
		bench_die("bench_dispatch: cannot map the trap-path site (memfd): %s", strerror(errno));
	int e = vos_dispatch_install(count_handler, NULL);
	if (e)
		bench_die("bench_dispatch: vos_dispatch_install: %s", strerror(-e));
	/* warm-up: the first calls trap and rewrite the sites */
	(void)glibc_getppid();
	(void)syscall_getppid();
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	for (int r = 0; r < reps; r++) {
		tramp[r] = per_call_ns(glibc_getppid, iters);
		tramp_sc[r] = per_call_ns(syscall_getppid, iters);
		trap[r] = per_call_ns(trap_getppid, trap_iters);
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
	if (s1.mode != VOS_DISPATCH_REWRITE)
		fprintf(stderr, "bench_dispatch: no page 0: the 'trampoline' figures are the trap path too\n");
	fprintf(stderr, "bench_dispatch: %lu traps, %lu trampoline calls, %lu precheck-native, "
		"%lu pass-through, %lu handler calls; %.2g traps per call\n",
		(unsigned long)(s1.traps - s0.traps), (unsigned long)(s1.tramp_calls - s0.tramp_calls),
		(unsigned long)(s1.precheck_native - s0.precheck_native),
		(unsigned long)(s1.passthrough - s0.passthrough), calls,
		(double)(s1.traps - s0.traps) / (double)(s1.syscalls - s0.syscalls));
	bench_result("dispatch_tramp", "ns", native, tramp, reps);
	bench_result("dispatch_tramp_syscall", "ns", native_sc, tramp_sc, reps);
	bench_result("dispatch_precheck", "ns", native, pre, reps);
	bench_result("dispatch_precheck_syscall", "ns", native_sc, pre_sc, reps);
	bench_result("dispatch_pass", "ns", native, pass, reps);
	bench_result("dispatch_pass_syscall", "ns", native_sc, pass_sc, reps);
	bench_result("dispatch_trap", "ns", native, trap, reps);
	bench_result("dispatch_gate", "ns", native, gate, reps);
	return 0;
}
