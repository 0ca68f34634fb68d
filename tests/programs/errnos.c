/*
 * errnos.c - error numbers of failing file system calls in DIR, printed by
 * name (ENOENT, EBADF, ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, ELOOP, ...).
 * The output of a run on a routed directory must equal a native run.
 *
 * usage: errnos DIR
 *        errnos --escape DIR   follows symlinks and ".." under a dirfd
 *                              that leave DIR to the local /etc/passwd
 *                              (only reads it); prints "followed" for
 *                              each, and exits non-zero if one is not
 *                              followed as natively (for a routed DIR the
 *                              client goes on in its own name space)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[4096];

static const char *p(const char *name)
{
	static char buf[4][8192];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void show(const char *label, long r)
{
	if (r < 0)
		printf("%-28s -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%-28s %ld\n", label, r);
}

static int open_close(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

/* Does this open reach the host's /etc/passwd? */
static int reaches_passwd(int fd)
{
	char a[64] = { 0 }, b[64] = { 0 };
	int h = open("/etc/passwd", O_RDONLY), same;

	if (fd < 0 || h < 0) {
		if (h >= 0)
			close(h);
		return 0;
	}
	same = read(fd, a, sizeof(a) - 1) > 0 && read(h, b, sizeof(b) - 1) > 0 && strcmp(a, b) == 0;
	close(h);
	return same;
}

static int escape_tests(void)
{
	char up[512] = "";
	int missed = 0, dfd, fd;

	for (int i = 0; i < 40; i++)
		strcat(up, "../");
	strcat(up, "etc/passwd");
	symlink("/etc/passwd", p("esc-abs"));
	symlink(up, p("esc-rel"));
	mkdir(p("escdir"), 0755);
	symlink("/", p("escdir/root"));

	struct { const char *what; int fd; } t[4];

	fd = open(p("esc-abs"), O_RDONLY);
	t[0].what = "absolute symlink";
	t[0].fd = fd;
	t[1].what = "relative symlink with ..";
	t[1].fd = open(p("esc-rel"), O_RDONLY);
	t[2].what = "symlink to / then etc/passwd";
	t[2].fd = open(p("escdir/root/etc/passwd"), O_RDONLY);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	t[3].what = "openat(dirfd, ../../..)";
	t[3].fd = openat(dfd, up, O_RDONLY);
	for (int i = 0; i < 4; i++) {
		int e = reaches_passwd(t[i].fd);

		printf("escape %-30s %s\n", t[i].what, e ? "followed" : "NOT FOLLOWED");
		missed |= !e;
		if (t[i].fd >= 0)
			close(t[i].fd);
	}
	close(dfd);
	unlink(p("esc-abs"));
	unlink(p("esc-rel"));
	unlink(p("escdir/root"));
	rmdir(p("escdir"));
	return missed;
}

int main(int argc, char **argv)
{
	struct stat st;
	char buf[16], longname[300];
	int fd;

	if (argc == 3 && strcmp(argv[1], "--escape") == 0) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		return escape_tests();
	}
	if (argc != 2) {
		fprintf(stderr, "usage: errnos [--escape] DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);

	show("open missing", open_close(p("missing"), O_RDONLY));
	show("open missing/x", open_close(p("missing/x"), O_RDONLY));
	show("stat missing", stat(p("missing"), &st));
	show("lstat missing", lstat(p("missing"), &st));
	show("access missing", access(p("missing"), F_OK));
	show("unlink missing", unlink(p("missing")));
	show("rmdir missing", rmdir(p("missing")));
	show("rename missing", rename(p("missing"), p("other")));
	show("readlink missing", readlink(p("missing"), buf, sizeof(buf)));
	show("chmod missing", chmod(p("missing"), 0600));
	show("truncate missing", truncate(p("missing"), 0));

	show("create f", open_close(p("f"), O_CREAT | O_WRONLY | O_TRUNC));
	show("open f/x", open_close(p("f/x"), O_RDONLY));
	show("open f/ (trailing slash)", open_close(p("f/"), O_RDONLY));
	show("stat f/.", stat(p("f/."), &st));
	show("mkdir f", mkdir(p("f"), 0755));
	show("open f O_EXCL", open_close(p("f"), O_CREAT | O_EXCL | O_WRONLY));
	show("rmdir f", rmdir(p("f")));
	show("chdir f", chdir(p("f")));
	show("readlink f", readlink(p("f"), buf, sizeof(buf)));
	show("access f X_OK", access(p("f"), X_OK));

	show("mkdir d", mkdir(p("d"), 0755));
	show("mkdir d again", mkdir(p("d"), 0755));
	show("open d O_WRONLY", open_close(p("d"), O_WRONLY));
	show("open d O_RDWR", open_close(p("d"), O_RDWR));
	show("unlink d", unlink(p("d")));
	show("create d/x", open_close(p("d/x"), O_CREAT | O_WRONLY));
	show("rmdir d (not empty)", rmdir(p("d")));
	show("rmdir d/.", rmdir(p("d/.")));
	show("rename d -> f", rename(p("d"), p("f")));
	show("rename f -> d", rename(p("f"), p("d")));
	show("rename d -> d/x/y", rename(p("d"), p("d/sub")));
	show("link d d2", link(p("d"), p("d2")));
	show("open d/x O_DIRECTORY", open_close(p("d/x"), O_RDONLY | O_DIRECTORY));

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	show("open long name", open_close(p(longname), O_CREAT | O_WRONLY));

	symlink("l2", p("l1"));
	symlink("l1", p("l2"));
	show("open symlink loop", open_close(p("l1"), O_RDONLY));
	show("stat symlink loop", stat(p("l1"), &st));
	show("lstat symlink loop", lstat(p("l1"), &st));
	show("open O_NOFOLLOW symlink", open_close(p("l1"), O_RDONLY | O_NOFOLLOW));
	show("symlink exists", symlink("x", p("l1")));

	fd = open(p("f"), O_RDONLY);
	show("ftruncate rdonly", ftruncate(fd, 0));
	show("write rdonly", write(fd, "x", 1));
	show("lseek negative", lseek(fd, -1, SEEK_SET));
	show("fchdir file", fchdir(fd));
	show("close", close(fd));
	show("read closed", read(fd, buf, 1));
	show("close closed", close(fd));
	show("close -1", close(-1));
	show("fstat -1", fstat(-1, &st));
	show("dup2 bad old", dup2(-1, 20));

	unlink(p("l1"));
	unlink(p("l2"));
	unlink(p("d/x"));
	rmdir(p("d"));
	unlink(p("f"));
	show("cleanup rmdir d", rmdir(p("d")));
	return 0;
}
