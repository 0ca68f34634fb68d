/*
 * xen_agent.c - run a command in dom0 through vos-agent (primary-domain/
 * rootfs/sbin/vos-agent) on the second serial port.
 *
 * Protocol: we send "ID BASE64(COMMAND)\n"; the agent runs the command and
 * answers with its output followed by "@@VOS-DONE ID STATUS\n".  A serial
 * line is a byte stream without message boundaries, and it may still carry
 * the tail of an earlier command whose client went away, so every call first
 * sends a no-op request and throws away everything up to its marker.
 *
 * Calls are serialized with flock() on "<sock>.lock": the agent runs one
 * command at a time and two clients would read each other's answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "xen.h"
#include "common/vos_time.h"

#define MARKER_MAX 64

int xen_unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static char *base64(const char *in, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = tab[p[i + 2] & 63];
	}
	if (i < n) {
		*o++ = tab[p[i] >> 2];
		if (i + 1 < n) {
			*o++ = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
			*o++ = tab[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tab[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

int xen_write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_request(int fd, const char *id, const char *command)
{
	char *b64 = base64(command, strlen(command));
	char *line;
	int n, err;

	if (!b64)
		return -ENOMEM;
	n = asprintf(&line, "%s %s\n", id, b64);
	free(b64);
	if (n < 0)
		return -ENOMEM;
	err = xen_write_all(fd, line, (size_t)n);
	free(line);
	return err;
}

/*
 * Read until "@@VOS-DONE ID STATUS\n".  Bytes before the marker go to out_fd;
 * the last (marker length - 1) bytes are held back in case they are the start
 * of a marker split across reads.
 */
static int read_answer(int fd, const char *id, int out_fd, long long deadline)
{
	char marker[MARKER_MAX];
	char buf[8192];
	size_t have = 0, mlen;

	mlen = (size_t)snprintf(marker, sizeof marker, "@@VOS-DONE %s ", id);
	for (;;) {
		char *hit = memmem(buf, have, marker, mlen);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left;
		ssize_t r;

		if (hit) {
			char *st = hit + mlen, *nl = memchr(st, '\n', have - (size_t)(st - buf));
			if (nl) {
				char *end;
				long status;

				if (out_fd >= 0)
					xen_write_all(out_fd, buf, (size_t)(hit - buf));
				*nl = '\0';
				status = strtol(st, &end, 10);
				if (end == st || status < 0 || status > 255)
					return -EPROTO;
				return (int)status;
			}
			if (have == sizeof buf)
				return -EPROTO;         /* a marker with a huge status */
		} else if (have >= mlen) {
			size_t keep = mlen - 1, flush = have - keep;
			if (out_fd >= 0)
				xen_write_all(out_fd, buf, flush);
			memmove(buf, buf + flush, keep);
			have = keep;
		}
		if (xen_stop_requested)
			return -EINTR;
		left = deadline - (long long)vos_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fd, buf + have, sizeof buf - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ECONNRESET;     /* QEMU went away */
		have += (size_t)r;
	}
}

int xen_agent_run(const char *sock_path, const char *command, int out_fd,
		  int timeout_ms)
{
	long long deadline = (long long)vos_now_ms() + timeout_ms;
	char lock_path[4096], sync_id[32], id[32];
	static unsigned seq;
	int lock_fd, fd, ret;

	if ((size_t)snprintf(lock_path, sizeof lock_path, "%s.lock", sock_path) >= sizeof lock_path)
		return -ENAMETOOLONG;
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	/* Bounded wait for the lock: another vosctl may be running a command. */
	while (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || (long long)vos_now_ms() >= deadline || xen_stop_requested) {
			ret = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			close(lock_fd);
			return ret;
		}
		usleep(100 * 1000);
	}

	fd = xen_unix_connect(sock_path);
	if (fd < 0) {
		close(lock_fd);
		return fd;
	}
	seq++;
	snprintf(sync_id, sizeof sync_id, "s%ld-%u-%lld", (long)getpid(), seq, (long long)vos_now_ms() % 100000);
	snprintf(id, sizeof id, "c%ld-%u-%lld", (long)getpid(), seq, (long long)vos_now_ms() % 100000);

	ret = send_request(fd, sync_id, "true");
	if (ret == 0)
		ret = read_answer(fd, sync_id, -1, deadline);
	if (ret >= 0) {
		ret = send_request(fd, id, command);
		if (ret == 0)
			ret = read_answer(fd, id, out_fd, deadline);
	}
	close(fd);
	close(lock_fd);
	return ret;
}
