/*
 * realpath.c - canonical paths: realpath() of a routed path asks the
 * service (symlinks inside the export are resolved there; one that leaves
 * it goes on in our namespace, see route.c), and
 * the helpers that turn a remote fd back into a path under its route
 * prefix (also used by fchdir/chdir, procattr.c), and magic links
 * (/proc/self/fd/N) to remote fds, which route.c turns into that path: the
 * kernel would act on the placeholder (glibc's fchmodat(AT_SYMLINK_NOFOLLOW)
 * does chmod("/proc/self/fd/N")).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	int n;

	if (!prefix) {          /* a socket of a network service: no path */
		errno = ENOENT;
		return -1;
	}
	n = snprintf(out, size, "%s%s", prefix, strcmp(rel, "/") == 0 ? "" : rel);

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
	char next[PATH_MAX];
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
	/* A symlink out of the export goes on in our namespace (route.c). */
	for (int links = 0;;) {
		char *res;

		r = vos_path_resolve(AT_FDCWD, path, 0, &p);
		if (r < 0)
			return NULL;
		if (r == 0)
			return real_realpath(p.path, resolved);
		res = remote_realpath(&p, resolved);
		if (res || errno != VOS_ELINKOUT)
			return res;
		r = vos_path_linkout(AT_FDCWD, path, 1, &links, next);
		if (r < 0)
			return NULL;
		if (r == 1)
			path = next;
	}
}

VOS_EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* The fortified entry point (glibc's calls its internal realpath). */
VOS_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolved && resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

/* ---- magic links to remote fds ---------------------------------------------------------- */

/* The fd number a magic-link path names ("/proc/self/fd/N[/rest]",
 * "/proc/thread-self/fd/N", "/proc/<our pid>/fd/N", "/dev/fd/N"), or -1;
 * *rest points after the number. */
static int magic_fd(const char *path, const char **rest)
{
	static const char *const dirs[] = { "/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/" };
	const char *s = NULL;
	long fd = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !s; i++)
		if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
			s = path + strlen(dirs[i]);
	if (!s && strncmp(path, "/proc/", 6) == 0 && path[6] >= '1' && path[6] <= '9') {
		long pid = strtol(path + 6, (char **)&s, 10);

		if (strncmp(s, "/fd/", 4) != 0 || pid != (long)getpid())
			return -1;
		s += 4;
	}
	if (!s || *s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && fd < VOS_FD_LIMIT)
		fd = fd * 10 + (*s++ - '0');
	if (fd >= VOS_FD_LIMIT || (*s && *s != '/'))
		return -1;
	*rest = s;
	return (int)fd;
}

int vos_magic_remote_fd(const char *path)
{
	const char *rest;
	int fd = magic_fd(path, &rest);

	if (fd < 0 || *rest || VOS_FDE_KIND(vos_fd_entry(fd)) != VOS_FDK_REMOTE)
		return -1;
	return fd;
}

int vos_magic_link(const char *path, char *out, size_t size)
{
	char rel[PATH_MAX];
	const char *rest;
	struct vos_client *c;
	int svc, fd = magic_fd(path, &rest), r;
	size_t n;

	if (fd < 0 || VOS_FDE_KIND(vos_fd_entry(fd)) != VOS_FDK_REMOTE)
		return 0;
	r = vos_fd_remote(fd, &c, &svc);
	if (r <= 0)
		return r;
	if (vos_remote_fdpath(c, fd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(svc, rel, out, size) < 0)
		return -1;
	n = strlen(out);
	if (n + strlen(rest) + 1 > size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(out + n, rest);
	return 1;
}
