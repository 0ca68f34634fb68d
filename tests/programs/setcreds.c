/*
 * setcreds.c - a process that changes its ids gets the access of its new
 * ids, as natively: root opens a 0600 root file; with effective ids of
 * nobody and a supplementary group it is refused that file but reads a
 * group-readable one, access() (real ids) still says yes, AT_EACCESS says
 * no, creating in a root directory fails; seteuid(0) gives access back (the
 * saved uid); after dropping every id the file stays closed to the process,
 * to a forked child, to an exec'd image and to a posix_spawn'ed one, while
 * an fd opened as root still reads (as natively).
 *
 * Needs root; otherwise it says so and exits 0.
 *
 * usage: setcreds DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY  65534
#define NOGROUP 65534
#define GROUP   4242            /* the group of DIR/grp; need not exist */

extern char **environ;

static char secret[4200], grp[4200], created[4200];

static void try_open(const char *who, const char *what, const char *path)
{
	char buf[16] = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		printf("%s: open %s: %s\n", who, what, strerrorname_np(errno));
		return;
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno));
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s: open %s: ok \"%s\"\n", who, what, buf);
	close(fd);
}

static void show_ids(const char *who)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, g[8];
	int n = getgroups(8, g);

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("%s: uids %u %u %u gids %u %u %u groups", who, (unsigned)r, (unsigned)e,
	       (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg);
	for (int i = 0; i < n; i++)
		printf(" %u", (unsigned)g[i]);
	printf("\n");
}

static void check(const char *what, int r)
{
	printf("%s: %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

static void read_early(const char *who, int fd)
{
	char buf[16] = { 0 };

	if (pread(fd, buf, sizeof(buf) - 1, 0) < 0)
		snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno));
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s: fd opened as root reads \"%s\"\n", who, buf);
}

static void paths(const char *dir)
{
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(grp, sizeof(grp), "%s/grp", dir);
	snprintf(created, sizeof(created), "%s/created", dir);
}

/* A new image (exec or spawn) after every id was dropped. */
static int child_mode(const char *tag, const char *dir, int early)
{
	paths(dir);
	show_ids(tag);
	try_open(tag, "secret", secret);
	try_open(tag, "grp", grp);
	read_early(tag, early);
	return 0;
}

static void wait_child(pid_t pid, const char *what)
{
	int st;

	if (pid < 0) {
		printf("%s: not started\n", what);
		return;
	}
	if (waitpid(pid, &st, 0) != pid)
		printf("%s: waitpid failed\n", what);
	else
		printf("%s: exit %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static int make_file(const char *path, const char *text, mode_t mode, gid_t gid)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);

	if (fd < 0 || write(fd, text, strlen(text)) < 0 || fchown(fd, 0, gid) < 0 ||
	    fchmod(fd, mode) < 0) {
		perror("setcreds: setup");
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	gid_t one = GROUP;
	char fdnum[16];
	pid_t pid;
	int early;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return child_mode(argv[2], argv[3], atoi(argv[4]));
	if (argc != 2) {
		fprintf(stderr, "usage: setcreds DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (geteuid() != 0) {
		printf("not root: nothing to check\n");
		return 0;
	}
	paths(argv[1]);
	unlink(created);
	if (make_file(secret, "secret\n", 0600, 0) < 0 || make_file(grp, "group\n", 0640, GROUP) < 0)
		return 1;

	show_ids("root");
	try_open("root", "secret", secret);
	early = open(secret, O_RDONLY);
	if (early < 0) {
		perror("setcreds: open as root");
		return 1;
	}

	/* Effective ids only: the saved uid keeps the way back. */
	check("setgroups 4242", setgroups(1, &one));
	check("setegid nogroup", setegid(NOGROUP));
	check("seteuid nobody", seteuid(NOBODY));
	show_ids("euid nobody");
	try_open("euid nobody", "secret", secret);
	try_open("euid nobody", "grp", grp);
	check("euid nobody: access(secret) real ids", access(secret, R_OK));
	check("euid nobody: faccessat(secret, AT_EACCESS)",
	      faccessat(AT_FDCWD, secret, R_OK, AT_EACCESS));
	check("euid nobody: create in root dir", open(created, O_CREAT | O_WRONLY, 0644));

	check("seteuid root", seteuid(0));
	check("setegid root", setegid(0));
	show_ids("back to root");
	try_open("back to root", "secret", secret);

	/* Everything dropped. */
	check("setgroups none", setgroups(0, NULL));
	check("setresgid nogroup", setresgid(NOGROUP, NOGROUP, NOGROUP));
	check("setresuid nobody", setresuid(NOBODY, NOBODY, NOBODY));
	show_ids("nobody");
	try_open("nobody", "secret", secret);
	try_open("nobody", "grp", grp);
	read_early("nobody", early);
	check("nobody: setuid root", setuid(0));

	pid = fork();
	if (pid == 0) {
		try_open("forked child", "secret", secret);
		try_open("forked child", "grp", grp);
		read_early("forked child", early);
		_exit(0);
	}
	wait_child(pid, "forked child");

	snprintf(fdnum, sizeof(fdnum), "%d", early);
	pid = fork();
	if (pid == 0) {
		char *cargv[] = { argv[0], "--child", "exec'd image", argv[1], fdnum, NULL };

		execv("/proc/self/exe", cargv);
		printf("exec: %s\n", strerrorname_np(errno));
		_exit(1);
	}
	wait_child(pid, "exec'd image");

	{
		char *cargv[] = { argv[0], "--child", "spawned image", argv[1], fdnum, NULL };

		if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargv, environ) != 0)
			pid = -1;
		wait_child(pid, "spawned image");
	}
	return 0;
}
