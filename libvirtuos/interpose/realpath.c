/*
 * realpath.c - canonical paths: realpath() of a routed path asks the
 * service (symlinks are resolved there and cannot leave the export), and
 * the helpers that turn a remote fd back into a path under its route
 * prefix (also used by fchdir/chdir, procattr.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "interpose_internal.h"

/* ---- realpath ------------------------------------------------------------------------ */

int vos_remote_fdpath(struct vos_client *c, int fd, char *buf, size_t size)
{
	struct vos_req r = { .op = VOS_OP_FDPATH, .arg = { fd } };
	int64_t n = vos_rpc(c, &r, NULL, 0, buf, size - 1, 0);

	if (n < 0)
		return (int)vos_ret(n);
	buf[n] = '\0';
	if (n == 0 || buf[0] != '/' || strlen(buf) != (size_t)n) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int vos_join_prefix(int svc, const char *rel, char *out, size_t size)
{
	const char *prefix = vos_service_prefix(svc);
	int n = snprintf(out, size, "%s%s", prefix, strcmp(rel, "/") == 0 ? "" : rel);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Resolve a routed path through the service: open it O_PATH, ask its path. */
static char *remote_realpath(const struct vos_path *p, char *resolved)
{
	char rel[PATH_MAX], full[PATH_MAX];
	int fd = vos_remote_openat(p, O_PATH | O_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return NULL;
	if (vos_remote_fdpath(p->client, fd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(p->svc, rel, full, sizeof(full)) < 0)
		err = errno;
	vos_remote_close(fd);
	if (err) {
		errno = err;
		return NULL;
	}
	if (!resolved)
		return strdup(full);
	strcpy(resolved, full);
	return resolved;
}

VOS_EXPORT char *realpath(const char *path, char *resolved)
{
	struct vos_path p;
	int r;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (!*path) {
		errno = ENOENT;
		return NULL;
	}
	r = vos_path_resolve(AT_FDCWD, path, 0, &p);
	if (r < 0)
		return NULL;
	if (r == 0)
		return real_realpath(p.path, resolved);
	return remote_realpath(&p, resolved);
}

VOS_EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}
