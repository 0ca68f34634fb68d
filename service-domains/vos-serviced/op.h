/*
 * op.h - one request being executed, and what an operation's handler is.
 *
 *   optable.c     the handler of every op, and the dispatcher
 *   opargs.c      argument decoding and checking shared by handlers
 *   ops_session.c session ops, served by every role (vos_ops.def: ANY)
 *   ops_fs.c      the storage role's ops (and the fd ops sockets share)
 *   ops_net.c     the network role's ops
 *   ops_poll.c    POLL, EPOLL_CTL, EPOLL_WAIT (session ops: remote fds of any role)
 *
 * The entry is already a private copy; the slot's data buffer is not: the
 * client can change it at any time.  So every offset and length is checked
 * against the slot, strings are copied into the worker's private buffers
 * (and must end inside the slot), structures are copied before they are
 * checked.  Bulk data (write sources, read destinations) is passed to the
 * kernel straight from/to the slot: its content is never interpreted here.
 *
 * The dispatcher runs a request in this order:
 *   1. prep(o)       decode and check the arguments (optional): 0 or -errno
 *   2. the file      for ops marked "file" in vos_ops.def: o->f = arg[0]'s
 *                    file, held until the handler returns (-EBADF if none)
 *   3. may wait      for ops marked "wait", when the handler's wait rule says
 *                    so: vos_worker_wait_begin() (counts it, starts another
 *                    worker if none would be left free; at the bound sets
 *                    o->nowait), vos_channel_worker_idle()
 *   4. issue(o)      run it: the result or -errno
 * So a handler never gets or puts arg[0]'s file itself, and argument errors
 * come before -EBADF, as they always did.
 */
#ifndef VOS_SERVICED_OP_H
#define VOS_SERVICED_OP_H

#include <fcntl.h>
#include <stdint.h>

#include "serviced.h"

struct op {
	struct vos_shadow *sh;
	const struct vos_entry *e;      /* private copy of the request */
	const int64_t *a;               /* e->arg */
	uint8_t *buf;                   /* the slot's shared buffer */
	uint32_t size;                  /* slot size (validated copy) */
	struct vos_opbuf *ob;           /* the worker's private buffers */
	struct vos_file *f;             /* "file" ops: arg[0]'s file (dispatcher) */
	int wait;                       /* set by prep: this call may wait (WAIT_IF_PREP) */
	int nowait;                     /* set by the dispatcher: every other worker
					   waits and no more may start, so this call
					   must not block (a lock: try, else -ENOLCK) */

	/* Arguments prep decoded for issue. */
	int iarg;                       /* whence, flock operation, fallocate mode,
					   open flags, fcntl cmd */
	int iarg2;                      /* fcntl F_SETFL value; openat close-on-exec */
	uint32_t uid, gid;              /* fchown */
	uint64_t mode;                  /* openat */
	struct flock fl;                /* fcntl locks */
};

/* When the dispatcher tells the channel that the worker may wait (step 3);
 * only for ops marked "wait" in vos_ops.def (the op table checks both
 * agree). */
enum op_wait {
	WAIT_NEVER = 0,         /* bounded */
	WAIT_ALWAYS,            /* every time (a disk flush) */
	WAIT_IF_FILE,           /* arg[0]'s file is not a regular file or directory */
	WAIT_IF_PREP,           /* prep set o->wait (a blocking lock request, ...) */
	WAIT_IF_BLOCKING,       /* prep set o->wait (no MSG_DONTWAIT) and arg[0]'s
				   file is not O_NONBLOCK (a socket call) */
};

struct vos_ophandler {
	int (*prep)(struct op *o);      /* NULL: nothing to decode */
	int64_t (*issue)(struct op *o);
	enum op_wait wait;
};

/* The handler of op for role (an enum vos_service_kind), or NULL: an op
 * this build does not know, or one of another role (-ENOSYS). */
const struct vos_ophandler *vos_op_handler(uint32_t op, unsigned role);

/* Whether the handler table agrees with vos_ops.def: every op has a
 * handler, "wait" ops and only those have a wait rule.  0, or -EINVAL after
 * logging what is wrong (the daemon refuses to start). */
int vos_optable_check(void);

/* ---- opargs.c ---------------------------------------------------------- */

/* A negative return value (-1) of a system call as -errno. */
int64_t sysret(long r);
/* v as an int / a uid or gid argument (-1 = leave unchanged); 0 if out of range. */
int to_int(int64_t v, int *out);
int to_id(int64_t v, uint32_t *out);
/* [off, off + len) lies inside the slot. */
int range_ok(const struct op *o, int64_t off, int64_t len);
/* Copy the string at slot offset off into dst (PATH_MAX bytes). */
int get_str(const struct op *o, int64_t off, char *dst);
/* A file named by a client fd number; the reference is held until vos_fdt_put. */
int get_file(const struct op *o, int64_t num, struct vos_file **f);

/* A dirfd argument: the root (fd -1, nothing held) or a table file. */
struct dir {
	int fd;
	struct vos_file *f;
};
int get_dir(const struct op *o, int64_t dirfd, struct dir *d);
void put_dir(struct dir *d);

/*
 * The file a metadata operation acts on:
 *   name != NULL   (fd, name): the final component, not followed
 *   nopath         fd is the dirfd itself (VOS_NO_PATH, or "" with AT_EMPTY_PATH)
 *   otherwise      fd is an O_PATH fd of the whole path, followed
 */
struct target {
	int fd;
	const char *name;
	int nopath;
	int owned;                      /* fd is ours to close */
	struct vos_file *f;             /* table reference to drop */
};
int get_target(const struct op *o, int64_t dirfd, int64_t pathoff, int nofollow,
	       int empty_ok, char *path, struct target *t);
void put_target(struct target *t);

/* Parent directory and final name of a path, for operations that create or
 * remove the final component.  fd is ours to close. */
struct parent {
	int fd;
	const char *base;
	enum vos_last last;
};
int get_parent(const struct op *o, int64_t dirfd, int64_t pathoff, char *path,
	       struct parent *p);

/* "/proc/self/fd/<fd>" (reaches the inode of an O_PATH fd). */
void proc_path(char *buf, size_t len, int fd);

/* ---- the handlers (ops_session.c, ops_fs.c) ------------------------------ */

int64_t op_nop(struct op *o);
int64_t op_close(struct op *o);
int64_t op_dup(struct op *o);
int64_t op_umask(struct op *o);
int64_t op_fork(struct op *o);
int64_t op_fork_abort(struct op *o);
int64_t op_exec(struct op *o);
int64_t op_setcreds(struct op *o);
int64_t op_cancel(struct op *o);
int64_t op_setrlimit(struct op *o);
/* ops_poll.c */
int prep_poll(struct op *o);
int64_t op_poll(struct op *o);
int prep_epoll_ctl(struct op *o);
int64_t op_epoll_ctl(struct op *o);
int prep_epoll_wait(struct op *o);
int64_t op_epoll_wait(struct op *o);
/* CLOSE of o->a[0], its file taken out of this shadow's epoll instances
 * when that was its last number here (op_close). */
int64_t epoll_close(struct op *o);

int prep_openat(struct op *o);
int64_t op_openat(struct op *o);
int prep_read(struct op *o);
int prep_write(struct op *o);
int64_t op_read(struct op *o);
int64_t op_pread(struct op *o);
int64_t op_write(struct op *o);
int64_t op_pwrite(struct op *o);
int prep_lseek(struct op *o);
int64_t op_lseek(struct op *o);
int64_t op_fsync(struct op *o);
int64_t op_ftruncate(struct op *o);
int64_t op_fchmod(struct op *o);
int prep_fchown(struct op *o);
int64_t op_fchown(struct op *o);
int64_t op_fstatfs(struct op *o);
int prep_flock(struct op *o);
int64_t op_flock(struct op *o);
int prep_fallocate(struct op *o);
int64_t op_fallocate(struct op *o);
int prep_fcntl(struct op *o);
int64_t op_fcntl(struct op *o);
int prep_getdents(struct op *o);
int64_t op_getdents(struct op *o);
int64_t op_fstatat(struct op *o);
int64_t op_statx(struct op *o);
int64_t op_faccessat(struct op *o);
int64_t op_truncate(struct op *o);
int64_t op_statfs(struct op *o);
int64_t op_fchmodat(struct op *o);
int64_t op_fchownat(struct op *o);
int64_t op_utimensat(struct op *o);
int64_t op_readlinkat(struct op *o);
int64_t op_unlinkat(struct op *o);
int64_t op_mkdirat(struct op *o);
int64_t op_mknodat(struct op *o);
int64_t op_symlinkat(struct op *o);
int64_t op_renameat2(struct op *o);
int64_t op_linkat(struct op *o);
int64_t op_fdpath(struct op *o);
int64_t op_walk(struct op *o);
int prep_copyfd(struct op *o);
int64_t op_copyfd(struct op *o);

/* ops_net.c: the network role.  Limits of what a call may carry. */
#define NET_CTL_MAX     PATH_MAX        /* control messages (vos_opbuf.path2) */
#define NET_OPT_MAX     256             /* a socket option's value */
int prep_socket(struct op *o);
int64_t op_socket(struct op *o);
int64_t op_bind(struct op *o);
int64_t op_listen(struct op *o);
int prep_accept4(struct op *o);
int64_t op_accept4(struct op *o);
int prep_connect(struct op *o);
int64_t op_connect(struct op *o);
int64_t op_shutdown(struct op *o);
int prep_sendmsg(struct op *o);
int64_t op_sendmsg(struct op *o);
int prep_recvmsg(struct op *o);
int64_t op_recvmsg(struct op *o);
int64_t op_getsockopt(struct op *o);
int64_t op_setsockopt(struct op *o);
int64_t op_getsockname(struct op *o);
int64_t op_sockioctl(struct op *o);

#endif
