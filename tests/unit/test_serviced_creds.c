/*
 * test_serviced_creds.c - credentials in vos-serviced (as root; skipped
 * otherwise): a shadow runs with its client's ids and umask, keeps them
 * across a fork, refuses a token to another user, and follows SETCREDS
 * only as far as /proc confirms the client's ids.
 *
 * The checks that need another identity run in a child process, which
 * returns the number of the first check that failed (0: all passed).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serviced_harness.h"

/* A new client of the test's daemon from a child process (NULL on failure). */
static struct vos_client *child_connect(int kind, const uint8_t *token)
{
	struct vos_client_config cfg = config();
	return vos_client_connect(&cfg, kind, token);
}

/* The test runs fn as root in a child process; fn's exit status must be 0.
 * Skipped unless we are root. */
static void root_child_test(int (*fn)(void))
{
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The same as nobody. */
static void nobody_child_test(int (*fn)(void))
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(as_nobody(fn), 0);
}

static int nobody_permissions(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	if (!c)
		return 1;
	if (r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 2;
	if (r_open(c, VOS_FD_ROOT, "file", O_WRONLY, 0, 3) != -EACCES)
		return 3;
	if (r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 3) != 3)
		return 4;
	if (r_unlink(c, VOS_FD_ROOT, "file", 0) != -EACCES)
		return 6;
	if (call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0777, 0, 0, "file", 1, NULL, 0, NULL, 0) != -EPERM)
		return 7;
	if (call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, W_OK, 0, 0, "file", 1, NULL, 0, NULL, 0) != -EACCES)
		return 8;
	vos_client_close(c);
	return 0;
}

/* A client running as nobody is refused what nobody may not do. */
static void test_nobody_permissions(void **state)
{
	(void)state;
	nobody_child_test(nobody_permissions);
}

static int nobody_creates(void)
{
	umask(077);
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	if (!c)
		return 1;
	if (r_open(c, VOS_FD_ROOT, "public/mine", O_CREAT | O_WRONLY, 0666, 4) != 4)
		return 5;
	/* /proc/self/fd paths work in a shadow that dropped privileges */
	if (call(c, VOS_OP_TRUNCATE, VOS_FD_ROOT, 0, 0, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0)
		return 12;
	if (call(c, VOS_OP_UTIMENSAT, VOS_FD_ROOT, 0, VOS_NO_PATH, 0, 0, "public/mine", 1, NULL, 0,
		 NULL, 0) != 0)
		return 13;
	char path[16];
	if (r_fdpath(c, 4, path, sizeof path) != 12 || strcmp(path, "/public/mine") != 0)
		return 14;
	if (call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0640, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0 ||
	    call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0)
		return 15;
	vos_client_close(c);
	return 0;
}

/* A file created for nobody is nobody's, with nobody's umask (077); calls
 * that go through /proc/self/fd work in its unprivileged shadow. */
static void test_nobody_creates(void **state)
{
	(void)state;
	nobody_child_test(nobody_creates);
	char p[PATH_MAX];
	struct stat st;
	in_dir(p, rootdir, "public/mine");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOBODY);
	assert_int_equal(st.st_mode & 0777, 0600);     /* the client's umask 077 */
	unlink(p);
}

static int nobody_forks(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	uint8_t token[VOS_TOKEN_LEN];
	if (!c)
		return 1;
	if (r_fork(c, token) != 0)
		return 9;
	struct vos_client *c2 = child_connect(VOS_HELLO_CLAIM, token);
	if (!c2)
		return 10;
	if (r_open(c2, VOS_FD_ROOT, "private", O_RDONLY, 0, 5) != -EACCES)
		return 11;
	vos_client_close(c2);
	vos_client_close(c);
	return 0;
}

/* a forked shadow keeps the credentials */
static void test_fork_keeps_credentials(void **state)
{
	(void)state;
	nobody_child_test(nobody_forks);
}

static int nobody_claims_root_token(void)
{
	/* token passed through a file by the parent */
	char p[PATH_MAX];
	uint8_t token[VOS_TOKEN_LEN];
	in_dir(p, base, "token");
	int fd = open(p, O_RDONLY);
	if (fd < 0 || read(fd, token, sizeof token) != (ssize_t)sizeof token)
		return 1;
	close(fd);
	struct vos_client *c = child_connect(VOS_HELLO_FORK_LIVE, token);
	if (c || errno != EPERM)
		return 2;
	return 0;
}

static void test_token_needs_same_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct vos_client *c = connect_new();
	char p[PATH_MAX];
	in_dir(p, base, "token");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, vos_client_token(c), VOS_TOKEN_LEN), VOS_TOKEN_LEN);
	close(fd);
	assert_int_equal(as_nobody(nobody_claims_root_token), 0);
	unlink(p);
	vos_client_close(c);
}

static int64_t r_access(struct vos_client *c, const char *path, int flags)
{
	return call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, R_OK, flags, 0, path, 1, NULL, 0, NULL, 0);
}

/* Whether "private" (root's, 0600) opens for c, as fd 3 (closed again). */
static int opens_private(struct vos_client *c)
{
	return r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) == 3 && r_close(c, 3) == 0;
}

static int refused_private(struct vos_client *c)
{
	return r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) == -EACCES;
}

static int setcreds_root(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	gid_t g[64];
	int n = getgroups(64, g);
	if (!c || n < 0)
		return 1;
	/* the truth, as root: accepted, nothing changes */
	if (setcreds(c, 0, 0, 0, 0, n, g) != 0 || !opens_private(c))
		return 2;
	/* a lie (we are root): refused, the shadow stays root */
	if (setcreds(c, NOBODY, NOBODY, NOBODY, NOBODY, 0, g) != -EPERM || !opens_private(c))
		return 3;
	vos_client_close(c);
	return 0;
}

/* SETCREDS as root: the truth is accepted, a lie refused. */
static void test_setcreds_root(void **state)
{
	(void)state;
	root_child_test(setcreds_root);
}

static int setcreds_malformed(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	gid_t g[64], minus = (gid_t)-1;
	if (!c || getgroups(64, g) < 0)
		return 1;
	/* a -1 id, a negative or huge count, a list past the slot, a -1 group */
	if (setcreds(c, -1, 0, 0, 0, 0, g) != -EINVAL || setcreds(c, 0, 0, 0, 1LL << 32, 0, g) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, -1, g, 64) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, 1 << 20, g, 0) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, 2, g, (int64_t)vos_client_slot_size(c) - 4) != -EINVAL ||
	    setcreds(c, 0, 0, 0, 0, 1, &minus) != -EINVAL)
		return 4;
	vos_client_close(c);
	return 0;
}

static void test_setcreds_malformed(void **state)
{
	(void)state;
	root_child_test(setcreds_malformed);
}

static int setcreds_effective(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	gid_t zero = 0, nobody = NOBODY;
	if (!c)
		return 1;
	/* effective uid nobody, real root: the shadow follows */
	if (setgroups(1, &nobody) < 0 || setresgid(0, NOBODY, 0) < 0 || setresuid(0, NOBODY, 0) < 0)
		return 5;
	/* not told yet: the shadow is still root (the hole the client closes) */
	if (!opens_private(c))
		return 6;
	if (setcreds(c, 0, NOBODY, 0, NOBODY, 1, &nobody) != 0)
		return 7;
	if (!refused_private(c))
		return 8;
	/* access() checks the real ids (root), AT_EACCESS the effective ones */
	if (r_access(c, "private", 0) != 0 || r_access(c, "private", AT_EACCESS) != -EACCES)
		return 9;
	/* a lie about the groups alone */
	if (setcreds(c, 0, NOBODY, 0, NOBODY, 1, &zero) != -EPERM || !refused_private(c))
		return 10;
	/* back to root through the saved uid: the shadow too */
	if (seteuid(0) < 0 || setegid(0) < 0 || setcreds(c, 0, 0, 0, 0, 1, &nobody) != 0 ||
	    !opens_private(c))
		return 11;
	vos_client_close(c);
	return 0;
}

/* The shadow takes the effective ids the client really has, and follows it
 * back to root through the saved uid. */
static void test_setcreds_effective(void **state)
{
	(void)state;
	root_child_test(setcreds_effective);
}

static int setcreds_dropped(void)
{
	struct vos_client *c = child_connect(VOS_HELLO_NEW, NULL);
	gid_t g[64];
	if (!c || getgroups(64, g) < 0)
		return 1;
	/* everything dropped; claiming root back is refused */
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 12;
	if (setcreds(c, 0, 0, 0, 0, 0, g) != -EPERM)
		return 13;
	if (setcreds(c, NOBODY, NOBODY, NOBODY, NOBODY, 0, g) != 0 || !refused_private(c) ||
	    r_access(c, "private", 0) != -EACCES)
		return 14;
	if (setcreds(c, 0, 0, 0, 0, 0, g) != -EPERM || !refused_private(c))
		return 15;
	/* a forked shadow (claimed by our forked child) keeps the new ids */
	uint8_t token[VOS_TOKEN_LEN];
	if (r_fork(c, token) != 0)
		return 16;
	struct vos_client *c2 = child_connect(VOS_HELLO_CLAIM, token);
	if (!c2 || !refused_private(c2))
		return 17;
	vos_client_close(c2);
	vos_client_close(c);
	return 0;
}

/* A client that dropped root for good: the shadow follows, and root cannot
 * be claimed back (nor by a forked shadow). */
static void test_setcreds_dropped(void **state)
{
	(void)state;
	root_child_test(setcreds_dropped);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nobody_permissions),
		cmocka_unit_test(test_nobody_creates),
		cmocka_unit_test(test_fork_keeps_credentials),
		cmocka_unit_test(test_token_needs_same_user),
		cmocka_unit_test(test_setcreds_root),
		cmocka_unit_test(test_setcreds_malformed),
		cmocka_unit_test(test_setcreds_effective),
		cmocka_unit_test(test_setcreds_dropped),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
