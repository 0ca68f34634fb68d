/*
 * locks_killed.c - the locks of a process killed with SIGKILL are free as
 * soon as its parent has waited for it: a POSIX record lock, an OFD lock
 * and a flock lock, each asked for at once after waitpid (F_GETLK,
 * F_SETLK, F_OFD_SETLK, flock LOCK_NB), in ROUNDS rounds.  What a database
 * does when it restarts after a crash (MariaDB takes aria_log_control and
 * ibdata1 with F_SETLK and gives up after retrying).  The killed child has
 * threads blocked in F_SETLKW on a range the parent holds, as a busy server
 * has threads inside the service when it dies.
 *
 * usage: locks_killed DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define ROUNDS  12
#define WAITERS 4

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* In the child: wait for the parent's lock on bytes 100-109 (forever). */
static void *waiter(void *arg)
{
	lock(*(int *)arg, F_SETLKW, F_WRLCK, 100, 10);
	return NULL;
}

/* The child: its locks, then "ready" on the pipe, then wait to be killed. */
static void child(int ready)
{
	static pthread_t t[WAITERS];
	int fd = open(a("f"), O_RDWR);
	int ffd = open(a("f"), O_RDWR);

	if (fd < 0 || ffd < 0 || lock(fd, F_SETLK, F_WRLCK, 0, 10) < 0 ||
	    lock(fd, F_OFD_SETLK, F_WRLCK, 10, 10) < 0 || flock(ffd, LOCK_EX | LOCK_NB) < 0)
		_exit(3);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&t[i], NULL, waiter, &fd);
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int conflicts[4] = { 0 }, fd, ffd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: locks_killed /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	fd = open(a("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("locks_killed: setup");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		int p[2], status;
		char c;

		/* Bytes 100-109 for the child's waiters (again: closing the
		 * probe below released every POSIX lock of this process). */
		if (lock(fd, F_SETLK, F_WRLCK, 100, 10) < 0)
			conflicts[1]++;

		if (pipe(p) < 0) {
			perror("locks_killed: pipe");
			return 1;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			child(p[1]);
		}
		close(p[1]);
		if (pid < 0 || read(p[0], &c, 1) != 1) {
			fprintf(stderr, "locks_killed: the child did not take its locks\n");
			return 1;
		}
		close(p[0]);
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status)) {
			fprintf(stderr, "locks_killed: waitpid\n");
			return 1;
		}
		/* At once: everything the child held must be free. */
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 20 };
		int probe = open(a("f"), O_RDWR);

		if (probe < 0 || fcntl(probe, F_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
			conflicts[0]++;
		if (lock(probe, F_SETLK, F_WRLCK, 0, 10) < 0)
			conflicts[1]++;
		if (lock(probe, F_OFD_SETLK, F_WRLCK, 10, 10) < 0)
			conflicts[2]++;
		ffd = open(a("f"), O_RDWR);
		if (ffd < 0 || flock(ffd, LOCK_EX | LOCK_NB) < 0)
			conflicts[3]++;
		close(ffd);
		close(probe);   /* releases the POSIX and the OFD lock */
	}
	printf("%d rounds, locks still taken after waitpid:\n", ROUNDS);
	show("  F_GETLK reports a lock", conflicts[0]);
	show("  F_SETLK fails", conflicts[1]);
	show("  F_OFD_SETLK fails", conflicts[2]);
	show("  flock LOCK_NB fails", conflicts[3]);
	expect("all free at once", !conflicts[0] && !conflicts[1] && !conflicts[2] && !conflicts[3]);
	return bad;
}
