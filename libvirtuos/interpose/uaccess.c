/*
 * uaccess.c - reading and writing the program's memory without crashing in
 * the library: a bad pointer gives EFAULT, as the kernel would say.
 *
 * The kernel's copy_from_user() checks the range, then copies with an
 * exception-table fixup.  We do the same in user space:
 *
 *  - A cheap range check first (range_ok): NULL and everything below
 *    `low` (page 0, or the system-call trampoline at page 0 once the
 *    dispatcher maps it, vos_uaccess_reserve_low) and ranges that wrap or
 *    end above the user address space fail at once, without touching
 *    memory.
 *  - The copy itself runs in a few lines of assembly (vos_ua_copy,
 *    vos_ua_strncpy below) in a section of its own.  If it faults, the
 *    library's SIGSEGV/SIGBUS handler (fault_handler) sees that the
 *    faulting instruction lies in that section and resumes at a fixup
 *    that returns -EFAULT.  The routines touch no stack before the fault
 *    point, so the fixup's `ret` returns to their caller.
 *
 * No system call on the way: a path classified locally is copied in a few
 * nanoseconds (benchmarks/micro/bench_uaccess.c compares this with
 * process_vm_readv on our own pid, which costs a system call per copy).
 *
 * The handler.  SIGSEGV and SIGBUS belong to the program, so the library
 * keeps its handler installed in the kernel and emulates the program's
 * action (signals.c sends sigaction/signal for these two signals here):
 *
 *  - The kernel gets our handler with the program's sa_mask and flags
 *    (plus SA_SIGINFO, minus SA_RESETHAND, which we emulate), so a fault
 *    of the program's own code reaches the program's handler with the
 *    mask, stack (SA_ONSTACK) and nesting (SA_NODEFER) it asked for.
 *  - A fault outside the copy routines is the program's: its handler is
 *    called with the same (sig, info, ucontext) and may return, modify
 *    the context or siglongjmp; SA_RESETHAND resets our record first.
 *  - If the program's action is SIG_DFL (or SIG_IGN, which the kernel
 *    overrides for a fault), we step aside: the kernel's action becomes
 *    SIG_DFL and the faulting instruction runs again, so the process dies
 *    of the signal exactly as natively (core dump included).  A SIGSEGV
 *    sent by kill() is re-sent to the thread with its siginfo.
 *  - sigaction() reports the program's action, never ours.
 *
 * Until the first copy the kernel's action is the program's (the handler
 * is installed lazily, so programs that never pass a path through the
 * library never see it); the action found then (a sanitizer's handler, the
 * program's) becomes the recorded one.
 *
 * Limits (README.md): a copy that faults while the thread blocks SIGSEGV
 * (sigprocmask, or inside a SIGSEGV handler without SA_NODEFER) kills the
 * process, where the kernel would say EFAULT; handlers installed by raw
 * rt_sigaction system calls bypass the emulation until the dispatcher
 * routes SYS_rt_sigaction for these signals to vos_fault_sigaction.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- the copy routines --------------------------------------------------- */

/*
 * long vos_ua_copy(void *dst, const void *src, size_t n): 0, or -EFAULT
 * (through the fixup) if a byte of either side faulted.
 * long vos_ua_strncpy(char *dst, const char *src, size_t max): the length
 * of the string (its NUL copied too), -ENAMETOOLONG if the first max bytes
 * have no NUL, -EFAULT on a fault.  Byte by byte: the string may end just
 * before an unmapped page, and paths are short.
 */
__asm__(
	"	.pushsection .text.vos_uaccess, \"ax\", @progbits\n"
	"	.p2align 4\n"
	"	.globl vos_ua_begin\n"
	"	.hidden vos_ua_begin\n"
	"vos_ua_begin:\n"
	"	.globl vos_ua_copy\n"
	"	.hidden vos_ua_copy\n"
	"	.type vos_ua_copy, @function\n"
	"vos_ua_copy:\n"
	"	mov %rdx, %rcx\n"
	"	rep movsb\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	"	.size vos_ua_copy, . - vos_ua_copy\n"
	"	.globl vos_ua_strncpy\n"
	"	.hidden vos_ua_strncpy\n"
	"	.type vos_ua_strncpy, @function\n"
	"vos_ua_strncpy:\n"
	"	xor %eax, %eax\n"
	"1:	cmp %rdx, %rax\n"
	"	jae 3f\n"
	"	movzbl (%rsi,%rax), %ecx\n"
	"	mov %cl, (%rdi,%rax)\n"
	"	test %cl, %cl\n"
	"	jz 2f\n"
	"	inc %rax\n"
	"	jmp 1b\n"
	"2:	ret\n"
	"3:	mov $-36, %rax\n"           /* -ENAMETOOLONG */
	"	ret\n"
	"	.size vos_ua_strncpy, . - vos_ua_strncpy\n"
	"	.globl vos_ua_end\n"
	"	.hidden vos_ua_end\n"
	"vos_ua_end:\n"
	/* Where a fault inside [begin, end) resumes: not part of the range. */
	"	.globl vos_ua_fixup\n"
	"	.hidden vos_ua_fixup\n"
	"vos_ua_fixup:\n"
	"	mov $-14, %rax\n"           /* -EFAULT */
	"	ret\n"
	"	.popsection\n");

extern char vos_ua_begin[], vos_ua_end[], vos_ua_fixup[];
long vos_ua_copy(void *dst, const void *src, size_t n);
long vos_ua_strncpy(char *dst, const char *src, size_t max);

_Static_assert(EFAULT == 14 && ENAMETOOLONG == 36, "errno values in the assembly above");

/* ---- range check ---------------------------------------------------------- */

/* Above the largest user address with 5-level paging; the kernel's own
 * limit may be lower (4-level: 1 << 47): such an address then faults,
 * which the fixup handles like any other. */
#define USER_END ((uintptr_t)1 << 56)

/* Read by the precheck too (syscall_precheck.c), which copies paths with
 * vos_ua_strncpy itself. */
_Atomic uintptr_t vos_ua_low = 4096;

void vos_uaccess_reserve_low(uintptr_t end)
{
	if (end > atomic_load_explicit(&vos_ua_low, memory_order_relaxed))
		atomic_store_explicit(&vos_ua_low, end, memory_order_relaxed);
}

static inline int range_ok(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	return a >= atomic_load_explicit(&vos_ua_low, memory_order_relaxed) && a < USER_END &&
	       n <= USER_END - a;
}

/* ---- the program's SIGSEGV/SIGBUS action ----------------------------------- */

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000  /* the kernel's; glibc sets it and hides the name */
#endif

/* The kernel's struct sigaction (x86_64): what rt_sigaction takes. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* The program's action for SIGSEGV (index 0) and SIGBUS (1). */
static struct prog_fault_action {
	_Atomic(void *) handler;        /* SIG_DFL, SIG_IGN or a function */
	_Atomic unsigned long flags;    /* as the kernel would report them */
	_Atomic uint64_t mask;
	_Atomic(void *) restorer;
} prog[2];

_Atomic int vos_ua_installed;           /* our handler is in the kernel */
static pthread_mutex_t action_lock = PTHREAD_MUTEX_INITIALIZER;

static int slot(int sig)
{
	return sig == SIGBUS;
}

static long raw_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old)
{
	return syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

static void fault_handler(int sig, siginfo_t *si, void *ucv);

/* The kernel's action while the program's is `a` (see the header). */
static void kernel_action_for(const struct prog_fault_action *a, struct sigaction *k)
{
	void *h = atomic_load(&a->handler);
	uint64_t m = atomic_load(&a->mask);

	memset(k, 0, sizeof(*k));
	k->sa_sigaction = fault_handler;
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) {
		k->sa_flags = SA_SIGINFO | SA_NODEFER;
	} else {
		k->sa_flags = (int)((atomic_load(&a->flags) & ~(unsigned long)SA_RESETHAND &
				    ~(unsigned long)SA_RESTORER) | SA_SIGINFO);
		memcpy(&k->sa_mask, &m, sizeof(m));
	}
}

/* Around fork (fork.c), as rlimit.c's lock: the child unlocks its copy. */
void vos_uaccess_fork_lock(void)
{
	pthread_mutex_lock(&action_lock);
}

void vos_uaccess_fork_unlock(void)
{
	pthread_mutex_unlock(&action_lock);
}

/* Put our handler into the kernel, behind the program's action.  Under
 * action_lock. */
static int install_locked(int sig)
{
	struct prog_fault_action *a = &prog[slot(sig)];
	struct sigaction k;

	kernel_action_for(a, &k);
	return real_sigaction(sig, &k, NULL);
}

/* The first copy: record the kernel's current actions as the program's and
 * put our handler in front of them. */
static void __attribute__((noinline)) install(void)
{
	static const int sigs[2] = { SIGSEGV, SIGBUS };
	sigset_t old;

	vos_block_signals(&old);
	pthread_mutex_lock(&action_lock);
	if (!atomic_load(&vos_ua_installed)) {
		for (int i = 0; i < 2; i++) {
			struct ksigaction cur;

			if (raw_sigaction(sigs[i], NULL, &cur) < 0)
				goto out;       /* cannot happen; copies stay unprotected */
			atomic_store(&prog[i].handler, cur.handler);
			atomic_store(&prog[i].flags, cur.flags);
			atomic_store(&prog[i].mask, cur.mask);
			atomic_store(&prog[i].restorer, cur.restorer);
		}
		if (install_locked(SIGSEGV) == 0 && install_locked(SIGBUS) == 0)
			atomic_store_explicit(&vos_ua_installed, 1, memory_order_release);
	}
out:
	pthread_mutex_unlock(&action_lock);
	vos_restore_signals(&old);
}

static inline void ensure_installed(void)
{
	if (__builtin_expect(!atomic_load_explicit(&vos_ua_installed, memory_order_acquire), 0))
		install();
}

/* The kernel's action becomes SIG_DFL for sig (we step aside). */
static void step_aside(int sig)
{
	struct ksigaction dfl = { .handler = SIG_DFL };

	raw_sigaction(sig, &dfl, NULL);
}

/*
 * Runs for every SIGSEGV/SIGBUS of the process once installed.  Not
 * instrumented: it may run in the middle of a sanitizer's own code.
 */
__attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize_undefined))
static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	struct prog_fault_action *a = &prog[slot(sig)];
	void *h;
	unsigned long flags;

	/* si_code > 0: raised by the kernel for this instruction (SI_KERNEL
	 * for a non-canonical address), not sent by kill(). */
	if (si->si_code > 0 && ip >= (uintptr_t)vos_ua_begin && ip < (uintptr_t)vos_ua_end) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)vos_ua_fixup;
		return;
	}
	h = atomic_load(&a->handler);
	flags = atomic_load(&a->flags);
	if (h == (void *)SIG_IGN && si->si_code <= 0)
		return;         /* a sent signal the program ignores */
	if (h == (void *)SIG_DFL || h == (void *)SIG_IGN) {
		int e = errno;

		step_aside(sig);
		if (si->si_code <= 0)   /* sent: send it again, now fatal */
			syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), sig, si);
		errno = e;
		return;         /* a fault: the instruction faults again */
	}
	if (flags & SA_RESETHAND) {
		/* What the kernel does before calling the handler. */
		atomic_store(&a->handler, (void *)SIG_DFL);
		atomic_store(&a->flags, flags & ~(unsigned long)(SA_SIGINFO | SA_RESETHAND));
	}
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h)(sig, si, ucv);
	else
		((void (*)(int))h)(sig);
}

int vos_fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct prog_fault_action *a = &prog[slot(sig)];
	sigset_t saved;
	int r = 0;

	vos_block_signals(&saved);
	pthread_mutex_lock(&action_lock);
	if (!atomic_load(&vos_ua_installed)) {
		r = real_sigaction(sig, act, old);
		goto out;
	}
	if (old) {
		uint64_t m = atomic_load(&a->mask);

		memset(old, 0, sizeof(*old));
		old->sa_sigaction = (void (*)(int, siginfo_t *, void *))atomic_load(&a->handler);
		old->sa_flags = (int)atomic_load(&a->flags);
		old->sa_restorer = (void (*)(void))atomic_load(&a->restorer);
		memcpy(&old->sa_mask, &m, sizeof(m));
	}
	if (act) {
		struct sigaction k;
		uint64_t m;

		memcpy(&m, &act->sa_mask, sizeof(m));
		m &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
		/* The handler last: the fault handler reads it first. */
		atomic_store(&a->handler, (void *)act->sa_sigaction);
		/* glibc adds SA_RESTORER; the kernel would report it. */
		atomic_store(&a->flags, (unsigned long)act->sa_flags | SA_RESTORER);
		atomic_store(&a->mask, m);
		kernel_action_for(a, &k);
		r = real_sigaction(sig, &k, NULL);
	}
out:
	pthread_mutex_unlock(&action_lock);
	vos_restore_signals(&saved);
	return r;
}

/* The same at the system-call level: rt_sigaction's kernel structs, read and
 * written with the fault-safe copies.  0 or -errno. */
long vos_fault_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize)
{
	struct ksigaction k, o;
	struct sigaction a, prev;
	long r;

	if (sigsetsize != sizeof(uint64_t))
		return -EINVAL;
	if (act) {
		if (vos_copy_from_user(&k, act, sizeof(k)) < 0)
			return -EFAULT;
		memset(&a, 0, sizeof(a));
		a.sa_sigaction = (void (*)(int, siginfo_t *, void *))k.handler;
		a.sa_flags = (int)k.flags;
		a.sa_restorer = (void (*)(void))k.restorer;
		memcpy(&a.sa_mask, &k.mask, sizeof(k.mask));
	}
	if (vos_fault_sigaction(sig, act ? &a : NULL, oldact ? &prev : NULL) < 0)
		return -errno;
	if (oldact) {
		o.handler = (void *)prev.sa_sigaction;
		o.flags = (unsigned long)(unsigned)prev.sa_flags;
		o.restorer = (void *)prev.sa_restorer;
		memcpy(&o.mask, &prev.sa_mask, sizeof(o.mask));
		r = vos_copy_to_user(oldact, &o, sizeof(o));
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the copies ---------------------------------------------------------- */

long vos_copy_from_user(void *dst, const void *src, size_t n)
{
	if (n == 0)
		return 0;
	if (!range_ok(src, n))
		return -EFAULT;
	ensure_installed();
	return vos_ua_copy(dst, src, n);
}

long vos_copy_to_user(void *dst, const void *src, size_t n)
{
	if (n == 0)
		return 0;
	if (!range_ok(dst, n))
		return -EFAULT;
	ensure_installed();
	return vos_ua_copy(dst, src, n);
}

long vos_strncpy_from_user(char *dst, const char *src, size_t max)
{
	uintptr_t a = (uintptr_t)src;

	if (max == 0)
		return -ENAMETOOLONG;
	if (a < atomic_load_explicit(&vos_ua_low, memory_order_relaxed) || a >= USER_END)
		return -EFAULT;
	if (max > USER_END - a)
		max = USER_END - a;     /* beyond it: a fault, as in the kernel */
	ensure_installed();
	return vos_ua_strncpy(dst, src, max);
}

int vos_user_range_ok(const void *p, size_t n)
{
	return n == 0 || range_ok(p, n);
}

long vos_user_probe(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, last;
	char c;

	if (n == 0)
		return 0;
	if (!range_ok(p, n))
		return -EFAULT;
	ensure_installed();
	last = a + n - 1;
	/* One byte in each page: the first byte, then each next page's start. */
	for (;;) {
		if (vos_ua_copy(&c, (const void *)a, 1) < 0)
			return -EFAULT;
		if ((a | 4095) >= last)
			return 0;
		a = (a | 4095) + 1;
	}
}
