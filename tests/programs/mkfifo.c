/*
 * mkfifo.c - mkfifo, mkfifoat, mknod and mknodat: FIFOs, sockets and
 * regular files made in DIR (under libvirtuos DIR is on /storage, so the
 * nodes must be made by the service in the export), by absolute path, by a
 * dirfd of DIR, relative to DIR as the cwd and relative to a local fd of
 * "/"; then the errors (EEXIST, ENOENT, S_IFDIR) and each node's type and
 * permission bits after the umask, and a non-blocking open of the FIFO.
 * Device nodes are left out: the test may run as root, and whether root may
 * make one depends on the machine.
 *
 * usage: mkfifo DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

/* glibc's entry point for mknod in binaries built before 2.33 (still
 * exported): version 0, dev by address. */
extern int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);

static const char *type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFREG: return "regular";
	case S_IFDIR: return "directory";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFLNK: return "symlink";
	default: return "?";
	}
}

/* Type and permission bits of DIR/name, seen through lstat. */
static void node(const char *name, mode_t want_type, mode_t want_perm)
{
	struct stat st;
	char label[64];

	snprintf(label, sizeof(label), "lstat %s", name);
	if (lstat(a(name), &st) < 0) {
		show(label, -1);
		bad = 1;
		return;
	}
	printf("%-36s %s %04o\n", label, type(st.st_mode), (unsigned)(st.st_mode & 07777));
	if ((st.st_mode & S_IFMT) != want_type || (st.st_mode & 07777) != want_perm)
		bad = 1;
}

int main(int argc, char **argv)
{
	int dfd, root, fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: mkfifo /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	umask(022);

	show("mkfifo f1 0666", mkfifo(a("f1"), 0666));
	show("mknod f2 S_IFIFO|0640", mknod(a("f2"), S_IFIFO | 0640, 0));
	show("mknod r S_IFREG|0666", mknod(a("r"), S_IFREG | 0666, 0));
	show("mknod r0 (type 0)|0600", mknod(a("r0"), 0600, 0));
	show("mknod s S_IFSOCK|0777", mknod(a("s"), S_IFSOCK | 0777, 0));
	dev_t zero = 0;
	show("__xmknod x S_IFIFO|0620", __xmknod(0, a("x"), S_IFIFO | 0620, &zero));
	show("__xmknod version 1", __xmknod(1, a("x1"), S_IFIFO | 0620, &zero));

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	show("open DIR", dfd < 0 ? -1 : 0);
	show("mkfifoat DIR f3 0604", mkfifoat(dfd, "f3", 0604));
	show("mknodat DIR f4 S_IFIFO|0660", mknodat(dfd, "f4", S_IFIFO | 0660, 0));
	show("mkfifoat DIR f3 again", mkfifoat(dfd, "f3", 0604));

	/* relative to the cwd */
	show("chdir DIR", chdir(dir));
	show("mkfifo f5 (relative) 0600", mkfifo("f5", 0600));
	show("mkfifo ./f5 again", mkfifo("./f5", 0600));
	show("chdir /", chdir("/"));

	/* relative to a local fd of "/" that leads into DIR */
	root = open("/", O_RDONLY | O_DIRECTORY);
	show("mknodat / DIR/f6 S_IFIFO|0644", mknodat(root, a("f6") + 1, S_IFIFO | 0644, 0));
	show("mkfifoat / DIR/f7 0644", mkfifoat(root, a("f7") + 1, 0644));
	close(root);

	/* errors */
	show("mkfifo f1 again", mkfifo(a("f1"), 0666));
	show("mknod r S_IFREG again", mknod(a("r"), S_IFREG | 0644, 0));
	show("mkfifo missing/f", mkfifo(a("missing/f"), 0644));
	show("mknod d S_IFDIR", mknod(a("d"), S_IFDIR | 0755, 0));
	show("mkfifo DIR itself", mkfifo(dir, 0644));
	show("mkfifo f1/x (not a dir)", mkfifo(a("f1/x"), 0644));

	node("f1", S_IFIFO, 0644);
	node("f2", S_IFIFO, 0640);
	node("r", S_IFREG, 0644);
	node("r0", S_IFREG, 0600);
	node("s", S_IFSOCK, 0755);
	node("f3", S_IFIFO, 0604);
	node("f4", S_IFIFO, 0640);
	node("f5", S_IFIFO, 0600);
	node("f6", S_IFIFO, 0644);
	node("f7", S_IFIFO, 0644);
	node("x", S_IFIFO, 0600);
	expect("d was not made", access(a("d"), F_OK) < 0 && errno == ENOENT);

	/* A FIFO opens for reading without a writer when O_NONBLOCK. */
	fd = open(a("f1"), O_RDONLY | O_NONBLOCK);
	show("open f1 O_RDONLY|O_NONBLOCK", fd < 0 ? -1 : 0);
	if (fd >= 0) {
		struct stat st;
		char c;

		show("  fstat", fstat(fd, &st));
		printf("  type %s\n", type(st.st_mode));
		show("  read (no writer)", read(fd, &c, 1));
		close(fd);
	}
	/* ... but not for writing without a reader. */
	fd = open(a("f2"), O_WRONLY | O_NONBLOCK);
	show("open f2 O_WRONLY|O_NONBLOCK", fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
	/* The regular file made by mknod is a plain file. */
	fd = open(a("r"), O_WRONLY);
	show("open r O_WRONLY", fd < 0 ? -1 : 0);
	if (fd >= 0) {
		show("  write", write(fd, "x", 1));
		close(fd);
	}

	show("unlink f1", unlink(a("f1")));
	show("unlink s", unlink(a("s")));
	if (dfd >= 0)
		close(dfd);
	return bad;
}
