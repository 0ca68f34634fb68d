/*
 * test_serviced.c - vos-serviced (storage role, local mode) driven through
 * the client call engine (client.h): file I/O, directories, errno values
 * compared with the same calls made natively on an identical tree, path
 * confinement, protocol validation, fork/claim/spawn/exec of shadows,
 * credentials, and cleanup when a client or the daemon dies; the view
 * (absolute symlinks as the client sees them, when run as root), the EXEC
 * barrier, connections that never send their hello, and SETCREDS.
 *
 * The daemon binary: $VOS_SERVICED, else ../bin/vos-serviced next to this
 * test's directory (build/<variant>/tests -> build/<variant>/bin).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "channel/transport_local.h"
#include "channel/vos_proto.h"
#include "client/client.h"

#define STR2_OFF 8192           /* second string in a slot (default slot: 16 KiB) */
#define NOBODY   65534

static char daemon_bin[PATH_MAX];
static char base[256], rootdir[300], rundir[300], nativedir[300], outside[300];
static pid_t daemon_pid = -1;
static pid_t extra_daemon = -1;  /* a second one some tests start (teardown stops it) */
/* The daemon resolves in a view (it runs as root where mount namespaces
 * work): absolute symlinks mean /storage/..., ".." above the root finds
 * nothing.  Otherwise it resolves from the export root. */
static int have_view;

/* ---- helpers ------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void xsnprintf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static void in_dir(char *buf, const char *dir, const char *rel)
{
	xsnprintf(buf, PATH_MAX, "%s/%s", dir, rel);
}

static void put_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	chmod(path, mode);
}

static struct vos_client_config config(void)
{
	struct vos_client_config cfg = {
		.rundir = rundir, .service = "storage", .kind = VOS_SVC_STORAGE,
		.dead_after_ms = 20000,
	};
	return cfg;
}

static struct vos_client *connect_kind(int kind, const uint8_t *token)
{
	struct vos_client_config cfg = config();
	return vos_client_connect(&cfg, kind, token);
}

static struct vos_client *connect_new(void)
{
	struct vos_client *c = connect_kind(VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	return c;
}

/*
 * One call.  s0/s1 (if not NULL) are copied to slot offsets 0 and STR2_OFF
 * and those offsets replace arg[i0]/arg[i1].  Up to outlen bytes of output
 * are copied from offset 0 to out.
 */
static int64_t call(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
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

static int64_t r_open(struct vos_client *c, int dirfd, const char *path, int flags, int mode, int newfd)
{
	return call(c, VOS_OP_OPENAT, dirfd, 0, flags, mode, newfd, path, 1, NULL, 0, NULL, 0);
}

static int64_t r_write(struct vos_client *c, int fd, const char *data)
{
	return call(c, VOS_OP_WRITE, fd, (int64_t)strlen(data), 0, 0, 0, data, 2, NULL, 0, NULL, 0);
}

/* pread of up to len bytes into out (NUL terminated). */
static int64_t r_pread(struct vos_client *c, int fd, char *out, size_t len, off_t off)
{
	char tmp[4096];
	assert_true(len < sizeof tmp);
	int64_t n = call(c, VOS_OP_PREAD, fd, (int64_t)len, off, 0, 0, NULL, 0, NULL, 0, tmp, len);
	if (n >= 0) {
		memcpy(out, tmp, (size_t)n);
		out[n] = '\0';
	}
	return n;
}

static int64_t r_read(struct vos_client *c, int fd, char *out, size_t len)
{
	char tmp[4096];
	assert_true(len < sizeof tmp);
	int64_t n = call(c, VOS_OP_READ, fd, (int64_t)len, 0, 0, 0, NULL, 0, NULL, 0, tmp, len);
	if (n >= 0) {
		memcpy(out, tmp, (size_t)n);
		out[n] = '\0';
	}
	return n;
}

static int64_t r_close(struct vos_client *c, int fd)
{
	return vos_call0(c, VOS_OP_CLOSE, fd, 0, 0);
}

static int64_t r_stat(struct vos_client *c, int dirfd, const char *path, int flags, struct stat *st)
{
	if (!path)
		return call(c, VOS_OP_FSTATAT, dirfd, VOS_NO_PATH, flags, 0, 0, NULL, 0, NULL, 0,
			    st, sizeof *st);
	return call(c, VOS_OP_FSTATAT, dirfd, 0, flags, 0, 0, path, 1, NULL, 0, st, sizeof *st);
}

/* Read a file in the export root natively. */
static const char *native_content(const char *rel)
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

/* Children of pid, from /proc/<pid>/task/<pid>/children or a /proc scan. */
static int children_of(pid_t pid, pid_t *out, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char p[300], line[512];
		int id = atoi(de->d_name);
		if (id <= 0)
			continue;
		xsnprintf(p, sizeof p, "/proc/%d/stat", id);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof line, f)) {
			char *rp = strrchr(line, ')');
			int ppid = 0;
			char st;
			if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == pid &&
			    st != 'Z' && n < max)
				out[n++] = id;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* The one child of the daemon not in before[]. */
static pid_t new_shadow(const pid_t *before, int nbefore)
{
	pid_t now[256];
	for (int tries = 0; tries < 500; tries++) {
		int n = children_of(daemon_pid, now, 256);
		for (int i = 0; i < n; i++) {
			int seen = 0;
			for (int k = 0; k < nbefore; k++)
				seen |= now[i] == before[k];
			if (!seen)
				return now[i];
		}
		sleep_ms(10);
	}
	return -1;
}

/* Number of threads /proc lists for pid (0: no such process). */
static int nthreads(pid_t pid)
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

/*
 * Wait (bounded) until pid has ended: gone from /proc, or a zombie whose
 * other threads have all exited (only then are its files released; a
 * zombie may stay unreaped if its parent died too).
 */
static int gone(pid_t pid)
{
	char p[64], line[512];
	for (int tries = 0; tries < 1000; tries++) {
		xsnprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(p, "r");
		if (!f)
			return 1;
		int zombie = 0;
		if (fgets(line, sizeof line, f)) {
			char *rp = strrchr(line, ')');
			zombie = rp && rp[2] == 'Z';
		}
		fclose(f);
		if (zombie && nthreads(pid) <= 1)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

/* ---- daemon -------------------------------------------------------------- */

/* Start a daemon on run directory rd (extra: one more option and its value,
 * or NULL); wait for its socket.  Returns its pid. */
static pid_t spawn_daemon(const char *rd, const char *opt, const char *val)
{
	char sock[PATH_MAX];
	in_dir(sock, rd, "storage.sock");
	unlink(sock);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Shadows start threads after forking from a threaded process. */
		const char *t = getenv("TSAN_OPTIONS");
		char opts[512];
		snprintf(opts, sizeof opts, "%s%sdie_after_fork=0", t ? t : "", t ? ":" : "");
		setenv("TSAN_OPTIONS", opts, 1);
		const char *argv[16] = {
			daemon_bin, "--role", "storage", "--root", rootdir, "--rundir", rd,
			"--workers", "2", "--pending-timeout", "3000",
		};
		int n = 11;
		if (opt) {
			argv[n++] = opt;
			argv[n++] = val;
		}
		if (getenv("VOS_SERVICED_VERBOSE"))     /* for debugging a failure */
			argv[n++] = "--verbose";
		execv(daemon_bin, (char **)argv);
		_exit(127);
	}
	/* Ready once a client gets an answer (the socket exists a moment
	 * before it listens, and the view is set up after that). */
	struct vos_client_config cfg = {
		.rundir = rd, .service = "storage", .kind = VOS_SVC_STORAGE,
		.dead_after_ms = 20000,
	};
	struct stat st;
	for (int tries = 0; tries < 1000; tries++) {
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
		sleep_ms(10);
	}
	fail_msg("vos-serviced did not answer at %s", sock);
	return -1;
}

static void start_daemon(void)
{
	daemon_pid = spawn_daemon(rundir, NULL, NULL);
}

/* SIGTERM, wait (bounded), SIGKILL if it has to come to that. */
static void stop_pid(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int tries = 0; tries < 500; tries++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void stop_daemon(void)
{
	if (daemon_pid <= 0)
		return;
	stop_pid(daemon_pid);
	daemon_pid = -1;
}

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
	char t[] = "/tmp/vos-serviced-XXXXXX";
	assert_non_null(mkdtemp(t));
	xsnprintf(base, sizeof base, "%s", t);
	chmod(base, 0755);
	xsnprintf(rootdir, sizeof rootdir, "%s/root", base);
	xsnprintf(rundir, sizeof rundir, "%s/run", base);
	xsnprintf(nativedir, sizeof nativedir, "%s/native", base);
	xsnprintf(outside, sizeof outside, "%s/outside", base);
	assert_int_equal(mkdir(rootdir, 0755), 0);
	assert_int_equal(mkdir(rundir, 0755), 0);
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

/* Reap orphaned shadows that were reparented to us (we are a subreaper). */
static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int teardown(void **state)
{
	(void)state;
	stop_daemon();
	if (extra_daemon > 0)
		stop_pid(extra_daemon);
	reap_orphans();
	char cmd[400];
	xsnprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests --------------------------------------------------------------- */

static void test_daemon_args(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 200];
	/* Bad arguments and a missing root: exit code 2. */
	xsnprintf(cmd, sizeof cmd, "'%s' --role storage --root /nonexistent-vos --rundir /tmp 2>/dev/null",
		  daemon_bin);
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	xsnprintf(cmd, sizeof cmd, "'%s' --bogus 2>/dev/null", daemon_bin);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	xsnprintf(cmd, sizeof cmd, "'%s' --role network --root / --rundir /tmp 2>/dev/null", daemon_bin);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	xsnprintf(cmd, sizeof cmd, "'%s' --help >/dev/null", daemon_bin);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_file_io(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char buf[256];
	struct stat st, nst;

	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io", O_CREAT | O_RDWR | O_TRUNC, 0640, 100), 100);
	assert_int_equal(r_write(c, 100, "hello world"), 11);
	assert_int_equal(r_pread(c, 100, buf, 64, 0), 11);
	assert_string_equal(buf, "hello world");
	assert_int_equal(r_pread(c, 100, buf, 5, 6), 5);
	assert_string_equal(buf, "world");
	assert_string_equal(native_content("io"), "hello world");

	assert_int_equal(r_stat(c, 100, NULL, 0, &st), 0);
	char p[PATH_MAX];
	in_dir(p, rootdir, "io");
	assert_int_equal(stat(p, &nst), 0);
	assert_true(st.st_ino == nst.st_ino && st.st_size == 11);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 07777, 0640 & ~um);

	/* lseek + read share the file offset */
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 100, 6, SEEK_SET), 6);
	assert_int_equal(r_read(c, 100, buf, 64), 5);
	assert_string_equal(buf, "world");
	assert_int_equal(r_read(c, 100, buf, 64), 0);

	/* pwrite, ftruncate, fsync */
	assert_int_equal(call(c, VOS_OP_PWRITE, 100, 5, 0, 0, 0, "HELLO", 2, NULL, 0, NULL, 0), 5);
	assert_int_equal(vos_call0(c, VOS_OP_FTRUNCATE, 100, 8, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_FSYNC, 100, 0, 0), 0);
	assert_string_equal(native_content("io"), "HELLO wo");

	/* dup shares the file; close of one leaves the other */
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 100, 101, O_CLOEXEC), 101);
	assert_int_equal(r_close(c, 100), 0);
	assert_int_equal(r_close(c, 100), -EBADF);
	assert_int_equal(r_read(c, 100, buf, 4), -EBADF);
	assert_int_equal(r_pread(c, 101, buf, 5, 0), 5);
	assert_string_equal(buf, "HELLO");

	/* fcntl: flags and a lock round trip */
	int64_t fl = vos_call0(c, VOS_OP_FCNTL, 101, F_GETFL, 0);
	assert_true(fl >= 0 && (fl & O_ACCMODE) == O_RDWR);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 101, F_SETFL, O_APPEND), 0);
	assert_true(vos_call0(c, VOS_OP_FCNTL, 101, F_GETFL, 0) & O_APPEND);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 101, F_GETFD, 0), -EINVAL);
	{
		struct vos_slot *s;
		struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
		assert_int_equal(vos_slot_acquire(c, &s), 0);
		memcpy((char *)vos_slot_buf(s) + 64, &lk, sizeof lk);
		struct vos_req r = { .op = VOS_OP_FCNTL, .arg = { 101, F_OFD_SETLK, 64 } };
		assert_int_equal(vos_slot_call(s, &r), 0);
		vos_slot_release(s);
		/* natively, another open file description cannot take it */
		int nfd = open(p, O_RDWR);
		struct flock nl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 4 };
		assert_int_equal(fcntl(nfd, F_OFD_SETLK, &nl), -1);
		assert_int_equal(errno, EAGAIN);
		close(nfd);
	}
	assert_int_equal(vos_call0(c, VOS_OP_FLOCK, 101, LOCK_EX | LOCK_NB, 0), 0);
	assert_int_equal(r_close(c, 101), 0);
	/* closed: the flock is gone */
	int nfd = open(p, O_RDONLY);
	assert_int_equal(flock(nfd, LOCK_EX | LOCK_NB), 0);
	close(nfd);

	/* fd number limits */
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io", O_RDONLY, 0, -3), -EBADF);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io", O_RDONLY, 0, 1 << 21), -EBADF);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io", O_RDONLY, 0, 70000), 70000);  /* table grows */
	assert_int_equal(r_close(c, 70000), 0);
	assert_int_equal(r_read(c, 1 << 30, buf, 4), -EBADF);
	vos_client_close(c);
}

static void test_dirs(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char buf[256];

	assert_int_equal(call(c, VOS_OP_MKDIRAT, VOS_FD_ROOT, 0, 0755, 0, 0, "d", 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_MKDIRAT, VOS_FD_ROOT, 0, 0755, 0, 0, "d", 1, NULL, 0, NULL, 0), -EEXIST);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "/d/x", O_CREAT | O_WRONLY, 0644, 10), 10);
	assert_int_equal(r_close(c, 10), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "d", O_RDONLY | O_DIRECTORY, 0, 11), 11);

	/* getdents64 lists ".", ".." and "x" */
	char dents[4096];
	int64_t n = call(c, VOS_OP_GETDENTS64, 11, sizeof dents, 0, 0, 0, NULL, 0, NULL, 0,
			 dents, sizeof dents);
	assert_true(n > 0);
	int found = 0, count = 0;
	for (int64_t off = 0; off < n;) {
		struct dirent64 *d = (struct dirent64 *)(void *)(dents + off);
		count++;
		found |= strcmp(d->d_name, "x") == 0;
		off += d->d_reclen;
	}
	assert_int_equal(count, 3);
	assert_true(found);
	assert_int_equal(call(c, VOS_OP_GETDENTS64, 11, sizeof dents, 0, 0, 0, NULL, 0, NULL, 0,
			      NULL, 0), 0);

	/* a path relative to a remote dirfd; fdpath */
	assert_int_equal(r_open(c, 11, "x", O_RDONLY, 0, 12), 12);
	assert_int_equal(call(c, VOS_OP_FDPATH, 12, 0, 0, 0, 0, NULL, 0, NULL, 0, buf, 16), 4);
	assert_string_equal(buf, "/d/x");
	assert_int_equal(call(c, VOS_OP_FDPATH, VOS_FD_ROOT, 0, 0, 0, 0, NULL, 0, NULL, 0, buf, 2), 1);
	assert_string_equal(buf, "/");
	assert_int_equal(r_close(c, 12), 0);

	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, AT_REMOVEDIR, 0, 0, "d", 1,
			      NULL, 0, NULL, 0), -ENOTEMPTY);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, 11, 0, VOS_FD_ROOT, 0, 0, "x", 1, "y", 3,
			      NULL, 0), 0);
	assert_non_null(native_content("y"));
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, AT_REMOVEDIR, 0, 0, "d", 1,
			      NULL, 0, NULL, 0), 0);
	assert_int_equal(r_close(c, 11), 0);
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "y", 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "y", 1, NULL, 0, NULL, 0), -ENOENT);

	/* symlink / readlink / link / chmod / utimens / truncate / statfs / access */
	char p[PATH_MAX];
	in_dir(p, rootdir, "hsrc");
	put_file(p, "hsrc", 0644);
	in_dir(p, rootdir, "hlink");
	assert_int_equal(symlink("hsrc", p), 0);
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "target", 0, "sl", 2,
			      NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_READLINKAT, VOS_FD_ROOT, 0, 100, 0, 0, "sl", 1, NULL, 0,
			      buf, 6), 6);
	assert_memory_equal(buf, "target", 6);
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "sl", 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_LINKAT, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "hsrc", 1, "hard", 3,
			      NULL, 0), 0);
	struct stat st;
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hard", 0, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "hard", 1, NULL, 0,
			      NULL, 0), 0);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hsrc", 0, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0644, 0, 0, "hlink", 1, NULL, 0,
			      NULL, 0), 0);    /* follows the link to file */
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0644, AT_SYMLINK_NOFOLLOW, 0, "hlink", 1,
			      NULL, 0, NULL, 0), -EOPNOTSUPP);
	{
		struct vos_slot *s;
		struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 0 } };
		assert_int_equal(vos_slot_acquire(c, &s), 0);
		strcpy(vos_slot_buf(s), "hard");
		memcpy((char *)vos_slot_buf(s) + 64, ts, sizeof ts);
		struct vos_req r = { .op = VOS_OP_UTIMENSAT, .arg = { VOS_FD_ROOT, 0, 64, 0 } };
		assert_int_equal(vos_slot_call(s, &r), 0);
		vos_slot_release(s);
	}
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "hsrc", 0, &st), 0);
	assert_int_equal(st.st_mtime, 1234567890);
	assert_int_equal(call(c, VOS_OP_TRUNCATE, VOS_FD_ROOT, 0, 2, 0, 0, "hard", 1, NULL, 0, NULL, 0), 0);
	assert_string_equal(native_content("hsrc"), "hs");
	assert_int_equal(call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, R_OK | W_OK, 0, 0, "hard", 1,
			      NULL, 0, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, 0x40, 0, 0, "hard", 1,
			      NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "hard", 1, NULL, 0, NULL, 0), 0);
	char sf[256];
	assert_int_equal(call(c, VOS_OP_STATFS, VOS_FD_ROOT, 0, 0, 0, 0, "dir", 1, NULL, 0, sf, sizeof sf), 0);
	assert_int_equal(vos_call0(c, VOS_OP_UMASK, 027, 0, 0) & ~0777, 0);
	assert_int_equal(vos_call0(c, VOS_OP_UMASK, 022, 0, 0), 027);
	vos_client_close(c);
}

/*
 * Errno parity: the same call on the same tree, natively (relative to a
 * native directory) and through the service (relative to the root).
 */
enum kind { K_STAT, K_LSTAT, K_UNLINK, K_RMDIR, K_MKDIR, K_READLINK, K_OPEN, K_RENAME,
	    K_LINK, K_SYMLINK, K_ACCESS, K_CHMOD_NOFOLLOW, K_STATX_NOFOLLOW };

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
	/* The root itself (native "/" cannot be used: fixed expectations). */
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "/", 1, NULL, 0, NULL, 0), -EISDIR);
	assert_int_equal(call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, AT_REMOVEDIR, 0, 0, "/", 1, NULL, 0, NULL, 0),
			 -EBUSY);
	assert_int_equal(call(c, VOS_OP_MKDIRAT, VOS_FD_ROOT, 0, 0755, 0, 0, "/", 1, NULL, 0, NULL, 0), -EEXIST);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "/", 1, "x", 3, NULL, 0),
			 -EBUSY);
	struct stat st;
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "", 0, &st), -ENOENT);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "", AT_EMPTY_PATH, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(d);
	vos_client_close(c);
	assert_int_equal(bad, 0);
}

static void expect_secret(struct vos_client *c, int dirfd, const char *path, const char *want)
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

static void test_escape(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char p[PATH_MAX];
	/* ".." above the root: the root itself, or (view) the empty view root. */
	const char *top = have_view ? NULL : "inside";

	/* ".." never leaves the root */
	expect_secret(c, VOS_FD_ROOT, "../secret", top);
	expect_secret(c, VOS_FD_ROOT, "/../../../../secret", top);
	expect_secret(c, VOS_FD_ROOT, "../outside/secret", NULL);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 301), 301);
	expect_secret(c, 301, "../../secret", top);
	expect_secret(c, 301, "../../outside/secret", NULL);

	/* symlinks made through the service, absolute and relative */
	in_dir(p, outside, "secret");
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, p, 0, "esc_abs", 2, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "../outside/secret", 0,
			      "esc_rel", 2, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "/secret", 0, "in_abs", 2,
			      NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "/storage/secret", 0,
			      "in_store", 2, NULL, 0), 0);
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "/", 0, "dir/to_root", 2,
			      NULL, 0), 0);
	expect_secret(c, VOS_FD_ROOT, "esc_abs", NULL);
	expect_secret(c, VOS_FD_ROOT, "esc_rel", NULL);
	/* "/secret" is the client's /secret: not in the view; the export's
	 * without one.  "/storage/secret" the other way round. */
	expect_secret(c, VOS_FD_ROOT, "in_abs", top);
	expect_secret(c, VOS_FD_ROOT, "in_store", have_view ? "inside" : NULL);
	expect_secret(c, 301, "to_root/../secret", top);
	expect_secret(c, 301, "to_root/../outside/secret", NULL);
	expect_secret(c, 301, "to_root/storage/secret", have_view ? "inside" : NULL);

	/* creating through an escaping symlink creates inside (or fails) */
	assert_int_equal(call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, "../outside/created", 0,
			      "esc_new", 2, NULL, 0), 0);
	int64_t r = r_open(c, VOS_FD_ROOT, "esc_new", O_CREAT | O_WRONLY, 0644, 302);
	if (r >= 0)
		r_close(c, 302);
	in_dir(p, outside, "created");
	assert_int_equal(access(p, F_OK), -1);
	/* metadata calls through a symlink stay inside too */
	struct stat st;
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "esc_abs", 0, &st), -ENOENT);
	assert_int_equal(call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "esc_rel", 1, NULL, 0,
			      NULL, 0), -ENOENT);
	in_dir(p, outside, "secret");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* a hard link to something outside cannot be named at all */
	assert_int_equal(call(c, VOS_OP_LINKAT, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, AT_SYMLINK_FOLLOW,
			      "esc_rel", 1, "hl", 3, NULL, 0), -ENOENT);
	/* rename cannot move anything out: into the (other, read-only) view
	 * root at most, or onto the root itself */
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "in_abs", 1,
			      "../../outside/moved", 3, NULL, 0), -ENOENT);
	assert_int_equal(call(c, VOS_OP_RENAMEAT2, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "in_abs", 1,
			      "../../moved", 3, NULL, 0), have_view ? -EXDEV : 0);
	in_dir(p, base, "moved");
	assert_int_equal(access(p, F_OK), -1);
	in_dir(p, rootdir, have_view ? "in_abs" : "moved");
	assert_int_equal(lstat(p, &st), 0);         /* it is still (or landed) in the root */
	assert_int_equal(r_close(c, 301), 0);
	vos_client_close(c);
}

static void test_protocol_validation(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	size_t ss = vos_client_slot_size(c);
	struct vos_slot *s;

	assert_int_equal(vos_call0(c, 999, 0, 0, 0), -ENOSYS);
	assert_int_equal(vos_call0(c, VOS_OP__COUNT, 0, 0, 0), -ENOSYS);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDWR, 0, 5), 5);

	/* lengths and offsets outside the slot */
	assert_int_equal(vos_call0(c, VOS_OP_READ, 5, (int64_t)ss + 1, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_READ, 5, -1, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_PREAD, 5, (int64_t)ss * 2, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, 16, (int64_t)ss - 8), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, 1, -5), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_WRITE, 5, INT64_MAX, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_GETDENTS64, 5, (int64_t)ss + 4096, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_READLINKAT, VOS_FD_ROOT, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_EXEC, -1, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_EXEC, (int64_t)ss, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FORK_ABORT, (int64_t)ss - 4, 0, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, F_SETLK, (int64_t)ss), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, F_SETFL, O_ASYNC), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 5, 12345, 0), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_FSTATAT, 5, VOS_NO_PATH, 0x10000), -EINVAL);

	/* path offsets: outside the slot, or no NUL inside it */
	assert_int_equal(vos_call0(c, VOS_OP_OPENAT, VOS_FD_ROOT, -5, O_RDONLY), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_OPENAT, VOS_FD_ROOT, (int64_t)ss, O_RDONLY), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, INT64_MIN, 0), -EINVAL);
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	memset(vos_slot_buf(s), 'a', ss);
	struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { VOS_FD_ROOT, (int64_t)ss - 10, O_RDONLY, 0, 6 } };
	assert_int_equal(vos_slot_call(s, &r), -EINVAL);
	r.arg[1] = 0;           /* longer than PATH_MAX */
	assert_int_equal(vos_slot_call(s, &r), -ENAMETOOLONG);
	vos_slot_release(s);

	/* bad dirfds / fds */
	assert_int_equal(call(c, VOS_OP_OPENAT, 77, 0, O_RDONLY, 0, 6, "file", 1, NULL, 0, NULL, 0), -EBADF);
	assert_int_equal(call(c, VOS_OP_OPENAT, -7, 0, O_RDONLY, 0, 6, "file", 1, NULL, 0, NULL, 0), -EBADF);
	assert_int_equal(call(c, VOS_OP_OPENAT, 5, 0, O_RDONLY, 0, 6, "x", 1, NULL, 0, NULL, 0), -ENOTDIR);
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 5, -1, 0), -EBADF);
	assert_int_equal(vos_call0(c, VOS_OP_DUP, 4, 9, 0), -EBADF);
	assert_int_equal(vos_call0(c, VOS_OP_FCHOWN, 5, -2, 0), -EINVAL);

	/* still serving normally */
	char buf[16];
	assert_int_equal(r_pread(c, 5, buf, 4, 0), 4);
	assert_int_equal(r_close(c, 5), 0);
	vos_client_close(c);
}

static void test_fork_claim(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];
	uint8_t token[VOS_TOKEN_LEN], bogus[VOS_TOKEN_LEN] = { 1, 2, 3 };

	assert_int_equal(r_open(c1, VOS_FD_ROOT, "forkfile", O_CREAT | O_RDWR | O_TRUNC, 0644, 40), 40);
	assert_int_equal(r_write(c1, 40, "0123456789"), 10);
	assert_int_equal(vos_call0(c1, VOS_OP_LSEEK, 40, 0, SEEK_SET), 0);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "file", O_RDONLY, 0, 41), 41);

	assert_int_equal(call(c1, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	struct vos_client *c2 = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c2);
	/* a token is claimed once; unknown tokens are refused */
	assert_null(connect_kind(VOS_HELLO_CLAIM, token));
	assert_int_equal(errno, ENOENT);
	assert_null(connect_kind(VOS_HELLO_CLAIM, bogus));
	assert_int_equal(errno, ENOENT);
	assert_memory_not_equal(vos_client_token(c1), vos_client_token(c2), VOS_TOKEN_LEN);

	/* fork semantics: same open file descriptions (shared offset), own tables */
	assert_int_equal(r_read(c1, 40, buf, 3), 3);
	assert_int_equal(r_read(c2, 40, buf, 3), 3);
	assert_string_equal(buf, "345");
	assert_int_equal(r_close(c1, 41), 0);
	assert_int_equal(r_pread(c2, 41, buf, 4, 0), 4);
	assert_int_equal(r_open(c2, VOS_FD_ROOT, "secret", O_RDONLY, 0, 42), 42);
	assert_int_equal(r_read(c1, 42, buf, 4), -EBADF);

	/* a forked shadow forks again (its token is registered anew) */
	assert_int_equal(call(c2, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	struct vos_client *c3 = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c3);
	assert_int_equal(r_pread(c3, 42, buf, 6, 0), 6);
	assert_string_equal(buf, "inside");

	/* FORK_ABORT drops the pending shadow */
	assert_int_equal(call(c1, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	{       /* the token may contain NUL bytes: copy it raw */
		struct vos_slot *s;
		assert_int_equal(vos_slot_acquire(c1, &s), 0);
		memcpy(vos_slot_buf(s), token, sizeof token);
		struct vos_req r = { .op = VOS_OP_FORK_ABORT, .arg = { 0 } };
		assert_int_equal(vos_slot_call(s, &r), 0);
		vos_slot_release(s);
	}
	assert_null(connect_kind(VOS_HELLO_CLAIM, token));
	assert_int_equal(errno, ENOENT);

	vos_client_close(c3);
	vos_client_close(c2);
	assert_int_equal(r_close(c1, 40), 0);
	vos_client_close(c1);
}

static void test_fork_live_exec(void **state)
{
	(void)state;
	struct vos_client *c1 = connect_new();
	char buf[64];

	assert_int_equal(r_open(c1, VOS_FD_ROOT, "file", O_RDONLY, 0, 60), 60);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "secret", O_RDONLY, 0, 61), 61);
	assert_int_equal(r_open(c1, VOS_FD_ROOT, "dir/file", O_RDONLY, 0, 62), 62);
	struct vos_client *c2 = connect_kind(VOS_HELLO_FORK_LIVE, vos_client_token(c1));
	assert_non_null(c2);
	assert_int_equal(r_pread(c2, 61, buf, 6, 0), 6);
	assert_string_equal(buf, "inside");

	/* exec keeps exactly the listed fds */
	struct vos_slot *s;
	assert_int_equal(vos_slot_acquire(c2, &s), 0);
	int32_t keep[] = { 61, 1000 };
	memcpy(vos_slot_buf(s), keep, sizeof keep);
	struct vos_req r = { .op = VOS_OP_EXEC, .arg = { 2, 0 } };
	assert_int_equal(vos_slot_call(s, &r), 0);
	vos_slot_release(s);
	assert_int_equal(r_pread(c2, 60, buf, 4, 0), -EBADF);
	assert_int_equal(r_pread(c2, 62, buf, 4, 0), -EBADF);
	assert_int_equal(r_pread(c2, 61, buf, 6, 0), 6);
	/* the parent is untouched */
	assert_int_equal(r_pread(c1, 60, buf, 4, 0), 4);
	assert_int_equal(r_pread(c1, 62, buf, 6, 0), 6);

	/* a spawned shadow can be spawned from in turn */
	struct vos_client *c3 = connect_kind(VOS_HELLO_FORK_LIVE, vos_client_token(c2));
	assert_non_null(c3);
	assert_int_equal(r_pread(c3, 61, buf, 6, 0), 6);
	uint8_t bogus[VOS_TOKEN_LEN] = { 9 };
	assert_null(connect_kind(VOS_HELLO_FORK_LIVE, bogus));
	assert_int_equal(errno, ENOENT);
	vos_client_close(c3);
	vos_client_close(c2);
	vos_client_close(c1);
}

/* Run fn in a child process as uid/gid nobody; returns its exit status. */
static int as_nobody(int (*fn)(void))
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

static int nobody_calls(void)
{
	umask(077);
	struct vos_client_config cfg = config();
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	if (!c)
		return 1;
	if (r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 2;
	if (r_open(c, VOS_FD_ROOT, "file", O_WRONLY, 0, 3) != -EACCES)
		return 3;
	if (r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 3) != 3)
		return 4;
	if (r_open(c, VOS_FD_ROOT, "public/mine", O_CREAT | O_WRONLY, 0666, 4) != 4)
		return 5;
	if (call(c, VOS_OP_UNLINKAT, VOS_FD_ROOT, 0, 0, 0, 0, "file", 1, NULL, 0, NULL, 0) != -EACCES)
		return 6;
	if (call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0777, 0, 0, "file", 1, NULL, 0, NULL, 0) != -EPERM)
		return 7;
	if (call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, W_OK, 0, 0, "file", 1, NULL, 0, NULL, 0) != -EACCES)
		return 8;
	/* /proc/self/fd paths work in a shadow that dropped privileges */
	if (call(c, VOS_OP_TRUNCATE, VOS_FD_ROOT, 0, 0, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0)
		return 12;
	if (call(c, VOS_OP_UTIMENSAT, VOS_FD_ROOT, 0, VOS_NO_PATH, 0, 0, "public/mine", 1, NULL, 0,
		 NULL, 0) != 0)
		return 13;
	char path[16];
	if (call(c, VOS_OP_FDPATH, 4, 0, 0, 0, 0, NULL, 0, NULL, 0, path, sizeof path) != 12 ||
	    strcmp(path, "/public/mine") != 0)
		return 14;
	if (call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0640, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0 ||
	    call(c, VOS_OP_FCHMODAT, VOS_FD_ROOT, 0, 0600, 0, 0, "public/mine", 1, NULL, 0, NULL, 0) != 0)
		return 15;
	/* a forked shadow keeps the credentials */
	uint8_t token[VOS_TOKEN_LEN];
	if (call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token) != 0)
		return 9;
	struct vos_client *c2 = vos_client_connect(&cfg, VOS_HELLO_CLAIM, token);
	if (!c2)
		return 10;
	if (r_open(c2, VOS_FD_ROOT, "private", O_RDONLY, 0, 5) != -EACCES)
		return 11;
	vos_client_close(c2);
	vos_client_close(c);
	return 0;
}

static void test_credentials(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(as_nobody(nobody_calls), 0);
	char p[PATH_MAX];
	struct stat st;
	in_dir(p, rootdir, "public/mine");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOBODY);
	assert_int_equal(st.st_mode & 0777, 0600);     /* the client's umask 077 */
	unlink(p);
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
	struct vos_client_config cfg = config();
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_FORK_LIVE, token);
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

/* VOS_OP_SETCREDS with the given ids and n groups (copied to slot offset
 * 64 when n > 0), the list's offset being off. */
static int64_t setcreds_at(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
			   int64_t egid, int64_t n, const gid_t *groups, int64_t off)
{
	struct vos_req r = { .op = VOS_OP_SETCREDS, .arg = { ruid, euid, rgid, egid, n, off } };
	struct vos_slot *s;
	if (vos_slot_acquire(c, &s) != 0)
		return -999;
	if (n > 0 && n <= 64)
		memcpy((char *)vos_slot_buf(s) + 64, groups, (size_t)n * sizeof *groups);
	int64_t res = vos_slot_call(s, &r);
	vos_slot_release(s);
	return res;
}

static int64_t setcreds(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
			int64_t egid, int n, const gid_t *groups)
{
	return setcreds_at(c, ruid, euid, rgid, egid, n, groups, 64);
}

static int64_t r_access(struct vos_client *c, const char *path, int flags)
{
	return call(c, VOS_OP_FACCESSAT, VOS_FD_ROOT, 0, R_OK, flags, 0, path, 1, NULL, 0, NULL, 0);
}

/* Runs as root in a child of the test, which changes its own ids. */
static int setcreds_calls(void)
{
	struct vos_client_config cfg = config();
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	gid_t g[64], zero = 0, nobody = NOBODY;
	int n = getgroups(64, g);
	if (!c || n < 0)
		return 1;
	/* the truth, as root: accepted, nothing changes */
	if (setcreds(c, 0, 0, 0, 0, n, g) != 0 || r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != 3 ||
	    r_close(c, 3) != 0)
		return 2;
	/* a lie (we are root): refused, the shadow stays root */
	if (setcreds(c, NOBODY, NOBODY, NOBODY, NOBODY, 0, g) != -EPERM ||
	    r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != 3 || r_close(c, 3) != 0)
		return 3;
	/* malformed: a -1 id, a negative or huge count, a list past the slot,
	 * a -1 group */
	gid_t minus = (gid_t)-1;
	if (setcreds(c, -1, 0, 0, 0, 0, g) != -EINVAL || setcreds(c, 0, 0, 0, 1LL << 32, 0, g) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, -1, g, 64) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, 1 << 20, g, 0) != -EINVAL ||
	    setcreds_at(c, 0, 0, 0, 0, 2, g, (int64_t)vos_client_slot_size(c) - 4) != -EINVAL ||
	    setcreds(c, 0, 0, 0, 0, 1, &minus) != -EINVAL)
		return 4;

	/* effective uid nobody, real root: the shadow follows */
	if (setgroups(1, &nobody) < 0 || setresgid(0, NOBODY, 0) < 0 || setresuid(0, NOBODY, 0) < 0)
		return 5;
	/* not told yet: the shadow is still root (the hole the client closes) */
	if (r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != 3 || r_close(c, 3) != 0)
		return 6;
	if (setcreds(c, 0, NOBODY, 0, NOBODY, 1, &nobody) != 0)
		return 7;
	if (r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 8;
	/* access() checks the real ids (root), AT_EACCESS the effective ones */
	if (r_access(c, "private", 0) != 0 || r_access(c, "private", AT_EACCESS) != -EACCES)
		return 9;
	/* a lie about the groups alone */
	if (setcreds(c, 0, NOBODY, 0, NOBODY, 1, &zero) != -EPERM ||
	    r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 10;

	/* back to root through the saved uid: the shadow too */
	if (seteuid(0) < 0 || setegid(0) < 0 || setcreds(c, 0, 0, 0, 0, 1, &nobody) != 0 ||
	    r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != 3 || r_close(c, 3) != 0)
		return 11;

	/* everything dropped; claiming root back is refused */
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 12;
	if (setcreds(c, 0, 0, 0, 0, 0, g) != -EPERM)
		return 13;
	if (setcreds(c, NOBODY, NOBODY, NOBODY, NOBODY, 0, g) != 0 ||
	    r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES ||
	    r_access(c, "private", 0) != -EACCES)
		return 14;
	if (setcreds(c, 0, 0, 0, 0, 0, g) != -EPERM ||
	    r_open(c, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 15;
	/* a forked shadow (claimed by our forked child) keeps the new ids */
	uint8_t token[VOS_TOKEN_LEN];
	if (call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token) != 0)
		return 16;
	struct vos_client *c2 = vos_client_connect(&cfg, VOS_HELLO_CLAIM, token);
	if (!c2 || r_open(c2, VOS_FD_ROOT, "private", O_RDONLY, 0, 3) != -EACCES)
		return 17;
	vos_client_close(c2);
	vos_client_close(c);
	return 0;
}

/*
 * VOS_OP_SETCREDS (as root): the shadow takes the ids the client really has
 * (real and effective, groups; checked against /proc), follows it back to
 * root through the saved uid, and refuses any claim /proc does not confirm.
 */
static void test_setcreds(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(setcreds_calls());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

struct thr {
	struct vos_client *c;
	int id;
	int ok;
};

static void *thread_io(void *arg)
{
	struct thr *t = arg;
	char name[32], want[32], buf[64];
	t->ok = 1;
	for (int i = 0; i < 100 && t->ok; i++) {
		int fd = 1000 + t->id;
		snprintf(name, sizeof name, "t%d", t->id);
		snprintf(want, sizeof want, "thread %d round %d", t->id, i);
		if (r_open(t->c, VOS_FD_ROOT, name, O_CREAT | O_RDWR | O_TRUNC, 0644, fd) != fd ||
		    r_write(t->c, fd, want) != (int64_t)strlen(want) ||
		    r_pread(t->c, fd, buf, sizeof buf - 1, 0) != (int64_t)strlen(want) ||
		    strcmp(buf, want) != 0 || r_close(t->c, fd) != 0)
			t->ok = 0;
		/* table churn on shared numbers */
		vos_call0(t->c, VOS_OP_DUP, 999, 2000 + t->id, 0);
		vos_call0(t->c, VOS_OP_CLOSE, 2000 + t->id, 0, 0);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct thr t[4];
	pthread_t th[4];
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 999), 999);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .c = c, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, thread_io, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(t[i].ok);
	}
	assert_int_equal(r_close(c, 999), 0);
	vos_client_close(c);
}

static void test_pending_timeout(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	struct vos_client *c = connect_new();
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);
	uint8_t token[VOS_TOKEN_LEN];
	pid_t pending[4];
	int n = 0;

	/* FORK_ABORT: the pending shadow ends at once. */
	assert_int_equal(call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	for (int tries = 0; tries < 200 && n == 0; tries++) {
		n = children_of(shadow, pending, 4);
		if (!n)
			sleep_ms(10);
	}
	assert_int_equal(n, 1);
	struct vos_slot *s;
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	memcpy(vos_slot_buf(s), token, sizeof token);
	struct vos_req r = { .op = VOS_OP_FORK_ABORT, .arg = { 0 } };
	assert_int_equal(vos_slot_call(s, &r), 0);
	vos_slot_release(s);
	assert_true(gone(pending[0]));

	assert_int_equal(call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	n = 0;
	for (int tries = 0; tries < 200 && n == 0; tries++) {
		n = children_of(shadow, pending, 4);
		if (!n)
			sleep_ms(10);
	}
	assert_int_equal(n, 1);
	/* Never claimed: it ends by itself (--pending-timeout 3000), and its
	 * token is no longer accepted. */
	assert_true(gone(pending[0]));
	assert_null(connect_kind(VOS_HELLO_CLAIM, token));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

static void test_killed_client(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);

	pid_t client = fork();
	assert_true(client >= 0);
	if (client == 0) {
		close(pfd[0]);
		struct vos_client_config cfg = config();
		struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
		if (!c || r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 7) != 7 ||
		    vos_call0(c, VOS_OP_FLOCK, 7, LOCK_EX, 0) != 0)
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char ch;
	assert_int_equal(read(pfd[0], &ch, 1), 1);
	close(pfd[0]);
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);

	/* The file is locked by the shadow on behalf of the client. */
	char p[PATH_MAX];
	in_dir(p, rootdir, "file");
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);

	kill(client, SIGKILL);
	waitpid(client, NULL, 0);
	assert_true(gone(shadow));
	/* Its fds are gone with it: the lock is free. */
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	/* The daemon goes on serving. */
	struct vos_client *c = connect_new();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

static void test_daemon_death(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	struct vos_client_config cfg = config();
	cfg.dead_after_ms = 3000;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);
	/* A pending (forked) shadow, not a child of the daemon. */
	uint8_t token[VOS_TOKEN_LEN];
	assert_int_equal(call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	pid_t forked[16];
	int nf = 0;
	for (int tries = 0; tries < 200 && nf == 0; tries++) {
		nf = children_of(shadow, forked, 16);
		if (!nf)
			sleep_ms(10);
	}
	assert_true(nf > 0);

	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
	assert_true(gone(shadow));
	for (int i = 0; i < nf; i++)
		assert_true(gone(forked[i]));
	reap_orphans();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	vos_client_close(c);

	/* A new daemon serves new clients. */
	start_daemon();
	c = connect_new();
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
}

static void test_sigterm_cleans_up(void **state)
{
	(void)state;
	pid_t before[256];
	int nb = children_of(daemon_pid, before, 256);
	struct vos_client *c = connect_new();
	pid_t shadow = new_shadow(before, nb);
	assert_true(shadow > 0);
	stop_daemon();
	assert_true(gone(shadow));
	char sock[PATH_MAX];
	in_dir(sock, rundir, "storage.sock");
	assert_int_equal(access(sock, F_OK), -1);
	in_dir(sock, rundir, "storage.view");
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	vos_client_close(c);
}

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

static int64_t r_symlink(struct vos_client *c, const char *target, const char *name)
{
	return call(c, VOS_OP_SYMLINKAT, 0, VOS_FD_ROOT, 0, 0, 0, target, 0, name, 2, NULL, 0);
}

static void test_view(void **state)
{
	(void)state;
	if (!have_view)
		skip();
	char view[PATH_MAX], buf[256];
	in_dir(view, rundir, "storage.view");

	/* The view is mounted in the daemon's namespace only. */
	assert_true(has_mount(daemon_pid, view));
	assert_false(has_mount(0, view));
	assert_int_equal(dir_entries(view), 0);

	struct vos_client *c = connect_new();
	/* ln -s /storage/va /storage/vb; cat /storage/vb/f */
	assert_int_equal(call(c, VOS_OP_MKDIRAT, VOS_FD_ROOT, 0, 0755, 0, 0, "va", 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "/va/f", O_CREAT | O_WRONLY, 0644, 320), 320);
	assert_int_equal(r_write(c, 320, "in va"), 5);
	assert_int_equal(r_close(c, 320), 0);
	assert_int_equal(r_symlink(c, "/storage/va", "vb"), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "vb/f", O_RDONLY, 0, 321), 321);
	assert_int_equal(r_pread(c, 321, buf, 16, 0), 5);
	assert_string_equal(buf, "in va");
	/* the target is stored as the client wrote it */
	char p[PATH_MAX];
	in_dir(p, rootdir, "vb");
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	assert_int_equal(n, 11);
	buf[n] = '\0';
	assert_string_equal(buf, "/storage/va");
	/* FDPATH stays export-relative */
	assert_int_equal(call(c, VOS_OP_FDPATH, 321, 0, 0, 0, 0, NULL, 0, NULL, 0, buf, 6), 5);
	assert_string_equal(buf, "/va/f");
	assert_int_equal(call(c, VOS_OP_FDPATH, VOS_FD_ROOT, 0, 0, 0, 0, NULL, 0, NULL, 0, buf, 2), 1);
	assert_string_equal(buf, "/");
	assert_int_equal(r_close(c, 321), 0);

	/* Relative to a remote dirfd, through an absolute symlink. */
	assert_int_equal(r_symlink(c, "/storage/file", "dir/vabs"), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "dir", O_RDONLY | O_DIRECTORY, 0, 322), 322);
	expect_secret(c, 322, "vabs", "file");
	expect_secret(c, 322, "../vb/f", "in va");
	expect_secret(c, 322, "../../storage/file", "file");
	assert_int_equal(r_close(c, 322), 0);

	/* Absolute symlinks elsewhere reach nothing, not the daemon's files. */
	assert_int_equal(r_symlink(c, "/etc/passwd", "vpw"), 0);
	assert_int_equal(r_symlink(c, "/storage/../etc/passwd", "vpw2"), 0);
	struct stat st;
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "vpw", 0, &st), -ENOENT);
	assert_int_equal(r_stat(c, VOS_FD_ROOT, "vpw2", 0, &st), -ENOENT);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "vpw", O_RDONLY, 0, 323), -ENOENT);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "/../etc/passwd", O_RDONLY, 0, 323), -ENOENT);
	/* The way back in is the client's: /storage */
	expect_secret(c, VOS_FD_ROOT, "/../storage/file", "file");

	/* Above the root: the view root, read-only, holding only the mount point. */
	assert_int_equal(r_open(c, VOS_FD_ROOT, "..", O_RDONLY | O_DIRECTORY, 0, 324), 324);
	assert_int_equal(call(c, VOS_OP_FDPATH, 324, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0), -ENOENT);
	char dents[4096];
	int64_t dn = call(c, VOS_OP_GETDENTS64, 324, sizeof dents, 0, 0, 0, NULL, 0, NULL, 0,
			  dents, sizeof dents);
	assert_true(dn > 0);
	int names = 0, storage = 0;
	for (int64_t off = 0; off < dn;) {
		struct dirent64 *d = (struct dirent64 *)(void *)(dents + off);
		names++;
		storage |= strcmp(d->d_name, "storage") == 0;
		off += d->d_reclen;
	}
	assert_int_equal(names, 3);
	assert_true(storage);
	assert_int_equal(call(c, VOS_OP_MKDIRAT, 324, 0, 0755, 0, 0, "x", 1, NULL, 0, NULL, 0), -EROFS);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "../x", O_CREAT | O_WRONLY, 0644, 325), -EROFS);
	assert_int_equal(r_close(c, 324), 0);
	vos_client_close(c);
}

static int run_status(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_mount_point_option(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 200], rd[PATH_MAX], p[PATH_MAX];
	xsnprintf(cmd, sizeof cmd, "'%s' --role storage --root / --rundir /tmp --mount-point storage 2>/dev/null",
		  daemon_bin);
	assert_int_equal(run_status(cmd), 2);
	xsnprintf(cmd, sizeof cmd, "'%s' --role storage --root / --rundir /tmp --mount-point /a/../b 2>/dev/null",
		  daemon_bin);
	assert_int_equal(run_status(cmd), 2);
	if (!have_view)
		return;

	/* Another mount point, spelled loosely: symlinks through it work,
	 * through /storage they do not. */
	in_dir(rd, base, "run2");
	assert_int_equal(mkdir(rd, 0755), 0);
	pid_t d2 = extra_daemon = spawn_daemon(rd, "--mount-point", "/mnt//data/./");
	struct vos_client_config cfg = config();
	cfg.rundir = rd;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);
	assert_int_equal(r_symlink(c, "/mnt/data/file", "mp_in"), 0);
	assert_int_equal(r_symlink(c, "/storage/file", "mp_out"), 0);
	expect_secret(c, VOS_FD_ROOT, "mp_in", "file");
	expect_secret(c, VOS_FD_ROOT, "mp_out", NULL);
	expect_secret(c, VOS_FD_ROOT, "../../mnt/data/file", "file");
	vos_client_close(c);
	in_dir(p, rd, "storage.view");
	assert_true(has_mount(d2, p));

	/* At exit: the socket and the view directory go, the placeholder stays
	 * (running clients hold it). */
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

/* As nobody: a daemon of its own warns and resolves from the export root. */
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
	struct vos_client_config cfg = config();
	cfg.rundir = rd;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	int ret = 0;
	if (!c)
		ret = 2;
	else if (r_symlink(c, "/secret", "public/nb_abs") != 0)
		ret = 3;
	else if (r_open(c, VOS_FD_ROOT, "public/nb_abs", O_RDONLY, 0, 3) != 3)
		ret = 4;        /* "/secret" is the export root's */
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
		warned |= strstr(line, "vos-serviced: warning: not root: absolute symlinks "
				 "resolve from the export root") != NULL;
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

/* Wait (bounded) until /proc/locks shows someone blocked on inode ino. */
static int lock_waiter_on(ino_t ino)
{
	char line[512];
	for (int tries = 0; tries < 1000; tries++) {
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
		sleep_ms(10);
	}
	return 0;
}

struct bar_thr {
	struct vos_client *c;
	_Atomic int *flag;              /* what the main thread has done so far */
	int64_t result;
	int saw;                        /* *flag when the call returned */
};

static void *flock_thread(void *arg)
{
	struct bar_thr *t = arg;
	t->result = vos_call0(t->c, VOS_OP_FLOCK, 70, LOCK_EX, 0);
	return NULL;
}

static void *nop_thread(void *arg)
{
	struct bar_thr *t = arg;
	t->result = vos_call0(t->c, VOS_OP_NOP, 0, 0, 0);
	t->saw = *t->flag;
	return NULL;
}

static void *exec_thread(void *arg)
{
	struct bar_thr *t = arg;
	struct vos_slot *s;
	if (vos_slot_acquire(t->c, &s) != 0) {
		t->result = -999;
		return NULL;
	}
	int32_t keep[] = { 70 };
	memcpy(vos_slot_buf(s), keep, sizeof keep);
	struct vos_req r = { .op = VOS_OP_EXEC, .arg = { 1, 0 } };
	t->result = vos_slot_call(s, &r);
	t->saw = *t->flag;
	vos_slot_release(s);
	return NULL;
}

/*
 * A request of the client blocks in the shadow (flock on a file we hold
 * locked).  Another call goes through meanwhile (the blocked worker does
 * not hold up the next request); an EXEC is answered only after the
 * blocked request has completed (the barrier).  The flag says how far the
 * main thread got: 1 = waited 500 ms, 2 = released the lock.
 */
static void test_exec_barrier(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char p[PATH_MAX];
	struct stat st;
	_Atomic int flag = 0;

	assert_int_equal(r_open(c, VOS_FD_ROOT, "barrier", O_CREAT | O_RDWR, 0644, 70), 70);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 71), 71);
	in_dir(p, rootdir, "barrier");
	int nfd = open(p, O_RDONLY);
	assert_true(nfd >= 0);
	assert_int_equal(fstat(nfd, &st), 0);
	assert_int_equal(flock(nfd, LOCK_EX), 0);

	struct bar_thr a = { .c = c, .flag = &flag }, n = a, b = a;
	pthread_t ta, tn, tb;
	assert_int_equal(pthread_create(&ta, NULL, flock_thread, &a), 0);
	assert_true(lock_waiter_on(st.st_ino));
	/* The other worker answers a NOP at once (without this, only when a
	 * sleeping worker's periodic wake-up finds the request, after 1 s). */
	assert_int_equal(pthread_create(&tn, NULL, nop_thread, &n), 0);
	sleep_ms(500);
	flag = 1;
	pthread_join(tn, NULL);
	/* EXEC waits for the blocked request, which needs our unlock. */
	assert_int_equal(pthread_create(&tb, NULL, exec_thread, &b), 0);
	sleep_ms(300);
	flag = 2;
	assert_int_equal(flock(nfd, LOCK_UN), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	close(nfd);
	assert_int_equal(n.result, 0);
	assert_int_equal(n.saw, 0);
	assert_int_equal(a.result, 0);
	assert_int_equal(b.result, 0);
	assert_int_equal(b.saw, 2);
	/* and EXEC did its work: 70 kept, 71 closed */
	assert_int_equal(r_close(c, 71), -EBADF);
	assert_int_equal(r_close(c, 70), 0);
	/* the shadow serves on, and an exec with nothing in flight is quick */
	assert_int_equal(vos_call0(c, VOS_OP_EXEC, 0, 0, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	vos_client_close(c);
	unlink(p);
}

static int raw_connect(const char *rd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	xsnprintf(sa.sun_path, sizeof sa.sun_path, "%s/storage.sock", rd);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The reply the daemon sends on a connection it drops (up to 10 s). */
static int32_t refusal(int fd)
{
	struct timeval tv = { 10, 0 };
	struct vos_hello_reply rep;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n = recv(fd, &rep, sizeof rep, 0);
	return n == (ssize_t)sizeof rep ? rep.status : 1;
}

static void test_silent_connection(void **state)
{
	(void)state;
	int silent[3];
	for (int i = 0; i < 3; i++) {
		silent[i] = raw_connect(rundir);
		assert_true(silent[i] >= 0);
	}
	/* Three connections that never speak do not hold up a client: it
	 * connects and gets answers while they are still open. */
	struct vos_client *c = connect_new();
	char buf[16];
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 5), 5);
	assert_int_equal(r_pread(c, 5, buf, 4, 0), 4);
	/* and a forked child's claim is handed over too */
	uint8_t token[VOS_TOKEN_LEN];
	assert_int_equal(call(c, VOS_OP_FORK, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, token, sizeof token), 0);
	struct vos_client *c2 = connect_kind(VOS_HELLO_CLAIM, token);
	assert_non_null(c2);
	assert_int_equal(r_pread(c2, 5, buf, 4, 0), 4);
	vos_client_close(c2);
	vos_client_close(c);
	/* In the end the daemon gives up on them, with a reason. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(refusal(silent[i]), -ETIMEDOUT);
		close(silent[i]);
	}
}

/* As nobody: 32 silent connections are the most it may have waiting. */
static int nobody_half_open(void)
{
	int fds[33], ret = 0;
	for (int i = 0; i < 33; i++)
		if ((fds[i] = raw_connect(rundir)) < 0)
			return 1;
	if (refusal(fds[32]) != -EAGAIN)
		ret = 2;
	/* the first 32 are still waiting for their hello */
	for (int i = 0; i < 32 && !ret; i++) {
		struct pollfd pf = { .fd = fds[i], .events = POLLIN };
		if (poll(&pf, 1, 0) != 0)
			ret = 3;
	}
	/* Signal the parent, which checks another user is served meanwhile. */
	if (write(3, "x", 1) != 1)
		ret = 4;
	char ch;
	if (read(4, &ch, 1) != 1)
		ret = 5;
	for (int i = 0; i < 33; i++)
		close(fds[i]);
	return ret;
}

/* As nobody: 48 processes connect at once (more than the half-open quota);
 * all are served, since they send their hello right away. */
static int nobody_burst(void)
{
	pid_t kids[48];
	int go[2], ret = 0;
	if (pipe(go) < 0)
		return 1;
	for (int i = 0; i < 48; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			/* connect together: wait until the parent closes the pipe */
			char ch;
			close(go[1]);
			if (read(go[0], &ch, 1) != 0)
				_exit(3);
			struct vos_client_config cfg = config();
			struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
			int ok = c && vos_call0(c, VOS_OP_NOP, 0, 0, 0) == 0;
			if (c)
				vos_client_close(c);
			_exit(ok ? 0 : 1);
		}
		if (kids[i] < 0)
			ret = 1;
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 48; i++) {
		int st;
		if (kids[i] > 0 && (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) ||
				    WEXITSTATUS(st) != 0))
			ret = 2;
	}
	return ret;
}

static void test_connection_burst(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(as_nobody(nobody_burst), 0);
}

static void test_half_open_quota(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(up[1], 3);
		dup2(down[0], 4);
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		_exit(nobody_half_open());
	}
	close(up[1]);
	close(down[0]);
	char ch;
	int got = (int)read(up[0], &ch, 1);
	int64_t served = -1;
	if (got == 1) {
		/* while nobody's quota is full, root is served */
		struct vos_client *c = connect_kind(VOS_HELLO_NEW, NULL);
		if (c) {
			served = vos_call0(c, VOS_OP_NOP, 0, 0, 0);
			vos_client_close(c);
		}
	}
	/* Let the child go before asserting anything. */
	assert_int_equal(write(down[1], "x", 1), 1);
	close(up[0]);
	close(down[1]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(got, 1);
	assert_int_equal(served, 0);
}

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

int main(int argc, char **argv)
{
	const char *env = getenv("VOS_SERVICED");
	if (env && *env) {
		snprintf(daemon_bin, sizeof daemon_bin, "%s", env);
	} else {
		char self[PATH_MAX];
		snprintf(self, sizeof self, "%s", argv[0]);
		snprintf(daemon_bin, sizeof daemon_bin, "%s/../bin/vos-serviced", dirname(self));
	}
	if (access(daemon_bin, X_OK) != 0) {
		fprintf(stderr, "test_serviced: no daemon at %s (build it, or set VOS_SERVICED)\n",
			daemon_bin);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Shadows orphaned by the daemon-death test come to us, not to init
	 * (which may not reap in a container). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	have_view = geteuid() == 0 && can_make_mount_ns();
	if (geteuid() == 0 && !have_view)
		fprintf(stderr, "test_serviced: no mount namespaces here: view tests skipped\n");

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_args),
		cmocka_unit_test(test_file_io),
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_errno_parity),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_protocol_validation),
		cmocka_unit_test(test_fork_claim),
		cmocka_unit_test(test_fork_live_exec),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_token_needs_same_user),
		cmocka_unit_test(test_setcreds),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_pending_timeout),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_mount_point_option),
		cmocka_unit_test(test_not_root_fallback),
		cmocka_unit_test(test_exec_barrier),
		cmocka_unit_test(test_silent_connection),
		cmocka_unit_test(test_half_open_quota),
		cmocka_unit_test(test_connection_burst),
		cmocka_unit_test(test_killed_client),
		cmocka_unit_test(test_daemon_death),
		cmocka_unit_test(test_sigterm_cleans_up),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);        /* e.g. test_serviced 'test_view*' */
	return cmocka_run_group_tests(tests, setup, teardown);
}
