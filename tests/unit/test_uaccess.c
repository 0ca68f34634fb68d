/*
 * test_uaccess.c - libvirtuos/interpose/uaccess.c: copies of the program's
 * memory give -EFAULT for NULL, low, wrapping, unmapped, PROT_NONE,
 * read-only (to_user) and non-canonical addresses, and copy exactly
 * otherwise; strings stop at their NUL even right before an unmapped page;
 * the program's SIGSEGV/SIGBUS actions still work behind the library's
 * handler (a handler, SA_RESETHAND, SIG_IGN of a sent signal, SIG_DFL
 * killing the process as natively) and sigaction() reports them.
 *
 * uaccess.c is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "../../libvirtuos/interpose/uaccess.c"

/* What uaccess.c takes from the rest of the library. */
int (*real_sigaction)(int, const struct sigaction *, struct sigaction *) = sigaction;
#define UACCESS_STUBS_SIGNAL
#include "uaccess_stubs.h"

static long page;

/* Two pages: the first readable and writable, the second PROT_NONE or
 * unmapped. */
static char *two_pages(int unmap_second)
{
	char *p = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	if (unmap_second)
		assert_int_equal(munmap(p + page, (size_t)page), 0);
	else
		assert_int_equal(mprotect(p + page, (size_t)page, PROT_NONE), 0);
	return p;
}

static void release(char *p, int unmapped_second)
{
	munmap(p, (size_t)page * (unmapped_second ? 1 : 2));
}

static void test_copy_ok(void **state)
{
	char src[100], dst[100];

	(void)state;
	for (int i = 0; i < 100; i++)
		src[i] = (char)i;
	memset(dst, 0, sizeof(dst));
	assert_int_equal(vos_copy_from_user(dst, src, sizeof(src)), 0);
	assert_memory_equal(dst, src, sizeof(src));
	memset(dst, 0, sizeof(dst));
	assert_int_equal(vos_copy_to_user(dst, src, 37), 0);
	assert_memory_equal(dst, src, 37);
	assert_int_equal(dst[37], 0);
	/* Zero bytes: nothing is touched, even at NULL (as the kernel). */
	assert_int_equal(vos_copy_from_user(dst, NULL, 0), 0);
	assert_int_equal(vos_copy_to_user(NULL, src, 0), 0);
}

static void test_bad_ranges(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(vos_copy_from_user(buf, NULL, 1), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, (void *)1, 1), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, (void *)4095, 1), -EFAULT);
	assert_int_equal(vos_copy_to_user(NULL, buf, 1), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, (void *)-1, 1), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, (void *)UINTPTR_MAX - 4, 16), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, buf, SIZE_MAX), -EFAULT);   /* wraps */
	assert_int_equal(vos_strncpy_from_user(buf, NULL, sizeof(buf)), -EFAULT);
	assert_int_equal(vos_strncpy_from_user(buf, (char *)-4096, sizeof(buf)), -EFAULT);
	/* Non-canonical (4-level paging): a general protection fault. */
	assert_int_equal(vos_copy_from_user(buf, (void *)0x0000800000000000ul, 8), -EFAULT);
	assert_int_equal(vos_strncpy_from_user(buf, (char *)0x00f0000000000000ul, 8), -EFAULT);
}

static void test_reserve_low(void **state)
{
	char *p = two_pages(0), buf[4];

	(void)state;
	/* Raising the limit below p changes nothing for p. */
	vos_uaccess_reserve_low(8192);
	assert_int_equal(vos_copy_from_user(buf, p, 4), 0);
	assert_int_equal(vos_copy_from_user(buf, (void *)4096, 1), -EFAULT);
	assert_int_equal(vos_copy_from_user(buf, (void *)8191, 1), -EFAULT);
	/* Lowering is refused. */
	vos_uaccess_reserve_low(4096);
	assert_int_equal(vos_copy_from_user(buf, (void *)4096, 1), -EFAULT);
	release(p, 0);
}

static void test_faults(void **state)
{
	char buf[64];

	(void)state;
	for (int unmap = 0; unmap < 2; unmap++) {
		char *p = two_pages(unmap);

		memset(p, 'a', (size_t)page);
		/* Entirely inside the bad page, and crossing into it. */
		assert_int_equal(vos_copy_from_user(buf, p + page, 1), -EFAULT);
		assert_int_equal(vos_copy_from_user(buf, p + page - 8, 16), -EFAULT);
		assert_int_equal(vos_copy_to_user(p + page - 8, buf, 16), -EFAULT);
		/* The good part was copied up to the fault. */
		assert_memory_equal(buf, "aaaaaaaa", 8);
		/* Up to the last good byte: fine. */
		assert_int_equal(vos_copy_from_user(buf, p + page - 8, 8), 0);
		release(p, unmap);
	}
}

static void test_probe(void **state)
{
	char *p = two_pages(1);

	(void)state;
	assert_int_equal(vos_user_probe(p, (size_t)page), 0);
	assert_int_equal(vos_user_probe(p + 100, 1), 0);
	assert_int_equal(vos_user_probe(p, 0), 0);
	assert_int_equal(vos_user_probe(NULL, 0), 0);
	assert_int_equal(vos_user_probe(NULL, 1), -EFAULT);
	assert_int_equal(vos_user_probe(p + page - 1, 2), -EFAULT);
	assert_int_equal(vos_user_probe(p + page, 1), -EFAULT);
	assert_int_equal(vos_user_probe(p, 3 * (size_t)page), -EFAULT);
	release(p, 1);
	/* Three pages, the middle one missing: found. */
	p = mmap(NULL, 3 * (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(vos_user_probe(p, 3 * (size_t)page), 0);
	assert_int_equal(mprotect(p + page, (size_t)page, PROT_NONE), 0);
	assert_int_equal(vos_user_probe(p + 10, 3 * (size_t)page - 20), -EFAULT);
	assert_int_equal(vos_user_probe(p + 2 * page, (size_t)page), 0);
	munmap(p, 3 * (size_t)page);
}

static void test_read_only(void **state)
{
	char *p = two_pages(0);

	(void)state;
	assert_int_equal(mprotect(p, (size_t)page, PROT_READ), 0);
	assert_int_equal(vos_copy_to_user(p + 10, "x", 1), -EFAULT);
	assert_int_equal(p[10], 0);
	release(p, 0);
}

static void test_strings(void **state)
{
	char dst[PATH_MAX];
	char *p = two_pages(1);

	(void)state;
	assert_int_equal(vos_strncpy_from_user(dst, "abc", sizeof(dst)), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(vos_strncpy_from_user(dst, "", sizeof(dst)), 0);
	assert_int_equal(dst[0], 0);
	/* No NUL within max: too long (the kernel's getname says ENAMETOOLONG). */
	assert_int_equal(vos_strncpy_from_user(dst, "abcdef", 6), -ENAMETOOLONG);
	assert_int_equal(vos_strncpy_from_user(dst, "abcdef", 7), 6);
	assert_int_equal(vos_strncpy_from_user(dst, "abcdef", 0), -ENAMETOOLONG);
	/* A string ending at the last byte of a page before an unmapped one. */
	memset(p, 'z', (size_t)page);
	p[page - 1] = '\0';
	assert_int_equal(vos_strncpy_from_user(dst, p + page - 5, sizeof(dst)), 4);
	assert_string_equal(dst, "zzzz");
	/* One that runs into it. */
	p[page - 1] = 'z';
	assert_int_equal(vos_strncpy_from_user(dst, p + page - 5, sizeof(dst)), -EFAULT);
	/* ... unless max stops it first. */
	assert_int_equal(vos_strncpy_from_user(dst, p + page - 5, 5), -ENAMETOOLONG);
	release(p, 1);
}

/* ---- the program's own actions -------------------------------------------- */

static sigjmp_buf jump;
static volatile sig_atomic_t calls, last_code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	calls++;
	last_code = si->si_code;
	if (sig == SIGSEGV && si->si_code > 0)
		siglongjmp(jump, 1);
}

static void on_plain(int sig)
{
	(void)sig;
	calls++;
}

static void touch(volatile char *p)
{
	(void)*p;
}

static void test_program_handler(void **state)
{
	struct sigaction act, old, now;
	char *p = two_pages(0), buf[4];

	(void)state;
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = on_fault;
	act.sa_flags = SA_SIGINFO;
	sigaddset(&act.sa_mask, SIGUSR2);
	assert_int_equal(vos_copy_from_user(buf, p, 1), 0);     /* installed now */
	assert_int_equal(vos_fault_sigaction(SIGSEGV, &act, &old), 0);
	/* The kernel holds ours; sigaction() shows the program's. */
	assert_int_equal(real_sigaction(SIGSEGV, NULL, &now), 0);
	assert_ptr_equal(now.sa_sigaction, fault_handler);
	assert_int_equal(vos_fault_sigaction(SIGSEGV, NULL, &now), 0);
	assert_ptr_equal(now.sa_sigaction, on_fault);
	assert_true(now.sa_flags & SA_SIGINFO);
	assert_true(sigismember(&now.sa_mask, SIGUSR2));
	/* A fault of the program's code reaches its handler ... */
	calls = 0;
	if (sigsetjmp(jump, 1) == 0)
		touch(p + page);
	assert_int_equal(calls, 1);
	assert_true(last_code == SEGV_ACCERR);
	/* ... and the copies are still fixed up (not passed to it). */
	assert_int_equal(vos_copy_from_user(buf, p + page, 1), -EFAULT);
	assert_int_equal(calls, 1);
	/* A sent SIGSEGV too. */
	raise(SIGSEGV);
	assert_int_equal(calls, 2);
	assert_true(last_code <= 0);
	/* SA_RESETHAND: once, then SIG_DFL as the program sees it. */
	act.sa_flags = SA_RESETHAND;
	act.sa_handler = on_plain;
	assert_int_equal(vos_fault_sigaction(SIGSEGV, &act, NULL), 0);
	raise(SIGSEGV);
	assert_int_equal(calls, 3);
	assert_int_equal(vos_fault_sigaction(SIGSEGV, NULL, &now), 0);
	assert_ptr_equal(now.sa_handler, SIG_DFL);
	assert_int_equal(vos_copy_from_user(buf, p + page, 1), -EFAULT);
	/* SIG_IGN: a sent one is ignored. */
	act.sa_flags = 0;
	act.sa_handler = SIG_IGN;
	assert_int_equal(vos_fault_sigaction(SIGBUS, &act, NULL), 0);
	raise(SIGBUS);
	assert_int_equal(vos_copy_from_user(buf, p + page, 1), -EFAULT);
	assert_int_equal(vos_fault_sigaction(SIGSEGV, &old, NULL), 0);
	assert_int_equal(vos_fault_sigaction(SIGBUS, &old, NULL), 0);
	release(p, 0);
}

/* The system-call form: the program's kernel structs. */
static void test_rt_sigaction(void **state)
{
	struct ksigaction k = { .handler = (void *)on_plain, .flags = SA_NODEFER,
				.mask = 1ull << (SIGUSR1 - 1) }, o, saved;
	char *p = two_pages(1), buf[4];

	(void)state;
	assert_int_equal(vos_copy_from_user(buf, "abc", 1), 0);         /* installed */
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, &k, &saved, 8), 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, NULL, &o, 8), 0);
	assert_ptr_equal(o.handler, (void *)on_plain);
	assert_true(o.flags & SA_NODEFER);
	assert_true(o.mask == 1ull << (SIGUSR1 - 1));
	calls = 0;
	raise(SIGBUS);
	assert_int_equal(calls, 1);
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, NULL, &o, 4), -EINVAL);
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, p + page, NULL, 8), -EFAULT);
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, NULL, p + page, 8), -EFAULT);
	assert_int_equal(vos_fault_rt_sigaction(SIGBUS, &saved, NULL, 8), 0);
	release(p, 1);
}

/* SIG_DFL: the process dies of the fault, as natively (a child does it). */
static void test_default_kills(void **state)
{
	struct sigaction dfl;
	char buf[4];
	int st;
	pid_t pid;

	(void)state;
	assert_int_equal(vos_copy_from_user(buf, "abc", 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		vos_fault_sigaction(SIGSEGV, &dfl, NULL);  /* not a sanitizer's handler */
		if (vos_copy_from_user(buf, p, 1) != -EFAULT)
			_exit(3);
		touch(p);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
}

/* Many threads faulting in copies at once. */
static void *fault_loop(void *arg)
{
	char *bad = arg, buf[8];

	for (int i = 0; i < 2000; i++)
		if (vos_copy_from_user(buf, bad, 8) != -EFAULT ||
		    vos_strncpy_from_user(buf, "ok", sizeof(buf)) != 2)
			return (void *)1;
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	char *p = two_pages(1);

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fault_loop, p + page), 0);
	for (int i = 0; i < 4; i++) {
		void *r;

		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
	release(p, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_ok),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_program_handler),
		cmocka_unit_test(test_rt_sigaction),
		cmocka_unit_test(test_default_kills),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_reserve_low),
	};

	page = sysconf(_SC_PAGESIZE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
