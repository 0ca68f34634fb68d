/*
 * limits-fsize.c - RLIMIT_FSIZE: a write up to the limit is short, one at
 * or past it fails with EFBIG and raises SIGXFSZ (a handler counts it);
 * ftruncate, truncate and fallocate past it do the same; a limit lowered
 * after the file was opened applies too; with the default action the
 * process is killed by SIGXFSZ.
 *
 * usage: limits-fsize DIR          (deterministic output)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

static atomic_int caught;

static void on_xfsz(int sig)
{
	(void)sig;
	atomic_fetch_add(&caught, 1);
}

static void signals(const char *label, int want)
{
	char l[96];

	snprintf(l, sizeof l, "%s: SIGXFSZ x%d", label, want);
	expect(l, atomic_exchange(&caught, 0) == want);
}

static int set_fsize(rlim_t cur)
{
	struct rlimit rl;

	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = cur;
	return setrlimit(RLIMIT_FSIZE, &rl);
}

int main(int argc, char **argv)
{
	char buf[2000];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	memset(buf, 'x', sizeof buf);

	/* Opened before the limit is lowered. */
	int fd = open(a("big"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("open", fd < 0 ? -1 : 0);
	struct sigaction sa = { .sa_handler = on_xfsz };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGXFSZ, &sa, NULL);
	show("setrlimit FSIZE 1000", set_fsize(1000));

	show("write 2000 (short)", write(fd, buf, sizeof buf));
	signals("short write", 0);
	show("write past the limit", write(fd, buf, 10));
	signals("write past the limit", 1);
	show("pwrite at 990, 20 bytes", pwrite(fd, buf, 20, 990));
	signals("pwrite across", 0);
	show("pwrite at 1000", pwrite(fd, buf, 1, 1000));
	signals("pwrite at the limit", 1);
	show("ftruncate 1000", ftruncate(fd, 1000));
	show("ftruncate 1001", ftruncate(fd, 1001));
	signals("ftruncate past", 1);
	show("truncate 5000", truncate(a("big"), 5000));
	signals("truncate past", 1);
	show("fallocate 0+5000", fallocate(fd, 0, 0, 5000));
	signals("fallocate past", 1);
	struct stat st;
	show("fstat", fstat(fd, &st));
	show("size", st.st_size);
	close(fd);

	/* Opened after: a new file, and the limit raised again. */
	fd = open(a("small"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("write 2000 (short, new file)", write(fd, buf, sizeof buf));
	show("setrlimit FSIZE infinity", set_fsize(RLIM_INFINITY));
	show("write 2000 after raising", write(fd, buf, sizeof buf));
	signals("after raising", 0);
	close(fd);

	/* Default action: the process dies of SIGXFSZ. */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGXFSZ, SIG_DFL);
		set_fsize(100);
		int cfd = open(a("child"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (write(cfd, buf, 200) != 100)
			_exit(3);
		(void)write(cfd, buf, 1);
		_exit(4);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	expect("child killed by SIGXFSZ", WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);

	unlink(a("big"));
	unlink(a("small"));
	unlink(a("child"));
	return bad;
}
