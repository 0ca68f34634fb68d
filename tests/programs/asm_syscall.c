/*
 * asm_syscall.c - system calls made with inline `syscall` instructions
 * (no libc function at all) on routed files: openat (create), write,
 * lseek, fstat, close, openat again, read, getdents64, unlinkat, and the
 * errors of a missing file and of a closed fd.  Only a system-call-level
 * interposer sees these.
 *
 * usage: asm_syscall DIR
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

/* A raw x86-64 system call: number in rax, arguments in rdi, rsi, rdx,
 * r10; the kernel clobbers rcx and r11.  Returns -errno on failure. */
static long raw(long nr, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 __asm__("r10") = a4;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Like show(), for a raw result. */
static void shown(const char *label, long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		show(label, -1);
	} else {
		show(label, r);
	}
}

int main(int argc, char **argv)
{
	char buf[64] = "";
	char ents[4096];
	struct stat st;
	long fd, n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: asm_syscall /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	fd = raw(SYS_openat, AT_FDCWD, (long)a("f"), O_WRONLY | O_CREAT | O_TRUNC, 0640);
	shown("openat f O_CREAT", fd < 0 ? fd : 0);
	shown("write 12", raw(SYS_write, fd, (long)"hello, asm!\n", 12, 0));
	shown("lseek SEEK_CUR", raw(SYS_lseek, fd, 0, SEEK_CUR, 0));
	shown("fstat", raw(SYS_fstat, fd, (long)&st, 0, 0));
	printf("  size %lld mode %04o\n", (long long)st.st_size, (unsigned)(st.st_mode & 07777));
	shown("close", raw(SYS_close, fd, 0, 0, 0));
	shown("close again", raw(SYS_close, fd, 0, 0, 0));
	shown("write to closed fd", raw(SYS_write, fd, (long)"x", 1, 0));

	fd = raw(SYS_openat, AT_FDCWD, (long)a("f"), O_RDONLY, 0);
	shown("openat f O_RDONLY", fd < 0 ? fd : 0);
	n = raw(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0);
	shown("read", n);
	printf("  %.*s", n > 0 ? (int)n : 0, buf);
	shown("pread64 at 7", raw(SYS_pread64, fd, (long)buf, 4, 7));
	printf("  %.4s\n", buf);
	shown("close", raw(SYS_close, fd, 0, 0, 0));

	shown("openat missing", raw(SYS_openat, AT_FDCWD, (long)a("missing"), O_RDONLY, 0));
	shown("mkdirat d", raw(SYS_mkdirat, AT_FDCWD, (long)a("d"), 0755, 0));
	fd = raw(SYS_openat, AT_FDCWD, (long)dir, O_RDONLY | O_DIRECTORY, 0);
	shown("openat DIR O_DIRECTORY", fd < 0 ? fd : 0);
	n = raw(SYS_getdents64, fd, (long)ents, sizeof(ents), 0);
	{
		/* count the entries; "f" and "d" must be among them */
		int count = 0, f = 0, d = 0;

		for (long off = 0; n > 0 && off < n;) {
			unsigned short reclen;
			const char *name = ents + off + 19;

			memcpy(&reclen, ents + off + 16, sizeof(reclen));
			if (reclen == 0)
				break;
			count++;
			f |= strcmp(name, "f") == 0;
			d |= strcmp(name, "d") == 0;
			off += reclen;
		}
		printf("%-36s %d entries, f %d, d %d\n", "getdents64", count, f, d);
		expect("getdents64 saw f and d", f && d);
	}
	shown("unlinkat d AT_REMOVEDIR", raw(SYS_unlinkat, fd, (long)"d", AT_REMOVEDIR, 0));
	shown("unlinkat f", raw(SYS_unlinkat, fd, (long)"f", 0, 0));
	shown("close DIR", raw(SYS_close, fd, 0, 0, 0));
	expect("f is gone (libc access)", access(a("f"), F_OK) < 0 && errno == ENOENT);
	return bad;
}
