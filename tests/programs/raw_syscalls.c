/*
 * raw_syscalls.c - newer system calls that glibc has no (or no interposed)
 * wrapper for, made with syscall(2) on routed files: openat2 (with
 * RESOLVE_BENEATH, RESOLVE_IN_ROOT and RESOLVE_NO_SYMLINKS, the kernel's
 * checks of struct open_how, scoped to a routed cwd), faccessat2 (AT_EACCESS,
 * AT_SYMLINK_NOFOLLOW), fchmodat2 (AT_SYMLINK_NOFOLLOW), statx,
 * renameat2 (RENAME_NOREPLACE, RENAME_EXCHANGE), getdents64 and
 * close_range (closing and CLOSE_RANGE_CLOEXEC on routed fds).
 *
 * usage: raw_syscalls DIR
 */
#include <fcntl.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static void content(const char *name)
{
	char buf[64];
	int fd = open(a(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	printf("%-36s %.*s\n", name, n > 0 ? (int)n : 0, buf);
	if (fd >= 0)
		close(fd);
}

static int mkfile(const char *name, const char *text)
{
	int fd = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	struct open_how how = { .flags = O_RDWR | O_CREAT, .mode = 0600 };
	struct statx stx;
	char ents[4096];
	int dfd, fd, fds[4];
	long n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: raw_syscalls /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (!mkfile("x", "xxx") || !mkfile("y", "yy") || symlink("x", a("lx")) < 0 ||
	    mkdir(a("sub"), 0755) < 0) {
		perror("raw_syscalls: setup");
		return 1;
	}

	fd = (int)syscall(SYS_openat2, AT_FDCWD, a("o2"), &how, sizeof(how));
	show("openat2 o2 O_CREAT 0600", fd < 0 ? -1 : 0);
	show("  write", fd < 0 ? -1 : write(fd, "openat2", 7));
	if (fd >= 0)
		close(fd);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	how = (struct open_how){ .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
	fd = (int)syscall(SYS_openat2, dfd, "x", &how, sizeof(how));
	show("openat2 DIR x RESOLVE_BENEATH", fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
	show("openat2 DIR ../x RESOLVE_BENEATH",
	     syscall(SYS_openat2, dfd, "../x", &how, sizeof(how)));
	how.resolve = RESOLVE_NO_SYMLINKS;
	show("openat2 DIR lx RESOLVE_NO_SYMLINKS",
	     syscall(SYS_openat2, dfd, "lx", &how, sizeof(how)));
	how.resolve = RESOLVE_IN_ROOT;
	fd = (int)syscall(SYS_openat2, dfd, "/../lx", &how, sizeof(how));
	show("openat2 DIR /../lx RESOLVE_IN_ROOT", fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
	how.resolve = 0;
	show("openat2 missing", syscall(SYS_openat2, dfd, "missing", &how, sizeof(how)));
	{
		/* the kernel's own checks of struct open_how */
		struct { struct open_how h; uint64_t extra; } big = { { .flags = O_RDONLY }, 1 };

		show("openat2 size+8, extra set", syscall(SYS_openat2, dfd, "x", &big, sizeof(big)));
		big.extra = 0;
		fd = (int)syscall(SYS_openat2, dfd, "x", &big, sizeof(big));
		show("openat2 size+8, extra zero", fd < 0 ? -1 : 0);
		if (fd >= 0)
			close(fd);
		show("openat2 size 8", syscall(SYS_openat2, dfd, "x", &big, 8));
		big.h.resolve = 0x1000;
		show("openat2 unknown resolve bit", syscall(SYS_openat2, dfd, "x", &big, sizeof(big.h)));
		big.h = (struct open_how){ .flags = O_CREAT | O_WRONLY, .mode = 0600,
					   .resolve = RESOLVE_CACHED };
		show("openat2 O_CREAT RESOLVE_CACHED", syscall(SYS_openat2, dfd, "c", &big.h,
							       sizeof(big.h)));
		/* not page 0: the dispatcher's trampoline is mapped there */
		show("openat2 bad how pointer", syscall(SYS_openat2, dfd, "x", (void *)-4096L,
							sizeof(big.h)));
	}
	/* scoped to a routed cwd */
	if (chdir(dir) == 0) {
		how = (struct open_how){ .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
		fd = (int)syscall(SYS_openat2, AT_FDCWD, "sub/../x", &how, sizeof(how));
		show("cwd DIR: openat2 x BENEATH", fd < 0 ? -1 : 0);
		if (fd >= 0)
			close(fd);
		show("cwd DIR: openat2 ../x BENEATH", syscall(SYS_openat2, AT_FDCWD, "../x", &how,
							      sizeof(how)));
		show("cwd DIR: openat2 /x BENEATH", syscall(SYS_openat2, AT_FDCWD, a("x"), &how,
							     sizeof(how)));
		if (chdir("/") < 0)
			bad = 1;
	}

	show("faccessat2 x R_OK AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, a("x"), R_OK, AT_EACCESS));
	show("faccessat2 lx F_OK NOFOLLOW",
	     syscall(SYS_faccessat2, dfd, "lx", F_OK, AT_SYMLINK_NOFOLLOW));
	show("faccessat2 missing", syscall(SYS_faccessat2, AT_FDCWD, a("missing"), F_OK, 0));
	show("fchmodat2 x 0604", syscall(SYS_fchmodat2, AT_FDCWD, a("x"), 0604, 0));
	show("fchmodat2 lx NOFOLLOW", syscall(SYS_fchmodat2, dfd, "lx", 0600, AT_SYMLINK_NOFOLLOW));

	memset(&stx, 0, sizeof(stx));
	show("statx x", syscall(SYS_statx, AT_FDCWD, a("x"), 0, STATX_BASIC_STATS, &stx));
	printf("  size %llu mode %04o type reg %d\n", (unsigned long long)stx.stx_size,
	       stx.stx_mode & 07777, S_ISREG(stx.stx_mode));
	show("statx lx NOFOLLOW", syscall(SYS_statx, dfd, "lx", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx));
	printf("  type lnk %d\n", S_ISLNK(stx.stx_mode));
	show("statx missing", syscall(SYS_statx, dfd, "missing", 0, STATX_BASIC_STATS, &stx));

	show("renameat2 x y NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, a("x"), AT_FDCWD, a("y"),
						 RENAME_NOREPLACE));
	show("renameat2 x y EXCHANGE", syscall(SYS_renameat2, dfd, "x", dfd, "y", RENAME_EXCHANGE));
	content("x");
	content("y");
	show("renameat2 x z NOREPLACE", syscall(SYS_renameat2, dfd, "x", AT_FDCWD, a("z"),
						 RENAME_NOREPLACE));
	content("z");

	n = syscall(SYS_getdents64, dfd, ents, sizeof(ents));
	{
		const char *want[] = { "lx", "o2", "sub", "y", "z" };
		int found = 0, count = 0;

		for (long off = 0; n > 0 && off < n;) {
			unsigned short reclen;

			memcpy(&reclen, ents + off + 16, sizeof(reclen));
			if (reclen == 0)
				break;
			count++;
			for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
				found += strcmp(ents + off + 19, want[i]) == 0;
			off += reclen;
		}
		printf("%-36s %d entries (with . and ..), %d of 5 expected\n", "getdents64", count, found);
		expect("getdents64 saw all", found == 5 && count == 7);
	}

	for (int i = 0; i < 4; i++)
		fds[i] = open(a("y"), O_RDONLY);
	expect("4 fds open, in a row", fds[0] >= 0 && fds[1] == fds[0] + 1 &&
					     fds[2] == fds[0] + 2 && fds[3] == fds[0] + 3);
	show("close_range fd0..fd1 CLOEXEC",
	     syscall(SYS_close_range, fds[0], fds[1], CLOSE_RANGE_CLOEXEC));
	show("  fcntl fd0 F_GETFD", fcntl(fds[0], F_GETFD));
	show("  fcntl fd2 F_GETFD", fcntl(fds[2], F_GETFD));
	show("close_range fd1..~0U", syscall(SYS_close_range, fds[1], ~0U, 0));
	show("  fcntl fd0 F_GETFD", fcntl(fds[0], F_GETFD));
	show("  fcntl fd1 F_GETFD", fcntl(fds[1], F_GETFD));
	show("  fcntl fd3 F_GETFD", fcntl(fds[3], F_GETFD));
	show("  read fd3", read(fds[3], ents, 1));
	show("  open again reuses fd1", open(a("y"), O_RDONLY) == fds[1]);
	show("close_range bad flags", syscall(SYS_close_range, fds[0], fds[0], 0x80));
	return bad;
}
