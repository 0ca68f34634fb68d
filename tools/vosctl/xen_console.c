/*
 * xen_console.c - attach the terminal to dom0's serial console (QEMU's
 * serial 0, which Xen hands to dom0's hvc0 after boot).
 *
 * The terminal is put in raw mode so that line editing, Ctrl-C and friends
 * reach dom0's shell; Ctrl-] is the one key we keep for ourselves (detach),
 * as telnet does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "xen.h"
#include "common/vos_time.h"

#define DETACH_KEY 0x1d         /* Ctrl-] */
#define DRAIN_MS   3000         /* console output still shown after piped input ends */

int xen_console_attach(const char *sock_path)
{
	struct termios saved, raw;
	int tty = isatty(STDIN_FILENO);
	int fd = xen_unix_connect(sock_path);
	long long drain_until = 0;      /* set once piped stdin has ended */
	char buf[4096];

	if (fd < 0)
		return fd;
	fprintf(stderr, "[console] attached to dom0's console; Ctrl-] detaches\r\n");
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = 0;
	}
	/* A fresh prompt: the shell printed its last one before we came. */
	xen_write_all(fd, "\n", 1);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = drain_until ? -1 : STDIN_FILENO, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		int wait_ms = -1;
		ssize_t n;

		if (drain_until) {
			long long left = drain_until - (long long)vos_now_ms();
			if (left <= 0)
				break;
			wait_ms = (int)left;
		}
		if (xen_stop_requested)
			break;
		if (poll(p, 2, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof buf);
			if (n <= 0)
				break;                  /* QEMU is gone */
			if (xen_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char *key;

			n = read(STDIN_FILENO, buf, sizeof buf);
			if (n <= 0) {
				if (tty)
					break;
				/* Piped input: let the last command's output arrive. */
				drain_until = (long long)vos_now_ms() + DRAIN_MS;
				continue;
			}
			key = memchr(buf, DETACH_KEY, (size_t)n);
			if (key) {
				xen_write_all(fd, buf, (size_t)(key - buf));
				break;
			}
			if (xen_write_all(fd, buf, (size_t)n) < 0)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fprintf(stderr, "\n[console] detached\n");
	close(fd);
	return 0;
}
