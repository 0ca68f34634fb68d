/*
 * xfer.c - fd-to-fd copies: sendfile, splice, tee, copy_file_range between
 * fds of any domains.
 *
 * Which path a call takes, by where its two fds live:
 *   - both local: the kernel (the precheck answers before we are called);
 *   - both remote fds of one service: VOS_OP_COPYFD, the shadow runs the
 *     real sendfile/copy_file_range on its own fds (no byte crosses the
 *     channel), in parts of at most VOS_COPYFD_MAX;
 *   - otherwise (two services, or local and remote): a bounded copy loop
 *     here, through a 64 KiB buffer: read one side, write the other.
 *
 * The loop never loses or duplicates a byte, whatever the write side
 * takes (a short write, EAGAIN on a non-blocking socket, an error):
 *   - a file source is read at an offset (pread) or from its position
 *     (read); when the write side takes fewer bytes than were read, the
 *     position is moved back over the rest (lseek SEEK_CUR), so it ends
 *     just after the bytes written, as natively;
 *   - a pipe source is peeked: tee(2) into a private pipe, the copy read
 *     from there, and only the bytes the write side took are then
 *     consumed from the program's pipe;
 *   - a socket source (splice or sendfile into a pipe) cannot give bytes
 *     back: only as many are received as the pipe has room for, and they
 *     are then written whole (waiting for room if another writer took it
 *     meanwhile).
 * Natively a call moves what it can and returns the count: so here (the
 * bytes moved so far, or the first error when none moved).  Offsets
 * behave as natively: an offset pointer is used and advanced, the file
 * position stays; without one the position moves.
 *
 * Errors are the kernel's where a side is local, and answered here as the
 * kernel would for the combinations it refuses: EINVAL (sendfile from a
 * socket other than into a pipe, copy_file_range of a non-regular file,
 * splice with no pipe side, tee of a remote fd: a FIFO under a routed
 * prefix is not a pipe here, an offset for a socket), ESPIPE (an offset
 * for a pipe),
 * EBADF (copy_file_range into an O_APPEND file), EFAULT (a bad offset
 * pointer), EINVAL for sendfile into an O_APPEND file.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "common/vos_opdef.h"
#include "dispatch/dispatch.h"

#define XFER_BUF        (64u * 1024u)
#define MAX_RW_COUNT    0x7ffff000L     /* the kernel's bound on one transfer */

/* Where an fd lives, and what it is. */
enum side_kind {
	SIDE_LOCAL,     /* the kernel's: pipe, regular file, local socket, ... */
	SIDE_FILE,      /* a remote file (a storage service) */
	SIDE_SOCKET,    /* a remote socket (a network service) */
};

struct side {
	int fd;
	enum side_kind kind;
	int svc;                /* remote: the service */
	struct vos_client *c;   /* remote: its channel */
	mode_t type;            /* SIDE_LOCAL: S_IFMT of the fd */
};

static long sys(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };

	return vos_dispatch_raw(nr, a);
}

/* -1/errno of our handlers to -errno. */
static long kret(long r)
{
	return r < 0 ? -errno : r;
}

/*
 * fd's side: 0, or -errno: a remote fd of a dead channel gives EIO, or for
 * a socket of a network service that is gone the socket's errno (net.c:
 * `writing` says which side it is on).
 */
static int side_get(int fd, int writing, struct side *s)
{
	int r = vos_fd_remote(fd, &s->c, &s->svc);

	s->fd = fd;
	if (r < 0)
		return (int)vos_net_gone_errno(fd, writing ? VOS_NET_GONE_SEND : VOS_NET_GONE_RECV, -EIO);
	if (r == 0) {
		struct stat st;
		long e = sys(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);

		if (e < 0)
			return (int)e;
		s->kind = SIDE_LOCAL;
		s->type = st.st_mode & S_IFMT;
		return 0;
	}
	s->kind = vos_services[s->svc].kind == VOS_SVC_NETWORK ? SIDE_SOCKET : SIDE_FILE;
	return 0;
}

static int is_pipe(const struct side *s)
{
	return s->kind == SIDE_LOCAL && s->type == S_IFIFO;
}

/* A local source sendfile reads at a position: a file or a device (not a
 * pipe, socket or directory). */
static int is_local_file(const struct side *s)
{
	return s->kind == SIDE_LOCAL && s->type != S_IFIFO && s->type != S_IFSOCK &&
	       s->type != S_IFDIR;
}

/* The file status flags of a side (F_GETFL), or -errno. */
static long side_flags(const struct side *s)
{
	if (s->kind == SIDE_LOCAL)
		return sys(SYS_fcntl, s->fd, F_GETFL, 0, 0, 0, 0);
	return kret(vos_fcntl(s->fd, F_GETFL, NULL));
}

/* An offset argument: *off from the program's pointer (NULL: none, *has 0). */
static int off_get(const off_t *uptr, off_t *off, int *has)
{
	*has = uptr != NULL;
	*off = 0;
	if (!uptr)
		return 0;
	if (vos_copy_from_user(off, uptr, sizeof *off) < 0)
		return -EFAULT;
	return *off < 0 ? -EINVAL : 0;
}

static int off_put(off_t *uptr, off_t off)
{
	if (!uptr)
		return 0;
	return vos_copy_to_user(uptr, &off, sizeof off) < 0 ? -EFAULT : 0;
}

/* Read n bytes of a side into buf: at *off (advanced) or at its position. */
static long side_read(const struct side *s, void *buf, size_t n, off_t *off)
{
	long r = off ? kret(vos_pread(s->fd, buf, n, *off)) : kret(vos_read(s->fd, buf, n));

	if (r > 0 && off)
		*off += r;
	return r;
}

static long side_write(const struct side *s, const void *buf, size_t n, off_t *off)
{
	long r = off ? kret(vos_pwrite(s->fd, buf, n, *off)) : kret(vos_write(s->fd, buf, n));

	if (r > 0 && off)
		*off += r;
	return r;
}

/* Give back `back` bytes read from a file's position (never for a pipe
 * or socket, whose sources take other paths). */
static void side_unread(const struct side *s, long back)
{
	if (back > 0)
		vos_lseek(s->fd, -back, SEEK_CUR);
}

/* ---- the same service: one operation ------------------------------------- */

/* how: 0 sendfile, 1 copy_file_range (vos_ops.def, COPYFD). */
static long copy_in_service(const struct side *in, off_t *in_off, const struct side *out,
			    off_t *out_off, size_t len, int how)
{
	size_t total = 0;

	while (total < len) {
		size_t want = len - total < VOS_COPYFD_MAX ? len - total : VOS_COPYFD_MAX;
		struct vos_req q = { .op = VOS_OP_COPYFD,
				     .arg = { in->fd, out->fd, (int64_t)want, in_off ? *in_off : -1,
					      out_off ? *out_off : -1, how } };
		int64_t r = vos_rpc(in->c, &q, NULL, 0, NULL, 0, 0);

		if (r > (int64_t)want)
			r = -EIO;
		if (r < 0)
			return total ? (long)total : (long)r;
		if (in_off)
			*in_off += r;
		if (out_off)
			*out_off += r;
		total += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	return (long)total;
}

/* ---- across domains: the copy loop ---------------------------------------- */

/*
 * From a file (or anything read at a position): read a part, write it,
 * give back what the write side did not take.  in_off NULL: the position.
 */
static long copy_from_file(const struct side *in, off_t *in_off, const struct side *out,
			   off_t *out_off, size_t len)
{
	uint8_t *buf = malloc(XFER_BUF);
	size_t total = 0;
	long err = 0;

	if (!buf)
		return -ENOMEM;
	while (total < len) {
		size_t want = len - total < XFER_BUF ? len - total : XFER_BUF;
		long n = side_read(in, buf, want, in_off), w, back;

		if (n <= 0) {
			err = n;
			break;
		}
		w = side_write(out, buf, (size_t)n, out_off);
		if (w < n) {
			back = n - (w > 0 ? w : 0);
			if (in_off)
				*in_off -= back;
			else
				side_unread(in, back);
			if (w < 0)
				err = w;
			else
				total += (size_t)w;
			break;
		}
		total += (size_t)n;
	}
	free(buf);
	return total ? (long)total : err;
}

/* Read exactly n bytes of a local fd (a pipe whose bytes are there). */
static long read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		long r = sys(SYS_read, fd, (long)(buf + got), (long)(n - got), 0, 0, 0);

		if (r == -EINTR)
			continue;
		if (r <= 0)
			return got ? (long)got : r;
		got += (size_t)r;
	}
	return (long)got;
}

/*
 * From a local pipe: peek with tee(2) into a private pipe, write what was
 * peeked, then consume from the program's pipe only what was written.  The
 * first part waits for data as natively (unless nonblock); later parts
 * take only what is already there.
 */
static long copy_from_pipe(const struct side *in, const struct side *out, off_t *out_off,
			   size_t len, int nonblock)
{
	uint8_t *buf = malloc(XFER_BUF);
	int p[2];
	size_t total = 0;
	long err = 0;

	if (!buf)
		return -ENOMEM;
	err = sys(SYS_pipe2, (long)p, O_CLOEXEC, 0, 0, 0, 0);
	if (err < 0) {
		free(buf);
		return err;
	}
	while (total < len) {
		size_t want = len - total < XFER_BUF ? len - total : XFER_BUF;
		long t = sys(SYS_tee, in->fd, p[1], (long)want,
			     (nonblock || total) ? SPLICE_F_NONBLOCK : 0, 0, 0), w;

		if (t <= 0) {
			err = (t == -EAGAIN && total) ? 0 : t;
			break;
		}
		t = read_full(p[0], buf, (size_t)t);
		if (t <= 0) {
			err = t < 0 ? t : -EIO;
			break;
		}
		w = side_write(out, buf, (size_t)t, out_off);
		if (w > 0)
			read_full(in->fd, buf, (size_t)w);     /* consume what went out */
		if (w < t) {
			if (w < 0)
				err = w;
			else
				total += (size_t)w;
			break;
		}
		total += (size_t)t;
	}
	sys(SYS_close, p[0], 0, 0, 0, 0, 0);
	sys(SYS_close, p[1], 0, 0, 0, 0, 0);
	free(buf);
	return total ? (long)total : err;
}

/* Room in a local pipe (its write end): 0 when full, or -errno. */
static long pipe_room(int fd)
{
	long cap = sys(SYS_fcntl, fd, F_GETPIPE_SZ, 0, 0, 0, 0);
	int queued = 0;
	long r;

	if (cap < 0)
		return cap;
	r = sys(SYS_ioctl, fd, FIONREAD, (long)&queued, 0, 0, 0);
	if (r < 0)
		return r;
	return cap > queued ? cap - queued : 0;
}

/* Write all n bytes into a local pipe, waiting for room (the bytes came
 * from a source that cannot take them back). */
static long write_pipe_full(int fd, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		long r = sys(SYS_write, fd, (long)(buf + done), (long)(n - done), 0, 0, 0);

		if (r == -EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			sys(SYS_poll, (long)&pf, 1, -1, 0, 0, 0);
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r < 0)
			return done ? (long)done : r;
		done += (size_t)r;
	}
	return (long)done;
}

/*
 * Into a local pipe from a remote file or socket: one part, no larger than
 * the room the pipe has (waiting for room as natively, unless nonblock),
 * then written whole.  A file source gives back what the pipe did not take
 * (only if the pipe lost its readers: EPIPE); a socket's bytes would be
 * lost then, as they would be in any program that read them.
 */
static long copy_to_pipe(const struct side *in, off_t *in_off, const struct side *out,
			 size_t len, int nonblock)
{
	uint8_t *buf;
	long room, n, w;

	for (;;) {
		room = pipe_room(out->fd);
		if (room != 0)
			break;
		if (nonblock)
			return -EAGAIN;
		struct pollfd pf = { .fd = out->fd, .events = POLLOUT };
		long r = sys(SYS_poll, (long)&pf, 1, -1, 0, 0, 0);

		if (r < 0)
			return r;
	}
	if (room < 0)
		return room;
	if ((size_t)room > len)
		room = (long)len;
	if (room > (long)XFER_BUF)
		room = XFER_BUF;
	buf = malloc(XFER_BUF);
	if (!buf)
		return -ENOMEM;
	n = side_read(in, buf, (size_t)room, in_off);
	if (n <= 0) {
		free(buf);
		return n;
	}
	w = write_pipe_full(out->fd, buf, (size_t)n);
	if (w < n && in->kind != SIDE_SOCKET) {
		long back = n - (w > 0 ? w : 0);

		if (in_off)
			*in_off -= back;
		else
			side_unread(in, back);
	}
	free(buf);
	return w;
}

/* ---- the system calls ------------------------------------------------------- */

/* Two sides of one live service (and not the same as across services). */
static int same_service(const struct side *a, const struct side *b)
{
	return a->kind != SIDE_LOCAL && b->kind != SIDE_LOCAL && a->svc == b->svc && a->c == b->c;
}

/* sendfile(out_fd, in_fd, offset, count) */
long vos_xfer_sendfile(long a[6])
{
	struct side in, out;
	off_t *uoff = (off_t *)a[2], off;
	size_t count = (size_t)a[3];
	int has, r;
	long n;

	r = side_get((int)a[1], 0, &in);
	if (r == 0)
		r = side_get((int)a[0], 1, &out);
	if (r < 0)
		return r;
	if (in.kind == SIDE_LOCAL && out.kind == SIDE_LOCAL)
		return vos_dispatch_raw(SYS_sendfile, a);
	r = off_get(uoff, &off, &has);
	if (r < 0)
		return r;
	if (count > (size_t)MAX_RW_COUNT)
		count = (size_t)MAX_RW_COUNT;
	if (same_service(&in, &out)) {
		n = copy_in_service(&in, has ? &off : NULL, &out, NULL, count, 0);
	} else if (is_pipe(&out) && in.kind != SIDE_LOCAL) {
		/* into a pipe: splice's rules (Linux 5.12), a socket too */
		if (has && in.kind == SIDE_SOCKET)
			return -ESPIPE;
		n = copy_to_pipe(&in, has ? &off : NULL, &out, count, 0);
	} else {
		/* the source must be a file (sendfile(2): not a socket) */
		if (in.kind == SIDE_SOCKET || (in.kind == SIDE_LOCAL && !is_local_file(&in)))
			return -EINVAL;
		if (out.kind != SIDE_SOCKET) {
			long fl = side_flags(&out);

			if (fl < 0)
				return fl;
			if ((fl & O_ACCMODE) == O_RDONLY)
				return -EBADF;
			if (fl & O_APPEND)
				return -EINVAL;
		}
		if (count == 0)
			return 0;
		n = copy_from_file(&in, has ? &off : NULL, &out, NULL, count);
	}
	if (n >= 0 && off_put(uoff, off) < 0)
		return -EFAULT;
	return n;
}

/* A regular file for copy_file_range: 0, -EISDIR, -EINVAL, or the fstat's error. */
static int regular(const struct side *s)
{
	mode_t type = s->type;

	if (s->kind == SIDE_SOCKET)
		return -EINVAL;
	if (s->kind == SIDE_FILE) {
		struct stat st;

		if (vos_fstat(s->fd, &st) < 0)
			return -errno;
		type = st.st_mode & S_IFMT;
	}
	if (type == S_IFDIR)
		return -EISDIR;
	return type == S_IFREG ? 0 : -EINVAL;
}

/* copy_file_range(in, off_in, out, off_out, len, flags) */
long vos_xfer_copy_file_range(long a[6])
{
	struct side in, out;
	off_t *uin = (off_t *)a[1], *uout = (off_t *)a[3], oin, oout;
	size_t len = (size_t)a[4];
	int hin, hout, r;
	long n, fl;

	r = side_get((int)a[0], 0, &in);
	if (r == 0)
		r = side_get((int)a[2], 1, &out);
	if (r < 0)
		return r;
	if (in.kind == SIDE_LOCAL && out.kind == SIDE_LOCAL)
		return vos_dispatch_raw(SYS_copy_file_range, a);
	if (a[5])
		return -EINVAL;
	r = off_get(uin, &oin, &hin);
	if (r == 0)
		r = off_get(uout, &oout, &hout);
	if (r < 0)
		return r;
	if (len > (size_t)MAX_RW_COUNT)
		len = (size_t)MAX_RW_COUNT;
	if (same_service(&in, &out)) {
		n = copy_in_service(&in, hin ? &oin : NULL, &out, hout ? &oout : NULL, len, 1);
	} else {
		r = regular(&in);
		if (r == 0)
			r = regular(&out);
		if (r < 0)
			return r;
		fl = side_flags(&in);
		if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY)
			return -EBADF;
		fl = fl < 0 ? fl : side_flags(&out);
		if (fl < 0)
			return fl;
		if ((fl & O_ACCMODE) == O_RDONLY || (fl & O_APPEND))
			return -EBADF;
		if (len == 0)
			return 0;
		n = copy_from_file(&in, hin ? &oin : NULL, &out, hout ? &oout : NULL, len);
	}
	if (n >= 0 && (off_put(uin, oin) < 0 || off_put(uout, oout) < 0))
		return -EFAULT;
	return n;
}

#define SPLICE_KNOWN (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)

/* splice(in, off_in, out, off_out, len, flags) */
long vos_xfer_splice(long a[6])
{
	struct side in, out;
	off_t *uin = (off_t *)a[1], *uout = (off_t *)a[3], oin, oout;
	size_t len = (size_t)a[4];
	unsigned flags = (unsigned)a[5];
	int hin, hout, r, nonblock;
	long n, fl;

	r = side_get((int)a[0], 0, &in);
	if (r == 0)
		r = side_get((int)a[2], 1, &out);
	if (r < 0)
		return r;
	if (in.kind == SIDE_LOCAL && out.kind == SIDE_LOCAL)
		return vos_dispatch_raw(SYS_splice, a);
	if (flags & ~SPLICE_KNOWN)
		return -EINVAL;
	/* One side must be a pipe, and pipes are local: the other is remote. */
	if (!is_pipe(&in) && !is_pipe(&out))
		return -EINVAL;
	if ((is_pipe(&in) && uin) || (is_pipe(&out) && uout))
		return -ESPIPE;
	if ((in.kind == SIDE_SOCKET && uin) || (out.kind == SIDE_SOCKET && uout))
		return -EINVAL;         /* not positioned (no FMODE_PREAD/PWRITE) */
	r = off_get(uin, &oin, &hin);
	if (r == 0)
		r = off_get(uout, &oout, &hout);
	if (r < 0)
		return r;
	if (len == 0)
		return 0;
	if (len > (size_t)MAX_RW_COUNT)
		len = (size_t)MAX_RW_COUNT;
	fl = side_flags(is_pipe(&in) ? &in : &out);
	if (fl < 0)
		return fl;
	nonblock = (flags & SPLICE_F_NONBLOCK) || (fl & O_NONBLOCK);
	if (is_pipe(&in))
		n = copy_from_pipe(&in, &out, hout ? &oout : NULL, len, nonblock);
	else
		n = copy_to_pipe(&in, hin ? &oin : NULL, &out, len, nonblock);
	if (n >= 0 && (off_put(uin, oin) < 0 || off_put(uout, oout) < 0))
		return -EFAULT;
	return n;
}

/* tee(in, out, len, flags): both must be pipes, and pipes are local; a
 * remote fd (a FIFO under a routed prefix too) is EINVAL, as a non-pipe
 * is natively. */
long vos_xfer_tee(long a[6])
{
	struct side in, out;
	int r = side_get((int)a[0], 0, &in);

	if (r == 0)
		r = side_get((int)a[1], 1, &out);
	if (r < 0)
		return r;
	if (in.kind == SIDE_LOCAL && out.kind == SIDE_LOCAL)
		return vos_dispatch_raw(SYS_tee, a);
	return -EINVAL;
}
