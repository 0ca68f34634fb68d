/*
 * fdsem.c - file descriptor semantics on files in DIR: dup/dup2/dup3,
 * fcntl (dup, FD_CLOEXEC, status flags, record locks), shared offsets,
 * lseek, pread/pwrite, readv/writev, ftruncate, flock, stdout redirection.
 *
 * usage: fdsem DIR
 * Prints one line per check.  Run it on a routed directory (/storage/x)
 * under libvirtuos and on a native directory: the outputs must be equal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static char dir[4096];

static const char *path(const char *name)
{
	static char buf[2][8192];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* "label: result" or "label: -1 ENAME" */
static void show(const char *label, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %ld\n", label, r);
}

static void show_read(const char *label, int fd, size_t n)
{
	char buf[256] = { 0 };
	ssize_t r = read(fd, buf, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1);

	if (r < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %zd \"%s\"\n", label, r, buf);
}

int main(int argc, char **argv)
{
	struct stat st;
	struct flock fl;
	char buf[64];
	int fd, d, fd2, p[2], saved;

	if (argc != 2) {
		fprintf(stderr, "usage: fdsem DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);

	fd = open(path("fdsem.dat"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	show("open", fd);
	if (fd < 0)
		return 1;
	show("write", write(fd, "0123456789", 10));

	/* dup shares the offset */
	d = dup(fd);
	show("dup", d);
	show("lseek dup cur", lseek(d, 0, SEEK_CUR));
	show("lseek fd 2", lseek(fd, 2, SEEK_SET));
	show_read("read dup 3", d, 3);
	show("lseek fd cur", lseek(fd, 0, SEEK_CUR));

	/* dup2/dup3 and FD_CLOEXEC */
	show("dup2 50", dup2(fd, 50));
	show("getfd 50", fcntl(50, F_GETFD));
	show_read("read 50", 50, 2);
	show("dup3 51 cloexec", dup3(fd, 51, O_CLOEXEC));
	show("getfd 51", fcntl(51, F_GETFD));
	show("dup3 same", dup3(51, 51, 0));
	show("dup2 same", dup2(51, 51));
	show("dupfd 60", fcntl(fd, F_DUPFD, 60));
	show("dupfd_cloexec 70", fcntl(fd, F_DUPFD_CLOEXEC, 70));
	show("getfd 70", fcntl(70, F_GETFD));
	show("setfd 60", fcntl(60, F_SETFD, FD_CLOEXEC));
	show("getfd 60", fcntl(60, F_GETFD));
	show("setfd 60 off", fcntl(60, F_SETFD, 0));
	show("getfd 60", fcntl(60, F_GETFD));
	show("getfd fd", fcntl(fd, F_GETFD));

	/* status flags are shared between duplicates */
	show("getfl accmode", fcntl(fd, F_GETFL) & O_ACCMODE);
	show("setfl append", fcntl(fd, F_SETFL, O_APPEND));
	show("getfl dup append", !!(fcntl(d, F_GETFL) & O_APPEND));
	show("lseek 0", lseek(d, 0, SEEK_SET));
	show("write appended", write(d, "AB", 2));
	show("lseek cur after append", lseek(fd, 0, SEEK_CUR));
	show("setfl no append", fcntl(fd, F_SETFL, 0));

	/* pread/pwrite leave the offset alone */
	show("lseek 1", lseek(fd, 1, SEEK_SET));
	memset(buf, 0, sizeof(buf));
	show("pread 4@5", pread(fd, buf, 4, 5));
	printf("pread data: \"%s\"\n", buf);
	show("pwrite 2@0", pwrite(fd, "xy", 2, 0));
	show("lseek cur", lseek(fd, 0, SEEK_CUR));
	show("pread negative", pread(fd, buf, 1, -1));

	/* readv/writev */
	{
		char a[3] = { 0 }, b[5] = { 0 };
		struct iovec rv[2] = { { a, 2 }, { b, 4 } };
		struct iovec wv[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };

		show("lseek 0", lseek(fd, 0, SEEK_SET));
		show("readv", readv(fd, rv, 2));
		printf("readv data: \"%s\" \"%s\"\n", a, b);
		show("lseek end", lseek(fd, 0, SEEK_END));
		show("writev", writev(fd, wv, 3));
	}

	/* holes, size, truncate */
	show("lseek 100", lseek(fd, 100, SEEK_SET));
	show("write at 100", write(fd, "Z", 1));
	show("fstat", fstat(fd, &st));
	printf("size: %lld\n", (long long)st.st_size);
	show("ftruncate 8", ftruncate(fd, 8));
	show("fstat", fstat(fd, &st));
	printf("size: %lld mode: %o\n", (long long)st.st_size, st.st_mode & 07777);
	show("lseek negative", lseek(fd, -5, SEEK_SET));
	show("lseek bad whence", lseek(fd, 0, 42));
	show("fsync", fsync(fd));
	show("fdatasync", fdatasync(fd));

	/* dup2 onto another remote file replaces it */
	fd2 = open(path("fdsem2.dat"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	show("open 2", fd2);
	show("write 2", write(fd2, "second", 6));
	show("dup2 fd onto fd2", dup2(fd, fd2));
	show("lseek fd2 0", lseek(fd2, 0, SEEK_SET));
	show_read("read fd2", fd2, 8);
	show("close fd2", close(fd2));
	fd2 = open(path("fdsem2.dat"), O_RDONLY);
	show_read("fdsem2 still", fd2, 8);

	/* a local fd onto a remote number and back */
	show("pipe", pipe(p));
	show("dup2 pipe onto 50", dup2(p[0], 50));
	show("fstat 50", fstat(50, &st));
	printf("50 is fifo: %d\n", S_ISFIFO(st.st_mode));
	show("write pipe", write(p[1], "pp", 2));
	show_read("read 50", 50, 2);
	show("dup2 fd onto 50", dup2(fd, 50));
	show("fstat 50", fstat(50, &st));
	printf("50 is reg: %d\n", S_ISREG(st.st_mode));
	close(p[0]);
	close(p[1]);

	/* record locks and flock */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 4;
	show("setlk", fcntl(fd, F_SETLK, &fl));
	fl.l_type = F_RDLCK;
	show("getlk", fcntl(fd, F_GETLK, &fl));
	printf("getlk type unlocked: %d\n", fl.l_type == F_UNLCK);
	fl.l_type = F_UNLCK;
	show("unlock", fcntl(fd, F_SETLK, &fl));
	show("flock ex nb", flock(fd, LOCK_EX | LOCK_NB));
	show("flock un", flock(fd, LOCK_UN));

	/* access modes */
	{
		int ro = open(path("fdsem.dat"), O_RDONLY), wo = open(path("fdsem.dat"), O_WRONLY);

		show("write on rdonly", write(ro, "x", 1));
		show("read on wronly", read(wo, buf, 1));
		show("getfl ro", fcntl(ro, F_GETFL) & O_ACCMODE);
		show("getfl wo", fcntl(wo, F_GETFL) & O_ACCMODE);
		close(ro);
		close(wo);
	}
	{
		int ce = open(path("fdsem.dat"), O_RDONLY | O_CLOEXEC);

		show("getfd o_cloexec", fcntl(ce, F_GETFD));
		close(ce);
	}

	/* stdout on a remote file and back */
	fflush(stdout);
	saved = dup(1);
	fd2 = open(path("stdout.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	dup2(fd2, 1);
	close(fd2);
	printf("line one via stdout\n");
	fprintf(stdout, "line two: %d\n", 42);
	puts("line three");
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fd2 = open(path("stdout.txt"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	show("stdout file", read(fd2, buf, sizeof(buf) - 1));
	printf("stdout file data: %s", buf);
	close(fd2);

	/* closing */
	show("close fd", close(fd));
	show_read("read dup after close fd", d, 2);
	show("close again", close(fd));
	show("read closed", read(fd, buf, 1));
	show("fstat closed", fstat(fd, &st));
	show("dup closed", dup(fd));
	for (int i = 0; i < 4; i++)
		close((int[]){ d, 50, 51, 60 }[i]);
	close(70);
	close(fd2);
	unlink(path("fdsem2.dat"));
	unlink(path("stdout.txt"));

	/* closefrom()/close_range() close every file at or above a number */
	fd = open(path("fdsem.dat"), O_RDONLY);
	d = open(path("fdsem.dat"), O_RDONLY);
	show("open for closefrom", fd);
	closefrom(fd);
	show("getfd after closefrom", fcntl(fd, F_GETFD));
	show("getfd after closefrom", fcntl(d, F_GETFD));
	fd = open(path("fdsem.dat"), O_RDONLY);
	show("open after closefrom", fd);
	show("close_range", close_range((unsigned)fd, ~0u, 0));
	show("read after close_range", read(fd, buf, 1));
	fd = open(path("fdsem.dat"), O_RDONLY);
	show("open after close_range", fd);
	show_read("read it", fd, 3);
	close(fd);
	unlink(path("fdsem.dat"));
	printf("done\n");
	return 0;
}
