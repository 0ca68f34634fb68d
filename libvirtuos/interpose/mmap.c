/*
 * mmap.c - mmap(2) of a remote file.
 *
 * The kernel cannot page a file it does not see, so a private mapping of a
 * remote file is a private mapping of a local copy, made at mmap time:
 *
 *   1. the bytes [off, min(off + len, size)) are read through the service
 *      (PREAD, in slot-sized chunks) into a memfd, at the same offsets;
 *      the memfd's size is the file's size, clipped to off + len;
 *   2. the memfd is mapped MAP_PRIVATE with the caller's address, prot and
 *      flags (MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_NORESERVE,
 *      MAP_LOCKED, ...), then closed (the mapping keeps it).
 *
 * So the mapping behaves as a private file mapping does natively: the tail
 * of the last page is zero, pages wholly past end of file raise SIGBUS,
 * PROT_EXEC works (the dynamic loader maps libraries this way), writes
 * are copy-on-write and private, a fork shares the pages until written,
 * MADV_DONTNEED brings back the file's bytes, /proc/self/maps shows
 * "/memfd:libvirtuos-mmap (deleted)" with the file offset.  mprotect,
 * mremap, munmap, msync, madvise are plain local calls on it.
 *
 * Differences from native: the range is read eagerly (the mapping costs
 * its length in memory and one read, MAP_NORESERVE or not); writes to the
 * file after the mmap are not seen through the mapping (natively they are,
 * until a page is written privately: POSIX leaves it unspecified); pages
 * past EOF stay SIGBUS if the file grows later.  If no memfd can be made
 * (fd table full, vm.memfd_noexec=2 with PROT_EXEC, a hard RLIMIT_FSIZE
 * below the file's size), the copy is an anonymous mapping instead: then
 * pages past end of file read as zeros.
 *
 * MAP_SHARED and MAP_SHARED_VALIDATE fail with ENODEV (what Linux answers
 * for a file that cannot be mapped, e.g. in /proc): writes through a
 * shared mapping could reach the file only at msync/munmap, and two
 * mappings of one file (two processes, or a mapping and pwrite in one, as
 * LMDB or SQLite's -shm use them) would silently disagree.  The access
 * checks come first, as in the kernel (EACCES for a write-only fd, or
 * PROT_WRITE on a fd not opened for writing).
 *
 * Called from the mmap wrapper (io.c) and, with the system-call
 * dispatcher, for SYS_mmap.  Only raw system calls and rpc.c are used.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif
#include "interpose_internal.h"
#include "channel/memfd.h"
#include "channel/vos_sys.h"
#include "common/vos_opdef.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static void *map_fail(int err)
{
	errno = err;
	return MAP_FAILED;
}

/* The remote fd's O_* status flags (F_GETFL through the service). */
static int remote_getfl(struct vos_client *c, int fd)
{
	struct vos_req r = { .op = VOS_OP_FCNTL, .arg = { fd, F_GETFL, 0 } };

	return (int)vos_ret(vos_rpc(c, &r, NULL, 0, NULL, 0, 0));
}

int vos_remote_pread_full(struct vos_client *c, int fd, void *buf, size_t len, off_t off)
{
	size_t chunk = vos_client_slot_size(c), done = 0;

	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;
		struct vos_req r = {
			.op = VOS_OP_PREAD,
			.arg = { fd, (int64_t)want, off + (off_t)done },
		};
		int64_t n = vos_rpc(c, &r, NULL, 0, (char *)buf + done, want, 0);

		if (n < 0) {
			errno = (int)-n;
			return -1;
		}
		if (n == 0)
			break;          /* end of file: the rest stays zero */
		done += (size_t)n;
	}
	return 0;
}

/* The copy in a memfd, mapped as asked.  MAP_FAILED with errno; *no_memfd
 * is set when the failure was making the memfd (try anonymous memory). */
static void *map_memfd(struct vos_client *c, int fd, void *addr, size_t len, int prot,
		       int flags, off_t off, size_t data, off_t fsize, int *no_memfd)
{
	void *m = MAP_FAILED;
	long mfd;
	int err = 0;

	*no_memfd = 0;
	mfd = syscall(SYS_memfd_create, "libvirtuos-mmap", MFD_CLOEXEC);
	if (mfd < 0) {
		*no_memfd = 1;
		return MAP_FAILED;
	}
	err = -vos_memfd_truncate((int)mfd, fsize);     /* not RLIMIT_FSIZE's */
	if (err == EFBIG)
		*no_memfd = 1;  /* a hard limit below the file's size */
	if (err)
		goto out;
	if (data > 0) {
		long w = vos_sys_mmap(NULL, data, PROT_READ | PROT_WRITE, MAP_SHARED, (int)mfd, off);

		if (w < 0) {
			err = (int)-w;
			goto out;
		}
		if (vos_remote_pread_full(c, fd, (void *)w, data, off) < 0)
			err = errno;
		vos_sys_munmap((void *)w, data);
		if (err)
			goto out;
	}
	m = (void *)syscall(SYS_mmap, addr, len, prot, flags, (int)mfd, off);
	if (m == MAP_FAILED) {
		err = errno;
		/* vm.memfd_noexec, or a security module, refusing PROT_EXEC */
		if ((err == EACCES || err == EPERM) && (prot & PROT_EXEC))
			*no_memfd = 1;
	}
out:
	vos_sys_close((int)mfd);
	if (err)
		errno = err;
	return m;
}

/* The copy in anonymous memory (pages past end of file read as zeros). */
static void *map_anon(struct vos_client *c, int fd, void *addr, size_t len, int prot,
		      int flags, off_t off, size_t data)
{
	void *m = (void *)syscall(SYS_mmap, addr, len, PROT_READ | PROT_WRITE,
				  flags | MAP_ANONYMOUS, -1, 0);
	int err;

	if (m == MAP_FAILED)
		return m;
	if (vos_remote_pread_full(c, fd, m, data, off) < 0 ||
	    syscall(SYS_mprotect, m, len, prot) < 0) {
		err = errno;
		vos_sys_munmap(m, len);
		return map_fail(err);
	}
	return m;
}

void *vos_mmap_remote(int fd, void *addr, size_t len, int prot, int flags, off_t off)
{
	const int pass = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_NORESERVE |
			 MAP_LOCKED | MAP_NONBLOCK | MAP_32BIT | MAP_GROWSDOWN | MAP_STACK |
			 MAP_DENYWRITE | MAP_EXECUTABLE;
	size_t ps = page_size(), plen, data = 0;
	int type = flags & MAP_TYPE, fl, no_memfd;
	struct vos_client *c;
	struct stat st;
	void *m;
	int r;

	/* The kernel's own checks, in its order (arch mmap, do_mmap). */
	if (off < 0 || ((size_t)off & (ps - 1)))
		return map_fail(EINVAL);
	r = vos_fd_remote(fd, &c, NULL);
	if (r <= 0)
		return map_fail(r < 0 ? errno : EBADF);
	if (flags & MAP_HUGETLB)
		return map_fail(EINVAL);
	if (len == 0)
		return map_fail(EINVAL);
	plen = (len + ps - 1) & ~(ps - 1);
	if (plen == 0)
		return map_fail(ENOMEM);
	if ((uint64_t)off + plen < (uint64_t)off || (uint64_t)off + plen > (uint64_t)INT64_MAX)
		return map_fail(EOVERFLOW);
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE && type != MAP_PRIVATE)
		return map_fail(EINVAL);
	fl = remote_getfl(c, fd);
	if (fl < 0)
		return MAP_FAILED;
	if (fl & O_PATH)
		return map_fail(EBADF);
	if (type != MAP_PRIVATE) {
		if ((prot & PROT_WRITE) && (fl & O_ACCMODE) != O_RDWR)
			return map_fail(EACCES);
		if ((fl & O_ACCMODE) == O_WRONLY)
			return map_fail(EACCES);
		return map_fail(ENODEV);        /* see the header */
	}
	if ((fl & O_ACCMODE) == O_WRONLY)
		return map_fail(EACCES);
	if (vos_remote_fstat(c, fd, &st) < 0)
		return MAP_FAILED;
	if (!S_ISREG(st.st_mode))
		return map_fail(ENODEV);
	if (st.st_size > off)
		data = (uint64_t)(st.st_size - off) < len ? (size_t)(st.st_size - off) : len;
	flags = (flags & pass) | MAP_PRIVATE;
	m = map_memfd(c, fd, addr, len, prot, flags, off, data,
		      off + (off_t)data, &no_memfd);
	if (m == MAP_FAILED && no_memfd)
		m = map_anon(c, fd, addr, len, prot, flags, off, data);
#ifdef __SANITIZE_ADDRESS__
	/* Fresh memory from raw system calls, as the kernel's mmap gives it:
	 * ASan's shadow of the range may still hold a dead stack's poison (a
	 * CLONE_VM spawn child ran the library's hooks on a stack since
	 * unmapped; execfile.c says the same). */
	if (m != MAP_FAILED)
		ASAN_UNPOISON_MEMORY_REGION(m, len);
#endif
	return m;
}
