/*
 * rawsyscall.c - files in DIR through inline `syscall` instructions and
 * the generic syscall() function, never through glibc's file functions:
 * openat/write/lseek/read/fstat/getdents64/close as inline asm, and the
 * newer calls glibc has no wrapper for, or uses only internally (openat2,
 * faccessat2, fchmodat2, statx, renameat2, close_range).  Under libvirtuos
 * DIR is /storage/work: only a library that catches system calls (not
 * functions) can route these; natively they work on a temporary directory.
 *
 * usage: rawsyscall DIR
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "report.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* One system call, inline: never a glibc function.  -errno on failure. */
static long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys3(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* Print a raw result like report.h's show(): errno name for -errno. */
static void raw(const char *label, long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		show(label, -1);
	} else {
		show(label, r);
	}
}

/* syscall() sets errno and returns -1: the same print. */
static void gen(const char *label, long r)
{
	show(label, r < 0 ? -1 : r);
}

int main(int argc, char **argv)
{
	static const char text[] = "raw system calls\n";
	char buf[256];
	struct stat st;
	long fd, n;

	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);

	/* openat/write/lseek/read/fstat/close, inline */
	fd = sys6(SYS_openat, AT_FDCWD, (long)a("f"), O_RDWR | O_CREAT | O_TRUNC, 0640, 0, 0);
	expect("inline openat gives an fd", fd >= 0);
	raw("inline write", sys3(SYS_write, fd, text, sizeof(text) - 1));
	raw("inline lseek 0", sys3(SYS_lseek, fd, 0, SEEK_SET));
	memset(buf, 0, sizeof(buf));
	n = sys3(SYS_read, fd, buf, sizeof(buf) - 1);
	raw("inline read", n);
	expect("inline read gives what was written", n > 0 && strcmp(buf, text) == 0);
	raw("inline fstat", sys3(SYS_fstat, fd, &st, 0));
	expect("fstat size", st.st_size == (off_t)sizeof(text) - 1);
	expect("fstat mode", (st.st_mode & 07777) == 0640);
	raw("inline close", sys3(SYS_close, fd, 0, 0));
	raw("inline close again", sys3(SYS_close, fd, 0, 0));

	/* glibc sees the same file */
	expect("stat() agrees", stat(a("f"), &st) == 0 && st.st_size == (off_t)sizeof(text) - 1);

	/* getdents64 on a directory opened inline */
	sys3(SYS_mkdirat, AT_FDCWD, a("d"), 0755);
	close((int)sys3(SYS_openat, AT_FDCWD, a("d/one"), O_CREAT | O_WRONLY));
	fd = sys3(SYS_openat, AT_FDCWD, a("d"), O_RDONLY | O_DIRECTORY);
	expect("inline openat of a directory", fd >= 0);
	{
		char dbuf[4096];
		int names = 0, one = 0;

		n = sys3(SYS_getdents64, fd, dbuf, sizeof(dbuf));
		for (long off = 0; n > 0 && off < n;) {
			struct dirent64 *de = (struct dirent64 *)(dbuf + off);

			names++;
			if (strcmp(de->d_name, "one") == 0)
				one = 1;
			off += de->d_reclen;
		}
		show("getdents64 entries", names);
		expect("getdents64 lists one", one);
	}
	sys3(SYS_close, fd, 0, 0);

	/* the newer calls, through syscall() */
	{
		struct open_how how = { .flags = O_RDONLY };

		fd = syscall(SYS_openat2, AT_FDCWD, a("f"), &how, sizeof(how));
		expect("openat2 gives an fd", fd >= 0);
		memset(buf, 0, sizeof(buf));
		gen("read from openat2 fd", read((int)fd, buf, sizeof(buf) - 1));
		expect("openat2 fd reads the file", strcmp(buf, text) == 0);
		close((int)fd);
		how.flags = O_RDONLY;
		gen("openat2 missing", syscall(SYS_openat2, AT_FDCWD, a("nonexistent"), &how, sizeof(how)));
	}
	gen("faccessat2 R_OK", syscall(SYS_faccessat2, AT_FDCWD, a("f"), R_OK, AT_EACCESS));
	gen("faccessat2 missing", syscall(SYS_faccessat2, AT_FDCWD, a("nonexistent"), F_OK, 0));
	{
		long r = syscall(SYS_fchmodat2, AT_FDCWD, a("f"), 0600, 0);

		/* older kernels lack fchmodat2: then it must be ENOSYS either way */
		gen("fchmodat2 0600", r);
		if (r == 0)
			expect("fchmodat2 changed the mode",
			       stat(a("f"), &st) == 0 && (st.st_mode & 07777) == 0600);
	}
	{
		struct statx sx;

		memset(&sx, 0, sizeof(sx));
		gen("statx", syscall(SYS_statx, AT_FDCWD, a("f"), 0, STATX_SIZE | STATX_MODE, &sx));
		expect("statx size", sx.stx_size == sizeof(text) - 1);
		expect("statx is a regular file", S_ISREG(sx.stx_mode));
	}
	gen("renameat2 NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, a("f"), AT_FDCWD, a("g"),
					   RENAME_NOREPLACE));
	expect("renamed", access(a("g"), F_OK) == 0 && access(a("f"), F_OK) != 0);
	close((int)sys3(SYS_openat, AT_FDCWD, a("f"), O_CREAT | O_WRONLY));
	gen("renameat2 NOREPLACE onto existing", syscall(SYS_renameat2, AT_FDCWD, a("g"), AT_FDCWD,
							 a("f"), RENAME_NOREPLACE));
	{
		int fds[3];

		for (int i = 0; i < 3; i++)
			fds[i] = open(a("g"), O_RDONLY);
		expect("three fds", fds[0] >= 0 && fds[1] == fds[0] + 1 && fds[2] == fds[1] + 1);
		gen("close_range", syscall(SYS_close_range, fds[0], fds[2], 0));
		for (int i = 0; i < 3; i++)
			expect("closed by close_range", fcntl(fds[i], F_GETFD) < 0 && errno == EBADF);
		fd = open(a("g"), O_RDONLY);
		expect("the lowest number is free again", fd == fds[0]);
		close((int)fd);
	}
	raw("unlinkat inline", sys3(SYS_unlinkat, AT_FDCWD, a("g"), 0));
	expect("unlinked", access(a("g"), F_OK) != 0);
	return bad;
}
