/*
 * resolve.h - path confinement: every path a client sends is resolved inside
 * the export root, so neither ".." nor a symlink (absolute or relative) can
 * reach a file outside it.  The kernel does the walking (openat2 with
 * RESOLVE_IN_ROOT / RESOLVE_BENEATH); this file only decides where a walk
 * starts and which part of the path it covers.
 *
 * Self-contained (libc + kernel headers only) so the unit test can include
 * resolve.c directly.
 */
#ifndef VOS_RESOLVE_H
#define VOS_RESOLVE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct vos_root {
	int fd;                  /* O_PATH|O_DIRECTORY, open for the process's life */
	size_t len;              /* strlen(path) */
	char path[PATH_MAX];     /* the root's real path, as /proc/self/fd shows it */
};

/* What the final component of a path is (for operations on that component). */
enum vos_last {
	VOS_LAST_NORM,           /* an ordinary name */
	VOS_LAST_DOT,            /* "." */
	VOS_LAST_DOTDOT,         /* ".." */
	VOS_LAST_ROOT,           /* the path is only slashes: "/" */
};

/* Open the export root.  0 or -errno. */
int vos_root_open(struct vos_root *r, const char *dir);
void vos_root_close(struct vos_root *r);

/*
 * Open `path` with openat2 flags/mode, confined to the root.  dirfd is one of
 * the service's own fds, or -1 for the root.  An absolute path always starts
 * at the root.  The final component is followed unless flags has O_NOFOLLOW.
 * Returns a new fd (O_CLOEXEC added) or -errno.
 */
int vos_resolve_open(const struct vos_root *r, int dirfd, const char *path,
		     uint64_t flags, uint64_t mode);

/*
 * For operations on the final component without following it: open the
 * parent directory (O_PATH) and point *base at the final component inside
 * path (trailing slashes included, the kernel gives them their meaning).
 * *last says whether the final component is a name, ".", ".." or the root;
 * callers must not pass anything but VOS_LAST_NORM to the kernel relative to
 * the parent.  Returns the parent fd or -errno (-ENOENT for "").
 */
int vos_resolve_parent(const struct vos_root *r, int dirfd, const char *path,
		       const char **base, enum vos_last *last);

/* Nonzero if the final component of path ends in a slash ("a/b/"). */
int vos_path_trailing_slash(const char *path);

/*
 * The export-relative path of one of our fds ("/a/b"; the root is "/") into
 * buf.  Returns its length or -errno (-ENOENT if the file is no longer inside
 * the root, -ENAMETOOLONG if it does not fit).
 */
int vos_fd_relpath(const struct vos_root *r, int fd, char *buf, size_t size);

#endif
