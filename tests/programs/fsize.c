/*
 * fsize.c - RLIMIT_FSIZE on routed files: with a soft limit of 10000 bytes
 * and SIGXFSZ ignored, a write that crosses the limit is cut short, the
 * next one fails with EFBIG, and so do pwrite, ftruncate, truncate and
 * posix_fallocate past it; a write at the limit through stdio fails at
 * fflush.  With SIGXFSZ at its default action, a write past the limit ends
 * the process with SIGXFSZ (in a child, child.h).
 *
 * usage: fsize DIR
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

static char block[12000];

static void write_past(void *arg)
{
	int fd = open(a("g"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	(void)arg;
	signal(SIGXFSZ, SIG_DFL);
	show("child: write 8000", write(fd, block, 8000));
	show("child: write 4000", write(fd, block, 4000));
	show("child: write 1 (past the limit)", write(fd, block, 1));
	printf("child: still running\n");
}

static long size_of(const char *name)
{
	struct stat st;

	return stat(a(name), &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	FILE *f;
	int fd, st;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: fsize /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	memset(block, 'x', sizeof(block));
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = 10000;
	show("setrlimit RLIMIT_FSIZE 10000", setrlimit(RLIMIT_FSIZE, &rl));
	signal(SIGXFSZ, SIG_IGN);

	fd = open(a("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("write 8000", write(fd, block, 8000));
	show("write 4000 (crosses)", write(fd, block, 4000));
	show("write 1", write(fd, block, 1));
	show("pwrite 10 at 20000", pwrite(fd, block, 10, 20000));
	show("pwrite 10 at 100 (below)", pwrite(fd, block, 10, 100));
	show("ftruncate 20000", ftruncate(fd, 20000));
	show("ftruncate 5000", ftruncate(fd, 5000));
	show("truncate 20000", truncate(a("f"), 20000));
	show("truncate 10000", truncate(a("f"), 10000));
	errno = posix_fallocate(fd, 0, 30000);
	show("posix_fallocate 0-30000", errno ? -1 : 0);
	show("size of f", size_of("f"));
	close(fd);

	f = fopen(a("s"), "w");
	if (f) {
		size_t n = fwrite(block, 1, sizeof(block), f);

		show("fwrite 12000 (buffered)", (long)n);
		errno = 0;
		show("fflush", fflush(f) == EOF ? -1 : 0);
		show("fclose", fclose(f) == EOF ? -1 : 0);
	}
	show("size of s", size_of("s"));

	st = in_child("SIGXFSZ at its default action", write_past, NULL, 10);
	expect("the child died of SIGXFSZ", st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ);
	show("size of g", size_of("g"));
	return bad;
}
