/*
 * execfile.c - exec of programs stored in DIR (what libvirtuos does for a
 * routed path: libvirtuos/interpose/execfile.c).  The program copies
 * itself into DIR and runs that copy ("child" mode prints its argv, reads
 * an inherited fd and exits 7), and writes scripts and symlinks there:
 *  - ELF binary: execve, execv, execvp with PATH=DIR, execveat with a
 *    directory fd, fexecve, posix_spawn, posix_spawnp (PATH=DIR), system,
 *    popen; argv[0] stays as given; an fd without O_CLOEXEC survives;
 *  - "#!" scripts with /bin/echo as interpreter (echo shows the argv the
 *    kernel built): no argument, one argument with blanks inside and
 *    around, a script as interpreter of a script, no newline in the first
 *    256 bytes, an interpreter name cut off at 256 bytes;
 *  - symlinks: to a local program (/bin/echo, absolute), a relative chain,
 *    a loop (ELOOP), AT_SYMLINK_NOFOLLOW (ELOOP);
 *  - errors: not executable (EACCES), a directory (EACCES), missing
 *    (ENOENT), unknown format (ENOEXEC from execve; execvp runs it with
 *    /bin/sh).
 * Every exec runs in a forked child; the parent shows how it ended.
 *
 * usage: execfile DIR
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

extern char **environ;

static int child_mode(int argc, char **argv)
{
	char buf[16] = { 0 };
	int fd = atoi(argv[2]);

	printf("  child: argv[0]=%s argc=%d", argv[0], argc);
	for (int i = 3; i < argc; i++)
		printf(" [%s]", argv[i]);
	if (fd >= 0)
		printf(" fd %d reads \"%s\"", fd, pread(fd, buf, 5, 0) == 5 ? buf : "(failed)");
	printf("\n");
	return 7;
}

static void put(const char *name, const char *text, mode_t mode)
{
	int fd = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		expect(name, 0);
	chmod(a(name), mode);
}

/* Copy this program into DIR/name. */
static void copy_self(const char *name)
{
	char buf[65536];
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	expect("copy the program into DIR", in >= 0 && out >= 0);
	close(in);
	close(out);
}

static void report_status(const char *label, int st)
{
	if (WIFEXITED(st))
		printf("%-36s exit %d\n", label, WEXITSTATUS(st));
	else
		printf("%-36s signal %d\n", label, WTERMSIG(st));
}

enum how { EXECVE, EXECV, EXECVP, EXECVEAT_DIR, EXECVEAT_NOFOLLOW, FEXECVE, FEXECVE_OPATH };

/* Run one exec in a forked child; a failed exec prints its errno and
 * exits 99. */
static void run(const char *label, enum how how, const char *path, char *const argv[])
{
	pid_t pid;
	int st;

	printf("%s\n", label);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int dfd, fd;

		switch (how) {
		case EXECVE:
			execve(path, argv, environ);
			break;
		case EXECV:
			execv(path, argv);
			break;
		case EXECVP:
			setenv("PATH", dir, 1);
			execvp(path, argv);
			break;
		case EXECVEAT_DIR:
		case EXECVEAT_NOFOLLOW:
			dfd = open(dir, O_RDONLY | O_DIRECTORY);
			execveat(dfd, path, argv, environ,
				 how == EXECVEAT_NOFOLLOW ? AT_SYMLINK_NOFOLLOW : 0);
			break;
		case FEXECVE:
		case FEXECVE_OPATH:
			fd = open(path, how == FEXECVE ? O_RDONLY : O_PATH);
			fexecve(fd, argv, environ);
			break;
		}
		printf("  exec: -1 %s\n", strerrorname_np(errno));
		fflush(stdout);
		_exit(99);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		expect("fork and wait", 0);
		return;
	}
	report_status("  ended", st);
}

int main(int argc, char **argv)
{
	char fdarg[16], line[400];
	int fd;

	if (argc >= 3 && strcmp(argv[1], "child") == 0)
		return child_mode(argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: execfile DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);

	copy_self("prog");
	put("data", "hello world", 0644);
	fd = open(a("data"), O_RDONLY);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);

	/* ELF binary */
	{
		char *av[] = { "given-name", "child", fdarg, "x y", "z", NULL };
		char *avp[] = { "prog", "child", fdarg, NULL };
		char *avn[] = { "rel", "child", "-1", NULL };

		run("execve DIR/prog", EXECVE, a("prog"), av);
		run("execv DIR/prog", EXECV, a("prog"), av);
		run("execvp prog (PATH=DIR)", EXECVP, "prog", avp);
		run("execveat(dirfd, \"prog\")", EXECVEAT_DIR, "prog", avn);
		run("fexecve(fd of DIR/prog)", FEXECVE, a("prog"), avn);
		run("fexecve(O_PATH fd of DIR/prog)", FEXECVE_OPATH, a("prog"), avn);
	}
	/* posix_spawn, posix_spawnp, system, popen */
	{
		char *av[] = { "spawned", "child", fdarg, NULL };
		char cmd[8400];
		pid_t pid;
		FILE *p;
		int st, ws;

		printf("posix_spawn DIR/prog\n");
		/* the child's output first: wait before printing */
		st = posix_spawn(&pid, a("prog"), NULL, NULL, av, environ);
		if (!st && waitpid(pid, &ws, 0) != pid)
			st = ECHILD;
		show("  posix_spawn", st ? (errno = st, -1) : 0);
		if (!st)
			report_status("  ended", ws);
		printf("posix_spawnp prog (PATH=DIR)\n");
		setenv("PATH", dir, 1);
		st = posix_spawnp(&pid, "prog", NULL, NULL, av, environ);
		setenv("PATH", "/usr/bin:/bin", 1);
		if (!st && waitpid(pid, &ws, 0) != pid)
			st = ECHILD;
		show("  posix_spawnp", st ? (errno = st, -1) : 0);
		if (!st)
			report_status("  ended", ws);
		printf("system DIR/prog\n");
		snprintf(cmd, sizeof(cmd), "'%s' child -1 sys", a("prog"));
		st = system(cmd);
		report_status("  ended", st);
		printf("popen DIR/prog\n");
		snprintf(cmd, sizeof(cmd), "'%s' child -1 popen", a("prog"));
		p = popen(cmd, "r");
		if (p) {
			while (fgets(line, sizeof(line), p))
				printf("  read: %s", line);
			report_status("  ended", pclose(p));
		}
	}

	/* "#!" scripts */
	{
		char *av[] = { "argv0", "one", "two", NULL };
		char big[300];

		put("s-plain", "#!/bin/echo\nnot read\n", 0755);
		run("script: no argument", EXECVE, a("s-plain"), av);
		put("s-arg", "#! \t/bin/echo   an  arg \t \nnot read\n", 0755);
		run("script: one argument, blanks", EXECVE, a("s-arg"), av);
		snprintf(line, sizeof(line), "#!%s opt\n", a("s-arg"));
		put("s-nested", line, 0755);
		run("script: a script as interpreter", EXECVE, a("s-nested"), av);
		memset(big, 'a', sizeof(big));
		memcpy(big, "#!/bin/echo ", 12);
		big[sizeof(big) - 1] = '\0';
		put("s-long-arg", big, 0755);
		run("script: no newline in 256 bytes", EXECVE, a("s-long-arg"), av);
		memset(big, 'a', sizeof(big) - 1);
		memcpy(big, "#!/bin/", 7);
		put("s-long-name", big, 0755);
		run("script: interpreter name cut off", EXECVE, a("s-long-name"), av);
		put("s-empty", "#!\n", 0755);
		run("script: no interpreter", EXECVE, a("s-empty"), av);
		put("s-missing", "#!/nonexistent/interp\n", 0755);
		run("script: missing interpreter", EXECVE, a("s-missing"), av);
		put("s-tabs", "#!/bin/echo\ta\tb \t\n", 0755);
		run("script: blank inside the argument", EXECVE, a("s-tabs"), av);
		put("s-cr", "#!/bin/echo\r\n", 0755);
		run("script: CR ends no name", EXECVE, a("s-cr"), av);
		put("s-blanks", "#! \t \n", 0755);
		run("script: only blanks", EXECVE, a("s-blanks"), av);
		put("s-noline", "#!/bin/echo x", 0755);
		run("script: no newline at all", EXECVE, a("s-noline"), av);
		symlink("s-arg", a("l-script"));
		run("script through a symlink", EXECVE, a("l-script"), av);
		run("execvp script (PATH=DIR)", EXECVP, "s-arg", av);
	}

	/* symlinks */
	{
		char *av[] = { "link-argv0", "hi", NULL };

		symlink("/bin/echo", a("l-echo"));
		symlink("l-echo", a("l-rel"));
		symlink("l-loop2", a("l-loop1"));
		symlink("l-loop1", a("l-loop2"));
		symlink("prog", a("l-prog"));
		run("symlink to /bin/echo", EXECVE, a("l-echo"), av);
		run("relative chain to it", EXECVE, a("l-rel"), av);
		run("symlink loop", EXECVE, a("l-loop1"), av);
		run("execveat AT_SYMLINK_NOFOLLOW", EXECVEAT_NOFOLLOW, "l-prog", av);
	}

	/* errors */
	{
		char *av[] = { "e", NULL };

		put("noexec", "#!/bin/echo\n", 0644);
		run("not executable", EXECVE, a("noexec"), av);
		mkdir(a("adir"), 0755);
		run("a directory", EXECVE, a("adir"), av);
		run("missing", EXECVE, a("missing"), av);
		put("plain", "echo run by sh: $0 \"$@\"\nexit 5\n", 0755);
		run("unknown format: execve", EXECVE, a("plain"), av);
		run("unknown format: execv", EXECV, a("plain"), av);
		run("unknown format: execvp", EXECVP, a("plain"), av);
		put("empty", "", 0755);
		run("empty file", EXECVE, a("empty"), av);
	}

	close(fd);
	return bad;
}
