/*
 * dispatch.c - Syscall User Dispatch, lazy rewriting of `syscall` sites into
 * `call *%rax`, and the paths that must stay on the SIGSYS side (clone, fork,
 * vfork, clone3, rt_sigreturn).  Contract in dispatch.h, design in README.md.
 */
#include <cpuid.h>
#include <errno.h>
#include <linux/prctl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include "dispatch/dispatch.h"

#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

/* gate.S */
extern char vos_dispatch_gate_start[], vos_dispatch_gate_end[];
extern char vos_dispatch_bounce_end[];
extern char vos_dispatch_tramp_entry[], vos_dispatch_tramp_entry_c[];
void vos_dispatch_restorer(void);
long vos_dispatch_clone_raw(long flags, long *block, long ptid, long ctid, long tls);

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000   /* the kernel's, not in glibc's headers */
#endif

#define SLED 1024               /* page 0: nops for every nr below this, then a jump */

/* The selector byte Syscall User Dispatch reads, one per thread.  ALLOW (0)
 * while the dispatcher itself runs, so its own calls and the handler's are
 * never trapped; BLOCK while the program runs. */
static __thread volatile char selector __attribute__((tls_model("initial-exec")));

static vos_dispatch_fn handler;
static void *handler_ctx;
static _Atomic int mode;
static _Atomic uint64_t n_traps, n_rewritten, n_tramp, n_refused;
static atomic_flag rewrite_lock = ATOMIC_FLAG_INIT;

struct ksigaction {             /* the kernel's struct sigaction */
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	return vos_dispatch_raw(nr, a);
}

static void say(const char *msg)
{
	raw(SYS_write, 2, (long)msg, (long)strlen(msg), 0, 0, 0);
}

/* Turn dispatch on for the calling thread, with its own selector. */
static int arm_thread(char sel)
{
	selector = sel;
	return (int)raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			(long)vos_dispatch_gate_start,
			(long)(vos_dispatch_gate_end - vos_dispatch_gate_start), (long)&selector, 0);
}

/* A new thread started by vos_dispatch_clone_raw, on its own stack and TLS. */
__attribute__((force_align_arg_pointer)) void vos_dispatch_child_start(unsigned long mask);
__attribute__((force_align_arg_pointer)) void vos_dispatch_child_start(unsigned long mask)
{
	/* It inherited the SIGSYS handler's mask (everything blocked). */
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, 8, 0, 0);
	arm_thread(SYSCALL_DISPATCH_FILTER_BLOCK);
}

/* What the module adjusts before the handler sees a call. */
static long call_handler(long nr, long a[6])
{
	if (nr == SYS_rt_sigaction && a[0] == SIGSYS && a[1]) {
		/* The dispatcher owns SIGSYS: a second handler would break it. */
		if (atomic_fetch_add(&n_refused, 1) == 0)
			say("libvirtuos: dispatch: the program's SIGSYS handler is refused (EINVAL)\n");
		return -EINVAL;
	}
	unsigned long set;
	if (nr == SYS_rt_sigprocmask && a[1] && a[0] != SIG_UNBLOCK) {
		/* A blocked SIGSYS would make the next trap fatal: never block it. */
		memcpy(&set, (void *)a[1], sizeof(set));
		set &= ~(1ul << (SIGSYS - 1));
		a[1] = (long)&set;
	}
	return handler(nr, a, handler_ctx);
}

/* Rewrite the `syscall` at site into `call *%rax`, with one atomic store. */
static void try_rewrite(uintptr_t site, long nr)
{
	if (atomic_load(&mode) != VOS_DISPATCH_REWRITE || nr < 0 || nr >= SLED)
		return;
	unsigned off = site & 7;
	if (off == 7)           /* straddles an 8-byte word: stays on the trap path */
		return;
	uintptr_t word = site - off, page = word & ~(uintptr_t)4095;
	while (atomic_flag_test_and_set_explicit(&rewrite_lock, memory_order_acquire))
		;
	if (raw(SYS_mprotect, (long)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0) == 0) {
		uint64_t old = __atomic_load_n((uint64_t *)word, __ATOMIC_RELAXED), new = old;
		unsigned char *b = (unsigned char *)&new;
		if (b[off] == 0x0f && b[off + 1] == 0x05) {
			b[off] = 0xff;
			b[off + 1] = 0xd0;
			if (__atomic_compare_exchange_n((uint64_t *)word, &old, new, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				atomic_fetch_add(&n_rewritten, 1);
		}
		/* Text is mapped r-x; the rewritten page goes back to that. */
		raw(SYS_mprotect, (long)page, 4096, PROT_READ | PROT_EXEC, 0, 0, 0);
	}
	atomic_flag_clear_explicit(&rewrite_lock, memory_order_release);
}

/* [core, issue 8: minimal fork hooks until the fastpath branch lands its own.] */
static struct vos_dispatch_fork_hooks fork_hooks;

void vos_dispatch_set_fork_hooks(const struct vos_dispatch_fork_hooks *h)
{
	if (h)
		fork_hooks = *h;
	else
		memset(&fork_hooks, 0, sizeof(fork_hooks));
}

/* A new process sharing nothing (fork, vfork run as fork, clone without a
 * stack): clone(flags, 0, a[2], a[3], a[4]) with the hooks around it. */
static long fork_with_hooks(long flags, long a[6])
{
	long r;

	if (fork_hooks.prepare)
		fork_hooks.prepare((unsigned long)flags);
	r = raw(SYS_clone, flags, 0, a[2], a[3], a[4], 0);
	if (r == 0) {
		arm_thread(SYSCALL_DISPATCH_FILTER_ALLOW);
		if (fork_hooks.child)
			fork_hooks.child((unsigned long)flags);
	} else if (fork_hooks.parent) {
		fork_hooks.parent((unsigned long)flags, r);
	}
	return r;
}

/* clone(2) from the SIGSYS handler. */
static long do_clone(ucontext_t *uc, long a[6])
{
	greg_t *g = uc->uc_mcontext.gregs;
	long flags = a[0], sp = a[1];
	if (!sp) {
		if (flags & CLONE_VM) {
			if (!(flags & CLONE_VFORK))
				return -EINVAL;   /* shared memory on the same stack: unsupported */
			flags &= ~(long)(CLONE_VM | CLONE_VFORK);   /* vfork runs as fork */
		}
		return fork_with_hooks(flags, a);
	}
	/* New stack: the child starts in vos_dispatch_clone_raw with a register
	 * block below the stack it asked for (see gate.S). */
	long *top = (long *)(sp & ~15L);
	if ((long)top != sp)
		return -EINVAL;
	long *blk = top - 18;
	static const int order[15] = { REG_R15, REG_R14, REG_R13, REG_R12, REG_RBP, REG_RBX,
				       REG_R11, REG_R10, REG_R9, REG_R8, REG_RDI, REG_RSI,
				       REG_RDX, REG_RCX, REG_EFL };
	memcpy(&blk[0], &uc->uc_sigmask, 8);
	blk[1] = 0;
	for (int i = 0; i < 15; i++)
		blk[2 + i] = g[order[i]];
	blk[17] = g[REG_RIP];
	return vos_dispatch_clone_raw(flags, blk, a[2], a[3], a[4]);
}

/* rt_sigreturn that trapped: load the program's signal frame (at %rsp) into
 * our own, so returning from the SIGSYS handler resumes what it interrupted. */
static void do_sigreturn(ucontext_t *uc)
{
	ucontext_t *user = (ucontext_t *)uc->uc_mcontext.gregs[REG_RSP];
	unsigned char *dst = (unsigned char *)uc->uc_mcontext.fpregs;
	unsigned char *src = (unsigned char *)user->uc_mcontext.fpregs;
	memcpy(uc->uc_mcontext.gregs, user->uc_mcontext.gregs, sizeof(gregset_t));
	memcpy(&uc->uc_sigmask, &user->uc_sigmask, 8);
	if (dst && src) {
		uint32_t m1, m2, size = 512;
		memcpy(&m1, dst + 464, 4);
		memcpy(&m2, src + 464, 4);
		if (m1 == 0x46505853u && m2 == m1)      /* FP_XSTATE_MAGIC1: xsave frames */
			memcpy(&size, dst + 480, 4);    /* xstate_size */
		memmove(dst, src, size);
	}
}

/*
 * Run the handler with the signal mask the program had, not the SIGSYS
 * handler's (everything blocked): a blocking call must be interruptible
 * (EINTR, SA_RESTART) as natively, and rt_sigprocmask must read and change
 * the program's mask.  Whatever mask the call leaves is what the program
 * gets back when the SIGSYS handler returns.
 */
static long call_with_program_mask(ucontext_t *uc, long nr, long a[6])
{
	unsigned long all = ~0ul;
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&uc->uc_sigmask, 0, 8, 0, 0);
	long r = call_handler(nr, a);
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&uc->uc_sigmask, 8, 0, 0);
	return r;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	if (si->si_code != SYS_USER_DISPATCH) {
		say("libvirtuos: dispatch: SIGSYS not from Syscall User Dispatch (seccomp?)\n");
		raw(SYS_exit_group, 128 + SIGSYS, 0, 0, 0, 0, 0);
	}
	atomic_fetch_add_explicit(&n_traps, 1, memory_order_relaxed);
	long nr = g[REG_RAX];
	bool bounced = (char *)g[REG_RIP] == vos_dispatch_bounce_end;
	if (bounced) {          /* from the trampoline: drop the call's return address */
		g[REG_RIP] = *(greg_t *)g[REG_RSP];
		g[REG_RSP] += 8;
	}
	long a[6] = { g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9] };
	switch (nr) {
	case SYS_clone:
		g[REG_RAX] = do_clone(uc, a);
		break;
	case SYS_clone3:
		g[REG_RAX] = -ENOSYS;   /* glibc falls back to clone */
		break;
	case SYS_fork:
	case SYS_vfork: {
		long f[6] = { SIGCHLD, 0, 0, 0, 0, 0 };

		g[REG_RAX] = fork_with_hooks(SIGCHLD, f);
		break;
	}
	case SYS_rt_sigreturn:
		do_sigreturn(uc);
		break;
	default:
		if (!bounced)
			try_rewrite((uintptr_t)g[REG_RIP] - 2, nr);
		g[REG_RAX] = call_with_program_mask(uc, nr, a);
	}
	selector = SYSCALL_DISPATCH_FILTER_BLOCK;
}

/* From the trampoline (gate.S): regs are the six argument registers. */
long vos_dispatch_from_tramp(long nr, long *regs);
long vos_dispatch_from_tramp(long nr, long *regs)
{
	if (selector == SYSCALL_DISPATCH_FILTER_ALLOW)  /* the dispatcher's own call */
		return vos_dispatch_raw(nr, regs);
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	atomic_fetch_add_explicit(&n_tramp, 1, memory_order_relaxed);
	long a[6];
	memcpy(a, regs, sizeof(a));
	long r = call_handler(nr, a);
	selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return r;
}

/* Page 0: a nop sled for every nr < SLED, then `movabs $entry, %r11; jmp *%r11`. */
static bool map_page0(void)
{
	unsigned eax, ebx, ecx, edx;
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) || ebx == 0 || ebx > 4096 - 64)
		return false;   /* no xsave, or an area bigger than the trampoline reserves */
	long p = raw(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != 0) {
		if (p > 0)
			raw(SYS_munmap, p, 4096, 0, 0, 0, 0);
		return false;
	}
	/* The compiler treats a store to address 0 as undefined: hide the value. */
	volatile unsigned char *v = (unsigned char *)p;
	__asm__("" : "+r"(v));
	uint64_t entry = (uint64_t)(uintptr_t)vos_dispatch_tramp_entry;
	if (__get_cpuid_count(0xd, 1, &eax, &ebx, &ecx, &edx) && (eax & 2))
		entry = (uint64_t)(uintptr_t)vos_dispatch_tramp_entry_c;     /* xsavec */
	for (int i = 0; i < SLED; i++)
		v[i] = 0x90;
	v[SLED] = 0x49;
	v[SLED + 1] = 0xbb;
	for (int i = 0; i < 8; i++)
		v[SLED + 2 + i] = (unsigned char)(entry >> (8 * i));
	v[SLED + 10] = 0x41;
	v[SLED + 11] = 0xff;
	v[SLED + 12] = 0xe3;
	/* Execute-only where the CPU can (a NULL read still faults then). */
	raw(SYS_mprotect, 0, 4096, PROT_EXEC, 0, 0, 0);
	return true;
}

int vos_dispatch_install(vos_dispatch_fn fn, void *ctx)
{
	struct ksigaction old, act;
	if (atomic_load(&mode) != VOS_DISPATCH_OFF || !fn)
		return -EBUSY;
	if (raw(SYS_rt_sigaction, SIGSYS, 0, (long)&old, 8, 0, 0) != 0)
		return -EINVAL;
	if (old.handler != SIG_DFL && old.handler != SIG_IGN)
		return -EBUSY;  /* the program (or a sanitizer) owns SIGSYS */
	handler = fn;
	handler_ctx = ctx;
	memset(&act, 0, sizeof(act));
	act.handler = (void *)on_sigsys;
	act.flags = SA_SIGINFO | SA_RESTORER;
	act.restorer = (void *)vos_dispatch_restorer;
	act.mask = ~0ul;
	long r = raw(SYS_rt_sigaction, SIGSYS, (long)&act, 0, 8, 0, 0);
	if (r)
		return (int)r;
	int m = map_page0() ? VOS_DISPATCH_REWRITE : VOS_DISPATCH_TRAP;
	if (m == VOS_DISPATCH_TRAP)
		say("libvirtuos: dispatch: page 0 cannot be mapped (needs root or "
		    "vm.mmap_min_addr=0): every system call traps (slow path)\n");
	atomic_store(&mode, m);
	r = arm_thread(SYSCALL_DISPATCH_FILTER_BLOCK);
	if (r) {
		selector = SYSCALL_DISPATCH_FILTER_ALLOW;
		atomic_store(&mode, VOS_DISPATCH_OFF);
		return (int)r;
	}
	return 0;
}

void vos_dispatch_stats(struct vos_dispatch_stats *out)
{
	out->mode = atomic_load(&mode);
	out->traps = atomic_load(&n_traps);
	out->rewritten = atomic_load(&n_rewritten);
	out->tramp_calls = atomic_load(&n_tramp);
	out->refused = atomic_load(&n_refused);
}

/* [core, issue 8: minimal version until the fastpath branch lands its own.] */
int vos_dispatch_selector_block(void)
{
	int old = selector;

	if (atomic_load_explicit(&mode, memory_order_relaxed) != VOS_DISPATCH_OFF)
		selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return old;
}

void vos_dispatch_selector_restore(int old)
{
	selector = (char)old;
}

/* [core, issue 8: accepted and ignored until the fastpath branch lands its own.] */
void vos_dispatch_passthrough(long nr)
{
	(void)nr;
}

void vos_dispatch_set_precheck(vos_dispatch_precheck_fn fn)
{
	(void)fn;
}
