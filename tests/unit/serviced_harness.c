/*
 * serviced_harness.c - the daemon, scratch tree and call helpers the unit
 * tests that drive vos-serviced share (contract in serviced_harness.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serviced_harness.h"

/* Bounded waits poll every 10 ms; the bounds are generous because the
 * tests run under sanitizers on loaded machines. */
#define POLL_MS 10

char daemon_bin[PATH_MAX];
char base[256], rootdir[300], rundir[300], nativedir[300], outside[300];
pid_t daemon_pid = -1;
pid_t extra_daemon = -1;
int have_view;

/* ---- small things ---- */

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

void in_dir(char *buf, const char *dir, const char *rel)
{
	xsnprintf(buf, PATH_MAX, "%s/%s", dir, rel);
}

void put_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	chmod(path, mode);
}

const char *native_content(const char *rel)
{
	static char buf[256];
	char p[PATH_MAX];
	in_dir(p, rootdir, rel);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The exit status of a shell command (-1: it did not exit). */
static int run_status(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int daemon_status(const char *fmt, ...)
{
	char cmd[PATH_MAX + 1024], args[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof args);
	xsnprintf(cmd, sizeof cmd, "'%s' %s", daemon_bin, args);
	return run_status(cmd);
}

int as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		_exit(fn());
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* ---- clients ---- */

struct vos_client_config config_named(const char *rd, const char *name)
{
	struct vos_client_config cfg = {
		.rundir = rd, .service = name, .kind = VOS_SVC_STORAGE,
		.dead_after_ms = 20000,
	};
	return cfg;
}

struct vos_client_config config_at(const char *rd)
{
	return config_named(rd, "storage");
}

struct vos_client_config config(void)
{
	return config_at(rundir);
}

struct vos_client *connect_kind(int kind, const uint8_t *token)
{
	struct vos_client_config cfg = config();
	return vos_client_connect(&cfg, kind, token);
}

struct vos_client *connect_new(void)
{
	struct vos_client *c = connect_kind(VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	return c;
}

int64_t call(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
	     int64_t a3, int64_t a4, const char *s0, int i0, const char *s1, int i1,
	     void *out, size_t outlen)
{
	struct vos_req r = { .op = op, .arg = { a0, a1, a2, a3, a4, 0 } };
	struct vos_slot *s;
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	char *buf = vos_slot_buf(s);
	if (s0) {
		strcpy(buf, s0);
		r.arg[i0] = 0;
	}
	if (s1) {
		strcpy(buf + STR2_OFF, s1);
		r.arg[i1] = STR2_OFF;
	}
	int64_t res = vos_slot_call(s, &r);
	if (out && outlen)
		memcpy(out, buf, outlen);
	vos_slot_release(s);
	return res;
}

int64_t call_with(struct vos_client *c, const struct vos_req *r, const void *data, size_t len,
		  size_t off)
{
	struct vos_slot *s;
	if (vos_slot_acquire(c, &s) != 0)
		return -999;
	if (len)
		memcpy((char *)vos_slot_buf(s) + off, data, len);
	int64_t res = vos_slot_call(s, r);
	vos_slot_release(s);
	return res;
}

int64_t r_open(struct vos_client *c, int dirfd, const char *path, int flags, int mode, int newfd)
{
	return call(c, VOS_OP_OPENAT, dirfd, 0, flags, mode, newfd, path, 1, NULL, 0, NULL, 0);
}

int64_t r_write(struct vos_client *c, int fd, const char *data)
{
	return call(c, VOS_OP_WRITE, fd, (int64_t)strlen(data), 0, 0, 0, data, 2, NULL, 0, NULL, 0);
}

/* A read-like call into out (NUL terminated). */
static int64_t read_call(struct vos_client *c, uint16_t op, int fd, char *out, size_t len, off_t off)
{
	char tmp[4096];
	assert_true(len < sizeof tmp);
	int64_t n = call(c, op, fd, (int64_t)len, off, 0, 0, NULL, 0, NULL, 0, tmp, len);
	if (n >= 0) {
		memcpy(out, tmp, (size_t)n);
		out[n] = '\0';
	}
	return n;
}

int64_t r_pread(struct vos_client *c, int fd, char *out, size_t len, off_t off)
{
	return read_call(c, VOS_OP_PREAD, fd, out, len, off);
}

int64_t r_read(struct vos_client *c, int fd, char *out, size_t len)
{
	return read_call(c, VOS_OP_READ, fd, out, len, 0);
}

int64_t r_close(struct vos_client *c, int fd)
{
	return vos_call0(c, VOS_OP_CLOSE, fd, 0, 0);
}

int64_t r_stat(struct vos_client *c, int dirfd, const char *path, int flags, struct stat *st)
{
	if (!path)
		return call(c, VOS_OP_FSTATAT, dirfd, VOS_NO_PATH, flags, 0, 0, NULL, 0, NULL, 0,
			    st, sizeof *st);
	return call(c, VOS_OP_FSTATAT, dirfd, 0, flags, 0, 0, path, 1, NULL, 0, st, sizeof *st);
}

int64_t r_mkdir(struct vos_client *c, int dirfd, const char *path)
{
	return call(c, VOS_OP_MKDIRAT, dirfd, 0, 0755, 0, 0, path, 1, NULL, 0, NULL, 0);
}

int64_t r_unlink(struct vos_client *c, int dirfd, const char *path, int flags)
{
	return call(c, VOS_OP_UNLINKAT, dirfd, 0, flags, 0, 0, path, 1, NULL, 0, NULL, 0);
}

int64_t r_symlink(struct vos_client *c, const char *target, const char *name)
{
	return call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, target, 0, name, 2, NULL, 0);
}

int64_t r_fdpath(struct vos_client *c, int fd, char *buf, size_t outlen)
{
	return call(c, VOS_OP_FDPATH, fd, 0, 0, 0, 0, NULL, 0, NULL, 0, buf, outlen);
}

int64_t r_getdents(struct vos_client *c, int fd, void *buf, size_t len)
{
	return call(c, VOS_OP_GETDENTS64, fd, (int64_t)len, 0, 0, 0, NULL, 0, NULL, 0, buf, len);
}

int64_t r_fork(struct vos_client *c, uint8_t token[VOS_TOKEN_LEN])
{
	return call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, VOS_TOKEN_LEN);
}

int64_t r_fork_abort(struct vos_client *c, const uint8_t token[VOS_TOKEN_LEN])
{
	struct vos_req r = { .op = VOS_OP_FORK_ABORT, .arg = { 0 } };
	return call_with(c, &r, token, VOS_TOKEN_LEN, 0);
}

int64_t r_exec(struct vos_client *c, const int32_t *keep, int n)
{
	struct vos_req r = { .op = VOS_OP_EXEC, .arg = { n, 0 } };
	return call_with(c, &r, keep, (size_t)n * sizeof *keep, 0);
}

int64_t setcreds_at(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
		    int64_t egid, int64_t n, const gid_t *groups, int64_t off)
{
	struct vos_req r = { .op = VOS_OP_SETCREDS, .arg = { ruid, euid, rgid, egid, n, off } };
	size_t len = n > 0 && n <= 64 ? (size_t)n * sizeof *groups : 0;
	return call_with(c, &r, groups, len, ARG_OFF);
}

int64_t setcreds(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
		 int64_t egid, int n, const gid_t *groups)
{
	return setcreds_at(c, ruid, euid, rgid, egid, n, groups, ARG_OFF);
}

void make_remote_file(struct vos_client *c, const char *path, int fd, const char *content)
{
	assert_int_equal(r_open(c, VOS_FD_ROOT, path, O_CREAT | O_RDWR | O_TRUNC, 0644, fd), fd);
	assert_int_equal(r_write(c, fd, content), (int64_t)strlen(content));
}

void expect_secret(struct vos_client *c, int dirfd, const char *path, const char *want)
{
	char buf[64];
	int64_t r = r_open(c, dirfd, path, O_RDONLY, 0, 300);
	if (!want) {
		assert_true(r < 0);
		return;
	}
	assert_int_equal(r, 300);
	assert_true(r_pread(c, 300, buf, 32, 0) >= 0);
	assert_string_equal(buf, want);
	assert_int_equal(r_close(c, 300), 0);
}

int count_dents(const void *buf, int64_t n, const char *name, int *found)
{
	int count = 0;
	for (int64_t off = 0; off < n;) {
		const struct dirent64 *d = (const struct dirent64 *)(const void *)((const char *)buf + off);
		count++;
		if (found && name && strcmp(d->d_name, name) == 0)
			*found = 1;
		off += d->d_reclen;
	}
	return count;
}

/* ---- processes ---- */

/* The state letter and parent of pid from /proc/<pid>/stat (0: gone). */
static int proc_stat(pid_t pid, char *state, int *ppid)
{
	char p[64], line[512];
	xsnprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	int ok = 0;
	if (fgets(line, sizeof line, f)) {
		char *rp = strrchr(line, ')');
		ok = rp && sscanf(rp + 2, "%c %d", state, ppid) == 2;
	}
	fclose(f);
	return ok;
}

int children_of(pid_t pid, pid_t *out, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d))) {
		int id = atoi(de->d_name), ppid;
		char st;
		if (id > 0 && proc_stat(id, &st, &ppid) && ppid == pid && st != 'Z' && n < max)
			out[n++] = id;
	}
	closedir(d);
	return n;
}

int wait_children(pid_t pid, pid_t *out, int max)
{
	int n = 0;
	for (int tries = 0; tries < 2000 && n == 0; tries++) {
		n = children_of(pid, out, max);
		if (!n)
			sleep_ms(POLL_MS);
	}
	return n;
}

pid_t new_shadow(const pid_t *before, int nbefore)
{
	pid_t now[256];
	for (int tries = 0; tries < 2000; tries++) {
		int n = children_of(daemon_pid, now, 256);
		for (int i = 0; i < n; i++) {
			int seen = 0;
			for (int k = 0; k < nbefore; k++)
				seen |= now[i] == before[k];
			if (!seen)
				return now[i];
		}
		sleep_ms(POLL_MS);
	}
	return -1;
}

struct vos_client *connect_with_shadow(pid_t *shadow)
{
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	struct vos_client *c = connect_new();
	*shadow = new_shadow(before, nb);
	assert_true(*shadow > 0);
	return c;
}

int wait_flag(const int *flag)
{
	for (int tries = 0; tries < 30000; tries++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return 1;
		sleep_ms(1);
	}
	return 0;
}

int nthreads(pid_t pid)
{
	char p[64];
	xsnprintf(p, sizeof p, "/proc/%d/task", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Only once every thread of a zombie has exited are its files released
 * (a zombie may stay unreaped if its parent died too). */
int gone(pid_t pid)
{
	for (int tries = 0; tries < 3000; tries++) {
		char st;
		int ppid;
		if (!proc_stat(pid, &st, &ppid))
			return 1;
		if (st == 'Z' && nthreads(pid) <= 1)
			return 1;
		sleep_ms(POLL_MS);
	}
	return 0;
}

int lock_waiter_on(ino_t ino)
{
	char line[512];
	for (int tries = 0; tries < 3000; tries++) {
		FILE *f = fopen("/proc/locks", "r");
		assert_non_null(f);
		int found = 0;
		while (fgets(line, sizeof line, f)) {
			char *w = strstr(line, "->");
			unsigned long long i;
			/* "N: -> FLOCK  ADVISORY  WRITE pid maj:min:ino start end" */
			if (w && sscanf(w, "-> %*s %*s %*s %*s %*x:%*x:%llu", &i) == 1 && i == ino)
				found = 1;
		}
		fclose(f);
		if (found)
			return 1;
		sleep_ms(POLL_MS);
	}
	return 0;
}

void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* ---- daemons ---- */

/* Whether this process could make a private mount namespace (as the
 * daemon does), tried in a child. */
static int can_make_mount_ns(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int serviced_init(const char *argv0)
{
	char self[PATH_MAX];
	const char *env = getenv("VOS_SERVICED");
	if (env && *env) {
		snprintf(daemon_bin, sizeof daemon_bin, "%s", env);
	} else {
		snprintf(self, sizeof self, "%s", argv0);
		snprintf(daemon_bin, sizeof daemon_bin, "%s/../bin/vos-serviced", dirname(self));
	}
	if (access(daemon_bin, X_OK) != 0) {
		snprintf(self, sizeof self, "%s", argv0);
		fprintf(stderr, "%s: no daemon at %s (build it, or set VOS_SERVICED)\n", basename(self),
			daemon_bin);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	have_view = geteuid() == 0 && can_make_mount_ns();
	return 0;
}

pid_t daemon_start(const char *rd, const char *name, const char *const *args)
{
	char sock[PATH_MAX];
	xsnprintf(sock, sizeof sock, "%s/%s.sock", rd, name);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Shadows start threads after forking from a threaded process. */
		const char *t = getenv("TSAN_OPTIONS");
		char opts[512];
		snprintf(opts, sizeof opts, "%s%sdie_after_fork=0", t ? t : "", t ? ":" : "");
		setenv("TSAN_OPTIONS", opts, 1);
		const char *argv[32] = { daemon_bin };
		int n = 1;
		while (*args && n < 30)
			argv[n++] = *args++;
		if (getenv("VOS_SERVICED_VERBOSE"))     /* for debugging a failure */
			argv[n++] = "--verbose";
		execv(daemon_bin, (char **)argv);
		_exit(127);
	}
	/* Ready once a client gets an answer (the socket exists a moment
	 * before it listens, and the view is set up after that). */
	struct vos_client_config cfg = config_named(rd, name);
	struct stat st;
	for (int tries = 0; tries < 3000; tries++) {
		if (stat(sock, &st) == 0) {
			struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
			if (c) {
				vos_client_close(c);
				return pid;
			}
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			fail_msg("vos-serviced (%s) exited early, status 0x%x", daemon_bin, status);
		sleep_ms(POLL_MS);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("vos-serviced did not answer at %s", sock);
	return -1;
}

pid_t spawn_daemon(const char *rd, const char *opt, const char *val)
{
	char sock[PATH_MAX];
	in_dir(sock, rd, "storage.sock");
	unlink(sock);
	const char *args[16] = {
		"--role", "storage", "--root", rootdir, "--rundir", rd,
		"--workers", "2", "--pending-timeout", "3000",
	};
	if (opt) {
		args[10] = opt;
		args[11] = val;
	}
	return daemon_start(rd, "storage", args);
}

void start_daemon(void)
{
	daemon_pid = spawn_daemon(rundir, NULL, NULL);
}

void stop_pid(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int tries = 0; tries < 2000; tries++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_ms(POLL_MS);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void stop_daemon(void)
{
	stop_pid(daemon_pid);
	daemon_pid = -1;
}

/* ---- scratch directory ---- */

void scratch_make(const char *tmpl)
{
	char t[sizeof base];
	xsnprintf(t, sizeof t, "%s", tmpl);
	assert_non_null(mkdtemp(t));
	xsnprintf(base, sizeof base, "%s", t);
	chmod(base, 0755);
	xsnprintf(rootdir, sizeof rootdir, "%s/root", base);
	xsnprintf(rundir, sizeof rundir, "%s/run", base);
	assert_int_equal(mkdir(rootdir, 0755), 0);
	assert_int_equal(mkdir(rundir, 0755), 0);
}

int scratch_remove(void)
{
	char cmd[400];
	xsnprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the group ---- */

/* The same small tree in the export root and in a native directory. */
static void make_tree(const char *dir)
{
	char p[PATH_MAX];
	in_dir(p, dir, "dir");
	assert_int_equal(mkdir(p, 0755), 0);
	in_dir(p, dir, "dir/file");
	put_file(p, "in dir", 0644);
	in_dir(p, dir, "emptydir");
	assert_int_equal(mkdir(p, 0755), 0);
	in_dir(p, dir, "file");
	put_file(p, "file", 0644);
	in_dir(p, dir, "link");
	assert_int_equal(symlink("file", p), 0);
	in_dir(p, dir, "dlink");
	assert_int_equal(symlink("dir", p), 0);
	in_dir(p, dir, "dangling");
	assert_int_equal(symlink("nowhere", p), 0);
	in_dir(p, dir, "private");
	put_file(p, "root only", 0600);
	in_dir(p, dir, "public");
	assert_int_equal(mkdir(p, 0777), 0);
	chmod(p, 0777);
}

static int setup(void **state)
{
	(void)state;
	scratch_make("/tmp/vos-serviced-XXXXXX");
	xsnprintf(nativedir, sizeof nativedir, "%s/native", base);
	xsnprintf(outside, sizeof outside, "%s/outside", base);
	assert_int_equal(mkdir(nativedir, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	char p[PATH_MAX];
	in_dir(p, outside, "secret");
	put_file(p, "outside", 0644);
	in_dir(p, rootdir, "secret");
	put_file(p, "inside", 0644);
	make_tree(rootdir);
	make_tree(nativedir);
	start_daemon();
	return 0;
}

int serviced_teardown(void **state)
{
	(void)state;
	stop_daemon();
	stop_pid(extra_daemon);
	extra_daemon = -1;
	reap_orphans();
	return scratch_remove();
}

int serviced_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
	char self[PATH_MAX];
	snprintf(self, sizeof self, "%s", argv[0]);
	const char *name = basename(self);
	if (serviced_init(argv[0]) < 0)
		return 1;
	if (geteuid() == 0 && !have_view)
		fprintf(stderr, "%s: no mount namespaces here: view tests skipped\n", name);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return _cmocka_run_group_tests(name, tests, n, setup, serviced_teardown);
}
