/*
 * dispatch.c - Syscall User Dispatch, lazy rewriting of `syscall` sites into
 * `call *%rax`, and the paths that must stay on the SIGSYS side (clone, fork,
 * vfork, clone3, rt_sigreturn).  Contract in dispatch.h, design in README.md.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <linux/prctl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include "dispatch/dispatch.h"
#include "dispatch/eager.h"

#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

/* gate.S */
extern char vos_dispatch_gate_start[], vos_dispatch_gate_end[];
extern char vos_dispatch_bounce[], vos_dispatch_bounce_end[];
extern char vos_dispatch_big_nr[];
extern char vos_dispatch_tramp_entry[], vos_dispatch_tramp_entry_c[];
extern char vos_dispatch_tramp_entry_zmm[], vos_dispatch_tramp_entry_ymm[],
	    vos_dispatch_tramp_entry_xmm[];
void vos_dispatch_restorer(void);
long vos_dispatch_clone_raw(long flags, long *block, long ptid, long ctid, long tls);

#define HIDDEN __attribute__((visibility("hidden")))

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000   /* the kernel's, not in glibc's headers */
#endif

#define SLED 1024               /* page 0: a sled entry for every nr below this, then a jump */

/* The selector byte Syscall User Dispatch reads, one per thread.  ALLOW (0)
 * while the dispatcher itself runs, so its own calls and the handler's are
 * never trapped; BLOCK while the program runs.  gate.S reads it too. */
HIDDEN __thread volatile char vos_dispatch_selector __attribute__((tls_model("initial-exec")));
#define selector vos_dispatch_selector

/*
 * One byte per system call number, read by the trampoline (gate.S) before
 * anything else: NR_BOUNCE for the calls the module runs from the SIGSYS
 * path, NR_PASS for the pass-through numbers (vos_dispatch_passthrough),
 * NR_MODULE for the calls call_handler() must see even when a precheck would
 * say "native" (a thread exit unlisting its counters, SIGSYS kept unblocked,
 * seccomp strict mode refused).
 * A byte table rather than a bitmap: one load, no `bt` with a memory operand.
 */
#define NR_BOUNCE 1
#define NR_PASS 2
#define NR_MODULE 3
#define NR_WATCH 0x80   /* eager mode: with PROT_EXEC the module must see it (mmap, mprotect) */
#define NR_CLASS(c) ((c) & ~NR_WATCH)
/* SLED + 64 entries: a number 1024..1026 at a rewritten site also reaches the
 * trampoline (page 0's end block, see build_sled); class 0 sends it to the
 * handler, which gets ENOSYS from the kernel. */
HIDDEN _Alignas(64) unsigned char vos_dispatch_nr_class[SLED + 64] = {
	[SYS_rt_sigreturn] = NR_BOUNCE, [SYS_clone] = NR_BOUNCE, [SYS_fork] = NR_BOUNCE,
	[SYS_vfork] = NR_BOUNCE, [SYS_clone3] = NR_BOUNCE,
	[SYS_exit] = NR_MODULE, [SYS_rt_sigaction] = NR_MODULE, [SYS_rt_sigprocmask] = NR_MODULE,
	[SYS_seccomp] = NR_MODULE, [SYS_prctl] = NR_MODULE,
};

/* The precheck the trampoline calls before saving the extended state. */
HIDDEN vos_dispatch_precheck_fn vos_dispatch_precheck;

/*
 * Per-thread counters: incremented with a plain add on the thread's own
 * cache line (the trampoline's pass-through and precheck paths do it in
 * gate.S at offsets 0 and 8), summed by vos_dispatch_stats() over a list of
 * the live threads, and folded into `gone` when a thread exits (SYS_exit).
 */
struct thread_counts {
	uint64_t pass;          /* offset 0: gate.S */
	uint64_t pre;           /* offset 8: gate.S */
	uint64_t tramp;
	struct thread_counts *next, *prev;
	bool listed;
};
HIDDEN __thread struct thread_counts vos_dispatch_tcount __attribute__((tls_model("initial-exec")));
#define my_counts vos_dispatch_tcount
static struct thread_counts tc_head = { .next = &tc_head, .prev = &tc_head };
static struct thread_counts gone;      /* folded counts of threads that exited */
static atomic_flag tc_lock = ATOMIC_FLAG_INIT;

static const struct vos_dispatch_fork_hooks *fork_hooks;
static struct vos_dispatch_fork_hooks fork_hooks_copy[2];
static _Atomic int fork_hooks_slot;

static vos_dispatch_fn handler;
static void *handler_ctx;
static _Atomic int mode;
static _Atomic uint64_t n_traps, n_rewritten, n_refused, n_seccomp_refused;
static _Atomic uint64_t n_armed, n_arm_sent;   /* older threads: armed / asked */
static atomic_flag rewrite_lock = ATOMIC_FLAG_INIT;

/*
 * Eager mode (README.md): every site of every loaded object was rewritten
 * at install, so Syscall User Dispatch stays off; 1 while that holds.
 * gate.S reads it (a bounced call turns dispatch on for its thread first).
 * Once 0 (VOS_DISPATCH=lazy, or code that could not be classified) it
 * stays 0: lazy mode, as before eager mode existed.
 */
HIDDEN _Atomic unsigned char vos_dispatch_eager;
static _Atomic int lazy_switch;         /* a thread is turning dispatch on everywhere */
static atomic_flag scan_lock = ATOMIC_FLAG_INIT;        /* eager.c's scans, one at a time */
static _Atomic int lazy_done;
static char lazy_reason[VOS_EAGER_WHY + 32];
static _Atomic uint64_t n_eager_sites, n_eager_native, n_eager_scans, n_eager_cached, install_ns;

/* The value a SIGSYS carries when vos_dispatch_install asks an existing thread to arm itself. */
#define ARM_MAGIC 0x766f7341    /* "vosA" */

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

/* Block every signal around the counter list's lock (a signal handler on
 * this thread could otherwise exit the thread and take it again). */
static unsigned long tc_lock_take(void)
{
	unsigned long all = ~0ul, old = 0;
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, 8, 0, 0);
	while (atomic_flag_test_and_set_explicit(&tc_lock, memory_order_acquire))
		;
	return old;
}

static void tc_lock_drop(unsigned long old)
{
	atomic_flag_clear_explicit(&tc_lock, memory_order_release);
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Put the calling thread's counters on the list (once). */
static void tc_register(void)
{
	if (my_counts.listed)
		return;
	unsigned long m = tc_lock_take();
	my_counts.next = &tc_head;
	my_counts.prev = tc_head.prev;
	tc_head.prev->next = &my_counts;
	tc_head.prev = &my_counts;
	my_counts.listed = true;
	tc_lock_drop(m);
}

/* The calling thread is about to exit: fold its counters into `gone`. */
static void tc_unregister(void)
{
	if (!my_counts.listed)
		return;
	unsigned long m = tc_lock_take();
	my_counts.prev->next = my_counts.next;
	my_counts.next->prev = my_counts.prev;
	my_counts.listed = false;
	__atomic_store_n(&gone.pass, rd(&gone.pass) + rd(&my_counts.pass), __ATOMIC_RELAXED);
	__atomic_store_n(&gone.pre, rd(&gone.pre) + rd(&my_counts.pre), __ATOMIC_RELAXED);
	__atomic_store_n(&gone.tramp, rd(&gone.tramp) + rd(&my_counts.tramp), __ATOMIC_RELAXED);
	tc_lock_drop(m);
}

/* In a fork child only the calling thread is left (the lock may have been
 * held by another thread of the parent: the list is rebuilt, not edited). */
static void tc_after_fork(void)
{
	atomic_flag_clear(&tc_lock);
	atomic_flag_clear(&scan_lock);  /* a scan of another thread is cut: its sites stay as they are */
	tc_head.next = tc_head.prev = &tc_head;
	if (!my_counts.listed)
		return;
	tc_head.next = tc_head.prev = &my_counts;
	my_counts.next = my_counts.prev = &tc_head;
}

/*
 * A fork child has only the thread that forked.  If another thread held
 * rewrite_lock at that moment (it was rewriting a site: two mprotect calls),
 * the child's copy stays held for ever and the child's first trap at a new
 * site spins in try_rewrite (git clone hung so: its sideband thread was
 * rewriting while the main thread forked index-pack).  So a fork takes the
 * lock around the clone system call: no rewrite is half done in the copied
 * memory (a page left read-write-execute, the counter), and both sides drop
 * it.  The holder is always inside the SIGSYS handler with every signal
 * blocked, so it cannot be the forking thread.
 */
static void fork_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&rewrite_lock, memory_order_acquire))
		;
}

static void fork_lock_drop(void)
{
	atomic_flag_clear_explicit(&rewrite_lock, memory_order_release);
}

/* Turn dispatch on for the calling thread, with its own selector; own_tls:
 * the thread has its own TLS (not a CLONE_VM child without CLONE_SETTLS).
 * In eager mode only the selector is set: the rewritten sites read it, and
 * Syscall User Dispatch stays off. */
static int arm_thread(char sel, bool own_tls)
{
	static _Atomic int warned;
	selector = sel;
	if (own_tls)
		tc_register();
	if (atomic_load(&vos_dispatch_eager))
		return 0;
	int r = (int)raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			 (long)vos_dispatch_gate_start,
			 (long)(vos_dispatch_gate_end - vos_dispatch_gate_start), (long)&selector, 0);
	if (r && atomic_load(&mode) != VOS_DISPATCH_OFF && !atomic_exchange(&warned, 1))
		say("libvirtuos: dispatch: a new thread or child could not turn on Syscall "
		    "User Dispatch (seccomp filter?): its system calls are NOT intercepted\n");
	return r;
}

static const struct vos_dispatch_fork_hooks *hooks(void)
{
	return __atomic_load_n(&fork_hooks, __ATOMIC_ACQUIRE);
}

/* A new thread or process started by vos_dispatch_clone_raw, on its own stack. */
HIDDEN __attribute__((force_align_arg_pointer)) void vos_dispatch_child_start(unsigned long mask,
								       unsigned long flags);
HIDDEN __attribute__((force_align_arg_pointer)) void vos_dispatch_child_start(unsigned long mask,
								       unsigned long flags)
{
	/* It inherited the SIGSYS handler's mask (everything blocked). */
	bool own_tls = (flags & CLONE_SETTLS) || !(flags & CLONE_VM);
	if (!(flags & CLONE_VM)) {
		fork_lock_drop();       /* taken by do_clone around the clone */
		tc_after_fork();
	}
	arm_thread(SYSCALL_DISPATCH_FILTER_BLOCK, own_tls);
	const struct vos_dispatch_fork_hooks *h = hooks();
	if (!(flags & CLONE_THREAD) && h && h->child) {
		selector = SYSCALL_DISPATCH_FILTER_ALLOW;
		h->child(flags);
		selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	}
	raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, 8, 0, 0);
}

static void refuse_seccomp_strict(void)
{
	if (atomic_fetch_add(&n_seccomp_refused, 1) == 0)
		say("libvirtuos: dispatch: seccomp strict mode is refused (EINVAL): it would "
		    "kill the process at its next intercepted call\n");
}

static void go_lazy(const char *why);

/* What the module adjusts before the handler sees a call. */
static long call_handler(long nr, long a[6])
{
	unsigned long set;
	if ((unsigned long)nr < SLED && NR_CLASS(vos_dispatch_nr_class[nr]) == NR_PASS)
		return vos_dispatch_raw(nr, a);
	switch (nr) {
	case SYS_rt_sigaction:
		if (a[0] == SIGSYS && a[1]) {
			/* The dispatcher owns SIGSYS: a second handler would break it. */
			if (atomic_fetch_add(&n_refused, 1) == 0)
				say("libvirtuos: dispatch: the program's SIGSYS handler is refused (EINVAL)\n");
			return -EINVAL;
		}
		break;
	case SYS_rt_sigprocmask:
		if (a[1] && a[0] != SIG_UNBLOCK) {
			/* A blocked SIGSYS would make the next trap fatal: never block it. */
			memcpy(&set, (void *)a[1], sizeof(set));
			set &= ~(1ul << (SIGSYS - 1));
			a[1] = (long)&set;
		}
		break;
	case SYS_seccomp:
		if (a[0] == SECCOMP_SET_MODE_STRICT) {
			refuse_seccomp_strict();
			return -EINVAL;
		}
		if (a[0] == SECCOMP_SET_MODE_FILTER && atomic_load(&vos_dispatch_eager))
			go_lazy("a seccomp filter (it may forbid the prctl a bounced call needs)");
		break;      /* filters coexist: see README.md */
	case SYS_prctl:
		if (a[0] == PR_SET_SECCOMP && a[1] == SECCOMP_MODE_STRICT) {
			refuse_seccomp_strict();
			return -EINVAL;
		}
		if (a[0] == PR_SET_SECCOMP && atomic_load(&vos_dispatch_eager))
			go_lazy("a seccomp filter (it may forbid the prctl a bounced call needs)");
		if (a[0] == PR_SET_SYSCALL_USER_DISPATCH)
			return -EBUSY;  /* it would replace the module's own */
		break;
	case SYS_exit:
		tc_unregister();
		break;
	}
	return handler(nr, a, handler_ctx);
}

/*
 * Rewrite the `syscall` at site into `call *%rax` with one locked 2-byte
 * compare-and-swap at the site itself: x86 makes a locked access atomic at
 * any alignment, so a thread executing the site sees either instruction.
 * A site whose two bytes straddle a 64-byte line (address = 63 mod 64; one
 * of glibc's openat sites is one) needs a *split* lock: atomic too, but
 * where the kernel has split-lock detection on (Intel; "split_lock_detect"
 * in /proc/cpuinfo) it costs the process a 10 ms penalty or a SIGBUS, so
 * there such a site stays on the trap path.  A site in a page that cannot
 * be made writable (a read-only shared file mapping) stays there too.
 */
static bool cas16(uint16_t *p, uint16_t old, uint16_t new)
{
	uint16_t prev = old;
	__asm__ volatile("lock cmpxchgw %2, %1" : "+a"(prev), "+m"(*p) : "r"(new) : "memory", "cc");
	return prev == old;
}

/* Whether the kernel traps split locks (read once, under rewrite_lock). */
static bool split_lock_trapped(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	unsigned a, b, c, d;
	if (__get_cpuid(0, &a, &b, &c, &d) && (b == 0x68747541 || b == 0x6f677948)) {
		known = 0;      /* AMD, Hygon: the kernel's split_lock_detect is Intel's */
		return known;
	}
	known = 1;      /* if /proc cannot tell, be careful */
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)"/proc/cpuinfo", O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return known;
	static char buf[16384];         /* the first CPU's block: its flags line */
	long n = raw(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	if (n <= 0)
		return known;
	buf[n] = 0;
	static const char flag[] = " split_lock_detect";
	const char *flags = NULL;
	for (long i = 0; i + 6 < n && !flags; i++)
		if (memcmp(buf + i, "\nflags", 6) == 0)
			flags = buf + i + 6;
	if (!flags)
		return known;
	known = 0;
	for (const char *c = flags; *c && *c != '\n'; c++)
		if (memcmp(c, flag, sizeof(flag) - 1) == 0 &&
		    (c[sizeof(flag) - 1] == ' ' || c[sizeof(flag) - 1] == '\n'))
			known = 1;
	return known;
}

static int list_other_threads(int *tids, int max);

static void try_rewrite(uintptr_t site, long nr)
{
	if (atomic_load(&mode) != VOS_DISPATCH_REWRITE || nr < 0 || nr >= SLED)
		return;
	uintptr_t first = site & ~(uintptr_t)4095, last = (site + 1) & ~(uintptr_t)4095;
	long len = (long)(last - first) + 4096;         /* the site may straddle two pages */
	while (atomic_flag_test_and_set_explicit(&rewrite_lock, memory_order_acquire))
		;
	if (((site & 63) != 63 || !split_lock_trapped()) &&
	    raw(SYS_mprotect, (long)first, len, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0) == 0) {
		/* 0f 05 -> ff d0, little-endian */
		if (cas16((uint16_t *)site, 0x050f, 0xd0ff))
			atomic_fetch_add(&n_rewritten, 1);
		/* Text is mapped r-x; the rewritten pages go back to that. */
		raw(SYS_mprotect, (long)first, len, PROT_READ | PROT_EXEC, 0, 0, 0);
	}
	atomic_flag_clear_explicit(&rewrite_lock, memory_order_release);
}

/*
 * Eager mode (eager.c finds the sites): sites[] in pages whose protection is
 * prot.  The pages from the first site to the last are made writable once
 * (two mprotect calls per batch, not per site), each site is rewritten with
 * the same locked compare-and-swap as above, and the pages go back to prot.
 * A site at 63 mod 64 where split locks trap is written with two plain
 * byte stores only if no other thread can be running it (alone);
 * otherwise it cannot be rewritten and the scan fails (lazy mode).
 */
int vos_dispatch_rewrite_sites(const uintptr_t *sites, size_t n, uintptr_t span_lo,
			       uintptr_t span_hi, int prot, int alone, uintptr_t *bad)
{
	if (!n)
		return 0;
	uintptr_t first = sites[0] & ~(uintptr_t)4095;
	uintptr_t last = (sites[n - 1] + 1) & ~(uintptr_t)4095;
	if (span_lo < span_hi && (span_lo & ~(uintptr_t)4095) < first)
		first = span_lo & ~(uintptr_t)4095;
	if (span_lo < span_hi && ((span_hi - 1) & ~(uintptr_t)4095) > last)
		last = (span_hi - 1) & ~(uintptr_t)4095;
	int r = 0;
	while (atomic_flag_test_and_set_explicit(&rewrite_lock, memory_order_acquire))
		;
	if (raw(SYS_mprotect, (long)first, (long)(last - first) + 4096,
		prot | PROT_READ | PROT_WRITE, 0, 0, 0) != 0) {
		*bad = sites[0];
		r = -1;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		volatile unsigned char *b = (unsigned char *)sites[i];
		if ((sites[i] & 63) == 63 && split_lock_trapped()) {
			if (alone < 0)
				alone = list_other_threads(NULL, 0) == 0;
			if (!alone || b[0] != 0x0f || b[1] != 0x05) {
				*bad = sites[i];
				r = -1;
				break;
			}
			b[1] = 0xd0;
			b[0] = 0xff;
		} else if (!cas16((uint16_t *)sites[i], 0x050f, 0xd0ff) &&
			   *(volatile uint16_t *)sites[i] != 0xd0ff) {
			*bad = sites[i];
			r = -1;
			break;
		}
		atomic_fetch_add(&n_rewritten, 1);
	}
	raw(SYS_mprotect, (long)first, (long)(last - first) + 4096, prot, 0, 0, 0);
	atomic_flag_clear_explicit(&rewrite_lock, memory_order_release);
	return r;
}

/* A fork-like call (no new stack) from the SIGSYS handler, with the hooks. */
static long run_fork(long flags, long a2, long a3, long a4)
{
	const struct vos_dispatch_fork_hooks *h = hooks();
	if (h && h->fork && flags == SIGCHLD) {
		/* A plain fork, run by the library's fork() (see dispatch.h).
		 * Its clone is not ours: in the child, rewrite_lock may be a
		 * copy held by a thread that is gone (that rewrite may have
		 * left its page writable, nothing worse). */
		long r = h->fork();
		if (r == 0) {
			fork_lock_drop();
			tc_after_fork();
			arm_thread(SYSCALL_DISPATCH_FILTER_ALLOW, true);
		}
		return r;
	}
	if (h && h->prepare)
		h->prepare((unsigned long)flags);
	fork_lock_take();
	long r = raw(SYS_clone, flags, 0, a2, a3, a4, 0);
	fork_lock_drop();
	if (r == 0) {
		tc_after_fork();
		arm_thread(SYSCALL_DISPATCH_FILTER_ALLOW, true);
		if (h && h->child)
			h->child((unsigned long)flags);
	} else if (h && h->parent) {
		h->parent((unsigned long)flags, r);
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
		return run_fork(flags, a[2], a[3], a[4]);
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
	blk[1] = flags;
	for (int i = 0; i < 15; i++)
		blk[2 + i] = g[order[i]];
	blk[17] = g[REG_RIP];
	const struct vos_dispatch_fork_hooks *h = (flags & CLONE_THREAD) ? NULL : hooks();
	if (h && h->prepare)
		h->prepare((unsigned long)flags);
	bool own_memory = !(flags & CLONE_VM);  /* a fork on a new stack */
	if (own_memory)
		fork_lock_take();       /* the child drops it in vos_dispatch_child_start */
	long r = vos_dispatch_clone_raw(flags, blk, a[2], a[3], a[4]);
	if (own_memory)
		fork_lock_drop();
	/* A CLONE_VM child without CLONE_SETTLS (posix_spawn) shares this
	 * thread's selector and set it to BLOCK: the handler still runs here. */
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (h && h->parent)
		h->parent((unsigned long)flags, r);
	return r;
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
	char interrupted = selector;
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	if (si->si_code == SI_QUEUE && si->si_value.sival_int == ARM_MAGIC &&
	    si->si_pid == raw(SYS_getpid, 0, 0, 0, 0, 0, 0)) {
		/* vos_dispatch_install asks this (older) thread to arm itself, or
		 * go_lazy asks every thread to turn dispatch on.  A thread that
		 * is listed already has a selector of its own: it may be inside
		 * the handler (ALLOW), so that is kept. */
		arm_thread(my_counts.listed ? interrupted : SYSCALL_DISPATCH_FILTER_BLOCK, true);
		atomic_fetch_add(&n_armed, 1);  /* also later, once it unblocks SIGSYS */
		return;
	}
	if (si->si_code != SYS_USER_DISPATCH) {
		say("libvirtuos: dispatch: SIGSYS not from Syscall User Dispatch (a seccomp "
		    "filter's SECCOMP_RET_TRAP?): the process ends\n");
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
	case SYS_vfork:
		g[REG_RAX] = run_fork(SIGCHLD, 0, 0, 0);
		break;
	case SYS_rt_sigreturn:
		do_sigreturn(uc);
		break;
	default:
		if (!bounced)
			try_rewrite((uintptr_t)g[REG_RIP] - 2, nr);
		g[REG_RAX] = call_with_program_mask(uc, nr, a);
	}
	/* Eager mode: the bounce turned dispatch on for this thread only to
	 * get here (gate.S); off again.  (A fork child never had it on.) */
	if (atomic_load(&vos_dispatch_eager))
		raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0, 0);
	selector = SYSCALL_DISPATCH_FILTER_BLOCK;
}

static void arm_existing_threads(void);

/* eager.c's static buffers: one scan at a time (a scan takes milliseconds:
 * wait by yielding, not spinning). */
static void scan_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&scan_lock, memory_order_acquire))
		raw(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

static void scan_unlock(void)
{
	atomic_flag_clear_explicit(&scan_lock, memory_order_release);
}

/*
 * Leave eager mode for good: turn Syscall User Dispatch on in every thread
 * (the calling one, then the others as at install: a SIGSYS each, waited
 * for), so code that could not be classified traps on first use.  The
 * caller runs inside the module (selector ALLOW).  A second thread that
 * gets here meanwhile waits until the first has finished (bounded), so
 * that neither returns to code only the switch makes safe before it is done.
 */
static void go_lazy(const char *why)
{
	if (atomic_exchange(&lazy_switch, 1)) {
		struct timespec ms = { 0, 1000000 };
		arm_thread(selector, true);
		for (int i = 0; i < 3000 && !atomic_load(&lazy_done); i++)
			raw(SYS_nanosleep, (long)&ms, 0, 0, 0, 0, 0);
		return;
	}
	snprintf(lazy_reason, sizeof(lazy_reason), "%s", why);
	atomic_store(&vos_dispatch_eager, 0);
	for (int nr = 0; nr < SLED; nr++)
		__atomic_fetch_and(&vos_dispatch_nr_class[nr], (unsigned char)~NR_WATCH, __ATOMIC_RELAXED);
	arm_thread(selector, true);
	arm_existing_threads();
	atomic_store(&lazy_done, 1);
}

/*
 * Eager mode, after a call that made memory executable succeeded: classify
 * the new code (eager.c) and rewrite its sites, or go lazy.  A private,
 * read-only mapping of an ELF file is scanned from the file; memory made
 * executable by mprotect must lie in a loaded object's executable
 * segments (a text relocation); anything writable and executable,
 * anonymous or shared (a JIT, a memfd) turns dispatch on instead.
 */
static void after_exec_map(long nr, const long a[6], long r)
{
	struct vos_eager_scan sc;
	long prot = a[2];
	int bad = -1;
	if (!atomic_load(&vos_dispatch_eager) || !(prot & PROT_EXEC) || (r < 0 && r > -4096))
		return;
	memset(&sc, 0, sizeof(sc));
	sc.skip_lo = (uintptr_t)vos_dispatch_gate_start;
	sc.skip_hi = (uintptr_t)vos_dispatch_gate_end;
	sc.skip_one = (uintptr_t)vos_dispatch_bounce;
	scan_lock_take();
	if ((prot & PROT_WRITE) || !(prot & PROT_READ))
		snprintf(sc.why, sizeof(sc.why), "%s executable memory at 0x%lx",
			 (prot & PROT_WRITE) ? "writable" : "unreadable", nr == SYS_mmap ? r : a[0]);
	else if (nr != SYS_mmap)
		bad = vos_eager_scan_range(&sc, (uintptr_t)a[0], (size_t)a[1]);
	else if (a[3] & MAP_ANONYMOUS)
		snprintf(sc.why, sizeof(sc.why), "anonymous executable memory at 0x%lx", r);
	else if ((a[3] & MAP_TYPE) != MAP_PRIVATE)
		snprintf(sc.why, sizeof(sc.why), "a shared executable mapping at 0x%lx", r);
	else {
		sc.alone = !(a[3] & MAP_FIXED);     /* nobody knows the address yet */
		bad = vos_eager_scan_file_map(&sc, (uintptr_t)r, (size_t)a[1], (int)a[4], a[5]);
	}
	atomic_fetch_add(&n_eager_scans, 1);
	atomic_fetch_add(&n_eager_sites, sc.sites);
	atomic_fetch_add(&n_eager_native, sc.native);
	scan_unlock();
	if (bad != 0)
		go_lazy(sc.why);
}

static bool watched(long nr)
{
	return nr == SYS_mmap || nr == SYS_mprotect || nr == SYS_pkey_mprotect;
}

/* From the trampoline (gate.S): regs are the six argument registers.  The
 * trampoline has already run the dispatcher's own calls (selector ALLOW),
 * the pass-through numbers and what the precheck let through natively --
 * except, in eager mode, a call that makes memory executable: that comes
 * here whoever makes it (the selector may be ALLOW: then it runs natively). */
HIDDEN long vos_dispatch_from_tramp(long nr, long *regs);
long vos_dispatch_from_tramp(long nr, long *regs)
{
	char prev = selector;
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	__atomic_store_n(&my_counts.tramp, my_counts.tramp + 1, __ATOMIC_RELAXED);
	long a[6], orig[6];
	memcpy(a, regs, sizeof(a));
	memcpy(orig, regs, sizeof(orig));
	long r = prev == SYSCALL_DISPATCH_FILTER_ALLOW ? vos_dispatch_raw(nr, a) : call_handler(nr, a);
	if (watched(nr))
		after_exec_map(nr, orig, r);
	selector = prev;
	return r;
}

void vos_dispatch_passthrough(long nr)
{
	if (nr < 0 || nr >= SLED)
		return;
	switch (nr) {
	case SYS_clone: case SYS_clone3: case SYS_fork: case SYS_vfork: case SYS_exit:
	case SYS_rt_sigreturn: case SYS_rt_sigaction: case SYS_rt_sigprocmask:
	case SYS_seccomp: case SYS_prctl:
		return;         /* the module must see these */
	}
	unsigned char old = __atomic_load_n(&vos_dispatch_nr_class[nr], __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&vos_dispatch_nr_class[nr], &old,
					    (unsigned char)((old & NR_WATCH) | NR_PASS), false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/*
 * Eager mode leaves a `syscall` site as it is when its function proves it
 * runs one number only (eager.c) and that number is pass-through: with
 * Syscall User Dispatch off it reaches the kernel at native cost, which is
 * what the trampoline would do with it.  Sound only because a number never
 * stops being pass-through (vos_dispatch_passthrough only adds; go_lazy
 * clears NR_WATCH alone; a new image starts a new table), and never for
 * the numbers the module must see: those vos_dispatch_passthrough ignores,
 * the ones eager mode watches (NR_WATCH, set after the scan at install),
 * and the others that end the process or change its code (so that a later
 * version of the module may watch them without revisiting this).
 */
int vos_dispatch_nr_never_native(long nr)
{
	if (nr < 0 || nr >= SLED)
		return 1;
	switch (nr) {
	case SYS_clone: case SYS_clone3: case SYS_fork: case SYS_vfork: case SYS_exit:
	case SYS_rt_sigreturn: case SYS_rt_sigaction: case SYS_rt_sigprocmask:
	case SYS_seccomp: case SYS_prctl:
	case SYS_mmap: case SYS_mprotect: case SYS_pkey_mprotect:
	case SYS_exit_group: case SYS_execve: case SYS_execveat: case SYS_mremap:
	case SYS_munmap: case SYS_shmat: case SYS_remap_file_pages:
	case SYS_restart_syscall:
		return 1;
	}
	return 0;
}

int vos_dispatch_nr_native(long nr)
{
	return !vos_dispatch_nr_never_native(nr) &&
	       __atomic_load_n(&vos_dispatch_nr_class[nr], __ATOMIC_ACQUIRE) == NR_PASS;
}

void vos_dispatch_set_precheck(vos_dispatch_precheck_fn fn)
{
	__atomic_store_n(&vos_dispatch_precheck, fn, __ATOMIC_RELEASE);
}

void vos_dispatch_set_fork_hooks(const struct vos_dispatch_fork_hooks *h)
{
	/* Two slots, alternating: a fork in flight keeps reading the old copy
	 * (setting them twice while a fork is in flight is not supported). */
	if (!h) {
		__atomic_store_n(&fork_hooks, NULL, __ATOMIC_RELEASE);
		return;
	}
	int slot = atomic_fetch_add(&fork_hooks_slot, 1) & 1;
	fork_hooks_copy[slot] = *h;
	__atomic_store_n(&fork_hooks, &fork_hooks_copy[slot], __ATOMIC_RELEASE);
}

int vos_dispatch_selector_block(void)
{
	int prev = selector;
	if (atomic_load_explicit(&mode, memory_order_relaxed) != VOS_DISPATCH_OFF)
		selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return prev;
}

void vos_dispatch_selector_restore(int prev)
{
	selector = (char)prev;
}

/*
 * The sled: page 0 must turn a jump to any address nr < SLED into a jump to
 * the trampoline.  A plain nop sled costs up to SLED nops (~0.25 ns each);
 * this one is a chain of two-byte short jumps `eb d` at even addresses,
 * each d (0x2e, 0x3e or an even REX prefix 0x40..0x4e) chosen so that
 * - entering at an even address runs `jmp +d` to another even link, or
 *   straight to the end;
 * - entering at an odd address decodes d as a prefix of the next link's
 *   `jmp` (a segment or REX prefix on a short jump is ignored), so it goes
 *   where the next link goes;
 * the last 46 bytes before the end are nops (no d is small enough), and the
 * end is `66 90` (reached from even links) then `movabs $entry, %r11;
 * jmp *%r11` (reached from odd ones).  About 12 jumps at most, from nr 0.
 * The distances are chosen by a small dynamic program: fewest links first.
 */
static void build_sled(volatile unsigned char *v, uint64_t entry)
{
	static const unsigned char d_ok[] = { 0x2e, 0x3e, 0x40, 0x42, 0x44, 0x46, 0x48,
					      0x4a, 0x4c, 0x4e };
	unsigned short cost[SLED + 1];  /* links (x64) or nops to reach the end from here */
	cost[SLED] = 0;
	for (int p = SLED - 1; p >= 0; p--) {
		cost[p] = (unsigned short)(SLED - p);   /* a nop, as if the rest were nops */
		v[p] = 0x90;
	}
	for (int i = SLED - 2; i >= 0; i -= 2) {
		int best = -1;
		unsigned best_cost = cost[i];
		for (unsigned k = 0; k < sizeof(d_ok); k++) {
			int t = i + 2 + d_ok[k];
			if (t > SLED)
				break;
			if (t < SLED && (t & 1))
				continue;
			unsigned c = 64u + cost[t];
			if (c < best_cost || (c == best_cost && best >= 0 && d_ok[k] > d_ok[best])) {
				best_cost = c;
				best = (int)k;
			}
		}
		if (best < 0)
			continue;       /* stays a nop */
		v[i] = 0xeb;
		v[i + 1] = d_ok[best];
		cost[i] = (unsigned short)best_cost;
		cost[i + 1] = (unsigned short)(best_cost + 1);  /* the prefix, then link i+2 */
	}
	/* Odd entries of a link decode the next even byte: it must be a link,
	 * a nop or the end's 66 90 -- true by construction (links are at even
	 * addresses, everything else is a nop). */
	v[SLED] = 0x66;
	v[SLED + 1] = 0x90;
	v[SLED + 2] = 0x49;
	v[SLED + 3] = 0xbb;
	for (int i = 0; i < 8; i++)
		v[SLED + 4 + i] = (unsigned char)(entry >> (8 * i));
	v[SLED + 12] = 0x41;
	v[SLED + 13] = 0xff;
	v[SLED + 14] = 0xe3;
	/* Numbers 1039..4082 (invalid ones: a rewritten site whose number is
	 * not a constant, glibc's syscall(), may get any): nops to a jump to
	 * vos_dispatch_big_nr, which gives the kernel's ENOSYS.  1027..1038
	 * start inside the block above and numbers past the page fault, as
	 * negative ones do (README.md, "Invalid numbers"). */
	for (int i = SLED + 15; i < 4096 - 13; i++)
		v[i] = 0x90;
	v[4096 - 13] = 0x49;
	v[4096 - 12] = 0xbb;
	for (int i = 0; i < 8; i++)
		v[4096 - 11 + i] = (unsigned char)((uintptr_t)vos_dispatch_big_nr >> (8 * i));
	v[4096 - 3] = 0x41;
	v[4096 - 2] = 0xff;
	v[4096 - 1] = 0xe3;
}

/*
 * Which trampoline body (gate.S): spilling the vector registers by hand
 * where XCR0 holds only state the C code can touch that way (x87, SSE, AVX,
 * AVX-512; PKRU and AMX tiles, which it never touches), xsavec (or xsave)
 * of everything otherwise (e.g. APX registers, unknown components).
 * VOS_DISPATCH_SAVE=zmm|ymm|xmm|xsavec|xsave picks a body the CPU can run
 * even if it saves less than the CPU has: for tests and measurements only.
 * NULL: no usable body (an xsave area bigger than the 4 KiB reserved).
 */
#define XCR0_HANDLED 0x602e7ull         /* x87 SSE AVX opmask ZMM_Hi256 Hi16_ZMM PKRU AMX */
static const char *tramp_kind;

static void *pick_trampoline(void)
{
	enum { ZMM, YMM, XMM, XSAVEC, XSAVE, NBODY };
	static const char *const names[NBODY] = { "zmm", "ymm", "xmm", "xsavec", "xsave" };
	void *const entry[NBODY] = { vos_dispatch_tramp_entry_zmm, vos_dispatch_tramp_entry_ymm,
				     vos_dispatch_tramp_entry_xmm, vos_dispatch_tramp_entry_c,
				     vos_dispatch_tramp_entry };
	bool runs[NBODY] = { false }, right[NBODY] = { false };     /* can run / saves enough */
	unsigned eax, ebx, ecx = 0, edx, b7 = 0, c7, d7, a7;
	__get_cpuid(1, &eax, &ebx, &ecx, &edx);
	__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
	uint64_t xcr0 = 3;                      /* x87 and SSE only, without OSXSAVE */
	bool osxsave = ecx & bit_OSXSAVE;
	if (osxsave) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = (uint64_t)hi << 32 | lo;
	}
	runs[XMM] = true;
	runs[YMM] = (xcr0 & 0x6) == 0x6 && (ecx & bit_AVX);
	runs[ZMM] = (xcr0 & 0xe6) == 0xe6 && (b7 & bit_AVX512F) && (b7 & bit_AVX512BW);
	if (osxsave && __get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) && ebx && ebx <= 4096 - 64) {
		runs[XSAVE] = right[XSAVE] = true;
		runs[XSAVEC] = right[XSAVEC] =
			__get_cpuid_count(0xd, 1, &eax, &ebx, &ecx, &edx) && (eax & 2);
	}
	if (!(xcr0 & ~XCR0_HANDLED)) {
		right[ZMM] = runs[ZMM];
		right[YMM] = runs[YMM] && !(xcr0 & 0xe0);
		right[XMM] = !(xcr0 & 0xe4);
	}
	const char *want = getenv("VOS_DISPATCH_SAVE");
	for (int k = 0; want && k < NBODY; k++)
		if (strcmp(want, names[k]) == 0 && runs[k]) {
			tramp_kind = names[k];
			return entry[k];
		}
	for (int k = 0; k < NBODY; k++)         /* cheapest first */
		if (right[k]) {
			tramp_kind = names[k];
			return entry[k];
		}
	return NULL;
}

/* Page 0: the sled for every nr < SLED, then `movabs $entry, %r11; jmp *%r11`. */
static bool map_page0(void)
{
	void *tramp = pick_trampoline();
	if (!tramp)
		return false;
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
	build_sled(v, (uint64_t)(uintptr_t)tramp);
	/* Execute-only where the CPU can (a NULL read still faults then). */
	raw(SYS_mprotect, 0, 4096, PROT_EXEC, 0, 0, 0);
	return true;
}

/* The ids of the threads of this process but the caller, from /proc/self/task. */
static int list_other_threads(int *tids, int max)
{
	long me = raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)"/proc/self/task",
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return 0;
	int n = 0;
	char buf[2048];
	long got;
	while ((got = raw(SYS_getdents64, fd, (long)buf, sizeof(buf), 0, 0, 0)) > 0) {
		for (long off = 0; off < got;) {
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, 2);     /* struct linux_dirent64 */
			const char *name = buf + off + 19;
			long tid = 0;
			for (const char *c = name; *c >= '0' && *c <= '9' && tid < (1L << 30); c++)
				tid = tid * 10 + (*c - '0');
			if (tid > 0 && tid != me && !tids)
				n++;
			else if (tid > 0 && tid != me && n < max)
				tids[n++] = (int)tid;
			if (reclen == 0)
				break;
			off += reclen;
		}
	}
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	return n;
}

/*
 * Arm the threads that existed before install: send each a SIGSYS carrying
 * ARM_MAGIC (its handler arms it, see on_sigsys) and wait for the
 * acknowledgements, bounded.  A thread created meanwhile by a thread not yet
 * armed is not armed either, so list again until a pass finds nobody new.
 */
#define MAX_OLD_THREADS 1024
/* Whether thread tid has SIGSYS blocked (SigBlk in /proc/self/task/TID/status). */
static bool sigsys_blocked(int tid)
{
	char path[48] = "/proc/self/task/", *p = path + 16, digits[12];
	int nd = 0;
	do
		digits[nd++] = (char)('0' + tid % 10);
	while ((tid /= 10) && nd < 11);
	while (nd)
		*p++ = digits[--nd];
	memcpy(p, "/status", 8);
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return false;
	char buf[2048];
	long n = raw(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (long i = 0; i + 8 < n; i++) {
		if (memcmp(buf + i, "\nSigBlk:", 8) != 0)
			continue;
		uint64_t mask = 0;
		for (const char *c = buf + i + 8; *c; c++) {
			if (*c == ' ' || *c == '\t')
				continue;
			int v = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;
			if (v < 0)
				break;
			mask = mask << 4 | (uint64_t)v;
		}
		return mask & (1ull << (SIGSYS - 1));
	}
	return false;
}


static void arm_existing_threads(void)
{
	static int done[MAX_OLD_THREADS];
	int ndone = 0, waited_ms = 0;
	long pid = raw(SYS_getpid, 0, 0, 0, 0, 0, 0), uid = raw(SYS_getuid, 0, 0, 0, 0, 0, 0);
	for (int pass = 0; pass < 8; pass++) {
		int now[MAX_OLD_THREADS], n = list_other_threads(now, MAX_OLD_THREADS), sent = 0;
		int nblocked = 0;
		uint64_t base = atomic_load(&n_armed);
		for (int i = 0; i < n; i++) {
			bool seen = false;
			for (int j = 0; j < ndone && !seen; j++)
				seen = done[j] == now[i];
			if (seen || ndone == MAX_OLD_THREADS)
				continue;
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			si.si_signo = SIGSYS;
			si.si_code = SI_QUEUE;
			si.si_pid = (pid_t)pid;
			si.si_uid = (uid_t)uid;
			si.si_value.sival_int = ARM_MAGIC;
			/* A thread with SIGSYS blocked gets it too and arms itself when it
			 * unblocks; a thread that is starting has every signal blocked for
			 * a moment (glibc's pthread_create), one that blocks them for good
			 * (TSan's) never answers: so those are waited for only briefly. */
			bool blocked = sigsys_blocked(now[i]);
			if (raw(SYS_rt_tgsigqueueinfo, pid, now[i], SIGSYS, (long)&si, 0, 0) == 0) {
				atomic_fetch_add(&n_arm_sent, 1);
				sent++;
				nblocked += blocked;
			}
			done[ndone++] = now[i];
		}
		if (sent == 0)
			break;
		/* Up to 2 s in all; 50 ms once only the blocked ones are missing. */
		struct timespec ms = { 0, 1000000 };
		int waited_here = 0;
		while (atomic_load(&n_armed) - base < (uint64_t)sent && waited_ms < 2000 &&
		       !(atomic_load(&n_armed) - base >= (uint64_t)(sent - nblocked) &&
			 waited_here >= 50)) {
			raw(SYS_nanosleep, (long)&ms, 0, 0, 0, 0, 0);
			waited_ms++;
			waited_here++;
		}
	}
	if (atomic_load(&n_armed) < atomic_load(&n_arm_sent))
		say("libvirtuos: dispatch: some threads that existed before the library started "
		    "have SIGSYS blocked: their system calls are NOT intercepted until they "
		    "unblock it\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Eager mode: rewrite every site of every object loaded now (eager.c); if
 * all could be classified, watch the calls that make memory executable
 * and turn Syscall User Dispatch off for this thread (the others were
 * never armed: arm_existing_threads then only sets their selectors).
 */
static void scan_at_install(void)
{
	struct vos_eager_scan sc;
	uint64_t t0 = now_ns();
	memset(&sc, 0, sizeof(sc));
	sc.skip_lo = (uintptr_t)vos_dispatch_gate_start;
	sc.skip_hi = (uintptr_t)vos_dispatch_gate_end;
	sc.skip_one = (uintptr_t)vos_dispatch_bounce;
	sc.alone = -1;          /* asked only if a site needs it (see rewrite_sites) */
	scan_lock_take();
	int r = vos_eager_scan_loaded(&sc);
	scan_unlock();
	atomic_store(&n_eager_sites, sc.sites);
	atomic_store(&n_eager_native, sc.native);
	atomic_store(&n_eager_cached, sc.cached);
	if (r == 0) {
		static const int watch[] = { SYS_mmap, SYS_mprotect, SYS_pkey_mprotect };
		for (unsigned i = 0; i < sizeof(watch) / sizeof(watch[0]); i++)
			__atomic_fetch_or(&vos_dispatch_nr_class[watch[i]], NR_WATCH, __ATOMIC_RELAXED);
		atomic_store(&vos_dispatch_eager, 1);
		raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0, 0);
	} else {
		snprintf(lazy_reason, sizeof(lazy_reason), "%s", sc.why);
	}
	atomic_store(&install_ns, now_ns() - t0);
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
	/* SA_RESTART: the arming SIGSYS sent to older threads must not make
	 * their restartable blocking calls fail with EINTR. */
	act.flags = SA_SIGINFO | SA_RESTORER | SA_RESTART;
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
	/* On for this thread even in eager mode: this checks that the kernel
	 * has it, which the bounced calls need (gate.S). */
	r = arm_thread(SYSCALL_DISPATCH_FILTER_BLOCK, true);
	if (r) {
		selector = SYSCALL_DISPATCH_FILTER_ALLOW;
		atomic_store(&mode, VOS_DISPATCH_OFF);
		return (int)r;
	}
	/* With the selector ALLOW (our own calls), then BLOCK again. */
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	const char *want = getenv("VOS_DISPATCH");
	if (m != VOS_DISPATCH_REWRITE)
		snprintf(lazy_reason, sizeof(lazy_reason), "page 0 cannot be mapped");
	else if (want && strcmp(want, "lazy") == 0)
		snprintf(lazy_reason, sizeof(lazy_reason), "VOS_DISPATCH=lazy");
	else
		scan_at_install();
	arm_existing_threads();
	selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return 0;
}

void vos_dispatch_stats(struct vos_dispatch_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = atomic_load(&mode);
	out->traps = atomic_load(&n_traps);
	out->rewritten = atomic_load(&n_rewritten);
	out->refused = atomic_load(&n_refused);
	out->seccomp_refused = atomic_load(&n_seccomp_refused);
	out->threads_armed = atomic_load(&n_armed);
	uint64_t asked = atomic_load(&n_arm_sent);
	out->threads_unarmed = asked > out->threads_armed ? asked - out->threads_armed : 0;
	out->state_save = out->mode == VOS_DISPATCH_REWRITE ? tramp_kind : NULL;
	out->eager = atomic_load(&vos_dispatch_eager);
	out->lazy_reason = out->eager || !lazy_reason[0] ? NULL : lazy_reason;
	out->eager_sites = atomic_load(&n_eager_sites);
	out->eager_native = atomic_load(&n_eager_native);
	out->eager_scans = atomic_load(&n_eager_scans);
	out->eager_cached = atomic_load(&n_eager_cached);
	out->install_ns = atomic_load(&install_ns);
	unsigned long m = tc_lock_take();
	uint64_t pass = rd(&gone.pass), pre = rd(&gone.pre), tramp = rd(&gone.tramp);
	for (struct thread_counts *t = tc_head.next; t != &tc_head; t = t->next) {
		pass += rd(&t->pass);
		pre += rd(&t->pre);
		tramp += rd(&t->tramp);
	}
	tc_lock_drop(m);
	out->passthrough = pass;
	out->precheck_native = pre;
	out->tramp_calls = tramp;
	out->syscalls = out->traps + pass + pre + tramp;
}
