/*
 * resolve.c - path confinement inside the export root (see resolve.h).
 *
 * Rules:
 *  - A walk relative to a client's directory fd first tries RESOLVE_BENEATH
 *    from that fd (cheap, and right even if the directory was renamed).  If
 *    the path leaves the directory (EXDEV: "..", an absolute symlink), the
 *    directory's export path is joined with the path and the walk is redone
 *    from the root.
 *  - A walk from the root uses RESOLVE_BENEATH from the export root: the
 *    common case, no symlink or only ones that stay below, costs one
 *    openat2.  EXDEV means it met an absolute symlink or a ".." above the
 *    root: vos_resolve_escape() then walks the path itself to tell whether
 *    it leaves the export (-VOS_ELINKOUT, the client goes on in its own
 *    namespace) or stays inside, through absolute symlinks into the mount
 *    point of a view ("/storage/a", what a client's ln -s makes).  Those
 *    are walked again with RESOLVE_IN_ROOT from the view root (the export
 *    sits at its mount point there, and paths from the client get the
 *    mount point as prefix), where absolute targets mean what they mean to
 *    the client.
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

/* The real path of fd, as /proc/self/fd shows it, into buf (PATH_MAX).
 * Length, or -errno. */
static int fd_path(int fd, char *buf)
{
	char proc[64];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, PATH_MAX);
	if (n < 0)
		return -errno;
	if ((size_t)n >= PATH_MAX)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return (int)n;
}

/* Take walk_fd as the walk root: record its path. */
static int set_walk_root(struct vos_root *r)
{
	int n = fd_path(r->walk_fd, r->path);
	if (n < 0)
		return n;
	if (r->path[0] != '/')
		return -ENOENT;
	r->len = (size_t)n;
	return 0;
}

int vos_root_open(struct vos_root *r, const char *dir)
{
	memset(r, 0, sizeof *r);
	r->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = -errno;
		r->fd = r->walk_fd = -1;
		return e;
	}
	r->walk_fd = r->fd;
	int err = set_walk_root(r);
	if (err)
		vos_root_close(r);
	return err;
}

int vos_root_open_view(struct vos_root *r, int view_fd, const char *mnt)
{
	size_t mlen = strlen(mnt);

	memset(r, 0, sizeof *r);
	r->fd = -1;
	if (mnt[0] != '/' || mlen >= sizeof r->mnt) {
		r->walk_fd = -1;
		return -EINVAL;
	}
	r->walk_fd = fcntl(view_fd, F_DUPFD_CLOEXEC, 0);
	if (r->walk_fd < 0)
		return -errno;
	int err = set_walk_root(r);
	if (!err) {
		/* The view is ours: its directories are never symlinks. */
		r->fd = openat2_retry(r->walk_fd, mnt, O_PATH | O_DIRECTORY, 0,
				      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
		if (r->fd < 0)
			err = r->fd;
	}
	if (err) {
		vos_root_close(r);
		return err;
	}
	/* "/" as mount point: the view is the export, nothing to prefix. */
	r->mnt_len = strcmp(mnt, "/") == 0 ? 0 : mlen;
	memcpy(r->mnt, mnt, r->mnt_len);
	r->mnt[r->mnt_len] = '\0';
	return 0;
}

void vos_root_close(struct vos_root *r)
{
	if (r->walk_fd >= 0 && r->walk_fd != r->fd)
		close(r->walk_fd);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = r->walk_fd = -1;
}

int vos_mount_point_parse(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (in[0] != '/')
		return -EINVAL;
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (n + 1 + len >= size)
			return -ENAMETOOLONG;
		out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (n == 0) {
		if (size < 2)
			return -ENAMETOOLONG;
		out[n++] = '/';
	}
	out[n] = '\0';
	return 0;
}

/*
 * The path of one of our fds relative to the walk root ("/storage/a" in a
 * view, "/a" without one) into buf.  Length or -errno: -ENOENT if the file
 * has no path any more or lies outside the walk root.
 */
static int walk_relpath(const struct vos_root *r, int fd, char *buf, size_t size)
{
	char link[PATH_MAX];
	struct stat st;

	int n = fd_path(fd, link);
	if (n < 0)
		return n;
	/* A removed file shows as "/x (deleted)": it has no path any more. */
	if (link[0] != '/' || fstat(fd, &st) < 0 || st.st_nlink == 0)
		return -ENOENT;

	const char *rel;
	if (r->len == 1) {
		rel = link;             /* the walk root is "/" itself */
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

int vos_fd_relpath(const struct vos_root *r, int fd, char *buf, size_t size)
{
	char rel[PATH_MAX];
	int n = walk_relpath(r, fd, rel, sizeof rel);
	if (n < 0)
		return n;

	const char *p = rel;
	if (r->mnt_len) {
		/* Only what lies at or below the mount point has an export path. */
		if (strncmp(rel, r->mnt, r->mnt_len) != 0 ||
		    (rel[r->mnt_len] != '/' && rel[r->mnt_len] != '\0'))
			return -ENOENT;
		p = rel[r->mnt_len] ? rel + r->mnt_len : "/";
	}
	size_t len = strlen(p);
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, p, len + 1);
	return (int)len;
}

/* Join a + "/" + b into buf (PATH_MAX).  0 or -ENAMETOOLONG. */
static int join(char *buf, const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen + 1 + blen >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, a, alen);
	buf[alen] = '/';
	memcpy(buf + alen + 1, b, blen + 1);
	return 0;
}

/* A path for RESOLVE_BENEATH from the export root: no leading slash ("/"
 * is "."). */
static const char *beneath(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

/* The walk from the root met an absolute symlink or ".." above it, and
 * stays inside: the view's walk, where absolute targets are the client's. */
static int open_in_view(const struct vos_root *r, const char *path, uint64_t flags,
			uint64_t mode, uint64_t from_root)
{
	char joined[PATH_MAX];

	if (!r->mnt_len)
		return openat2_retry(r->walk_fd, path, flags, mode, RESOLVE_IN_ROOT | from_root);
	/* An export-relative path is the mount point's. */
	int err = join(joined, r->mnt, r->mnt_len, path);
	if (err)
		return err;
	return openat2_retry(r->walk_fd, joined, flags, mode, RESOLVE_IN_ROOT | from_root);
}

int vos_resolve_open(const struct vos_root *r, int dirfd, const char *path,
		     uint64_t flags, uint64_t mode)
{
	return vos_resolve_open2(r, dirfd, path, flags, mode, 0);
}

int vos_resolve_open2(const struct vos_root *r, int dirfd, const char *path,
		      uint64_t flags, uint64_t mode, uint64_t resolve)
{
	/* The restrictions that only narrow the walk apply to every walk. */
	uint64_t narrow = resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_CACHED);
	uint64_t from_root = narrow;
	char joined[PATH_MAX], rest[PATH_MAX];
	int err, links = 0;

	/* A view's root is another mount than the export under it: a walk
	 * from there crosses a mount the client never sees. */
	if (r->walk_fd != r->fd)
		from_root &= ~(uint64_t)RESOLVE_NO_XDEV;

	if (path[0] == '\0')
		return -ENOENT;
	if (dirfd >= 0 && (resolve & RESOLVE_IN_ROOT))
		/* The client's directory is the root: the walk cannot leave it. */
		return openat2_retry(dirfd, path, flags, mode, RESOLVE_IN_ROOT | narrow);
	if (dirfd >= 0 && (resolve & RESOLVE_BENEATH))
		/* Leaving the client's directory is the client's EXDEV. */
		return openat2_retry(dirfd, path, flags, mode, RESOLVE_BENEATH | narrow);
	if (dirfd >= 0 && path[0] != '/') {
		int fd = openat2_retry(dirfd, path, flags, mode, RESOLVE_BENEATH | narrow);
		if (fd != -EXDEV)
			return fd;

		/* The path leaves dirfd: redo the walk from the root. */
		char dir[PATH_MAX];
		int n = vos_fd_relpath(r, dirfd, dir, sizeof dir);
		if (n < 0)
			return n;
		err = join(joined, dir, (size_t)n, path);
		if (err)
			return err;
		path = joined;
	}

	int fd = openat2_retry(r->fd, beneath(path), flags, mode, RESOLVE_BENEATH | narrow);
	if (fd != -EXDEV)
		return fd;
	int follow = !(flags & O_NOFOLLOW) &&
		     !((flags & O_CREAT) && (flags & O_EXCL));
	err = vos_resolve_escape(r, -1, path, follow, rest, sizeof rest, &links);
	if (err > 0 && (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)))
		return -EXDEV;  /* a scoped walk never continues in the client's namespace */
	if (err)
		return err > 0 ? -VOS_ELINKOUT : err;
	return open_in_view(r, path, flags, mode, from_root);
}

/* Append a component to the walked path ("a/b", "" for the root). */
static int push(char *done, size_t *len, const char *name, size_t n)
{
	if (*len + 1 + n >= PATH_MAX)
		return -ENAMETOOLONG;
	if (*len)
		done[(*len)++] = '/';
	memcpy(done + *len, name, n);
	*len += n;
	done[*len] = '\0';
	return 0;
}

/* Remove the last component of the walked path. */
static void pop(char *done, size_t *len)
{
	while (*len > 0 && done[*len - 1] != '/')
		(*len)--;
	if (*len > 0)
		(*len)--;
	done[*len] = '\0';
}

/* dst = a + b.  0 or -ENAMETOOLONG. */
static int concat(char *dst, size_t size, const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen + blen >= size)
		return -ENAMETOOLONG;
	memmove(dst, a, alen);
	memcpy(dst + alen, b, blen + 1);
	return 0;
}

/*
 * Does an absolute symlink target lie inside the export as the client sees
 * it (a view's mount point)?  Then *inside is its rest, export-relative.
 * The target's components are matched against the mount point's ("." and
 * "//" skipped, ".." lexical: above the mount point lie only the view's
 * own directories, never a symlink).
 */
static int target_inside(const struct vos_root *r, const char *target, const char **inside)
{
	size_t matched = 0;     /* the mount point's components met: mnt[0, matched) */
	const char *t = target;

	if (r->walk_fd == r->fd)
		return 0;       /* no view: every absolute target is the client's */
	for (;;) {
		if (matched == r->mnt_len) {
			*inside = t;
			return 1;
		}
		while (*t == '/')
			t++;
		size_t n = strcspn(t, "/");
		if (n == 0)
			return 0;               /* above the mount point */
		if (n == 1 && t[0] == '.') {
			t += n;
			continue;
		}
		if (n == 2 && t[0] == '.' && t[1] == '.') {
			while (matched > 0 && r->mnt[--matched] != '/')
				;
			t += n;
			continue;
		}
		const char *m = r->mnt + matched + 1;   /* mnt[matched] is '/' */
		size_t k = strcspn(m, "/");
		if (k != n || memcmp(m, t, n) != 0)
			return 0;
		matched += 1 + k;
		t += n;
	}
}

int vos_resolve_escape(const struct vos_root *r, int dirfd, const char *path, int follow,
		       char *out, size_t size, int *links)
{
	char done[PATH_MAX], rest[PATH_MAX], target[PATH_MAX], name[NAME_MAX + 1];
	size_t dlen = 0;
	const char *c;
	int err;

	done[0] = '\0';
	if (dirfd >= 0 && path[0] != '/') {
		int n = vos_fd_relpath(r, dirfd, done, sizeof done);
		if (n < 0)
			return n;
		c = beneath(done);      /* "/a/b" -> "a/b", "/" -> "." */
		dlen = strcmp(c, ".") ? strlen(c) : 0;
		memmove(done, c, dlen);
		done[dlen] = '\0';
	}
	if (strlen(path) >= sizeof rest)
		return -ENAMETOOLONG;
	strcpy(rest, path);
	c = rest;
	/* Each round consumes a component or follows a link (at most
	 * VOS_MAXSYMLINKS), so the walk ends. */
	for (;;) {
		while (*c == '/')
			c++;
		if (*c == '\0')
			return 0;
		size_t n = strcspn(c, "/");
		const char *after = c + n, *s = after;
		while (*s == '/')
			s++;
		int last = *s == '\0';

		if (n == 1 && c[0] == '.') {
			c = after;
			continue;
		}
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (dlen == 0) {
				/* Above the export's root: the mount point's parent. */
				err = concat(out, size, "..", 2, after);
				return err ? err : 1;
			}
			pop(done, &dlen);
			c = after;
			continue;
		}
		if (n > NAME_MAX)
			return 0;       /* the kernel says ENAMETOOLONG */
		memcpy(name, c, n);
		name[n] = '\0';

		/* The walked path has no symlinks: look it up without any. */
		int dfd = dlen == 0 ? r->fd :
			  openat2_retry(r->fd, done, O_PATH | O_DIRECTORY, 0,
					RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (dfd < 0)
			return 0;       /* changed meanwhile: the kernel's walk decides */
		struct stat st;
		ssize_t tlen = -1;
		int got = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (got && S_ISLNK(st.st_mode) && (!last || follow || *after == '/'))
			tlen = readlinkat(dfd, name, target, sizeof target);
		if (dfd != r->fd)
			close(dfd);
		if (!got)
			return 0;       /* missing, no permission: the kernel's error */
		if (tlen < 0) {
			if (S_ISLNK(st.st_mode) && (!last || follow || *after == '/'))
				return 0;       /* gone meanwhile */
			if (!last && !S_ISDIR(st.st_mode))
				return 0;       /* ENOTDIR, from the kernel */
			err = push(done, &dlen, name, n);
			if (err)
				return err;
			c = after;
			continue;
		}

		/* A symlink to follow. */
		if (++*links > VOS_MAXSYMLINKS)
			return -ELOOP;
		if ((size_t)tlen >= sizeof target)
			return -ENAMETOOLONG;
		target[tlen] = '\0';
		const char *t = target;
		if (target[0] == '/') {
			if (!target_inside(r, target, &t)) {
				err = concat(out, size, target, (size_t)tlen, after);
				return err ? err : 1;
			}
			dlen = 0;       /* from the export's root */
			done[0] = '\0';
		}
		/* rest = target + what follows the link (after lies in rest). */
		char tmp[PATH_MAX];
		err = concat(tmp, sizeof tmp, t, strlen(t), after);
		if (err)
			return err;
		strcpy(rest, tmp);
		c = rest;
	}
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
