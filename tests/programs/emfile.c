/*
 * emfile.c - the descriptor limit on routed files is the same as natively:
 * with RLIMIT_NOFILE lowered to 64, opens of a routed file succeed until
 * the process has 64 fds, then fail with EMFILE; so do dup, F_DUPFD, pipe,
 * socket and a local open; closing one makes room for exactly one more.
 * The library's own descriptors must not count.  Prints the fds in use
 * below 64 before plus the opens that worked (64 natively), not the two
 * apart (what the harness passes in may differ).
 *
 * usage: emfile DIR
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "report.h"

#define LIMIT 64

int main(int argc, char **argv)
{
	struct rlimit rl;
	int fds[LIMIT + 8], n = 0, in_use = 0, p[2], fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: emfile /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	fd = open(a("f"), O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		perror("emfile: open");
		return 1;
	}
	close(fd);
	fflush(stdout);
	/* fds above the limit (inherited) stay valid and do not count */
	for (int i = 0; i < LIMIT; i++)
		in_use += fcntl(i, F_GETFD) >= 0;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = LIMIT;
	show("setrlimit RLIMIT_NOFILE 64", setrlimit(RLIMIT_NOFILE, &rl));

	while (n < LIMIT + 8 && (fd = open(a("f"), O_RDONLY)) >= 0)
		fds[n++] = fd;
	show("open until it fails", -1);
	show("in use below 64 + opened", in_use + n);
	expect("highest fd is 63", n > 0 && fds[n - 1] == LIMIT - 1);
	show("dup", dup(0));
	show("fcntl F_DUPFD 0", fcntl(0, F_DUPFD, 0));
	show("pipe", pipe(p));
	show("socket", socket(AF_UNIX, SOCK_STREAM, 0));
	show("open /dev/null (local)", open("/dev/null", O_RDONLY));
	show("openat DIR/f", openat(AT_FDCWD, a("f"), O_RDONLY));
	show("open DIR/new O_CREAT", open(a("new"), O_WRONLY | O_CREAT, 0644));
	expect("DIR/new was not made", access(a("new"), F_OK) < 0);

	if (n > 0) {
		close(fds[--n]);
		fd = open(a("f"), O_RDONLY);
		show("close one, open again", fd < 0 ? -1 : fd == LIMIT - 1);
		show("and once more", open(a("f"), O_RDONLY));
		if (fd >= 0)
			close(fd);
		fd = open("/dev/null", O_RDONLY);
		show("close one, open local", fd < 0 ? -1 : fd == LIMIT - 1);
		if (fd >= 0)
			close(fd);
	}
	while (n > 0)
		close(fds[--n]);
	rl.rlim_cur = rl.rlim_max;
	show("fds closed, open works", (fd = open(a("f"), O_RDONLY)) < 0 ? -1 : 0);
	return bad;
}
