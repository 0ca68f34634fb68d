/*
 * locks-close.c - POSIX record locks and the fds of a file: closing *any* fd
 * of the file releases the process's record locks on it (a dup, F_DUPFD, a
 * second open, an fd replaced by dup2), while OFD and flock locks stay with
 * their open file description; and F_GETLK names the holder by the pid the
 * program knows (this process, or a child holding the lock).
 *
 * usage: locks-close DIR
 * Each state is looked at by a forked child (another process, so it sees
 * the locks of this one), which reports the lock type and whether the holder
 * is its parent.  Deterministic output: no pid is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

struct seen {
	int type;       /* F_UNLCK, F_RDLCK, F_WRLCK, or -errno */
	pid_t pid;
	int flock_busy; /* 1: flock(LOCK_EX|LOCK_NB) said EWOULDBLOCK */
};

/* Look at path from a child process: the conflicting record lock for a
 * write lock on the whole file (and its holder), and whether flock is taken. */
static struct seen probe(const char *path, int ofd)
{
	struct seen s = { .type = -EIO };
	int p[2];

	if (pipe(p) < 0)
		return s;
	pid_t pid = fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd = open(path, O_RDWR);

		close(p[0]);
		if (fd < 0 || fcntl(fd, ofd ? F_OFD_GETLK : F_GETLK, &fl) < 0) {
			s.type = -errno;
		} else {
			s.type = fl.l_type;
			s.pid = fl.l_pid;
			s.flock_busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
		}
		if (write(p[1], &s, sizeof s) != sizeof s)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &s, sizeof s) != sizeof s)
		s.type = -EIO;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return s;
}

static const char *type_name(int t)
{
	return t == F_UNLCK ? "unlocked" : t == F_WRLCK ? "write-locked" :
	       t == F_RDLCK ? "read-locked" : "error";
}

static void report(const char *what, struct seen s, int want_type, pid_t want_pid)
{
	char label[128];

	printf("%-36s %s\n", what, type_name(s.type));
	if (s.type != want_type)
		bad = 1;
	if (want_type != F_UNLCK && s.type == want_type) {
		snprintf(label, sizeof label, "%s: holder", what);
		expect(label, s.pid == want_pid);
	}
}

static int wrlock(int fd, int cmd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	return fcntl(fd, cmd, &fl);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	const char *f = a("locked");
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644), fd2;

	show("open", fd < 0 ? -1 : 0);
	if (fd < 0)
		return 1;
	show("write", write(fd, "0123456789", 10));

	show("F_SETLK write", wrlock(fd, F_SETLK));
	report("locked", probe(f, 0), F_WRLCK, getpid());

	fd2 = dup(fd);
	show("close(dup)", close(fd2));
	report("after close of a dup", probe(f, 0), F_UNLCK, 0);

	show("F_SETLK again", wrlock(fd, F_SETLK));
	fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
	show("F_DUPFD_CLOEXEC >= 20", fd2 >= 20 ? 0 : -1);
	show("close(F_DUPFD)", close(fd2));
	report("after close of an F_DUPFD", probe(f, 0), F_UNLCK, 0);

	show("F_SETLK again", wrlock(fd, F_SETLK));
	fd2 = open(f, O_RDONLY);
	show("close(second open)", close(fd2));
	report("after close of a second open", probe(f, 0), F_UNLCK, 0);

	show("F_SETLK again", wrlock(fd, F_SETLK));
	fd2 = dup(fd);
	int other = open(f, O_RDONLY);
	show("dup2(other open, dup)", dup2(other, fd2) == fd2 ? 0 : -1);
	report("after dup2 over a dup", probe(f, 0), F_UNLCK, 0);
	close(other);
	close(fd2);

	/* Locks that belong to the open file description stay. */
	show("F_OFD_SETLK write", wrlock(fd, F_OFD_SETLK));
	show("flock(LOCK_EX)", flock(fd, LOCK_EX));
	fd2 = dup(fd);
	show("close(dup)", close(fd2));
	struct seen s = probe(f, 1);
	printf("%-36s %s\n", "OFD lock after close of a dup", type_name(s.type));
	expect("OFD lock: no pid (-1)", s.type == F_WRLCK && s.pid == -1);
	expect("flock after close of a dup: held", s.flock_busy == 1);
	show("F_OFD_SETLK unlock", fcntl(fd, F_OFD_SETLK, &(struct flock){ .l_type = F_UNLCK }));
	show("flock(LOCK_UN)", flock(fd, LOCK_UN));

	/* The holder is a child of ours: F_GETLK names that child. */
	int go[2], ready[2];
	if (pipe(go) < 0 || pipe(ready) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c = 0;
		int cfd = open(f, O_RDWR);

		close(go[1]);
		close(ready[0]);
		c = cfd >= 0 && wrlock(cfd, F_SETLK) == 0;
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		/* Closed before exit: a routed process's locks are released
		 * at exit only once its shadow saw it go (README, limits). */
		close(cfd);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	char c = 0;
	expect("child took the lock", read(ready[0], &c, 1) == 1 && c == 1);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	show("F_GETLK (child holds it)", fcntl(fd, F_GETLK, &fl));
	printf("%-36s %s\n", "F_GETLK type", type_name(fl.l_type));
	expect("F_GETLK: the holder is the child", fl.l_pid == child);
	show("F_SETLK conflicts", wrlock(fd, F_SETLK));
	close(go[1]);
	expect("child closed its fd", read(ready[0], &c, 1) == 1);
	show("F_SETLK after the child closed", wrlock(fd, F_SETLK));
	waitpid(child, NULL, 0);

	close(fd);
	unlink(f);
	return bad;
}
