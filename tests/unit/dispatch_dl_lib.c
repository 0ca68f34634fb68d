/*
 * dispatch_dl_lib.c - a library test_dispatch loads with dlopen after the
 * dispatcher is installed (build/tests/libdispatch_dl.so): its `syscall`
 * has never run when the library is mapped, so in eager mode only the scan
 * of the new mapping can have rewritten it (Syscall User Dispatch is off).
 */
#include <sys/syscall.h>

long dispatch_dl_getppid(void);

long dispatch_dl_getppid(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return r;
}
