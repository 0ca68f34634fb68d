/*
 * dotdot_kernel.c - ".." resolved as the kernel does, against the real
 * directory it follows, not as text: rename("n0/n1/..", "n2") is EBUSY
 * (textually it would rename n0); rmdir("n0/n1/..") is ENOTEMPTY; through a
 * symlink l -> n0/n1, "l/../x" is n0/x (not DIR/x), "l/../only-top" does
 * not exist though DIR/only-top does; chdir("l") then "../x" and getcwd
 * name the real directory.  Also mkdir, open(O_CREAT) and stat with ".."
 * after a symlink.
 *
 * usage: dotdot_kernel DIR
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

static int put(const char *name, const char *text)
{
	int fd = open(a(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	return fd >= 0 && close(fd) == 0 && ok;
}

static void cat(const char *label, const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (n < 0)
		show(label, -1);
	else
		printf("%-36s %.*s\n", label, (int)n, buf);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	char cwd[4096];
	struct stat st;
	size_t n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: dotdot_kernel /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	n = strlen(dir);
	if (mkdir(a("n0"), 0755) < 0 || mkdir(a("n0/n1"), 0755) < 0 || !put("x", "top x") ||
	    !put("n0/x", "n0's x") || !put("only-top", "top only") || symlink("n0/n1", a("l")) < 0) {
		perror("dotdot_kernel: setup");
		return 1;
	}

	expect("rename n0/n1/.. n2: EBUSY", rename(a("n0/n1/.."), a("n2")) < 0 && errno == EBUSY);
	show("rename n0/n1/. n2", rename(a("n0/n1/."), a("n2")));
	show("rmdir n0/n1/..", rmdir(a("n0/n1/..")));
	show("rmdir n0/n1/.", rmdir(a("n0/n1/.")));
	expect("n0 and n0/n1 still there", stat(a("n0/n1"), &st) == 0 && S_ISDIR(st.st_mode));
	expect("no n2", access(a("n2"), F_OK) < 0);

	cat("read l/../x", a("l/../x"));
	expect("stat l/../only-top: ENOENT", stat(a("l/../only-top"), &st) < 0 && errno == ENOENT);
	show("access l/../n1 (n0/n1)", access(a("l/../n1"), F_OK));
	show("mkdir l/../made", mkdir(a("l/../made"), 0755));
	show("  stat n0/made", stat(a("n0/made"), &st));
	show("  stat made (at the top)", stat(a("made"), &st));
	{
		int fd = open(a("l/../new"), O_WRONLY | O_CREAT | O_EXCL, 0644);

		show("open l/../new O_CREAT", fd < 0 ? -1 : 0);
		if (fd >= 0)
			close(fd);
	}
	show("  stat n0/new", stat(a("n0/new"), &st));
	show("  stat new (at the top)", stat(a("new"), &st));
	show("rename l/../x n0/y", rename(a("l/../x"), a("n0/y")));
	cat("  read n0/y", a("n0/y"));
	cat("  read x (untouched)", a("x"));

	show("chdir l", chdir(a("l")));
	cat("read ../y", "../y");
	show("stat ../only-top", stat("../only-top", &st));
	show("stat ../../only-top", stat("../../only-top", &st));
	if (getcwd(cwd, sizeof(cwd)) && strncmp(cwd, dir, n) == 0)
		printf("%-36s DIR%s\n", "getcwd", cwd + n);
	else
		show("getcwd", -1);
	show("chdir ..", chdir(".."));
	if (getcwd(cwd, sizeof(cwd)) && strncmp(cwd, dir, n) == 0)
		printf("%-36s DIR%s\n", "getcwd", cwd + n);
	else
		show("getcwd", -1);
	return bad;
}
