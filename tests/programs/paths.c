/*
 * paths.c - path resolution as the kernel does it, in DIR (under libvirtuos
 * DIR is on /storage, so the paths are routed):
 *
 *  - ".." after a component is the real parent: through a symlink
 *    (l -> sub/deeper, so "l/../x" is sub/x, not DIR/x), after a missing
 *    name (ENOENT) or a file (ENOTDIR); a final ".." is not the directory
 *    it names lexically (rename "n0/n1/.." is EBUSY, not a rename of n0;
 *    rmdir ENOTEMPTY, unlink EISDIR, mkdir EEXIST), also relative to DIR
 *    as the cwd;
 *  - mkfifo/mknod relative to DIR as the cwd make the node in DIR, never in
 *    the directory the process was in before (a local one);
 *  - AF_UNIX bind/connect at a path in DIR, relative to DIR as the cwd:
 *    natively they work; forwarded they may fail with EOPNOTSUPP (documented:
 *    no service holds sockets), printed as one word so both runs compare
 *    equal; never a node in the local directory.  A relative socket path
 *    that leads back out to a local directory works in both.
 *
 * usage: paths DIR
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "report.h"

#define UP "../../../../../../../../../../../../../../../.."

static char local[64] = "/tmp/vos-paths.XXXXXX";

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		bad = 1;
	if (fd >= 0)
		close(fd);
}

/* The content of path, or the errno name. */
static void cat(const char *label, const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		show(label, -1);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	printf("%-36s %s\n", label, buf);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* "ok" for 0, "routed-refused" for the documented EOPNOTSUPP, else errno. */
static void sock_result(const char *label, int r)
{
	if (r == 0 || (r < 0 && errno == EOPNOTSUPP))
		printf("%-36s %s\n", label, "ok-or-EOPNOTSUPP");
	else
		show(label, r);
}

static struct sockaddr_un unix_addr(const char *path, socklen_t *len)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);
	return sa;
}

static int do_bind(int fd, const char *path)
{
	socklen_t len;
	struct sockaddr_un sa = unix_addr(path, &len);

	return bind(fd, (struct sockaddr *)&sa, len);
}

static int do_connect(int fd, const char *path)
{
	socklen_t len;
	struct sockaddr_un sa = unix_addr(path, &len);

	return connect(fd, (struct sockaddr *)&sa, len);
}

static void sockets(void)
{
	char up[256];
	int s, c;

	/* Relative to DIR as the cwd (the kernel's cwd is the local dir). */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	sock_result("bind sock (relative)", do_bind(s, "sock"));
	show("listen", listen(s, 1) < 0 && errno != EINVAL ? -1 : 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		int r = do_connect(c, "sock");

		/* Natively it connects; forwarded the bind was refused. */
		if (r < 0 && (errno == EOPNOTSUPP))
			r = 0;
		sock_result("connect sock (relative)", r);
	}
	close(c);
	close(s);
	/* Absolute, in DIR. */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	sock_result("bind DIR/dsock", do_bind(s, a("dsock")));
	close(s);
	/* A relative path out of DIR to the local directory: works in both. */
	snprintf(up, sizeof(up), "%s%s/back", UP, local);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	show("bind UP/local/back", do_bind(s, up));
	show("listen", listen(s, 1));
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	show("connect UP/local/back", do_connect(c, up));
	close(c);
	close(s);
	{
		char back[128];

		snprintf(back, sizeof(back), "%s/back", local);
		expect("local/back is a socket", exists(back));
		unlink(back);
	}
	/* Abstract names are no paths. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char name[32];

		snprintf(name, sizeof(name), "vos-paths-%d", (int)getpid());
		memcpy(sa.sun_path + 1, name, strlen(name));
		show("bind abstract", bind(s, (struct sockaddr *)&sa,
					   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
						       strlen(name))));
	}
	close(s);
	/* A bad address. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	show("bind NULL addr", bind(s, (struct sockaddr *)(void *volatile)NULL,
				    sizeof(struct sockaddr_un)));
	close(s);
}

/*
 * A relative path of up to PATH_MAX - 1 bytes from a deep cwd: the cwd's
 * path + the relative path is longer than PATH_MAX, which the kernel walks
 * without a complaint.  DIR/C/C/... (11 levels of 200 bytes) as the cwd,
 * then 10 more levels and a file below it, named relative to the cwd.
 */
static void long_relative(void)
{
	char c[201], rel[PATH_MAX], file[PATH_MAX + 8];
	int levels = 0, fd, i, ok = 1;
	size_t n = 0;

	memset(c, 'd', 200);
	c[200] = '\0';
	show("chdir DIR (long)", chdir(dir));
	for (i = 0; i < 11 && ok; i++)
		ok = mkdir(c, 0755) == 0 && chdir(c) == 0;
	expect("11 levels made and entered", ok);
	for (i = 0; i < 10 && ok; i++) {
		n += (size_t)snprintf(rel + n, sizeof(rel) - n, "%s%s", i ? "/" : "", c);
		ok = mkdir(rel, 0755) == 0;
		levels += ok;
	}
	expect("10 more levels by relative paths", ok);
	printf("%-36s %zu\n", "relative path length", n + 2);
	snprintf(file, sizeof(file), "%s/f", rel);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	show("open deep/f O_CREAT", fd < 0 ? -1 : 0);
	if (fd >= 0) {
		show("write", write(fd, "deep", 4));
		close(fd);
	}
	cat("cat deep/f", file);
	{
		struct stat st;

		show("stat deep/f", stat(file, &st));
		printf("%-36s %ld\n", "size", (long)st.st_size);
	}
	show("unlink deep/f", unlink(file));
	for (; levels > 0; levels--) {
		char *slash;

		if (rmdir(rel) < 0)
			ok = 0;
		slash = strrchr(rel, '/');
		if (slash)
			*slash = '\0';
	}
	expect("removed the relative levels", ok);
	for (i = 0; i < 11 && ok; i++)
		ok = chdir("..") == 0 && rmdir(c) == 0;
	expect("removed the cwd levels", ok);
}

int main(int argc, char **argv)
{
	char localp[128];

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: paths /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	umask(022);
	if (!mkdtemp(local))
		return 3;

	/* ".." through a symlink. */
	show("mkdir sub", mkdir(a("sub"), 0755));
	show("mkdir sub/deeper", mkdir(a("sub/deeper"), 0755));
	show("symlink l -> sub/deeper", symlink("sub/deeper", a("l")));
	put(a("x"), "top");
	put(a("sub/x"), "sub");
	cat("cat l/../x", a("l/../x"));
	cat("cat l/../../x", a("l/../../x"));
	cat("cat sub/deeper/../x", a("sub/deeper/../x"));
	cat("cat l/./../x", a("l/./../x"));
	cat("cat missing/../x", a("missing/../x"));
	cat("cat x/../x (x a file)", a("x/../x"));
	cat("cat l/../../sub/deeper/../x", a("l/../../sub/deeper/../x"));
	{
		struct stat st, want;

		show("stat l/..", stat(a("l/.."), &st));
		show("stat sub", stat(a("sub"), &want));
		expect("l/.. is sub", st.st_ino == want.st_ino);
	}

	/* A final "..". */
	show("mkdir n0", mkdir(a("n0"), 0755));
	show("mkdir n0/n1", mkdir(a("n0/n1"), 0755));
	show("rename n0/n1/.. n2", rename(a("n0/n1/.."), a("n2")));
	show("rename n2 n0/n1/..", rename(a("n0"), a("n0/n1/..")));
	show("rmdir n0/n1/..", rmdir(a("n0/n1/..")));
	show("unlink n0/n1/..", unlink(a("n0/n1/..")));
	show("mkdir n0/n1/..", mkdir(a("n0/n1/.."), 0755));
	show("rename l/.. (symlink) y", rename(a("l/.."), a("y")));
	expect("n0 is still there", exists(a("n0/n1")));
	expect("n2 was not made", !exists(a("n2")));

	/* The same relative to DIR as the cwd (virtual under libvirtuos). */
	show("chdir local", chdir(local));
	show("chdir DIR", chdir(dir));
	show("rename n0/n1/.. n2 (rel)", rename("n0/n1/..", "n2"));
	cat("cat l/../x (rel)", "l/../x");
	show("mkfifo p (rel)", mkfifo("p", 0644));
	show("mknod s S_IFSOCK (rel)", mknod("s", S_IFSOCK | 0644, 0));
	show("mkfifo n0/../q (rel)", mkfifo("n0/../q", 0644));
	sockets();
	long_relative();
	show("chdir /", chdir("/"));
	snprintf(localp, sizeof(localp), "%s/p", local);
	expect("p not in the local dir", !exists(localp));
	snprintf(localp, sizeof(localp), "%s/q", local);
	expect("q not in the local dir", !exists(localp));
	snprintf(localp, sizeof(localp), "%s/sock", local);
	expect("sock not in the local dir", !exists(localp));
	expect("p is in DIR", exists(a("p")));
	expect("q is in DIR", exists(a("q")));
	expect("s is in DIR", exists(a("s")));
	expect("n0 still there (rel)", exists(a("n0/n1")));

	unlink(a("p"));
	unlink(a("q"));
	unlink(a("s"));
	unlink(a("sock"));
	unlink(a("dsock"));
	rmdir(local);
	return bad;
}
