/*
 * fifo_cwd.c - FIFOs and sockets made on routed paths must be made there,
 * never in the process's real (kernel) working directory: mkfifo, mknod
 * (S_IFIFO, S_IFSOCK) and mknodat(AT_FDCWD) with names relative to DIR as
 * the cwd, and an AF_UNIX bind to a relative name.  The program starts in a
 * local scratch directory L (the harness's cwd, never routed); after
 * chdir(DIR) each node must be in DIR and none in L.  The bind must either
 * make the socket in DIR (and a connect to it then works) or fail with a
 * clean errno: it is printed only as "bound" or "not bound (clean)".
 *
 * usage: fifo_cwd DIR
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "report.h"

static int lfd = -1;   /* the starting (local) directory */

static void where(const char *name, mode_t type)
{
	struct stat st;
	char label[80];
	int in_dir = lstat(a(name), &st) == 0 && (st.st_mode & S_IFMT) == type;
	int in_local = fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

	snprintf(label, sizeof(label), "%s in DIR, not in the real cwd", name);
	expect(label, in_dir && !in_local);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, c, rc, e;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: fifo_cwd /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	umask(022);
	lfd = open(".", O_RDONLY | O_DIRECTORY);
	if (lfd < 0 || chdir(dir) < 0) {
		perror("fifo_cwd: setup");
		return 1;
	}
	show("mkfifo rel-fifo", mkfifo("rel-fifo", 0644));
	show("mknod rel-nfifo S_IFIFO", mknod("rel-nfifo", S_IFIFO | 0600, 0));
	show("mknod rel-sock S_IFSOCK", mknod("rel-sock", S_IFSOCK | 0755, 0));
	show("mknodat AT_FDCWD at-fifo", mknodat(AT_FDCWD, "at-fifo", S_IFIFO | 0640, 0));
	show("mkdir sub", mkdir("sub", 0755));
	show("mkfifo sub/../up-fifo", mkfifo("sub/../up-fifo", 0600));
	show("chdir sub", chdir("sub"));
	show("mkfifo ../dd-fifo", mkfifo("../dd-fifo", 0600));
	show("chdir ..", chdir(".."));
	where("rel-fifo", S_IFIFO);
	where("rel-nfifo", S_IFIFO);
	where("rel-sock", S_IFSOCK);
	where("at-fifo", S_IFIFO);
	where("up-fifo", S_IFIFO);
	where("dd-fifo", S_IFIFO);

	/* AF_UNIX bind to a relative name under the routed cwd. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, "bound.sock");
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	expect("bound.sock not in the real cwd", faccessat(lfd, "bound.sock", F_OK, 0) < 0);
	if (rc == 0) {
		struct stat st;

		printf("%-36s bound\n", "bind bound.sock");
		expect("  bound.sock is a socket in DIR",
		       lstat(a("bound.sock"), &st) == 0 && S_ISSOCK(st.st_mode));
		show("  listen", listen(s, 1));
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		show("  connect DIR/bound.sock", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
		close(c);
	} else {
		int clean = e == EOPNOTSUPP || e == EACCES || e == EPERM || e == EXDEV ||
			    e == ENOSYS || e == EAFNOSUPPORT;

		printf("%-36s not bound (%s)\n", "bind bound.sock", clean ? "clean" : strerrorname_np(e));
		expect("  nothing made in DIR", access(a("bound.sock"), F_OK) < 0);
	}
	close(s);
	return bad;
}
