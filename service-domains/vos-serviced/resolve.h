/*
 * resolve.h - path confinement: every path a client sends is resolved inside
 * the export root (or the view holding it), so neither ".." nor a symlink
 * (absolute or relative) can reach a file outside it.  The kernel does the walking (openat2 with
 * RESOLVE_BENEATH / RESOLVE_IN_ROOT); this file only decides where a walk
 * starts and which part of the path it covers.
 *
 * A walk that would leave the export (a symlink to an absolute path outside
 * the export's mount point, a relative target or a ".." climbing above the
 * export's root) is not followed: it fails with -VOS_ELINKOUT, and
 * vos_resolve_escape() tells where the path goes on in the client's
 * namespace, as the kernel would go on past a mount point.
 *
 * Self-contained (libc + kernel headers only) so the unit test can include
 * resolve.c directly.
 */
#ifndef VOS_RESOLVE_H
#define VOS_RESOLVE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Where paths are resolved.  Without a view, walks start at the export root
 * itself.  With a view (main.c sets one up in a private mount namespace),
 * walks start at the view root: an otherwise empty directory holding the
 * export at its mount point (e.g. /storage).  Absolute symlinks then mean
 * what they mean to the client ("/storage/a" is the export's "/a"), and any
 * other absolute target finds nothing.  Clients still name files by
 * export-relative paths; they are prefixed with the mount point here.
 */
struct vos_root {
	int fd;                  /* the export root, the clients' "/" (O_PATH|O_DIRECTORY) */
	int walk_fd;             /* where walks from the root start: the view root, or fd */
	size_t len;              /* strlen(path) */
	char path[PATH_MAX];     /* walk_fd's real path, as /proc/self/fd shows it */
	size_t mnt_len;          /* strlen(mnt); 0 without a view */
	char mnt[PATH_MAX];      /* the export's mount point in the view ("/storage") */
};

/* A walk left the export (see above); the value of vos_proto.h's. */
#define VOS_ELINKOUT 4000

/* Symlinks one path walk may follow in all (the kernel's MAXSYMLINKS). */
#define VOS_MAXSYMLINKS 40

/* What the final component of a path is (for operations on that component). */
enum vos_last {
	VOS_LAST_NORM,           /* an ordinary name */
	VOS_LAST_DOT,            /* "." */
	VOS_LAST_DOTDOT,         /* ".." */
	VOS_LAST_ROOT,           /* the path is only slashes: "/" */
};

/* Open the export root (no view).  0 or -errno. */
int vos_root_open(struct vos_root *r, const char *dir);
/* Open a view: view_fd is the view root (duplicated, the caller keeps its
 * own), mnt the export's mount point inside it, as vos_mount_point_parse()
 * returns it; it must be a directory there.  0 or -errno. */
int vos_root_open_view(struct vos_root *r, int view_fd, const char *mnt);
void vos_root_close(struct vos_root *r);

/*
 * Normalise a mount point: absolute, no "." or ".." components, no double or
 * trailing slashes ("/a//b/./" -> "/a/b"; "/" stays "/").  0, -EINVAL (not
 * absolute, or has "..") or -ENAMETOOLONG.
 */
int vos_mount_point_parse(const char *in, char *out, size_t size);

/*
 * Open `path` with openat2 flags/mode, confined to the root (the view, if
 * there is one).  dirfd is one of the service's own fds, or -1 for the
 * export root.  An absolute path always starts at the export root.  The
 * final component is followed unless flags has O_NOFOLLOW.  Returns a new fd
 * (O_CLOEXEC added) or -errno ("" is -ENOENT), -VOS_ELINKOUT if the walk
 * leaves the export.
 */
int vos_resolve_open(const struct vos_root *r, int dirfd, const char *path,
		     uint64_t flags, uint64_t mode);

/*
 * vos_resolve_open with the client's openat2 RESOLVE_* flags: with a client
 * directory (dirfd >= 0), RESOLVE_BENEATH and RESOLVE_IN_ROOT take it as the
 * limit or the root of the walk (no walk from the export root: a path that
 * leaves it is -EXDEV as in the kernel); RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV
 * and RESOLVE_CACHED apply to every walk (RESOLVE_NO_MAGICLINKS always does),
 * except RESOLVE_NO_XDEV on a walk from a view's root (which crosses into
 * the export's own mount).
 */
int vos_resolve_open2(const struct vos_root *r, int dirfd, const char *path,
		      uint64_t flags, uint64_t mode, uint64_t resolve);

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

/*
 * Where a walk of (dirfd, path) that leaves the export goes on: the path is
 * walked one component at a time (each lookup RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS from the export root, so nothing outside is ever
 * looked at), symlinks read with readlinkat and followed as the kernel
 * does (the final component only if `follow` or a trailing slash asks).
 * *links counts the symlinks followed (the caller's count so far in).
 * Returns 1 with out = the continuation: a symlink's absolute target that
 * lies outside the mount point + the rest of the path ("/usr/bin/python3",
 * a client path), or ".." + the rest for a ".." above the export's root
 * (relative to the mount point, as a client names it); 0 if the walk stays
 * inside (a missing name or a non-directory stops it: the kernel's walk
 * then gives the error); -ELOOP past VOS_MAXSYMLINKS, -ENAMETOOLONG, or
 * another -errno.
 */
int vos_resolve_escape(const struct vos_root *r, int dirfd, const char *path, int follow,
		       char *out, size_t size, int *links);

/* Nonzero if the final component of path ends in a slash ("a/b/"). */
int vos_path_trailing_slash(const char *path);

/*
 * The export-relative path of one of our fds ("/a/b"; the root is "/") into
 * buf.  Returns its length or -errno (-ENOENT if the file is no longer inside
 * the root, -ENAMETOOLONG if it does not fit).
 */
int vos_fd_relpath(const struct vos_root *r, int fd, char *buf, size_t size);

#endif
