/*
 * exec_storage.c - exec of programs stored on a routed directory: a copy
 * of a binary (/bin/echo), a "#!/bin/sh" script, a script whose
 * interpreter is itself the routed copy, a symlink to a local program (as
 * in a Python venv: bin/python -> /usr/bin/python3), a relative symlink to
 * the routed copy; by execv, by execvp and a shell through PATH (the
 * symlink must also stat as the local program), by posix_spawn, and
 * relative to DIR as the cwd.  A file without the x bit gives EACCES,
 * a missing one ENOENT.  Each exec runs in a child; its output follows.
 *
 * usage: exec_storage DIR
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

extern char **environ;

static int copy(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;
	int ok = in >= 0 && out >= 0;

	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0)
		ok &= close(out) == 0;
	return ok;
}

static int put(const char *name, const char *text, mode_t mode)
{
	int fd = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	return fd >= 0 && close(fd) == 0 && ok;
}

/* Fork; the child execs (execv, or execvp if vp) and reports a failure.
 * The run fails unless the exit status is want. */
static void run(const char *label, const char *path, int vp, int want, char *const argv[])
{
	int st;
	pid_t pid;

	printf("== %s\n", label);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (vp)
			execvp(path, argv);
		else
			execv(path, argv);
		printf("  exec: %s\n", strerrorname_np(errno));
		fflush(stdout);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		bad = 1;
		return;
	}
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("  status %d\n", st);
	if (st != want)
		bad = 1;
}

int main(int argc, char **argv)
{
	char script[4300], path[4300];
	pid_t pid;
	int st;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: exec_storage /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	snprintf(script, sizeof(script), "#!%s\n", a("bin/echo"));
	if (mkdir(a("bin"), 0755) < 0 || !copy("/bin/echo", a("bin/echo"), 0755) ||
	    !put("bin/hello.sh", "#!/bin/sh\necho \"script: $0 $*\"\n", 0755) ||
	    !put("bin/via-echo", script, 0755) ||
	    !put("bin/noexec.sh", "#!/bin/sh\necho no\n", 0644) ||
	    symlink("/bin/echo", a("bin/local-echo")) < 0 || symlink("echo", a("bin/rel-echo")) < 0) {
		perror("exec_storage: setup");
		return 1;
	}

	run("copied binary", a("bin/echo"), 0, 0, (char *[]){ "echo", "copied", "binary", NULL });
	run("#! script", a("bin/hello.sh"), 0, 0, (char *[]){ "hello.sh", "a1", NULL });
	run("#! with a routed interpreter", a("bin/via-echo"), 0, 0, (char *[]){ "via-echo", "x", NULL });
	run("symlink to a local program", a("bin/local-echo"), 0, 0,
	    (char *[]){ "local-echo", "through", "a", "symlink", NULL });
	run("relative symlink to the copy", a("bin/rel-echo"), 0, 0, (char *[]){ "rel-echo", "rel", NULL });
	run("no x bit", a("bin/noexec.sh"), 0, 127, (char *[]){ "noexec.sh", NULL });
	run("missing", a("bin/missing"), 0, 127, (char *[]){ "missing", NULL });

	snprintf(path, sizeof(path), "PATH=%s:/usr/bin:/bin", a("bin"));
	putenv(path);
	run("execvp hello.sh through PATH", "hello.sh", 1, 0, (char *[]){ "hello.sh", "p", NULL });
	/* a shell's PATH search stats the candidate first: the symlink to a
	 * local program must stat as that program */
	{
		struct stat st, local;

		expect("stat bin/local-echo is /bin/echo",
		       stat(a("bin/local-echo"), &st) == 0 && stat("/bin/echo", &local) == 0 &&
		       S_ISREG(st.st_mode) && st.st_size == local.st_size);
	}
	run("execvp local-echo through PATH", "local-echo", 1, 0,
	    (char *[]){ "local-echo", "path", "symlink", NULL });
	run("sh: local-echo through PATH", "/bin/sh", 0, 0,
	    (char *[]){ "sh", "-c", "local-echo sh found it", NULL });

	fflush(stdout);
	printf("== posix_spawn copied binary\n");
	fflush(stdout);
	st = posix_spawn(&pid, a("bin/echo"), NULL, NULL, (char *[]){ "echo", "spawned", NULL }, environ);
	if (st != 0)
		printf("  spawn: %s\n", strerrorname_np(st));
	else if (waitpid(pid, &st, 0) == pid)
		printf("  status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (st != 0)
		bad = 1;

	show("chdir DIR/bin", chdir(a("bin")));
	run("./hello.sh relative to the cwd", "./hello.sh", 0, 0, (char *[]){ "./hello.sh", "rel", NULL });
	run("./echo relative to the cwd", "./echo", 0, 0, (char *[]){ "./echo", "cwd", NULL });
	expect("bin/echo is executable", access(a("bin/echo"), X_OK) == 0);
	return bad;
}
