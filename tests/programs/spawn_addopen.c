/*
 * spawn_addopen.c - posix_spawn with file actions on routed files: addopen
 * of DIR/out as the child's stdout (the child, /bin/echo, writes there),
 * addopen of DIR/in as stdin with /bin/cat copying it to DIR/copy, adddup2
 * of the parent's own fd of a routed file, addchdir_np into DIR with a
 * relative addopen, and an addopen that fails (ENOENT in the child: the
 * spawn reports it).  The parent then reads the files back.
 *
 * usage: spawn_addopen DIR
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

extern char **environ;

static void spawn(const char *label, posix_spawn_file_actions_t *fa, char *const argv[])
{
	pid_t pid;
	int st = -1, rc;

	rc = posix_spawn(&pid, argv[0], fa, NULL, argv, environ);
	if (rc != 0) {
		printf("%-36s spawn %s\n", label, strerrorname_np(rc));
		return;
	}
	if (waitpid(pid, &st, 0) != pid)
		bad = 1;
	printf("%-36s exit %d\n", label, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	posix_spawn_file_actions_destroy(fa);
}

static void cat(const char *name)
{
	char buf[256];
	int fd = open(a(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n < 0) {
		show(name, -1);
	} else {
		buf[n] = 0;
		printf("%-36s %zd bytes: %s", name, n, buf);
		if (n == 0 || buf[n - 1] != '\n')
			printf("\n");
	}
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	char *echo[] = { "/bin/echo", "hello from the child", NULL };
	char *cat_argv[] = { "/bin/cat", NULL };
	char *sh[] = { "/bin/sh", "-c", "echo via dup2 >&5; echo relative > rel.txt", NULL };
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: spawn_addopen /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	fflush(stdout);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, a("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	spawn("echo > DIR/out (addopen)", &fa, echo);
	cat("out");

	fd = open(a("in"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "line one\nline two\n", 18) != 18 || close(fd) < 0)
		bad = 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, a("in"), O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, a("copy"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	spawn("cat < DIR/in > DIR/copy", &fa, cat_argv);
	cat("copy");

	fd = open(a("dup"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 5);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	spawn("sh: >&5 (adddup2), addchdir_np DIR", &fa, sh);
	close(fd);
	cat("dup");
	cat("rel.txt");

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_addopen(&fa, 1, "rel-open", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	spawn("echo, addchdir_np DIR, addopen rel", &fa, echo);
	cat("rel-open");

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, a("missing/out"), O_WRONLY | O_CREAT, 0644);
	spawn("addopen DIR/missing/out", &fa, echo);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, a("out"), O_WRONLY | O_APPEND, 0);
	posix_spawn_file_actions_addclose(&fa, 1);
	posix_spawn_file_actions_addopen(&fa, 1, a("out"), O_WRONLY | O_APPEND, 0);
	spawn("addopen, addclose, addopen O_APPEND", &fa, echo);
	cat("out");
	expect("copy is 0600", access(a("copy"), R_OK) == 0);
	return bad;
}
