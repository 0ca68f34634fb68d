/*
 * test_resolve.c - vos-serviced's path confinement (resolve.c): no path,
 * ".." or symlink leads out of the export root; parent/final-component
 * splitting; export-relative paths of fds.
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
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vos_root_close(&R);
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

static void test_dotdot_stays_inside(void **state)
{
	(void)state;
	/* ".." at the root is the root: these reach root/secret, never outside/. */
	expect_inside_secret(-1, "../secret");
	expect_inside_secret(-1, "/../../../secret");
	expect_inside_secret(-1, "a/../../secret");
	assert_int_equal(vos_resolve_open(&R, -1, "../outside/secret", O_RDONLY, 0), -ENOENT);
}

static void test_symlinks_stay_inside(void **state)
{
	(void)state;
	expect_inside_secret(-1, "abs");
	expect_inside_secret(-1, "up");
	/* The outside file's absolute path means root/<that path>: absent. */
	assert_int_equal(vos_resolve_open(&R, -1, "absout", O_RDONLY, 0), -ENOENT);
	assert_int_equal(vos_resolve_open(&R, -1, "a/rel", O_RDONLY, 0), -ENOENT);
	/* No magic links: /proc/self/root would be the host's root. */
	assert_true(vos_resolve_open(&R, -1, "magic", O_RDONLY, 0) < 0);
	/* A relative symlink inside is followed normally. */
	int fd = vos_resolve_open(&R, -1, "a/tob", O_PATH | O_DIRECTORY, 0);
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
	if (fd == -EEXIST)      /* O_EXCL on a symlink: the kernel refuses */
		fd = vos_resolve_open(&R, -1, "dangling", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(access(inside, F_OK), 0);
	assert_int_equal(access(host, F_OK), -1);
	unlink(inside);
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
	/* Leaves it: redone from the root, still confined. */
	expect_inside_secret(d, "../../../../../secret");
	expect_inside_secret(d, "/secret");
	expect_inside_secret(d, "../../abs");
	assert_int_equal(vos_resolve_open(&R, d, "../../../outside/secret", O_RDONLY, 0), -ENOENT);
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

	/* The parent walk is confined too: "../../x" has the root as parent. */
	fd = vos_resolve_parent(&R, -1, "../../secret", &b, &last);
	assert_true(fd >= 0);
	same_file(fd, "root");
	close(fd);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_path),
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_dotdot_stays_inside),
		cmocka_unit_test(test_symlinks_stay_inside),
		cmocka_unit_test(test_create_through_symlink),
		cmocka_unit_test(test_relative_to_dirfd),
		cmocka_unit_test(test_parent),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_relpath),
		cmocka_unit_test(test_root_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
