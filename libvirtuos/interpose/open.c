/*
 * open.c - calls that make an fd from a path: the open family, creat, and
 * the mkstemp family.
 *
 * A routed path is opened by the service into a fresh placeholder number
 * (see fdtable.c); a local one by glibc, after which any stale entry for
 * the number is dropped (vos_fd_fresh).  The fortified entry points
 * (__open_2, ...) are in compat.c.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"

/* ---- open --------------------------------------------------------------- */

int vos_remote_openat2(const struct vos_path *p, int flags, mode_t mode, uint64_t resolve)
{
	const struct vos_service *s = &vos_services[p->svc];
	struct vos_req r = { .op = VOS_OP_OPENAT,
			     .arg = { p->dirfd, 0, flags, mode, 0, (int64_t)resolve } };
	struct vos_in in = { 1, p->path, strlen(p->path) + 1 };
	int64_t res;
	int ph, e;

	vos_fdlock_rd();
	ph = real_open(s->placeholder, O_PATH | (flags & O_CLOEXEC));
	if (ph < 0) {
		e = errno;
		vos_fdlock_unlock();
		/* No placeholder file means no service behind the rundir. */
		errno = (e == EMFILE || e == ENFILE || e == ENOMEM) ? e : EIO;
		return -1;
	}
	if (ph >= VOS_FD_LIMIT) {
		real_close(ph);
		vos_fdlock_unlock();
		errno = EMFILE;
		return -1;
	}
	r.arg[4] = ph;
	res = vos_rpc(p->client, &r, &in, 1, NULL, 0, 0);
	if (res != ph) {
		/* Another number in the answer is a broken service: never
		 * act on it, it may be one of our other fds. */
		real_close(ph);
		vos_fdlock_unlock();
		errno = res < 0 ? (int)-res : EIO;
		return -1;
	}
	vos_fd_set(ph, VOS_FDE_REMOTE(p->svc, p->gen));
	vos_fdlock_unlock();
	return ph;
}

int vos_remote_openat(const struct vos_path *p, int flags, mode_t mode)
{
	return vos_remote_openat2(p, flags, mode, 0);
}


int vos_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -1;
	if (r == 1)
		return vos_remote_openat(&p, flags, mode);
	return vos_fd_fresh(real_openat(p.dirfd, p.path, flags, mode));
}

/*
 * openat2(2).  The kernel checks struct open_how first (size, E2BIG for
 * unknown trailing bytes, flags, mode, resolve, RESOLVE_CACHED with
 * O_CREAT...): we let it, with the program's pointer and an empty path
 * (which it then refuses with ENOENT), so every error is the kernel's.
 * The path is then routed as for openat, and the flags, mode and
 * RESOLVE_* flags go to the service (OPENAT's arg[5]), which runs openat2
 * in the shadow: RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV, RESOLVE_CACHED as
 * given.  RESOLVE_BENEATH and RESOLVE_IN_ROOT scope the walk to the dirfd:
 * - an absolute path with RESOLVE_IN_ROOT is taken relative to the dirfd,
 *   one with RESOLVE_BENEATH is EXDEV (as the kernel does);
 * - a remote dirfd: the service walks from its own fd of that directory;
 * - AT_FDCWD under a routed (virtual) cwd: the cwd is opened O_PATH
 *   through the service for the call;
 * - a local dirfd (or a local cwd): the kernel, unchanged (a walk from a
 *   local directory into a routed prefix then sees the local directory).
 */
#define SCOPED (RESOLVE_BENEATH | RESOLVE_IN_ROOT)

static long openat2_routed(int dirfd, const char *path, const struct open_how *how)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	if (r < 0)
		return -errno;
	if (r == 0) {
		long b[6] = { p.dirfd, (long)p.path, (long)how, sizeof(*how) };

		r = (int)vos_dispatch_raw(SYS_openat2, b);
		return r >= 0 ? vos_fd_fresh(r) : r;
	}
	r = vos_remote_openat2(&p, (int)how->flags, (mode_t)how->mode, how->resolve);
	return r < 0 ? -errno : r;
}

static long openat2_scoped(int dirfd, const char *upath, const struct open_how *how, long a[6])
{
	char path[PATH_MAX], cwd[8];
	const char *rel = path;
	long n = vos_strncpy_from_user(path, upath, sizeof(path));
	long r;
	int tmp;

	if (n < 0)
		return n;
	if (path[0] == '/') {
		if (how->resolve & RESOLVE_BENEATH)
			return -EXDEV;
		while (*rel == '/')
			rel++;
		if (*rel == '\0')
			rel = ".";
	}
	if (dirfd != AT_FDCWD) {
		if (VOS_FDE_KIND(vos_fd_entry(dirfd)) != VOS_FDK_REMOTE)
			return vos_dispatch_raw(SYS_openat2, a);
		return openat2_routed(dirfd, rel, how);
	}
	if (vos_cwd_virtual(cwd, sizeof(cwd)) == 0)
		return vos_dispatch_raw(SYS_openat2, a);
	/* A routed cwd (or one too long for cwd[]: then it is virtual too). */
	tmp = vos_openat(AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp < 0)
		return -errno;
	if (VOS_FDE_KIND(vos_fd_entry(tmp)) != VOS_FDK_REMOTE) {
		real_close(tmp);
		return vos_dispatch_raw(SYS_openat2, a);
	}
	r = openat2_routed(tmp, rel, how);
	vos_remote_close(tmp);
	return r;
}

long vos_openat2(long a[6])
{
	struct open_how how;
	long probe[6] = { AT_FDCWD, (long)"", a[2], a[3] };
	long r = vos_dispatch_raw(SYS_openat2, probe);

	if (r >= 0) {
		real_close((int)r);     /* cannot happen: "" is ENOENT */
		return -EINVAL;
	}
	if (r != -ENOENT)
		return r;
	if (vos_copy_from_user(&how, (const void *)a[2], sizeof(how)) < 0)
		return -EFAULT;
	if (how.resolve & SCOPED)
		return openat2_scoped((int)a[0], (const char *)a[1], &how, a);
	return openat2_routed((int)a[0], (const char *)a[1], &how);
}
