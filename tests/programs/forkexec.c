/*
 * forkexec.c - remote fds across fork and exec.
 *
 * The parent opens DIR/fe.dat, writes lines, rewinds, then:
 *  1. fork: the child reads from the inherited fd (the offset is shared with
 *     the parent, as natively), then execs this program in child mode with
 *     the fd number; the new image reads on from the same offset, checks
 *     that an O_CLOEXEC fd is gone, and appends a line.
 *  2. posix_spawn: the same child mode, started the way glibc's spawn does.
 *  3. system() and popen(): a shell reads from the inherited fd.
 * The parent then shows the shared offset and the whole file.
 *
 * usage: forkexec DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void show_read(const char *who, int fd, size_t n)
{
	char buf[128] = { 0 };
	ssize_t r = read(fd, buf, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1);

	if (r < 0)
		printf("%s: read -1 %s\n", who, strerrorname_np(errno));
	else
		printf("%s: read %zd \"%s\"\n", who, r, buf);
}

static int child_mode(int fd, int cefd, const char *tag)
{
	char line[64];
	int n;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("%s: cloexec fd %s\n", tag,
	       fcntl(cefd, F_GETFD) < 0 && errno == EBADF ? "closed" : "STILL OPEN");
	printf("%s: fd flags %d\n", tag, fcntl(fd, F_GETFD));
	show_read(tag, fd, 5);
	n = snprintf(line, sizeof(line), "appended by %s\n", tag);
	if (lseek(fd, 0, SEEK_END) < 0 || write(fd, line, (size_t)n) != n)
		printf("%s: append failed: %s\n", tag, strerrorname_np(errno));
	/* the offset is shared: put it back where the parent expects it */
	return 0;
}

static void wait_child(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		printf("%s: waitpid failed\n", what);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("%s: child status %d\n", what, st);
}

int main(int argc, char **argv)
{
	char path[4200], fdarg[16], cearg[16], cmd[256];
	char *cargv[6];
	pid_t pid;
	int fd, ce;
	off_t pos;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return child_mode(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc != 2) {
		fprintf(stderr, "usage: forkexec DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(path, sizeof(path), "%s/fe.dat", argv[1]);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	ce = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ce < 0) {
		perror("forkexec: open");
		return 1;
	}
	if (write(fd, "line-1 parent\nline-2 parent\n", 28) != 28)
		return 1;
	lseek(fd, 0, SEEK_SET);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	snprintf(cearg, sizeof(cearg), "%d", ce);

	cargv[0] = argv[0];
	cargv[1] = "--child";
	cargv[2] = fdarg;
	cargv[3] = cearg;
	cargv[4] = "exec-child";
	cargv[5] = NULL;

	/* 1. fork, read, exec */
	pid = fork();
	if (pid == 0) {
		show_read("forked child", fd, 7);
		execv("/proc/self/exe", cargv);
		printf("exec failed: %s\n", strerrorname_np(errno));
		_exit(1);
	}
	wait_child(pid, "fork");
	pos = lseek(fd, 0, SEEK_CUR);
	printf("parent: offset after fork child %lld\n", (long long)pos);
	show_read("parent", fd, 3);

	/* 2. posix_spawn */
	lseek(fd, 0, SEEK_SET);
	cargv[4] = "spawn-child";
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargv, environ) != 0)
		printf("posix_spawn failed\n");
	else
		wait_child(pid, "spawn");
	printf("parent: offset after spawn child %lld\n", (long long)lseek(fd, 0, SEEK_CUR));

	/* 3. system() and popen(): a shell reads the inherited fd */
	lseek(fd, 0, SEEK_SET);
	snprintf(cmd, sizeof(cmd), "head -c 6 <&%d; echo", fd);
	fflush(stdout);
	printf("system: status %d\n", system(cmd));
	{
		FILE *p;
		char out[64] = { 0 };

		lseek(fd, 7, SEEK_SET);
		p = popen(cmd, "r");
		if (!p || !fgets(out, sizeof(out), p))
			printf("popen failed\n");
		else
			printf("popen: \"%.*s\"\n", (int)strcspn(out, "\n"), out);
		if (p)
			printf("pclose: %d\n", pclose(p));
	}

	/* the whole file */
	lseek(fd, 0, SEEK_SET);
	{
		char all[512] = { 0 };
		ssize_t n = read(fd, all, sizeof(all) - 1);

		printf("file (%zd bytes):\n%s", n, all);
	}
	close(fd);
	close(ce);
	unlink(path);
	return 0;
}
