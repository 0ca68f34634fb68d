/*
 * view.c - the view root: what the clients see as "/" around the export.
 *
 * A client names /storage/a, the service gets "/a".  An absolute symlink
 * the client made ("/storage/a") must lead to the export's "/a", and one
 * pointing anywhere else must lead nowhere.  So paths are resolved in a
 * view (resolve.h): an otherwise empty, read-only tmpfs with the export
 * bind-mounted at the mount point.  The mounts live in a mount namespace of
 * the daemon's own (shadows inherit it), so nothing is mounted on the host.
 * The tmpfs is attached at <rundir>/<name>.view (name: the service's,
 * --name), an empty directory on the host that is reused across restarts
 * and removed at exit.
 *
 * Everything after the namespace switch is done through descriptors
 * (fsopen/fsmount/open_tree/move_mount), so no path in the run directory
 * can be swapped under us between a check and a mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serviced.h"

static char view_dir[PATH_MAX];
static int view_mnt = -1;       /* the tmpfs mount, attached at view_dir */

/* mkdir -p mnt under dir; returns an O_PATH fd of the last directory. */
static int make_mount_point(int dir, const char *mnt)
{
	int cur = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	char name[NAME_MAX + 1];

	if (cur < 0)
		return -errno;
	for (const char *p = mnt; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len > NAME_MAX) {
			close(cur);
			return -ENAMETOOLONG;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		/* 0755 whatever our umask: shadows of every user walk through. */
		if ((mkdirat(cur, name, 0755) < 0 && errno != EEXIST) ||
		    fchmodat(cur, name, 0755, 0) < 0) {
			int e = -errno;
			close(cur);
			return e;
		}
		int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = -errno;
		close(cur);
		if (next < 0)
			return e;
		cur = next;
	}
	return cur;
}

/* A fresh tmpfs, not attached anywhere yet.  fd or -errno. */
static int new_tmpfs(void)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	int m = -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) == 0 &&
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "64k", 0) == 0 &&
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = fsmount(fs, FSMOUNT_CLOEXEC,
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	int e = -errno;
	close(fs);
	return m < 0 ? e : m;
}

/* The host directory the tmpfs is attached to: ours, never a symlink. */
static int open_view_dir(const char *rundir, const char *name)
{
	struct stat st;
	int n = snprintf(view_dir, sizeof view_dir, "%s/%s.view", rundir, name);

	if (n < 0 || (size_t)n >= sizeof view_dir)
		return -ENAMETOOLONG;
	if (mkdir(view_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(view_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int vos_view_setup(const char *rundir, const char *name, const char *export_dir,
		   const char *mnt, struct vos_root *root)
{
	int dir = -1, mp = -1, tree = -1, err;

	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* Nothing we mount from here on may propagate to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;

	/* The export as this namespace sees it (fds opened before the switch
	 * name the host's mounts, which cannot be cloned from here). */
	int exp = open(export_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (exp < 0)
		return -errno;
	tree = open_tree(exp, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
			 AT_EMPTY_PATH);
	err = tree < 0 ? -errno : 0;
	close(exp);
	if (err)
		return err;

	view_mnt = new_tmpfs();
	if (view_mnt < 0) {
		err = view_mnt;
		goto fail;
	}
	mp = make_mount_point(view_mnt, mnt);
	if (mp < 0) {
		err = mp;
		goto fail;
	}
	dir = open_view_dir(rundir, name);
	if (dir < 0) {
		err = dir;
		goto fail;
	}
	if (move_mount(view_mnt, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ||
	    move_mount(tree, "", mp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		err = -errno;
		goto fail;
	}
	/* Read-only: a root client cannot fill it or plant files next to the
	 * mount point.  Not recursive: the export stays writable. */
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(view_mnt, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0) {
		err = -errno;
		goto fail;
	}
	err = vos_root_open_view(root, view_mnt, mnt);
	if (err)
		goto fail;
	close(dir);
	close(mp);
	close(tree);
	return 0;
fail:
	if (dir >= 0)
		close(dir);
	if (mp >= 0)
		close(mp);
	close(tree);
	vos_view_remove();
	return err;
}

void vos_view_remove(void)
{
	char proc[64];

	if (view_mnt < 0)
		return;
	/* Through our fd of the tmpfs: the mount we made, whatever the path
	 * leads to now.  Lazy: orphaned shadows may still be using it. */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", view_mnt);
	if (umount2(proc, MNT_DETACH) == 0)
		rmdir(view_dir);        /* empty on the host; fails harmlessly if not */
	close(view_mnt);
	view_mnt = -1;
}
