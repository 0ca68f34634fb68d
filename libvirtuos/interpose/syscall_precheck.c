/*
 * syscall_precheck.c - the dispatcher's fast answer, asked before the
 * trampoline saves any state: a call whose fd arguments are all plain local
 * fds (fd-table entry 0) runs natively, without vos_syscall().  Which
 * arguments are fds comes from the dispatcher's table (syscall_table.c
 * fills vos_sc_local_fds at install).
 *
 * Compiled with -mgeneral-regs-only and without sanitizers (Makefile): it
 * runs inside whatever code made the system call, with the program's vector
 * registers live.  It calls nothing, makes no system call, takes no lock
 * and only loads (the fd table is read lock-free, fdtable.h).
 */
#include "fdtable.h"
#include "syscall_table.h"

int vos_syscall_precheck(long nr, const long a[6])
{
	unsigned mask;

	if ((unsigned long)nr >= VOS_SC_MAX)
		return 0;
	mask = __atomic_load_n(&vos_sc_local_fds[nr], __ATOMIC_RELAXED);
	if (!mask)
		return 0;
	for (int i = 0; i < 6; i++)
		if (((mask >> i) & 1) && vos_fd_entry_inline((int)a[i]) != 0)
			return 0;
	return 1;
}
