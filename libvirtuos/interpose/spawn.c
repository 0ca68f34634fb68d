/*
 * spawn.c - posix_spawn file actions that name routed paths or remote fds:
 * recorded as the program adds them, then run by a forked child of ours.
 *
 * glibc's posix_spawn child (clone(CLONE_VM|CLONE_VFORK)) shares our
 * memory and TLS, so exec.c lets every call it makes go to the kernel: an
 * addopen of a routed path would then act on the local path.  The child
 * cannot make remote calls as itself either (it has no shadow: it is not
 * a fork), and opening through the parent's channel into the parent's
 * shadow would leave the file at a number the parent may close or reuse
 * before the new image connects.
 *
 * So when a spawn's file actions name a routed path or a remote fd, the
 * spawn becomes fork + exec (vos_spawn_fork): fork() gives the child its
 * own shadows (fork.c), the child runs the attributes and the file actions
 * in glibc's order with every call routed as in any process, then execs
 * (exec.c hands its channels to the new image).  posix_spawn's reporting
 * is kept: the parent waits for the exec on a close-on-exec pipe; an
 * action or the exec that fails sends its errno there, the child exits, is
 * reaped, and posix_spawn returns that errno (ENOENT from an addopen or
 * from the exec, as glibc's child does).  Every other spawn takes glibc's
 * path (exec.c), which is faster.
 *
 * The actions: glibc's posix_spawn_file_actions_t is opaque, so the add*
 * functions are wrapped and each successful action is recorded too, keyed
 * by the structure's address, in order; destroy and init forget it.  The
 * record is used only when it has exactly as many actions as glibc's
 * structure (its public __used count): a structure copied elsewhere, or
 * filled before our wrappers saw it, takes glibc's path as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "interpose_internal.h"

enum act_kind { ACT_OPEN, ACT_CLOSE, ACT_DUP2, ACT_CHDIR, ACT_FCHDIR, ACT_CLOSEFROM,
		ACT_TCSETPGRP };

struct act {
	enum act_kind kind;
	int fd;                 /* open/close/dup2 (source)/fchdir/closefrom/tcsetpgrp */
	int newfd;              /* dup2 */
	int oflag;              /* open */
	mode_t mode;            /* open */
	char *path;             /* open, chdir (our copy) */
};

struct rec {
	const posix_spawn_file_actions_t *fa;
	int n, cap;             /* n = -1: a record failed, never use it */
	struct act *a;
	struct rec *next;
};

static pthread_mutex_t recs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *recs;        /* under recs_lock */

static void acts_free(struct act *a, int n)
{
	for (int i = 0; i < n; i++)
		free(a[i].path);
	free(a);
}

/* Unlink fa's record (under recs_lock). */
static struct rec *rec_take(const posix_spawn_file_actions_t *fa)
{
	for (struct rec **pp = &recs; *pp; pp = &(*pp)->next)
		if ((*pp)->fa == fa) {
			struct rec *r = *pp;

			*pp = r->next;
			return r;
		}
	return NULL;
}

static void rec_forget(const posix_spawn_file_actions_t *fa)
{
	struct rec *r;

	pthread_mutex_lock(&recs_lock);
	r = rec_take(fa);
	pthread_mutex_unlock(&recs_lock);
	if (r) {
		if (r->n > 0)
			acts_free(r->a, r->n);
		free(r);
	}
}

/* Append one action glibc accepted (x.path is copied). */
static void rec_add(const posix_spawn_file_actions_t *fa, struct act x)
{
	struct rec *r;

	if (x.path && !(x.path = strdup(x.path)))
		goto broken;
	pthread_mutex_lock(&recs_lock);
	for (r = recs; r && r->fa != fa; r = r->next)
		;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&recs_lock);
			free(x.path);
			return;         /* no record: glibc's path */
		}
		r->fa = fa;
		r->next = recs;
		recs = r;
	}
	if (r->n >= 0 && r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 8;
		struct act *a = realloc(r->a, (size_t)cap * sizeof(*a));

		if (!a) {
			acts_free(r->a, r->n);
			r->a = NULL;
			r->n = -1;
		} else {
			r->a = a;
			r->cap = cap;
		}
	}
	if (r->n >= 0) {
		r->a[r->n++] = x;
		x.path = NULL;
	}
	pthread_mutex_unlock(&recs_lock);
	free(x.path);
	return;
broken:
	pthread_mutex_lock(&recs_lock);
	for (r = recs; r && r->fa != fa; r = r->next)
		;
	if (r && r->n > 0) {
		acts_free(r->a, r->n);
		r->a = NULL;
	}
	if (r)
		r->n = -1;
	pthread_mutex_unlock(&recs_lock);
}

/* A copy of fa's actions if the record matches glibc's count: n, or -1. */
static int rec_copy(const posix_spawn_file_actions_t *fa, struct act **out)
{
	struct act *a = NULL;
	int n = -1;

	pthread_mutex_lock(&recs_lock);
	for (struct rec *r = recs; r; r = r->next) {
		if (r->fa != fa)
			continue;
		if (r->n <= 0 || r->n != fa->__used)
			break;
		a = calloc((size_t)r->n, sizeof(*a));
		if (!a)
			break;
		for (n = 0; n < r->n; n++) {
			a[n] = r->a[n];
			if (a[n].path && !(a[n].path = strdup(a[n].path)))
				break;
		}
		if (n < r->n) {
			acts_free(a, n);
			a = NULL;
			n = -1;
		}
		break;
	}
	pthread_mutex_unlock(&recs_lock);
	*out = a;
	return n;
}

/* ---- the add* wrappers --------------------------------------------------- */

/* glibc's functions are resolved once (real.c); these wrappers may run
 * before the library's constructor. */

VOS_EXPORT int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	vos_real_init();
	rec_forget(fa);
	return real_posix_spawn_file_actions_init(fa);
}

VOS_EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	vos_real_init();
	rec_forget(fa);
	return real_posix_spawn_file_actions_destroy(fa);
}

VOS_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
						const char *path, int oflag, mode_t mode)
{
	int r;

	vos_real_init();
	r = real_posix_spawn_file_actions_addopen(fa, fd, path, oflag, mode);
	if (r == 0)
		rec_add(fa, (struct act){ .kind = ACT_OPEN, .fd = fd, .oflag = oflag, .mode = mode,
					  .path = (char *)path });
	return r;
}

/* One wrapper per fd-only action. */
#define FD_ACTION(name, k)                                                           \
	VOS_EXPORT int name(posix_spawn_file_actions_t *fa, int fd)                  \
	{                                                                            \
		int r;                                                               \
		vos_real_init();                                                     \
		r = real_##name(fa, fd);                                             \
		if (r == 0)                                                          \
			rec_add(fa, (struct act){ .kind = k, .fd = fd });            \
		return r;                                                            \
	}

FD_ACTION(posix_spawn_file_actions_addclose, ACT_CLOSE)
FD_ACTION(posix_spawn_file_actions_addfchdir_np, ACT_FCHDIR)
FD_ACTION(posix_spawn_file_actions_addclosefrom_np, ACT_CLOSEFROM)
FD_ACTION(posix_spawn_file_actions_addtcsetpgrp_np, ACT_TCSETPGRP)

VOS_EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	int r;

	vos_real_init();
	r = real_posix_spawn_file_actions_adddup2(fa, fd, newfd);
	if (r == 0)
		rec_add(fa, (struct act){ .kind = ACT_DUP2, .fd = fd, .newfd = newfd });
	return r;
}

VOS_EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa,
						    const char *path)
{
	int r;

	vos_real_init();
	r = real_posix_spawn_file_actions_addchdir_np(fa, path);
	if (r == 0)
		rec_add(fa, (struct act){ .kind = ACT_CHDIR, .path = (char *)path });
	return r;
}

/* ---- which spawns need us ------------------------------------------------ */

static int fd_is_remote(int fd)
{
	return fd >= 0 && VOS_FDE_KIND(vos_fd_entry(fd)) == VOS_FDK_REMOTE;
}

static int path_is_routed(const char *path)
{
	struct vos_path *p = malloc(sizeof(*p));
	int r;

	if (!p)
		return 1;       /* cannot tell: the fork path is right either way */
	r = vos_path_resolve(AT_FDCWD, path, 0, p) != 0;
	free(p);
	return r;
}

/*
 * Any action on a routed path or a remote fd.  A relative path after a
 * chdir action is taken as routed (the fork path is correct for local
 * files too, only slower).
 */
static int acts_need_us(const struct act *a, int n)
{
	int chdir_seen = 0;

	for (int i = 0; i < n; i++) {
		switch (a[i].kind) {
		case ACT_OPEN:
		case ACT_CHDIR:
			if ((chdir_seen && a[i].path[0] != '/') || path_is_routed(a[i].path))
				return 1;
			chdir_seen |= a[i].kind == ACT_CHDIR;
			break;
		case ACT_FCHDIR:
			if (fd_is_remote(a[i].fd))
				return 1;
			chdir_seen = 1;
			break;
		case ACT_CLOSE:
		case ACT_TCSETPGRP:
			if (fd_is_remote(a[i].fd))
				return 1;
			break;
		case ACT_DUP2:
			if (fd_is_remote(a[i].fd) || fd_is_remote(a[i].newfd))
				return 1;
			break;
		case ACT_CLOSEFROM:
			break;  /* the new image finds what is left */
		}
	}
	return 0;
}

/* ---- the child ----------------------------------------------------------- */

/* Our error pipe's write end in the child, kept away from the actions. */
struct child {
	int errfd;
};

/* An action is about to make fd a file: move the error pipe off it. */
static int spare(struct child *c, int fd)
{
	if (fd != c->errfd)
		return 0;
	c->errfd = fcntl(c->errfd, F_DUPFD_CLOEXEC, fd + 1);
	return c->errfd < 0 ? -1 : 0;
}

/* The program never had the pipe: an action naming it finds no file. */
static int not_ours(const struct child *c, int fd)
{
	if (fd != c->errfd)
		return 0;
	errno = EBADF;
	return 1;
}

static int run_act(struct child *c, const struct act *a)
{
	int fd, flags;

	switch (a->kind) {
	case ACT_OPEN:
		/* POSIX: an open fd is closed first (glibc does the same). */
		if (spare(c, a->fd) < 0)
			return -1;
		close(a->fd);
		fd = open(a->path, a->oflag, a->mode);
		if (fd < 0)
			return -1;
		if (fd == c->errfd && spare(c, fd) < 0)
			return -1;
		if (fd != a->fd) {
			if (dup2(fd, a->fd) != a->fd)
				return -1;
			close(fd);
		}
		return 0;
	case ACT_CLOSE:
		/* glibc ignores the result (the number was checked when the
		 * action was added); the pipe is not open in the program's view */
		if (a->fd != c->errfd)
			close(a->fd);
		return 0;
	case ACT_DUP2:
		if (not_ours(c, a->fd))
			return -1;
		if (a->fd == a->newfd) {
			/* dup2 onto itself: the fd survives the exec (glibc) */
			flags = fcntl(a->fd, F_GETFD);
			return flags < 0 ? -1 : fcntl(a->fd, F_SETFD, flags & ~FD_CLOEXEC);
		}
		if (spare(c, a->newfd) < 0)
			return -1;
		return dup2(a->fd, a->newfd) == a->newfd ? 0 : -1;
	case ACT_CHDIR:
		return chdir(a->path);
	case ACT_FCHDIR:
		return not_ours(c, a->fd) ? -1 : fchdir(a->fd);
	case ACT_CLOSEFROM:
		/* around the pipe (it is always above what the program had) */
		if (c->errfd >= a->fd) {
			if (c->errfd > a->fd && syscall(SYS_close_range, a->fd, c->errfd - 1, 0) < 0)
				return -1;
			return (int)syscall(SYS_close_range, c->errfd + 1, ~0U, 0);
		}
		return (int)syscall(SYS_close_range, a->fd, ~0U, 0);
	case ACT_TCSETPGRP:
		return not_ours(c, a->fd) ? -1 : tcsetpgrp(a->fd, getpgrp());
	}
	errno = EINVAL;
	return -1;
}

/* exec with posix_spawnp's PATH search (as glibc's, no /bin/sh fallback). */
static void exec_search(const char *file, char *const argv[], char *const envp[])
{
	const char *path = getenv("PATH");
	size_t flen = strlen(file);
	int eacces = 0;

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	if (!path)
		path = "/bin:/usr/bin";
	if (flen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return;
	}
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char buf[PATH_MAX];
		size_t dlen = (size_t)(end - p);

		if (dlen + flen + 2 <= sizeof(buf)) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			/* an empty entry is the current directory */
			execve(dlen ? buf : buf + 1, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = 1;
				/* fall through */
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return;
			}
		}
		if (*end == '\0')
			break;
		p = end;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* In glibc's order: signal dispositions, scheduling, session, group, ids,
 * file actions, signal mask, exec.  Returns only on failure (errno). */
static void child_run(struct child *c, const char *file, int search, const struct act *acts,
		      int nacts, const posix_spawnattr_t *attr, const sigset_t *parent_mask,
		      char *const argv[], char *const envp[])
{
	sigset_t def, mask = *parent_mask;
	struct sched_param sp = { 0 };
	short flags = 0;
	pid_t pgrp = 0;
	int policy = 0;

	sigemptyset(&def);
	if (attr) {
		posix_spawnattr_getflags(attr, &flags);
		posix_spawnattr_getsigdefault(attr, &def);
		posix_spawnattr_getsigmask(attr, &mask);
		posix_spawnattr_getpgroup(attr, &pgrp);
		posix_spawnattr_getschedpolicy(attr, &policy);
		posix_spawnattr_getschedparam(attr, &sp);
	}
	/* The parent's handlers must not run here (all signals are blocked
	 * until the exec, which resets them anyway). */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGSYS || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (((flags & POSIX_SPAWN_SETSIGDEF) && sigismember(&def, sig)) ||
		    (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(sig, &sa, NULL);
		}
	}
	if ((flags & POSIX_SPAWN_SETSCHEDULER) && sched_setscheduler(0, policy, &sp) < 0)
		return;
	if (!(flags & POSIX_SPAWN_SETSCHEDULER) && (flags & POSIX_SPAWN_SETSCHEDPARAM) &&
	    sched_setparam(0, &sp) < 0)
		return;
	if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
		return;
	if ((flags & POSIX_SPAWN_SETPGROUP) && setpgid(0, pgrp) < 0)
		return;
	if ((flags & POSIX_SPAWN_RESETIDS) && (seteuid(getuid()) < 0 || setegid(getgid()) < 0))
		return;
	for (int i = 0; i < nacts; i++)
		if (run_act(c, &acts[i]) < 0)
			return;
	if (!(flags & POSIX_SPAWN_SETSIGMASK))
		mask = *parent_mask;
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (search)
		exec_search(file, argv, envp);
	else
		execve(file, argv, envp);
}

/* ---- the parent ---------------------------------------------------------- */

int vos_spawn_fork(int *handled, pid_t *pid, const char *file, int search,
		   const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		   char *const argv[], char *const envp[])
{
	struct act *acts;
	sigset_t all, old;
	int n, p[2], err = 0;
	ssize_t got;
	pid_t child;

	*handled = 0;
	if (!fa || (n = rec_copy(fa, &acts)) <= 0)
		return 0;
	if (!acts_need_us(acts, n)) {
		acts_free(acts, n);
		return 0;
	}
	*handled = 1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		err = errno;
		acts_free(acts, n);
		return err;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	child = fork();
	if (child == 0) {
		struct child c = { .errfd = p[1] };

		close(p[0]);
		child_run(&c, file, search, acts, n, attr, &old, argv, envp);
		err = errno;
		while (write(c.errfd, &err, sizeof(err)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	if (child < 0)
		err = errno;
	close(p[1]);
	if (child > 0) {
		/* 0 bytes: the pipe closed at the exec. */
		do
			got = read(p[0], &err, sizeof(err));
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)sizeof(err))
			err = 0;
		if (err) {
			while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
				;
		} else if (pid) {
			*pid = child;
		}
	}
	close(p[0]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	acts_free(acts, n);
	return err;
}
