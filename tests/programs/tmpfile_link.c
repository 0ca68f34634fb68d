/*
 * tmpfile_link.c - an unnamed file made with O_TMPFILE in a routed
 * directory, written, then given a name: linkat of "/proc/self/fd/N" with
 * AT_SYMLINK_FOLLOW (what the open(2) manual shows), and linkat(fd, "",
 * AT_EMPTY_PATH) (needs CAP_DAC_READ_SEARCH: as root it works, otherwise
 * ENOENT natively; the line says which applies).  An O_TMPFILE|O_EXCL file
 * cannot be linked.  The named file's contents and link count are checked
 * through its path.
 *
 * usage: tmpfile_link DIR
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

static void cat(const char *name)
{
	char buf[64];
	int fd = open(a(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (n < 0)
		show(name, -1);
	else
		printf("%-36s %.*s\n", name, n > 0 && buf[n - 1] == '\n' ? (int)n - 1 : (int)n, buf);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	char proc[64];
	struct stat st;
	int fd, fd2, fd3, rc;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: tmpfile_link /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);

	fd = open(dir, O_TMPFILE | O_RDWR, 0640);
	show("open DIR O_TMPFILE", fd < 0 ? -1 : 0);
	show("  write", write(fd, "unnamed\n", 8));
	show("  fstat nlink", fstat(fd, &st) < 0 ? -1 : (long)st.st_nlink);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	show("linkat /proc/self/fd/N FOLLOW", linkat(AT_FDCWD, proc, AT_FDCWD, a("named"),
						       AT_SYMLINK_FOLLOW));
	cat("named");
	rc = stat(a("named"), &st);
	show("  stat nlink", rc < 0 ? -1 : (long)st.st_nlink);
	if (rc == 0)
		printf("%-36s %04o\n", "  mode", (unsigned)(st.st_mode & 07777));
	expect("  named is the file written", rc == 0 && st.st_size == 8);
	show("  fstat nlink through the fd", fstat(fd, &st) < 0 ? -1 : (long)st.st_nlink);
	show("linkat again, name exists", linkat(AT_FDCWD, proc, AT_FDCWD, a("named"),
						   AT_SYMLINK_FOLLOW));
	/* not followed: the /proc symlink itself, on another file system */
	show("linkat /proc/self/fd/N, no FOLLOW", linkat(AT_FDCWD, proc, AT_FDCWD, a("nofollow"), 0));
	snprintf(proc, sizeof(proc), "/dev/fd/%d", fd);
	show("linkat /dev/fd/N FOLLOW", linkat(AT_FDCWD, proc, AT_FDCWD, a("named2"),
					       AT_SYMLINK_FOLLOW));
	show("  stat nlink", stat(a("named2"), &st) < 0 ? -1 : (long)st.st_nlink);
	show("  unlink named2", unlink(a("named2")));

	fd2 = open(dir, O_TMPFILE | O_WRONLY, 0600);
	show("open DIR O_TMPFILE (2)", fd2 < 0 ? -1 : 0);
	show("  write", write(fd2, "second\n", 7));
	rc = linkat(fd2, "", AT_FDCWD, a("empty-path"), AT_EMPTY_PATH);
	if (geteuid() == 0) {
		show("linkat AT_EMPTY_PATH (root)", rc);
		cat("empty-path");
	} else {
		/* without CAP_DAC_READ_SEARCH the kernel says ENOENT */
		printf("%-36s %s\n", "linkat AT_EMPTY_PATH (not root)",
		       rc < 0 && errno == ENOENT ? "ENOENT as expected" : "unexpected");
	}

	fd3 = open(dir, O_TMPFILE | O_EXCL | O_RDWR, 0600);
	show("open DIR O_TMPFILE|O_EXCL", fd3 < 0 ? -1 : 0);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd3);
	show("  linkat /proc/self/fd/N", linkat(AT_FDCWD, proc, AT_FDCWD, a("excl"), AT_SYMLINK_FOLLOW));
	expect("  no excl", access(a("excl"), F_OK) < 0);

	show("open DIR/missing O_TMPFILE", open(a("missing"), O_TMPFILE | O_RDWR, 0600));
	show("open DIR O_TMPFILE|O_RDONLY", open(dir, O_TMPFILE | O_RDONLY, 0600));
	close(fd);
	close(fd2);
	close(fd3);
	show("unlink named", unlink(a("named")));
	return bad;
}
