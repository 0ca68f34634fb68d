/*
 * test_serviced_view.c - the view (as root where mount namespaces work;
 * skipped otherwise): the daemon resolves in a namespace of its own where
 * the export root is mounted at the client's mount point (/storage), so
 * absolute symlinks mean what they mean to the client; --mount-point
 * moves it; a daemon that is not root resolves from the export root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serviced_harness.h"

/* Nonzero if pid (0: this process) has a mount at path (mountinfo field 5). */
static int has_mount(pid_t pid, const char *path)
{
	char p[64], line[4096], real[PATH_MAX];
	if (!realpath(path, real))
		return 0;
	if (pid)
		xsnprintf(p, sizeof p, "/proc/%d/mountinfo", (int)pid);
	else
		xsnprintf(p, sizeof p, "/proc/self/mountinfo");
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, real) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

/* Entries in a directory, "." and ".." excepted (-1: cannot open). */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* The view is mounted in the daemon's namespace only. */
static void test_view_mounted_for_daemon_only(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	char view[PATH_MAX];
	in_dir(view, rundir, "storage.view");
	assert_true(has_mount(daemon_pid, view));
	assert_false(has_mount(0, view));
	assert_int_equal(dir_entries(view), 0);
}

/* mkdir name; name/f with content written through the service; a symlink
 * link -> /storage/name made through the service. */
static void make_dir_and_storage_link(struct vos_client *c, const char *name, const char *link)
{
	char p[64], target[64];
	xsnprintf(p, sizeof p, "/%s/f", name);
	xsnprintf(target, sizeof target, "/storage/%s", name);
	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, name), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, p, O_CREAT | O_WRONLY, 0644, 320), 320);
	assert_int_equal(r_write(c, 320, "in va"), 5);
	assert_int_equal(r_close(c, 320), 0);
	assert_int_equal(r_symlink(c, target, link), 0);
}

/* ln -s /storage/va /storage/vb; cat /storage/vb/f */
static void test_absolute_symlink_through_mount_point(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	char buf[256], p[PATH_MAX];
	struct vos_client *c = connect_new();

	make_dir_and_storage_link(c, "va", "vb");
	assert_int_equal(r_open(c, VOS_FD_ROOT, "vb/f", O_RDONLY, 0, 321), 321);
	assert_int_equal(r_pread(c, 321, buf, 16, 0), 5);
	assert_string_equal(buf, "in va");
	/* the target is stored as the client wrote it */
	in_dir(p, rootdir, "vb");
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	assert_int_equal(n, 11);
	buf[n] = '\0';
	assert_string_equal(buf, "/storage/va");
	/* FDPATH stays export-relative */
	assert_int_equal(r_fdpath(c, 321, buf, 6), 5);
	assert_string_equal(buf, "/va/f");
	assert_int_equal(r_fdpath(c, VOS_FD_ROOT, buf, 2), 1);
	assert_string_equal(buf, "/");
	assert_int_equal(r_close(c, 321), 0);
	vos_client_close(c);
}

/* Relative to a remote dirfd, through an absolute symlink. */
static void test_dirfd_through_absolute_symlink(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	struct vos_client *c = connect_new();

	make_dir_and_storage_link(c, "wa", "wb");
	assert_int_equal(r_symlink(c, "/storage/file", "dir/vabs"), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 322), 322);
	expect_secret(c, 322, "vabs", "file");
	expect_secret(c, 322, "../wb/f", "in va");
	/* Above the export's root: the client's (who routes it back). */
	assert_int_equal(r_open(c, 322, "../../storage/file", O_RDONLY, 0, 300), -VOS_ELINKOUT);
	assert_int_equal(r_close(c, 322), 0);
	vos_client_close(c);
}

/* Absolute symlinks elsewhere are the client's to follow, never the daemon's
 * files. */
static void test_absolute_symlink_elsewhere(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	struct vos_client *c = connect_new();
	struct stat st;

	assert_int_equal(r_symlink(c, "/etc/passwd", "vpw"), 0);
	assert_int_equal(r_symlink(c, "/storage/../etc/passwd", "vpw2"), 0);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "vpw", 0, &st), -VOS_ELINKOUT);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "vpw2", 0, &st), -VOS_ELINKOUT);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "vpw", AT_SYMLINK_NOFOLLOW, &st), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "vpw", O_RDONLY, 0, 323), -VOS_ELINKOUT);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "/../etc/passwd", O_RDONLY, 0, 323), -VOS_ELINKOUT);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "/../storage/file", O_RDONLY, 0, 323), -VOS_ELINKOUT);
	vos_client_close(c);
}

/* Above the root: the client's, nothing is made or read there. */
static void test_above_root_is_the_clients(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	struct vos_client *c = connect_new();

	assert_int_equal(r_open(c, VOS_FD_ROOT, "..", O_RDONLY | O_DIRECTORY, 0, 324), -VOS_ELINKOUT);
	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, "../x"), -VOS_ELINKOUT);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "../x", O_CREAT | O_WRONLY, 0644, 325), -VOS_ELINKOUT);
	vos_client_close(c);
}

/* --mount-point must be absolute and normal. */
static void test_mount_point_option_checked(void **state)
{
	(void)state;
	assert_int_equal(daemon_status("--role storage --root / --rundir /tmp --mount-point storage 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--role storage --root / --rundir /tmp --mount-point /a/../b 2>/dev/null"), 2);
}

/* Another mount point, spelled loosely: symlinks through it work, through
 * /storage they do not.  At exit: the socket and the view directory go,
 * the placeholder stays (running clients hold it). */
static void test_mount_point_option(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	char rd[PATH_MAX], p[PATH_MAX];
	in_dir(rd, base, "run2");
	assert_int_equal(mkdir(rd, 0755), 0);
	pid_t d2 = extra_daemon = spawn_daemon(rd, "--mount-point", "/mnt//data/./");
	struct vos_client_config cfg = config_at(rd);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	assert_int_equal(r_symlink(c, "/mnt/data/file", "mp_in"), 0);
	assert_int_equal(r_symlink(c, "/storage/file", "mp_out"), 0);
	expect_secret(c, VOS_FD_ROOT, "mp_in", "file");
	expect_secret(c, VOS_FD_ROOT, "mp_out", NULL);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "../../mnt/data/file", O_RDONLY, 0, 300),
			 -VOS_ELINKOUT);
	vos_client_close(c);
	in_dir(p, rd, "storage.view");
	assert_true(has_mount(d2, p));

	stop_pid(d2);
	extra_daemon = -1;
	in_dir(p, rd, "storage.sock");
	assert_int_equal(access(p, F_OK), -1);
	in_dir(p, rd, "storage.view");
	assert_int_equal(access(p, F_OK), -1);
	in_dir(p, rd, "storage.remote-fd");
	assert_int_equal(access(p, F_OK), 0);
	in_dir(p, rootdir, "mp_in");
	unlink(p);
	in_dir(p, rootdir, "mp_out");
	unlink(p);
}

/* As nobody: a daemon of its own warns and leaves every absolute symlink to
 * the client. */
static int nobody_daemon(void)
{
	char rd[PATH_MAX], log[PATH_MAX], line[512];
	in_dir(rd, base, "run3");
	in_dir(log, base, "run3/log");
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	int saved = dup(2);
	dup2(fd, 2);
	close(fd);
	pid_t d = spawn_daemon(rd, NULL, NULL);
	dup2(saved, 2);
	close(saved);
	struct vos_client_config cfg = config_at(rd);
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	int ret = 0;
	if (!c)
		ret = 2;
	else if (r_symlink(c, "/secret", "public/nb_abs") != 0)
		ret = 3;
	else if (r_open(c, VOS_FD_ROOT, "public/nb_abs", O_RDONLY, 0, 3) != -VOS_ELINKOUT)
		ret = 4;        /* "/secret" is the client's to follow */
	else if (setcreds(c, NOBODY, NOBODY, NOBODY, NOBODY, 0, NULL) != 0)
		ret = 6;        /* our ids, which the shadow has */
	else if (setcreds(c, 0, 0, 0, 0, 0, NULL) != -EPERM)
		ret = 7;
	if (c)
		vos_client_close(c);
	stop_pid(d);
	FILE *f = fopen(log, "r");
	int warned = 0;
	while (f && fgets(line, sizeof line, f))
		warned |= strstr(line, "vos-serviced: warning: not root: no view, absolute "
				 "symlinks are all followed by the clients") != NULL;
	if (f)
		fclose(f);
	if (!ret && !warned)
		ret = 5;
	return ret;
}

static void test_not_root_fallback(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char rd[PATH_MAX];
	in_dir(rd, base, "run3");
	assert_int_equal(mkdir(rd, 0755), 0);
	assert_int_equal(chown(rd, NOBODY, NOBODY), 0);
	assert_int_equal(as_nobody(nobody_daemon), 0);
	in_dir(rd, rootdir, "public/nb_abs");
	unlink(rd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_mounted_for_daemon_only),
		cmocka_unit_test(test_absolute_symlink_through_mount_point),
		cmocka_unit_test(test_dirfd_through_absolute_symlink),
		cmocka_unit_test(test_absolute_symlink_elsewhere),
		cmocka_unit_test(test_above_root_is_the_clients),
		cmocka_unit_test(test_mount_point_option_checked),
		cmocka_unit_test(test_mount_point_option),
		cmocka_unit_test(test_not_root_fallback),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
