/*
 * rawfork.c - children made without glibc's fork(): syscall(SYS_fork),
 * vfork(), syscall(SYS_clone, SIGCHLD, 0) and glibc's _Fork().  Each child
 * inherits an fd of a file in DIR, reads three bytes from it (moving the
 * shared file offset, as a forked child does natively), opens a file of
 * its own in DIR and exits; the parent then reads on from where the child
 * left off.  Under libvirtuos the fd is remote: the child must get its own
 * shadow with the parent's open files (fork hooks in the dispatcher),
 * not the parent's channel.
 *
 * usage: rawfork DIR
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

extern pid_t _Fork(void);

/* The child's part: read 3 bytes at the shared offset, create DIR/name. */
static int child(int fd, const char *name)
{
	char buf[4] = "";
	int out;

	if (read(fd, buf, 3) != 3)
		return 10;
	out = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf, 3) != 3 || close(out) != 0)
		return 11;
	return 0;
}

static void after(const char *how, pid_t pid, int fd, const char *name, const char *want_child,
		  const char *want_next)
{
	char label[64], buf[8] = "", got[8] = "";
	int st = -1, in;

	expect(how, pid > 0);
	waitpid(pid, &st, 0);
	snprintf(label, sizeof(label), "%s: child exit", how);
	show(label, WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
	in = open(a(name), O_RDONLY);
	if (in >= 0) {
		(void)!read(in, got, 3);
		close(in);
	}
	snprintf(label, sizeof(label), "%s: child read", how);
	expect(label, strcmp(got, want_child) == 0);
	(void)!read(fd, buf, 3);
	snprintf(label, sizeof(label), "%s: parent reads on", how);
	expect(label, strcmp(buf, want_next) == 0);
}

int main(int argc, char **argv)
{
	int fd;
	pid_t pid;

	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	fd = open(a("data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	expect("open", fd >= 0);
	expect("write", write(fd, "abcdefghijklmnopqrstuvwx", 24) == 24);
	lseek(fd, 0, SEEK_SET);
	fflush(stdout);

	pid = (pid_t)syscall(SYS_fork);
	if (pid == 0)
		_exit(child(fd, "c1"));
	after("syscall(SYS_fork)", pid, fd, "c1", "abc", "def");

	pid = vfork();
	if (pid == 0)
		_exit(child(fd, "c2"));
	after("vfork", pid, fd, "c2", "ghi", "jkl");

	pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(child(fd, "c3"));
	after("syscall(SYS_clone)", pid, fd, "c3", "mno", "pqr");

	pid = _Fork();
	if (pid == 0)
		_exit(child(fd, "c4"));
	after("_Fork", pid, fd, "c4", "stu", "vwx");

	expect("close", close(fd) == 0);
	return bad;
}
