/*
 * process.c - fork, exec, spawn: keeping remote fds with kernel semantics
 * across process boundaries.
 *
 * fork.  The service must snapshot our remote fds exactly as the kernel
 * copies our placeholders, so fd-table-changing wrappers hold a rwlock for
 * reading and fork holds it for writing.  In the pthread_atfork prepare
 * handler (it runs for every fork, also glibc-internal ones like daemon())
 * each live channel gets VOS_OP_FORK, which leaves a pending child shadow
 * and returns its token; the child handler forgets the parent's channels
 * and claims the pending shadows (VOS_HELLO_CLAIM) before fork returns in
 * the child, so the child's first remote call already has its own shadow
 * and no answer meant for the parent reaches it.  Signals are blocked
 * across this so a handler cannot deadlock on the write-held lock.  When
 * fork() itself fails, its wrapper sends VOS_OP_FORK_ABORT.  vfork() is
 * fork(): the simplest correct choice, a vfork child that touched our
 * channel state would corrupt the parent's.
 *
 * exec.  The channel's descriptors are close-on-exec.  Right before the
 * real exec we clear the flag and pass their numbers in the new image's
 * environment (VOS_CHANNEL_FDS=<service>:<sock>,<memfd>,<to_service>,
 * <to_client>;...) together with a virtual cwd (VOS_CWD); the caller's
 * environ is not modified.  The new image adopts the channel, finds its
 * placeholders in /proc/self/fd, and tells the service which fds it still
 * holds (VOS_OP_EXEC), so the close-on-exec ones are closed there too.
 * This only happens when the new image preloads libvirtuos (LD_PRELOAD
 * names it); otherwise the channel stays close-on-exec and any inherited
 * placeholder fails with EBADF (it is an O_PATH fd).  The new image
 * also tells the shadow its ids (creds.c): they may not be the old ones.
 *
 * posix_spawn, system, popen.  glibc starts these children with
 * clone(CLONE_VM|CLONE_VFORK) and execs past our wrappers, so the wrappers
 * do the same hand-off around the real call (system/popen through a
 * temporary VOS_CHANNEL_FDS in environ, since they take no envp).  The
 * child finds a channel whose owner is another process (adopt fails with
 * ESRCH) and connects with VOS_HELLO_FORK_LIVE and the channel's token:
 * the service forks our shadow at that moment.  Limitation: a remote fd
 * the parent closes or replaces between the spawn and the child's connect
 * is seen in that state by the child; posix_spawn file actions on routed
 * paths do not work (glibc runs them with internal calls).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "channel/vos_sys.h"

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
/* Tell TSan a write-locked rwlock we are about to re-initialise is free. */
static void tsan_forget_wrlock(void *lock)
{
	__tsan_mutex_pre_unlock(lock, 0);
	__tsan_mutex_post_unlock(lock, 0);
}
#else
static void tsan_forget_wrlock(void *lock)
{
	(void)lock;
}
#endif

/* ---- the fd lock ------------------------------------------------------------- */

static pthread_rwlock_t fdlock = PTHREAD_RWLOCK_INITIALIZER;

/* A signal handler that forks while we hold this would wait for us, so
 * holding it is a critical region (signals.c). */
void vos_fdlock_rd(void)
{
	vos_crit_enter();
	pthread_rwlock_rdlock(&fdlock);
}

void vos_fdlock_unlock(void)
{
	pthread_rwlock_unlock(&fdlock);
	vos_crit_leave();
}

/* ---- fork -------------------------------------------------------------------- */

struct fork_tokens {
	int have[VOS_MAX_SERVICES];
	uint32_t gen[VOS_MAX_SERVICES];
	uint8_t token[VOS_MAX_SERVICES][VOS_TOKEN_LEN];
};

static struct fork_tokens forking;      /* under the write-held fd lock */
static sigset_t forking_mask;
static VOS_TLS int in_fork_wrapper;
static VOS_TLS struct fork_tokens fork_abort;

static void fork_prepare(void)
{
	sigset_t old;

	vos_init();
	vos_block_signals(&old);
	pthread_rwlock_wrlock(&fdlock);
	forking_mask = old;
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = atomic_load(&vos_services[i].conn);
		struct vos_req r = { .op = VOS_OP_FORK };

		forking.have[i] = 0;
		forking.gen[i] = conn ? conn->gen : 0;
		if (conn && vos_conn_usable(conn) &&
		    vos_rpc(conn->client, &r, NULL, 0, forking.token[i], VOS_TOKEN_LEN, 1) == 0)
			forking.have[i] = 1;
	}
}

static void fork_parent(void)
{
	sigset_t old = forking_mask;

	if (in_fork_wrapper)
		fork_abort = forking;
	pthread_rwlock_unlock(&fdlock);
	vos_restore_signals(&old);
}

static void handoff_after_fork_child(void);
static pthread_mutex_t environ_lock = PTHREAD_MUTEX_INITIALIZER;
static int environ_users;      /* under environ_lock, see environ_push() */

static void fork_child(void)
{
	sigset_t old = forking_mask;

	/* Locks another thread of the parent may have held are free here.
	 * The fd lock, write-locked by this thread in fork_prepare, cannot be
	 * unlocked: glibc checks the owner's thread id, which changed. */
	tsan_forget_wrlock(&fdlock);
	pthread_rwlock_init(&fdlock, NULL);
	pthread_mutex_init(&environ_lock, NULL);
	if (environ_users) {
		/* Another thread was in system()/popen(): its hand-off
		 * variables name the parent's channel, not ours. */
		unsetenv("VOS_CHANNEL_FDS");
		unsetenv("VOS_CWD");
		environ_users = 0;
	}
	vos_route_after_fork_child();
	vos_std_after_fork_child();
	vos_signals_after_fork_child();
	handoff_after_fork_child();
	vos_service_abandon_all();
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_client_config cfg = vos_cfg;
		struct vos_client *c;
		struct vos_conn *conn;

		if (!forking.have[i])
			continue;       /* its remote fds fail with EIO */
		cfg.service = vos_services[i].name;
		cfg.kind = vos_services[i].kind;
		cfg.umask = vos_process_umask();
		c = vos_client_connect(&cfg, VOS_HELLO_CLAIM, forking.token[i]);
		if (!c)
			continue;
		c = vos_client_relocate(&cfg, c);
		conn = vos_conn_new(c, forking.gen[i]);
		if (conn)
			vos_service_install(i, conn);
		else
			vos_client_close(c);
	}
	vos_restore_signals(&old);
}

static void fork_failed(void)
{
	int e = errno;

	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);
		struct vos_req r = { .op = VOS_OP_FORK_ABORT };
		struct vos_in in = { 0, fork_abort.token[i], VOS_TOKEN_LEN };

		if (fork_abort.have[i] && conn)
			vos_rpc(conn->client, &r, &in, 1, NULL, 0, 0);
	}
	errno = e;
}

VOS_EXPORT pid_t fork(void)
{
	pid_t pid;

	vos_init();
	memset(&fork_abort, 0, sizeof(fork_abort));
	in_fork_wrapper = 1;
	pid = real_fork();      /* runs our atfork handlers */
	in_fork_wrapper = 0;
	if (pid < 0)
		fork_failed();
	return pid;
}

/* _Fork runs no atfork handlers; ours are still needed. */
VOS_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	vos_init();
	if (!real__Fork) {
		errno = ENOSYS;
		return -1;
	}
	memset(&fork_abort, 0, sizeof(fork_abort));
	in_fork_wrapper = 1;
	fork_prepare();
	pid = real__Fork();
	if (pid == 0) {
		in_fork_wrapper = 0;
		fork_child();
		return 0;
	}
	fork_parent();
	in_fork_wrapper = 0;
	if (pid < 0)
		fork_failed();
	return pid;
}

VOS_EXPORT pid_t vfork(void)
{
	return fork();
}

/* ---- exec hand-off -------------------------------------------------------------- */

#define CHAN_VAR "VOS_CHANNEL_FDS"
#define CWD_VAR  "VOS_CWD"

static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static int handoff_users;
static int handoff_fds[VOS_MAX_SERVICES * 4];
static int handoff_nfds;
static char self_name[64] = "libvirtuos";

static void handoff_after_fork_child(void)
{
	pthread_mutex_init(&handoff_lock, NULL);
	handoff_users = 0;
	handoff_nfds = 0;
}

/*
 * Describe the live channels in env ("VOS_CHANNEL_FDS=...") and let their
 * descriptors survive exec.  Returns 1 if there is a channel.  Always pair
 * with handoff_end(): the flag comes back when the last user is done.
 */
static int handoff_begin(char *env, size_t size)
{
	size_t len = (size_t)snprintf(env, size, CHAN_VAR "=");
	sigset_t old;
	int any = 0;

	vos_block_signals(&old);
	pthread_mutex_lock(&handoff_lock);
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);
		int n;

		if (!conn)
			continue;
		n = snprintf(env + len, size - len, "%s%s:%d,%d,%d,%d", any ? ";" : "",
			     vos_services[i].name, conn->fds[0], conn->fds[1], conn->fds[2],
			     conn->fds[3]);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
		any = 1;
		if (handoff_users == 0)
			for (int k = 0; k < 4; k++)
				if (conn->fds[k] >= 0 && real_fcntl(conn->fds[k], F_SETFD, 0) == 0)
					handoff_fds[handoff_nfds++] = conn->fds[k];
	}
	handoff_users++;
	pthread_mutex_unlock(&handoff_lock);
	vos_restore_signals(&old);
	return any;
}

static void handoff_end(void)
{
	sigset_t old;

	vos_block_signals(&old);
	pthread_mutex_lock(&handoff_lock);
	if (--handoff_users == 0) {
		for (int i = 0; i < handoff_nfds; i++)
			real_fcntl(handoff_fds[i], F_SETFD, FD_CLOEXEC);
		handoff_nfds = 0;
	}
	pthread_mutex_unlock(&handoff_lock);
	vos_restore_signals(&old);
}

/* Does this environment preload us into the new image? */
static int env_preloads_us(char *const envp[])
{
	if (!envp)
		return 0;
	for (; *envp; envp++)
		if (strncmp(*envp, "LD_PRELOAD=", 11) == 0)
			return strstr(*envp + 11, self_name) != NULL;
	return 0;
}

static int is_our_var(const char *s)
{
	return strncmp(s, CHAN_VAR "=", sizeof(CHAN_VAR)) == 0 ||
	       strncmp(s, CWD_VAR "=", sizeof(CWD_VAR)) == 0;
}

struct handoff {
	int active;                     /* handoff_begin() was called */
	char **env;                     /* our copy of envp, or NULL */
	char chan[512];
	char cwd[PATH_MAX + 16];
};

/* The environment to exec with: envp plus our variables (a copy). */
static char *const *handoff_prepare(struct handoff *h, char *const envp[])
{
	char *add[2], v[PATH_MAX];
	size_t n = 0, k = 0;
	int nadd = 0;

	h->active = 0;
	h->env = NULL;
	if (!env_preloads_us(envp))
		return envp;
	h->active = 1;
	if (handoff_begin(h->chan, sizeof(h->chan)))
		add[nadd++] = h->chan;
	if (vos_cwd_virtual(v, sizeof(v)) == 1 &&
	    snprintf(h->cwd, sizeof(h->cwd), CWD_VAR "=%s", v) < (int)sizeof(h->cwd))
		add[nadd++] = h->cwd;
	if (nadd == 0)
		return envp;
	while (envp[n])
		n++;
	h->env = malloc((n + (size_t)nadd + 1) * sizeof(char *));
	if (!h->env)
		return envp;    /* no hand-off: remote fds fail safely in the child */
	for (size_t i = 0; i < n; i++)
		if (!is_our_var(envp[i]))
			h->env[k++] = envp[i];
	for (int i = 0; i < nadd; i++)
		h->env[k++] = add[i];
	h->env[k] = NULL;
	return h->env;
}

static void handoff_finish(struct handoff *h)
{
	int e = errno;

	free(h->env);
	if (h->active)
		handoff_end();
	errno = e;
}

/* A path to exec: a routed file cannot be run by this kernel (ENOEXEC). */
static const char *exec_path(const char *path, struct vos_path *p)
{
	int r = vos_path_resolve(AT_FDCWD, path, 0, p);

	if (r < 0)
		return NULL;
	if (r == 1) {
		errno = ENOEXEC;
		return NULL;
	}
	return p->path;
}

VOS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	struct handoff *h;
	struct vos_path *p;
	char *const *env;
	const char *file;
	int r;

	vos_init();
	h = malloc(sizeof(*h) + sizeof(*p));
	if (!h)
		return real_execve(path, argv, envp);
	p = (struct vos_path *)(h + 1);
	file = exec_path(path, p);
	if (!file) {
		free(h);
		return -1;
	}
	env = handoff_prepare(h, envp);
	r = real_execve(file, argv, env);
	handoff_finish(h);
	free(h);
	return r;
}

VOS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct handoff *h;
	struct vos_path *p;
	char *const *env;
	int r;

	vos_init();
	h = malloc(sizeof(*h) + sizeof(*p));
	if (!h)
		return real_execvpe(file, argv, envp);
	p = (struct vos_path *)(h + 1);
	if (strchr(file, '/'))
		file = exec_path(file, p);
	if (!file) {
		free(h);
		return -1;
	}
	env = handoff_prepare(h, envp);
	r = real_execvpe(file, argv, env);
	handoff_finish(h);
	free(h);
	return r;
}

VOS_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

VOS_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* Collect execl-style arguments into a NULL-terminated vector. */
#define COLLECT_ARGS(argv, arg0, ap, after) \
	size_t n_ = 1; \
	va_start(ap, arg0); \
	while (va_arg(ap, char *)) \
		n_++; \
	va_end(ap); \
	char *argv[n_ + 1]; \
	argv[0] = (char *)arg0; \
	va_start(ap, arg0); \
	for (size_t i_ = 1; i_ <= n_; i_++) \
		argv[i_] = va_arg(ap, char *); \
	after; \
	va_end(ap)

VOS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	COLLECT_ARGS(argv, arg, ap, (void)0);
	return execve(path, argv, environ);
}

VOS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	COLLECT_ARGS(argv, arg, ap, (void)0);
	return execvpe(file, argv, environ);
}

VOS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;

	COLLECT_ARGS(argv, arg, ap, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}

VOS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct handoff h;
	char *const *env;
	int r;

	vos_init();
	if (VOS_FDE_KIND(vos_fd_entry(fd)) == VOS_FDK_REMOTE) {
		errno = ENOEXEC;
		return -1;
	}
	env = handoff_prepare(&h, envp);
	r = real_fexecve(fd, argv, env);
	handoff_finish(&h);
	return r;
}

VOS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			int flags)
{
	struct handoff h;
	struct vos_path p;
	char *const *env;
	int r;

	vos_init();
	if (!real_execveat) {
		errno = ENOSYS;
		return -1;
	}
	r = vos_path_resolve(dirfd, path, flags & AT_EMPTY_PATH, &p);
	if (r != 0) {
		if (r == 1)
			errno = ENOEXEC;
		return -1;
	}
	env = handoff_prepare(&h, envp);
	r = real_execveat(p.dirfd, p.path, argv, env, flags);
	handoff_finish(&h);
	return r;
}

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const *, char *const *);

/* The caller has called vos_init() (real is one of the real_* pointers). */
static int spawn(spawn_fn *real, pid_t *pid, const char *file,
		 const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		 char *const argv[], char *const envp[])
{
	struct handoff h;
	char *const *env;
	int r;

	env = handoff_prepare(&h, envp);
	r = real(pid, file, fa, attr, argv, env);
	handoff_finish(&h);
	return r;
}

VOS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	vos_init();
	return spawn(real_posix_spawn, pid, path, fa, attr, argv, envp);
}

VOS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	vos_init();
	return spawn(real_posix_spawnp, pid, file, fa, attr, argv, envp);
}

/*
 * system() and popen() take the environment from environ, so the hand-off
 * variables are put there while a call is in progress (reference counted:
 * concurrent calls share them).  A setenv() by another thread during that
 * time works as usual; the two variables vanish when the last call ends.
 */

static int environ_push(void)
{
	char chan[512], v[PATH_MAX];
	sigset_t old;
	int any;

	if (!env_preloads_us(environ))
		return 0;
	any = handoff_begin(chan, sizeof(chan));
	vos_block_signals(&old);
	pthread_mutex_lock(&environ_lock);
	if (environ_users++ == 0) {
		if (any)
			setenv(CHAN_VAR, chan + sizeof(CHAN_VAR), 1);
		if (vos_cwd_virtual(v, sizeof(v)) == 1)
			setenv(CWD_VAR, v, 1);
	}
	pthread_mutex_unlock(&environ_lock);
	vos_restore_signals(&old);
	return 1;
}

static void environ_pop(void)
{
	int e = errno;
	sigset_t old;

	vos_block_signals(&old);
	pthread_mutex_lock(&environ_lock);
	if (--environ_users == 0) {
		unsetenv(CHAN_VAR);
		unsetenv(CWD_VAR);
	}
	pthread_mutex_unlock(&environ_lock);
	vos_restore_signals(&old);
	handoff_end();
	errno = e;
}

VOS_EXPORT int system(const char *cmd)
{
	int pushed, r;

	vos_init();
	if (!cmd)
		return real_system(cmd);
	pushed = environ_push();
	r = real_system(cmd);
	if (pushed)
		environ_pop();
	return r;
}

VOS_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	int pushed;
	FILE *f;

	vos_init();
	pushed = environ_push();
	f = real_popen(cmd, mode);      /* returns once the child has exec'd */
	if (pushed)
		environ_pop();
	return f;
}

/* The process umask as this wrapper last set it; -1 until it ran (or the
 * first channel read it from /proc). */
static _Atomic int known_umask = -1;

/* Read the umask without changing it, for the first channel of a process
 * that never called umask().  /proc/self/status has it; only where that
 * cannot be read (no /proc, no descriptor left) fall back to setting it
 * twice, with the real function, so no service sees a VOS_OP_UMASK. */
static int read_umask(void)
{
	char buf[2048];
	long fd, n;
	mode_t m;

	fd = vos_sys_openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		n = vos_sys_read((int)fd, buf, sizeof(buf) - 1);
		vos_sys_close((int)fd);
		if (n > 0) {
			buf[n] = '\0';
			char *p = strstr(buf, "\nUmask:");

			if (p) {
				char *end;
				unsigned long v = strtoul(p + 7, &end, 8);

				if (end != p + 7)
					return (int)(v & 0777);
			}
		}
	}
	m = real_umask(022);
	real_umask(m);
	return (int)(m & 0777);
}

mode_t vos_process_umask(void)
{
	int m = atomic_load(&known_umask);

	if (m < 0) {
		int expect = -1, now = read_umask();

		/* A umask() call that raced with us wins. */
		if (!atomic_compare_exchange_strong(&known_umask, &expect, now))
			now = expect;
		m = now;
	}
	return (mode_t)m;
}

/* The shadow creates files with its own umask: keep it equal to ours. */
VOS_EXPORT mode_t umask(mode_t mask)
{
	mode_t old;

	vos_init();
	old = real_umask(mask);
	atomic_store(&known_umask, (int)(mask & 0777));
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);

		if (conn)
			vos_rpc0(conn->client, VOS_OP_UMASK, mask & 0777, 0, 0, 0, 0);
	}
	return old;
}

/* ---- the new image's side ----------------------------------------------------------- */

static void close_fds(const int fds[4])
{
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			real_close(fds[i]);
}

/* Take over one channel named in VOS_CHANNEL_FDS ("name:a,b,c,d"). */
static void adopt_one(char *item)
{
	struct vos_client_config cfg = vos_cfg;
	struct vos_client *c = NULL;
	struct vos_conn *conn;
	uint8_t token[VOS_TOKEN_LEN];
	char *colon = strchr(item, ':'), extra;
	int fds[4], svc, adopted = 0;

	if (!colon)
		return;
	*colon = '\0';
	if (sscanf(colon + 1, "%d,%d,%d,%d%c", &fds[0], &fds[1], &fds[2], &fds[3], &extra) != 4)
		return;
	for (int i = 0; i < 4; i++)
		if (fds[i] < -1 || fds[i] >= VOS_FD_LIMIT)
			return;
	svc = vos_service_find(item);
	if (svc < 0 || atomic_load(&vos_services[svc].conn)) {
		close_fds(fds);         /* a channel this image does not route to */
		return;
	}
	cfg.service = vos_services[svc].name;
	cfg.kind = vos_services[svc].kind;
	c = vos_client_adopt(&cfg, fds);
	if (c) {
		adopted = 1;
	} else if (errno == ESRCH && vos_client_peek_token(fds, token) == 0) {
		/* Our parent's channel (posix_spawn/system/popen child). */
		cfg.umask = vos_process_umask();
		c = vos_client_connect(&cfg, VOS_HELLO_FORK_LIVE, token);
	}
	if (adopted) {
		for (int i = 0; i < 4; i++)
			if (fds[i] >= 0)
				real_fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	} else {
		close_fds(fds);
	}
	if (!c)
		return;
	c = vos_client_relocate(&cfg, c);
	conn = vos_conn_new(c, vos_service_next_gen(svc));
	if (conn)
		vos_service_install(svc, conn);
	else
		vos_client_close(c);
}

static int placeholder_of(const char *target)
{
	char buf[PATH_MAX];
	size_t n = strlen(target);
	static const char deleted[] = " (deleted)";

	snprintf(buf, sizeof(buf), "%s", target);
	if (n >= sizeof(deleted) - 1 && strcmp(buf + n - (sizeof(deleted) - 1), deleted) == 0)
		buf[n - (sizeof(deleted) - 1)] = '\0';
	for (int i = 0; i < vos_nservices; i++) {
		const struct vos_service *s = &vos_services[i];

		if (strcmp(buf, s->placeholder) == 0 ||
		    (s->placeholder_real[0] && strcmp(buf, s->placeholder_real) == 0))
			return i;
	}
	return -1;
}

struct fdlist {
	int32_t *fds;
	uint32_t n, cap;
};

static void fdlist_add(struct fdlist *l, int fd)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? 2 * l->cap : 64;
		int32_t *p = realloc(l->fds, cap * sizeof(*p));

		if (!p)
			return;
		l->fds = p;
		l->cap = cap;
	}
	l->fds[l->n++] = fd;
}

/* Find our placeholders among the inherited fds; tell each service which
 * of its fds this image still holds. */
static void rebuild_fd_table(void)
{
	struct fdlist lists[VOS_MAX_SERVICES] = { { 0 } };
	char dbuf[4096], link[PATH_MAX], proc[64];
	int dfd = real_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf))) > 0) {
		for (long off = 0; off < n;) {
			unsigned short reclen;
			const char *name = dbuf + off + 19;     /* d_name in linux_dirent64 */
			char *end;
			long fd;
			ssize_t k;
			int svc;

			memcpy(&reclen, dbuf + off + 16, sizeof(reclen));
			off += reclen;
			fd = strtol(name, &end, 10);
			if (*end || end == name || fd == dfd || fd < 0 || fd >= VOS_FD_LIMIT ||
			    VOS_FDE_KIND(vos_fd_entry((int)fd)) == VOS_FDK_INTERNAL)
				continue;
			snprintf(proc, sizeof(proc), "/proc/self/fd/%ld", fd);
			k = real_readlink(proc, link, sizeof(link) - 1);
			if (k <= 0)
				continue;
			link[k] = '\0';
			svc = placeholder_of(link);
			if (svc >= 0)
				fdlist_add(&lists[svc], (int)fd);
		}
	}
	real_close(dfd);

	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);
		uint32_t keep = conn ? lists[i].n : 0;

		if (conn) {
			struct vos_req r = { .op = VOS_OP_EXEC };
			struct vos_in in = { 1, lists[i].fds, 0 };
			uint32_t max = (uint32_t)(vos_client_slot_size(conn->client) / sizeof(int32_t));

			/* Fds beyond one slot's list are left dead (EIO). */
			if (keep > max)
				keep = max;
			r.arg[0] = keep;
			in.len = keep * sizeof(int32_t);
			if (vos_rpc(conn->client, &r, &in, keep ? 1 : 0, NULL, 0, 0) < 0)
				keep = 0;
		}
		for (uint32_t j = 0; j < lists[i].n; j++)
			vos_fd_set(lists[i].fds[j], VOS_FDE_REMOTE(i, j < keep ? conn->gen : 0));
		free(lists[i].fds);
	}
}


void vos_exec_adopt(void)
{
	char *v = getenv(CHAN_VAR), *copy, *save = NULL;
	Dl_info info;

	if (dladdr((void *)vos_exec_adopt, &info) && info.dli_fname) {
		const char *base = strrchr(info.dli_fname, '/');

		snprintf(self_name, sizeof(self_name), "%s", base ? base + 1 : info.dli_fname);
	}
	if (v) {
		copy = strdup(v);
		unsetenv(CHAN_VAR);
		if (copy)
			for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
				adopt_one(t);
		free(copy);
	}
	rebuild_fd_table();
	/* The shadows still have the ids of the image (or parent) they
	 * served; this one may run with others (a set-user-ID binary, ids
	 * changed between fork and exec).  Told after EXEC, which waits for
	 * requests of the old image still running. */
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);

		if (conn)
			vos_creds_send(conn, "exec");
	}
	/* The parent's virtual cwd (an absolute path; anything else is ignored). */
	v = getenv(CWD_VAR);
	if (v) {
		copy = strdup(v);
		unsetenv(CWD_VAR);
		if (copy && copy[0] == '/' && strlen(copy) < PATH_MAX)
			vos_cwd_set_virtual(copy);
		free(copy);
	}
}

void vos_process_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
