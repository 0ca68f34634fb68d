/*
 * dispatch.h - catch every system call of the process (issue 8, step 1).
 *
 * vos_dispatch_install() turns on Syscall User Dispatch for the calling
 * thread (and every thread or child created after it): from then on every
 * system call made by code outside this module's gate reaches `handler`,
 * which decides.  To pass a call through, the handler calls
 * vos_dispatch_raw(), the one gate that is never intercepted.
 *
 * Eager mode (the default where page 0 can be mapped): install rewrites every
 * `syscall` instruction of every loaded object to `call *%rax` into a
 * trampoline at page 0 (the code is classified with .eh_frame and a
 * decoder, eager.c), then turns Syscall User Dispatch off again: no call
 * pays the kernel's slow path.  Code mapped executable later is scanned the
 * same way; code that cannot be classified (a JIT) turns it on again in
 * every thread, for good.  Lazy mode (VOS_DISPATCH=lazy, or that fallback):
 * the first execution of each `syscall` instruction traps (SIGSYS) and the
 * site is then rewritten.  If page 0 cannot be mapped (non-root,
 * vm.mmap_min_addr > 0) every call stays on the SIGSYS path.
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
 * dispatcher is installed, -ENOSYS if the kernel lacks Syscall User Dispatch.
 * Threads that already exist are armed too: each is sent a SIGSYS the module
 * recognises (rt_tgsigqueueinfo) and install waits, bounded (2 s in all, 50
 * ms for threads with SIGSYS blocked), until each has armed itself; one that
 * has not (SIGSYS blocked, stopped) is counted in threads_unarmed and said
 * once on stderr, and arms itself when it unblocks SIGSYS.  A thread
 * that was blocked in a call that does not restart (epoll_wait, select, ...)
 * sees EINTR once, as with any signal. */
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
	uint64_t traps;            /* SIGSYS deliveries (first encounters, bounced calls) */
	uint64_t rewritten;        /* sites rewritten to call *%rax */
	uint64_t tramp_calls;      /* calls that reached the handler through the trampoline */
	uint64_t refused;          /* SIGSYS handler installs refused (rt_sigaction) */
	/* Added for VOS_STATS (per-thread counters, summed on read: cheap to keep). */
	uint64_t passthrough;      /* calls run natively by the trampoline: passthrough numbers */
	uint64_t precheck_native;  /* calls the precheck sent straight to the kernel */
	uint64_t syscalls;         /* every call seen: traps + trampoline + native fast paths */
	uint64_t threads_armed;    /* threads that existed at install and were armed by it */
	uint64_t threads_unarmed;  /* ... not armed yet (SIGSYS blocked): not intercepted! */
	uint64_t seccomp_refused;  /* seccomp strict mode refused (see README) */
	const char *state_save;    /* how the trampoline saves vector state: "zmm", "ymm",
				    * "xmm" (by hand), "xsavec", "xsave"; NULL in trap mode */
	/* Eager mode (README.md): every site rewritten before it runs, Syscall
	 * User Dispatch off.  Else lazy (or trap) mode, and lazy_reason says why:
	 * "VOS_DISPATCH=lazy", "page 0 cannot be mapped", or what could not be
	 * classified (e.g. "a candidate no FDE covers in /lib/x.so+0x1234",
	 * "anonymous executable memory at 0x7f..."). */
	int eager;
	const char *lazy_reason;
	uint64_t eager_sites;      /* sites rewritten by scanning (install and later mappings) */
	uint64_t eager_native;     /* sites left a plain `syscall`: each provably runs one
				    * pass-through number only (README.md, "Eager mode") */
	uint64_t eager_scans;      /* executable mappings scanned after install */
	uint64_t eager_cached;     /* segments classified from the cache at install (eager_cache.c) */
	uint64_t install_ns;       /* the scan at install (0: none) */
};

/* Counters since install, summed over the live threads and those that exited. */
void vos_dispatch_stats(struct vos_dispatch_stats *out);

/*
 * Pass-through numbers: a call with number nr (0 <= nr < 1024) never
 * concerns the handler.  On a rewritten site the trampoline runs it natively
 * (no handler call, no extended-state save, no selector switch); on the
 * SIGSYS path it runs without calling the handler (the site is still
 * rewritten).  Callable before or after install, from any thread; takes
 * effect at once (one atomic byte per number).  Ignored for the numbers the
 * module handles itself (clone, clone3, fork, vfork, exit, rt_sigreturn,
 * rt_sigaction, rt_sigprocmask, seccomp, prctl) and for nr out of range.
 */
void vos_dispatch_passthrough(long nr);

/*
 * Precheck: called by the trampoline for every call that is not a
 * pass-through number, *before* the extended state is saved and before the
 * selector is switched; nonzero means "run natively now" (the handler is not
 * called).  a[] are the six argument registers.  Only the general registers
 * are saved around it, so the function must:
 *   - be compiled with -mgeneral-regs-only (no SSE/AVX/x87: the program's
 *     vector registers are live), and call nothing that uses them;
 *   - call no libc function and make no system call, take no lock, allocate
 *     nothing, and not fault (it runs on the program's stack, inside any
 *     code that made a system call, including signal handlers and glibc
 *     internals holding their locks);
 *   - read only data that is safe to read concurrently (atomics).
 * The SIGSYS path does not call it (first encounters go to the handler),
 * nor do the numbers the module handles itself (see passthrough above).
 * fn = NULL removes it.  Set it before install or while no call can be in
 * flight through it (the pointer is read once per call).
 */
typedef int (*vos_dispatch_precheck_fn)(long nr, const long a[6]);
void vos_dispatch_set_precheck(vos_dispatch_precheck_fn fn);

/*
 * Fork hooks: called around every clone/fork/vfork the module runs that
 * creates a new process (not CLONE_THREAD): prepare(flags) in the parent
 * before the call, then parent(flags, ret) in the parent (ret: the child's
 * pid or -errno; for a vfork-like call once the child has exec'd or exited)
 * and child(flags) in the child, before it returns to the program.  flags
 * are the clone flags (SIGCHLD for fork/vfork).  All three run inside the
 * SIGSYS handler: every signal blocked, selector ALLOW (their own system
 * calls are not intercepted); only async-signal-safe work.
 *
 * A child created with CLONE_VM (posix_spawn: CLONE_VM|CLONE_VFORK with its
 * own stack) runs child() on *its own, small stack* while sharing all memory
 * (and the TLS) with the parent, which is suspended until the child execs or
 * exits: child() may only update memory the parent expects to change (e.g.
 * mark the child's state in a shared structure), must not allocate, take
 * locks or touch stdio, and should use little stack.  A fork child
 * (no CLONE_VM) has its own copy of memory.  vfork itself runs as fork.
 * h = NULL removes them; h's contents are copied.
 *
 * fork (optional): a plain fork (fork, vfork, clone(SIGCHLD) without a
 * stack: flags SIGCHLD) is run by calling fork() instead, and prepare,
 * parent and child are not called for it; it returns the child's pid, 0 in
 * the child, or -errno.  The library passes glibc's fork(): a fork child of
 * a multi-threaded process gets malloc's and stdio's locks reset by glibc,
 * so the library's own child-side work (pthread_atfork handlers) may
 * allocate; with a raw clone a lock another thread held stays held in the
 * child.  It runs inside the SIGSYS handler (every signal blocked, selector
 * ALLOW): the program's atfork handlers run there too, not intercepted.
 * The module re-arms the child after fork() returns.
 */
struct vos_dispatch_fork_hooks {
	void (*prepare)(unsigned long flags);
	void (*parent)(unsigned long flags, long ret);
	void (*child)(unsigned long flags);
	long (*fork)(void);
};
void vos_dispatch_set_fork_hooks(const struct vos_dispatch_fork_hooks *h);

/*
 * For the library's signal wrapper: a signal can arrive while the handler
 * runs (selector ALLOW), and the program's signal handler must still be
 * intercepted.  The wrapper calls prev = vos_dispatch_selector_block() before
 * the program's handler and vos_dispatch_selector_restore(prev) after it.
 * Both are one thread-local store; async-signal-safe.
 */
int vos_dispatch_selector_block(void);
void vos_dispatch_selector_restore(int prev);

/*
 * Whether the ELF file at path is statically linked (no PT_INTERP: the
 * dynamic loader never runs, so LD_PRELOAD and this module cannot catch
 * anything).  1 static, 0 dynamic (or not an ELF file, e.g. a script),
 * -errno if it cannot be read.
 */
int vos_elf_is_static(const char *path);

#endif
