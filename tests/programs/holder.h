/*
 * holder.h - a child process that holds locks on files in DIR until told
 * to let go, for the lock-wait tests: a POSIX write lock on DIR/A, an OFD
 * write lock on DIR/B and a flock(LOCK_EX) on DIR/C (the files are made
 * first).  Use with report.h (included first).
 *
 * start_holder() returns once the child holds all three; release_holder()
 * tells it to exit (its locks go with it) and reaps it.  If the test dies
 * first, the child sees the end of its pipe and exits too.
 */
#ifndef VOS_TEST_HOLDER_H
#define VOS_TEST_HOLDER_H

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t holder_pid = -1;
static int holder_release = -1;  /* write end: a byte (or EOF) lets go */

static int hold_all(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int a_fd = open(a("A"), O_RDWR), b_fd = open(a("B"), O_RDWR), c_fd = open(a("C"), O_RDWR);

	return a_fd >= 0 && b_fd >= 0 && c_fd >= 0 && fcntl(a_fd, F_SETLK, &fl) == 0 &&
	       fcntl(b_fd, F_OFD_SETLK, &fl) == 0 && flock(c_fd, LOCK_EX | LOCK_NB) == 0;
}

static int start_holder(void)
{
	int ready[2], rel[2];
	char c = 0;

	for (const char *n = "ABC"; *n; n++) {
		char name[2] = { *n, 0 };
		int fd = open(a(name), O_RDWR | O_CREAT, 0644);

		if (fd < 0)
			return -1;
		close(fd);
	}
	if (pipe(ready) < 0 || pipe(rel) < 0)
		return -1;
	fflush(stdout);
	holder_pid = fork();
	if (holder_pid < 0)
		return -1;
	if (holder_pid == 0) {
		close(ready[0]);
		close(rel[1]);
		c = hold_all() ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(rel[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	holder_release = rel[1];
	if (read(ready[0], &c, 1) != 1 || c != 'y')
		return -1;
	close(ready[0]);
	return 0;
}

static void release_holder(void)
{
	int st;

	if (holder_release >= 0) {
		close(holder_release);
		holder_release = -1;
	}
	if (holder_pid > 0)
		waitpid(holder_pid, &st, 0);
	holder_pid = -1;
}

#endif
