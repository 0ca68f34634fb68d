/*
 * limits-emfile.c - EMFILE after the same number of opens as natively: the
 * program lowers RLIMIT_NOFILE, then opens files in DIR (routed, under the
 * library) and local ones (/dev/null) until EMFILE, and counts; getrlimit
 * reports what it set.  Only counts are compared: the fd numbers may
 * differ (libvirtuos/interpose/README.md, limits).
 *
 * usage: limits-emfile DIR         (deterministic output)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report.h"

#define MAXFDS 4096

static int fds[MAXFDS];

/* Open path until EMFILE; the count.  All closed again. */
static int fill(const char *path, int flags)
{
	int n = 0, fd, err;

	while (n < MAXFDS && (fd = open(path, flags, 0644)) >= 0)
		fds[n++] = fd;
	err = errno;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	errno = err;
	return n;
}

static void round_of(const char *label, rlim_t limit, const char *path, int flags)
{
	struct rlimit rl;
	char l[96];
	int n;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = limit;
	snprintf(l, sizeof l, "%s: setrlimit NOFILE %lu", label, (unsigned long)limit);
	show(l, setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_NOFILE, &rl);
	snprintf(l, sizeof l, "%s: getrlimit says so", label);
	expect(l, rl.rlim_cur == limit);
	n = fill(path, flags);
	snprintf(l, sizeof l, "%s: opened until", label);
	show(l, -1);
	snprintf(l, sizeof l, "%s: count", label);
	show(l, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	/* Before any routed call: the channel connects inside the first round. */
	round_of("routed, 64", 64, a("f"), O_RDWR | O_CREAT);
	round_of("local, 64", 64, "/dev/null", O_RDONLY);
	round_of("routed, 200", 200, a("f"), O_RDWR | O_CREAT);
	round_of("local, 100", 100, "/dev/null", O_RDONLY);
	round_of("routed, 40", 40, a("f"), O_RDONLY);
	unlink(a("f"));
	return bad;
}
