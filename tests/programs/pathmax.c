/*
 * pathmax.c - a relative path of PATH_MAX-1 bytes (the longest the kernel
 * takes) under a routed cwd works: DIR as the cwd, a chain of directories
 * with 200-byte names, then open(O_CREAT), write, stat, access, rename and
 * unlink by the full 4095-byte relative path; a path of PATH_MAX bytes
 * gives ENAMETOOLONG.  Also chdir into the chain and back by "..".
 *
 * usage: pathmax DIR
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

#define COMP 200

int main(int argc, char **argv)
{
	static char p[PATH_MAX + 16], q[PATH_MAX + 16];
	struct stat st;
	size_t len = 0;
	int depth = 0, fd, ok = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: pathmax /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (chdir(dir) < 0) {
		perror("pathmax: chdir");
		return 1;
	}
	/* directories d/d/d... (COMP bytes each) while a file still fits */
	while (len + COMP + 1 + 20 < PATH_MAX - 1) {
		memset(p + len, 'a' + depth % 26, COMP);
		len += COMP;
		p[len] = 0;
		ok &= mkdir(p, 0755) == 0;
		p[len++] = '/';
		depth++;
	}
	show("mkdir by relative paths", ok ? depth : -1);
	/* the file name fills the path up to PATH_MAX - 1 bytes */
	memset(p + len, 'f', PATH_MAX - 1 - len);
	p[PATH_MAX - 1] = 0;
	show("length", (long)strlen(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	show("open O_CREAT", fd < 0 ? -1 : 0);
	show("  write", fd < 0 ? -1 : write(fd, "long", 4));
	if (fd >= 0)
		close(fd);
	show("stat", stat(p, &st) < 0 ? -1 : st.st_size);
	show("access", access(p, R_OK));
	memcpy(q, p, PATH_MAX);
	q[PATH_MAX - 2] = 'g';
	show("rename to another 4095-byte name", rename(p, q));
	show("stat the old name", stat(p, &st));
	show("unlink", unlink(q));

	p[PATH_MAX - 1] = 'f';
	p[PATH_MAX] = 0;
	show("open of PATH_MAX bytes", open(p, O_WRONLY | O_CREAT, 0644));
	show("stat of PATH_MAX bytes", stat(p, &st));

	/* into the chain and back */
	p[len - 1] = 0;
	show("chdir to the deepest directory", chdir(p));
	fd = open("here", O_WRONLY | O_CREAT, 0644);
	show("  open here", fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < depth; i++)
		ok &= chdir("..") == 0;
	show("chdir .. to DIR", ok ? 0 : -1);
	memcpy(q, p, len - 1);
	strcpy(q + len - 1, "/here");
	show("stat the file made there", stat(q, &st));
	q[COMP] = 0;
	expect("first directory seen by its absolute path", access(a(q), F_OK) == 0);
	expect("back in DIR", getcwd(q, sizeof(q)) && strcmp(q, dir) == 0);
	return bad;
}
