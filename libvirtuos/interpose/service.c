/*
 * service.c - the services named in the routing table and their channels.
 *
 * A process has at most one channel per service, connected on the first
 * routed call (VOS_HELLO_NEW).  Every new channel gets a new generation;
 * remote fds record the generation they were opened under, so once a
 * channel dies, its fds fail with EIO forever, even after a later call has
 * connected a fresh channel to a restarted service.
 *
 * A dead connection is not freed: another thread may still be inside a call
 * on it (the call fails with EIO, but it reads the client struct).  Keeping
 * it costs one mapping and four descriptors per service restart, until the
 * process exits or forks (a forked child, single-threaded, frees them all).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "channel/vos_sys.h"
#include "dispatch/dispatch.h"
#include <sys/resource.h>
#include "interpose_internal.h"

struct vos_service vos_services[VOS_MAX_SERVICES];
int vos_nservices;
struct vos_client_config vos_cfg;

static _Atomic(struct vos_conn *) all_conns;

int vos_service_find(const char *name)
{
	for (int i = 0; i < vos_nservices; i++)
		if (strcmp(vos_services[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Channel descriptors are created at the lowest free numbers, which
 * programs treat as theirs: shells `exec 3<file`, i.e. dup2 onto 3.  Move
 * them up, just below the descriptor limit (at most ~1000, so no process
 * grows a huge kernel fd table because of us): duplicate them there and
 * re-adopt the channel from the duplicates.  The low copies are closed;
 * the service sees nothing (the socket stays open through the copy).
 * On any failure the channel stays where it is.
 */
#define HIGH_FD_MAX 960

struct vos_client *vos_client_relocate(const struct vos_client_config *cfg, struct vos_client *c)
{
	struct rlimit rl;
	int fds[4], high[4], base = HIGH_FD_MAX, low = 0;
	struct vos_client *nc;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)HIGH_FD_MAX + 64)
		base = rl.rlim_cur > 128 ? (int)rl.rlim_cur - 64 : 64;
	vos_client_fds(c, fds);
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0 && fds[i] < base)
			low = 1;
	if (!low)
		return c;
	for (int i = 0; i < 4; i++) {
		high[i] = fds[i] < 0 ? -1 : real_fcntl(fds[i], F_DUPFD_CLOEXEC, base);
		if (fds[i] >= 0 && high[i] < 0) {
			while (i-- > 0)
				if (high[i] >= 0)
					real_close(high[i]);
			return c;
		}
	}
	nc = vos_client_adopt(cfg, high);
	if (!nc) {
		for (int i = 0; i < 4; i++)
			if (high[i] >= 0)
				real_close(high[i]);
		return c;
	}
	vos_client_abandon(c);
	return nc;
}

struct vos_conn *vos_conn_new(struct vos_client *c, uint32_t gen)
{
	struct vos_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->client = c;
	conn->gen = gen & VOS_GEN_MASK;
	vos_client_fds(c, conn->fds);
	return conn;
}

uint32_t vos_service_next_gen(int svc)
{
	struct vos_service *s = &vos_services[svc];

	s->next_gen = (s->next_gen + 1) & VOS_GEN_MASK;
	if (s->next_gen == 0)          /* 0 means "never had a channel" */
		s->next_gen = 1;
	return s->next_gen;
}

void vos_service_install(int svc, struct vos_conn *conn)
{
	struct vos_conn *head;

	for (int i = 0; i < 4; i++)
		if (conn->fds[i] >= 0)
			vos_fd_set(conn->fds[i], VOS_FDK_INTERNAL);
	head = atomic_load_explicit(&all_conns, memory_order_relaxed);
	do
		conn->next_all = head;
	while (!atomic_compare_exchange_weak_explicit(&all_conns, &head, conn,
						      memory_order_release, memory_order_relaxed));
	atomic_store_explicit(&vos_services[svc].conn, conn, memory_order_release);
}

struct vos_conn *vos_service_live(int svc)
{
	struct vos_conn *conn = atomic_load_explicit(&vos_services[svc].conn, memory_order_acquire);

	return conn && vos_conn_usable(conn) ? conn : NULL;
}

/* Set once the process is exiting: no new channels after the goodbyes. */
static _Atomic int exiting;

void vos_service_cfg(int svc, struct vos_client_config *cfg)
{
	uint32_t size = cfg->slot_size ? cfg->slot_size : VOS_DEFAULT_SLOT_SIZE;

	cfg->service = vos_services[svc].name;
	cfg->kind = vos_services[svc].kind;
	if (cfg->kind == VOS_SVC_NETWORK && size < VOS_NET_SLOT_SIZE)
		cfg->slot_size = VOS_NET_SLOT_SIZE;
}

struct vos_conn *vos_service_connect(int svc)
{
	struct vos_service *s = &vos_services[svc];
	struct vos_client_config cfg = vos_cfg;
	struct vos_conn *conn;
	struct vos_client *c = NULL;
	sigset_t old;

	conn = vos_service_live(svc);
	if (conn)
		return conn;
	if (atomic_load(&exiting)) {
		errno = EIO;
		return NULL;
	}
	/* Signals stay blocked while we hold the lock: a handler that makes a
	 * routed call on this thread would otherwise wait for itself. */
	vos_block_signals(&old);
	pthread_mutex_lock(&s->lock);
	conn = vos_service_live(svc);
	if (!conn) {
		vos_service_cfg(svc, &cfg);
		cfg.umask = vos_umask_current();
		c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
		if (c)
			c = vos_client_relocate(&cfg, c);
		if (c) {
			conn = vos_conn_new(c, vos_service_next_gen(svc));
			if (conn)
				vos_service_install(svc, conn);
			else
				vos_client_close(c);
		}
	}
	pthread_mutex_unlock(&s->lock);
	vos_restore_signals(&old);
	if (!conn)
		errno = EIO;
	else if (c)
		vos_rlimit_send(c);     /* a new channel: our RLIMIT_FSIZE (rlimit.c) */
	return conn;
}

int vos_internal_fds(int *out, int max)
{
	int n = 0;

	for (struct vos_conn *c = atomic_load(&all_conns); c; c = c->next_all)
		for (int i = 0; i < 4; i++)
			if (c->fds[i] >= 0 && n < max)
				out[n++] = c->fds[i];
	return n;
}

/*
 * At exit, after the remote stdio streams are flushed and the counters
 * printed (destructors of default priority run before this one), say
 * goodbye on every channel of this process, so that each service lets go of
 * the shared memory before the kernel frees it (transport.h, goodbye).
 * _exit() and death by a signal skip this; the channel then ends as it did
 * before (the service sees the client gone).  The remote fds are released
 * first (vos_service_release_all, also run at exit_group for _exit()).
 */
#define GOODBYE_TIMEOUT_MS 1000

/*
 * The process is ending (exit_group, exit() or its last thread's exit):
 * have each service it holds remote fds on close them now, and wait for
 * that, so that they are gone before the process is, as natively (the
 * kernel closes a process's fds before its parent can reap it): a prefork
 * server's parent that waited for its children finds their listening
 * socket closed.  Without this the shadow closes them only once it has
 * seen the channel's hang-up, a moment after the process is gone.
 *
 * One VOS_OP_EXEC with an empty list per such channel: the shadow closes
 * every fd of the client and only then answers.  No round trip for a
 * process without remote fds.  Bounded (RELEASE_TIMEOUT_MS per channel): a
 * dead or hung service, or a call of another thread that holds up the
 * shadow's EXEC barrier (a blocking accept), never keeps the process;
 * the fds then close as before, at the hang-up.  Called from the
 * dispatcher at exit_group, so it takes no lock and allocates nothing; at
 * most once per process.  Death by a signal runs no code: that case stays
 * asynchronous.
 */
#define RELEASE_TIMEOUT_MS 1000

static _Atomic int released;

void vos_service_release_all(void)
{
	uint64_t used = 0;
	int limit;

	if (atomic_exchange(&released, 1))
		return;
	limit = vos_fd_scan_limit();
	for (int fd = 0; fd < limit; fd++) {
		uint32_t e = vos_fd_entry(fd);
		int svc = (int)VOS_FDE_SVC(e);
		struct vos_conn *conn;

		if (VOS_FDE_KIND(e) != VOS_FDK_REMOTE || svc >= vos_nservices || svc >= 64)
			continue;
		conn = vos_service_live(svc);
		if (conn && vos_fde_current(e, conn->gen))
			used |= 1ull << svc;
	}
	for (int i = 0; i < vos_nservices && i < 64; i++) {
		struct vos_conn *conn = vos_service_live(i);

		if ((used & (1ull << i)) && conn)
			(void)vos_client_call_at_exit(conn->client, VOS_OP_EXEC, 0, RELEASE_TIMEOUT_MS);
	}
}

/*
 * Is the calling thread the process's last one?  From /proc/self/stat:
 * num_threads, less one if the leader (whose state the file shows) is a
 * zombie that already exited (it is counted until the group ends).  Only
 * for a raw SYS_exit: glibc's last thread calls exit() itself.  0 when it
 * cannot tell (then the fds close at the hang-up, as before).
 */
static int last_thread(void)
{
	char buf[512], *p;
	long fd = vos_sys_openat(AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC, 0), n;
	int field = 2;
	char state = 0;
	long threads = -1;

	if (fd < 0)
		return 0;
	n = vos_sys_read((int)fd, buf, sizeof(buf) - 1);
	vos_sys_close((int)fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');          /* the name may hold spaces and ')' */
	if (!p)
		return 0;
	for (p++; *p && field < 20; p++) {
		if (*p != ' ')
			continue;
		field++;
		if (field == 3)
			state = p[1];
		else if (field == 20)
			threads = strtol(p + 1, NULL, 10);
	}
	return threads == 1 || (threads == 2 && state == 'Z' && gettid() != getpid());
}

long vos_exit_call(long nr, long a[6])
{
	if (nr == SYS_exit_group || (vos_fd_scan_limit() > 0 && last_thread()))
		vos_service_release_all();
	return vos_dispatch_raw(nr, a);
}

__attribute__((destructor(101))) static void goodbye_all(void)
{
	vos_service_release_all();
	atomic_store(&exiting, 1);
	for (struct vos_conn *c = atomic_load(&all_conns); c; c = c->next_all)
		vos_client_goodbye(c->client, GOODBYE_TIMEOUT_MS);
}

void vos_service_abandon_all(void)
{
	struct vos_conn *conn = atomic_exchange(&all_conns, NULL), *next;

	for (int i = 0; i < vos_nservices; i++) {
		atomic_store(&vos_services[i].conn, NULL);
		pthread_mutex_init(&vos_services[i].lock, NULL);
	}
	for (; conn; conn = next) {
		next = conn->next_all;
		for (int i = 0; i < 4; i++)
			if (conn->fds[i] >= 0)
				vos_fd_set(conn->fds[i], 0);
		vos_client_abandon(conn->client);
		free(conn);
	}
}

/* ---- which connection a remote fd uses -------------------------------- */

int vos_fd_remote(int fd, struct vos_client **c, int *svc)
{
	uint32_t e;
	struct vos_conn *conn;
	int s;

	vos_init();
	e = vos_fd_entry(fd);
	if (VOS_FDE_KIND(e) != VOS_FDK_REMOTE)
		return 0;
	s = (int)VOS_FDE_SVC(e);
	if (s >= vos_nservices)
		goto dead;
	conn = atomic_load_explicit(&vos_services[s].conn, memory_order_acquire);
	/* A newer connection means the one this fd lived on is gone. */
	if (!conn || !vos_fde_current(e, conn->gen) || !vos_conn_usable(conn))
		goto dead;
	*c = conn->client;
	if (svc)
		*svc = s;
	return 1;
dead:
	errno = EIO;
	return -1;
}
