/*
 * cwd.c - chdir/fchdir/getcwd with routed directories.
 *
 * The kernel cannot enter a directory of another domain, so chdir into a
 * routed directory leaves the kernel's cwd alone and records the
 * directory's path (as the service resolves it, symlinks followed) as the
 * virtual cwd (route.c).  getcwd() returns it; relative paths start from
 * it.  A chdir to a local directory makes the cwd local again.  Exec hands
 * a virtual cwd to the new image (VOS_CWD, see process.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "interpose_internal.h"

/* Make remote directory fd the virtual cwd: it must be a directory we may
 * search.  0 or -1. */
static int enter_remote_dir(struct vos_client *c, int svc, int fd)
{
	struct vos_req r = { .op = VOS_OP_FACCESSAT, .arg = { fd, 0, X_OK, AT_EACCESS } };
	struct vos_in in = { 1, ".", 2 };
	char rel[PATH_MAX], full[PATH_MAX];
	struct stat st;

	if (vos_remote_fstat(c, fd, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (vos_ret(vos_rpc(c, &r, &in, 1, NULL, 0, 0)) < 0)
		return -1;
	if (vos_remote_fdpath(c, fd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(svc, rel, full, sizeof(full)) < 0)
		return -1;
	vos_cwd_set_virtual(full);
	return 0;
}

VOS_EXPORT int chdir(const char *path)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p), fd, res, e;

	if (r < 0)
		return -1;
	if (r == 0) {
		res = real_chdir(p.path);
		if (res == 0)
			vos_cwd_set_local();
		return res;
	}
	fd = vos_remote_openat(&p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	res = enter_remote_dir(p.client, p.svc, fd);
	e = errno;
	vos_remote_close(fd);
	errno = e;
	return res;
}

VOS_EXPORT int fchdir(int fd)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc), res;

	if (r < 0)
		return -1;
	if (r == 1)
		return enter_remote_dir(c, svc, fd);
	res = real_fchdir(fd);
	if (res == 0)
		vos_cwd_set_local();
	return res;
}

VOS_EXPORT char *getcwd(char *buf, size_t size)
{
	char cwd[PATH_MAX];
	size_t len;
	int r;

	vos_init();
	r = vos_cwd_virtual(cwd, sizeof(cwd));
	if (r == 0)
		return real_getcwd(buf, size);
	if (r < 0)
		return NULL;
	len = strlen(cwd) + 1;
	if (!buf) {
		if (size == 0)
			size = len;
		else if (size < len) {
			errno = ERANGE;
			return NULL;
		}
		buf = malloc(size);
		if (!buf) {
			errno = ENOMEM;
			return NULL;
		}
	} else if (size == 0) {
		errno = EINVAL;
		return NULL;
	} else if (size < len) {
		errno = ERANGE;
		return NULL;
	}
	memcpy(buf, cwd, len);
	return buf;
}

VOS_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return getcwd(buf, size);
}

VOS_EXPORT char *get_current_dir_name(void)
{
	char cwd[PATH_MAX];
	int r;

	vos_init();
	r = vos_cwd_virtual(cwd, sizeof(cwd));
	if (r == 0)
		return real_get_current_dir_name();
	return r < 0 ? NULL : strdup(cwd);
}
