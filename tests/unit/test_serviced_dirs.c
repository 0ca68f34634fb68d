/*
 * test_serviced_dirs.c - directories and names through vos-serviced:
 * mkdir, getdents64, paths relative to a remote directory fd, FDPATH,
 * rmdir/rename/unlink, symlink/readlink, hard links, chmod, utimensat,
 * truncate, access, statfs and umask.  Each test works on names of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serviced_harness.h"

static void test_mkdir(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, "d_mk"), 0);
	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, "d_mk"), -EEXIST);
	vos_client_close(c);
}

/* A directory d holding one file x, opened as remote fd 11. */
static void make_dir_with_x(struct vos_client *c, const char *d)
{
	char x[64];
	xsnprintf(x, sizeof x, "/%s/x", d);
	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, d), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, x, O_CREAT | O_WRONLY, 0644, 10), 10);
	assert_int_equal(r_close(c, 10), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, d, O_RDONLY | O_DIRECTORY, 0, 11), 11);
}

/* getdents64 lists ".", ".." and "x", then nothing more */
static void test_getdents(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char dents[4096];
	int found = 0;

	make_dir_with_x(c, "d_ls");
	int64_t n = r_getdents(c, 11, dents, sizeof dents);
	assert_true(n > 0);
	assert_int_equal(count_dents(dents, n, "x", &found), 3);
	assert_true(found);
	assert_int_equal(r_getdents(c, 11, NULL, sizeof dents), 0);
	assert_int_equal(r_close(c, 11), 0);
	vos_client_close(c);
}

/* a path relative to a remote dirfd; FDPATH of a file and of the root */
static void test_dirfd_and_fdpath(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char buf[256];

	make_dir_with_x(c, "d");
	assert_int_equal(r_open(c, 11, "x", O_RDONLY, 0, 12), 12);
	assert_int_equal(r_fdpath(c, 12, buf, 16), 4);
	assert_string_equal(buf, "/d/x");
	assert_int_equal(r_fdpath(c, VOS_FD_ROOT, buf, 2), 1);
	assert_string_equal(buf, "/");
	assert_int_equal(r_close(c, 12), 0);
	assert_int_equal(r_close(c, 11), 0);
	vos_client_close(c);
}

/* rmdir of a non-empty directory fails; rename out of it (relative to a
 * remote dirfd) empties it; unlink twice */
static void test_rmdir_rename_unlink(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	make_dir_with_x(c, "d_rm");
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "d_rm", AT_REMOVEDIR), -ENOTEMPTY);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, 11, 0, VOS_FD_ROOT, 0, 0, "x", 1, "y", 3,
			      NULL, 0), 0);
	assert_non_null(native_content("y"));
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "d_rm", AT_REMOVEDIR), 0);
	assert_int_equal(r_close(c, 11), 0);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "y", 0), 0);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "y", 0), -ENOENT);
	vos_client_close(c);
}

static void test_symlink_readlink(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char buf[256];

	assert_int_equal(r_symlink(c, "target", "sl"), 0);
	assert_int_equal(call(c, VOS_OP_READLINKAT, VOS_FD_ROOT, 0, 100, 0, 0, "sl", 1, NULL, 0,
			      buf, 6), 6);
	assert_memory_equal(buf, "target", 6);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "sl", 0), 0);
	vos_client_close(c);
}

/* name (natively made, "hsrc"-like content) and a hard link hard to it
 * made through the service; link -> name, a symlink. */
static void make_linked(struct vos_client *c, const char *name, const char *hard, const char *link)
{
	char p[PATH_MAX];
	in_dir(p, rootdir, name);
	put_file(p, "hsrc", 0644);
	if (link) {
		in_dir(p, rootdir, link);
		assert_int_equal(symlink(name, p), 0);
	}
	assert_int_equal(call(c, VOS_OP_LINKAT, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, name, 1, hard, 3,
			      NULL, 0), 0);
}

/* a hard link; chmod through it, and through a symlink (followed, or
 * refused with AT_SYMLINK_NOFOLLOW) */
static void test_link_chmod(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct stat st;

	make_linked(c, "hsrc", "hard", "hlink");
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hard", 0, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "hard", 1, NULL, 0,
			      NULL, 0), 0);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hsrc", 0, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0644, 0, 0, "hlink", 1, NULL, 0,
			      NULL, 0), 0);    /* follows the link to file */
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hsrc", 0, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0644, AT_SYMLINK_NOFOLLOW, 0, "hlink", 1,
			      NULL, 0, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "hard", 0), 0);
	vos_client_close(c);
}

static void test_utimensat(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 0 } };
	struct vos_req r = { .op = VOS_OP_UTIMENSAT, .arg = { VOS_FD_ROOT, 0, ARG_OFF, 0 } };
	struct stat st;

	make_linked(c, "usrc", "uhard", NULL);
	struct vos_slot *s;
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	strcpy(vos_slot_buf(s), "uhard");
	memcpy((char *)vos_slot_buf(s) + ARG_OFF, ts, sizeof ts);
	assert_int_equal(vos_slot_call(s, &r), 0);
	vos_slot_release(s);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "usrc", 0, &st), 0);
	assert_int_equal(st.st_mtime, 1234567890);
	vos_client_close(c);
}

static void test_truncate_path(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	make_linked(c, "tsrc", "thard", NULL);
	assert_int_equal(call(c, VOS_OP_TRUNCATE, VOS_FD_ROOT, 0, 2, 0, 0, "thard", 1, NULL, 0, NULL, 0), 0);
	assert_string_equal(native_content("tsrc"), "hs");
	vos_client_close(c);
}

static void test_faccessat(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	make_linked(c, "asrc", "ahard", NULL);
	assert_int_equal(call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, R_OK | W_OK, 0, 0, "ahard", 1,
			      NULL, 0, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, 0x40, 0, 0, "ahard", 1,
			      NULL, 0, NULL, 0), -EINVAL);
	vos_client_close(c);
}

static void test_statfs_umask(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char sf[256];

	assert_int_equal(call(c, VOS_OP_STATFS, VOS_FD_ROOT, 0, 0, 0, 0, "dir", 1, NULL, 0, sf, sizeof sf), 0);
	assert_int_equal(vos_call0(c, VOS_OP_UMASK, 027, 0, 0) & ~0777, 0);
	assert_int_equal(vos_call0(c, VOS_OP_UMASK, 022, 0, 0), 027);
	vos_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir),
		cmocka_unit_test(test_getdents),
		cmocka_unit_test(test_dirfd_and_fdpath),
		cmocka_unit_test(test_rmdir_rename_unlink),
		cmocka_unit_test(test_symlink_readlink),
		cmocka_unit_test(test_link_chmod),
		cmocka_unit_test(test_utimensat),
		cmocka_unit_test(test_truncate_path),
		cmocka_unit_test(test_faccessat),
		cmocka_unit_test(test_statfs_umask),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
