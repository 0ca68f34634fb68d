/*
 * test_serviced_io.c - file I/O through vos-serviced: read and write at an
 * offset or the shared file offset, truncation, dup and close, fcntl flags
 * and locks, the fd number limits, and several threads of one client
 * calling at once.  Each test works on a file of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "serviced_harness.h"

/* A client with path (in the export root) created as remote fd 100 with
 * "hello world" in it. */
static struct vos_client *client_with_file(const char *path)
{
	struct vos_client *c = connect_new();
	make_remote_file(c, path, 100, "hello world");
	return c;
}

static void test_write_pread(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	char buf[256];

	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io", O_CREAT | O_RDWR | O_TRUNC, 0640, 100), 100);
	assert_int_equal(r_write(c, 100, "hello world"), 11);
	assert_int_equal(r_pread(c, 100, buf, 64, 0), 11);
	assert_string_equal(buf, "hello world");
	assert_int_equal(r_pread(c, 100, buf, 5, 6), 5);
	assert_string_equal(buf, "world");
	assert_string_equal(native_content("io"), "hello world");
	vos_client_close(c);
}

/* fstat of a remote fd is the file's; it was created with the mode asked
 * for, less the shadow's umask (ours). */
static void test_fstat_and_create_mode(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct stat st, nst;
	char p[PATH_MAX];

	assert_int_equal(r_open(c, VOS_FD_ROOT, "io_mode", O_CREAT | O_RDWR | O_TRUNC, 0640, 100), 100);
	assert_int_equal(r_write(c, 100, "hello world"), 11);
	assert_int_equal(r_stat(c, 100, NULL, 0, &st), 0);
	in_dir(p, rootdir, "io_mode");
	assert_int_equal(stat(p, &nst), 0);
	assert_true(st.st_ino == nst.st_ino && st.st_size == 11);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 07777, 0640 & ~um);
	vos_client_close(c);
}

/* lseek + read share the file offset */
static void test_lseek_read(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_seek");
	char buf[256];

	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 100, 6, SEEK_SET), 6);
	assert_int_equal(r_read(c, 100, buf, 64), 5);
	assert_string_equal(buf, "world");
	assert_int_equal(r_read(c, 100, buf, 64), 0);
	vos_client_close(c);
}

static void test_pwrite_ftruncate_fsync(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_trunc");

	assert_int_equal(call(c, VOS_OP_PWRITE, 100, 5, 0, 0, 0, "HELLO", 2, NULL, 0, NULL, 0), 5);
	assert_int_equal(vos_call0(c, VOS_OP_FTRUNCATE, 100, 8, 0), 0);
	assert_int_equal(vos_call0(c, VOS_OP_FSYNC, 100, 0, 0), 0);
	assert_string_equal(native_content("io_trunc"), "HELLO wo");
	vos_client_close(c);
}

/* dup shares the file; close of one leaves the other */
static void test_dup_close(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_dup");
	char buf[256];

	assert_int_equal(vos_call0(c, VOS_OP_DUP, 100, 101, O_CLOEXEC), 101);
	assert_int_equal(r_close(c, 100), 0);
	assert_int_equal(r_close(c, 100), -EBADF);
	assert_int_equal(r_read(c, 100, buf, 4), -EBADF);
	assert_int_equal(r_pread(c, 101, buf, 5, 0), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(r_close(c, 101), 0);
	vos_client_close(c);
}

static void test_fcntl_flags(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_flags");

	int64_t fl = vos_call0(c, VOS_OP_FCNTL, 100, F_GETFL, 0);
	assert_true(fl >= 0 && (fl & O_ACCMODE) == O_RDWR);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 100, F_SETFL, O_APPEND), 0);
	assert_true(vos_call0(c, VOS_OP_FCNTL, 100, F_GETFL, 0) & O_APPEND);
	assert_int_equal(vos_call0(c, VOS_OP_FCNTL, 100, F_GETFD, 0), -EINVAL);
	vos_client_close(c);
}

/* An OFD lock taken through the service holds against a native open file
 * description. */
static void test_fcntl_ofd_lock(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_ofd");
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
	struct vos_req r = { .op = VOS_OP_FCNTL, .arg = { 100, F_OFD_SETLK, ARG_OFF } };
	char p[PATH_MAX];

	assert_int_equal(call_with(c, &r, &lk, sizeof lk, ARG_OFF), 0);
	in_dir(p, rootdir, "io_ofd");
	int nfd = open(p, O_RDWR);
	struct flock nl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 4 };
	assert_int_equal(fcntl(nfd, F_OFD_SETLK, &nl), -1);
	assert_int_equal(errno, EAGAIN);
	close(nfd);
	vos_client_close(c);
}

/* A flock taken through the service goes with the close of its fd. */
static void test_flock_released_by_close(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_flock");
	char p[PATH_MAX];

	assert_int_equal(vos_call0(c, VOS_OP_FLOCK, 100, LOCK_EX | LOCK_NB, 0), 0);
	in_dir(p, rootdir, "io_flock");
	int nfd = open(p, O_RDONLY);
	assert_int_equal(flock(nfd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(r_close(c, 100), 0);
	assert_int_equal(flock(nfd, LOCK_EX | LOCK_NB), 0);
	close(nfd);
	vos_client_close(c);
}

static void test_fd_number_limits(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_limits");
	char buf[16];

	assert_int_equal(r_open(c, VOS_FD_ROOT, "io_limits", O_RDONLY, 0, -3), -EBADF);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io_limits", O_RDONLY, 0, 1 << 21), -EBADF);
	assert_int_equal(r_open(c, VOS_FD_ROOT, "io_limits", O_RDONLY, 0, 70000), 70000);  /* table grows */
	assert_int_equal(r_close(c, 70000), 0);
	assert_int_equal(r_read(c, 1 << 30, buf, 4), -EBADF);
	vos_client_close(c);
}

struct thr {
	struct vos_client *c;
	int id;
	int ok;
};

static void *thread_io(void *arg)
{
	struct thr *t = arg;
	char name[32], want[32], buf[64];
	t->ok = 1;
	for (int i = 0; i < 100 && t->ok; i++) {
		int fd = 1000 + t->id;
		snprintf(name, sizeof name, "t%d", t->id);
		snprintf(want, sizeof want, "thread %d round %d", t->id, i);
		if (r_open(t->c, VOS_FD_ROOT, name, O_CREAT | O_RDWR | O_TRUNC, 0644, fd) != fd ||
		    r_write(t->c, fd, want) != (int64_t)strlen(want) ||
		    r_pread(t->c, fd, buf, sizeof buf - 1, 0) != (int64_t)strlen(want) ||
		    strcmp(buf, want) != 0 || r_close(t->c, fd) != 0)
			t->ok = 0;
		/* table churn on shared numbers */
		vos_call0(t->c, VOS_OP_DUP, 999, 2000 + t->id, 0);
		vos_call0(t->c, VOS_OP_CLOSE, 2000 + t->id, 0, 0);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct vos_client *c = connect_new();
	struct thr t[4];
	pthread_t th[4];
	assert_int_equal(r_open(c, VOS_FD_ROOT, "file", O_RDONLY, 0, 999), 999);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .c = c, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, thread_io, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(t[i].ok);
	}
	assert_int_equal(r_close(c, 999), 0);
	vos_client_close(c);
}

/* COPYFD: sendfile and copy_file_range between two fds of the shadow, the
 * offsets and positions as the kernel's; a hostile client's arguments
 * (lengths, offsets, how, fds) refused, and the client served on. */
static int64_t copyfd(struct vos_client *c, int64_t in, int64_t out, int64_t len, int64_t oin,
		      int64_t oout, int64_t how)
{
	struct vos_req q = { .op = VOS_OP_COPYFD, .arg = { in, out, len, oin, oout, how } };
	return call_with(c, &q, NULL, 0, 0);
}

static void test_copyfd(void **state)
{
	(void)state;
	struct vos_client *c = client_with_file("io_copy_src");
	char buf[256];

	assert_int_equal(r_open(c, VOS_FD_ROOT, "io_copy_dst", O_CREAT | O_RDWR | O_TRUNC, 0644, 101), 101);
	/* sendfile from offset 6: the source's position stays at 0 */
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 100, 0, SEEK_SET), 0);
	assert_int_equal(copyfd(c, 100, 101, 64, 6, -1, 0), 5);
	assert_string_equal(native_content("io_copy_dst"), "world");
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 100, 0, SEEK_CUR), 0);
	/* sendfile from the position: it moves */
	assert_int_equal(copyfd(c, 100, 101, 6, -1, -1, 0), 6);
	assert_string_equal(native_content("io_copy_dst"), "worldhello ");
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 100, 0, SEEK_CUR), 6);
	/* copy_file_range at both offsets: positions stay */
	assert_int_equal(copyfd(c, 100, 101, 5, 0, 0, 1), 5);
	assert_string_equal(native_content("io_copy_dst"), "hellohello ");
	assert_int_equal(vos_call0(c, VOS_OP_LSEEK, 101, 0, SEEK_CUR), 11);
	assert_int_equal(r_pread(c, 101, buf, 64, 0), 11);
	/* hostile arguments */
	assert_int_equal(copyfd(c, 100, 101, -1, 0, 0, 1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, (int64_t)VOS_COPYFD_MAX + 1, 0, 0, 1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, INT64_MAX, 0, 0, 1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, 5, -2, 0, 1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, 5, 0, INT64_MIN, 1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, 5, 0, 0, 2), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, 5, 0, 0, -1), -EINVAL);
	assert_int_equal(copyfd(c, 100, 101, 5, 0, 0, 0), -EINVAL);   /* sendfile takes no out offset */
	assert_int_equal(copyfd(c, 100, 900, 5, 0, -1, 0), -EBADF);
	assert_int_equal(copyfd(c, 900, 101, 5, 0, -1, 0), -EBADF);
	assert_int_equal(copyfd(c, 100, -5, 5, 0, -1, 0), -EBADF);
	assert_int_equal(copyfd(c, 100, INT64_MAX, 5, 0, -1, 0), -EBADF);
	/* the same file, overlapping: the kernel's answer */
	assert_int_equal(copyfd(c, 100, 100, 5, 0, 2, 1), -EINVAL);
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), 0);
	assert_int_equal(r_close(c, 101), 0);
	vos_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_pread),
		cmocka_unit_test(test_fstat_and_create_mode),
		cmocka_unit_test(test_lseek_read),
		cmocka_unit_test(test_pwrite_ftruncate_fsync),
		cmocka_unit_test(test_dup_close),
		cmocka_unit_test(test_fcntl_flags),
		cmocka_unit_test(test_fcntl_ofd_lock),
		cmocka_unit_test(test_flock_released_by_close),
		cmocka_unit_test(test_fd_number_limits),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_copyfd),
	};
	return SERVICED_MAIN(argc, argv, tests);
}
