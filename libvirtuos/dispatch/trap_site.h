/*
 * trap_site.h - for tests and benchmarks (test_dispatch, bench_dispatch): a
 * `syscall` site the dispatcher cannot rewrite, so it stays on the SIGSYS
 * path.  `long f(nr, a0, a1, a2)` = mov rdi,rax; mov rsi,rdi; mov rdx,rsi;
 * mov rcx,rdx; syscall; ret, in a shared mapping of a memfd reopened
 * read-only (mprotect cannot make it writable).  NULL if that fails.
 *
 * Executable shared memory is not code eager mode can classify: mapping it
 * after install turns Syscall User Dispatch on for good (lazy mode), and
 * mapping it before install keeps the process lazy from the start.
 */
#ifndef VOS_DISPATCH_TRAP_SITE_H
#define VOS_DISPATCH_TRAP_SITE_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

typedef long (*vos_trap_site_fn)(long nr, long a0, long a1, long a2);

static inline vos_trap_site_fn vos_make_trap_site(void)
{
	static const unsigned char code[] = { 0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6,
					      0x48, 0x89, 0xca, 0x0f, 0x05, 0xc3 };
	char path[64];
	int fd = memfd_create("vos-trap-site", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = -1;
	void *p = MAP_FAILED;
	if (ftruncate(fd, 4096) == 0 && pwrite(fd, code, sizeof(code), 0) == (ssize_t)sizeof(code) &&
	    (ro = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, ro, 0);
	if (ro >= 0)
		close(ro);
	close(fd);
	return p == MAP_FAILED ? NULL : (vos_trap_site_fn)p;
}

#endif
