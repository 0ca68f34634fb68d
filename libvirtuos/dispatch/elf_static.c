/*
 * elf_static.c - vos_elf_is_static(): whether a program can be intercepted
 * at all.  A statically linked program has no PT_INTERP: the dynamic loader
 * never runs, so LD_PRELOAD (and with it libvirtuos) is never loaded.
 * Used by vosctl before it runs a program (contract in dispatch.h).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "dispatch/dispatch.h"

int vos_elf_is_static(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf64_Ehdr eh;
	int r = 0;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(Elf64_Phdr))
		goto out;       /* not a 64-bit ELF program (a script, ...): not ours to judge */
	r = 1;
	for (unsigned i = 0; i < eh.e_phnum && i < 4096; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			r = -ENOEXEC;
			break;
		}
		if (ph.p_type == PT_INTERP) {
			r = 0;
			break;
		}
	}
out:
	close(fd);
	return r;
}
