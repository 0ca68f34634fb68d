/*
 * svcdeath.c - what a program sees when its storage service dies and comes
 * back.  KILL_CMD and RESTART_CMD are shell commands run with system() (the
 * harness knows how it started the service).
 *
 * usage: svcdeath DIR KILL_CMD RESTART_CMD
 * Expected under libvirtuos (DIR routed): calls on fds opened before the
 * death fail with EIO, close() of them succeeds, new opens fail with EIO
 * while the service is down and work after the restart; the old fds stay
 * dead (EIO) even then.  The exact expected output is svcdeath.expected
 * (compared by run-compare.sh and by the system test over Xen).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *label, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %ld\n", label, r);
}

int main(int argc, char **argv)
{
	char a[4200], b[4200], buf[8];
	int fd, fd2, fd3;

	if (argc != 4) {
		fprintf(stderr, "usage: svcdeath DIR KILL_CMD RESTART_CMD\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(a, sizeof(a), "%s/death1.dat", argv[1]);
	snprintf(b, sizeof(b), "%s/death2.dat", argv[1]);
	fd = open(a, O_CREAT | O_RDWR | O_TRUNC, 0644);
	show("open before", fd);
	show("write before", write(fd, "abc", 3));
	fd3 = dup(fd);
	if (system(argv[2]) != 0)
		printf("kill command failed\n");
	show("pread after death", pread(fd, buf, 3, 0));
	show("write after death", write(fd, "x", 1));
	show("fstat after death", fstat(fd, &(struct stat){ 0 }));
	show("open after death", fd2 = open(b, O_CREAT | O_RDWR, 0644));
	if (fd2 >= 0)
		close(fd2);
	show("close after death", close(fd));
	if (system(argv[3]) != 0)
		printf("restart command failed\n");
	fd2 = open(b, O_CREAT | O_RDWR | O_TRUNC, 0644);
	show("open after restart", fd2 >= 0 ? 0 : -1);
	show("write after restart", write(fd2, "xyz", 3));
	show("pread after restart", pread(fd2, buf, 3, 0));
	show("old dup still dead", read(fd3, buf, 1));
	show("close old dup", close(fd3));
	show("close new", close(fd2));
	unlink(a);
	unlink(b);
	return 0;
}
