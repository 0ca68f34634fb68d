/*
 * opargs.c - decoding and checking a request's arguments (op.h): integers,
 * strings and structures in the slot, fd and dirfd numbers, the path
 * forms a metadata operation takes.
 *
 * Paths are resolved inside the export root (resolve.c).  Operations that
 * follow the final component resolve the whole path to an O_PATH fd and act
 * on that fd (get_target); operations on the final component itself resolve
 * the parent and act on (parent, name) (get_parent).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "op.h"

int64_t sysret(long r)
{
	return r < 0 ? -errno : r;
}

int to_int(int64_t v, int *out)
{
	if (v < INT32_MIN || v > INT32_MAX)
		return 0;
	*out = (int)v;
	return 1;
}

int to_id(int64_t v, uint32_t *out)
{
	if (v == -1) {
		*out = (uint32_t)-1;
		return 1;
	}
	if (v < 0 || v > UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

int range_ok(const struct op *o, int64_t off, int64_t len)
{
	return vos_slot_range_ok(&o->sh->ch, off, len);
}

/* The string must end inside the slot; a string that does not fit dst is
 * ENAMETOOLONG, as the kernel says for a path of PATH_MAX bytes or more. */
int get_str(const struct op *o, int64_t off, char *dst)
{
	if (off < 0 || (uint64_t)off >= o->size)
		return -EINVAL;
	size_t room = o->size - (size_t)off;
	size_t limit = room < PATH_MAX ? room : PATH_MAX;
	size_t n = strnlen((const char *)o->buf + off, limit);
	if (n == limit)
		return limit == PATH_MAX ? -ENAMETOOLONG : -EINVAL;
	memcpy(dst, o->buf + off, n);
	dst[n] = '\0';              /* the client may have changed it meanwhile */
	return 0;
}

int get_file(const struct op *o, int64_t num, struct vos_file **f)
{
	return vos_fdt_get(&o->sh->fdt, num, f);
}

int get_dir(const struct op *o, int64_t dirfd, struct dir *d)
{
	d->f = NULL;
	d->fd = -1;
	if (dirfd == VOS_FD_ROOT)
		return 0;
	int err = get_file(o, dirfd, &d->f);
	if (err)
		return err;
	d->fd = d->f->fd;
	return 0;
}

void put_dir(struct dir *d)
{
	vos_fdt_put(d->f);
	d->f = NULL;
}

void put_target(struct target *t)
{
	if (t->owned)
		close(t->fd);
	vos_fdt_put(t->f);
	t->owned = 0;
	t->f = NULL;
}

int get_target(const struct op *o, int64_t dirfd, int64_t pathoff, int nofollow,
	       int empty_ok, char *path, struct target *t)
{
	const struct vos_root *root = &o->sh->root;
	struct dir d;
	int err;

	memset(t, 0, sizeof *t);
	if (pathoff != VOS_NO_PATH) {
		err = get_str(o, pathoff, path);
		if (err)
			return err;
		if (path[0] == '\0' && !empty_ok)
			return -ENOENT;
	}
	if (pathoff == VOS_NO_PATH || path[0] == '\0') {
		t->nopath = 1;
		if (dirfd == VOS_FD_ROOT) {
			t->fd = root->fd;
			return 0;
		}
		err = get_file(o, dirfd, &t->f);
		if (err)
			return err;
		t->fd = t->f->fd;
		return 0;
	}

	err = get_dir(o, dirfd, &d);
	if (err)
		return err;
	/* "a/b/" follows b even for nofollow calls (the kernel does), and a
	 * final ".", ".." or "/" is never a symlink: both resolve whole. */
	if (nofollow && !vos_path_trailing_slash(path)) {
		enum vos_last last;
		const char *base;
		int pfd = vos_resolve_parent(root, d.fd, path, &base, &last);
		if (pfd < 0) {
			put_dir(&d);
			return pfd;
		}
		if (last == VOS_LAST_NORM) {
			put_dir(&d);
			t->fd = pfd;
			t->owned = 1;
			t->name = base;
			return 0;
		}
		close(pfd);
	}
	int fd = vos_resolve_open(root, d.fd, path, O_PATH, 0);
	put_dir(&d);
	if (fd < 0)
		return fd;
	t->fd = fd;
	t->owned = 1;
	return 0;
}

int get_parent(const struct op *o, int64_t dirfd, int64_t pathoff, char *path,
	       struct parent *p)
{
	struct dir d;
	int err = get_str(o, pathoff, path);
	if (err)
		return err;
	err = get_dir(o, dirfd, &d);
	if (err)
		return err;
	p->fd = vos_resolve_parent(&o->sh->root, d.fd, path, &p->base, &p->last);
	put_dir(&d);
	return p->fd < 0 ? p->fd : 0;
}

void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}
