/*
 * test_roles.c - vos-serviced --role ROLE [--name NAME]: the command line,
 * and two daemons of different names side by side in one run directory,
 * each serving its own root under its own socket, placeholder and view
 * (the way `vosctl local run` starts one daemon per configured service).
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <cmocka.h>

#include "serviced_spawn.h"

static char base[64], rootdir[128], archivedir[128], rundir[128];
/* Run as root where mount namespaces work, each daemon resolves in a view
 * (absolute symlinks mean its own mount point). */
static int have_view;
/* Daemons a test started, stopped by teardown if the test did not get to it. */
static pid_t running[4];

static pid_t start(const char *name, const char *const *args)
{
	pid_t pid = serviced_start(rundir, name, args);
	assert_true(pid > 0);
	for (size_t i = 0; i < sizeof running / sizeof *running; i++)
		if (running[i] <= 0) {
			running[i] = pid;
			return pid;
		}
	fail_msg("too many daemons");
	return -1;
}

static void stop(pid_t pid)
{
	serviced_stop(pid);
	for (size_t i = 0; i < sizeof running / sizeof *running; i++)
		if (running[i] == pid)
			running[i] = -1;
}

static void path_in(char *buf, size_t len, const char *dir, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", dir, rel);
	assert_true(n > 0 && (size_t)n < len);
}

static int exists(const char *dir, const char *rel)
{
	char p[256];
	path_in(p, sizeof p, dir, rel);
	return access(p, F_OK) == 0;
}

static void put_file(const char *dir, const char *rel, const char *content)
{
	char p[256];
	path_in(p, sizeof p, dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static struct vos_client *connect_to(const char *name)
{
	struct vos_client_config cfg = serviced_config(rundir, name);
	return vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
}

/* The content of export-relative path (first 63 bytes), or NULL (-errno in *err). */
static const char *remote_read(struct vos_client *c, const char *path, int *err)
{
	static char buf[64];
	const int64_t open_args[6] = { VOS_FD_ROOT, 0, O_RDONLY, 0, 3, 0 };
	const int64_t read_args[6] = { 3, sizeof buf - 1, 0, 0, 0, 0 };
	const int64_t close_args[6] = { 3 };

	int64_t r = slot_call(c, VOS_OP_OPENAT, open_args, path, 1, NULL, 0, NULL, 0);
	*err = r < 0 ? (int)r : 0;
	if (r < 0)
		return NULL;
	assert_int_equal(r, 3);
	memset(buf, 0, sizeof buf);
	r = slot_call(c, VOS_OP_PREAD, read_args, NULL, 0, NULL, 0, buf, sizeof buf - 1);
	assert_true(r >= 0);
	buf[r] = '\0';
	assert_int_equal(slot_call(c, VOS_OP_CLOSE, close_args, NULL, 0, NULL, 0, NULL, 0), 0);
	return buf;
}

static void remote_symlink(struct vos_client *c, const char *target, const char *name)
{
	const int64_t a[6] = { 0, VOS_FD_ROOT, 0 };
	assert_int_equal(slot_call(c, VOS_OP_SYMLINKAT, a, target, 0, name, 2, NULL, 0), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void test_command_line(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 256];
	static const char *const bad_names[] = {
		"''", "..", ".", "a/b", "'a b'",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 32: longer than a client's route takes */
	};

	snprintf(cmd, sizeof cmd, "'%s' --role nosuch --root / --rundir /tmp 2>&1 | "
		 "grep -q \"unknown role 'nosuch' (this build serves: storage)\"", serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s' --role nosuch --root / --rundir /tmp 2>/dev/null",
		 serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 2);
	snprintf(cmd, sizeof cmd, "'%s' --root / --rundir /tmp 2>/dev/null", serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 2);
	snprintf(cmd, sizeof cmd, "'%s' --role storage --rundir /tmp 2>/dev/null", serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 2);       /* storage needs --root */
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		snprintf(cmd, sizeof cmd, "'%s' --role storage --name %s --root / --rundir /tmp 2>/dev/null",
			 serviced_bin, bad_names[i]);
		assert_int_equal(serviced_run_status(cmd), 2);
	}
	snprintf(cmd, sizeof cmd, "'%s' --help | grep -q -- '--role ROLE \\[--name NAME\\]'",
		 serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s' --help | grep -q 'RUNDIR/NAME.sock'", serviced_bin);
	assert_int_equal(serviced_run_status(cmd), 0);
}

static void test_two_names_side_by_side(void **state)
{
	(void)state;
	/* Exactly the command line vosctl local run uses. */
	const char *storage_args[] = {
		"--role", "storage", "--name", "storage", "--root", rootdir, "--rundir", rundir,
		"--mount-point", "/storage", "--workers", "2", NULL,
	};
	const char *archive_args[] = {
		"--role", "storage", "--name", "archive", "--root", archivedir, "--rundir", rundir,
		"--mount-point", "/archive", "--workers", "2", NULL,
	};
	pid_t storage = start("storage", storage_args);
	pid_t archive = start("archive", archive_args);

	assert_true(exists(rundir, "storage.sock"));
	assert_true(exists(rundir, "archive.sock"));
	assert_true(exists(rundir, "storage.remote-fd"));
	assert_true(exists(rundir, "archive.remote-fd"));
	if (have_view) {
		assert_true(exists(rundir, "storage.view"));
		assert_true(exists(rundir, "archive.view"));
	}

	/* Each serves its own root. */
	struct vos_client *s = connect_to("storage");
	struct vos_client *a = connect_to("archive");
	int err;
	assert_non_null(s);
	assert_non_null(a);
	assert_string_equal(remote_read(s, "who", &err), "the storage root");
	assert_string_equal(remote_read(a, "who", &err), "the archive root");
	assert_null(remote_read(a, "only-in-storage", &err));
	assert_int_equal(err, -ENOENT);
	assert_string_equal(remote_read(s, "only-in-storage", &err), "yes");

	/* Each view holds its own export at its own mount point. */
	if (have_view) {
		remote_symlink(a, "/archive/who", "abs-own");
		remote_symlink(a, "/storage/who", "abs-other");
		assert_string_equal(remote_read(a, "abs-own", &err), "the archive root");
		assert_null(remote_read(a, "abs-other", &err));
		assert_int_equal(err, -ENOENT);
	}

	/* The channel carries the role's kind: a client asking for another
	 * kind of service is refused. */
	struct vos_client_config cfg = serviced_config(rundir, "archive");
	cfg.kind = VOS_SVC_NETWORK;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));

	/* A second daemon of a name in use stops at once; the first serves on. */
	char cmd[PATH_MAX + 512];
	snprintf(cmd, sizeof cmd, "'%s' --role storage --name archive --root '%s' --rundir '%s' 2>/dev/null",
		 serviced_bin, rootdir, rundir);
	assert_int_equal(serviced_run_status(cmd), 1);
	assert_string_equal(remote_read(a, "who", &err), "the archive root");

	/* Stopping one removes its own names only. */
	vos_client_close(a);
	stop(archive);
	assert_false(exists(rundir, "archive.sock"));
	assert_false(exists(rundir, "archive.view"));
	assert_true(exists(rundir, "archive.remote-fd"));     /* running clients hold it */
	assert_true(exists(rundir, "storage.sock"));
	if (have_view)
		assert_true(exists(rundir, "storage.view"));
	assert_string_equal(remote_read(s, "who", &err), "the storage root");
	vos_client_close(s);
	stop(storage);
	assert_false(exists(rundir, "storage.sock"));
}

/* Without --mount-point the clients see the export at /NAME. */
static void test_default_mount_point(void **state)
{
	(void)state;
	if (!have_view)
		return;         /* without a view absolute symlinks do not show it */
	const char *args[] = {
		"--role", "storage", "--name", "data.2", "--root", archivedir, "--rundir", rundir,
		NULL,
	};
	pid_t pid = start("data.2", args);
	struct vos_client *c = connect_to("data.2");
	int err;
	assert_non_null(c);
	remote_symlink(c, "/data.2/who", "abs-default");
	remote_symlink(c, "/storage/who", "abs-storage");
	assert_string_equal(remote_read(c, "abs-default", &err), "the archive root");
	assert_null(remote_read(c, "abs-storage", &err));
	assert_int_equal(err, -ENOENT);
	vos_client_close(c);
	stop(pid);
}

/* ---- setup --------------------------------------------------------------- */

static int can_make_mount_ns(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/vos-roles-XXXXXX");
	assert_non_null(mkdtemp(base));
	chmod(base, 0755);
	path_in(rootdir, sizeof rootdir, base, "storage-root");
	path_in(archivedir, sizeof archivedir, base, "archive-root");
	path_in(rundir, sizeof rundir, base, "run");
	assert_int_equal(mkdir(rootdir, 0755), 0);
	assert_int_equal(mkdir(archivedir, 0755), 0);
	assert_int_equal(mkdir(rundir, 0755), 0);
	put_file(rootdir, "who", "the storage root");
	put_file(rootdir, "only-in-storage", "yes");
	put_file(archivedir, "who", "the archive root");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof running / sizeof *running; i++)
		if (running[i] > 0)
			stop(running[i]);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (serviced_find(argv[0], "test_roles") < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* Shadows orphaned when a daemon stops come to us (reaped in teardown). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	have_view = geteuid() == 0 && can_make_mount_ns();
	if (!have_view)
		fprintf(stderr, "test_roles: no root or no mount namespaces: view checks skipped\n");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test_setup_teardown(test_two_names_side_by_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_mount_point, setup, teardown),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
