/*
 * locks_close.c - POSIX record locks belong to the process and the file:
 * closing *any* fd of the file (a dup, or another open of it) releases all
 * of the process's locks on it, while an OFD lock lives as long as its own
 * open file description.  Each state is checked from a child process with
 * F_GETLK, which must report the locker's pid (the parent's, not any other
 * process's) or, for an OFD lock, pid -1 through F_OFD_GETLK.
 *
 * usage: locks_close DIR
 */
#include <fcntl.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

static pid_t parent;

struct want {
	int ofd;             /* ask with F_OFD_GETLK */
	const char *state;   /* what the answer must say */
};

/* In a child: what F_GETLK on a fresh fd of DIR/f says about bytes 0-99;
 * exits 1 (through bad) if it is not want->state. */
static void probe(void *arg)
{
	const struct want *w = arg;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	const char *what = w->ofd ? "  F_OFD_GETLK" : "  F_GETLK";
	char got[128];
	int fd = open(a("f"), O_RDWR);

	if (fd < 0 || fcntl(fd, w->ofd ? F_OFD_GETLK : F_GETLK, &fl) < 0) {
		show(what, -1);
		bad = 1;
		return;
	}
	if (fl.l_type == F_UNLCK)
		snprintf(got, sizeof(got), "unlocked");
	else
		snprintf(got, sizeof(got), "%s by %s, start %lld len %lld",
			 fl.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK",
			 fl.l_pid == parent ? "the parent" : fl.l_pid == -1 ? "pid -1 (OFD)" : "another pid",
			 (long long)fl.l_start, (long long)fl.l_len);
	printf("%-36s %s\n", what, got);
	if (strcmp(got, w->state) != 0)
		bad = 1;
	close(fd);
}

static void check(int ofd, const char *state)
{
	struct want w = { ofd, state };

	in_child(ofd ? "probe (OFD)" : "probe", probe, &w, 20);
}

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

int main(int argc, char **argv)
{
	int fd1, fd2, fd3, ofd1, ofd2;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: locks_close /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	parent = getpid();
	fd1 = open(a("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	fd3 = open(a("f"), O_RDONLY);
	if (fd1 < 0 || fd3 < 0 || write(fd1, "0123456789", 10) != 10) {
		perror("locks_close: setup");
		return 1;
	}

	show("F_SETLK fd1 F_WRLCK 10-29", lock(fd1, F_SETLK, F_WRLCK, 10, 20));
	check(0, "F_WRLCK by the parent, start 10 len 20");
	fd2 = dup(fd1);
	show("close a dup of fd1", close(fd2));
	check(0, "unlocked");

	show("F_SETLK fd1 F_WRLCK 0-49", lock(fd1, F_SETLK, F_WRLCK, 0, 50));
	show("F_SETLK fd1 F_UNLCK 0-4", lock(fd1, F_SETLK, F_UNLCK, 0, 5));
	check(0, "F_WRLCK by the parent, start 5 len 45");
	show("close fd3 (another open, O_RDONLY)", close(fd3));
	check(0, "unlocked");

	show("F_SETLKW fd1 F_WRLCK 20-", lock(fd1, F_SETLKW, F_WRLCK, 20, 0));
	fd3 = open(a("f"), O_RDONLY);
	check(0, "F_WRLCK by the parent, start 20 len 0");
	show("close the new open", close(fd3));
	check(0, "unlocked");

	/* OFD locks: closing another fd of the file does not release them. */
	ofd1 = open(a("f"), O_RDWR);
	ofd2 = open(a("f"), O_RDWR);
	show("F_OFD_SETLK ofd1 F_WRLCK 0-99", lock(ofd1, F_OFD_SETLK, F_WRLCK, 0, 100));
	expect("F_OFD_SETLK ofd2 conflicts: EAGAIN",
	       lock(ofd2, F_OFD_SETLK, F_WRLCK, 0, 100) < 0 && errno == EAGAIN);
	check(1, "F_WRLCK by pid -1 (OFD), start 0 len 100");
	show("close ofd2", close(ofd2));
	check(1, "F_WRLCK by pid -1 (OFD), start 0 len 100");
	fd2 = dup(ofd1);
	show("close ofd1 (a dup remains)", close(ofd1));
	check(1, "F_WRLCK by pid -1 (OFD), start 0 len 100");
	show("close the dup", close(fd2));
	check(1, "unlocked");

	/* A read lock from the parent, seen as such. */
	show("F_SETLK fd1 F_RDLCK 0-9", lock(fd1, F_SETLK, F_RDLCK, 0, 10));
	check(0, "F_RDLCK by the parent, start 0 len 10");
	show("close fd1", close(fd1));
	check(0, "unlocked");
	return bad;
}
