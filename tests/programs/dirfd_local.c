/*
 * dirfd_local.c - *at() calls with a relative path under a LOCAL directory
 * fd that leads into DIR: openat(fd of "/", "storage/work/x"), as rsync
 * does.  Under libvirtuos DIR is /storage/work, so the call must be routed
 * like the absolute path; natively DIR is a temporary directory and the
 * same calls work there.  Each result is checked through the absolute
 * path as well (the file must be where DIR is), and a few relative paths
 * that only look routed must stay local: a local directory that has a
 * subdirectory called "storage", a deleted directory, a regular file as
 * dirfd.
 *
 * usage: dirfd_local DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

static const char *rel;         /* dir without its leading '/' */

/* "REL/name": relative to "/" (report.h's a() gives "DIR/name"). */
static const char *r(const char *name)
{
	static char buf[4][8192];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", rel, name);
	return buf[i];
}

/* The content of an absolute path (at most 63 bytes), or "" + errno. */
static const char *content(const char *path)
{
	static char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Relative to the local fd of "/": into DIR. */
static void into_dir(int root)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1200000000, 0 } };
	struct statx stx;
	struct stat st;
	char buf[64];
	ssize_t n;
	int fd, sub;

	show("mkdirat sub", mkdirat(root, r("sub"), 0755));
	expect("  sub is a directory in DIR", stat(a("sub"), &st) == 0 && S_ISDIR(st.st_mode));
	fd = openat(root, r("sub/f"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	show("openat sub/f O_CREAT", fd < 0 ? -1 : 0);
	if (fd >= 0) {
		show("  write", write(fd, "hello\n", 6));
		close(fd);
	}
	expect("  DIR/sub/f holds hello", strcmp(content(a("sub/f")), "hello\n") == 0);
	show("fstatat sub/f", fstatat(root, r("sub/f"), &st, 0));
	printf("  size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
	show("fstatat sub/ (trailing /)", fstatat(root, r("sub/"), &st, 0));
	show("fstatat sub/f/ (trailing /)", fstatat(root, r("sub/f/"), &st, 0));
	show("fstatat sub/nothing", fstatat(root, r("sub/nothing"), &st, 0));
	show("symlinkat sub/l -> f", symlinkat("f", root, r("sub/l")));
	n = readlinkat(root, r("sub/l"), buf, sizeof(buf) - 1);
	show("readlinkat sub/l", n);
	if (n >= 0) {
		buf[n] = '\0';
		printf("  target %s\n", buf);
	}
	expect("  DIR/sub/l is a symlink", lstat(a("sub/l"), &st) == 0 && S_ISLNK(st.st_mode));
	show("renameat sub/f sub/g", renameat(root, r("sub/f"), root, r("sub/g")));
	expect("  DIR/sub/g holds hello", strcmp(content(a("sub/g")), "hello\n") == 0);
	expect("  DIR/sub/f is gone", !exists(a("sub/f")));
	show("renameat sub/g -> abs sub/h", renameat(root, r("sub/g"), AT_FDCWD, a("sub/h")));
	expect("  DIR/sub/h holds hello", strcmp(content(a("sub/h")), "hello\n") == 0);
	show("faccessat sub/h R_OK", faccessat(root, r("sub/h"), R_OK, 0));
	show("faccessat sub/nothing", faccessat(root, r("sub/nothing"), F_OK, 0));
	show("statx sub/h", statx(root, r("sub/h"), 0, STATX_SIZE, &stx));
	printf("  size %llu\n", (unsigned long long)stx.stx_size);
	show("fchmodat sub/h 0600", fchmodat(root, r("sub/h"), 0600, 0));
	expect("  DIR/sub/h has mode 0600", stat(a("sub/h"), &st) == 0 && (st.st_mode & 07777) == 0600);
	show("fchownat sub/h -1 -1", fchownat(root, r("sub/h"), (uid_t)-1, (gid_t)-1, 0));
	show("utimensat sub/h", utimensat(root, r("sub/h"), ts, 0));
	expect("  DIR/sub/h has the mtime", stat(a("sub/h"), &st) == 0 && st.st_mtim.tv_sec == 1200000000);
	show("linkat sub/h sub/h2", linkat(root, r("sub/h"), root, r("sub/h2"), 0));
	expect("  DIR/sub/h has 2 links", stat(a("sub/h"), &st) == 0 && st.st_nlink == 2);
	show("mkdirat sub exists", mkdirat(root, r("sub"), 0755));

	/* The directory itself through the local fd, then a path under it. */
	sub = openat(root, r("sub"), O_RDONLY | O_DIRECTORY);
	show("openat sub O_DIRECTORY", sub < 0 ? -1 : 0);
	if (sub >= 0) {
		fd = openat(sub, "h2", O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		show("  openat+read h2 under it", n);
		if (fd >= 0)
			close(fd);
		close(sub);
	}

	show("unlinkat sub/h2", unlinkat(root, r("sub/h2"), 0));
	show("unlinkat sub/l", unlinkat(root, r("sub/l"), 0));
	show("unlinkat sub (not empty)", unlinkat(root, r("sub"), AT_REMOVEDIR));
	show("unlinkat sub/h", unlinkat(root, r("sub/h"), 0));
	show("unlinkat sub AT_REMOVEDIR", unlinkat(root, r("sub"), AT_REMOVEDIR));
	expect("  DIR/sub is gone", !exists(a("sub")));
}

/* ".." climbs out of a local directory into DIR: fd of /tmp, "../REL/x". */
static void climbing(void)
{
	char path[8192];
	struct stat st;
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY), fd;

	if (tmp < 0) {
		show("open /tmp", -1);
		bad = 1;
		return;
	}
	snprintf(path, sizeof(path), "../%s/up", rel);
	fd = openat(tmp, path, O_CREAT | O_WRONLY | O_EXCL, 0644);
	show("openat /tmp ../DIR/up", fd < 0 ? -1 : 0);
	if (fd >= 0) {
		show("  write", write(fd, "up\n", 3));
		close(fd);
	}
	expect("  DIR/up holds up", strcmp(content(a("up")), "up\n") == 0);
	snprintf(path, sizeof(path), "./.././%s//up", rel);
	show("fstatat /tmp ./.././DIR//up", fstatat(tmp, path, &st, 0));
	printf("  size %lld\n", (long long)st.st_size);
	snprintf(path, sizeof(path), "../%s/up", rel);
	show("unlinkat /tmp ../DIR/up", unlinkat(tmp, path, 0));
	expect("  DIR/up is gone", !exists(a("up")));
	/* Through DIR and out again by "..": the local /tmp (forwarded, the
	 * path leaves the export, so it is local, rewritten as "/tmp"). */
	snprintf(path, sizeof(path), "../%s/../../../../../../../../../../../../../../../../tmp", rel);
	show("fstatat /tmp ../DIR/../../tmp", fstatat(tmp, path, &st, 0));
	expect("  it is a directory", S_ISDIR(st.st_mode));
	close(tmp);
}

/* Relative paths that name "storage" but stay local. */
static void stays_local(void)
{
	char top[64] = "/tmp/vos-dirfd.XXXXXX", path[128];
	struct stat st;
	int d, fd;

	if (!mkdtemp(top)) {
		show("mkdtemp", -1);
		bad = 1;
		return;
	}
	d = open(top, O_RDONLY | O_DIRECTORY);
	show("mkdirat local storage", mkdirat(d, "storage", 0755));
	fd = openat(d, "storage/f", O_CREAT | O_WRONLY, 0644);
	show("openat local storage/f", fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/storage/f", top);
	expect("  it is in the local directory", exists(path));
	show("fstatat local ./storage/../storage/f", fstatat(d, "./storage/../storage/f", &st, 0));
	show("unlinkat local storage/f", unlinkat(d, "storage/f", 0));
	show("unlinkat local storage", unlinkat(d, "storage", AT_REMOVEDIR));

	/* A regular file as dirfd: the kernel says ENOTDIR. */
	fd = openat(d, "file", O_CREAT | O_WRONLY, 0644);
	show("openat file-dirfd ../storage/x", openat(fd, "../storage/x", O_RDONLY));
	show("fstatat file-dirfd storage", fstatat(fd, "storage", &st, 0));
	close(fd);
	unlinkat(d, "file", 0);
	close(d);

	/* A deleted directory: nothing can be created in it. */
	d = open(top, O_RDONLY | O_DIRECTORY);
	show("rmdir the directory", rmdir(top));
	show("openat deleted storage/x", openat(d, "storage/x", O_CREAT | O_WRONLY, 0644));
	show("mkdirat deleted storage", mkdirat(d, "storage", 0755));
	close(d);

	/* A bad fd. */
	show("openat fd 999 storage/x", openat(999, "storage/x", O_RDONLY));
}

int main(int argc, char **argv)
{
	int root;

	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: dirfd_local /ABSOLUTE/DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	rel = dir + 1;
	root = open("/", O_RDONLY | O_DIRECTORY);
	if (root < 0) {
		perror("open /");
		return 1;
	}
	into_dir(root);
	close(root);
	climbing();
	stays_local();
	return bad;
}
