/*
 * asm_syscall.c - system calls made with inline `syscall` instructions
 * (no libc function at all) on routed files: openat (create), write,
 * lseek, fstat, close, openat again, read, getdents64, unlinkat, and the
 * errors of a missing file and of a closed fd; then a round trip of raw
 * calls in a new thread, a forked child, a vfork child and the image after
 * an exec of the program itself.  Only a system-call-level interposer sees
 * these.
 *
 * usage: asm_syscall DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* A round trip with raw calls only: create PATH, write TEXT, read it back
 * and compare; 0 if all worked.  No libc call at all, so a vfork child may
 * run it. */
static long round_trip(const char *path, const char *text, long len)
{
	char back[64];
	long fd, n;

	fd = raw(SYS_openat, AT_FDCWD, (long)path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	n = raw(SYS_write, fd, (long)text, len, 0);
	if (n == len)
		n = raw(SYS_pread64, fd, (long)back, len, 0);
	raw(SYS_close, fd, 0, 0, 0);
	if (n != len)
		return n < 0 ? n : -EIO;
	for (long i = 0; i < len; i++)
		if (back[i] != text[i])
			return -EIO;
	return 0;
}

static void *thread_trip(void *arg)
{
	return (void *)round_trip((const char *)arg, "from a thread", 13);
}

/* The same in the places a system-call interposer must also reach: a new
 * thread, a forked child, a vfork child and the image after an exec. */
static void elsewhere(const char *self)
{
	static char p_thread[4200], p_fork[4200], p_vfork[4200], p_exec[4200];
	pthread_t th;
	void *ret;
	pid_t pid;
	int st;

	snprintf(p_thread, sizeof(p_thread), "%s", a("in-thread"));
	snprintf(p_fork, sizeof(p_fork), "%s", a("in-fork"));
	snprintf(p_vfork, sizeof(p_vfork), "%s", a("in-vfork"));
	snprintf(p_exec, sizeof(p_exec), "%s", a("in-exec"));

	if (pthread_create(&th, NULL, thread_trip, p_thread) == 0 && pthread_join(th, &ret) == 0)
		shown("round trip in a thread", (long)ret);

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(round_trip(p_fork, "from a fork", 11) == 0 ? 0 : 1);
	expect("round trip in a forked child", pid > 0 && waitpid(pid, &st, 0) == pid &&
					       WIFEXITED(st) && WEXITSTATUS(st) == 0);

	pid = vfork();
	if (pid == 0)
		raw(SYS_exit, round_trip(p_vfork, "from a vfork", 12) == 0 ? 0 : 1, 0, 0, 0);
	expect("round trip in a vfork child", pid > 0 && waitpid(pid, &st, 0) == pid &&
					      WIFEXITED(st) && WEXITSTATUS(st) == 0);

	pid = fork();
	if (pid == 0) {
		execl(self, self, "--exec", p_exec, (char *)NULL);
		_exit(127);
	}
	expect("round trip after exec", pid > 0 && waitpid(pid, &st, 0) == pid &&
					WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* the files are there, seen through libc too */
	expect("the four files are there", access(p_thread, F_OK) == 0 && access(p_fork, F_OK) == 0 &&
					   access(p_vfork, F_OK) == 0 && access(p_exec, F_OK) == 0);
}

int main(int argc, char **argv)
{
	char buf[64] = "";
	char ents[4096];
	struct stat st;
	long fd, n;

	if (argc == 3 && strcmp(argv[1], "--exec") == 0)
		return round_trip(argv[2], "after exec", 10) == 0 ? 0 : 1;
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
	elsewhere(argv[0]);
	return bad;
}
