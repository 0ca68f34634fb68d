/*
 * dispatch.h - catch every system call of the process (issue 8, step 1).
 *
 * vos_dispatch_install() turns on Syscall User Dispatch for the calling
 * thread (and every thread or child created after it): from then on every
 * system call made by code outside this module's gate reaches `handler`,
 * which decides.  To pass a call through, the handler calls
 * vos_dispatch_raw(), the one gate that is never intercepted.
 *
 * The first execution of each `syscall` instruction traps (SIGSYS); the site
 * is then rewritten to `call *%rax` into a trampoline at page 0, so later
 * executions reach the handler without a trap.  If page 0 cannot be mapped
 * (non-root, vm.mmap_min_addr > 0) every call stays on the SIGSYS path.
 *
 * The module handles these itself and never shows them to the handler:
 * clone, clone3 (refused with ENOSYS: glibc falls back to clone), fork,
 * vfork (run as fork) and rt_sigreturn.  See README.md.
 */
#ifndef VOS_DISPATCH_H
#define VOS_DISPATCH_H

#include <stdint.h>

typedef long (*vos_dispatch_fn)(long nr, long a[6], void *ctx);

/* 0, or -errno: -EBUSY if the process already has a SIGSYS handler or the
 * dispatcher is installed, -ENOSYS if the kernel lacks Syscall User Dispatch. */
int vos_dispatch_install(vos_dispatch_fn handler, void *ctx);

/* The system call nr(a[0..5]) itself, never intercepted; returns -errno on error. */
long vos_dispatch_raw(long nr, const long a[6]);

enum vos_dispatch_mode {
	VOS_DISPATCH_OFF = 0,      /* not installed */
	VOS_DISPATCH_TRAP,         /* SIGSYS only: page 0 could not be mapped */
	VOS_DISPATCH_REWRITE,      /* SIGSYS on first encounter, then the trampoline */
};

struct vos_dispatch_stats {
	enum vos_dispatch_mode mode;
	uint64_t traps;            /* SIGSYS deliveries */
	uint64_t rewritten;        /* sites rewritten to call *%rax */
	uint64_t tramp_calls;      /* calls that came through the trampoline */
	uint64_t refused;          /* SIGSYS handler installs refused (rt_sigaction) */
};

void vos_dispatch_stats(struct vos_dispatch_stats *out);

/*
 * [core, issue 8: accepted and ignored until the fastpath branch lands its
 * own versions (same signatures as fastpath's dispatch.h).]  Pass-through
 * numbers run natively from the trampoline; the precheck, called before the
 * trampoline saves state, returns nonzero to run a call natively.
 */
void vos_dispatch_passthrough(long nr);
typedef int (*vos_dispatch_precheck_fn)(long nr, const long a[6]);
void vos_dispatch_set_precheck(vos_dispatch_precheck_fn fn);

/*
 * [core, issue 8: minimal version until the fastpath branch lands its own;
 * same signatures as fastpath's dispatch.h.]  Fork hooks: prepare(flags) in
 * the parent before every fork/vfork/clone-without-a-stack the module runs
 * that makes a new process (not CLONE_VM), parent(flags, ret) after it in
 * the parent (ret: pid or -errno), child(flags) in the child before it
 * returns to the program.  They run inside the SIGSYS handler (selector
 * ALLOW).  Children made with CLONE_VM on their own stack (posix_spawn) are
 * not reported in this minimal version.
 */
struct vos_dispatch_fork_hooks {
	void (*prepare)(unsigned long flags);
	void (*parent)(unsigned long flags, long ret);
	void (*child)(unsigned long flags);
};
void vos_dispatch_set_fork_hooks(const struct vos_dispatch_fork_hooks *h);

/*
 * [core, issue 8: minimal version until the fastpath branch lands its own.]
 * Run a stretch of code (the program's signal handler, from the library's
 * signal trampoline) with interception on, even if the signal arrived while
 * the dispatcher's handler was running (selector ALLOW).  block() returns
 * the selector it replaced; restore() puts it back.
 */
int vos_dispatch_selector_block(void);
void vos_dispatch_selector_restore(int old);

#endif
