/*
 * fcntl-misc.c - the rarer fcntl commands, a NULL stat buffer and invalid
 * AT_* flags, compared with Linux: F_GETLEASE, F_SETSIG/F_GETSIG,
 * F_SETOWN/F_GETOWN, F_GETPIPE_SZ and seals on a regular file,
 * F_CREATED_QUERY (Linux 6.12), an unknown command, fstat(fd, NULL),
 * and each *at() call with a flag it does not take.
 *
 * usage: fcntl-misc DIR            (native and routed outputs are equal)
 *        fcntl-misc --leases DIR   F_SETLEASE and F_NOTIFY only (a routed
 *                                  file refuses them: EINVAL, README)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

#ifndef F_CREATED_QUERY
#define F_CREATED_QUERY (1024 + 4)
#endif

/* An AT_* bit no call takes. */
#define AT_BOGUS 0x80000

/* fstat(fd, NULL), past the compiler's nonnull check: a program may
 * pass any pointer, and the call must fail as the kernel's does. */
static long fstat_null(int fd)
{
	struct stat *volatile none = NULL;

	return fstat(fd, none);
}

static int leases(void)
{
	int fd = open(a("lease"), O_RDONLY | O_CREAT, 0644);

	show("F_SETLEASE F_RDLCK", fcntl(fd, F_SETLEASE, F_RDLCK));
	show("F_NOTIFY on the directory", fcntl(open(dir, O_RDONLY | O_DIRECTORY), F_NOTIFY, DN_CREATE));
	unlink(a("lease"));
	return 0;
}

int main(int argc, char **argv)
{
	int lease_mode = argc == 3 && !strcmp(argv[1], "--leases");

	if (argc != 2 && !lease_mode) {
		fprintf(stderr, "usage: %s [--leases] DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[argc - 1]);
	if (lease_mode)
		return leases();

	unlink(a("f"));
	int fd = open(a("f"), O_RDWR | O_CREAT, 0644);
	show("open (creates)", fd < 0 ? -1 : 0);
	show("F_CREATED_QUERY (created)", fcntl(fd, F_CREATED_QUERY, 0));
	int fd2 = open(a("f"), O_RDWR | O_CREAT, 0644);
	show("F_CREATED_QUERY (existed)", fcntl(fd2, F_CREATED_QUERY, 0));
	close(fd2);

	show("F_GETLEASE", fcntl(fd, F_GETLEASE));
	show("F_GETSIG", fcntl(fd, F_GETSIG));
	show("F_SETSIG SIGRTMIN", fcntl(fd, F_SETSIG, SIGRTMIN));
	expect("F_GETSIG after: SIGRTMIN", fcntl(fd, F_GETSIG) == SIGRTMIN);
	show("F_SETSIG 1000", fcntl(fd, F_SETSIG, 1000));
	show("F_GETOWN", fcntl(fd, F_GETOWN));
	show("F_GETPIPE_SZ", fcntl(fd, F_GETPIPE_SZ));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	show("unknown command 9999", fcntl(fd, 9999, 0));
	show("unknown command 1000", fcntl(fd, 1000, 0));
	show("fstat(fd, NULL)", fstat_null(fd));

	struct stat st;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	show("fstatat bogus flag", fstatat(AT_FDCWD, a("f"), &st, AT_BOGUS));
	show("faccessat bogus flag", faccessat(AT_FDCWD, a("f"), R_OK, AT_BOGUS));
	show("fchmodat bogus flag", fchmodat(AT_FDCWD, a("f"), 0644, AT_BOGUS));
	show("fchownat bogus flag", fchownat(AT_FDCWD, a("f"), (uid_t)-1, (gid_t)-1, AT_BOGUS));
	show("utimensat bogus flag", utimensat(AT_FDCWD, a("f"), ts, AT_BOGUS));
	show("linkat bogus flag", linkat(AT_FDCWD, a("f"), AT_FDCWD, a("g"), AT_BOGUS));
	show("unlinkat bogus flag", unlinkat(AT_FDCWD, a("f"), AT_BOGUS));
	show("unlinkat AT_SYMLINK_NOFOLLOW", unlinkat(AT_FDCWD, a("f"), AT_SYMLINK_NOFOLLOW));
	show("renameat2 bogus flag", renameat2(AT_FDCWD, a("f"), AT_FDCWD, a("g"), 0x100));
	struct statx sx;
	show("statx bogus flag", statx(AT_FDCWD, a("f"), AT_BOGUS, STATX_BASIC_STATS, &sx));
	show("faccessat AT_EACCESS", faccessat(AT_FDCWD, a("f"), R_OK, AT_EACCESS));
	show("fstatat AT_EMPTY_PATH on fd", fstatat(fd, "", &st, AT_EMPTY_PATH));
	show("fstatat(fd, \"\", 0)", fstatat(fd, "", &st, 0));

	close(fd);
	unlink(a("f"));
	return bad;
}
