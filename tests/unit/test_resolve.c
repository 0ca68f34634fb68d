/*
 * test_resolve.c - vos-serviced's path confinement (resolve.c): no path,
 * ".." or symlink leads out of the export root (-VOS_ELINKOUT, with the
 * continuation vos_resolve_escape gives); parent/final-component
 * splitting; export-relative paths of fds; the same inside a view (the
 * export at a mount point of an otherwise empty tree: here a plain
 * directory tree, which is all resolve.c sees of the daemon's mounts).
 *
 * resolve.c is self-contained and compiled into this test directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../service-domains/vos-serviced/resolve.c"

static char base[PATH_MAX];     /* temp dir holding root/ and outside/ */
static char rootdir[PATH_MAX];
static struct vos_root R;
static struct vos_root V;       /* view: base/view, export at /mnt/data */

static void path_of(char *buf, const char *rel)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", base, rel);
	assert_true(n > 0 && n < PATH_MAX);
}

static void mk(const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *rel, const char *content)
{
	char p[PATH_MAX];
	path_of(p, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* Content of an opened file ("" if empty/unreadable). */
static const char *content(int fd)
{
	static char buf[64];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int setup(void **state)
{
	(void)state;
	char t[] = "/tmp/vos-resolve-XXXXXX";
	assert_non_null(mkdtemp(t));
	assert_non_null(realpath(t, base));
	mk("root");
	mk("outside");
	put("outside/secret", "outside");
	put("root/secret", "inside");
	mk("root/a");
	mk("root/a/b");
	put("root/a/file", "a-file");
	ln("/secret", "root/abs");                       /* absolute, inside meaning */
	char out[PATH_MAX];
	path_of(out, "outside/secret");
	ln(out, "root/absout");                          /* absolute path of the outside file */
	ln("../../../../../../../../secret", "root/up"); /* climbs far above the root */
	ln("../../outside/secret", "root/a/rel");        /* relative escape */
	ln("loop", "root/loop");
	ln("/proc/self/root/etc/passwd", "root/magic");
	ln("b", "root/a/tob");
	path_of(rootdir, "root");
	assert_int_equal(vos_root_open(&R, rootdir), 0);

	/* The view: view/mnt/data is the export, nothing else holds files. */
	mk("view");
	mk("view/mnt");
	mk("view/mnt/data");
	mk("view/mnt/data/dir");
	put("view/mnt/data/file", "in view");
	put("view/mnt/data/dir/x", "x");
	put("view/secret", "view root");              /* above the mount point */
	ln("/mnt/data/file", "view/mnt/data/abs");    /* what a client's ln -s makes */
	ln("/mnt/data/dir", "view/mnt/data/absdir");
	ln("/etc/passwd", "view/mnt/data/host");      /* outside the mount point */
	ln("../../../../../mnt/data/file", "view/mnt/data/dir/up");
	ln("/mnt/./data/", "view/mnt/data/dir/top");
	char v[PATH_MAX];
	path_of(v, "view");
	int vfd = open(v, O_PATH | O_DIRECTORY);
	assert_true(vfd >= 0);
	assert_int_equal(vos_root_open_view(&V, vfd, "/mnt/data"), 0);
	close(vfd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vos_root_close(&R);
	vos_root_close(&V);
	char cmd[PATH_MAX + 16];
	int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (n < 0 || (size_t)n >= sizeof cmd)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

static void test_root_path(void **state)
{
	(void)state;
	assert_string_equal(R.path, rootdir);
	assert_int_equal(R.len, strlen(rootdir));
}

static void expect_inside_secret(int dirfd, const char *path)
{
	int fd = vos_resolve_open(&R, dirfd, path, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(content(fd), "inside");
	close(fd);
}

static void test_plain_paths(void **state)
{
	(void)state;
	int fd = vos_resolve_open(&R, -1, "a/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(content(fd), "a-file");
	close(fd);
	fd = vos_resolve_open(&R, -1, "/a/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vos_resolve_open(&R, -1, "a/none", O_RDONLY, 0), -ENOENT);
	assert_int_equal(vos_resolve_open(&R, -1, "a/file/x", O_RDONLY, 0), -ENOTDIR);
	assert_int_equal(vos_resolve_open(&R, -1, "", O_RDONLY, 0), -ENOENT);
	assert_int_equal(vos_resolve_open(&R, -1, "loop", O_RDONLY, 0), -ELOOP);
	assert_int_equal(vos_resolve_open(&R, -1, "abs", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
}

/* The walk leaves the export: never followed here, and the continuation
 * (resolve.h) is what is left for the client. */
static void expect_leaves(const struct vos_root *r, int dirfd, const char *path, int follow,
			  const char *cont, int links)
{
	char out[PATH_MAX];
	int n = 0;

	assert_int_equal(vos_resolve_open(r, dirfd, path, O_RDONLY | (follow ? 0 : O_NOFOLLOW), 0),
			 -VOS_ELINKOUT);
	assert_int_equal(vos_resolve_escape(r, dirfd, path, follow, out, sizeof out, &n), 1);
	assert_string_equal(out, cont);
	assert_int_equal(n, links);
}

static void test_dotdot_above_root_leaves(void **state)
{
	(void)state;
	/* ".." above the root is the mount point's parent: the client's. */
	expect_leaves(&R, -1, "../secret", 1, "../secret", 0);
	expect_leaves(&R, -1, "/../../../secret", 1, "../../../secret", 0);
	expect_leaves(&R, -1, "a/../../secret", 1, "../secret", 0);
	expect_leaves(&R, -1, "../outside/secret", 1, "../outside/secret", 0);
	/* Inside, ".." is the kernel's. */
	expect_inside_secret(-1, "a/../secret");
}

static void test_symlinks_leaving(void **state)
{
	(void)state;
	char out[PATH_MAX], abs[PATH_MAX];
	int n = 0;

	/* Absolute targets (no view) and climbs above the root are the
	 * client's to follow, with what follows them. */
	expect_leaves(&R, -1, "abs", 1, "/secret", 1);
	expect_leaves(&R, -1, "up", 1, "../../../../../../../../secret", 1);
	path_of(abs, "outside/secret");
	expect_leaves(&R, -1, "absout", 1, abs, 1);
	expect_leaves(&R, -1, "a/rel", 1, "../outside/secret", 1);
	expect_leaves(&R, -1, "a/tob/../../abs/x/", 0, "/secret/x/", 2);
	/* Not followed at the end (lstat, unlink): no walk leaves. */
	int fd = vos_resolve_open(&R, -1, "abs", O_PATH | O_NOFOLLOW, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vos_resolve_escape(&R, -1, "abs", 0, out, sizeof out, &n), 0);
	assert_int_equal(vos_resolve_escape(&R, -1, "a/file", 1, out, sizeof out, &n), 0);
	assert_int_equal(vos_resolve_escape(&R, -1, "none/x", 1, out, sizeof out, &n), 0);
	/* 40 links in all, then ELOOP. */
	n = 39;
	assert_int_equal(vos_resolve_escape(&R, -1, "a/tob/../../abs", 1, out, sizeof out, &n),
			 -ELOOP);
	/* A magic link is an absolute target: the client's, never followed here. */
	assert_true(vos_resolve_open(&R, -1, "magic", O_RDONLY, 0) < 0);
	/* A relative symlink inside is followed normally. */
	fd = vos_resolve_open(&R, -1, "a/tob", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
}

static void test_create_through_symlink(void **state)
{
	(void)state;
	char name[64], link[PATH_MAX], host[PATH_MAX], inside[PATH_MAX];
	snprintf(name, sizeof name, "/vos-resolve-test-%d", (int)getpid());
	ln(name, "root/dangling");
	snprintf(host, sizeof host, "%s", name);
	int n = snprintf(inside, sizeof inside, "%s%s", rootdir, name);
	assert_true(n > 0 && (size_t)n < sizeof inside);
	int fd = vos_resolve_open(&R, -1, "dangling", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_int_equal(fd, -EEXIST);  /* O_EXCL on a symlink: the kernel refuses */
	/* The target is the client's to create: nothing is made here. */
	fd = vos_resolve_open(&R, -1, "dangling", O_WRONLY | O_CREAT, 0644);
	assert_int_equal(fd, -VOS_ELINKOUT);
	assert_int_equal(access(inside, F_OK), -1);
	assert_int_equal(access(host, F_OK), -1);
	path_of(link, "root/dangling");
	unlink(link);
}

static void test_relative_to_dirfd(void **state)
{
	(void)state;
	int d = vos_resolve_open(&R, -1, "a/b", O_PATH | O_DIRECTORY, 0);
	assert_true(d >= 0);
	/* Stays beneath: resolved from the dirfd. */
	int fd = vos_resolve_open(&R, d, "../file", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(content(fd), "a-file");
	close(fd);
	/* Leaves it: redone from the root, never outside. */
	expect_inside_secret(d, "../../secret");
	expect_inside_secret(d, "/secret");
	expect_leaves(&R, d, "../../../../../secret", 1, "../../../secret", 0);
	expect_leaves(&R, d, "../../abs", 1, "/secret", 1);
	expect_leaves(&R, d, "../../../outside/secret", 1, "../outside/secret", 0);
	/* A file as dirfd: ENOTDIR, as natively. */
	int f = vos_resolve_open(&R, -1, "a/file", O_PATH, 0);
	assert_true(f >= 0);
	assert_int_equal(vos_resolve_open(&R, f, "x", O_RDONLY, 0), -ENOTDIR);
	close(f);
	close(d);
}

static void same_file(int fd, const char *rel)
{
	struct stat a, b;
	char p[PATH_MAX];
	path_of(p, rel);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

static void test_parent(void **state)
{
	(void)state;
	const char *b;
	enum vos_last last;

	int fd = vos_resolve_parent(&R, -1, "a/b/c", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root/a/b");
	assert_string_equal(b, "c");
	assert_int_equal(last, VOS_LAST_NORM);
	close(fd);

	fd = vos_resolve_parent(&R, -1, "x", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root");
	assert_string_equal(b, "x");
	close(fd);

	fd = vos_resolve_parent(&R, -1, "a/b//", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root/a");
	assert_string_equal(b, "b//");
	assert_int_equal(last, VOS_LAST_NORM);
	close(fd);

	fd = vos_resolve_parent(&R, -1, "a/..", &b, &last);
	assert_true(fd >= 0);
	assert_int_equal(last, VOS_LAST_DOTDOT);
	close(fd);
	fd = vos_resolve_parent(&R, -1, "a/.", &b, &last);
	assert_true(fd >= 0);
	assert_int_equal(last, VOS_LAST_DOT);
	close(fd);
	fd = vos_resolve_parent(&R, -1, "//", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root");
	assert_int_equal(last, VOS_LAST_ROOT);
	close(fd);

	/* The parent walk never leaves either. */
	assert_int_equal(vos_resolve_parent(&R, -1, "../../secret", &b, &last), -VOS_ELINKOUT);
	assert_int_equal(vos_resolve_parent(&R, -1, "abs/x", &b, &last), -VOS_ELINKOUT);
	/* A symlinked parent is followed inside the root. */
	fd = vos_resolve_parent(&R, -1, "a/tob/x", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root/a/b");
	close(fd);

	assert_int_equal(vos_resolve_parent(&R, -1, "", &b, &last), -ENOENT);
	assert_int_equal(vos_resolve_parent(&R, -1, "none/x", &b, &last), -ENOENT);
	assert_int_equal(vos_resolve_parent(&R, -1, "a/file/x", &b, &last), -ENOTDIR);
}

static void test_trailing_slash(void **state)
{
	(void)state;
	assert_true(vos_path_trailing_slash("a/"));
	assert_false(vos_path_trailing_slash("a"));
	assert_false(vos_path_trailing_slash(""));
}

static void test_relpath(void **state)
{
	(void)state;
	char buf[PATH_MAX];
	assert_int_equal(vos_fd_relpath(&R, R.fd, buf, sizeof buf), 1);
	assert_string_equal(buf, "/");

	int d = vos_resolve_open(&R, -1, "a/b", O_PATH | O_DIRECTORY, 0);
	assert_true(d >= 0);
	assert_int_equal(vos_fd_relpath(&R, d, buf, sizeof buf), 4);
	assert_string_equal(buf, "/a/b");
	assert_int_equal(vos_fd_relpath(&R, d, buf, 4), -ENAMETOOLONG);
	close(d);

	/* A removed directory has no path. */
	char p[PATH_MAX];
	mk("root/gone");
	d = vos_resolve_open(&R, -1, "gone", O_PATH | O_DIRECTORY, 0);
	assert_true(d >= 0);
	path_of(p, "root/gone");
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(vos_fd_relpath(&R, d, buf, sizeof buf), -ENOENT);
	close(d);

	/* Something outside the root: no export-relative path. */
	path_of(p, "outside");
	d = open(p, O_PATH);
	assert_true(d >= 0);
	assert_int_equal(vos_fd_relpath(&R, d, buf, sizeof buf), -ENOENT);
	close(d);
}

static void test_root_open_errors(void **state)
{
	(void)state;
	struct vos_root r;
	char p[PATH_MAX];
	assert_int_equal(vos_root_open(&r, "/nonexistent-vos-root"), -ENOENT);
	path_of(p, "root/secret");
	assert_int_equal(vos_root_open(&r, p), -ENOTDIR);
}

static void expect_content(const struct vos_root *r, int dirfd, const char *path, const char *want)
{
	int fd = vos_resolve_open(r, dirfd, path, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(content(fd), want);
	close(fd);
}

static void test_view_paths(void **state)
{
	(void)state;
	char buf[PATH_MAX];

	/* Client paths are export-relative: "/file" is view/mnt/data/file. */
	expect_content(&V, -1, "/file", "in view");
	expect_content(&V, -1, "file", "in view");
	expect_content(&V, -1, "dir/x", "x");
	assert_int_equal(vos_resolve_open(&V, -1, "", O_RDONLY, 0), -ENOENT);
	assert_int_equal(vos_resolve_open(&V, -1, "mnt/data/file", O_RDONLY, 0), -ENOENT);
	/* The root is the mount point. */
	int fd = vos_resolve_open(&V, -1, "/", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	same_file(fd, "view/mnt/data");
	assert_int_equal(vos_fd_relpath(&V, fd, buf, sizeof buf), 1);
	assert_string_equal(buf, "/");
	close(fd);
	same_file(V.fd, "view/mnt/data");
	same_file(V.walk_fd, "view");
	assert_int_equal(V.mnt_len, strlen("/mnt/data"));
}

static void test_view_symlinks(void **state)
{
	(void)state;
	/* Absolute targets mean what the client means. */
	expect_content(&V, -1, "abs", "in view");
	expect_content(&V, -1, "absdir/x", "x");
	expect_content(&V, -1, "dir/top/file", "in view");
	/* Anything else absolute is the client's: never the host's file here. */
	expect_leaves(&V, -1, "host", 1, "/etc/passwd", 1);
	/* ".." above the mount point is the client's too, even if it
	 * comes back (the client routes it back). */
	expect_leaves(&V, -1, "dir/up", 1, "../../../../mnt/data/file", 1);
	expect_leaves(&V, -1, "../../../../secret", 1, "../../../../secret", 0);
	/* Relative to a dirfd: beneath it, then leaving it (redone from the root). */
	int d = vos_resolve_open(&V, -1, "dir", O_PATH | O_DIRECTORY, 0);
	assert_true(d >= 0);
	expect_content(&V, d, "x", "x");
	expect_content(&V, d, "../abs", "in view");
	expect_content(&V, d, "/dir/x", "x");
	expect_leaves(&V, d, "../host", 1, "/etc/passwd", 1);
	expect_leaves(&V, d, "up", 1, "../../../../mnt/data/file", 1);
	close(d);
	/* Targets that climb out of the mount point, or merely start like it, leave. */
	ln("/mnt/data/../database/f", "view/mnt/data/dotdot");
	ln("/mnt/datax", "view/mnt/data/longer");
	expect_leaves(&V, -1, "dotdot", 1, "../database/f", 1);
	expect_leaves(&V, -1, "longer", 1, "/mnt/datax", 1);
	/* Creating through an absolute symlink creates inside the export. */
	ln("/mnt/data/made", "view/mnt/data/tomake");
	int fd = vos_resolve_open(&V, -1, "tomake", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	char p[PATH_MAX];
	path_of(p, "view/mnt/data/made");
	assert_int_equal(access(p, F_OK), 0);
}

static void test_view_relpath_and_parent(void **state)
{
	(void)state;
	char buf[PATH_MAX];
	const char *b;
	enum vos_last last;

	/* Export-relative paths: the view and the mount point are stripped. */
	int fd = vos_resolve_open(&V, -1, "absdir/x", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(vos_fd_relpath(&V, fd, buf, sizeof buf), 6);
	assert_string_equal(buf, "/dir/x");
	close(fd);
	/* Above the mount point there is no export path. */
	char p[PATH_MAX];
	path_of(p, "view/mnt");
	fd = open(p, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(vos_fd_relpath(&V, fd, buf, sizeof buf), -ENOENT);
	close(fd);
	/* "/mnt/database" merely starts like the mount point. */
	mk("view/mnt/database");
	path_of(p, "view/mnt/database");
	fd = open(p, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(vos_fd_relpath(&V, fd, buf, sizeof buf), -ENOENT);
	close(fd);

	fd = vos_resolve_parent(&V, -1, "/", &b, &last);
	assert_true(fd >= 0);
	assert_int_equal(last, VOS_LAST_ROOT);
	same_file(fd, "view/mnt/data");
	close(fd);
	fd = vos_resolve_parent(&V, -1, "x", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "view/mnt/data");
	close(fd);
	fd = vos_resolve_parent(&V, -1, "absdir/new", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "view/mnt/data/dir");
	assert_string_equal(b, "new");
	close(fd);
}

static void test_view_open_errors(void **state)
{
	(void)state;
	struct vos_root r;
	char v[PATH_MAX];
	path_of(v, "view");
	int vfd = open(v, O_PATH | O_DIRECTORY);
	assert_true(vfd >= 0);
	assert_int_equal(vos_root_open_view(&r, vfd, "/mnt/none"), -ENOENT);
	assert_int_equal(vos_root_open_view(&r, vfd, "mnt/data"), -EINVAL);
	assert_int_equal(vos_root_open_view(&r, vfd, "/mnt/data/file"), -ENOTDIR);
	/* The mount point is ours: a symlink there is refused, not followed. */
	assert_int_equal(vos_root_open_view(&r, vfd, "/mnt/data/absdir"), -ELOOP);
	/* "/" as mount point: the view itself is the export. */
	assert_int_equal(vos_root_open_view(&r, vfd, "/"), 0);
	expect_content(&r, -1, "/secret", "view root");
	assert_int_equal(r.mnt_len, 0);
	vos_root_close(&r);
	close(vfd);
}

static void expect_mount_point(const char *in, int err, const char *want)
{
	char out[PATH_MAX];
	assert_int_equal(vos_mount_point_parse(in, out, sizeof out), err);
	if (!err)
		assert_string_equal(out, want);
}

static void test_mount_point_parse(void **state)
{
	(void)state;
	expect_mount_point("/storage", 0, "/storage");
	expect_mount_point("/storage/", 0, "/storage");
	expect_mount_point("//a//b/./c/.", 0, "/a/b/c");
	expect_mount_point("/", 0, "/");
	expect_mount_point("///./", 0, "/");
	expect_mount_point("/a/.b/..c", 0, "/a/.b/..c");
	expect_mount_point("storage", -EINVAL, NULL);
	expect_mount_point("", -EINVAL, NULL);
	expect_mount_point("/a/../b", -EINVAL, NULL);
	expect_mount_point("/..", -EINVAL, NULL);
	char out[4];
	assert_int_equal(vos_mount_point_parse("/abcd", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(vos_mount_point_parse("/abc", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(vos_mount_point_parse("/ab", out, sizeof out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_path),
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_dotdot_above_root_leaves),
		cmocka_unit_test(test_symlinks_leaving),
		cmocka_unit_test(test_create_through_symlink),
		cmocka_unit_test(test_relative_to_dirfd),
		cmocka_unit_test(test_parent),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_relpath),
		cmocka_unit_test(test_root_open_errors),
		cmocka_unit_test(test_view_paths),
		cmocka_unit_test(test_view_symlinks),
		cmocka_unit_test(test_view_relpath_and_parent),
		cmocka_unit_test(test_view_open_errors),
		cmocka_unit_test(test_mount_point_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
