/*
 * test_roles.c - vos-serviced --role ROLE [--name NAME]: the command line,
 * and two daemons of different names side by side in one run directory,
 * each serving its own root under its own socket, placeholder and view
 * (the way `vosctl local run` starts one daemon per configured service).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serviced_harness.h"

/* rootdir (the harness's) is storage's export root; archive's is this. */
static char archivedir[300];
/* Daemons a test started, stopped by teardown if the test did not get to it. */
static pid_t running[4];

static pid_t start(const char *name, const char *const *args)
{
	pid_t pid = daemon_start(rundir, name, args);
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
	stop_pid(pid);
	for (size_t i = 0; i < sizeof running / sizeof *running; i++)
		if (running[i] == pid)
			running[i] = -1;
}

static int exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	in_dir(p, dir, rel);
	return access(p, F_OK) == 0;
}

static void put_in(const char *dir, const char *rel, const char *content)
{
	char p[PATH_MAX];
	in_dir(p, dir, rel);
	put_file(p, content, 0644);
}

static struct vos_client *connect_to(const char *name)
{
	struct vos_client_config cfg = config_named(rundir, name);
	return vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
}

/* The content of export-relative path (first 63 bytes), or NULL (-errno in *err). */
static const char *remote_read(struct vos_client *c, const char *path, int *err)
{
	static char buf[64];

	int64_t r = r_open(c, VOS_FD_ROOT, path, O_RDONLY, 0, 3);
	*err = r < 0 ? (int)r : 0;
	if (r < 0)
		return NULL;
	assert_int_equal(r, 3);
	assert_true(r_pread(c, 3, buf, sizeof buf - 1, 0) >= 0);
	assert_int_equal(r_close(c, 3), 0);
	return buf;
}

static void remote_symlink(struct vos_client *c, const char *target, const char *name)
{
	assert_int_equal(r_symlink(c, target, name), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void test_command_line(void **state)
{
	(void)state;
	static const char *const bad_names[] = {
		"''", "..", ".", "a/b", "'a b'",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 32: longer than a client's route takes */
	};

	assert_int_equal(daemon_status("--role nosuch --root / --rundir /tmp 2>&1 | "
				       "grep -q \"unknown role 'nosuch' (this build serves: storage network)\""), 0);
	assert_int_equal(daemon_status("--role nosuch --root / --rundir /tmp 2>/dev/null"), 2);
	assert_int_equal(daemon_status("--root / --rundir /tmp 2>/dev/null"), 2);
	/* storage needs --root */
	assert_int_equal(daemon_status("--role storage --rundir /tmp 2>/dev/null"), 2);
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
		assert_int_equal(daemon_status("--role storage --name %s --root / --rundir /tmp 2>/dev/null",
					       bad_names[i]), 2);
	assert_int_equal(daemon_status("--help | grep -q -- '--role ROLE \\[--name NAME\\]'"), 0);
	assert_int_equal(daemon_status("--help | grep -q 'RUNDIR/NAME.sock'"), 0);
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
		/* Another absolute target is the client's to follow. */
		assert_null(remote_read(a, "abs-other", &err));
		assert_int_equal(err, -VOS_ELINKOUT);
	}

	/* The channel carries the role's kind: a client asking for another
	 * kind of service is refused. */
	struct vos_client_config cfg = config_named(rundir, "archive");
	cfg.kind = VOS_SVC_NETWORK;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));

	/* A second daemon of a name in use stops at once; the first serves on. */
	assert_int_equal(daemon_status("--role storage --name archive --root '%s' --rundir '%s' 2>/dev/null",
				       rootdir, rundir), 1);
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
	assert_int_equal(err, -VOS_ELINKOUT);
	vos_client_close(c);
	stop(pid);
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	scratch_make("/tmp/vos-roles-XXXXXX");
	in_dir(archivedir, base, "archive-root");
	assert_int_equal(mkdir(archivedir, 0755), 0);
	put_in(rootdir, "who", "the storage root");
	put_in(rootdir, "only-in-storage", "yes");
	put_in(archivedir, "who", "the archive root");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof running / sizeof *running; i++)
		if (running[i] > 0)
			stop(running[i]);
	return serviced_teardown(state);
}

int main(int argc, char **argv)
{
	if (serviced_init(argv[0]) < 0)
		return 1;
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
