/*
 * signals.c - signal handlers that make remote calls.
 *
 * The client engine takes a mutex around its short bookkeeping steps and
 * one waiting thread sleeps as "poller" on behalf of the others.  A signal
 * handler that runs on a thread inside the engine and itself makes a
 * remote call would wait for that thread: for the mutex it holds, or for
 * the poller role it has.  The program's handlers are therefore installed
 * behind a trampoline: a signal arriving while the thread is inside a
 * critical region (a remote call, or holding the fd lock) is recorded and
 * its handler runs as soon as the thread leaves the region, with the
 * handler's mask applied as the kernel would.  Outside the regions the
 * handler runs at once.  Entering a region costs a thread-local increment,
 * so forwarded calls keep making no system call of their own.
 *
 * Consequences: a handler for a signal that arrived during a remote call
 * runs after the call completes, so most remote calls are never
 * interrupted (no EINTR), like a native disk read.  Calls that may wait
 * without bound for another process (a blocking lock: rpc.c decides) are
 * armed (vos_intr_arm): the signal sets a stop flag that ends the wait,
 * the call is cancelled in the service (VOS_OP_CANCEL), its handler runs
 * as the region ends, and the call fails with EINTR, or starts again if
 * every such handler has SA_RESTART.  A deferred handler's ucontext is that of the place where it
 * runs (the interrupted one is gone by then).  Faults (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) are never deferred.
 */
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"

#ifndef _NSIG
#define _NSIG 65
#endif

typedef void (*sa_fn)(int, siginfo_t *, void *);

/* The program's view of each signal's disposition, when it is a function. */
struct prog_action {
	_Atomic(void *) fn;             /* NULL: not behind the trampoline */
	_Atomic int flags;
	_Atomic uint64_t mask;          /* the kernel's 64-bit signal set */
};

static struct prog_action actions[_NSIG];
static pthread_mutex_t sigaction_lock = PTHREAD_MUTEX_INITIALIZER;

static VOS_TLS int depth;
static VOS_TLS uint64_t pending;
static VOS_TLS siginfo_t pending_info[_NSIG];

/* The interruptible call of this thread (vos_intr_arm), if one waits. */
static VOS_TLS struct vos_slot *intr_slot;
static VOS_TLS _Atomic int intr_stop;
static VOS_TLS int intr_norestart;

static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGTRAP || sig == SIGSYS;
}

static uint64_t set_to_bits(const sigset_t *s)
{
	uint64_t b = 0;

	memcpy(&b, s, sizeof(b));
	return b;
}

static void bits_to_set(uint64_t b, sigset_t *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s, &b, sizeof(b));
}

static void call_handler(int sig, siginfo_t *info, void *uc)
{
	void *fn = atomic_load(&actions[sig].fn);
	int flags = atomic_load(&actions[sig].flags);
	int sel;

	if (!fn)
		return;
	/* The signal may have arrived while the dispatcher's handler ran
	 * (its own calls are not intercepted): the program's handler runs
	 * with interception on, as the program itself does. */
	sel = vos_dispatch_selector_block();
	if (flags & SA_SIGINFO)
		((sa_fn)fn)(sig, info, uc);
	else
		((void (*)(int))fn)(sig);
	vos_dispatch_selector_restore(sel);
}

static void trampoline(int sig, siginfo_t *info, void *uc)
{
	if (depth > 0 && !is_fault(sig)) {
		pending_info[sig] = *info;
		pending |= 1ull << (sig - 1);
		if (intr_slot) {
			/* A blocking lock waits: it is cancelled, and fails
			 * with EINTR or restarts, as the kernel does it. */
			if (!(atomic_load(&actions[sig].flags) & SA_RESTART))
				intr_norestart = 1;
			atomic_store(&intr_stop, 1);
			vos_slot_nudge(intr_slot);
		}
		return;
	}
	call_handler(sig, info, uc);
}

const _Atomic int *vos_intr_arm(struct vos_slot *s)
{
	intr_norestart = 0;
	atomic_store(&intr_stop, 0);
	/* Signals deferred since the region began (while the call was being
	 * marshalled) came before the call could wait: they interrupt it. */
	for (uint64_t p = pending; p; p &= p - 1) {
		int sig = __builtin_ctzll(p) + 1;

		if (!(atomic_load(&actions[sig].flags) & SA_RESTART))
			intr_norestart = 1;
		atomic_store(&intr_stop, 1);
	}
	intr_slot = s;
	return &intr_stop;
}

int vos_intr_disarm(void)
{
	intr_slot = NULL;
	if (!atomic_load(&intr_stop))
		return 0;
	return intr_norestart ? 2 : 1;
}

/* Run the handlers of signals that arrived inside a region. */
static void run_pending(void)
{
	int e = errno;

	while (pending) {
		int sig = __builtin_ctzll(pending) + 1;
		siginfo_t info = pending_info[sig];
		sigset_t mask, old;
		ucontext_t uc;
		int flags = atomic_load(&actions[sig].flags);

		pending &= ~(1ull << (sig - 1));
		if (!atomic_load(&actions[sig].fn)) {
			/* The program went back to SIG_DFL/SIG_IGN meanwhile. */
			raise(sig);
			continue;
		}
		bits_to_set(atomic_load(&actions[sig].mask), &mask);
		if (!(flags & SA_NODEFER))
			sigaddset(&mask, sig);
		/* As in the kernel's mask for the handler (sigaction above):
		 * SIGSYS stays deliverable, or the handler's first trapped
		 * call (a new site, a fork) kills the process. */
		sigdelset(&mask, SIGSYS);
		pthread_sigmask(SIG_BLOCK, &mask, &old);
		getcontext(&uc);        /* handlers may read it; never NULL */
		call_handler(sig, &info, &uc);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = e;
}

void vos_signals_after_fork_child(void)
{
	pthread_mutex_init(&sigaction_lock, NULL);
}

void vos_crit_enter(void)
{
	depth++;
}

void vos_crit_leave(void)
{
	if (--depth == 0 && pending)
		run_pending();
}

/*
 * SIGSYS belongs to the system-call dispatcher: a handler of the program's
 * is refused (the module says EINVAL, once on stderr), but setting the
 * default or ignoring it, what a child does before exec (git resets every
 * signal), succeeds without changing anything; the program's action reads
 * as the default.
 */
static int sigsys_action(const struct sigaction *act, struct sigaction *old);

static int do_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction k, prev;
	sigset_t all, saved;
	void *prev_fn;
	int prev_flags, r;
	uint64_t prev_mask;

	vos_init();
	if (sig == SIGSYS && atomic_load(&vos_syscalls_installed))
		return sigsys_action(act, old);
	if (sig == SIGSEGV || sig == SIGBUS)
		return vos_fault_sigaction(sig, act, old);      /* uaccess.c */
	if (sig <= 0 || sig >= _NSIG || is_fault(sig) || sig == SIGKILL || sig == SIGSTOP)
		return real_sigaction(sig, act, old);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	pthread_mutex_lock(&sigaction_lock);
	prev_fn = atomic_load(&actions[sig].fn);
	prev_flags = atomic_load(&actions[sig].flags);
	prev_mask = atomic_load(&actions[sig].mask);
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
		/* The table first: another thread may take the signal as soon
		 * as the trampoline is installed. */
		atomic_store(&actions[sig].flags, act->sa_flags);
		atomic_store(&actions[sig].mask, set_to_bits(&act->sa_mask));
		atomic_store(&actions[sig].fn, (void *)act->sa_handler);
		k = *act;
		k.sa_sigaction = trampoline;
		k.sa_flags |= SA_SIGINFO;
		/* SIGSYS stays deliverable inside the handler: its system
		 * calls, and the rt_sigreturn that ends it, may trap into the
		 * dispatcher, and a trap with SIGSYS blocked kills the process.
		 * The program still sees the mask it asked for (below). */
		sigdelset(&k.sa_mask, SIGSYS);
		r = real_sigaction(sig, &k, &prev);
	} else {
		r = real_sigaction(sig, act, &prev);
		if (r == 0 && act)
			atomic_store(&actions[sig].fn, NULL);
	}
	if (r < 0) {
		atomic_store(&actions[sig].fn, prev_fn);
		atomic_store(&actions[sig].flags, prev_flags);
		atomic_store(&actions[sig].mask, prev_mask);
	} else if (old) {
		/*
		 * The kernel's action, as the program set it: its own handler
		 * instead of the trampoline, and SA_SIGINFO as it asked.  The
		 * other flags are the kernel's (SA_RESTORER, which glibc adds,
		 * and SA_RESTART as siginterrupt() may have changed it).  After
		 * SA_RESETHAND the kernel keeps the flags we installed.
		 */
		*old = prev;
		if (prev.sa_sigaction == trampoline ||
		    (prev_fn && prev.sa_handler == SIG_DFL && (prev.sa_flags & SA_RESETHAND)))
			old->sa_flags = (prev.sa_flags & ~SA_SIGINFO) | (prev_flags & SA_SIGINFO);
		if (prev.sa_sigaction == trampoline) {
			bits_to_set(prev_mask, &old->sa_mask);
			if (prev_flags & SA_SIGINFO)
				old->sa_sigaction = (sa_fn)prev_fn;
			else
				old->sa_handler = (void (*)(int))prev_fn;
		}
	}
	pthread_mutex_unlock(&sigaction_lock);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/*
 * Before the library is initialised, and always for faults, sigaction goes
 * straight to glibc.  Sanitizer runtimes call it from their own start-up
 * (their interceptor calls the next sigaction, ours), when even entering
 * instrumented code crashes: this path is kept uninstrumented.
 */
#define UNINSTRUMENTED __attribute__((no_sanitize_thread, no_sanitize_address, noinline))

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn next_sigaction;

static UNINSTRUMENTED int pass_through(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = __atomic_load_n(&next_sigaction, __ATOMIC_RELAXED);

	if (!f) {
		*(void **)&f = dlsym(RTLD_NEXT, "sigaction");
		__atomic_store_n(&next_sigaction, f, __ATOMIC_RELAXED);
	}
	return f(sig, act, old);
}

static int sigsys_action(const struct sigaction *act, struct sigaction *old)
{
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN)
		return pass_through(SIGSYS, act, old);
	if (old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	return 0;
}

VOS_EXPORT UNINSTRUMENTED int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig == SIGSYS && atomic_load(&vos_syscalls_installed))
		return sigsys_action(act, old);
	if (!__atomic_load_n((int *)&vos_inited, __ATOMIC_ACQUIRE) ||
	    sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS)
		return pass_through(sig, act, old);
	if (sig == SIGSEGV || sig == SIGBUS)
		return vos_fault_sigaction(sig, act, old);      /* uaccess.c */
	return do_sigaction(sig, act, old);
}

/*
 * signal() and friends: glibc's call its internal sigaction, so they are
 * done here.  signal() restarts calls unless siginterrupt() said otherwise
 * for that signal (glibc keeps that set internally, so we keep our own).
 */
static _Atomic uint64_t interrupting;

static sighandler_t set_handler(int sig, sighandler_t handler, int flags, int mask_self)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (do_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

static int restart_flag(int sig)
{
	return sig > 0 && sig < _NSIG && (atomic_load(&interrupting) & (1ull << (sig - 1))) ?
	       0 : SA_RESTART;
}

VOS_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, restart_flag(sig), 1);
}

VOS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, restart_flag(sig), 1);
}

VOS_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;

	if (sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (do_sigaction(sig, NULL, &act) < 0)
		return -1;
	if (flag) {
		atomic_fetch_or(&interrupting, 1ull << (sig - 1));
		act.sa_flags &= ~SA_RESTART;
	} else {
		atomic_fetch_and(&interrupting, ~(1ull << (sig - 1)));
		act.sa_flags |= SA_RESTART;
	}
	return do_sigaction(sig, &act, NULL);
}

VOS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

VOS_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}
