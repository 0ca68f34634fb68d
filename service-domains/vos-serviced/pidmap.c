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
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

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
