/*
 * main.c - vos-xsbroker: dom0's xenstore broker (see xen_broker.h for what it
 * does and why).  One thread, one xenstore connection for good, a poll loop
 * over the listening socket and the connected clients.  Each client sends
 * one request and gets one reply; a client that sends nothing within
 * CLIENT_TIMEOUT_MS is dropped, and at most MAX_CLIENTS wait at once, so a
 * silent or flooding user cannot stall the others for long.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "channel/xen_broker.h"
#include "channel/xen/xs.h"
#include "xsbroker.h"
#include "common/vos_time.h"

#define MAX_CLIENTS       64
#define CLIENT_TIMEOUT_MS 2000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vos-xsbroker [--socket PATH]\n"
		"\n"
		"Does the xenstore jobs of the Xen transport for dom0 clients that may not\n"
		"use xenstore themselves (not root): publishes and removes their channels'\n"
		"frontend/backend nodes and reports the service domain's answer.  The\n"
		"client's pid, uid, gid and groups come from the kernel (SO_PEERCRED,\n"
		"/proc/PID/status), and a client touches only its own channels.\n"
		"Runs in the foreground, as root, in dom0.\n"
		"\n"
		"  --socket PATH   listen here (default " VOS_XSB_SOCKET ", mode 0666)\n"
		"  --help          this text\n");
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vos-xsbroker: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* A socket left by an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "vos-xsbroker: %s exists and is not a socket\n", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0666) || listen(fd, 64)) {
		fprintf(stderr, "vos-xsbroker: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *path = VOS_XSB_SOCKET;
	struct pollfd pfd[1 + MAX_CLIENTS];
	long long since[1 + MAX_CLIENTS];
	struct xs_handle *xs;
	int lfd, err, n = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc && argv[i + 1][0]) {
			path = argv[++i];
		} else {
			fprintf(stderr, "vos-xsbroker: bad argument '%s' (try --help)\n", argv[i]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	xs = vos_xs_connect(&err);
	if (!xs) {
		fprintf(stderr, "vos-xsbroker: cannot connect to xenstore: %s\n", strerror(-err));
		return 1;
	}
	lfd = listen_on(path);
	if (lfd < 0)
		return 1;
	fprintf(stderr, "vos-xsbroker: listening on %s\n", path);
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;

	for (;;) {
		long long now;
		int r;

		/* While full, leave new clients in the listen backlog. */
		pfd[0].fd = n < 1 + MAX_CLIENTS ? lfd : -1;
		r = poll(pfd, (nfds_t)n, n > 1 ? 250 : -1);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "vos-xsbroker: poll: %s\n", strerror(errno));
			return 1;
		}
		now = (long long)vos_now_ms();
		for (int i = n - 1; i >= 1; i--) {
			if (r > 0 && pfd[i].revents) {
				if (pfd[i].revents & POLLIN)
					xsb_serve(xs, pfd[i].fd);
			} else if (now - since[i] < CLIENT_TIMEOUT_MS) {
				continue;
			}
			close(pfd[i].fd);
			pfd[i] = pfd[n - 1];
			since[i] = since[n - 1];
			n--;
		}
		if (r > 0 && pfd[0].fd >= 0 && (pfd[0].revents & POLLIN)) {
			while (n < 1 + MAX_CLIENTS) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c < 0)
					break;
				pfd[n].fd = c;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				since[n] = now;
				n++;
			}
		}
	}
}
