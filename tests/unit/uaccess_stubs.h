/*
 * uaccess_stubs.h - what libvirtuos/interpose/uaccess.c takes from the
 * rest of the library (signals.c), for the programs that compile uaccess.c
 * in directly: tests/unit/test_uaccess.c, tests/unit/test_route.c and
 * benchmarks/micro/bench_uaccess.c.  Include it after uaccess.c.
 *
 * With UACCESS_STUBS_SIGNAL defined, also signal() as signals.c gives it
 * to a program: SIGSEGV/SIGBUS handlers go through uaccess.c's emulation.
 * cmocka sets its own handlers for those around each test with signal(),
 * and this definition is the one libcmocka.so calls.
 */
#ifndef VOS_UACCESS_STUBS_H
#define VOS_UACCESS_STUBS_H

void vos_block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void vos_restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

#ifdef UACCESS_STUBS_SIGNAL
sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	if (sig == SIGSEGV || sig == SIGBUS ? vos_fault_sigaction(sig, &act, &old)
					    : sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}
#endif

#endif
