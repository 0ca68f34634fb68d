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
#include <time.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- open --------------------------------------------------------------- */

int vos_remote_openat(const struct vos_path *p, int flags, mode_t mode)
{
	const struct vos_service *s = &vos_services[p->svc];
	struct vos_req r = { .op = VOS_OP_OPENAT, .arg = { p->dirfd, 0, flags, mode } };
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
