/*
 * test_serviced_paths.c - path resolution in vos-serviced: errno values
 * compared with the same calls made natively on an identical tree, the
 * root itself, and confinement (".." and symlinks, absolute or relative,
 * never reach outside the export root: a walk that would leave it fails
 * with -VOS_ELINKOUT, for the client to go on; creating, changing
 * metadata, linking and renaming through them never act outside).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serviced_harness.h"

/*
 * Errno parity: the same call on the same tree, natively (relative to a
 * native directory) and through the service (relative to the root).
 */
enum kind { K_STAT, K_LSTAT, K_UNLINK, K_RMDIR, K_MKDIR, K_READLINK, K_OPEN, K_RENAME,
	    K_LINK, K_SYMLINK, K_ACCESS, K_CHMOD_NOFOLLOW, K_STATX_NOFOLLOW,
	    K_MKFIFO };

struct pcase {
	enum kind k;
	const char *p1, *p2;
	int flags;
};

static const struct pcase pcases[] = {
	{ K_STAT, "file", NULL, 0 }, { K_STAT, "dir", NULL, 0 }, { K_STAT, "link", NULL, 0 }, { K_STAT, "dangling", NULL, 0 },
	{ K_STAT, "nowhere", NULL, 0 }, { K_STAT, "file/", NULL, 0 }, { K_STAT, "dir/", NULL, 0 }, { K_STAT, "file/x", NULL, 0 },
	{ K_STAT, "link/", NULL, 0 }, { K_STAT, "dlink/", NULL, 0 }, { K_STAT, "dir/../file", NULL, 0 }, { K_STAT, ".", NULL, 0 },
	{ K_LSTAT, "link", NULL, 0 }, { K_LSTAT, "dangling", NULL, 0 }, { K_LSTAT, "dlink/", NULL, 0 }, { K_LSTAT, "file/", NULL, 0 },
	{ K_LSTAT, "dir/..", NULL, 0 }, { K_LSTAT, ".", NULL, 0 }, { K_LSTAT, "dlink", NULL, 0 }, { K_LSTAT, "nowhere/x", NULL, 0 },
	{ K_STATX_NOFOLLOW, "dlink", NULL, 0 }, { K_STATX_NOFOLLOW, "dlink/", NULL, 0 },
	{ K_UNLINK, "dir", NULL, 0 }, { K_UNLINK, "nowhere", NULL, 0 }, { K_UNLINK, "file/", NULL, 0 }, { K_UNLINK, "dir/.", NULL, 0 },
	{ K_UNLINK, "dir/..", NULL, 0 }, { K_UNLINK, "dlink/", NULL, 0 }, { K_UNLINK, "file/x", NULL, 0 },
	{ K_RMDIR, "file", NULL, 0 }, { K_RMDIR, "dir", NULL, 0 }, { K_RMDIR, "dir/.", NULL, 0 }, { K_RMDIR, "dir/..", NULL, 0 },
	{ K_RMDIR, "dlink", NULL, 0 }, { K_RMDIR, "dlink/", NULL, 0 }, { K_RMDIR, "nowhere", NULL, 0 }, { K_RMDIR, ".", NULL, 0 },
	{ K_MKDIR, "dir", NULL, 0 }, { K_MKDIR, "dir/.", NULL, 0 }, { K_MKDIR, "file/x", NULL, 0 }, { K_MKDIR, "nowhere/x", NULL, 0 },
	{ K_MKDIR, "dangling", NULL, 0 }, { K_MKDIR, "dir/..", NULL, 0 }, { K_MKDIR, "link/", NULL, 0 },
	{ K_MKFIFO, "dir", NULL, 0 }, { K_MKFIFO, "dir/.", NULL, 0 }, { K_MKFIFO, "file/x", NULL, 0 },
	{ K_MKFIFO, "nowhere/x", NULL, 0 }, { K_MKFIFO, "dangling", NULL, 0 }, { K_MKFIFO, "dir/..", NULL, 0 },
	{ K_MKFIFO, "link/", NULL, 0 }, { K_MKFIFO, "file/", NULL, 0 }, { K_MKFIFO, "new/", NULL, 0 },
	{ K_MKFIFO, "dlink/", NULL, 0 }, { K_MKFIFO, ".", NULL, 0 },
	{ K_READLINK, "file", NULL, 0 }, { K_READLINK, "link", NULL, 0 }, { K_READLINK, "dlink/", NULL, 0 },
	{ K_READLINK, "nowhere", NULL, 0 }, { K_READLINK, "dir/.", NULL, 0 },
	{ K_OPEN, "dir", NULL, O_WRONLY }, { K_OPEN, "nowhere", NULL, O_RDONLY },
	{ K_OPEN, "file", NULL, O_RDONLY | O_DIRECTORY }, { K_OPEN, "link", NULL, O_RDONLY | O_NOFOLLOW },
	{ K_OPEN, "file", NULL, O_WRONLY | O_CREAT | O_EXCL }, { K_OPEN, "file/", NULL, O_RDONLY },
	{ K_OPEN, "dir/", NULL, O_WRONLY | O_CREAT }, { K_OPEN, "dangling", NULL, O_RDONLY },
	{ K_OPEN, "dlink", NULL, O_RDONLY | O_NOFOLLOW | O_DIRECTORY },
	{ K_RENAME, "nowhere", "x", 0 }, { K_RENAME, "dir", "file", 0 }, { K_RENAME, "file", "dir", 0 },
	{ K_RENAME, "dir", "dir/sub", 0 }, { K_RENAME, "dir/.", "x", 0 }, { K_RENAME, "file", "dir/..", 0 },
	{ K_RENAME, "file", "nowhere/x", 0 },
	{ K_RENAME, "file", "dir", RENAME_NOREPLACE },
	{ K_LINK, "dir", "x", 0 }, { K_LINK, "file", "dir/file", 0 }, { K_LINK, "nowhere", "x", 0 },
	{ K_LINK, "file", "dir/.", 0 }, { K_LINK, "dir/..", "x", 0 }, { K_LINK, "file/", "x", 0 },
	{ K_SYMLINK, "x", "file", 0 }, { K_SYMLINK, "x", "dir/.", 0 }, { K_SYMLINK, "x", "nowhere/x", 0 },
	{ K_ACCESS, "file", NULL, R_OK }, { K_ACCESS, "nowhere", NULL, F_OK },
	{ K_ACCESS, "file/", NULL, F_OK }, { K_ACCESS, "dangling", NULL, F_OK },
	{ K_CHMOD_NOFOLLOW, "link", NULL, 0 }, { K_CHMOD_NOFOLLOW, "nowhere", NULL, 0 },
};

static int64_t nat(int r)
{
	return r < 0 ? -errno : r;
}

static int64_t run_native(int d, const struct pcase *pc, struct stat *st)
{
	char buf[256];
	struct statx sx;
	switch (pc->k) {
	case K_STAT: return nat(fstatat(d, pc->p1, st, 0));
	case K_LSTAT: return nat(fstatat(d, pc->p1, st, AT_SYMLINK_NOFOLLOW));
	case K_STATX_NOFOLLOW: {
		memset(&sx, 0, sizeof sx);
		int r = nat(statx(d, pc->p1, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
		st->st_mode = sx.stx_mode;
		return r;
	}
	case K_UNLINK: return nat(unlinkat(d, pc->p1, 0));
	case K_RMDIR: return nat(unlinkat(d, pc->p1, AT_REMOVEDIR));
	case K_MKDIR: return nat(mkdirat(d, pc->p1, 0755));
	case K_MKFIFO: return nat(mknodat(d, pc->p1, S_IFIFO | 0644, 0));
	case K_READLINK: return nat((int)readlinkat(d, pc->p1, buf, sizeof buf));
	case K_OPEN: {
		int fd = openat(d, pc->p1, pc->flags, 0644);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		return -errno;
	}
	case K_RENAME: return nat(renameat2(d, pc->p1, d, pc->p2, (unsigned)pc->flags));
	case K_LINK: return nat(linkat(d, pc->p1, d, pc->p2, 0));
	case K_SYMLINK: return nat(symlinkat(pc->p1, d, pc->p2));
	case K_ACCESS: return nat(faccessat(d, pc->p1, pc->flags, 0));
	case K_CHMOD_NOFOLLOW: return nat(fchmodat(d, pc->p1, 0644, AT_SYMLINK_NOFOLLOW));
	}
	return -ENOSYS;
}

static int64_t run_remote(struct vos_client *c, const struct pcase *pc, struct stat *st)
{
	const int R = VOS_FD_ROOT;
	struct statx sx;
	char buf[256];
	int64_t r;
	switch (pc->k) {
	case K_STAT: return r_stat(c, R, pc->p1, 0, st);
	case K_LSTAT: return r_stat(c, R, pc->p1, AT_SYMLINK_NOFOLLOW, st);
	case K_STATX_NOFOLLOW:
		memset(&sx, 0, sizeof sx);
		r = call(c, VOS_OP_STATX, R, 0, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0, pc->p1, 1,
			 NULL, 0, &sx, sizeof sx);
		st->st_mode = sx.stx_mode;
		return r;
	case K_UNLINK: return call(c, VOS_OP_UNLINKAT, R, 0, 0, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_RMDIR: return call(c, VOS_OP_UNLINKAT, R, 0, AT_REMOVEDIR, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_MKDIR: return call(c, VOS_OP_MKDIRAT, R, 0, 0755, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_MKFIFO:
		return call(c, VOS_OP_MKNODAT, R, 0, S_IFIFO | 0644, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_READLINK: return call(c, VOS_OP_READLINKAT, R, 0, sizeof buf, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_OPEN:
		r = r_open(c, R, pc->p1, pc->flags, 0644, 500);
		if (r >= 0) {
			r_close(c, 500);
			return 0;
		}
		return r;
	case K_RENAME: return call(c, VOS_OP_RENAMEAT2, R, 0, R, 0, pc->flags, pc->p1, 1, pc->p2, 3, NULL, 0);
	case K_LINK: return call(c, VOS_OP_LINKAT, R, 0, R, 0, 0, pc->p1, 1, pc->p2, 3, NULL, 0);
	case K_SYMLINK: return call(c, VOS_OP_SYMLINKAT, 0, R, 0, 0, 0, pc->p1, 0, pc->p2, 2, NULL, 0);
	case K_ACCESS: return call(c, VOS_OP_FACCESSAT, R, 0, pc->flags, 0, 0, pc->p1, 1, NULL, 0, NULL, 0);
	case K_CHMOD_NOFOLLOW:
		return call(c, VOS_OP_FCHMODAT, R, 0, 0644, AT_SYMLINK_NOFOLLOW, 0, pc->p1, 1, NULL, 0, NULL, 0);
	}
	return -ENOSYS;
}

static void test_errno_parity(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	int d = open(nativedir, O_PATH | O_DIRECTORY);
	int bad = 0;
	assert_true(d >= 0);

	for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
		const struct pcase *pc = &pcases[i];
		struct stat ns, rs;
		memset(&ns, 0, sizeof ns);
		memset(&rs, 0, sizeof rs);
		int64_t n = run_native(d, pc, &ns);
		int64_t r = run_remote(c, pc, &rs);
		if (n != r || (n == 0 && (ns.st_mode & S_IFMT) != (rs.st_mode & S_IFMT))) {
			print_error("case %zu (kind %d, '%s' '%s' 0x%x): native %lld, remote %lld\n",
				    i, pc->k, pc->p1, pc->p2 ? pc->p2 : "", pc->flags,
				    (long long)n, (long long)r);
			bad++;
		}
	}
	close(d);
	vos_client_close(c);
	assert_int_equal(bad, 0);
}

/* The root itself (native "/" cannot be used: fixed expectations). */
static void test_root_itself(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct stat st;

	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "/", 0), -EISDIR);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "/", AT_REMOVEDIR), -EBUSY);
	assert_int_equal(r_mkdir(c, VOS_FD_ROOT, "/"), -EEXIST);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "/", 1, "x", 3, NULL, 0),
			 -EBUSY);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "", 0, &st), -ENOENT);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "", AT_EMPTY_PATH, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	vos_client_close(c);
}

/* An open that must leave the export: the service never follows it
 * (-VOS_ELINKOUT: the client goes on in its own namespace). */
static void expect_leaves(struct vos_client *c, int dirfd, const char *path)
{
	assert_int_equal(r_open(c, dirfd, path, O_RDONLY, 0, 300), -VOS_ELINKOUT);
}

/* ".." never leaves the root, from the root or from a remote dirfd */
static void test_dotdot_stays_inside(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	expect_leaves(c, VOS_FD_ROOT, "../secret");
	expect_leaves(c, VOS_FD_ROOT, "/../../../../secret");
	expect_leaves(c, VOS_FD_ROOT, "../outside/secret");
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 301), 301);
	expect_secret(c, 301, "../secret", "inside");
	expect_leaves(c, 301, "../../secret");
	expect_leaves(c, 301, "../../outside/secret");
	assert_int_equal(r_close(c, 301), 0);
	vos_client_close(c);
}

/* Symlinks made through the service: name -> <outside>/secret (absolute)
 * and name2 -> ../outside/secret (relative). */
static void make_escaping_links(struct vos_client *c, const char *abs, const char *rel)
{
	char p[PATH_MAX];
	in_dir(p, outside, "secret");
	if (abs)
		assert_int_equal(r_symlink(c, p, abs), 0);
	if (rel)
		assert_int_equal(r_symlink(c, "../outside/secret", rel), 0);
}

/* symlinks made through the service, absolute and relative */
static void test_symlinks_stay_inside(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	make_escaping_links(c, "esc_abs", "esc_rel");
	assert_int_equal(r_symlink(c, "/secret", "in_abs"), 0);
	assert_int_equal(r_symlink(c, "/storage/secret", "in_store"), 0);
	assert_int_equal(r_symlink(c, "/", "dir/to_root"), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 301), 301);
	expect_leaves(c, VOS_FD_ROOT, "esc_abs");
	expect_leaves(c, VOS_FD_ROOT, "esc_rel");
	/* "/secret" is the client's /secret; "/storage/secret" is the
	 * export's in the view (without one the client routes it back). */
	expect_leaves(c, VOS_FD_ROOT, "in_abs");
	if (have_view)
		expect_secret(c, VOS_FD_ROOT, "in_store", "inside");
	else
		expect_leaves(c, VOS_FD_ROOT, "in_store");
	expect_leaves(c, 301, "to_root/../secret");
	expect_leaves(c, 301, "to_root/../outside/secret");
	/* Through "/", above the mount point: the client routes it back. */
	expect_leaves(c, 301, "to_root/storage/secret");
	assert_int_equal(r_close(c, 301), 0);
	vos_client_close(c);
}

/* creating through an escaping symlink creates inside (or fails) */
static void test_create_through_escaping_link(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char p[PATH_MAX];

	assert_int_equal(r_symlink(c, "../outside/created", "esc_new"), 0);
	int64_t r = r_open(c, VOS_FD_ROOT, "esc_new", O_CREAT | O_WRONLY, 0644, 302);
	if (r >= 0)
		r_close(c, 302);
	in_dir(p, outside, "created");
	assert_int_equal(access(p, F_OK), -1);

	/* mknod: through a directory link out, and by ".." above the root */
	assert_int_equal(r_symlink(c, "../outside", "esc_dir"), 0);
	call(c, VOS_OP_MKNODAT, VOS_FD_ROOT, 0, S_IFIFO | 0644, 0, 0, "esc_dir/fifo", 1, NULL, 0,
	     NULL, 0);
	call(c, VOS_OP_MKNODAT, VOS_FD_ROOT, 0, S_IFIFO | 0644, 0, 0, "../outside/fifo", 1, NULL, 0,
	     NULL, 0);
	in_dir(p, outside, "fifo");
	assert_int_equal(access(p, F_OK), -1);
	vos_client_close(c);
}

/* metadata calls through a symlink stay inside too */
static void test_metadata_through_escaping_link(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char p[PATH_MAX];
	struct stat st;

	make_escaping_links(c, "meta_abs", "meta_rel");
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "meta_abs", 0, &st), -VOS_ELINKOUT);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "meta_rel", 1, NULL, 0,
			      NULL, 0), -VOS_ELINKOUT);
	in_dir(p, outside, "secret");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	vos_client_close(c);
}

/* a hard link to something outside cannot be named at all */
static void test_hard_link_to_outside(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	make_escaping_links(c, NULL, "hl_rel");
	assert_int_equal(call(c, VOS_OP_LINKAT, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, AT_SYMLINK_FOLLOW,
			      "hl_rel", 1, "hl", 3, NULL, 0), -VOS_ELINKOUT);
	vos_client_close(c);
}

/* rename cannot move anything out */
static void test_rename_stays_inside(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char p[PATH_MAX];
	struct stat st;

	assert_int_equal(r_symlink(c, "/secret", "mv_abs"), 0);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "mv_abs", 1,
			      "../../outside/moved", 3, NULL, 0), -VOS_ELINKOUT);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "mv_abs", 1,
			      "../../moved", 3, NULL, 0), -VOS_ELINKOUT);
	in_dir(p, base, "moved");
	assert_int_equal(access(p, F_OK), -1);
	in_dir(p, rootdir, "mv_abs");
	assert_int_equal(lstat(p, &st), 0);         /* it is still in the root */
	vos_client_close(c);
}

/* OPENAT with openat2's RESOLVE_* flags (arg[5]) from a client dirfd */
static int64_t r_open2(struct vos_client *c, int dirfd, const char *path, int flags,
		       uint64_t resolve, int newfd)
{
	struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { dirfd, 0, flags, 0, newfd,
							    (int64_t)resolve } };
	return call_with(c, &r, path, strlen(path) + 1, 0);
}

static void test_openat2_resolve(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();

	assert_int_equal(r_symlink(c, "../secret", "dir/up"), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 301), 301);
	/* beneath the dirfd: only what is under it */
	assert_int_equal(r_open2(c, 301, "../secret", O_RDONLY, RESOLVE_BENEATH, 302), -EXDEV);
	assert_int_equal(r_open2(c, 301, "up", O_RDONLY, RESOLVE_BENEATH, 302), -EXDEV);
	assert_int_equal(r_open2(c, 301, "/secret", O_RDONLY, RESOLVE_BENEATH, 302), -EXDEV);
	/* the dirfd as the root: ".." stays there */
	assert_int_equal(r_open2(c, 301, "../up", O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT, 302), 302);
	assert_int_equal(r_close(c, 302), 0);
	assert_int_equal(r_open2(c, 301, "up", O_RDONLY, RESOLVE_IN_ROOT, 302), -ENOENT);
	/* no symlinks, and the flags the walk from the root also honours */
	assert_int_equal(r_open2(c, 301, "up", O_RDONLY, RESOLVE_NO_SYMLINKS, 302), -ELOOP);
	assert_int_equal(r_open2(c, VOS_FD_ROOT, "dir/up", O_RDONLY, RESOLVE_NO_SYMLINKS, 302),
			 -ELOOP);
	assert_int_equal(r_open2(c, VOS_FD_ROOT, "dir/file", O_RDONLY, RESOLVE_NO_XDEV, 302), 302);
	assert_int_equal(r_close(c, 302), 0);
	/* unknown bits and BENEATH with IN_ROOT, as openat2 */
	assert_int_equal(r_open2(c, 301, "x", O_RDONLY, 0x1000, 302), -EINVAL);
	assert_int_equal(r_open2(c, 301, "x", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT, 302),
			 -EINVAL);
	assert_int_equal(r_close(c, 301), 0);
	vos_client_close(c);
}

/* LINKAT with no path and AT_SYMLINK_FOLLOW alone: the client's
 * /proc/self/fd/N of an O_TMPFILE file gives it a name */
static void test_link_tmpfile(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct stat st;

	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_TMPFILE | O_RDWR, 0600, 303), 303);
	assert_int_equal(r_write(c, 303, "tmp"), 3);
	assert_int_equal(call(c, VOS_OP_LINKAT, 303, VOS_NO_PATH, VOS_FD_ROOT, 0, AT_SYMLINK_FOLLOW,
			      NULL, 0, "dir/tmpname", 3, NULL, 0), 0);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "dir/tmpname", 0, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(r_close(c, 303), 0);
	/* O_EXCL: never linkable, as natively */
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_TMPFILE | O_EXCL | O_RDWR, 0600, 304), 304);
	assert_int_equal(call(c, VOS_OP_LINKAT, 304, VOS_NO_PATH, VOS_FD_ROOT, 0, AT_SYMLINK_FOLLOW,
			      NULL, 0, "dir/exclname", 3, NULL, 0), -ENOENT);
	assert_int_equal(r_close(c, 304), 0);
	assert_int_equal(r_unlink(c, VOS_FD_ROOT, "dir/tmpname", 0), 0);
	vos_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_parity),
		cmocka_unit_test(test_root_itself),
		cmocka_unit_test(test_dotdot_stays_inside),
		cmocka_unit_test(test_symlinks_stay_inside),
		cmocka_unit_test(test_create_through_escaping_link),
		cmocka_unit_test(test_metadata_through_escaping_link),
		cmocka_unit_test(test_hard_link_to_outside),
		cmocka_unit_test(test_rename_stays_inside),
		cmocka_unit_test(test_openat2_resolve),
		cmocka_unit_test(test_link_tmpfile),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
