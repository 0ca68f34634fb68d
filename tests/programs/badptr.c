/*
 * badptr.c - bad pointers and bad flags on routed files fail as natively:
 * a NULL or invalid path, buffer, struct stat or struct flock pointer gives
 * EFAULT (never a SIGSEGV inside a library), invalid AT_* flags give
 * EINVAL.  Each call runs in its own child (child.h), so a crash shows as
 * "signal SIGSEGV" and the other calls still run.
 *
 * usage: badptr DIR
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

/* Opaque to the compiler: no -Wnonnull, no folding. */
static char *volatile nullp;
static char *volatile badp = (char *)16;

static int fd = -1;     /* DIR/f, O_RDWR, 8 bytes */
static int dfd = -1;    /* DIR */

#define STEP(label, call)                                       \
	static void step_##label(void *arg)                     \
	{                                                       \
		(void)arg;                                      \
		errno = 0;                                      \
		show(#label, (call));                           \
	}
#define RUN(label) in_child(#label, step_##label, NULL, 10)

STEP(open_null, open(nullp, O_RDONLY))
STEP(open_bad, open(badp, O_RDONLY))
STEP(openat_null, openat(dfd, nullp, O_RDONLY))
STEP(creat_bad, open(badp, O_WRONLY | O_CREAT, 0644))
STEP(stat_null_path, stat(nullp, (struct stat *)malloc(sizeof(struct stat))))
STEP(stat_null_buf, stat(a("f"), (struct stat *)(void *)nullp))
STEP(lstat_bad_buf, lstat(a("f"), (struct stat *)(void *)badp))
STEP(fstat_null_buf, fstat(fd, (struct stat *)(void *)nullp))
STEP(fstatat_null_buf, fstatat(dfd, "f", (struct stat *)(void *)nullp, 0))
STEP(link_to_null, link(a("f"), nullp))
STEP(link_from_null, link(nullp, a("g")))
STEP(rename_to_null, rename(a("f"), nullp))
STEP(rename_from_bad, rename(badp, a("g")))
STEP(symlink_null_target, symlink(nullp, a("s")))
STEP(unlink_null, unlink(nullp))
STEP(mkdir_bad, mkdir(badp, 0755))
STEP(chdir_null, chdir(nullp))
STEP(truncate_null, truncate(nullp, 0))
STEP(readlink_bad_buf, readlink(a("l"), badp, 64))
STEP(read_null, read(fd, nullp, 8))
STEP(read_bad, read(fd, badp, 8))
STEP(pread_null, pread(fd, nullp, 8, 0))
STEP(write_null, write(fd, nullp, 8))
STEP(pwrite_bad, pwrite(fd, badp, 8, 0))
STEP(readv_bad_iov, readv(fd, (struct iovec *)(void *)badp, 1))
STEP(fcntl_setlk_null, fcntl(fd, F_SETLK, (struct flock *)(void *)nullp))
STEP(fcntl_getlk_bad, fcntl(fd, F_GETLK, (struct flock *)(void *)badp))
STEP(fcntl_ofd_setlk_null, fcntl(fd, F_OFD_SETLK, (struct flock *)(void *)nullp))
STEP(fstatat_bad_flags, fstatat(dfd, "f", (struct stat *)malloc(sizeof(struct stat)), 0x40000000))
STEP(unlinkat_bad_flags, unlinkat(dfd, "f", 0x1))
STEP(linkat_bad_flags, linkat(dfd, "f", dfd, "g", 0x2))
STEP(fchownat_bad_flags, fchownat(dfd, "f", 0, 0, 0x1))
STEP(renameat2_bad_flags, renameat2(dfd, "f", dfd, "g", 0x80000000u))

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: badptr /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	fd = open(a("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || dfd < 0 || write(fd, "01234567", 8) != 8 || symlink("f", a("l")) < 0) {
		perror("badptr: setup");
		return 1;
	}
	RUN(open_null);
	RUN(open_bad);
	RUN(openat_null);
	RUN(creat_bad);
	RUN(stat_null_path);
	RUN(stat_null_buf);
	RUN(lstat_bad_buf);
	RUN(fstat_null_buf);
	RUN(fstatat_null_buf);
	RUN(link_to_null);
	RUN(link_from_null);
	RUN(rename_to_null);
	RUN(rename_from_bad);
	RUN(symlink_null_target);
	RUN(unlink_null);
	RUN(mkdir_bad);
	RUN(chdir_null);
	RUN(truncate_null);
	RUN(readlink_bad_buf);
	lseek(fd, 0, SEEK_SET);  /* the children share this offset */
	RUN(read_null);
	RUN(read_bad);
	RUN(pread_null);
	RUN(write_null);
	RUN(pwrite_bad);
	RUN(readv_bad_iov);
	RUN(fcntl_setlk_null);
	RUN(fcntl_getlk_bad);
	RUN(fcntl_ofd_setlk_null);
	RUN(fstatat_bad_flags);
	RUN(unlinkat_bad_flags);
	RUN(linkat_bad_flags);
	RUN(fchownat_bad_flags);
	RUN(renameat2_bad_flags);

	/* Nothing above changed the directory. */
	expect("f still there, 8 bytes", lseek(fd, 0, SEEK_END) == 8);
	expect("no g", access(a("g"), F_OK) < 0);
	return bad;
}
