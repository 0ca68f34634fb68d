/*
 * pidmap.c - which client each shadow serves, for F_GETLK.
 *
 * A POSIX record lock taken through the service is held by a shadow, so the
 * kernel reports the shadow's pid as its holder.  The program asked about
 * its own peers: the holder it knows is the client process.  The daemon
 * maps one shared table (MAP_SHARED | MAP_ANONYMOUS) before it forks any
 * shadow, so every shadow, also those forked by shadows, sees the same
 * memory: each one records "shadow pid -> client pid" when it starts to
 * serve, and the daemon clears the entry when it reaps the shadow.  A pid
 * that is not in the table (a process of the service domain that is not a
 * shadow) is reported as it is: in local mode the service shares the
 * client's pid namespace, so that is the real holder; in Xen mode it is a
 * pid of the service domain.
 *
 * Only service code writes the table (shadows run no client code), so it
 * is trusted; entries are single words written with atomics, so a reader
 * racing a writer sees an old or a new value, never a torn one.
 *
 * The same table tells a shadow whose client is gone.  Such a shadow still
 * holds its client's locks until it sees the hang-up and ends, a little
 * after the client died; natively a process's locks are gone before its
 * parent can see it end (exit closes its files first).  A program that
 * restarts a killed peer and takes the peer's lock at once (MariaDB after a
 * crash: aria_log_control, ibdata1) must find it free, so a lock conflict
 * waits, bounded, for such shadows to end (vos_pidmap_wait_orphans).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "serviced.h"

/* One entry per shadow; as many as the daemon's registry holds. */
#define PIDMAP_ENTRIES 4096

struct pidmap_ent {
	_Atomic int32_t shadow;         /* 0: free */
	_Atomic int32_t client;         /* 0: not known yet */
};

static struct pidmap_ent *map;

int vos_pidmap_init(void)
{
	void *p = mmap(NULL, PIDMAP_ENTRIES * sizeof *map, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	map = p;
	return 0;
}

void vos_pidmap_set(pid_t shadow, pid_t client)
{
	if (!map || shadow <= 0 || client <= 0)
		return;
	for (unsigned i = 0; i < PIDMAP_ENTRIES; i++) {
		int32_t want = 0;

		/* An entry of ours left by a pid reused before its reap. */
		if (atomic_load(&map[i].shadow) == shadow ||
		    atomic_compare_exchange_strong(&map[i].shadow, &want, shadow)) {
			atomic_store(&map[i].client, client);
			return;
		}
	}
	/* Full (cannot happen: the registry is no larger): F_GETLK then
	 * reports this shadow's own pid. */
}

void vos_pidmap_clear(pid_t shadow)
{
	if (!map || shadow <= 0)
		return;
	for (unsigned i = 0; i < PIDMAP_ENTRIES; i++)
		if (atomic_load(&map[i].shadow) == shadow) {
			atomic_store(&map[i].client, 0);
			atomic_store(&map[i].shadow, 0);
		}
}

pid_t vos_pidmap_client(pid_t pid)
{
	if (!map || pid <= 0)
		return pid;
	for (unsigned i = 0; i < PIDMAP_ENTRIES; i++)
		if (atomic_load(&map[i].shadow) == pid) {
			int32_t c = atomic_load(&map[i].client);

			return c > 0 ? c : pid;
		}
	return pid;
}

/* Whether process pid has ended: no such process, or a zombie.  A process
 * this shadow may not look at (another user's, /proc hidden) counts as
 * alive, so the answer errs only towards "alive" (no wait). */
static int process_gone(pid_t pid)
{
	char path[32], buf[128];
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold ')' but is at most 16 bytes, so
	 * the state follows the last ')' in these 128 bytes. */
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vos_pidmap_wait_orphans(pid_t only, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	pid_t self = getpid();
	int ended = 0;

	if (!map)
		return 0;
	for (unsigned i = 0; i < PIDMAP_ENTRIES; i++) {
		pid_t shadow = atomic_load(&map[i].shadow);
		pid_t client = atomic_load(&map[i].client);

		if (shadow <= 0 || shadow == self || (only > 0 && shadow != only) ||
		    client <= 0 || !process_gone(client))
			continue;
		int pfd = pidfd_open(shadow, 0);
		if (pfd < 0) {
			/* Ended and reaped meanwhile: its locks are gone. */
			ended += errno == ESRCH;
			continue;
		}
		/* Still that shadow (the daemon clears the entry when it reaps
		 * it, so the pid was not reused): wait until it has ended. */
		int64_t left = deadline - now_ms();
		if (atomic_load(&map[i].shadow) == shadow && left > 0) {
			struct pollfd pf = { .fd = pfd, .events = POLLIN };

			ended += poll(&pf, 1, (int)left) > 0;
		}
		close(pfd);
	}
	return ended;
}
