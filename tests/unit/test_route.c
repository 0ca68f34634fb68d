/*
 * test_route.c - libvirtuos/interpose/route.c's path resolution (with
 * uaccess.c's copies and sockaddr.c's AF_UNIX classification) against a
 * fake service: the default routing table (/storage), the export a
 * temporary directory, the service's answers made with the real calls on
 * it.  Checks what is sent (dirfd, path) or handed to the kernel:
 *
 *  - bad pointers: EFAULT, without a service call; NULL with AT_EMPTY_PATH;
 *  - ".." inside the export: the real parent through a symlink, ENOENT and
 *    ENOTDIR as the kernel, a final ".." sent as written, ".." over the
 *    prefix back to local files (rewritten absolute);
 *  - only paths with such a ".." ask the service anything;
 *  - a long relative path under a virtual cwd: sent relative to the cwd
 *    handle, opened once per cwd;
 *  - AF_UNIX addresses: other families, abstract names and local paths
 *    unchanged, routed paths EOPNOTSUPP, relative ones under a virtual cwd
 *    rewritten.
 *
 *  - the dispatcher's precheck (syscall_precheck.c) for path calls: native
 *    only where vos_path_resolve leaves the call to the kernel unchanged.
 *
 * route.c, uaccess.c, sockaddr.c and syscall_precheck.c are compiled into
 * this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "../../libvirtuos/interpose/route.c"
#include "../../libvirtuos/interpose/uaccess.c"
#include "../../libvirtuos/interpose/sockaddr.c"
#include "../../libvirtuos/interpose/syscall_precheck.c"
#include "../../libvirtuos/interpose/syscall_table.h"

/* ---- what the three files take from the rest of the library ------------- */

#define X(ret, name, args) ret (*real_##name) args;
VOS_REAL_FUNCS(X)
#undef X

struct vos_service vos_services[VOS_MAX_SERVICES];
int vos_nservices;
/* The precheck's inputs (fdtable.c, syscall_table.c): no fd is remote. */
_Atomic(_Atomic uint32_t *) vos_fd_chunks[VOS_FD_CHUNKS];
uint8_t vos_sc_local_fds[VOS_SC_MAX];
struct vos_sc_path_args vos_sc_path_args[VOS_SC_MAX];

static char root[256];          /* the fake export */
static int rootfd = -1;
static struct vos_conn conn = { .client = (struct vos_client *)&conn, .gen = 7 };
static int calls;               /* requests the fake service answered */
static int opens_of_handle;     /* OPENATs at CWD_HANDLE */
static char handle_dir[PATH_MAX];

void vos_init(void)
{
}

/* No remote fds here, so no magic links to them (realpath.c). */
int vos_magic_link(const char *path, char *out, size_t size)
{
	(void)path;
	(void)out;
	(void)size;
	return 0;
}

/* sockaddr.c's system-call entry passes the call on like this. */
long vos_dispatch_raw(long nr, const long a[6])
{
	long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);

	return r < 0 ? -errno : r;
}

#define UACCESS_STUBS_SIGNAL
#include "uaccess_stubs.h"

struct vos_conn *vos_service_connect(int svc)
{
	assert_int_equal(svc, 0);
	return &conn;
}

int vos_fd_remote(int fd, struct vos_client **c, int *svc)
{
	(void)fd;
	(void)c;
	(void)svc;
	return 0;               /* every fd of the test is local */
}

uint32_t vos_fd_entry(int fd)
{
	(void)fd;
	return 0;
}

/* An export-relative path as a path under the fake root. */
static const char *in_root(const char *rel)
{
	while (*rel == '/')
		rel++;
	return *rel ? rel : ".";
}

int64_t vos_path_rpc(const struct vos_path *p, uint16_t op, int64_t a2, int64_t a3, int64_t a4,
		     void *out, size_t outlen, int out_fixed)
{
	(void)a3;
	(void)a4;
	calls++;
	assert_int_equal(op, VOS_OP_FSTATAT);
	assert_int_equal(p->dirfd, VOS_FD_ROOT);
	assert_true(out_fixed && outlen == sizeof(struct stat));
	return fstatat(rootfd, in_root(p->path), out, (int)a2) < 0 ? -errno : 0;
}

int64_t vos_rpc(struct vos_client *c, struct vos_req *r, const struct vos_in *in, int nin,
		void *out, size_t outlen, int out_fixed)
{
	(void)c;
	(void)out;
	(void)outlen;
	(void)out_fixed;
	calls++;
	/* Only the cwd handle's open comes here. */
	assert_int_equal(r->op, VOS_OP_OPENAT);
	assert_int_equal(r->arg[4], CWD_HANDLE);
	assert_int_equal(nin, 1);
	opens_of_handle++;
	snprintf(handle_dir, sizeof(handle_dir), "%s", (const char *)in[0].data);
	return CWD_HANDLE;
}

int vos_remote_openat(const struct vos_path *p, int flags, mode_t mode)
{
	int fd = openat(rootfd, in_root(p->path), flags, mode);

	calls++;
	return fd;
}

int vos_remote_fdpath(struct vos_client *c, int fd, char *buf, size_t size)
{
	char link[64], real[PATH_MAX];
	size_t rl = strlen(root);
	ssize_t n;

	(void)c;
	calls++;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	assert_true(n > 0);
	real[n] = '\0';
	assert_memory_equal(real, root, rl);
	snprintf(buf, size, "%s", real[rl] ? real + rl : "/");
	return 0;
}

int vos_join_prefix(int svc, const char *rel, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", vos_service_prefix(svc), strcmp(rel, "/") ? rel : "");

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vos_remote_close(int fd)
{
	return close(fd);
}

/* ---- the fake export ------------------------------------------------------ */

static void mkpath(const char *rel, int dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else
		assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0644)), 0);
}

static int setup(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/vos-test-route.XXXXXX");
	assert_non_null(mkdtemp(root));
	rootfd = open(root, O_PATH | O_DIRECTORY);
	mkpath("sub", 1);
	mkpath("sub/deeper", 1);
	mkpath("n0", 1);
	mkpath("n0/n1", 1);
	mkpath("file", 0);
	snprintf(p, sizeof(p), "%s/l", root);
	assert_int_equal(symlink("sub/deeper", p), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Resolve and expect a routed path. */
static void routed(const char *path, const char *want, int want_calls)
{
	struct vos_path p;

	calls = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, path, 0, &p), 1);
	assert_int_equal(p.dirfd, VOS_FD_ROOT);
	assert_string_equal(p.path, want);
	assert_int_equal(calls, want_calls);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_bad_pointers(void **state)
{
	struct vos_path p;
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *volatile nul = NULL;

	(void)state;
	calls = 0;
	errno = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, nul, 0, &p), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(vos_path_resolve(AT_FDCWD, none, 0, &p), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(vos_path_resolve(AT_FDCWD, none + 4095, 0, &p), -1);
	assert_int_equal(errno, EFAULT);
	/* NULL with AT_EMPTY_PATH on a local fd: the kernel's (Linux 6.11). */
	assert_int_equal(vos_path_resolve(0, nul, 1, &p), 0);
	assert_null(p.path);
	assert_int_equal(calls, 0);
	munmap(none, 4096);
}

static void test_local(void **state)
{
	struct vos_path p;
	const char *path = "/usr/share";
	char longp[PATH_MAX + 10];

	(void)state;
	calls = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, path, 0, &p), 0);
	assert_ptr_equal(p.path, path);         /* the program's own string */
	/* PATH_MAX bytes without a NUL: the kernel says ENAMETOOLONG. */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vos_path_resolve(AT_FDCWD, longp, 0, &p), 0);
	assert_ptr_equal(p.path, longp);
	assert_int_equal(calls, 0);
}

static void test_routed_plain(void **state)
{
	(void)state;
	routed("/storage", "/", 0);
	routed("/storage/", "/", 0);
	routed("//storage/./sub//deeper/", "/sub/deeper/", 0);
	routed("/storage/sub/.", "/sub/.", 0);
}

static void test_dotdot(void **state)
{
	struct vos_path p;

	(void)state;
	/* A directory: its lexical parent, one FSTATAT to know. */
	routed("/storage/sub/deeper/../x", "/sub/x", 1);
	/* A symlink: the real parent (FSTATAT, open, FDPATH). */
	routed("/storage/l/../x", "/sub/x", 3);
	routed("/storage/l/./../../x", "/x", 4);
	/* A final "..": as written, the service walks it. */
	routed("/storage/n0/n1/..", "/n0/n1/..", 0);
	routed("/storage/l/..", "/l/..", 0);
	routed("/storage/n0/n1/../", "/n0/n1/..", 0);
	/* The kernel's errors. */
	errno = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, "/storage/missing/../x", 0, &p), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vos_path_resolve(AT_FDCWD, "/storage/file/../x", 0, &p), -1);
	assert_int_equal(errno, ENOTDIR);
	/* Over the prefix: local, rewritten absolute. */
	calls = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, "/storage/sub/../../etc/passwd", 0, &p), 0);
	assert_string_equal(p.path, "/etc/passwd");
	assert_int_equal(p.dirfd, AT_FDCWD);
	assert_int_equal(vos_path_resolve(AT_FDCWD, "/storage/..", 0, &p), 0);
	assert_string_equal(p.path, "/");
	assert_int_equal(calls, 1);
	/* ".." before the prefix stays lexical and free. */
	routed("/tmp/../storage/sub", "/sub", 0);
}

static void test_virtual_cwd(void **state)
{
	struct vos_path p;
	char cwd[PATH_MAX], rel[PATH_MAX], want[PATH_MAX];
	size_t n;

	(void)state;
	vos_cwd_set_virtual("/storage/n0");
	routed("n1", "/n0/n1", 0);
	routed("n1/..", "/n0/n1/..", 0);
	routed("../l/../x", "/sub/x", 4);      /* n0: a directory; l: a symlink */
	assert_int_equal(vos_path_resolve(AT_FDCWD, "../../tmp", 0, &p), 0);
	assert_string_equal(p.path, "/tmp");
	/* A relative path whose join is longer than PATH_MAX. */
	n = (size_t)snprintf(cwd, sizeof(cwd), "/storage/");
	while (n < 3000)
		n += (size_t)snprintf(cwd + n, sizeof(cwd) - n, "%s", "dddddddddd/");
	cwd[n - 1] = '\0';
	memset(rel, 'r', 2000);
	rel[2000] = '\0';
	vos_cwd_set_virtual(cwd);
	opens_of_handle = 0;
	calls = 0;
	assert_int_equal(vos_path_resolve(AT_FDCWD, rel, 0, &p), 1);
	assert_int_equal(p.dirfd, CWD_HANDLE);
	assert_string_equal(p.path, rel);
	assert_int_equal(opens_of_handle, 1);
	assert_string_equal(handle_dir, cwd + strlen("/storage"));
	assert_int_equal(vos_path_resolve(AT_FDCWD, rel, 0, &p), 1);
	assert_int_equal(opens_of_handle, 1);   /* the same cwd: no new open */
	cwd[n - 5] = '\0';
	vos_cwd_set_virtual(cwd);
	assert_int_equal(vos_path_resolve(AT_FDCWD, rel, 0, &p), 1);
	assert_int_equal(opens_of_handle, 2);
	assert_string_equal(handle_dir, cwd + strlen("/storage"));
	/* A short one is still sent absolute. */
	snprintf(want, sizeof(want), "%s/x", cwd + strlen("/storage"));
	routed("x", want, 0);
	vos_cwd_set_local();
}

static void test_sockaddr(void **state)
{
	struct sockaddr_un buf, sa = { .sun_family = AF_UNIX };
	struct sockaddr_in in = { .sin_family = AF_INET };
	const struct sockaddr *out;
	socklen_t len, full = sizeof(sa);
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&in, sizeof(in), &buf, &out, &len), 0);
	assert_ptr_equal(out, &in);
	/* Abstract. */
	memcpy(sa.sun_path, "\0storage/x", 10);
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), 0);
	assert_ptr_equal(out, &sa);
	/* Local path. */
	strcpy(sa.sun_path, "/tmp/s");
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), 0);
	assert_ptr_equal(out, &sa);
	assert_int_equal(len, full);
	/* Routed path: refused. */
	strcpy(sa.sun_path, "/storage/s");
	errno = 0;
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	/* Relative under a virtual cwd. */
	vos_cwd_set_virtual("/storage/n0");
	strcpy(sa.sun_path, "s");
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	strcpy(sa.sun_path, "../../tmp/s");
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), 0);
	assert_ptr_equal(out, &buf);
	assert_string_equal(buf.sun_path, "/tmp/s");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 7);
	vos_cwd_set_local();
	/* A full sun_path without a NUL is read safely. */
	memset(sa.sun_path, 'a', sizeof(sa.sun_path));
	sa.sun_path[0] = '/';
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)&sa, full, &buf, &out, &len), 0);
	/* Bad addresses. */
	assert_int_equal(vos_sockaddr_route((struct sockaddr *)none, full, &buf, &out, &len), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(vos_sockaddr_route(NULL, full, &buf, &out, &len), -1);
	assert_int_equal(errno, EFAULT);
	munmap(none, 4096);
}

/* The precheck answers path calls: native (1) only where the full handler
 * would pass the same arguments to the kernel. */
static int pre(int dirfd, const char *path, long flags)
{
	/* newfstatat's layout: dirfd 0, path 1, flags 3. */
	long a[6] = { dirfd, (long)path, 0, flags, 0, 0 };
	struct vos_path p;
	int native = vos_syscall_precheck(SYS_newfstatat, a);

	if (native) {
		calls = 0;
		assert_int_equal(vos_path_resolve(dirfd, path, (flags & AT_EMPTY_PATH) != 0, &p), 0);
		assert_ptr_equal(p.path, path);
		assert_int_equal(p.dirfd, dirfd);
		assert_int_equal(calls, 0);
	}
	return native;
}

static void test_precheck(void **state)
{
	char *none = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char longp[PATH_MAX];
	struct vos_path p;
	int dirfd = open("/usr", O_PATH | O_DIRECTORY);

	(void)state;
	vos_sc_path_args[SYS_newfstatat] = (struct vos_sc_path_args){ 1, 1, 0, 3 };
	/* Absolute: local unless under /storage, a magic link or with "..". */
	assert_true(pre(AT_FDCWD, "/usr/share", 0));
	assert_true(pre(AT_FDCWD, "/", 0));
	assert_true(pre(AT_FDCWD, "/storagex/a", 0));
	assert_true(pre(AT_FDCWD, "/usr/storage", 0));
	assert_true(pre(AT_FDCWD, "/./usr//share/", 0));
	assert_false(pre(AT_FDCWD, "/storage", 0));
	assert_false(pre(AT_FDCWD, "//storage/", 0));
	assert_false(pre(AT_FDCWD, "/./storage/sub", 0));
	assert_false(pre(AT_FDCWD, "/usr/../storage", 0));
	assert_false(pre(AT_FDCWD, "/proc/self/fd/0", 0));
	assert_false(pre(AT_FDCWD, "/dev/fd/0", 0));
	/* Relative to the cwd: only once route.c has seen a plain local cwd. */
	assert_int_equal(chdir("/tmp"), 0);
	vos_cwd_set_local();
	assert_false(pre(AT_FDCWD, "x", 0));
	assert_int_equal(vos_path_resolve(AT_FDCWD, "x", 0, &p), 0);   /* records the cwd */
	assert_true(pre(AT_FDCWD, "x/y", 0));
	assert_true(pre(AT_FDCWD, "", AT_EMPTY_PATH));
	assert_false(pre(AT_FDCWD, "storage", 0));
	assert_false(pre(AT_FDCWD, "a/storage/b", 0));
	assert_false(pre(AT_FDCWD, "../x", 0));
	vos_cwd_set_virtual("/storage/sub");
	assert_false(pre(AT_FDCWD, "x", 0));
	assert_false(pre(AT_FDCWD, "", AT_EMPTY_PATH));
	assert_true(pre(AT_FDCWD, "/usr", 0));
	vos_cwd_set_local();
	assert_false(pre(AT_FDCWD, "x", 0));
	/* Relative to a plain local dirfd (here: /usr). */
	assert_true(pre(dirfd, "share/doc", 0));
	assert_true(pre(dirfd, "", AT_EMPTY_PATH));
	assert_true(pre(dirfd, "", 0));         /* ENOENT from the kernel */
	assert_false(pre(dirfd, "storage/x", 0));
	assert_false(pre(dirfd, "../storage", 0));
	/* Odd pointers and long paths: the full handler. */
	assert_false(pre(AT_FDCWD, NULL, 0));
	assert_false(pre(AT_FDCWD, (const char *)16, 0));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_false(pre(AT_FDCWD, longp, 0));
	/* A string running into an unmapped page: the copy's fault is caught. */
	assert_int_equal(munmap(none + 4096, 4096), 0);
	memset(none, 'a', 4096);
	none[4000] = '/';
	assert_false(pre(AT_FDCWD, none + 4000, 0));
	none[4095] = '\0';
	assert_true(pre(AT_FDCWD, none + 4000, 0));
	/* fcntl on a local fd, except the commands that make a new fd. */
	{
		long f[6] = { 0, F_GETFL, 0, 0, 0, 0 }, d[6] = { 0, F_DUPFD_CLOEXEC, 10, 0, 0, 0 };

		assert_true(vos_syscall_precheck(SYS_fcntl, f));
		assert_false(vos_syscall_precheck(SYS_fcntl, d));
	}
	/* Calls the table does not mark stay with the handler. */
	vos_sc_path_args[SYS_newfstatat].on = 0;
	assert_false(pre(AT_FDCWD, "/usr", 0));
	munmap(none, 4096);
	close(dirfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_pointers),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_routed_plain),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_virtual_cwd),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_precheck),
	};

	unsetenv("VOS_CONFIG");
	real_sigaction = sigaction;
	real_fstat = fstat;
	real_stat = stat;
	real_readlink = readlink;
	real_getcwd = getcwd;
	real_open = open;
	real_read = read;
	real_close = close;
	vos_routes_load();
	return cmocka_run_group_tests(tests, setup, teardown);
}
