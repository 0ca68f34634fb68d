/*
 * exec.c - handing our channels to the new image (the old image's side;
 * adopt.c is the new one's): execve/execveat from the dispatcher, and the
 * posix_spawn, system and popen wrappers.
 *
 * exec.  Syscall User Dispatch does not survive execve: the new image
 * catches its calls again from its own constructor (LD_PRELOAD).  Every
 * execve/execveat system call of the process reaches vos_execve() /
 * vos_execveat() (syscall_table.c), whichever glibc function made it
 * (execvp, fexecve, ...).  The channel's descriptors are close-on-exec.
 * Right before the real exec we clear the flag and pass their numbers in
 * the new image's environment (VOS_CHANNEL_FDS=<service>:<sock>,<memfd>,
 * <to_service>,<to_client>;...) together with a virtual cwd (VOS_CWD); the
 * caller's environ is not modified.  The new image adopts the channel,
 * finds its placeholders in /proc/self/fd, and tells the service which fds
 * it still holds (VOS_OP_EXEC), so the close-on-exec ones are closed there
 * too.  This only happens when the new image preloads libvirtuos
 * (LD_PRELOAD names it); otherwise the channel stays close-on-exec and any
 * inherited placeholder fails with EBADF (it is an O_PATH fd).  The new
 * image also tells the shadow its ids (creds.c): they may not be the old
 * ones.  What the kernel is asked to run is planned by execfile.c first
 * (a routed program: a memfd copy, its interpreter or a symlink's target).
 *
 * posix_spawn, system, popen.  glibc starts these children with
 * clone(CLONE_VM|CLONE_VFORK) on a new stack and without CLONE_SETTLS: the
 * child shares our memory (the fd table, the connections, the engine's
 * slots) and this thread's TLS, but has its own kernel fd table, until it
 * execs.  Its system calls must never reach the service as ours, and it
 * must not change our memory, so the wrappers set the thread-local
 * vos_spawning around the real call: the child sees it (shared TLS) and
 * the dispatcher passes every call it makes to the kernel (file actions
 * included: they act on the child's own fd table; a dup2 of a remote fd
 * gives the child the placeholder, which the new image adopts), and its
 * execve is the real one.  The hand-off is done by the parent, around the
 * call (system/popen through a temporary VOS_CHANNEL_FDS in environ, since
 * they take no envp).  The new image finds a channel whose owner is another
 * process (adopt fails with ESRCH) and connects with VOS_HELLO_FORK_LIVE and
 * the channel's token: the service forks our shadow at that moment.
 * Limitations: a remote fd the parent closes or replaces between the spawn
 * and the child's connect is seen in that state by the child.
 *
 * posix_spawn file actions on routed files.  glibc runs the actions in
 * that child, where every call goes to the kernel: an addopen of a routed
 * path would open the local path, an adddup2 of a remote fd would hand
 * the new image a placeholder its shadow does not know.  Opening through
 * our channel from the child would put the file in our shadow at a number
 * we may close before the new image connects, and running the actions in
 * the parent would change the parent's own fds.  So a spawn whose actions
 * name a routed path or a remote fd (addopen, addchdir_np, addfchdir_np,
 * adddup2, addclose, addtcsetpgrp_np) is a fork + exec instead (spawn.c):
 * the fork gives the child its own shadows, it runs the attributes and the
 * actions in glibc's order through the dispatcher like any process, and
 * its exec is an ordinary one (vos_execve, with the hand-off).  Errors are
 * reported as glibc does: the parent waits on a close-on-exec pipe, a
 * failed action or exec sends its errno, the child is reaped and
 * posix_spawn returns it.  The actions are known because spawn.c wraps the
 * posix_spawn_file_actions_* functions and records them (glibc's structure
 * is opaque).  Other spawns take glibc's path below, which is cheaper.
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
#include "dispatch/dispatch.h"

/* ---- exec hand-off -------------------------------------------------------------- */

#define CHAN_VAR VOS_ENV_CHANNEL_FDS
#define CWD_VAR  VOS_ENV_CWD

static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static int handoff_users;
static int handoff_fds[VOS_MAX_SERVICES * 4];
static int handoff_nfds;
static char self_name[64] = "libvirtuos";  /* our file name, see env_preloads_us() */

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

/*
 * execve(2) and execveat(2), from the dispatcher: every exec of the process
 * comes here (glibc's exec family and its PATH search, fexecve, a raw
 * system call), except those of a posix_spawn/system/popen child, which the
 * parent's wrappers below prepared.  What the kernel is asked to run is
 * planned by execfile.c (a routed program becomes a memfd copy, its
 * interpreter or its local symlink target).  The result (only on failure)
 * as -errno.
 */
static long exec_planned(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	struct vos_exec_plan pl;
	struct handoff h;
	char *const *env;
	long r;

	if (vos_exec_plan(dirfd, path, argv, flags, &pl) < 0)
		return -errno;
	env = handoff_prepare(&h, envp);
	if (pl.dirfd == AT_FDCWD && pl.flags == 0) {
		long b[6] = { (long)pl.path, (long)pl.argv, (long)env };

		r = vos_dispatch_raw(SYS_execve, b);
	} else {
		long b[6] = { pl.dirfd, (long)pl.path, (long)pl.argv, (long)env, pl.flags };

		r = vos_dispatch_raw(SYS_execveat, b);
	}
	handoff_finish(&h);
	vos_exec_plan_free(&pl);
	return r;
}

long vos_execve(long a[6])
{
	return exec_planned(AT_FDCWD, (const char *)a[0], (char *const *)a[1], (char *const *)a[2], 0);
}

long vos_execveat(long a[6])
{
	return exec_planned((int)a[0], (const char *)a[1], (char *const *)a[2], (char *const *)a[3],
			    (int)a[4]);
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
	vos_spawning = 1;
	r = real(pid, file, fa, attr, argv, env);
	vos_spawning = 0;
	handoff_finish(&h);
	return r;
}

/* Spawn what plan says (execfile.c) instead of path. */
static int spawn_planned(struct vos_exec_plan *pl, pid_t *pid,
			 const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			 char *const envp[])
{
	int r = spawn(real_posix_spawn, pid, pl->spawn_path, fa, attr, pl->argv, envp);

	vos_exec_plan_free(pl);
	return r;
}

VOS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct vos_exec_plan pl;
	int handled, r;

	vos_init();
	r = vos_spawn_fork(&handled, pid, path, 0, fa, attr, argv, envp);
	if (handled)
		return r;
	if (vos_exec_plan(AT_FDCWD, path, argv, 0, &pl) < 0)
		return errno;
	return spawn_planned(&pl, pid, fa, attr, envp);
}

VOS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct vos_exec_plan pl;
	int handled, r;

	vos_init();
	r = vos_spawn_fork(&handled, pid, file, 1, fa, attr, argv, envp);
	if (handled)
		return r;
	switch (vos_spawnp_plan(file, argv, &pl)) {
	case 1:
		return spawn_planned(&pl, pid, fa, attr, envp);
	case -1:
		return errno;
	default:
		return spawn(real_posix_spawnp, pid, file, fa, attr, argv, envp);
	}
}

/*
 * system() and popen() take the environment from environ, so the hand-off
 * variables are put there while a call is in progress (reference counted:
 * concurrent calls share them).  A setenv() by another thread during that
 * time works as usual; the two variables vanish when the last call ends.
 */

static pthread_mutex_t environ_lock = PTHREAD_MUTEX_INITIALIZER;
static int environ_users;      /* under environ_lock */

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
	vos_spawning = 1;
	r = real_system(cmd);
	vos_spawning = 0;
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
	vos_spawning = 1;
	f = real_popen(cmd, mode);      /* returns once the child has exec'd */
	vos_spawning = 0;
	if (pushed)
		environ_pop();
	return f;
}

/* ---- process life -------------------------------------------------------------- */

/* The new image runs us if its LD_PRELOAD names our file. */
void vos_exec_init(void)
{
	Dl_info info;

	if (dladdr((void *)vos_exec_init, &info) && info.dli_fname) {
		const char *base = strrchr(info.dli_fname, '/');

		snprintf(self_name, sizeof(self_name), "%s", base ? base + 1 : info.dli_fname);
	}
}

void vos_exec_after_fork_child(void)
{
	pthread_mutex_init(&handoff_lock, NULL);
	handoff_users = 0;
	handoff_nfds = 0;
	pthread_mutex_init(&environ_lock, NULL);
	if (environ_users) {
		/* Another thread was in system()/popen(): its hand-off
		 * variables name the parent's channel, not ours. */
		unsetenv(CHAN_VAR);
		unsetenv(CWD_VAR);
		environ_users = 0;
	}
}
