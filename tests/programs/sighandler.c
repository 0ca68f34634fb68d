/*
 * sighandler.c - a signal handler that does file I/O on DIR while the
 * interrupted code is itself in the middle of file I/O on DIR.  Under
 * libvirtuos both are remote calls: this must neither deadlock nor fail.
 *
 * usage: sighandler DIR [SECONDS]      prints "main: ok", "handler: ok"
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int hfd = -1;
static volatile sig_atomic_t handled, hfail;

static void on_alarm(int sig)
{
	char b[64];
	int e = errno;

	(void)sig;
	if (pread(hfd, b, sizeof(b), 0) != (ssize_t)sizeof(b) || b[0] != 'h')
		hfail = 1;
	handled++;
	errno = e;
}

int main(int argc, char **argv)
{
	char path[4200], buf[4096];
	struct sigaction sa;
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	long calls = 0, fail = 0;
	int secs = argc > 2 ? atoi(argv[2]) : 2, fd;
	time_t t0;

	if (argc < 2) {
		fprintf(stderr, "usage: sighandler DIR [SECONDS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/sig.dat", argv[1]);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	memset(buf, 'h', sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror("sighandler: open/write");
		return 1;
	}
	hfd = open(path, O_RDONLY);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = time(NULL);
	while (time(NULL) - t0 < secs || handled < 10) {
		if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || buf[0] != 'h')
			fail++;
		calls++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("main: %s\n", fail ? "FAILED" : "ok");
	printf("handler: %s\n", hfail ? "FAILED" : handled ? "ok" : "never ran");
	close(fd);
	close(hfd);
	unlink(path);
	return fail || hfail;
}
