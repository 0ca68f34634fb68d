/*
 * efault.c - bad pointers given to file calls on DIR (under libvirtuos DIR
 * is on /storage, so the calls are forwarded): NULL and a pointer into a
 * PROT_NONE page, as a path (every path argument of the two-path calls
 * too), as a buffer to read into or write from, as a struct stat, statfs,
 * flock or readlink buffer.  Natively each gives EFAULT; forwarded they
 * must too, never SIGSEGV inside the library.  Then the program's own
 * SIGSEGV handler must still catch the program's own fault (the library
 * keeps a handler of its own for its copies).
 *
 * usage: efault DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include "report.h"

static char *nopage;    /* a PROT_NONE page */
static const char *volatile nul;        /* NULL the compiler cannot see */

/* The call must fail with EFAULT: print the observation, check it. */
static void efault(const char *label, long r)
{
	show(label, r);
	if (r != -1 || errno != EFAULT)
		bad = 1;
}

static sigjmp_buf jump;
static volatile sig_atomic_t caught;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	caught = si->si_addr == (void *)nopage ? 1 : 2;
	siglongjmp(jump, 1);
}

static void on_segv_plain(int sig)
{
	(void)sig;
	caught = 3;
	siglongjmp(jump, 1);
}

int main(int argc, char **argv)
{
	char buf[64];
	struct stat st;
	int fd, dfd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: efault /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	nopage = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nopage == MAP_FAILED)
		return 3;
	fd = open(a("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("open f", fd < 0 ? -1 : 0);
	show("write f", write(fd, "0123456789", 10));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	show("open DIR", dfd < 0 ? -1 : 0);
	show("chdir DIR", chdir(dir));

	/* Paths. */
	efault("open NULL", open(nul, O_RDONLY));
	efault("open bad", open(nopage, O_RDONLY));
	efault("openat DIR bad", openat(dfd, nopage, O_RDONLY));
	efault("stat NULL", stat(nul, &st));
	efault("lstat bad", lstat(nopage, &st));
	efault("access NULL", access(nul, F_OK));
	efault("mkdir bad", mkdir(nopage, 0755));
	efault("unlink NULL", unlink(nul));
	efault("rmdir bad", rmdir(nopage));
	efault("chmod NULL", chmod(nul, 0644));
	efault("truncate bad", truncate(nopage, 0));
	efault("chdir NULL", chdir(nul));
	efault("mkfifo bad", mkfifo(nopage, 0644));
	efault("readlink NULL", readlink(nul, buf, sizeof(buf)));
	/* Both paths of the two-path calls (was EXDEV: one side "local"). */
	efault("link f NULL", link(a("f"), nul));
	efault("link NULL f2", link(nul, a("f2")));
	efault("link f bad", link(a("f"), nopage));
	efault("rename f NULL", rename(a("f"), nul));
	efault("rename bad f2", rename(nopage, a("f2")));
	efault("renameat DIR f, DIR bad", renameat(dfd, "f", dfd, nopage));
	efault("linkat DIR f, DIR NULL", linkat(dfd, "f", dfd, nul, 0));
	efault("symlink NULL l", symlink(nul, a("l")));
	efault("symlink bad l", symlink(nopage, a("l")));
	efault("symlink t NULL", symlink("t", nul));
	efault("symlink t bad", symlink("t", nopage));
	/* Relative, under DIR as the cwd. */
	efault("open relative bad", openat(AT_FDCWD, nopage, O_RDONLY));
	efault("link rel f NULL", link("f", nul));
	expect("f2 was not made", access(a("f2"), F_OK) < 0 && errno == ENOENT);
	expect("l was not made", access(a("l"), F_OK) < 0 && errno == ENOENT);
	expect("f is still there", access(a("f"), F_OK) == 0);

	/* Buffers. */
	show("lseek 0", lseek(fd, 0, SEEK_SET));
	efault("read into NULL", read(fd, (void *)nul, 4));
	show("position still 0", lseek(fd, 0, SEEK_CUR));
	efault("read into bad", read(fd, nopage, 4));
	show("position still 0", lseek(fd, 0, SEEK_CUR));
	efault("readv into buf + bad", readv(fd, (struct iovec[]){ { nopage, 2 } }, 1));
	show("position still 0", lseek(fd, 0, SEEK_CUR));
	efault("pread into bad", pread(fd, nopage, 4, 0));
	efault("write from NULL", write(fd, (void *)nul, 4));
	efault("pwrite from bad", pwrite(fd, nopage, 4, 0));
	struct iovec iov[2] = { { buf, 2 }, { nopage, 2 } };
	efault("pwritev 2 bytes + bad", pwritev(fd, iov + 1, 1, 0));
	efault("fstat NULL", fstat(fd, (void *)nul));
	efault("stat f NULL", stat(a("f"), (void *)nul));
	efault("fstatat DIR f bad", fstatat(dfd, "f", (struct stat *)nopage, 0));
	efault("statfs DIR bad", statfs(dir, (struct statfs *)nopage));
	efault("fcntl F_SETLK NULL", fcntl(fd, F_SETLK, (void *)nul));
	efault("fcntl F_GETLK bad", fcntl(fd, F_GETLK, nopage));
	efault("fcntl F_SETLK bad", fcntl(fd, F_SETLK, nopage));
	show("symlink t l2", symlink("target", a("l2")));
	efault("readlink l2 into bad", readlink(a("l2"), nopage, 16));
	/* The file is unchanged by the failed writes. */
	memset(buf, 0, sizeof(buf));
	show("pread 10", pread(fd, buf, 10, 0));
	printf("%-36s %s\n", "content", buf);
	expect("content unchanged", strcmp(buf, "0123456789") == 0);

	/* The program's own SIGSEGV handler still gets the program's fault. */
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = on_segv;
	act.sa_flags = SA_SIGINFO;
	show("sigaction SIGSEGV", sigaction(SIGSEGV, &act, NULL));
	efault("open bad (handler set)", open(nopage, O_RDONLY));
	if (sigsetjmp(jump, 1) == 0)
		(void)*(volatile char *)nopage;
	expect("own handler got own fault", caught == 1);
	struct sigaction now;
	show("sigaction SIGSEGV query", sigaction(SIGSEGV, NULL, &now));
	expect("sigaction shows own handler", now.sa_sigaction == on_segv &&
	       (now.sa_flags & SA_SIGINFO));
	caught = 0;
	expect("signal() returns own handler", signal(SIGSEGV, on_segv_plain) == (void *)on_segv);
	efault("stat bad (signal() set)", stat(nopage, &st));
	if (sigsetjmp(jump, 1) == 0)
		(void)*(volatile char *)nopage;
	expect("signal() handler got own fault", caught == 3);

	close(fd);
	close(dfd);
	unlink(a("f"));
	unlink(a("l2"));
	return bad;
}
