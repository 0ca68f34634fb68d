/*
 * symlink_out.c - symlinks whose target leaves the directory's file system:
 * an absolute target (/usr/bin, /etc/passwd, as a Python venv's
 * bin/python3 -> /usr/bin/python3), a relative one that climbs out with
 * "..".  Calls that follow them (stat, access, open, opendir, chdir,
 * realpath, exec through PATH, "..") see the local file; calls on the link
 * itself (lstat, readlink, unlink, O_NOFOLLOW) see the link; 40 links in
 * all, then ELOOP; O_CREAT through a dangling one creates the target;
 * rename, link and symlink through a link to a local directory act there.
 * Forwarded, the service hands the rest of the path back to the client
 * (interpose README, "Symlinks that leave the export").
 *
 * usage: symlink_out DIR
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

/* Do path and local name the same file? */
static int same(const char *path, const char *local)
{
	struct stat s1, s2;

	return stat(path, &s1) == 0 && stat(local, &s2) == 0 &&
	       s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino;
}

int main(int argc, char **argv)
{
	char buf[PATH_MAX], target[PATH_MAX], made[64];
	struct stat st;
	int fd, st_;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: symlink_out /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	show("mkdir d", mkdir(a("d"), 0755));
	show("symlink lbin -> /usr/bin", symlink("/usr/bin", a("lbin")));
	show("symlink d/pw -> /etc/passwd", symlink("/etc/passwd", a("d/pw")));
	show("symlink d/up -> ../../../..(x16)/usr/bin",
	     symlink("../../../../../../../../../../../../../../../../usr/bin", a("d/up")));
	show("symlink env -> lbin/env", symlink("lbin/env", a("env")));

	expect("stat lbin/env is /usr/bin/env", same(a("lbin/env"), "/usr/bin/env"));
	expect("stat env (two links) is /usr/bin/env", same(a("env"), "/usr/bin/env"));
	expect("stat d/pw is /etc/passwd", same(a("d/pw"), "/etc/passwd"));
	expect("stat d/up/env is /usr/bin/env", same(a("d/up/env"), "/usr/bin/env"));
	expect("stat lbin/../bin is /usr/bin", same(a("lbin/../bin"), "/usr/bin"));
	show("access env X_OK", access(a("env"), X_OK));
	show("faccessat d/pw R_OK", faccessat(AT_FDCWD, a("d/pw"), R_OK, 0));
	show("lstat lbin", lstat(a("lbin"), &st));
	expect("lbin is a symlink", S_ISLNK(st.st_mode));
	show("fstatat lbin AT_SYMLINK_NOFOLLOW", fstatat(AT_FDCWD, a("lbin"), &st, AT_SYMLINK_NOFOLLOW));
	expect("still a symlink", S_ISLNK(st.st_mode));
	show("readlink lbin", readlink(a("lbin"), buf, sizeof(buf)));

	fd = open(a("d/pw"), O_RDONLY);
	show("open d/pw", fd >= 0 ? 0 : -1);
	show("read d/pw 4", fd >= 0 ? read(fd, buf, 4) : -1);
	if (fd >= 0)
		close(fd);
	fd = open("/etc/passwd", O_RDONLY);
	expect("it starts like /etc/passwd",
	       fd >= 0 && read(fd, target, 4) == 4 && memcmp(buf, target, 4) == 0);
	if (fd >= 0)
		close(fd);
	show("open d/pw O_NOFOLLOW", open(a("d/pw"), O_RDONLY | O_NOFOLLOW));
	fd = open(a("lbin"), O_RDONLY | O_DIRECTORY);
	show("open lbin O_DIRECTORY", fd >= 0 ? 0 : -1);
	if (fd >= 0)
		close(fd);
	DIR *d = opendir(a("d/up"));
	int found = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		found |= strcmp(e->d_name, "env") == 0;
	if (d)
		closedir(d);
	expect("opendir d/up lists env", found);
	expect("realpath env is /usr/bin/env",
	       realpath(a("env"), buf) && realpath("/usr/bin/env", target) && !strcmp(buf, target));

	/* chdir through it: the cwd is the local directory. */
	if (fork() == 0) {
		int ok = chdir(a("lbin")) == 0 && getcwd(buf, sizeof(buf)) &&
			 realpath("/usr/bin", target) && strcmp(buf, target) == 0 &&
			 access("env", X_OK) == 0;
		_exit(ok ? 0 : 1);
	}
	expect("chdir lbin; getcwd is /usr/bin", wait(&st_) > 0 && WIFEXITED(st_) && !WEXITSTATUS(st_));

	/* exec through PATH, as a shell after a venv's activate. */
	if (fork() == 0) {
		setenv("PATH", dir, 1);
		execlp("env", "env", "-i", "/bin/true", (char *)NULL);
		_exit(127);
	}
	expect("execlp env through PATH=DIR", wait(&st_) > 0 && WIFEXITED(st_) && !WEXITSTATUS(st_));

	/* 40 links in all, then ELOOP (l0 -> DIR/l1 -> ... -> l39 -> lbin). */
	for (int i = 0; i < 40; i++) {
		char name[16], next[16];

		snprintf(name, sizeof(name), "l%d", i);
		snprintf(next, sizeof(next), "l%d", i + 1);
		if (symlink(i == 39 ? a("lbin") : a(next), a(name)) < 0)
			bad = 1;
	}
	show("stat l1/env (40 links)", stat(a("l1/env"), &st));
	show("stat l0/env (41 links)", stat(a("l0/env"), &st));

	/* O_CREAT through a dangling link out: the target is made. */
	snprintf(made, sizeof(made), "/tmp/vos-symlink-out-%d", (int)getpid());
	show("symlink dangling -> /tmp/vos-...", symlink(made, a("dangling")));
	fd = open(a("dangling"), O_WRONLY | O_CREAT, 0644);
	show("open dangling O_CREAT", fd >= 0 ? 0 : -1);
	if (fd >= 0)
		close(fd);
	show("stat the target", stat(made, &st));
	show("unlink the target", unlink(made));
	show("open dangling O_CREAT|O_EXCL", open(a("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0644));

	/* Two paths through a link out, to a scratch directory of ours. */
	char scratch[] = "/tmp/vos-symlink-out-XXXXXX", in[128];
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	show("symlink lscratch -> /tmp/...", symlink(scratch, a("lscratch")));
	fd = open(a("lscratch/x"), O_WRONLY | O_CREAT, 0644);
	show("create lscratch/x", fd >= 0 ? close(fd) : -1);
	show("rename lscratch/x lscratch/y", rename(a("lscratch/x"), a("lscratch/y")));
	show("link lscratch/y lscratch/h", link(a("lscratch/y"), a("lscratch/h")));
	show("symlink y lscratch/s", symlink("y", a("lscratch/s")));
	show("rename lbin/none lscratch/q", rename(a("lbin/none"), a("lscratch/q")));
	snprintf(in, sizeof(in), "%s/y", scratch);
	show("stat y in scratch", stat(in, &st) < 0 ? -1 : (long)st.st_nlink);
	snprintf(in, sizeof(in), "%s/s", scratch);
	show("readlink s in scratch", readlink(in, buf, sizeof(buf)));
	show("unlink lscratch/s", unlink(a("lscratch/s")));
	show("unlink lscratch/h", unlink(a("lscratch/h")));
	show("unlink lscratch/y", unlink(a("lscratch/y")));
	show("rmdir scratch", rmdir(scratch));

	/* unlink removes the link, never the target. */
	show("unlink d/pw", unlink(a("d/pw")));
	show("stat /etc/passwd", stat("/etc/passwd", &st) < 0 ? -1 : 0);
	return bad;
}
