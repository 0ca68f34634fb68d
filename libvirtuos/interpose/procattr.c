/*
 * procattr.c - what a process has besides its fds, where routing makes a
 * difference: the working directory and the umask.
 *
 * cwd.  The kernel cannot enter a directory of another domain, so chdir
 * into a routed directory leaves the kernel's cwd alone and records the
 * directory's path (as the service resolves it, symlinks followed) as the
 * virtual cwd (route.c).  getcwd() returns it; relative paths start from
 * it.  A chdir to a local directory makes the cwd local again.  Exec hands
 * a virtual cwd to the new image (VOS_CWD, see exec.c).
 *
 * umask.  Each shadow creates files with its own umask, kept equal to
 * ours: umask() sends VOS_OP_UMASK on every live channel, and a new
 * channel is given vos_umask_current() when it connects.  That copy of the
 * umask is why the library never calls umask() to learn it: two calls
 * would change it for a moment under other threads' file creation.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"

/* ---- working directory -------------------------------------------------- */

/* Make remote directory fd the virtual cwd: it must be a directory we may
 * search.  0 or -1. */
static int enter_remote_dir(struct vos_client *c, int svc, int fd)
{
	struct vos_req r = { .op = VOS_OP_FACCESSAT, .arg = { fd, 0, X_OK, AT_EACCESS } };
	struct vos_in in = { 1, ".", 2 };
	char rel[PATH_MAX], full[PATH_MAX];
	struct stat st;

	if (vos_remote_fstat(c, fd, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (vos_ret(vos_rpc(c, &r, &in, 1, NULL, 0, 0)) < 0)
		return -1;
	if (vos_remote_fdpath(c, fd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(svc, rel, full, sizeof(full)) < 0)
		return -1;
	vos_cwd_set_virtual(full);
	return 0;
}

int vos_chdir(const char *path)
{
	struct vos_path p;
	int r = vos_path_resolve(AT_FDCWD, path, 0, &p), fd, res, e;

	if (r < 0)
		return -1;
	if (r == 0) {
		res = real_chdir(p.path);
		if (res == 0)
			vos_cwd_set_local();
		return res;
	}
	fd = vos_remote_openat(&p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	res = enter_remote_dir(p.client, p.svc, fd);
	e = errno;
	vos_remote_close(fd);
	errno = e;
	return res;
}

int vos_fchdir(int fd)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(fd, &c, &svc), res;

	if (r < 0)
		return -1;
	if (r == 1)
		return enter_remote_dir(c, svc, fd);
	res = real_fchdir(fd);
	if (res == 0)
		vos_cwd_set_local();
	return res;
}

char *vos_getcwd(char *buf, size_t size)
{
	char cwd[PATH_MAX];
	size_t len;
	int r;

	vos_init();
	r = vos_cwd_virtual(cwd, sizeof(cwd));
	if (r == 0)
		return real_getcwd(buf, size);
	if (r < 0)
		return NULL;
	len = strlen(cwd) + 1;
	if (!buf) {
		if (size == 0)
			size = len;
		else if (size < len) {
			errno = ERANGE;
			return NULL;
		}
		buf = malloc(size);
		if (!buf) {
			errno = ENOMEM;
			return NULL;
		}
	} else if (size == 0) {
		errno = EINVAL;
		return NULL;
	} else if (size < len) {
		errno = ERANGE;
		return NULL;
	}
	memcpy(buf, cwd, len);
	return buf;
}

/* ---- umask ----------------------------------------------------------------- */

static pthread_mutex_t umask_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int known_umask = -1;    /* -1: not read from the kernel yet */

/* The "Umask:" line of /proc/self/status (Linux 4.7+), or -1.  glibc's
 * functions, not our wrappers: this runs inside connects. */
static int read_proc_umask(void)
{
	char buf[4096], *p;
	size_t len = 0;
	ssize_t n;
	long m;
	int fd = real_open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 && (n = real_read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	real_close(fd);
	buf[len] = '\0';
	p = strstr(buf, "\nUmask:");
	if (!p)
		return -1;
	m = strtol(p + 8, &p, 8);
	return (*p == '\n' && m >= 0 && m <= 0777) ? (int)m : -1;
}

mode_t vos_umask_current(void)
{
	int m = atomic_load_explicit(&known_umask, memory_order_acquire), expect = -1;
	sigset_t old;

	if (m >= 0)
		return (mode_t)m;
	m = read_proc_umask();
	if (m < 0) {
		/* No /proc: the one other way, once (init.c asks during
		 * start-up, before the program has threads). */
		vos_block_signals(&old);
		m = (int)syscall(SYS_umask, 022);
		syscall(SYS_umask, m);
		vos_restore_signals(&old);
	}
	/* A umask() that ran meanwhile stored the newer value: keep it. */
	if (!atomic_compare_exchange_strong(&known_umask, &expect, m))
		m = expect;
	return (mode_t)m;
}

/*
 * Calls are serialised, so the shadows see the changes in the process's
 * order, and hold the fd lock for reading, so a fork's shadow snapshot has
 * the umask the child inherits.
 */
mode_t vos_umask(mode_t mask)
{
	mode_t old;

	vos_init();
	vos_fdlock_rd();
	pthread_mutex_lock(&umask_lock);
	old = real_umask(mask);
	atomic_store_explicit(&known_umask, (int)(mask & 0777), memory_order_release);
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);

		if (conn)
			vos_rpc0(conn->client, VOS_OP_UMASK, mask & 0777, 0, 0, 0, 0);
	}
	pthread_mutex_unlock(&umask_lock);
	vos_fdlock_unlock();
	return old;
}
