/*
 * io.c - the read/write family on remote fds.
 *
 * A transfer goes through the slot buffer in chunks of at most one slot;
 * it stops at the first short transfer or error (an error after some bytes
 * moved returns the bytes, like a short read).  readv/writev gather or
 * scatter across iovecs within a chunk, so small vectors cost one call.
 * Every count from the service is checked against what was asked.
 * (sendfile, splice, tee, copy_file_range: xfer.c.)
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "common/vos_opdef.h"

#define NO_OFFSET ((off_t)-1)

/* Position in an iovec array. */
struct iovpos {
	const struct iovec *iov;
	int cnt, i;
	size_t off;
};

static void iov_advance(struct iovpos *p, size_t n)
{
	while (n > 0 && p->i < p->cnt) {
		size_t left = p->iov[p->i].iov_len - p->off;

		if (n < left) {
			p->off += n;
			return;
		}
		n -= left;
		p->i++;
		p->off = 0;
	}
}

/* Copy up to n bytes between the iovecs (from position p, not moved) and
 * buf.  0, or -EFAULT for a bad buffer of the program (uaccess.c). */
static int iov_copy(const struct iovpos *p, uint8_t *buf, size_t n, int to_iov)
{
	int i = p->i;
	size_t off = p->off;

	while (n > 0 && i < p->cnt) {
		size_t k = p->iov[i].iov_len - off;

		if (k > n)
			k = n;
		if (to_iov ? vos_copy_to_user((uint8_t *)p->iov[i].iov_base + off, buf, k)
			   : vos_copy_from_user(buf, (const uint8_t *)p->iov[i].iov_base + off, k))
			return -EFAULT;
		buf += k;
		n -= k;
		i++;
		off = 0;
	}
	return 0;
}

/* Probe the n bytes of the iovecs from position p (uaccess.c): 0 or -EFAULT. */
static int iov_probe(const struct iovpos *p, size_t n)
{
	size_t off = p->off;

	for (int i = p->i; n > 0 && i < p->cnt; i++, off = 0) {
		size_t k = p->iov[i].iov_len - off;

		if (k > n)
			k = n;
		if (vos_user_probe((const uint8_t *)p->iov[i].iov_base + off, k) < 0)
			return -EFAULT;
		n -= k;
	}
	return 0;
}

/* Total length of an iovec array, or -1 (EINVAL) like the kernel. */
static ssize_t iov_total(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	if (cnt < 0 || cnt > IOV_MAX)
		return -1;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -1;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static ssize_t xfer_locked(struct vos_client *c, int fd, const struct iovec *iov, int cnt,
			   off_t offset, int writing)
{
	size_t chunk = vos_client_slot_size(c), total = 0, want;
	ssize_t len = iov_total(iov, cnt);
	struct iovpos pos = { iov, cnt, 0, 0 };

	if (len < 0) {
		errno = EINVAL;
		return -1;
	}
	do {
		struct vos_req r = { .op = 0 };
		struct vos_slot *s;
		int64_t res;
		int err;

		want = (size_t)len - total < chunk ? (size_t)len - total : chunk;
		/* A buffer that is not there fails before the service moves
		 * the position (natively nothing is read). */
		if (!writing && iov_probe(&pos, want) < 0) {
			res = -EFAULT;
			goto failed;
		}
		err = vos_call_begin(c, &s);
		if (err) {
			res = err;
			goto failed;
		}
		r.arg[0] = fd;
		r.arg[1] = (int64_t)want;
		if (writing) {
			if (iov_copy(&pos, vos_slot_buf(s), want, 0) < 0) {
				vos_call_end(s);
				res = -EFAULT;
				goto failed;
			}
			r.arg[2] = 0;           /* data at offset 0 */
			r.op = offset == NO_OFFSET ? VOS_OP_WRITE : VOS_OP_PWRITE;
			r.arg[3] = offset + (off_t)total;
		} else {
			r.op = offset == NO_OFFSET ? VOS_OP_READ : VOS_OP_PREAD;
			r.arg[2] = offset + (off_t)total;
		}
		res = vos_slot_call(s, &r);
		if (!vos_op_result_ok(r.op, res, (int64_t)want))
			res = -EIO;
		if (res > 0 && !writing && iov_copy(&pos, vos_slot_buf(s), (size_t)res, 1) < 0)
			res = -EFAULT;  /* the data is lost, as a short copy in the kernel */
		vos_call_end(s);
failed:
		if (res < 0) {
			if (total > 0)
				return (ssize_t)total;
			if (res == -EFBIG && writing)
				vos_fsize_exceeded();   /* SIGXFSZ (rlimit.c) */
			errno = (int)-res;
			return -1;
		}
		total += (size_t)res;
		iov_advance(&pos, (size_t)res);
		if ((size_t)res < want)
			break;
	} while (total < (size_t)len);
	return (ssize_t)total;
}

static ssize_t xfer(struct vos_client *c, int fd, const struct iovec *iov, int cnt,
		    off_t offset, int writing)
{
	ssize_t n;

	/* One region around all chunks, too: a handler runs after the whole
	 * transfer, as it would after one read(2) of a local file. */
	vos_crit_enter();
	n = xfer_locked(c, fd, iov, cnt, offset, writing);
	vos_crit_leave();
	return n;
}

ssize_t vos_remote_read(struct vos_client *c, int fd, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return xfer(c, fd, &v, 1, NO_OFFSET, 0);
}

ssize_t vos_remote_write(struct vos_client *c, int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return xfer(c, fd, &v, 1, NO_OFFSET, 1);
}

static int bad_offset(off_t off)
{
	if (off < 0) {
		errno = EINVAL;
		return 1;
	}
	return 0;
}

/* A socket of a network service: read/write are recv/send (net.c). */
static int is_socket(int svc)
{
	return vos_services[svc].kind == VOS_SVC_NETWORK;
}

/* read/write on a socket: recv/send (net.c), and the errnos of a socket
 * whose network service is gone (ECONNRESET, EPIPE) instead of EIO. */
static ssize_t socket_rw(struct vos_client *c, int fd, const struct iovec *iov, int cnt,
			 int writing)
{
	long r = vos_net_rw(c, fd, iov, cnt, writing);

	return vos_ret(vos_net_gone_errno(fd, writing ? VOS_NET_GONE_SEND : VOS_NET_GONE_RECV, r));
}

/* A remote fd of a dead channel: EIO (a socket: as socket_rw says). */
static ssize_t dead_fd(int fd, int writing)
{
	return vos_ret(vos_net_gone_errno(fd, writing ? VOS_NET_GONE_SEND : VOS_NET_GONE_RECV, -EIO));
}

ssize_t vos_read(int fd, void *buf, size_t len)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc);
	struct iovec v = { buf, len };

	if (r == 0)
		return real_read(fd, buf, len);
	if (r < 0)
		return dead_fd(fd, 0);
	if (is_socket(svc))
		return socket_rw(c, fd, &v, 1, 0);
	return vos_remote_read(c, fd, buf, len);
}

ssize_t vos_write(int fd, const void *buf, size_t len)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc);
	struct iovec v = { (void *)buf, len };

	if (r == 0)
		return real_write(fd, buf, len);
	if (r < 0)
		return dead_fd(fd, 1);
	if (is_socket(svc))
		return socket_rw(c, fd, &v, 1, 1);
	return vos_remote_write(c, fd, buf, len);
}

ssize_t vos_pread(int fd, void *buf, size_t len, off_t off)
{
	struct vos_client *c;
	struct iovec v = { buf, len };
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_pread(fd, buf, len, off);
	if (r < 0 || bad_offset(off))
		return -1;
	return xfer(c, fd, &v, 1, off, 0);
}

ssize_t vos_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct vos_client *c;
	struct iovec v = { (void *)buf, len };
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_pwrite(fd, buf, len, off);
	if (r < 0 || bad_offset(off))
		return -1;
	return xfer(c, fd, &v, 1, off, 1);
}

ssize_t vos_readv(int fd, const struct iovec *iov, int cnt)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc);

	if (r == 0)
		return real_readv(fd, iov, cnt);
	if (r < 0)
		return dead_fd(fd, 0);
	if (is_socket(svc))
		return socket_rw(c, fd, iov, cnt, 0);
	return xfer(c, fd, iov, cnt, NO_OFFSET, 0);
}

ssize_t vos_writev(int fd, const struct iovec *iov, int cnt)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc);

	if (r == 0)
		return real_writev(fd, iov, cnt);
	if (r < 0)
		return dead_fd(fd, 1);
	if (is_socket(svc))
		return socket_rw(c, fd, iov, cnt, 1);
	return xfer(c, fd, iov, cnt, NO_OFFSET, 1);
}

ssize_t vos_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_preadv(fd, iov, cnt, off);
	if (r < 0 || bad_offset(off))
		return -1;
	return xfer(c, fd, iov, cnt, off, 0);
}

ssize_t vos_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_pwritev(fd, iov, cnt, off);
	if (r < 0 || bad_offset(off))
		return -1;
	return xfer(c, fd, iov, cnt, off, 1);
}

/*
 * preadv2/pwritev2: offset -1 means the file position.  RWF_HIPRI and
 * RWF_NOWAIT are hints the service may ignore; RWF_DSYNC/RWF_SYNC become an
 * fsync after the write; RWF_APPEND is not supported on remote fds.
 */
#define RWF_KNOWN (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT)

static ssize_t rw2(struct vos_client *c, int fd, const struct iovec *iov, int cnt,
		   off_t off, int flags, int writing)
{
	ssize_t n;

	if (flags & ~RWF_KNOWN) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (off < -1) {
		errno = EINVAL;
		return -1;
	}
	n = xfer(c, fd, iov, cnt, off == -1 ? NO_OFFSET : off, writing);
	if (n > 0 && writing && (flags & (RWF_DSYNC | RWF_SYNC))) {
		int64_t res = vos_rpc0(c, VOS_OP_FSYNC, fd, (flags & RWF_SYNC) ? 0 : 1, 0, 0, 0);

		if (res < 0)
			return vos_ret(res);
	}
	return n;
}

ssize_t vos_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_preadv2(fd, iov, cnt, off, flags);
	return r < 0 ? -1 : rw2(c, fd, iov, cnt, off, flags, 0);
}

ssize_t vos_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_pwritev2(fd, iov, cnt, off, flags);
	return r < 0 ? -1 : rw2(c, fd, iov, cnt, off, flags, 1);
}

/* ---- directory records ------------------------------------------------ */

struct dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

/* Records from the service must tile the buffer exactly, be 8-byte
 * aligned (callers read d_ino in place) and carry a NUL-terminated name. */
static int dirents_valid(const uint8_t *buf, size_t n)
{
	size_t off = 0, hdr = offsetof(struct dirent64_hdr, d_name);

	while (off < n) {
		struct dirent64_hdr d;

		if (n - off < hdr)
			return 0;
		memcpy(&d, buf + off, hdr);
		if (d.d_reclen <= hdr || d.d_reclen > n - off || d.d_reclen % 8)
			return 0;
		if (!memchr(buf + off + hdr, '\0', d.d_reclen - hdr))
			return 0;
		off += d.d_reclen;
	}
	return 1;
}

ssize_t vos_remote_getdents64(int fd, void *buf, size_t len)
{
	struct vos_client *c;
	struct vos_req r = { .op = VOS_OP_GETDENTS64 };
	int rem = vos_fd_remote(fd, &c, NULL);
	size_t want;
	int64_t res;

	if (rem == 0) {
		if (!real_getdents64) {
			errno = ENOSYS;
			return -1;
		}
		return real_getdents64(fd, buf, len);
	}
	if (rem < 0)
		return -1;
	want = len < vos_client_slot_size(c) ? len : vos_client_slot_size(c);
	r.arg[0] = fd;
	r.arg[1] = (int64_t)want;
	res = vos_rpc(c, &r, NULL, 0, buf, want, 0);
	if (res > 0 && !dirents_valid(buf, (size_t)res))
		res = -EIO;
	return vos_ret(res);
}

/* ---- hints and allocation --------------------------------------------- */

int vos_posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_posix_fadvise(fd, off, len, advice);
	/* Advice is only a hint; the service's page cache manages itself. */
	return r < 0 ? EIO : 0;
}

ssize_t vos_readahead(int fd, off_t off, size_t count)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_readahead(fd, off, count);
	return r < 0 ? -1 : 0;
}

int vos_fallocate(int fd, int mode, off_t off, off_t len)
{
	struct vos_client *c;
	int r = vos_fd_remote(fd, &c, NULL);

	if (r == 0)
		return real_fallocate(fd, mode, off, len);
	if (r < 0)
		return -1;
	return (int)vos_ret(vos_rpc0(c, VOS_OP_FALLOCATE, fd, mode, off, len, 0));
}

/* ---- mapping ----------------------------------------------------------- */

