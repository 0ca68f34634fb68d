/*
 * ops_fs.c - the storage role's operations (role STORAGE in vos_ops.def),
 * run with the shadow's credentials.  Arguments are checked by the
 * handler's prep (or at the top of issue), arg[0]'s file of a "file" op is
 * o->f, held by the dispatcher (op.h).
 *
 * Errno values are the kernel's own wherever the kernel gets to say; where
 * a path's final component is ".", ".." or the root, the values below are
 * the ones Linux returns for that case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/openat2.h>

#include "op.h"

/* Flags openat2 accepts (the kernel's VALID_OPEN_FLAGS, x86_64 values).
 * open(2) ignores unknown bits while openat2 rejects them, so they are
 * dropped here.  O_LARGEFILE is 0100000 in the kernel, 0 in x86_64 glibc. */
#define KERNEL_O_LARGEFILE 0100000
#ifndef F_CREATED_QUERY
#define F_CREATED_QUERY (1024 + 4)      /* Linux 6.12; not in glibc 2.36 */
#endif

#define OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | \
		    O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | KERNEL_O_LARGEFILE | \
		    O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE)

/* openat2's RESOLVE_* flags (Linux 5.6; RESOLVE_CACHED 5.12). */
#define OPEN_RESOLVE (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | \
		      RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED)

/* ---- open ---------------------------------------------------------------- */

int prep_openat(struct op *o)
{
	const int64_t *a = o->a;
	int flags;

	if (!to_int(a[2], &flags))
		return -EINVAL;
	if (a[4] < 0 || a[4] >= VOS_FDT_MAX)
		return -EBADF;
	int err = get_str(o, a[1], o->ob->path);
	if (err)
		return err;

	o->iarg2 = flags & O_CLOEXEC;
	flags &= OPEN_FLAGS & ~O_CLOEXEC;
	if (flags & O_PATH)     /* open(2) ignores the rest with O_PATH; openat2 refuses */
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
	o->mode = 0;
	if ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE)
		o->mode = (uint64_t)a[3] & 07777;
	o->iarg = flags;
	o->wait = !(flags & O_PATH);    /* a FIFO opens when its other end does */
	/* arg[5]: openat2's RESOLVE_* flags (0 for open/openat) */
	if (a[5] & ~(int64_t)OPEN_RESOLVE)
		return -EINVAL;
	if ((a[5] & RESOLVE_BENEATH) && (a[5] & RESOLVE_IN_ROOT))
		return -EINVAL;
	return 0;
}

int64_t op_openat(struct op *o)
{
	const int64_t *a = o->a;
	struct dir d;

	int err = get_dir(o, a[0], &d);
	if (err)
		return err;
	int fd = vos_resolve_open2(&o->sh->root, d.fd, o->ob->path, (uint64_t)o->iarg, o->mode,
				   (uint64_t)a[5]);
	put_dir(&d);
	if (fd < 0)
		return fd;
	struct stat st;
	int may_block = fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
	err = vos_fdt_install(&o->sh->fdt, a[4], fd, o->iarg2, may_block);
	if (err) {
		close(fd);
		return err;
	}
	return a[4];
}

/* ---- data ---------------------------------------------------------------- */

/* READ, PREAD: len bytes out at slot offset 0. */
int prep_read(struct op *o)
{
	return range_ok(o, 0, o->a[1]) ? 0 : -EINVAL;
}

/* WRITE, PWRITE: len bytes of data at slot offset arg[2]. */
int prep_write(struct op *o)
{
	return range_ok(o, o->a[2], o->a[1]) ? 0 : -EINVAL;
}

int64_t op_read(struct op *o)
{
	return sysret(read(o->f->fd, o->buf, (size_t)o->a[1]));
}

int64_t op_pread(struct op *o)
{
	return sysret(pread(o->f->fd, o->buf, (size_t)o->a[1], (off_t)o->a[2]));
}

int64_t op_write(struct op *o)
{
	return sysret(write(o->f->fd, o->buf + o->a[2], (size_t)o->a[1]));
}

int64_t op_pwrite(struct op *o)
{
	return sysret(pwrite(o->f->fd, o->buf + o->a[2], (size_t)o->a[1], (off_t)o->a[3]));
}

/* ---- one open file, integer arguments ------------------------------------ */

int prep_lseek(struct op *o)
{
	return to_int(o->a[2], &o->iarg) ? 0 : -EINVAL;
}

int64_t op_lseek(struct op *o)
{
	return sysret(lseek(o->f->fd, (off_t)o->a[1], o->iarg));
}

int64_t op_fsync(struct op *o)
{
	return sysret(o->a[1] ? fdatasync(o->f->fd) : fsync(o->f->fd));
}

int64_t op_ftruncate(struct op *o)
{
	return sysret(ftruncate(o->f->fd, (off_t)o->a[1]));
}

int64_t op_fchmod(struct op *o)
{
	return sysret(fchmod(o->f->fd, (mode_t)(o->a[1] & 07777)));
}

int prep_fchown(struct op *o)
{
	return to_id(o->a[1], &o->uid) && to_id(o->a[2], &o->gid) ? 0 : -EINVAL;
}

int64_t op_fchown(struct op *o)
{
	return sysret(fchown(o->f->fd, o->uid, o->gid));
}

int64_t op_fstatfs(struct op *o)
{
	struct statfs sf;
	int64_t r = sysret(fstatfs(o->f->fd, &sf));
	if (r == 0)
		memcpy(o->buf, &sf, sizeof sf);
	return r;
}

int prep_flock(struct op *o)
{
	if (!to_int(o->a[1], &o->iarg))
		return -EINVAL;
	o->wait = !(o->iarg & LOCK_NB);
	return 0;
}

/* A lock request that must not wait (o->nowait, worker.c): tried without
 * waiting; "it would wait" becomes ENOLCK, the kernel's "no lock records
 * left", which flock(2) and fcntl(2) both document. */
static int64_t busy_to_enolck(int64_t r)
{
	return r == -EAGAIN || r == -EACCES || r == -EWOULDBLOCK ? -ENOLCK : r;
}

/* A lock that is taken may be held by the shadow of a client that has
 * ended, for the moment the shadow takes to see the hang-up and end; natively
 * the lock is gone as soon as the process is (pidmap.c).  So a conflict
 * waits for such a shadow to end: holder, for a POSIX lock (F_GETLK names
 * it), or any, for OFD and flock locks (they name none); then the request
 * is tried again, LOCK_RETRIES times at most. */
#define LOCK_RETRIES    4
#define ORPHAN_WAIT_MS  2000

static int orphan_ended(const struct op *o, pid_t holder)
{
	return !o->sh->xen && vos_pidmap_wait_orphans(holder, ORPHAN_WAIT_MS) > 0;
}

static int64_t try_flock(struct op *o, int how)
{
	for (int i = 0;; i++) {
		int64_t r = sysret(flock(o->f->fd, how));

		if (r != -EWOULDBLOCK || i == LOCK_RETRIES || !orphan_ended(o, 0))
			return r;
	}
}

int64_t op_flock(struct op *o)
{
	if (o->nowait && !(o->iarg & LOCK_NB))
		return busy_to_enolck(try_flock(o, o->iarg | LOCK_NB));
	return try_flock(o, o->iarg);
}

int prep_fallocate(struct op *o)
{
	return to_int(o->a[1], &o->iarg) ? 0 : -EINVAL;
}

int64_t op_fallocate(struct op *o)
{
	return sysret(fallocate(o->f->fd, o->iarg, (off_t)o->a[2], (off_t)o->a[3]));
}

int prep_fcntl(struct op *o)
{
	const int64_t *a = o->a;
	struct flock *fl = &o->fl;

	if (!to_int(a[1], &o->iarg))
		return -EINVAL;
	switch (o->iarg) {
	case F_GETFL:
		return 0;
	case F_SETFL:
		/* O_ASYNC would send SIGIO to the shadow, not to the client. */
		if (!to_int(a[2], &o->iarg2) || (o->iarg2 & O_ASYNC))
			return -EINVAL;
		return 0;
	case F_SETLKW: case F_OFD_SETLKW:
		o->wait = 1;
		/* fall through */
	case F_GETLK: case F_SETLK:
	case F_OFD_GETLK: case F_OFD_SETLK:
		if (!range_ok(o, a[2], sizeof *fl))
			return -EINVAL;
		memcpy(fl, o->buf + a[2], sizeof *fl);
		if ((fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK) ||
		    (fl->l_whence != SEEK_SET && fl->l_whence != SEEK_CUR && fl->l_whence != SEEK_END))
			return -EINVAL;
		return 0;
	case F_GETLEASE: case F_GETSIG: case F_SETSIG: case F_GETOWN: case F_SETOWN:
	case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_GET_SEALS: case F_ADD_SEALS:
	case F_CREATED_QUERY:
		/* An int argument, passed on: the kernel answers for the
		 * shadow's file (leases and O_ASYNC are never set on it, so
		 * F_SETSIG and F_SETOWN make nothing signal the shadow). */
		return to_int(a[2], &o->iarg2) ? 0 : -EINVAL;
	default:
		/* F_GETFD/F_SETFD/F_DUPFD* are the client's (placeholder)
		 * business; F_SETLEASE and F_NOTIFY would signal the shadow;
		 * commands with a pointer argument are not marshalled. */
		return -EINVAL;
	}
}

/* F_SETLK, F_OFD_SETLK, F_GETLK or F_OFD_GETLK of o->fl, tried again while
 * the conflict may be the lock of a client that has ended (above). */
static int64_t try_lock(struct op *o, int cmd)
{
	const struct flock req = o->fl;
	int get = cmd == F_GETLK || cmd == F_OFD_GETLK;

	for (int i = 0;; i++) {
		o->fl = req;
		int64_t r = sysret(fcntl(o->f->fd, cmd, &o->fl));
		int conflict = get ? r == 0 && o->fl.l_type != F_UNLCK : r == -EAGAIN || r == -EACCES;
		pid_t holder = 0;

		if (!conflict || i == LOCK_RETRIES)
			return r;
		if (cmd == F_GETLK) {
			holder = o->fl.l_pid;
		} else if (cmd == F_SETLK) {
			struct flock q = req;

			if (fcntl(o->f->fd, F_GETLK, &q) == 0) {
				if (q.l_type == F_UNLCK)
					continue;       /* released meanwhile */
				holder = q.l_pid;
			}
		}
		if (!orphan_ended(o, holder))
			return r;
	}
}

int64_t op_fcntl(struct op *o)
{
	int cmd = o->iarg;
	int64_t r;

	switch (cmd) {
	case F_GETFL:
		return sysret(fcntl(o->f->fd, F_GETFL));
	case F_SETFL:
		return sysret(fcntl(o->f->fd, F_SETFL, o->iarg2));
	case F_GETLEASE: case F_GETSIG: case F_SETSIG: case F_GETOWN: case F_SETOWN:
	case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_GET_SEALS: case F_ADD_SEALS:
	case F_CREATED_QUERY:
		return sysret(fcntl(o->f->fd, cmd, o->iarg2));
	case F_SETLKW:
	case F_OFD_SETLKW:
		if (o->nowait)
			return busy_to_enolck(try_lock(o, cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK));
		return sysret(fcntl(o->f->fd, cmd, &o->fl));
	default:
		r = try_lock(o, cmd);
		if (r == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK)) {
			/* The holder as the program knows it: a shadow's
			 * client (pidmap.c); OFD locks have no pid (-1). */
			if (o->fl.l_type != F_UNLCK && o->fl.l_pid > 0)
				o->fl.l_pid = vos_pidmap_client(o->fl.l_pid);
			memcpy(o->buf, &o->fl, sizeof o->fl);
		}
		return r;
	}
}

int prep_getdents(struct op *o)
{
	return range_ok(o, 0, o->a[1]) ? 0 : -EINVAL;
}

int64_t op_getdents(struct op *o)
{
	int64_t r = sysret(getdents64(o->f->fd, o->ob->scratch, (size_t)o->a[1]));
	if (r > 0)
		memcpy(o->buf, o->ob->scratch, (size_t)r);
	return r;
}

/* ---- paths: the file a path names ------------------------------------------ */

int64_t op_fstatat(struct op *o)
{
	const int64_t *a = o->a;
	struct target t;
	struct stat st;
	int flags;

	/* What fstatat(2) takes (the AT_STATX_* sync bits too, as of 6.x). */
	if (!to_int(a[2], &flags) ||
	    (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)))
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

int64_t op_statx(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_faccessat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_truncate(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_statfs(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_fchmodat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_fchownat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_utimensat(struct op *o)
{
	const int64_t *a = o->a;
	struct timespec ts[2], *tsp = NULL;
	struct target t;
	char proc[64];
	int flags;

	if (!to_int(a[3], &flags))
		return -EINVAL;
	if (a[2] != VOS_NO_PATH) {
		if (!range_ok(o, a[2], sizeof ts))
			return -EINVAL;
		memcpy(ts, o->buf + a[2], sizeof ts);   /* the kernel checks tv_nsec */
		tsp = ts;
		/* Linux: nothing to do, so neither the flags nor the path are
		 * looked at (utimensat(2), fs/utimes.c). */
		if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
			return 0;
	}
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
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

int64_t op_readlinkat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_fdpath(struct op *o)
{
	struct vos_file *f = NULL;
	int fd = o->sh->root.fd;

	if (o->a[0] != VOS_FD_ROOT) {
		int err = get_file(o, o->a[0], &f);
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

/* WALK: where a path that left the export goes on (resolve.h). */
int64_t op_walk(struct op *o)
{
	const int64_t *a = o->a;
	struct dir d;
	int links;

	if (a[2] != 0 && a[2] != 1)
		return -EINVAL;
	if (a[3] < 0 || a[3] > VOS_MAXSYMLINKS)
		return -ELOOP;
	links = (int)a[3];
	int err = get_str(o, a[1], o->ob->path);
	if (!err)
		err = get_dir(o, a[0], &d);
	if (err)
		return err;
	char *out = (char *)o->ob->scratch;
	size_t room = o->size < PATH_MAX + 4 ? o->size : PATH_MAX + 4;
	int r = vos_resolve_escape(&o->sh->root, d.fd, o->ob->path, (int)a[2], out + 4,
				   room - 4, &links);
	put_dir(&d);
	if (r <= 0)
		return r;
	uint32_t l = (uint32_t)links;
	memcpy(out, &l, 4);
	size_t n = 4 + strlen(out + 4) + 1;
	memcpy(o->buf, out, n);
	return (int64_t)n;
}

/* ---- paths: creating and removing names ------------------------------------ */

int64_t op_unlinkat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_mkdirat(struct op *o)
{
	const int64_t *a = o->a;
	struct parent p;

	int err = get_parent(o, a[0], a[1], o->ob->path, &p);
	if (err)
		return err;
	int64_t r = p.last == VOS_LAST_NORM ?
		sysret(mkdirat(p.fd, p.base, (mode_t)(a[2] & 07777))) : -EEXIST;
	close(p.fd);
	return r;
}

/* The type bits go to the kernel as they are: it answers for S_IFDIR (EPERM),
 * an unknown type (EINVAL) and devices (EPERM unless the shadow may make them). */
int64_t op_mknodat(struct op *o)
{
	const int64_t *a = o->a;
	struct parent p;

	if (a[2] < 0 || a[2] > UINT32_MAX)
		return -EINVAL;
	int err = get_parent(o, a[0], a[1], o->ob->path, &p);
	if (err)
		return err;
	int64_t r = p.last == VOS_LAST_NORM ?
		sysret(mknodat(p.fd, p.base, (mode_t)a[2], (dev_t)a[3])) : -EEXIST;
	close(p.fd);
	return r;
}

int64_t op_symlinkat(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_renameat2(struct op *o)
{
	const int64_t *a = o->a;
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

int64_t op_linkat(struct op *o)
{
	const int64_t *a = o->a;
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
	} else if (t.nopath && (flags & AT_EMPTY_PATH)) {
		/* The kernel requires CAP_DAC_READ_SEARCH here, as natively. */
		r = sysret(linkat(t.fd, "", p.fd, p.base, AT_EMPTY_PATH));
	} else {
		/* Followed: link the inode the path ends at (a directory:
		 * EPERM).  Also the client's /proc/self/fd/N of a remote fd
		 * (no path, AT_SYMLINK_FOLLOW without AT_EMPTY_PATH): the
		 * magic link of our fd needs no capability and links an
		 * O_TMPFILE file unless it was opened O_EXCL, as natively. */
		proc_path(proc, sizeof proc, t.fd);
		r = sysret(linkat(AT_FDCWD, proc, p.fd, p.base, AT_SYMLINK_FOLLOW));
	}
	close(p.fd);
	put_target(&t);
	return r;
}

/* ---- fd-to-fd copies (COPYFD) --------------------------------------------- */

/*
 * in fd (arg 0, the dispatcher holds it), out fd, len, in offset | -1, out
 * offset | -1, how.  prep looks at both files once to say whether the call
 * may wait (a FIFO or socket on either side); issue takes the out file
 * again for the call (closed meanwhile: -EBADF, as a race natively).
 */
int prep_copyfd(struct op *o)
{
	const int64_t *a = o->a;
	struct vos_file *in, *out;
	int err;

	if (a[2] < 0 || a[2] > VOS_COPYFD_MAX || a[3] < -1 || a[4] < -1 ||
	    (a[5] != 0 && a[5] != 1) || (a[5] == 0 && a[4] != -1))
		return -EINVAL;
	err = get_file(o, a[0], &in);
	if (err)
		return err;
	err = get_file(o, a[1], &out);
	if (err) {
		vos_fdt_put(in);
		return err;
	}
	o->wait = in->may_block || out->may_block;
	vos_fdt_put(out);
	vos_fdt_put(in);
	return 0;
}

int64_t op_copyfd(struct op *o)
{
	const int64_t *a = o->a;
	off_t in_off = (off_t)a[3], out_off = (off_t)a[4];
	struct vos_file *out;
	int64_t r;
	int err = get_file(o, a[1], &out);

	if (err)
		return err;
	if (a[5] == 0)
		r = sysret(sendfile(out->fd, o->f->fd, a[3] >= 0 ? &in_off : NULL, (size_t)a[2]));
	else
		r = sysret(copy_file_range(o->f->fd, a[3] >= 0 ? &in_off : NULL,
					   out->fd, a[4] >= 0 ? &out_off : NULL, (size_t)a[2], 0));
	vos_fdt_put(out);
	return r;
}
