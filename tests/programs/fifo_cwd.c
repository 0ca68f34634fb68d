/*
 * fifo_cwd.c - FIFOs and sockets made on routed paths must be made there,
 * never in the process's real (kernel) working directory: mkfifo, mknod
 * (S_IFIFO, S_IFSOCK) and mknodat(AT_FDCWD) with names relative to DIR as
 * the cwd, and an AF_UNIX bind to a relative name.  The program starts in a
 * local scratch directory L (the harness's cwd, never routed); after
 * chdir(DIR) each node must be in DIR and none in L.  The bind must either
 * make the socket in DIR (and a connect to it then works) or fail with a
 * clean errno (EOPNOTSUPP, EACCES, EPERM, EXDEV, ENOSYS, EAFNOSUPPORT) and
 * make nothing: both print the same line.
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
	int s, c, rc, e, ok;

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

	/* AF_UNIX bind to a relative name under the routed cwd: a socket in
	 * DIR that a connect reaches, or a clean errno and nothing made; both
	 * print the same line (details only when neither holds). */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, "bound.sock");
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	expect("bound.sock not in the real cwd", faccessat(lfd, "bound.sock", F_OK, 0) < 0);
	if (rc == 0) {
		struct stat st;
		int is_sock = lstat(a("bound.sock"), &st) == 0 && S_ISSOCK(st.st_mode);
		int listens = listen(s, 1) == 0;
		int connects;

		c = socket(AF_UNIX, SOCK_STREAM, 0);
		connects = connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(c);
		ok = is_sock && listens && connects;
		if (!ok)
			printf("  bound: socket in DIR %d, listen %d, connect %d\n", is_sock, listens,
			       connects);
	} else {
		int clean = e == EOPNOTSUPP || e == EACCES || e == EPERM || e == EXDEV ||
			    e == ENOSYS || e == EAFNOSUPPORT;
		int nothing = access(a("bound.sock"), F_OK) < 0;

		ok = clean && nothing;
		if (!ok)
			printf("  bind: %s, nothing made in DIR %d\n", strerrorname_np(e), nothing);
	}
	expect("bind: a socket in DIR, or a clean errno", ok);
	close(s);
	return bad;
}
