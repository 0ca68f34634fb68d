/*
 * cloexec.c - which fds survive exec, by every way of setting the flag:
 * open(O_CLOEXEC), fcntl(F_SETFD), dup (clears it), dup3(O_CLOEXEC),
 * F_DUPFD_CLOEXEC, F_SETFD back to 0.  The new image reports each fd as
 * closed, or open with its flags and the first bytes of the file (pread, so
 * offsets do not matter); it then opens a new file, which must get the
 * lowest free number, as natively.
 *
 * usage: cloexec DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 7
static const char *names[N] = {
	"plain", "o_cloexec", "setfd", "dup-of-cloexec", "dup3-cloexec", "dupfd-cloexec",
	"setfd-cleared",
};

static int child(int argc, char **argv)
{
	for (int i = 0; i < N && i + 3 < argc; i++) {
		int fd = atoi(argv[i + 3]);
		char buf[8] = { 0 };
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0) {
			printf("%s: closed (%s)\n", names[i], strerrorname_np(errno));
			continue;
		}
		if (pread(fd, buf, 4, 0) < 0)
			snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno));
		printf("%s: open flags=%d data=%s\n", names[i], fl, buf);
	}
	{
		char path[4200];
		int fd;

		snprintf(path, sizeof(path), "%s/ce.dat", argv[2]);
		fd = open(path, O_RDONLY);
		printf("new open gets lowest free fd: %d\n", fd);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4200], *cargv[N + 4], nums[N][16];
	int fd[N];

	if (argc >= 3 && strcmp(argv[1], "--child") == 0)
		return child(argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: cloexec DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/ce.dat", argv[1]);
	fd[0] = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd[0] < 0 || write(fd[0], "DATA", 4) != 4) {
		perror("cloexec: open");
		return 1;
	}
	fd[1] = open(path, O_RDONLY | O_CLOEXEC);
	fd[2] = open(path, O_RDONLY);
	fcntl(fd[2], F_SETFD, FD_CLOEXEC);
	fd[3] = dup(fd[1]);
	fd[4] = dup3(fd[0], 40, O_CLOEXEC);
	fd[5] = fcntl(fd[0], F_DUPFD_CLOEXEC, 45);
	fd[6] = fcntl(fd[0], F_DUPFD_CLOEXEC, 50);
	fcntl(fd[6], F_SETFD, 0);
	for (int i = 0; i < N; i++)
		printf("%s: fd %d flags %d\n", names[i], fd[i], fcntl(fd[i], F_GETFD));
	fflush(stdout);
	cargv[0] = argv[0];
	cargv[1] = "--child";
	cargv[2] = argv[1];
	for (int i = 0; i < N; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%d", fd[i]);
		cargv[i + 3] = nums[i];
	}
	cargv[N + 3] = NULL;
	execv("/proc/self/exe", cargv);
	perror("cloexec: exec");
	return 1;
}
