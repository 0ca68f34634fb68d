/*
 * lock_eintr.c - a signal interrupts a blocking lock wait as natively:
 * with a handler installed without SA_RESTART, F_SETLKW, F_OFD_SETLKW and
 * flock(LOCK_EX) on files another process holds (holder.h) fail with
 * EINTR; with SA_RESTART, F_SETLKW is restarted and gets the lock once the
 * handler (on its third run) lets the holder go.  An interval timer sends
 * SIGALRM every 50 ms, so a signal that comes before the call blocks is
 * followed by one that comes during the wait.  Runs in a child (child.h),
 * bounded: a wait that is never interrupted shows as "timeout".
 *
 * usage: lock_eintr DIR
 */
#include <signal.h>
#include <sys/time.h>
#include "report.h"
#include "child.h"
#include "holder.h"

static volatile sig_atomic_t ticks;
static volatile sig_atomic_t release_at;  /* let the holder go at this tick */

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
	if (release_at && ticks == release_at && holder_release >= 0) {
		close(holder_release);  /* async-signal-safe; the holder exits */
		holder_release = -1;
	}
}

static void timer(int on)
{
	struct itimerval it = { { 0, on ? 50000 : 0 }, { 0, on ? 50000 : 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(int flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static void run(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int fd, rc;

	(void)arg;
	if (start_holder() < 0) {
		show("start the holder", -1);
		bad = 1;
		return;
	}
	handler(0);

	fd = open(a("A"), O_RDWR);
	ticks = 0;
	timer(1);
	rc = fcntl(fd, F_SETLKW, &fl);
	timer(0);
	show("F_SETLKW (no SA_RESTART)", rc);
	expect("  EINTR after a handler ran", rc < 0 && errno == EINTR && ticks > 0);
	close(fd);

	fd = open(a("B"), O_RDWR);
	ticks = 0;
	timer(1);
	rc = fcntl(fd, F_OFD_SETLKW, &fl);
	timer(0);
	show("F_OFD_SETLKW (no SA_RESTART)", rc);
	expect("  EINTR after a handler ran", rc < 0 && errno == EINTR && ticks > 0);
	close(fd);

	fd = open(a("C"), O_RDWR);
	ticks = 0;
	timer(1);
	rc = flock(fd, LOCK_EX);
	timer(0);
	show("flock LOCK_EX (no SA_RESTART)", rc);
	expect("  EINTR after a handler ran", rc < 0 && errno == EINTR && ticks > 0);
	close(fd);

	/* the holder still holds A: nothing was taken by the interrupted calls */
	fd = open(a("A"), O_RDWR);
	show("F_SETLK A (still held)", fcntl(fd, F_SETLK, &fl));

	handler(SA_RESTART);
	ticks = 0;
	release_at = 3;
	timer(1);
	rc = fcntl(fd, F_SETLKW, &fl);
	timer(0);
	show("F_SETLKW (SA_RESTART)", rc);
	expect("  restarted until the holder let go", rc == 0 && ticks >= 3);
	close(fd);
	release_holder();
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: lock_eintr /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	in_child("lock waits and signals", run, NULL, 10);
	return bad;
}
