/*
 * resolve.c - path confinement inside the export root (see resolve.h).
 *
 * Rules:
 *  - A walk that starts at the root uses RESOLVE_IN_ROOT: ".." at the root
 *    stays at the root and absolute symlinks restart at the root, like a
 *    chroot, but without one.
 *  - A walk relative to a client's directory fd first tries RESOLVE_BENEATH
 *    from that fd (cheap, and right even if the directory was renamed).  If
 *    the path leaves the directory (EXDEV: "..", an absolute symlink), the
 *    directory's export-relative path is joined with the path and the walk
 *    is redone from the root with RESOLVE_IN_ROOT.
 *  - RESOLVE_NO_MAGICLINKS everywhere: /proc-style links would jump
 *    anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "resolve.h"

/* openat2 may fail with EAGAIN when a rename races with a ".." walk. */
#define OPENAT2_RETRIES 16

static int openat2_retry(int dirfd, const char *path, uint64_t flags,
			 uint64_t mode, uint64_t resolve)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.mode = mode,
		.resolve = resolve | RESOLVE_NO_MAGICLINKS,
	};
	for (int i = 0; i < OPENAT2_RETRIES; i++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

int vos_root_open(struct vos_root *r, const char *dir)
{
	char proc[64];
	struct stat st;

	r->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", r->fd);
	ssize_t n = readlink(proc, r->path, sizeof r->path);
	if (n <= 0 || (size_t)n >= sizeof r->path || r->path[0] != '/' ||
	    fstat(r->fd, &st) < 0) {
		int e = n < 0 ? -errno : -ENAMETOOLONG;
		close(r->fd);
		r->fd = -1;
		return e;
	}
	r->path[n] = '\0';
	r->len = (size_t)n;
	return 0;
}

void vos_root_close(struct vos_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int vos_fd_relpath(const struct vos_root *r, int fd, char *buf, size_t size)
{
	char proc[64], link[PATH_MAX];
	struct stat st;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof link);
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof link)
		return -ENAMETOOLONG;
	link[n] = '\0';
	/* A removed file shows as "/x (deleted)": it has no path any more. */
	if (link[0] != '/' || fstat(fd, &st) < 0 || st.st_nlink == 0)
		return -ENOENT;

	const char *rel;
	if (r->len == 1) {
		rel = link;             /* the root is "/" itself */
	} else if (strncmp(link, r->path, r->len) == 0 &&
		   (link[r->len] == '/' || link[r->len] == '\0')) {
		rel = link + r->len;
		if (*rel == '\0')
			rel = "/";
	} else {
		return -ENOENT;         /* moved out of the export by someone else */
	}
	size_t len = strlen(rel);
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, rel, len + 1);
	return (int)len;
}

int vos_resolve_open(const struct vos_root *r, int dirfd, const char *path,
		     uint64_t flags, uint64_t mode)
{
	if (dirfd < 0 || path[0] == '/')
		return openat2_retry(r->fd, path, flags, mode, RESOLVE_IN_ROOT);

	int fd = openat2_retry(dirfd, path, flags, mode, RESOLVE_BENEATH);
	if (fd != -EXDEV)
		return fd;

	/* The path leaves dirfd: redo the walk from the root. */
	char joined[PATH_MAX];
	int n = vos_fd_relpath(r, dirfd, joined, sizeof joined);
	if (n < 0)
		return n;
	size_t plen = strlen(path);
	if ((size_t)n + 1 + plen >= sizeof joined)
		return -ENAMETOOLONG;
	joined[n] = '/';
	memcpy(joined + n + 1, path, plen + 1);
	return openat2_retry(r->fd, joined, flags, mode, RESOLVE_IN_ROOT);
}

int vos_path_trailing_slash(const char *path)
{
	size_t len = strlen(path);
	return len > 0 && path[len - 1] == '/';
}

int vos_resolve_parent(const struct vos_root *r, int dirfd, const char *path,
		       const char **base, enum vos_last *last)
{
	size_t len = strlen(path);
	if (len == 0)
		return -ENOENT;

	size_t end = len;
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (end == 0) {
		*base = path + len - 1;
		*last = VOS_LAST_ROOT;
		return vos_resolve_open(r, -1, "/", O_PATH | O_DIRECTORY, 0);
	}

	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	*base = path + start;
	size_t nlen = end - start;
	if (nlen == 1 && path[start] == '.')
		*last = VOS_LAST_DOT;
	else if (nlen == 2 && path[start] == '.' && path[start + 1] == '.')
		*last = VOS_LAST_DOTDOT;
	else
		*last = VOS_LAST_NORM;

	char dir[PATH_MAX];
	if (start == 0) {
		strcpy(dir, ".");
	} else {
		if (start >= sizeof dir)
			return -ENAMETOOLONG;
		memcpy(dir, path, start);
		dir[start] = '\0';
	}
	return vos_resolve_open(r, dirfd, dir, O_PATH | O_DIRECTORY, 0);
}
