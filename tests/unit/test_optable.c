/*
 * test_optable.c - the operation table, defined once in
 * libvirtuos/channel/vos_ops.def:
 *
 *   - the shared lookup (common/vos_opdef.h) the client checks results
 *     with: every op named, roles and flags as documented, the result check;
 *   - the daemon's handler table (optable.c; this test links the daemon's
 *     objects, see the Makefile): every op has a handler, wait rules agree
 *     with the "wait" column, a role serves its own ops and the session ops
 *     only;
 *   - the real daemon (storage role) agreeing with the table: one example
 *     call per op succeeds, with a value > 0 exactly for the ops marked
 *     "value" and 0 for the others; every "file" op answers -EBADF for an fd
 *     the client never opened; unknown ops answer -ENOSYS.
 *
 * A new op needs an example call in example() below (the test fails until
 * it has one).
 */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serviced_harness.h"
#include "common/vos_opdef.h"
#include "../../service-domains/vos-serviced/op.h"

static int has(uint32_t op, unsigned flag)
{
	return (vos_opdef(op)->flags & flag) != 0;
}

/* Exactly the n ops of list are marked flag. */
static void assert_marked_exactly(unsigned flag, const uint32_t *list, size_t n)
{
	unsigned marked = 0;
	for (uint32_t op = 0; op < VOS_OP__COUNT; op++)
		marked += has(op, flag);
	assert_int_equal(marked, n);
	for (size_t i = 0; i < n; i++)
		assert_true(has(list[i], flag));
}

/* ---- the shared table ------------------------------------------------------ */

static void test_every_op_named(void **state)
{
	(void)state;
	for (uint32_t op = 0; op < VOS_OP__COUNT; op++) {
		const struct vos_opdef *d = vos_opdef(op);
		assert_non_null(d);
		assert_non_null(d->name);
		assert_true(d->name[0] != '\0');
		for (const char *p = d->name; *p; p++)
			assert_true((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_');
		assert_string_equal(vos_op_name(op), d->name);
		for (uint32_t other = 0; other < op; other++)
			assert_string_not_equal(vos_opdef(other)->name, d->name);
		assert_true(d->role == VOS_OPROLE_ANY || d->role == VOS_OPROLE_STORAGE ||
			    d->role == VOS_OPROLE_NETWORK || d->role == VOS_OPROLE_STORAGE_NETWORK);
		assert_int_equal(d->flags & ~(VOS_OPF_VALUE | VOS_OPF_FILE | VOS_OPF_WAIT |
					      VOS_OPF_RETRY), 0);
	}
	/* The enum is generated from the same list, in the same order. */
	assert_string_equal(vos_op_name(VOS_OP_NOP), "NOP");
	assert_string_equal(vos_op_name(VOS_OP_PREAD), "PREAD");
	assert_string_equal(vos_op_name(VOS_OP_SETCREDS), "SETCREDS");
	/* The protocol's numbers did not move. */
	assert_int_equal(VOS_OP_NOP, 0);
	assert_int_equal(VOS_OP_OPENAT, 1);
	assert_int_equal(VOS_OP_PREAD, 4);
	assert_int_equal(VOS_OP_DUP, 29);
	assert_int_equal(VOS_OP_UMASK, 32);
	assert_int_equal(VOS_OP_SETCREDS, 37);

	assert_null(vos_opdef(VOS_OP__COUNT));
	assert_null(vos_opdef(999));
	assert_null(vos_opdef(UINT16_MAX));
	assert_string_equal(vos_op_name(VOS_OP__COUNT), "?");
}

static int listed(uint32_t op, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == op)
			return 1;
	return 0;
}

/* Session ops: the shadow's own state, whatever it serves.  Fd ops: files'
 * and sockets'.  Socket ops: the network role's alone. */
static void test_roles(void **state)
{
	static const uint32_t session[] = {
		VOS_OP_NOP, VOS_OP_CLOSE, VOS_OP_DUP, VOS_OP_UMASK, VOS_OP_FORK,
		VOS_OP_FORK_ABORT, VOS_OP_EXEC, VOS_OP_SETCREDS, VOS_OP_CANCEL,
		VOS_OP_SETRLIMIT, VOS_OP_POLL, VOS_OP_EPOLL_CTL, VOS_OP_EPOLL_WAIT,
	};
	static const uint32_t fdops[] = {
		VOS_OP_READ, VOS_OP_PREAD, VOS_OP_WRITE, VOS_OP_PWRITE, VOS_OP_LSEEK,
		VOS_OP_FSTATAT, VOS_OP_FSYNC, VOS_OP_FTRUNCATE, VOS_OP_FCHMOD, VOS_OP_FCHOWN,
		VOS_OP_FSTATFS, VOS_OP_FCNTL, VOS_OP_FLOCK, VOS_OP_GETDENTS64, VOS_OP_FALLOCATE,
		VOS_OP_COPYFD,
	};
	static const uint32_t net[] = {
		VOS_OP_SOCKET, VOS_OP_BIND, VOS_OP_LISTEN, VOS_OP_ACCEPT4, VOS_OP_CONNECT,
		VOS_OP_SHUTDOWN, VOS_OP_SENDMSG, VOS_OP_RECVMSG, VOS_OP_GETSOCKOPT,
		VOS_OP_SETSOCKOPT, VOS_OP_GETSOCKNAME, VOS_OP_SOCKIOCTL,
	};
	(void)state;
	for (uint32_t op = 0; op < VOS_OP__COUNT; op++) {
		int is_session = listed(op, session, sizeof session / sizeof *session);
		int is_fdop = listed(op, fdops, sizeof fdops / sizeof *fdops);
		int is_net = listed(op, net, sizeof net / sizeof *net);
		unsigned want = is_session ? VOS_OPROLE_ANY : is_fdop ? VOS_OPROLE_STORAGE_NETWORK :
				is_net ? VOS_OPROLE_NETWORK : VOS_OPROLE_STORAGE;

		assert_int_equal(vos_opdef(op)->role, want);
		assert_int_equal(vos_op_served_by(op, VOS_SVC_STORAGE), !is_net);
		assert_int_equal(vos_op_served_by(op, VOS_SVC_NETWORK),
				 is_session || is_fdop || is_net);
	}
	assert_false(vos_op_served_by(VOS_OP__COUNT, VOS_SVC_STORAGE));
	assert_false(vos_op_served_by(VOS_OP_READ, 9));
}

/* What the review and the recovery design rely on. */
static void test_flags(void **state)
{
	(void)state;
	/* Exactly the ops whose answer is a value (the client's old list, and CANCEL). */
	static const uint32_t value[] = {
		VOS_OP_OPENAT, VOS_OP_READ, VOS_OP_PREAD, VOS_OP_WRITE, VOS_OP_PWRITE,
		VOS_OP_LSEEK, VOS_OP_READLINKAT, VOS_OP_FCNTL, VOS_OP_DUP, VOS_OP_GETDENTS64,
		VOS_OP_FDPATH, VOS_OP_UMASK, VOS_OP_CANCEL, VOS_OP_WALK, VOS_OP_POLL,
		VOS_OP_SOCKET, VOS_OP_ACCEPT4, VOS_OP_SENDMSG, VOS_OP_RECVMSG, VOS_OP_GETSOCKOPT,
		VOS_OP_GETSOCKNAME, VOS_OP_SOCKIOCTL, VOS_OP_COPYFD, VOS_OP_EPOLL_WAIT,
	};
	assert_marked_exactly(VOS_OPF_VALUE, value, sizeof value / sizeof *value);

	/* Not safe to retry: each would act or answer differently the second time. */
	assert_false(has(VOS_OP_WRITE, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_READ, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_OPENAT, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_RENAMEAT2, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_UNLINKAT, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_MKDIRAT, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_FORK, VOS_OPF_RETRY));
	assert_false(has(VOS_OP_FLOCK, VOS_OPF_RETRY));
	/* Safe. */
	assert_true(has(VOS_OP_NOP, VOS_OPF_RETRY));
	assert_true(has(VOS_OP_PREAD, VOS_OPF_RETRY));
	assert_true(has(VOS_OP_PWRITE, VOS_OPF_RETRY));
	assert_true(has(VOS_OP_FSTATAT, VOS_OPF_RETRY));
	assert_true(has(VOS_OP_STATX, VOS_OPF_RETRY));

	/* May wait without bound: locks, FIFOs, disk flushes, blocking
	 * sockets, poll; nothing else. */
	static const uint32_t wait[] = {
		VOS_OP_OPENAT, VOS_OP_READ, VOS_OP_PREAD, VOS_OP_WRITE, VOS_OP_PWRITE,
		VOS_OP_FSYNC, VOS_OP_FCNTL, VOS_OP_FLOCK, VOS_OP_POLL,
		VOS_OP_ACCEPT4, VOS_OP_CONNECT, VOS_OP_SENDMSG, VOS_OP_RECVMSG, VOS_OP_COPYFD,
		VOS_OP_EPOLL_WAIT,
	};
	assert_marked_exactly(VOS_OPF_WAIT, wait, sizeof wait / sizeof *wait);
}

static void test_result_check(void **state)
{
	(void)state;
	/* errno range */
	assert_true(vos_op_result_ok(VOS_OP_FSYNC, 0, INT64_MAX));
	assert_true(vos_op_result_ok(VOS_OP_FSYNC, -EIO, INT64_MAX));
	assert_true(vos_op_result_ok(VOS_OP_FSYNC, -4095, INT64_MAX));
	assert_false(vos_op_result_ok(VOS_OP_FSYNC, -4096, INT64_MAX));
	assert_false(vos_op_result_ok(VOS_OP_PREAD, INT64_MIN, INT64_MAX));
	/* a value only from an op that returns one, and within the bound */
	assert_false(vos_op_result_ok(VOS_OP_FSYNC, 1, INT64_MAX));
	assert_false(vos_op_result_ok(VOS_OP_SETCREDS, 7, INT64_MAX));
	assert_true(vos_op_result_ok(VOS_OP_PREAD, 4096, 4096));
	assert_false(vos_op_result_ok(VOS_OP_PREAD, 4097, 4096));
	assert_true(vos_op_result_ok(VOS_OP_OPENAT, 5, INT64_MAX));
	/* an op this build does not know: 0 or -errno only */
	assert_true(vos_op_result_ok(VOS_OP__COUNT, -ENOSYS, INT64_MAX));
	assert_true(vos_op_result_ok(999, 0, INT64_MAX));
	assert_false(vos_op_result_ok(999, 1, INT64_MAX));
}

/* ---- the daemon's handler table -------------------------------------------- */

static void test_handlers(void **state)
{
	(void)state;
	assert_int_equal(vos_optable_check(), 0);
	for (uint32_t op = 0; op < VOS_OP__COUNT; op++) {
		const struct vos_ophandler *h = vos_op_handler(op, VOS_SVC_STORAGE);
		const struct vos_ophandler *n = vos_op_handler(op, VOS_SVC_NETWORK);
		/* each role: exactly the ops it serves, with the one handler */
		assert_int_equal(h != NULL, vos_op_served_by(op, VOS_SVC_STORAGE));
		assert_int_equal(n != NULL, vos_op_served_by(op, VOS_SVC_NETWORK));
		if (!h)
			h = n;
		else if (n)
			assert_ptr_equal(n, h);
		assert_non_null(h);
		assert_non_null(h->issue);
		assert_int_equal(h->wait != WAIT_NEVER, has(op, VOS_OPF_WAIT));
		if (h->wait == WAIT_IF_FILE || h->wait == WAIT_IF_BLOCKING)
			assert_true(has(op, VOS_OPF_FILE));
	}
	assert_null(vos_op_handler(VOS_OP__COUNT, VOS_SVC_STORAGE));
	assert_null(vos_op_handler(UINT16_MAX, VOS_SVC_STORAGE));
	/* The storage role of this build is the one the table serves. */
	const struct vos_role *r = vos_role_find("storage");
	assert_non_null(r);
	assert_int_equal(r->kind, VOS_SVC_STORAGE);
	assert_null(vos_role_find("nosuchrole"));
}

/* ---- the daemon agrees with the table ----------------------------------------- */

#define FD_FILE 5               /* "f", O_RDWR */
#define FD_DIR  6               /* "d", a directory */
#define FD_NONE 900             /* never opened */
#define FD_FIFO 7               /* "ep", a FIFO (EPOLL_CTL's example) */
#define FD_EPOLL 600            /* EPOLL_CTL's instance */

static int64_t call_args(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
			 int64_t a3, int64_t a4)
{
	return call(c, op, a0, a1, a2, a3, a4, NULL, 0, NULL, 0, NULL, 0);
}

/* op with path@a1 (dirfd VOS_FD_ROOT in a0) and more arguments. */
static int64_t call_path(struct vos_client *c, uint16_t op, const char *path, int64_t a2,
			 int64_t a3, int64_t a4)
{
	return call(c, op, VOS_FD_ROOT, 0, a2, a3, a4, path, 1, NULL, 0, NULL, 0);
}

/* CANCEL's example: a flock on c that waits for another client's lock is
 * running when it is cancelled (answer 1), and completes with -EINTR. */
static int64_t example_cancel(struct vos_client *c)
{
	struct vos_client *holder = connect_new();
	struct vos_req r = { .op = VOS_OP_FLOCK, .arg = { 12, LOCK_EX } };
	struct vos_slot *s;
	struct stat st;
	char p[PATH_MAX];
	int64_t ans;

	in_dir(p, rootdir, "f");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(call_path(holder, VOS_OP_OPENAT, "f", O_RDONLY, 0, 11), 11);
	assert_int_equal(call_args(holder, VOS_OP_FLOCK, 11, LOCK_EX, 0, 0, 0), 0);
	assert_int_equal(call_path(c, VOS_OP_OPENAT, "f", O_RDONLY, 0, 12), 12);
	assert_int_equal(vos_slot_acquire(c, &s), 0);
	assert_int_equal(vos_slot_submit(s, &r), 0);
	assert_true(lock_waiter_on(st.st_ino));
	ans = vos_slot_cancel(s);
	assert_int_equal(vos_slot_wait(s), -EINTR);
	vos_slot_release(s);
	assert_int_equal(call_args(c, VOS_OP_CLOSE, 12, 0, 0, 0, 0), 0);
	vos_client_close(holder);
	return ans;
}

/*
 * One successful call of op against the export (f, d, l -> f), with fd as
 * its fd argument where it has one (FD_NONE: expect -EBADF instead).  Names
 * it creates are removed again.
 */
static int64_t example(struct vos_client *c, uint32_t op, int fd)
{
	int64_t r;
	uint8_t token[VOS_TOKEN_LEN] = { 0 };

	switch (op) {
	case VOS_OP_NOP:
		return call_args(c, op, 0, 0, 0, 0, 0);
	case VOS_OP_OPENAT:
		r = call_path(c, op, "f", O_RDONLY, 0, 7);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, 7, 0, 0, 0, 0), 0);
		return r;
	case VOS_OP_CLOSE:
		assert_int_equal(call_path(c, VOS_OP_OPENAT, "f", O_RDONLY, 0, 8), 8);
		return call_args(c, op, 8, 0, 0, 0, 0);
	case VOS_OP_READ:
		if (fd != FD_NONE)
			assert_int_equal(call_args(c, VOS_OP_LSEEK, fd, 0, SEEK_SET, 0, 0), 0);
		return call_args(c, op, fd, 3, 0, 0, 0);
	case VOS_OP_PREAD:
		return call_args(c, op, fd, 3, 0, 0, 0);
	case VOS_OP_WRITE:
		return call(c, op, fd, 2, 0, 0, 0, "ab", 2, NULL, 0, NULL, 0);
	case VOS_OP_PWRITE:
		return call(c, op, fd, 2, 0, 1, 0, "cd", 2, NULL, 0, NULL, 0);
	case VOS_OP_LSEEK:
		return call_args(c, op, fd, 3, SEEK_SET, 0, 0);
	case VOS_OP_FSTATAT:
		return call_path(c, op, "f", 0, 0, 0);
	case VOS_OP_STATX:
		return call_path(c, op, "f", 0, STATX_BASIC_STATS, 0);
	case VOS_OP_FACCESSAT:
		return call_path(c, op, "f", R_OK, 0, 0);
	case VOS_OP_FSYNC:
		return call_args(c, op, fd, 0, 0, 0, 0);
	case VOS_OP_FTRUNCATE:
		return call_args(c, op, fd, 5, 0, 0, 0);
	case VOS_OP_TRUNCATE:
		return call_path(c, op, "f", 5, 0, 0);
	case VOS_OP_UNLINKAT:
		assert_int_equal(call_path(c, VOS_OP_OPENAT, "u", O_CREAT | O_WRONLY, 0644, 9), 9);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, 9, 0, 0, 0, 0), 0);
		return call_path(c, op, "u", 0, 0, 0);
	case VOS_OP_RENAMEAT2:
		assert_int_equal(call_path(c, VOS_OP_OPENAT, "r1", O_CREAT | O_WRONLY, 0644, 9), 9);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, 9, 0, 0, 0, 0), 0);
		r = call(c, op, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "r1", 1, "r2", 3, NULL, 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "r2", 0, 0, 0), 0);
		return r;
	case VOS_OP_MKDIRAT:
		r = call_path(c, op, "m", 0755, 0, 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "m", AT_REMOVEDIR, 0, 0), 0);
		return r;
	case VOS_OP_FCHMOD:
		return call_args(c, op, fd, 0644, 0, 0, 0);
	case VOS_OP_FCHMODAT:
		return call_path(c, op, "f", 0644, 0, 0);
	case VOS_OP_FCHOWN:
		return call_args(c, op, fd, -1, -1, 0, 0);
	case VOS_OP_FCHOWNAT:
		return call_path(c, op, "f", -1, -1, 0);
	case VOS_OP_UTIMENSAT:
		return call_path(c, op, "f", VOS_NO_PATH, 0, 0);
	case VOS_OP_READLINKAT:
		return call_path(c, op, "l", 64, 0, 0);
	case VOS_OP_SYMLINKAT:
		r = r_symlink(c, "f", "s");
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "s", 0, 0, 0), 0);
		return r;
	case VOS_OP_LINKAT:
		r = call(c, op, VOS_FD_ROOT, 0, VOS_FD_ROOT, 0, 0, "f", 1, "h", 3, NULL, 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "h", 0, 0, 0), 0);
		return r;
	case VOS_OP_FSTATFS:
		return call_args(c, op, fd, 0, 0, 0, 0);
	case VOS_OP_STATFS:
		return call_path(c, op, "f", 0, 0, 0);
	case VOS_OP_FCNTL:
		return call_args(c, op, fd, F_GETFL, 0, 0, 0);     /* O_RDWR: > 0 */
	case VOS_OP_FLOCK:
		r = call_args(c, op, fd, LOCK_SH | LOCK_NB, 0, 0, 0);
		if (r == 0)
			assert_int_equal(call_args(c, op, fd, LOCK_UN, 0, 0, 0), 0);
		return r;
	case VOS_OP_DUP:
		r = call_args(c, op, FD_FILE, 10, 0, 0, 0);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, 10, 0, 0, 0, 0), 0);
		return r;
	case VOS_OP_GETDENTS64:
		return call_args(c, op, fd == FD_NONE ? fd : FD_DIR, 4096, 0, 0, 0);
	case VOS_OP_FDPATH:
		return call_args(c, op, FD_FILE, 0, 0, 0, 0);     /* "/f": 2 */
	case VOS_OP_UMASK:
		assert_true(call_args(c, op, 022, 0, 0, 0, 0) >= 0);
		return call_args(c, op, 022, 0, 0, 0, 0);         /* the previous: 022 */
	case VOS_OP_FORK:
		r = r_fork(c, token);
		if (r == 0)
			assert_int_equal(r_fork_abort(c, token), 0);
		return r;
	case VOS_OP_FORK_ABORT:
		assert_int_equal(r_fork(c, token), 0);
		return r_fork_abort(c, token);
	case VOS_OP_EXEC: {
		const int32_t keep[2] = { FD_FILE, FD_DIR };
		return r_exec(c, keep, 2);
	}
	case VOS_OP_FALLOCATE:
		return call_args(c, op, fd, 0, 0, 16, 0);
	case VOS_OP_SETCREDS: {
		gid_t groups[64];
		int n = getgroups(64, groups);
		assert_true(n >= 0);
		return setcreds(c, getuid(), geteuid(), getgid(), getegid(), n, groups);
	}
	case VOS_OP_CANCEL:
		return example_cancel(c);
	case VOS_OP_MKNODAT:
		r = call_path(c, op, "p", S_IFIFO | 0644, 0, 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "p", 0, 0, 0), 0);
		return r;
	case VOS_OP_SETRLIMIT:
		assert_int_equal(call_args(c, op, RLIMIT_NOFILE, 64, 0, 0, 0), -EINVAL);
		return call_args(c, op, RLIMIT_FSIZE, (int64_t)RLIM_INFINITY, 0, 0, 0);
	case VOS_OP_WALK:
		/* Inside the export: 0; through a link out of it: its length. */
		assert_int_equal(call_path(c, op, "f", 1, 0, 0), 0);
		assert_int_equal(r_symlink(c, "/elsewhere", "out"), 0);
		r = call_path(c, op, "out/x", 1, 0, 0);
		assert_int_equal(r, 4 + sizeof "/elsewhere/x");
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "out", 0, 0, 0), 0);
		return r;
	case VOS_OP_POLL: {
		/* The file is ready at once: one entry with revents. */
		struct pollfd p = { FD_FILE, POLLIN, 0 };
		struct vos_req q = { .op = op, .arg = { 1, 1000 } };
		return call_with(c, &q, &p, sizeof p, 0);
	}
	case VOS_OP_COPYFD:
		/* copy_file_range of 3 bytes from fd at 0 into a new file "cp" */
		assert_int_equal(call_path(c, VOS_OP_OPENAT, "cp", O_CREAT | O_WRONLY, 0644, 11), 11);
		{
			struct vos_req q = { .op = VOS_OP_COPYFD, .arg = { fd, 11, 3, 0, -1, 1 } };
			r = call_with(c, &q, NULL, 0, 0);
		}
		assert_int_equal(call_args(c, VOS_OP_CLOSE, 11, 0, 0, 0, 0), 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "cp", 0, 0, 0), 0);
		return r;
	case VOS_OP_EPOLL_CTL: {
		/* A FIFO (pollable) into a new instance at FD_EPOLL, one byte in it. */
		struct vos_req q = { .op = op, .arg = { FD_EPOLL, EPOLL_CTL_ADD, FD_FIFO, EPOLLIN, 7, 1 } };
		assert_int_equal(call_path(c, VOS_OP_MKNODAT, "ep", S_IFIFO | 0644, 0, 0), 0);
		assert_int_equal(call_path(c, VOS_OP_OPENAT, "ep", O_RDWR | O_NONBLOCK, 0, FD_FIFO),
				 FD_FIFO);
		assert_int_equal(call_with(c, &(struct vos_req){ .op = VOS_OP_WRITE,
					   .arg = { FD_FIFO, 1, 0 } }, "x", 1, 0), 1);
		return call_with(c, &q, NULL, 0, 0);
	}
	case VOS_OP_EPOLL_WAIT:
		/* The instance EPOLL_CTL's example made: the FIFO's event. */
		r = call_args(c, op, FD_EPOLL, 4, 1000, 0, 0);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, FD_FIFO, 0, 0, 0, 0), 0);
		assert_int_equal(call_args(c, VOS_OP_CLOSE, FD_EPOLL, 0, 0, 0, 0), 0);
		assert_int_equal(call_path(c, VOS_OP_UNLINKAT, "ep", 0, 0, 0), 0);
		return r;
	default:
		fail_msg("op %u (%s) has no example call in test_optable.c", op, vos_op_name(op));
		return -1;
	}
}

static void test_daemon_agrees(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	assert_int_equal(call_path(c, VOS_OP_OPENAT, "f", O_RDWR, 0, FD_FILE), FD_FILE);
	assert_int_equal(call_path(c, VOS_OP_OPENAT, "d", O_RDONLY | O_DIRECTORY, 0, FD_DIR), FD_DIR);

	for (uint32_t op = 0; op < VOS_OP__COUNT; op++) {
		if (!vos_op_served_by(op, VOS_SVC_STORAGE)) {
			/* the network role's (test_serviced_net.c); here: not served */
			assert_int_equal(vos_call0(c, op, 0, 0, 0), -ENOSYS);
			continue;
		}
		int64_t r = example(c, op, FD_FILE);
		if (r < 0)
			fail_msg("%s: example call failed: %s", vos_op_name(op), strerror((int)-r));
		if (has(op, VOS_OPF_VALUE) && r == 0)
			fail_msg("%s is marked value but answered 0", vos_op_name(op));
		if (!has(op, VOS_OPF_VALUE) && r != 0)
			fail_msg("%s is not marked value but answered %lld", vos_op_name(op),
				 (long long)r);
		if (has(op, VOS_OPF_FILE)) {
			r = example(c, op, FD_NONE);
			if (r != -EBADF)
				fail_msg("%s is marked file but answered %lld for an fd never opened",
					 vos_op_name(op), (long long)r);
		}
	}
	/* Ops this build does not know. */
	assert_int_equal(vos_call0(c, VOS_OP__COUNT, 0, 0, 0), -ENOSYS);
	assert_int_equal(vos_call0(c, 999, 0, 0, 0), -ENOSYS);
	assert_int_equal(vos_call0(c, UINT16_MAX, 0, 0, 0), -ENOSYS);
	/* still serving */
	assert_int_equal(call_args(c, VOS_OP_PREAD, FD_FILE, 2, 0, 0, 0), 2);
	vos_client_close(c);
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	char p[PATH_MAX];
	scratch_make("/tmp/vos-optable-XXXXXX");
	in_dir(p, rootdir, "f");
	put_file(p, "hello", 0644);
	in_dir(p, rootdir, "d");
	assert_int_equal(mkdir(p, 0755), 0);
	in_dir(p, rootdir, "l");
	assert_int_equal(symlink("f", p), 0);
	const char *args[] = {
		"--role", "storage", "--root", rootdir, "--rundir", rundir, NULL,
	};
	daemon_pid = daemon_start(rundir, "storage", args);
	return 0;
}

int main(int argc, char **argv)
{
	if (serviced_init(argv[0]) < 0)
		return 1;
	const struct CMUnitTest table[] = {
		cmocka_unit_test(test_every_op_named),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_result_check),
		cmocka_unit_test(test_handlers),
	};
	const struct CMUnitTest daemon[] = {
		cmocka_unit_test(test_daemon_agrees),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	int failed = cmocka_run_group_tests_name("table", table, NULL, NULL);
	failed += cmocka_run_group_tests_name("daemon", daemon, setup, serviced_teardown);
	return failed ? 1 : 0;
}
