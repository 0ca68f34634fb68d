/*
 * ops.c - execute one request with the shadow's credentials.
 *
 * The entry is already a private copy; the slot's data buffer is not: the
 * client can change it at any time.  So every offset and length is checked
 * against the slot, strings are copied into the worker's private buffers
 * (and must end inside the slot), structures are copied before they are
 * checked.  Bulk data (write sources, read destinations) is passed to the
 * kernel straight from/to the slot: its content is never interpreted here.
 *
 * Paths are resolved inside the export root (resolve.c).  Operations that
 * follow the final component resolve the whole path to an O_PATH fd and act
 * on that fd; operations on the final component itself resolve the parent
 * and act on (parent, name).  Errno values are the kernel's own wherever the
 * kernel gets to say; where a path's final component is ".", ".." or the
 * root, the values below are the ones Linux returns for that case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>
#include <dirent.h>

#include "serviced.h"

/* Flags openat2 accepts (the kernel's VALID_OPEN_FLAGS, x86_64 values).
 * open(2) ignores unknown bits while openat2 rejects them, so they are
 * dropped here.  O_LARGEFILE is 0100000 in the kernel, 0 in x86_64 glibc. */
#define KERNEL_O_LARGEFILE 0100000
#define OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | \
		    O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | KERNEL_O_LARGEFILE | \
		    O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE)

struct op {
	struct vos_shadow *sh;
	const struct vos_entry *e;
	uint8_t *buf;                   /* the slot's shared buffer */
	uint32_t size;                  /* slot size (validated copy) */
	struct vos_opbuf *ob;
};

/*
 * The request may wait for long (a lock, a FIFO, a device, a disk flush):
 * stop counting this worker as one that comes straight back to the ring,
 * so that the client kicks a sleeping worker for its next request instead
 * of leaving it queued behind this one (channel.h).
 */
static void may_wait(const struct op *o)
{
	vos_channel_worker_idle(&o->sh->ch);
}

static int64_t sysret(long r)
{
	return r < 0 ? -errno : r;
}

static int to_int(int64_t v, int *out)
{
	if (v < INT32_MIN || v > INT32_MAX)
		return 0;
	*out = (int)v;
	return 1;
}

/* A uid/gid argument: -1 ("leave unchanged") or a 32-bit id. */
static int to_id(int64_t v, uint32_t *out)
{
	if (v == -1) {
		*out = (uint32_t)-1;
		return 1;
	}
	if (v < 0 || v > UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

static int range_ok(const struct op *o, int64_t off, int64_t len)
{
	return vos_slot_range_ok(&o->sh->ch, off, len);
}

/* Copy the string at slot offset off into dst (PATH_MAX bytes).  It must
 * end inside the slot; a string that does not fit dst is ENAMETOOLONG, as
 * the kernel says for a path of PATH_MAX bytes or more. */
static int get_str(const struct op *o, int64_t off, char *dst)
{
	if (off < 0 || (uint64_t)off >= o->size)
		return -EINVAL;
	size_t room = o->size - (size_t)off;
	size_t limit = room < PATH_MAX ? room : PATH_MAX;
	size_t n = strnlen((const char *)o->buf + off, limit);
	if (n == limit)
		return limit == PATH_MAX ? -ENAMETOOLONG : -EINVAL;
	memcpy(dst, o->buf + off, n);
	dst[n] = '\0';              /* the client may have changed it meanwhile */
	return 0;
}

/* A file named by a client fd number; the reference is held until put. */
static int get_file(const struct op *o, int64_t num, struct vos_file **f)
{
	return vos_fdt_get(&o->sh->fdt, num, f);
}

/* A dirfd argument: the root (fd -1, nothing held) or a table file. */
struct dir {
	int fd;
	struct vos_file *f;
};

static int get_dir(const struct op *o, int64_t dirfd, struct dir *d)
{
	d->f = NULL;
	d->fd = -1;
	if (dirfd == VOS_FD_ROOT)
		return 0;
	int err = get_file(o, dirfd, &d->f);
	if (err)
		return err;
	d->fd = d->f->fd;
	return 0;
}

static void put_dir(struct dir *d)
{
	vos_fdt_put(d->f);
	d->f = NULL;
}

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

static void put_target(struct target *t)
{
	if (t->owned)
		close(t->fd);
	vos_fdt_put(t->f);
	t->owned = 0;
	t->f = NULL;
}

static int get_target(const struct op *o, int64_t dirfd, int64_t pathoff, int nofollow,
		      int empty_ok, char *path, struct target *t)
{
	const struct vos_root *root = &o->sh->root;
	struct dir d;
	int err;

	memset(t, 0, sizeof *t);
	if (pathoff != VOS_NO_PATH) {
		err = get_str(o, pathoff, path);
		if (err)
			return err;
		if (path[0] == '\0' && !empty_ok)
			return -ENOENT;
	}
	if (pathoff == VOS_NO_PATH || path[0] == '\0') {
		t->nopath = 1;
		if (dirfd == VOS_FD_ROOT) {
			t->fd = root->fd;
			return 0;
		}
		err = get_file(o, dirfd, &t->f);
		if (err)
			return err;
		t->fd = t->f->fd;
		return 0;
	}

	err = get_dir(o, dirfd, &d);
	if (err)
		return err;
	/* "a/b/" follows b even for nofollow calls (the kernel does), and a
	 * final ".", ".." or "/" is never a symlink: both resolve whole. */
	if (nofollow && !vos_path_trailing_slash(path)) {
		enum vos_last last;
		const char *base;
		int pfd = vos_resolve_parent(root, d.fd, path, &base, &last);
		if (pfd < 0) {
			put_dir(&d);
			return pfd;
		}
		if (last == VOS_LAST_NORM) {
			put_dir(&d);
			t->fd = pfd;
			t->owned = 1;
			t->name = base;
			return 0;
		}
		close(pfd);
	}
	int fd = vos_resolve_open(root, d.fd, path, O_PATH, 0);
	put_dir(&d);
	if (fd < 0)
		return fd;
	t->fd = fd;
	t->owned = 1;
	return 0;
}

/* Parent directory and final name of a path, for operations that create or
 * remove the final component. */
struct parent {
	int fd;
	const char *base;
	enum vos_last last;
};

static int get_parent(const struct op *o, int64_t dirfd, int64_t pathoff, char *path,
		      struct parent *p)
{
	struct dir d;
	int err = get_str(o, pathoff, path);
	if (err)
		return err;
	err = get_dir(o, dirfd, &d);
	if (err)
		return err;
	p->fd = vos_resolve_parent(&o->sh->root, d.fd, path, &p->base, &p->last);
	put_dir(&d);
	return p->fd < 0 ? p->fd : 0;
}

static void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* ---- operations ---------------------------------------------------------- */

static int64_t op_openat(struct op *o)
{
	const int64_t *a = o->e->arg;
	int flags;
	struct dir d;

	if (!to_int(a[2], &flags))
		return -EINVAL;
	if (a[4] < 0 || a[4] >= VOS_FDT_MAX)
		return -EBADF;
	int err = get_str(o, a[1], o->ob->path);
	if (err)
		return err;

	int cloexec = flags & O_CLOEXEC;
	flags &= OPEN_FLAGS & ~O_CLOEXEC;
	if (flags & O_PATH)     /* open(2) ignores the rest with O_PATH; openat2 refuses */
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
	uint64_t mode = 0;
	if ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE)
		mode = (uint64_t)a[3] & 07777;

	err = get_dir(o, a[0], &d);
	if (err)
		return err;
	if (!(flags & O_PATH))
		may_wait(o);    /* a FIFO opens when its other end does */
	int fd = vos_resolve_open(&o->sh->root, d.fd, o->ob->path, (uint64_t)flags, mode);
	put_dir(&d);
	if (fd < 0)
		return fd;
	struct stat st;
	int may_block = fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
	err = vos_fdt_install(&o->sh->fdt, a[4], fd, cloexec, may_block);
	if (err) {
		close(fd);
		return err;
	}
	return a[4];
}

static int64_t op_rw(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct vos_file *f;
	int64_t r;

	switch (o->e->op) {
	case VOS_OP_READ:
	case VOS_OP_PREAD:
		if (!range_ok(o, 0, a[1]))
			return -EINVAL;
		break;
	default:
		if (!range_ok(o, a[2], a[1]))
			return -EINVAL;
		break;
	}
	int err = get_file(o, a[0], &f);
	if (err)
		return err;
	if (f->may_block)
		may_wait(o);
	switch (o->e->op) {
	case VOS_OP_READ:
		r = sysret(read(f->fd, o->buf, (size_t)a[1]));
		break;
	case VOS_OP_PREAD:
		r = sysret(pread(f->fd, o->buf, (size_t)a[1], (off_t)a[2]));
		break;
	case VOS_OP_WRITE:
		r = sysret(write(f->fd, o->buf + a[2], (size_t)a[1]));
		break;
	default:
		r = sysret(pwrite(f->fd, o->buf + a[2], (size_t)a[1], (off_t)a[3]));
		break;
	}
	vos_fdt_put(f);
	return r;
}

/* Operations on one table fd with integer arguments only. */
static int64_t op_fd_simple(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct vos_file *f;
	int64_t r;
	int i1 = 0;
	uint32_t uid = 0, gid = 0;

	switch (o->e->op) {
	case VOS_OP_LSEEK:
	case VOS_OP_FLOCK:
	case VOS_OP_FALLOCATE:
		if (!to_int(a[o->e->op == VOS_OP_LSEEK ? 2 : 1], &i1))
			return -EINVAL;
		break;
	case VOS_OP_FCHOWN:
		if (!to_id(a[1], &uid) || !to_id(a[2], &gid))
			return -EINVAL;
		break;
	}
	int err = get_file(o, a[0], &f);
	if (err)
		return err;
	int fd = f->fd;
	switch (o->e->op) {
	case VOS_OP_LSEEK:
		r = sysret(lseek(fd, (off_t)a[1], i1));
		break;
	case VOS_OP_FSYNC:
		may_wait(o);
		r = sysret(a[1] ? fdatasync(fd) : fsync(fd));
		break;
	case VOS_OP_FTRUNCATE:
		r = sysret(ftruncate(fd, (off_t)a[1]));
		break;
	case VOS_OP_FCHMOD:
		r = sysret(fchmod(fd, (mode_t)(a[1] & 07777)));
		break;
	case VOS_OP_FCHOWN:
		r = sysret(fchown(fd, uid, gid));
		break;
	case VOS_OP_FSTATFS: {
		struct statfs sf;
		r = sysret(fstatfs(fd, &sf));
		if (r == 0)
			memcpy(o->buf, &sf, sizeof sf);
		break;
	}
	case VOS_OP_FLOCK:
		if (!(i1 & LOCK_NB))
			may_wait(o);
		r = sysret(flock(fd, i1));
		break;
	case VOS_OP_FALLOCATE:
		r = sysret(fallocate(fd, i1, (off_t)a[2], (off_t)a[3]));
		break;
	default:
		r = -ENOSYS;
		break;
	}
	vos_fdt_put(f);
	return r;
}

static int64_t op_fstatat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	struct stat st;
	int flags;

	if (!to_int(a[2], &flags) ||
	    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)))
		return -EINVAL;
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW,
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name)
		r = sysret(fstatat(t.fd, t.name, &st, AT_SYMLINK_NOFOLLOW));
	else
		r = sysret(fstatat(t.fd, "", &st, AT_EMPTY_PATH));
	put_target(&t);
	if (r == 0)
		memcpy(o->buf, &st, sizeof st);
	return r;
}

static int64_t op_statx(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	struct statx stx;
	int flags;

	if (!to_int(a[2], &flags) ||
	    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) ||
	    a[3] < 0 || a[3] > UINT32_MAX)
		return -EINVAL;
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW,
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	int keep = flags & (AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE);
	int64_t r;
	if (t.name)
		r = sysret(statx(t.fd, t.name, AT_SYMLINK_NOFOLLOW | keep, (unsigned)a[3], &stx));
	else
		r = sysret(statx(t.fd, "", AT_EMPTY_PATH | keep, (unsigned)a[3], &stx));
	put_target(&t);
	if (r == 0)
		memcpy(o->buf, &stx, sizeof stx);
	return r;
}

static int64_t op_faccessat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	int mode, flags;

	if (!to_int(a[2], &mode) || (mode & ~(R_OK | W_OK | X_OK)) ||
	    !to_int(a[3], &flags) ||
	    (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW,
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name)
		r = sysret(faccessat(t.fd, t.name, mode, AT_SYMLINK_NOFOLLOW | (flags & AT_EACCESS)));
	else
		r = sysret(faccessat(t.fd, "", mode, AT_EMPTY_PATH | (flags & AT_EACCESS)));
	put_target(&t);
	return r;
}

static int64_t op_truncate(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	char proc[64];

	int err = get_target(o, a[0], a[1], 0, 0, o->ob->path, &t);
	if (err)
		return err;
	proc_path(proc, sizeof proc, t.fd);
	int64_t r = sysret(truncate(proc, (off_t)a[2]));
	put_target(&t);
	return r;
}

static int64_t op_statfs(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	struct statfs sf;

	int err = get_target(o, a[0], a[1], 0, 0, o->ob->path, &t);
	if (err)
		return err;
	int64_t r = sysret(fstatfs(t.fd, &sf));
	put_target(&t);
	if (r == 0)
		memcpy(o->buf, &sf, sizeof sf);
	return r;
}

static int64_t op_fchmodat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	char proc[64];
	int flags;

	if (!to_int(a[3], &flags) || (flags & ~AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	mode_t mode = (mode_t)(a[2] & 07777);
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW, 0, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name) {
		/* glibc: EOPNOTSUPP for a symlink, else chmod of the file. */
		r = sysret(fchmodat(t.fd, t.name, mode, AT_SYMLINK_NOFOLLOW));
	} else {
		/* O_PATH fds refuse fchmod; the /proc link reaches the inode. */
		proc_path(proc, sizeof proc, t.fd);
		r = sysret(chmod(proc, mode));
	}
	put_target(&t);
	return r;
}

static int64_t op_fchownat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	uint32_t uid, gid;
	int flags;

	if (!to_id(a[2], &uid) || !to_id(a[3], &gid) || !to_int(a[4], &flags) ||
	    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW,
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name)
		r = sysret(fchownat(t.fd, t.name, uid, gid, AT_SYMLINK_NOFOLLOW));
	else
		r = sysret(fchownat(t.fd, "", uid, gid, AT_EMPTY_PATH));
	put_target(&t);
	return r;
}

static int64_t op_utimensat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct timespec ts[2], *tsp = NULL;
	struct target t;
	char proc[64];
	int flags;

	if (!to_int(a[3], &flags) || (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	if (a[2] != VOS_NO_PATH) {
		if (!range_ok(o, a[2], sizeof ts))
			return -EINVAL;
		memcpy(ts, o->buf + a[2], sizeof ts);   /* the kernel checks tv_nsec */
		tsp = ts;
	}
	int err = get_target(o, a[0], a[1], flags & AT_SYMLINK_NOFOLLOW,
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name) {
		r = sysret(utimensat(t.fd, t.name, tsp, AT_SYMLINK_NOFOLLOW));
	} else if (t.nopath && a[1] == VOS_NO_PATH) {
		r = sysret(futimens(t.fd, tsp));        /* futimens: EBADF on O_PATH, as native */
	} else {
		proc_path(proc, sizeof proc, t.fd);
		r = sysret(utimensat(AT_FDCWD, proc, tsp, 0));
	}
	put_target(&t);
	return r;
}

static int64_t op_readlinkat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;

	if (a[2] <= 0 || !range_ok(o, 0, a[2]))
		return -EINVAL;
	int err = get_target(o, a[0], a[1], 1, 1, o->ob->path, &t);
	if (err)
		return err;
	int64_t r;
	if (t.name)
		r = sysret(readlinkat(t.fd, t.name, (char *)o->ob->scratch, (size_t)a[2]));
	else if (t.nopath)
		r = sysret(readlinkat(t.fd, "", (char *)o->ob->scratch, (size_t)a[2]));
	else
		r = -EINVAL;    /* resolved by following: not a symlink */
	put_target(&t);
	if (r > 0)
		memcpy(o->buf, o->ob->scratch, (size_t)r);
	return r;
}

static int64_t op_unlinkat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct parent p;
	int flags;

	if (!to_int(a[2], &flags) || (flags & ~AT_REMOVEDIR))
		return -EINVAL;
	int err = get_parent(o, a[0], a[1], o->ob->path, &p);
	if (err)
		return err;
	int64_t r;
	int rmdir = flags & AT_REMOVEDIR;
	switch (p.last) {
	case VOS_LAST_NORM:
		r = sysret(unlinkat(p.fd, p.base, flags));
		break;
	case VOS_LAST_DOT:
		r = rmdir ? -EINVAL : -EISDIR;
		break;
	case VOS_LAST_DOTDOT:
		r = rmdir ? -ENOTEMPTY : -EISDIR;
		break;
	default:
		r = rmdir ? -EBUSY : -EISDIR;
		break;
	}
	close(p.fd);
	return r;
}

static int64_t op_mkdirat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct parent p;

	int err = get_parent(o, a[0], a[1], o->ob->path, &p);
	if (err)
		return err;
	int64_t r = p.last == VOS_LAST_NORM ?
		sysret(mkdirat(p.fd, p.base, (mode_t)(a[2] & 07777))) : -EEXIST;
	close(p.fd);
	return r;
}

static int64_t op_symlinkat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct parent p;

	int err = get_str(o, a[0], o->ob->path2);      /* the target: stored, not resolved */
	if (err)
		return err;
	err = get_parent(o, a[1], a[2], o->ob->path, &p);
	if (err)
		return err;
	int64_t r = p.last == VOS_LAST_NORM ?
		sysret(symlinkat(o->ob->path2, p.fd, p.base)) : -EEXIST;
	close(p.fd);
	return r;
}

static int64_t op_renameat2(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct parent p1, p2;
	int64_t r;

	if (a[4] < 0 || a[4] > UINT32_MAX)
		return -EINVAL;
	int err = get_parent(o, a[0], a[1], o->ob->path, &p1);
	if (err)
		return err;
	err = get_parent(o, a[2], a[3], o->ob->path2, &p2);
	if (err) {
		close(p1.fd);
		return err;
	}
	if (p1.last != VOS_LAST_NORM || p2.last != VOS_LAST_NORM)
		r = -EBUSY;
	else
		r = sysret(renameat2(p1.fd, p1.base, p2.fd, p2.base, (unsigned)a[4]));
	close(p1.fd);
	close(p2.fd);
	return r;
}

static int64_t op_linkat(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct target t;
	struct parent p;
	char proc[64];
	int flags;

	if (!to_int(a[4], &flags) || (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	int err = get_target(o, a[0], a[1], !(flags & AT_SYMLINK_FOLLOW),
			     flags & AT_EMPTY_PATH, o->ob->path, &t);
	if (err)
		return err;
	err = get_parent(o, a[2], a[3], o->ob->path2, &p);
	if (err) {
		put_target(&t);
		return err;
	}
	int64_t r;
	if (p.last != VOS_LAST_NORM) {
		r = -EEXIST;
	} else if (t.name) {
		r = sysret(linkat(t.fd, t.name, p.fd, p.base, 0));
	} else if (t.nopath) {
		/* The kernel requires CAP_DAC_READ_SEARCH here, as natively. */
		r = sysret(linkat(t.fd, "", p.fd, p.base, AT_EMPTY_PATH));
	} else {
		/* Followed: link the inode the path ends at (a directory: EPERM). */
		proc_path(proc, sizeof proc, t.fd);
		r = sysret(linkat(AT_FDCWD, proc, p.fd, p.base, AT_SYMLINK_FOLLOW));
	}
	close(p.fd);
	put_target(&t);
	return r;
}

static int64_t op_fcntl(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct vos_file *f;
	struct flock fl;
	int cmd, arg = 0, err;
	int64_t r;

	if (!to_int(a[1], &cmd))
		return -EINVAL;
	switch (cmd) {
	case F_GETFL:
		break;
	case F_SETFL:
		/* O_ASYNC would send SIGIO to the shadow, not to the client. */
		if (!to_int(a[2], &arg) || (arg & O_ASYNC))
			return -EINVAL;
		break;
	case F_GETLK: case F_SETLK: case F_SETLKW:
	case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		if (!range_ok(o, a[2], sizeof fl))
			return -EINVAL;
		memcpy(&fl, o->buf + a[2], sizeof fl);
		if ((fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK) ||
		    (fl.l_whence != SEEK_SET && fl.l_whence != SEEK_CUR && fl.l_whence != SEEK_END))
			return -EINVAL;
		break;
	default:
		/* F_GETFD/F_SETFD/F_DUPFD* are the client's (placeholder) business. */
		return -EINVAL;
	}
	err = get_file(o, a[0], &f);
	if (err)
		return err;
	switch (cmd) {
	case F_GETFL:
		r = sysret(fcntl(f->fd, F_GETFL));
		break;
	case F_SETFL:
		r = sysret(fcntl(f->fd, F_SETFL, arg));
		break;
	default:
		if (cmd == F_SETLKW || cmd == F_OFD_SETLKW)
			may_wait(o);
		r = sysret(fcntl(f->fd, cmd, &fl));
		if (r == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK))
			memcpy(o->buf, &fl, sizeof fl);
		break;
	}
	vos_fdt_put(f);
	return r;
}

static int64_t op_getdents(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct vos_file *f;

	if (!range_ok(o, 0, a[1]))
		return -EINVAL;
	int err = get_file(o, a[0], &f);
	if (err)
		return err;
	int64_t r = sysret(getdents64(f->fd, o->ob->scratch, (size_t)a[1]));
	vos_fdt_put(f);
	if (r > 0)
		memcpy(o->buf, o->ob->scratch, (size_t)r);
	return r;
}

static int64_t op_fdpath(struct op *o)
{
	const int64_t *a = o->e->arg;
	struct vos_file *f = NULL;
	int fd = o->sh->root.fd;

	if (a[0] != VOS_FD_ROOT) {
		int err = get_file(o, a[0], &f);
		if (err)
			return err;
		fd = f->fd;
	}
	int n = vos_fd_relpath(&o->sh->root, fd, (char *)o->ob->scratch, o->size);
	vos_fdt_put(f);
	if (n >= 0)
		memcpy(o->buf, o->ob->scratch, (size_t)n + 1);
	return n;
}

static int64_t op_dup(struct op *o)
{
	const int64_t *a = o->e->arg;
	int err = vos_fdt_dup(&o->sh->fdt, a[0], a[1], a[2] & O_CLOEXEC);
	return err ? err : a[1];
}

static int64_t op_fork(struct op *o)
{
	uint8_t token[VOS_TOKEN_LEN];
	/* Fork with the other workers parked at the top of their loop (the
	 * EXEC barrier): none of them then holds a lock or is inside the
	 * allocator, so the child, where only this thread lives on, inherits
	 * no lock taken by a thread that does not exist there. */
	int raised = vos_exec_barrier_raise(o->sh, o->ob);
	int err = vos_shadow_fork(o->sh, token);
	if (raised)
		vos_exec_barrier_lower(o->sh);
	if (err)
		return err;
	memcpy(o->buf, token, sizeof token);
	return 0;
}

static int64_t op_fork_abort(struct op *o)
{
	uint8_t token[VOS_TOKEN_LEN];

	if (!range_ok(o, o->e->arg[0], sizeof token))
		return -EINVAL;
	memcpy(token, o->buf + o->e->arg[0], sizeof token);
	return vos_shadow_fork_abort(o->sh, token);
}

static int64_t op_exec(struct op *o)
{
	const int64_t *a = o->e->arg;

	if (a[0] < 0 || a[0] > (int64_t)(o->size / sizeof(int32_t)) ||
	    !range_ok(o, a[1], a[0] * (int64_t)sizeof(int32_t)))
		return -EINVAL;
	size_t n = (size_t)a[0];
	memcpy(o->ob->scratch, o->buf + a[1], n * sizeof(int32_t));
	/* Requests of the old image still running may write into slots the
	 * new one reuses, or use fds about to be closed: let them finish. */
	int raised = vos_exec_barrier_raise(o->sh, o->ob);
	vos_fdt_keep_only(&o->sh->fdt, (const int32_t *)(void *)o->ob->scratch, (uint32_t)n);
	if (raised)
		vos_exec_barrier_lower(o->sh);
	return 0;
}

int64_t vos_op_execute(struct vos_shadow *sh, const struct vos_entry *e, struct vos_opbuf *ob)
{
	uint32_t slot = VOS_ID_SLOT(e->id);

	if (slot >= sh->ch.nslots) {
		__atomic_add_fetch(&sh->ch.hdr->protocol_errors, 1, __ATOMIC_RELAXED);
		return -EINVAL;
	}
	struct op o = {
		.sh = sh, .e = e, .ob = ob,
		.buf = vos_channel_slot(&sh->ch, slot),
		.size = sh->ch.slot_size,
	};

	switch (e->op) {
	case VOS_OP_NOP:
		return 0;
	case VOS_OP_OPENAT:
		return op_openat(&o);
	case VOS_OP_CLOSE:
		return vos_fdt_remove(&sh->fdt, e->arg[0]);
	case VOS_OP_READ:
	case VOS_OP_PREAD:
	case VOS_OP_WRITE:
	case VOS_OP_PWRITE:
		return op_rw(&o);
	case VOS_OP_LSEEK:
	case VOS_OP_FSYNC:
	case VOS_OP_FTRUNCATE:
	case VOS_OP_FCHMOD:
	case VOS_OP_FCHOWN:
	case VOS_OP_FSTATFS:
	case VOS_OP_FLOCK:
	case VOS_OP_FALLOCATE:
		return op_fd_simple(&o);
	case VOS_OP_FSTATAT:
		return op_fstatat(&o);
	case VOS_OP_STATX:
		return op_statx(&o);
	case VOS_OP_FACCESSAT:
		return op_faccessat(&o);
	case VOS_OP_TRUNCATE:
		return op_truncate(&o);
	case VOS_OP_UNLINKAT:
		return op_unlinkat(&o);
	case VOS_OP_RENAMEAT2:
		return op_renameat2(&o);
	case VOS_OP_MKDIRAT:
		return op_mkdirat(&o);
	case VOS_OP_FCHMODAT:
		return op_fchmodat(&o);
	case VOS_OP_FCHOWNAT:
		return op_fchownat(&o);
	case VOS_OP_UTIMENSAT:
		return op_utimensat(&o);
	case VOS_OP_READLINKAT:
		return op_readlinkat(&o);
	case VOS_OP_SYMLINKAT:
		return op_symlinkat(&o);
	case VOS_OP_LINKAT:
		return op_linkat(&o);
	case VOS_OP_STATFS:
		return op_statfs(&o);
	case VOS_OP_FCNTL:
		return op_fcntl(&o);
	case VOS_OP_DUP:
		return op_dup(&o);
	case VOS_OP_GETDENTS64:
		return op_getdents(&o);
	case VOS_OP_FDPATH:
		return op_fdpath(&o);
	case VOS_OP_UMASK:
		return (int64_t)umask((mode_t)(e->arg[0] & 0777));
	case VOS_OP_FORK:
		return op_fork(&o);
	case VOS_OP_FORK_ABORT:
		return op_fork_abort(&o);
	case VOS_OP_EXEC:
		return op_exec(&o);
	case VOS_OP_SETCREDS:
		return vos_op_setcreds(sh, e->arg, o.buf, ob);
	case VOS_OP_CANCEL:
		return vos_op_cancel(sh, e, ob->cancel);
	default:
		return -ENOSYS;
	}
}
