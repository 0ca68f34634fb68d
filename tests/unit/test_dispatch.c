/*
 * test_dispatch.c - libvirtuos/dispatch alone: every system call of the
 * process reaches the handler (glibc, syscall(), inline asm, new threads,
 * fork children), results equal native, a handler can refuse a call, the
 * hot sites stop trapping once rewritten (page 0 available, e.g. as root),
 * signal handlers return correctly (rt_sigreturn), and the program cannot
 * install a SIGSYS handler of its own once the dispatcher owns SIGSYS.
 *
 * Also the API the library builds on: pass-through numbers, the precheck,
 * fork hooks (fork, vfork, posix_spawn), selector block/restore, threads
 * that existed before install, seccomp strict mode refused and filters
 * coexisting, vos_elf_is_static.
 *
 * Eager mode (the default where page 0 can be mapped): every site rewritten
 * at install and Syscall User Dispatch off; a library loaded later is
 * scanned (its call is caught without a trap), 0f 05 inside another
 * instruction is left alone, executable memory that cannot be classified
 * (a JIT page) turns dispatch on again in every thread.  The whole suite
 * runs a second time with VOS_DISPATCH=lazy (lazy_mode_suite).
 *
 * The dispatcher is installed once for the whole program (it cannot be
 * uninstalled).  Under TSan the handler runs in threads TSan does not know
 * yet (a new thread's first system calls, e.g. rseq, come before TSan has
 * set the thread up), so the handler and what it calls are not instrumented
 * (HANDLER_CODE); TSan's own background thread blocks every signal, so it
 * is the one thread install cannot arm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dispatch/dispatch.h"
#include "dispatch/trap_site.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* Code that runs inside the dispatcher (possibly in a thread TSan has not
 * set up yet): not instrumented. */
#define HANDLER_CODE __attribute__((no_sanitize_thread, noinline))

extern char **environ;

static const char *skip_reason;
static pid_t native_ppid;
static struct vos_dispatch_stats at_install;    /* right after install */
static int lazy_forced;                         /* VOS_DISPATCH=lazy */
static _Atomic long deny_nr = -1;             /* the call the handler refuses */
static _Atomic unsigned long seen_getppid;    /* all threads */
/* volatile: glibc declares getppid() and friends __leaf__ (they never call
 * back into this file), so without it the compiler may keep the counter in
 * a register across them, not knowing the handler runs inside. */
static __thread volatile unsigned long my_getppid;     /* this thread's */

static _Atomic unsigned long seen_by_nr[512];  /* handler calls per number */
static _Atomic int block_in_handler;           /* see selector_block_restore */
static _Atomic unsigned long nested_seen;

#define NESTED_MAGIC 0x5e1ec7

static _Atomic int clobber_vectors;             /* see vector_state_preserved */
static int has_avx512;

/* What C code may do to the vector registers: zero them. */
HANDLER_CODE static void clobber_vector_registers(void)
{
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm15, %%xmm15"
			 ::: "xmm0", "xmm7", "xmm15");
	if (has_avx512)
		/* (registers the compiler does not use without -mavx512f) */
		__asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
				 "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
				 "kxorq %%k1, %%k1, %%k1" ::: "memory");
}

#define CLONE_MAGIC 0xc10e

/* A child on its own stack, sharing memory: what libvirtuos's memfd.c does
 * from inside the handler (glibc's clone(), CLONE_VM|CLONE_VFORK). */
__attribute__((no_sanitize("address", "undefined", "thread"), noinline))
static int handler_clone_child(void *arg)
{
	*(volatile int *)arg = 42;
	return 0;
}

HANDLER_CODE static long handler_clones(void)
{
	char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
			   -1, 0);
	volatile int v = 0;
	int st;
	if (stack == MAP_FAILED)
		return -ENOMEM;
	long pid = clone(handler_clone_child, stack + 65536, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)&v);
	long r = pid > 0 && waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) && v == 42 ? 0 : -EIO;
	munmap(stack, 65536);
	return r;
}

HANDLER_CODE static long counting_handler(long nr, long a[6], void *ctx)
{
	(void)ctx;
	if (atomic_load_explicit(&clobber_vectors, memory_order_relaxed))
		clobber_vector_registers();
	if (nr >= 0 && nr < 512)
		atomic_fetch_add_explicit(&seen_by_nr[nr], 1, memory_order_relaxed);
	if (nr == SYS_getppid) {
		atomic_fetch_add_explicit(&seen_getppid, 1, memory_order_relaxed);
		my_getppid++;
	}
	if (nr == SYS_getpgid && a[0] == NESTED_MAGIC) {
		/* A system call made while the handler runs (as a signal handler
		 * would): seen by the handler only with the selector blocked. */
		unsigned long n0 = my_getppid;
		int prev = 0, block = atomic_load(&block_in_handler);
		if (block)
			prev = vos_dispatch_selector_block();
		long r = getppid();
		if (block)
			vos_dispatch_selector_restore(prev);
		atomic_store(&nested_seen, my_getppid - n0);
		return r == native_ppid ? 0 : -EIO;
	}
	if (nr == SYS_getpgid && a[0] == CLONE_MAGIC)
		return handler_clones();
	if (nr == atomic_load_explicit(&deny_nr, memory_order_relaxed))
		return -EPERM;
	return vos_dispatch_raw(nr, a);
}

static long asm_getppid(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return r;
}

/* Threads started before install: they wait for `go`, then make their calls. */
#define OLD_THREADS 3
static pthread_t old_threads[OLD_THREADS];
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

static void *old_thread_body(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&go_lock);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	unsigned long n0 = my_getppid;
	for (int i = 0; i < 50; i++)
		if (getppid() != native_ppid || syscall(SYS_getppid) != native_ppid)
			return (void *)-1L;
	return (void *)(my_getppid - n0);
}

static int old_threads_started;

/* One more, with SIGSYS blocked at install: install does not wait for it; it
 * arms itself when it unblocks SIGSYS (natively: it is not armed yet). */
static pthread_t blocked_thread;
static int blocked_thread_started;

static void *blocked_thread_body(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&go_lock);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);       /* the arming SIGSYS arrives */
	unsigned long n0 = my_getppid;
	for (int i = 0; i < 50; i++)
		if (getppid() != native_ppid || syscall(SYS_getppid) != native_ppid)
			return (void *)-1L;
	return (void *)(my_getppid - n0);
}

/* Before cmocka runs anything: cmocka installs its own SIGSYS handler around
 * each test (it catches crashes), and the dispatcher must own SIGSYS. */
static int setup(void)
{
	native_ppid = getppid();
	for (int i = 0; i < OLD_THREADS; i++)
		if (pthread_create(&old_threads[i], NULL, old_thread_body, NULL) == 0)
			old_threads_started++;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &set, &old);         /* inherited by the new thread */
	blocked_thread_started = pthread_create(&blocked_thread, NULL, blocked_thread_body, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	int r = vos_dispatch_install(counting_handler, NULL);
	if (r == -ENOSYS || r == -EINVAL)
		skip_reason = "no Syscall User Dispatch in this kernel";
	else if (r != 0) {
		printf("test_dispatch: vos_dispatch_install: %s\n", strerror(-r));
		return -1;
	}
	if (skip_reason)
		printf("test_dispatch: skipped: %s\n", skip_reason);
	vos_dispatch_stats(&at_install);
	const char *want = getenv("VOS_DISPATCH");
	lazy_forced = want && strcmp(want, "lazy") == 0;
	return 0;
}

#define SKIP_IF_NEEDED() do { if (skip_reason) { skip(); return; } } while (0)

/* ---- every way of making the call reaches the handler ------------------- */

static void getppid_three_ways(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	unsigned long n0 = my_getppid;
	for (int i = 0; i < 3; i++) {   /* the first trap, then the rewritten site */
		assert_int_equal(getppid(), native_ppid);
		assert_int_equal(syscall(SYS_getppid), native_ppid);
		assert_int_equal(asm_getppid(), native_ppid);
	}
	assert_int_equal(my_getppid - n0, 9);
}

static void no_traps_after_warmup(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats s0, s1;
	for (int i = 0; i < 3; i++)
		(void)(getppid() + syscall(SYS_getppid));
	vos_dispatch_stats(&s0);
	unsigned long n0 = my_getppid;
	long sum = 0;
	/* glibc's syscall() has its `syscall` at an address = 7 mod 8: rewritten too. */
	for (int i = 0; i < 5000; i++)
		sum += getppid() + syscall(SYS_getppid);
	vos_dispatch_stats(&s1);
	assert_int_equal(sum, 10000L * native_ppid);
	assert_int_equal(my_getppid - n0, 10000);
	if (s1.mode == VOS_DISPATCH_REWRITE) {
		assert_int_equal(s1.traps, s0.traps);
		assert_true(s1.tramp_calls - s0.tramp_calls >= 10000);
		assert_true(s1.syscalls - s0.syscalls >= 10000);
		assert_true(s1.rewritten >= 1);
	} else {
		assert_int_equal(s1.mode, VOS_DISPATCH_TRAP);
		assert_true(s1.traps - s0.traps >= 10000);
		printf("test_dispatch: page 0 not available: checked the slow path only\n");
	}
}

/* ---- a handler that refuses --------------------------------------------- */

static void handler_can_refuse(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	atomic_store(&deny_nr, SYS_chdir);
	errno = 0;
	int r1 = chdir("/");
	int e1 = errno;
	errno = 0;
	long r2 = syscall(SYS_chdir, "/");
	int e2 = errno;
	atomic_store(&deny_nr, -1);
	assert_int_equal(r1, -1);
	assert_int_equal(e1, EPERM);
	assert_int_equal(r2, -1);
	assert_int_equal(e2, EPERM);
	assert_int_equal(chdir("/"), 0);
}

/* ---- threads, fork, spawn ----------------------------------------------- */

static void *thread_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		if (getppid() != native_ppid || syscall(SYS_getppid) != native_ppid)
			return (void *)-1L;
	return (void *)my_getppid;      /* what the handler saw in this thread */
}

static void threads_after_install(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *ret;
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_int_equal((long)ret, 200);
	}
}

static void fork_child_is_caught(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	pid_t me = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned long n0 = my_getppid;
		if (getppid() != me)
			_exit(3);
		if (syscall(SYS_getppid) != me)
			_exit(4);
		_exit(my_getppid - n0 == 2 ? 0 : 10 + (int)(my_getppid - n0));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* fork and clone3 through a site already rewritten for another call (the
 * generic syscall() function): the trampoline bounces them to the trap path. */
static void fork_through_rewritten_site(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats s0, s1;
	assert_int_equal(syscall(SYS_getppid), native_ppid);   /* rewrites syscall()'s site */
	vos_dispatch_stats(&s0);
	pid_t me = getpid();
	long pid = syscall(SYS_fork);
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(syscall(SYS_getppid) == me ? 0 : 3);
	int st;
	assert_int_equal(waitpid((pid_t)pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	errno = 0;
	assert_int_equal(syscall(SYS_clone3, NULL, 0), -1);
	assert_int_equal(errno, ENOSYS);
	vos_dispatch_stats(&s1);
	if (s1.mode == VOS_DISPATCH_REWRITE)
		assert_true(s1.traps - s0.traps >= 2);  /* both bounced */
}

static void spawn_works(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	/* posix_spawn: clone(CLONE_VM|CLONE_VFORK) on its own stack, then execve. */
	pid_t pid;
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = (sig_atomic_t)getppid();     /* a system call in a handler */
}

static void signal_handler_returns(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	for (int i = 0; i < 3; i++) {
		got_usr1 = 0;
		volatile long before = 12345;   /* live across the signal */
		assert_int_equal(raise(SIGUSR1), 0);
		assert_int_equal(got_usr1, native_ppid);
		assert_int_equal(before, 12345);
	}
	/* The mask the handler ran with is gone again. */
	sigset_t cur;
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_false(sigismember(&cur, SIGUSR1));
	signal(SIGUSR1, SIG_DFL);
}

/* A read(2) on the SIGSYS path (a site the dispatcher cannot rewrite) blocked in another thread is interrupted by a
 * signal without SA_RESTART: EINTR, as natively. */
static vos_trap_site_fn trap_site;

static _Atomic pid_t reader_tid;
static void on_usr2(int sig) { (void)sig; }

static void *reader_body(void *arg)
{
	char c;
	atomic_store(&reader_tid, (pid_t)syscall(SYS_gettid));
	return (void *)trap_site(SYS_read, *(int *)arg, (long)&c, 1);
}

/* Whether thread tid is inside system call nr (/proc/self/task/TID/syscall). */
static int in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long got = -1;
	int ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%ld", &got) == 1 && got == nr;
	fclose(f);
	return ok;
}

/* A read(2) on the SIGSYS path (a site the dispatcher cannot rewrite)
 * blocked in another thread is interrupted by a signal without SA_RESTART:
 * EINTR, as natively. */
static void blocking_trap_call_gets_eintr(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	trap_site = vos_make_trap_site();
	assert_non_null(trap_site);
	struct sigaction sa = { .sa_handler = on_usr2 };   /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader_body, &p[0]), 0);
	int blocked = 0;
	for (int i = 0; i < 5000 && !blocked; i++) {    /* up to ~5 s */
		pid_t tid = atomic_load(&reader_tid);
		blocked = tid && in_syscall(tid, SYS_read);
		if (!blocked)
			usleep(1000);
	}
	assert_true(blocked);
	assert_int_equal(pthread_kill(t, SIGUSR2), 0);
	void *ret;
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((long)ret, -EINTR);
	vos_dispatch_stats(&s1);
	assert_true(s1.traps > s0.traps);
	close(p[0]);
	close(p[1]);
	signal(SIGUSR2, SIG_DFL);
}

static void own_sigsys_handler_refused(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	errno = 0;
	assert_int_equal(sigaction(SIGSYS, &sa, NULL), -1);
	assert_int_equal(errno, EINVAL);
	vos_dispatch_stats(&s1);
	assert_int_equal(s1.refused, s0.refused + 1);
	/* Reading the action is fine; installing twice is refused. */
	assert_int_equal(sigaction(SIGSYS, NULL, &sa), 0);
	assert_int_equal(vos_dispatch_install(counting_handler, NULL), -EBUSY);
	/* Blocking SIGSYS is silently not done (a trap would kill the process). */
	sigset_t set, cur;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_false(sigismember(&cur, SIGSYS));
	assert_int_equal(getppid(), native_ppid);
}


/* The handler may clobber every vector register (glibc's string functions
 * do); the program's values survive the call, on the trap path and through
 * the trampoline. */
static void vector_state_preserved(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	/* zmm16-31 and k1 only where the trampoline's body saves them (a
	 * VOS_DISPATCH_SAVE=ymm or xmm run tests those bodies' xmm part). */
	struct vos_dispatch_stats st;
	vos_dispatch_stats(&st);
	has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		     (!st.state_save || strcmp(st.state_save, "ymm") != 0) &&
		     (!st.state_save || strcmp(st.state_save, "xmm") != 0);
	if (st.state_save)
		printf("test_dispatch: vector state saved by the '%s' body\n", st.state_save);
	unsigned char in[3][64], out[3][64];
	for (int i = 0; i < 64; i++) {
		in[0][i] = (unsigned char)(i + 1);
		in[1][i] = (unsigned char)(0x80 + i);
		in[2][i] = (unsigned char)(0x40 ^ i);
	}
	atomic_store(&clobber_vectors, 1);
	for (int round = 0; round < 3; round++) {       /* trap, then trampoline */
		memset(out, 0, sizeof(out));
		long r;
		__asm__ volatile("movdqu (%[i0]), %%xmm0\n\t"
				 "movdqu (%[i1]), %%xmm7\n\t"
				 "movdqu (%[i2]), %%xmm15\n\t"
				 "syscall\n\t"
				 "movdqu %%xmm0, (%[o0])\n\t"
				 "movdqu %%xmm7, (%[o1])\n\t"
				 "movdqu %%xmm15, (%[o2])"
				 : "=a"(r)
				 : "0"((long)SYS_getppid), [i0] "r"(in[0]), [i1] "r"(in[1]),
				   [i2] "r"(in[2]), [o0] "r"(out[0]), [o1] "r"(out[1]), [o2] "r"(out[2])
				 : "rcx", "r11", "memory", "xmm0", "xmm7", "xmm15");
		assert_int_equal(r, native_ppid);
		for (int k = 0; k < 3; k++)
			assert_memory_equal(in[k], out[k], 16);
		if (!has_avx512)
			continue;
		memset(out, 0, sizeof(out));
		unsigned long kin = 0x5a5a5a5a12345678ul, kout = 0;
		const void *pin0 = in[0], *pin1 = in[1], *pkin = &kin;
		void *pout0 = out[0], *pout1 = out[1], *pkout = &kout;
		/* Register variables are only sure right before the asm (no call
		 * in between, sanitizer calls included). */
		register long rax __asm__("rax") = SYS_getppid;
		register const void *rsi __asm__("rsi") = pin0, *rdx __asm__("rdx") = pin1;
		register const void *rcx __asm__("rcx") = pkin;
		register void *rdi __asm__("rdi") = pout0, *r8 __asm__("r8") = pout1;
		register void *r9 __asm__("r9") = pkout;
		__asm__ volatile("vmovdqu64 (%%rsi), %%zmm16\n\t"
				 "vmovdqu64 (%%rdx), %%zmm31\n\t"
				 "kmovq (%%rcx), %%k1\n\t"
				 "syscall\n\t"
				 "vmovdqu64 %%zmm16, (%%rdi)\n\t"
				 "vmovdqu64 %%zmm31, (%%r8)\n\t"
				 "kmovq %%k1, (%%r9)"
				 : "+r"(rax), "+r"(rcx)
				 : "r"(rsi), "r"(rdx), "r"(rdi), "r"(r8), "r"(r9)
				 : "r11", "memory");
		long got = rax;         /* before any call can clobber it */
		assert_int_equal(got, native_ppid);
		assert_memory_equal(in[0], out[0], 64);
		assert_memory_equal(in[1], out[1], 64);
		assert_int_equal(kout, kin);
	}
	atomic_store(&clobber_vectors, 0);
}

/* A site whose two bytes straddle a cache line (63 mod 64, like one of
 * glibc's openat sites) is rewritten with a split lock, unless the kernel
 * traps split locks. */
static long straddling_getppid(void)
{
	long r;
	__asm__ volatile(".p2align 6\n\t.skip 63, 0x90\n\tsyscall"
			 : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return r;
}

static int kernel_traps_split_locks(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0) {
			found = strstr(line, " split_lock_detect") != NULL;
			break;
		}
	if (f)
		fclose(f);
	return found;
}

static void straddling_site(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(straddling_getppid(), native_ppid);
	vos_dispatch_stats(&s1);
	if (s1.mode != VOS_DISPATCH_REWRITE)
		assert_int_equal(s1.traps - s0.traps, 5);
	else if (kernel_traps_split_locks())
		assert_int_equal(s1.traps - s0.traps, 5);       /* threads existed at install */
	else if (at_install.eager)
		assert_int_equal(s1.traps - s0.traps, 0);       /* rewritten at install */
	else
		assert_int_equal(s1.traps - s0.traps, 1);
}

/* ---- eager mode ---------------------------------------------------------- */

/* The handler's own clone with a new stack goes through glibc's clone site,
 * which eager mode has rewritten (lazy mode never rewrites it): the child
 * must start on its stack and the parent return as natively. */
static void handler_clone_with_stack(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	for (int i = 0; i < 3; i++) {
		errno = 0;
		assert_int_equal(syscall(SYS_getpgid, CLONE_MAGIC), 0);
	}
}

static void eager_mode_at_install(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	if (at_install.mode != VOS_DISPATCH_REWRITE) {
		assert_false(at_install.eager);         /* trap mode: nothing to rewrite into */
		return;
	}
	if (lazy_forced) {
		assert_false(at_install.eager);
		assert_non_null(at_install.lazy_reason);
		assert_string_equal(at_install.lazy_reason, "VOS_DISPATCH=lazy");
		assert_int_equal(at_install.eager_sites, 0);
		return;
	}
	if (!at_install.eager)
		printf("test_dispatch: lazy at install: %s\n",
		       at_install.lazy_reason ? at_install.lazy_reason : "?");
	assert_true(at_install.eager);
	assert_null(at_install.lazy_reason);
	assert_true(at_install.eager_sites >= 100);     /* glibc alone has hundreds */
	assert_true(at_install.install_ns > 0);
	printf("test_dispatch: eager: %llu sites rewritten at install in %llu us\n",
	       (unsigned long long)at_install.eager_sites,
	       (unsigned long long)(at_install.install_ns / 1000));
}

/* In a child (VOS_TEST_SCENARIO=cache): the objects this program maps were
 * classified at least once before (this process's own install wrote them to
 * the cache), so the child's install takes them from there, with the same
 * sites; with VOS_DISPATCH_CACHE=off it decodes everything again. */
static int cache_scenario(void)
{
	struct vos_dispatch_stats s;
	vos_dispatch_stats(&s);
	const char *off = getenv("VOS_DISPATCH_CACHE");
	int want_cached = !(off && strcmp(off, "off") == 0);
	if (!s.eager)
		return 77;
	if (want_cached ? s.eager_cached == 0 : s.eager_cached != 0)
		return 2;
	printf("test_dispatch: %s: %llu sites, %llu segments from the cache, %llu us\n",
	       want_cached ? "cache" : "no cache", (unsigned long long)s.eager_sites,
	       (unsigned long long)s.eager_cached, (unsigned long long)(s.install_ns / 1000));
	return s.eager_sites == at_install.eager_sites || !at_install.eager_sites ? 0 : 3;
}

static void run_self(const char *const extra[], int want);

static void cache_gives_the_same_sites(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	if (!at_install.eager) {
		skip();
		return;
	}
	char sites[64];
	snprintf(sites, sizeof(sites), "VOS_TEST_SITES=%llu", (unsigned long long)at_install.eager_sites);
	const char *const with[] = { "VOS_TEST_SCENARIO=cache", sites, NULL };
	const char *const without[] = { "VOS_TEST_SCENARIO=cache", "VOS_DISPATCH_CACHE=off", sites, NULL };
	run_self(with, 0);
	run_self(without, 0);
}

/* A library loaded after install: its `syscall` never ran before, yet the
 * call reaches the handler; in eager mode without a trap (the scan of the
 * new mapping rewrote it), in lazy mode through its first trap. */
static void dlopen_site_caught(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	assert_true(n > 0);
	path[n] = 0;
	char *slash = strrchr(path, '/');
	assert_non_null(slash);
	strcpy(slash + 1, "libdispatch_dl.so");
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	long (*fn)(void) = (long (*)(void))dlsym(h, "dispatch_dl_getppid");
	assert_non_null(fn);
	struct vos_dispatch_stats mid;
	vos_dispatch_stats(&mid);
	unsigned long n0 = my_getppid;
	assert_int_equal(fn(), native_ppid);
	assert_int_equal(fn(), native_ppid);
	assert_int_equal(my_getppid - n0, 2);           /* both calls reached the handler */
	vos_dispatch_stats(&s1);
	if (s0.eager) {
		assert_true(s1.eager);                  /* the library was classified */
		assert_int_equal(s1.traps, s0.traps);   /* rewritten before it ran */
		assert_true(s1.eager_scans > s0.eager_scans);
		assert_true(s1.eager_sites > s0.eager_sites);
	} else if (s1.mode == VOS_DISPATCH_REWRITE) {
		assert_int_equal(s1.traps - mid.traps, 1);      /* the first call */
	}
	dlclose(h);
}

/* `mov $0x50f, %eax` is b8 0f 05 00 00: a candidate inside an immediate. */
__attribute__((noinline)) static long immediate_0f05(void)
{
	long r;
	__asm__ volatile("mov $0x50f, %%eax" : "=a"(r));
	return r;
}

static void candidate_inside_instruction_left_alone(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	static const unsigned char mov[] = { 0xb8, 0x0f, 0x05, 0x00, 0x00 };
	const unsigned char *code = (const unsigned char *)immediate_0f05;
	int found = 0;
	for (int i = 0; i < 64 && !found; i++)
		found = memcmp(code + i, mov, sizeof(mov)) == 0;
	assert_true(found);                             /* not rewritten */
	assert_int_equal(immediate_0f05(), 0x50f);
	if (at_install.eager) {
		struct vos_dispatch_stats s;
		vos_dispatch_stats(&s);
		assert_true(s.eager);   /* it was classified: no reason to go lazy */
	}
}

/* Numbers no kernel has, at a rewritten site (glibc's syscall(), whose
 * number is not a constant): ENOSYS as natively, not a jump out of page 0's
 * sled.  (1027..1038, numbers >= 4083 and negative ones are not covered:
 * README.md, Limits.) */
static void invalid_numbers_enosys(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	static const long nrs[] = { 1023, 1024, 1025, 1026, 1039, 1500, 4082 };
	(void)syscall(SYS_getppid);                     /* the site is rewritten (lazy mode too) */
	for (unsigned i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		errno = 0;
		assert_int_equal(syscall(nrs[i]), -1);
		assert_int_equal(errno, ENOSYS);
	}
}

/* In a child (VOS_TEST_SCENARIO=jit): code written into anonymous memory
 * and made executable cannot be classified, so dispatch goes lazy in every
 * thread; its call then traps, in this thread and in one that existed
 * before.  Exit status: 0 right, 77 not in eager mode at install. */
static int jit_pipe[2];
static long (*volatile jit_fn_for_thread)(void);

static void *jit_thread_body(void *arg)
{
	(void)arg;
	char c;
	if (read(jit_pipe[0], &c, 1) != 1)
		return (void *)-1L;
	unsigned long n0 = my_getppid;
	long r = jit_fn_for_thread();
	return (void *)(r == native_ppid ? (long)(my_getppid - n0) : -2L);
}

static int jit_scenario(void)
{
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	if (!s0.eager)
		return 77;
	pthread_t t;
	if (pipe(jit_pipe) != 0 || pthread_create(&t, NULL, jit_thread_body, NULL) != 0)
		return 2;
	/* mov $SYS_getppid, %eax; syscall; ret */
	static const unsigned char code[] = { 0xb8, SYS_getppid, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	memcpy(p, code, sizeof(code));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
		return 4;
	vos_dispatch_stats(&s1);
	if (s1.eager || !s1.lazy_reason || !strstr(s1.lazy_reason, "executable")) {
		printf("jit: still eager or no reason: %s\n", s1.lazy_reason ? s1.lazy_reason : "-");
		return 5;
	}
	unsigned long n0 = my_getppid;
	long r = ((long (*)(void))p)();
	vos_dispatch_stats(&s1);
	if (r != native_ppid || my_getppid - n0 != 1 || s1.traps <= s0.traps)
		return 6;
	jit_fn_for_thread = (long (*)(void))p;
	void *ret;
	if (write(jit_pipe[1], "x", 1) != 1 || pthread_join(t, &ret) != 0)
		return 7;
	return (long)ret == 1 ? 0 : 8;
}

static void run_self(const char *const extra[], int want)
{
	size_t n = 0;
	while (environ[n])
		n++;
	const char **envp = calloc(n + 4, sizeof(*envp));
	assert_non_null(envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VOS_DISPATCH=", 13) != 0)
			envp[k++] = environ[i];
	for (int i = 0; extra[i]; i++)
		envp[k++] = extra[i];
	char *argv[] = { "test_dispatch", NULL };
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, (char **)envp), 0);
	free(envp);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), want);
}

/* ---- sites left native: one pass-through number, provably ------------- */

#define XSTR(x) STR(x)
#define STR(x) #x

/*
 * Hand-written sites (with CFI, so each function has an FDE), for a child
 * that made getppid and munmap pass-through before install
 * (VOS_TEST_SCENARIO=native):
 * - native_getppid: `mov $SYS_getppid, %eax; syscall; ret`: stays native;
 * - native_getpgrp: the same with getpgrp, which the handler must see;
 * - native_munmap: munmap, pass-through but one the module must see
 *   (it watches executable memory): rewritten;
 * - branch_target(which): the site is a branch target with getpgrp in eax
 *   (which != 0) although getppid is set right before it: rewritten;
 * - cold_site: getppid right before it, but another function
 *   (cold_jumper, as gcc's .cold parts do) jumps there with getpgrp;
 * - indirect_getppid: getppid right before, but the function has an
 *   indirect jump: rewritten.
 */
long native_getppid(void), native_getpgrp(void), native_munmap(void *p, long len),
     branch_target(long which), cold_getppid(void), cold_jumper(void), indirect_getppid(void);
extern const unsigned char native_getppid_site[], native_getpgrp_site[], native_munmap_site[],
			   branch_target_site[], cold_site[], indirect_site[];
__asm__(".text\n"
	".p2align 4\n"
	".globl native_getppid\n.hidden native_getppid\n.type native_getppid, @function\n"
	"native_getppid:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_getppid) ", %eax\n"
	"native_getppid_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size native_getppid, .-native_getppid\n"
	".p2align 4\n"
	".globl native_getpgrp\n.hidden native_getpgrp\n.type native_getpgrp, @function\n"
	"native_getpgrp:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_getpgrp) ", %eax\n"
	"native_getpgrp_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size native_getpgrp, .-native_getpgrp\n"
	".p2align 4\n"
	".globl native_munmap\n.hidden native_munmap\n.type native_munmap, @function\n"
	"native_munmap:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_munmap) ", %eax\n"
	"native_munmap_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size native_munmap, .-native_munmap\n"
	".p2align 4\n"
	".globl branch_target\n.hidden branch_target\n.type branch_target, @function\n"
	"branch_target:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_getpgrp) ", %eax\n"
	"	test %rdi, %rdi\n"
	"	jnz branch_target_site\n"
	"	mov $" XSTR(SYS_getppid) ", %eax\n"
	"branch_target_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size branch_target, .-branch_target\n"
	".p2align 4\n"
	".globl cold_getppid\n.hidden cold_getppid\n.type cold_getppid, @function\n"
	"cold_getppid:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_getppid) ", %eax\n"
	"cold_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size cold_getppid, .-cold_getppid\n"
	/* Far enough that a short jump cannot reach: only the rel32 form. */
	".p2align 8\n.skip 256, 0xcc\n"
	".globl cold_jumper\n.hidden cold_jumper\n.type cold_jumper, @function\n"
	"cold_jumper:\n.cfi_startproc\n"
	"	mov $" XSTR(SYS_getpgrp) ", %eax\n"
	"	jmp cold_site\n.cfi_endproc\n"
	".size cold_jumper, .-cold_jumper\n"
	".p2align 4\n"
	".globl indirect_getppid\n.hidden indirect_getppid\n.type indirect_getppid, @function\n"
	"indirect_getppid:\n.cfi_startproc\n"
	"	lea 1f(%rip), %rcx\n"
	"	jmp *%rcx\n"
	"1:	mov $" XSTR(SYS_getppid) ", %eax\n"
	"indirect_site:\n	syscall\n	ret\n.cfi_endproc\n"
	".size indirect_getppid, .-indirect_getppid\n");

static int is_native(const unsigned char *site)
{
	return site[0] == 0x0f && site[1] == 0x05;
}

static int is_rewritten(const unsigned char *site)
{
	return site[0] == 0xff && site[1] == 0xd0;
}

static int native_scenario(void)
{
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	if (!s0.eager)
		return 77;
	pid_t pgrp = getpgrp();
	unsigned long pp0 = atomic_load(&seen_by_nr[SYS_getppid]);
	unsigned long pg0 = atomic_load(&seen_by_nr[SYS_getpgrp]);
	unsigned long mu0 = atomic_load(&seen_by_nr[SYS_munmap]);
	if (!is_native(native_getppid_site) || s0.eager_native < 1) {
		printf("native: getppid site %02x %02x, eager_native %llu\n", native_getppid_site[0],
		       native_getppid_site[1], (unsigned long long)s0.eager_native);
		return 2;
	}
	if (!is_rewritten(native_getpgrp_site) || !is_rewritten(native_munmap_site) ||
	    !is_rewritten(branch_target_site) || !is_rewritten(cold_site) || !is_rewritten(indirect_site))
		return 3;
	for (int i = 0; i < 3; i++)
		if (native_getppid() != native_ppid || native_getpgrp() != pgrp ||
		    branch_target(0) != native_ppid || branch_target(1) != pgrp ||
		    cold_getppid() != native_ppid || cold_jumper() != pgrp ||
		    indirect_getppid() != native_ppid || native_munmap(NULL, 0) != -EINVAL)
			return 4;
	vos_dispatch_stats(&s1);
	/* getppid is pass-through: never the handler, on either kind of site;
	 * getpgrp reached it each time (3 sites x 3); munmap was run natively
	 * by the trampoline (pass-through), through the rewritten site. */
	if (atomic_load(&seen_by_nr[SYS_getppid]) != pp0 || atomic_load(&seen_by_nr[SYS_getpgrp]) - pg0 != 9 ||
	    atomic_load(&seen_by_nr[SYS_munmap]) != mu0)
		return 5;
	/* 3 calls x (branch_target(0), cold_getppid, indirect_getppid, munmap)
	 * through the trampoline's pass-through; native_getppid's are not seen. */
	if (s1.traps != s0.traps || s1.passthrough - s0.passthrough != 12)
		return 6;
	if (s1.eager_native != s0.eager_native || is_native(native_getpgrp_site))
		return 7;
	printf("test_dispatch: native: %llu sites left native, %llu rewritten, %llu segments from the cache\n",
	       (unsigned long long)s0.eager_native, (unsigned long long)s0.eager_sites,
	       (unsigned long long)s0.eager_cached);
	return 0;
}

/* Without pass-through numbers at install (this process), every site is
 * rewritten, native_getppid's too; in a child that made getppid
 * pass-through before install it stays a plain `syscall` (from a fresh
 * scan, and from the cache this process's own scan wrote). */
static void one_number_sites_left_native(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	if (!at_install.eager) {
		skip();
		return;
	}
	assert_int_equal(at_install.eager_native, 0);
	assert_true(is_rewritten(native_getppid_site));
	unsigned long n0 = my_getppid;
	assert_int_equal(native_getppid(), native_ppid);
	assert_int_equal(my_getppid - n0, 1);
	static const char *const off[] = { "VOS_TEST_SCENARIO=native", "VOS_DISPATCH_CACHE=off", NULL };
	static const char *const cache[] = { "VOS_TEST_SCENARIO=native", NULL };
	run_self(off, 0);
	run_self(cache, 0);     /* this process's install wrote the cache: the proof is */
	run_self(cache, 0);     /* kept there whatever is pass-through */
}

static void jit_page_turns_dispatch_on(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	if (!at_install.eager) {
		skip();
		return;
	}
	static const char *const extra[] = { "VOS_TEST_SCENARIO=jit", NULL };
	run_self(extra, 0);
}

/* The whole suite again in lazy mode (not from inside that run). */
static void lazy_mode_suite(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	if (lazy_forced) {
		skip();
		return;
	}
	static const char *const extra[] = { "VOS_DISPATCH=lazy", NULL };
	run_self(extra, 0);
}

/* ---- the API the library builds on ------------------------------------- */

static void threads_started_before_install_are_armed(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	assert_int_equal(old_threads_started, OLD_THREADS);
	struct vos_dispatch_stats s;
	vos_dispatch_stats(&s);
	assert_true(blocked_thread_started);
	assert_true(s.threads_armed >= OLD_THREADS);
#ifdef UNDER_TSAN
	unsigned long others = 1;               /* TSan's background thread blocks SIGSYS */
#else
	unsigned long others = 0;
#endif
	assert_int_equal(s.threads_unarmed, others + 1);
	pthread_mutex_lock(&go_lock);
	go = 1;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
	for (int i = 0; i < OLD_THREADS; i++) {
		void *ret;
		assert_int_equal(pthread_join(old_threads[i], &ret), 0);
		assert_int_equal((long)ret, 100);       /* every call reached the handler */
	}
	void *ret;
	assert_int_equal(pthread_join(blocked_thread, &ret), 0);
	assert_int_equal((long)ret, 100);               /* armed once it unblocked SIGSYS */
	vos_dispatch_stats(&s);
	assert_int_equal(s.threads_unarmed, others);
}

static void passthrough_skips_handler(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	pid_t native = getpgrp();               /* seen by the handler: not yet pass-through */
	assert_true(atomic_load(&seen_by_nr[SYS_getpgrp]) >= 1);
	vos_dispatch_passthrough(SYS_getpgrp);
	vos_dispatch_passthrough(SYS_clone);    /* ignored: the module must see clone */
	vos_dispatch_passthrough(5000);         /* ignored: out of range */
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	unsigned long h0 = atomic_load(&seen_by_nr[SYS_getpgrp]);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(getpgrp(), native);
		assert_int_equal(syscall(SYS_getpgrp), native);
	}
	vos_dispatch_stats(&s1);
	assert_int_equal(atomic_load(&seen_by_nr[SYS_getpgrp]), h0);
	if (s1.mode == VOS_DISPATCH_REWRITE)
		assert_true(s1.passthrough - s0.passthrough >= 8);      /* all but the first traps */
	/* clone was not made pass-through: threads still work. */
	threads_after_install(state);
}

static _Atomic long precheck_calls, precheck_a0;

/* The contract: general registers only, no libc, no sanitizer calls. */
__attribute__((target("general-regs-only"), no_sanitize_address, no_sanitize_thread,
	       no_sanitize("undefined")))
static int test_precheck(long nr, const long a[6])
{
	if (nr != SYS_getpriority)
		return 0;
	__atomic_fetch_add(&precheck_calls, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&precheck_a0, a[0] * 100 + a[1], __ATOMIC_RELAXED);
	return a[1] == 0;       /* "local": run natively */
}

__attribute__((target("general-regs-only"), no_sanitize_address, no_sanitize_thread,
	       no_sanitize("undefined")))
static int native_for_all(long nr, const long a[6])
{
	(void)nr;
	(void)a;
	return 1;
}

static void precheck_runs_natively(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	errno = 0;
	int native = getpriority(PRIO_PROCESS, 0);
	assert_int_equal(errno, 0);
	vos_dispatch_set_precheck(test_precheck);
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	unsigned long h0 = atomic_load(&seen_by_nr[SYS_getpriority]);
	for (int i = 0; i < 5; i++)
		assert_int_equal(getpriority(PRIO_PROCESS, 0), native);
	unsigned long h1 = atomic_load(&seen_by_nr[SYS_getpriority]);
	/* A call the precheck does not claim reaches the handler. */
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)getpid()), native);
	unsigned long h2 = atomic_load(&seen_by_nr[SYS_getpriority]);
	vos_dispatch_stats(&s1);
	/* A precheck that says "native" for everything still lets the module
	 * see what it must: SIGSYS stays unblocked, a thread's exit is seen. */
	vos_dispatch_set_precheck(native_for_all);
	unsigned long e0 = atomic_load(&seen_by_nr[SYS_exit]);
	sigset_t set, cur;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, thread_body, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	unsigned long e1 = atomic_load(&seen_by_nr[SYS_exit]);
	vos_dispatch_set_precheck(NULL);
	assert_false(sigismember(&cur, SIGSYS));
	assert_int_equal(e1, e0 + 1);
	struct vos_dispatch_stats s2;   /* the exited thread's counters were folded in */
	vos_dispatch_stats(&s2);
	assert_true(s2.precheck_native >= s1.precheck_native);
	if (s1.mode == VOS_DISPATCH_REWRITE) {
		assert_int_equal(h1, h0);
		assert_int_equal(h2, h1 + 1);
		assert_int_equal(atomic_load(&precheck_calls), 6);
		assert_int_equal(atomic_load(&precheck_a0), PRIO_PROCESS * 100 + getpid());
		assert_int_equal(s1.precheck_native - s0.precheck_native, 5);
	} else {
		assert_int_equal(h1, h0 + 5);           /* the trap path never asks the precheck */
		assert_int_equal(atomic_load(&precheck_calls), 0);
	}
}

/* Fork hooks log into shared memory, so children's entries are visible. */
struct hook_log {
	_Atomic int n;
	char ev[16];
	unsigned long flags[16];
	long ret;
};
static struct hook_log *hlog;

__attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize("undefined")))
static void log_ev(char ev, unsigned long flags)
{
	int i = atomic_fetch_add(&hlog->n, 1);
	if (i < 16) {
		hlog->ev[i] = ev;
		hlog->flags[i] = flags;
	}
}
HANDLER_CODE static void hook_prepare(unsigned long flags) { log_ev('P', flags); }
HANDLER_CODE static void hook_child(unsigned long flags) { log_ev('c', flags); }
HANDLER_CODE static void hook_parent(unsigned long flags, long ret)
{
	hlog->ret = ret;
	log_ev('p', flags);
}

static void reset_log(void)
{
	memset(hlog, 0, sizeof(*hlog));
}

/* P first, then c and p (in the order given, or either if !ordered). */
static void check_log(pid_t pid, int ordered)
{
	assert_int_equal(atomic_load(&hlog->n), 3);
	assert_int_equal(hlog->ev[0], 'P');
	if (ordered) {
		assert_int_equal(hlog->ev[1], 'c');
		assert_int_equal(hlog->ev[2], 'p');
	} else {
		assert_true((hlog->ev[1] == 'c' && hlog->ev[2] == 'p') ||
			    (hlog->ev[1] == 'p' && hlog->ev[2] == 'c'));
	}
	assert_int_equal(hlog->ret, pid);
	for (int i = 0; i < 3; i++)
		assert_false(hlog->flags[i] & CLONE_THREAD);
}

static void wait_ok(pid_t pid, int code)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

static void fork_hooks_order(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	hlog = mmap(NULL, sizeof(*hlog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(hlog != MAP_FAILED);
	struct vos_dispatch_fork_hooks h = { hook_prepare, hook_parent, hook_child, NULL };
	vos_dispatch_set_fork_hooks(&h);

	reset_log();                            /* fork */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	wait_ok(pid, 0);
	check_log(pid, 0);

	reset_log();                            /* vfork (runs as fork) */
	pid = vfork();
	if (pid == 0)
		_exit(5);
	assert_true(pid > 0);
	wait_ok(pid, 5);
	check_log(pid, 0);

	reset_log();                            /* posix_spawn: CLONE_VM|CLONE_VFORK, own stack */
	char *argv[] = { "sh", "-c", "exit 6", NULL };
	assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
	wait_ok(pid, 6);
	check_log(pid, 1);                      /* the parent waits for the child's exec */
	assert_true(hlog->flags[1] & CLONE_VM);
	assert_true(hlog->flags[1] & CLONE_VFORK);

	reset_log();                            /* threads: no hooks */
	threads_after_install(state);
	assert_int_equal(atomic_load(&hlog->n), 0);

	vos_dispatch_set_fork_hooks(NULL);
	reset_log();
	pid = fork();
	if (pid == 0)
		_exit(0);
	wait_ok(pid, 0);
	assert_int_equal(atomic_load(&hlog->n), 0);
	munmap(hlog, sizeof(*hlog));
}

static void selector_block_restore(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	/* Without block: the handler's own getppid() is not intercepted. */
	atomic_store(&block_in_handler, 0);
	assert_int_equal(syscall(SYS_getpgid, NESTED_MAGIC), 0);
	assert_int_equal(atomic_load(&nested_seen), 0);
	/* With block: it is, and the handler's selector is back afterwards. */
	atomic_store(&block_in_handler, 1);
	assert_int_equal(syscall(SYS_getpgid, NESTED_MAGIC), 0);
	assert_int_equal(atomic_load(&nested_seen), 1);
	atomic_store(&block_in_handler, 0);
	assert_int_equal(syscall(SYS_getpgid, NESTED_MAGIC), 0);
	assert_int_equal(atomic_load(&nested_seen), 0);
	/* And outside the handler the program is still intercepted. */
	unsigned long n0 = my_getppid;
	assert_int_equal(getppid(), native_ppid);
	assert_int_equal(my_getppid - n0, 1);
}

static void seccomp_strict_refused(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats s0, s1;
	vos_dispatch_stats(&s0);
	errno = 0;
	assert_int_equal(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	vos_dispatch_stats(&s1);
	assert_int_equal(s1.seccomp_refused - s0.seccomp_refused, 2);
	assert_int_equal(getppid(), native_ppid);       /* still alive and intercepted */
}

/* A seccomp filter installed after the dispatcher: it sees the calls the
 * handler passes through, so an errno rule behaves as natively.  In a child
 * (a filter cannot be removed). */
static void seccomp_filter_coexists(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
			_exit(2);
		unsigned long n0 = my_getppid;
		if (getppid() != getppid() || my_getppid - n0 != 2)
			_exit(3);
		errno = 0;
		if (getpgid(0) != -1 || errno != EACCES)
			_exit(4);
		_exit(0);
	}
	wait_ok(pid, 0);
}

static void elf_is_static(void **state)
{
	(void)state;
	/* Debian's ldconfig is static-pie; sh is dynamic. */
	if (access("/sbin/ldconfig", R_OK) == 0)
		assert_int_equal(vos_elf_is_static("/sbin/ldconfig"), 1);
	assert_int_equal(vos_elf_is_static("/bin/sh"), 0);
	assert_int_equal(vos_elf_is_static("/etc/passwd"), 0);   /* not ELF */
	assert_int_equal(vos_elf_is_static("/nonexistent/x"), -ENOENT);
}

/* The other trampoline bodies this CPU can run (the default is the
 * cheapest right one): this program again, vector test only, each body
 * forced with VOS_DISPATCH_SAVE. */
static void vector_state_every_body(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct vos_dispatch_stats st;
	vos_dispatch_stats(&st);
	if (st.mode != VOS_DISPATCH_REWRITE) {
		skip();
		return;
	}
	static const char *const bodies[] = { "zmm", "ymm", "xmm", "xsavec", "xsave" };
	for (unsigned i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char env_save[64], *argv[] = { "test_dispatch", NULL };
		snprintf(env_save, sizeof(env_save), "VOS_DISPATCH_SAVE=%s", bodies[i]);
		char *envp[] = { env_save, "VOS_TEST_VECTORS_ONLY=1", NULL };
		pid_t pid;
		assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, envp), 0);
		wait_ok(pid, 0);        /* a body the CPU cannot run falls back: still right */
	}
}

int main(void)
{
	const struct CMUnitTest vectors_only[] = {
		cmocka_unit_test(vector_state_preserved),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_started_before_install_are_armed),
		cmocka_unit_test(eager_mode_at_install),
		cmocka_unit_test(candidate_inside_instruction_left_alone),
		cmocka_unit_test(dlopen_site_caught),
		cmocka_unit_test(jit_page_turns_dispatch_on),
		cmocka_unit_test(one_number_sites_left_native),
		cmocka_unit_test(cache_gives_the_same_sites),
		cmocka_unit_test(getppid_three_ways),
		cmocka_unit_test(invalid_numbers_enosys),
		cmocka_unit_test(no_traps_after_warmup),
		cmocka_unit_test(handler_can_refuse),
		cmocka_unit_test(threads_after_install),
		cmocka_unit_test(fork_child_is_caught),
		cmocka_unit_test(fork_through_rewritten_site),
		cmocka_unit_test(spawn_works),
		cmocka_unit_test(signal_handler_returns),
		cmocka_unit_test(blocking_trap_call_gets_eintr),
		cmocka_unit_test(own_sigsys_handler_refused),
		cmocka_unit_test(straddling_site),
		cmocka_unit_test(vector_state_preserved),
		cmocka_unit_test(vector_state_every_body),
		cmocka_unit_test(passthrough_skips_handler),
		cmocka_unit_test(precheck_runs_natively),
		cmocka_unit_test(fork_hooks_order),
		cmocka_unit_test(selector_block_restore),
		cmocka_unit_test(seccomp_strict_refused),
		cmocka_unit_test(seccomp_filter_coexists),
		cmocka_unit_test(elf_is_static),
		cmocka_unit_test(handler_clone_with_stack),
		cmocka_unit_test(lazy_mode_suite),
	};
	if (getenv("VOS_TEST_VECTORS_ONLY")) {
		native_ppid = getppid();
		int r = vos_dispatch_install(counting_handler, NULL);
		if (r != 0)
			return r == -ENOSYS ? 0 : 1;
		return cmocka_run_group_tests(vectors_only, NULL, NULL);
	}
	if (getenv("VOS_TEST_SCENARIO")) {
		const char *scenario = getenv("VOS_TEST_SCENARIO");
		native_ppid = getppid();
		if (strcmp(scenario, "native") == 0) {
			vos_dispatch_passthrough(SYS_getppid);
			vos_dispatch_passthrough(SYS_munmap);
		}
		if (vos_dispatch_install(counting_handler, NULL) != 0)
			return 1;
		const char *sites = getenv("VOS_TEST_SITES");
		at_install.eager_sites = sites ? strtoull(sites, NULL, 10) : 0;
		if (strcmp(scenario, "native") == 0)
			return native_scenario();
		return strcmp(scenario, "cache") == 0 ? cache_scenario() : jit_scenario();
	}
	if (setup() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
