/*
 * route.c - which paths belong to which service.
 *
 * The routing table (VOS_CONFIG, parsed by common/vosconf.c; default:
 * service storage storage, route /storage storage) maps path prefixes to
 * services, like mount points.  A path is made absolute (the working
 * directory + a relative path), normalised lexically ("//", "." and ".."
 * removed) and matched against the prefixes, longest first; what
 * follows the prefix is sent as an export-relative path ("/storage" itself
 * is "/").  ".." that steps back over a prefix leaves the export, as at a
 * mount point: "/storage/../etc" is the local /etc.  ".." after a component
 * inside the export is resolved against the real directory, as the kernel
 * does (dotdot_walk below): "/storage/l/../x" with a symlink l -> a/b is
 * "/storage/a/x", and "/storage/n0/n1/.." is sent as it is, so that the
 * service gives rename() and rmdir() of it the kernel's answers (EBUSY,
 * ENOTEMPTY).  Symlinks inside the export are resolved by the service,
 * which never follows one out of it: a walk that would leave answers
 * -VOS_ELINKOUT, and the path goes on in our namespace where VOS_OP_WALK
 * says (vos_path_linkout below), as the kernel goes on past a mount.
 *
 * Paths are read from the program's memory with vos_strncpy_from_user
 * (uaccess.c): NULL or a bad pointer in any path argument gives EFAULT,
 * without a system call.
 *
 * A relative path under a remote dirfd is sent unchanged with that fd; the
 * service resolves it.  A relative path under a local dirfd is routed like
 * the absolute path it names (openat(fd of "/", "storage/x") is
 * "/storage/x", as rsync does it), see local_dirfd_path below; otherwise it
 * stays local and is handed to glibc unchanged.
 *
 * The working directory can be "virtual": chdir into a routed directory
 * keeps the kernel's cwd where it was and records the routed path here.
 * Relative paths then start from it, also when they lead back out to local
 * files.  The cwd string is read lock-free (a seqlock) because any wrapper,
 * also in a signal handler, may need it; writers block signals.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "common/vosconf.h"
#include "syscall_precheck.h"

/* The routing table: parsed once by vos_routes_load, read-only after. */
static struct vos_conf conf;
/* Its error message (static: start-up may run on any caller's stack). */
static char config_msg[VOS_CONF_ERR_MAX];

/* ---- configuration --------------------------------------------------- */

static __attribute__((noreturn)) void config_error(void)
{
	dprintf(2, "libvirtuos: %s\n", config_msg);
	_exit(127);
}

/* Read the whole file with the real calls (VOS_CONF_TEXT_MAX bytes at
 * most: the parser refuses a file that fills the buffer). */
static size_t read_config(const char *file, char *text, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	fd = real_open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(config_msg, sizeof(config_msg), "%s: cannot open: %s", file, strerror(errno));
		config_error();
	}
	while (len < size && (n = real_read(fd, text + len, size - len)) > 0)
		len += (size_t)n;
	real_close(fd);
	if (n < 0) {
		snprintf(config_msg, sizeof(config_msg), "%s: cannot read: %s", file, strerror(errno));
		config_error();
	}
	return len;
}

void vos_routes_load(void)
{
	static char text[VOS_CONF_TEXT_MAX];
	const char *file = getenv("VOS_CONFIG");

	if (!file || !*file)
		vos_conf_default(&conf);
	else if (vos_conf_parse(&conf, file, text, read_config(file, text, sizeof(text)),
				config_msg, sizeof(config_msg)) < 0)
		config_error();
	for (int i = 0; i < conf.nservices; i++) {
		const struct vos_conf_service *cs = &conf.services[i];
		struct vos_service *s = &vos_services[i];

		snprintf(s->name, sizeof(s->name), "%s", cs->name);
		s->kind = cs->kind;
		s->prefix = cs->route >= 0 ? conf.routes[cs->route].prefix : NULL;
		pthread_mutex_init(&s->lock, NULL);
	}
	vos_nservices = conf.nservices;
	vos_precheck_routes(&conf);     /* the dispatcher's fast path reads a copy */
}

/* The last component of each route prefix ("storage" for "/storage"): a
 * relative path can only reach a prefix from outside it if it names that
 * component (local_dirfd_path). */
static int prefix_last_component(const char *path, size_t n)
{
	for (int i = 0; i < conf.nroutes; i++) {
		const struct vos_conf_route *rt = &conf.routes[i];
		const char *last = strrchr(rt->prefix, '/') + 1;

		if (rt->prefix + rt->len - last == (ptrdiff_t)n && memcmp(path, last, n) == 0)
			return 1;
	}
	return 0;
}

int vos_family_service(int family)
{
	return vos_conf_family_service(&conf, family);
}

const char *vos_service_prefix(int svc)
{
	return vos_services[svc].prefix;
}

/* ---- working directory ----------------------------------------------- */

enum { CWD_UNKNOWN, CWD_LOCAL, CWD_VIRTUAL };

static struct {
	_Atomic unsigned seq;
	int kind;                       /* accessed with __atomic builtins */
	char buf[PATH_MAX];             /* accessed with __atomic builtins */
} cwd;
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;

/* Copy the cwd state out.  Returns the kind; buf gets the path (kind != UNKNOWN).
 * *seq (if given): the version read, which every change of the cwd moves. */
static int cwd_read_seq(char *buf, size_t size, unsigned *seq)
{
	for (;;) {
		unsigned s1 = atomic_load_explicit(&cwd.seq, memory_order_acquire);
		int kind;
		size_t i;

		if (s1 & 1) {
			sched_yield();  /* a writer is in its short critical section */
			continue;
		}
		kind = __atomic_load_n(&cwd.kind, __ATOMIC_RELAXED);
		for (i = 0; i < size - 1 && i < sizeof(cwd.buf); i++) {
			buf[i] = __atomic_load_n(&cwd.buf[i], __ATOMIC_RELAXED);
			if (!buf[i])
				break;
		}
		buf[i < size ? i : size - 1] = '\0';
		/* An RMW with release order keeps the copy before this check. */
		if (atomic_fetch_add_explicit(&cwd.seq, 0, memory_order_acq_rel) == s1) {
			if (seq)
				*seq = s1;
			return kind;
		}
	}
}

static int cwd_read(char *buf, size_t size)
{
	return cwd_read_seq(buf, size, NULL);
}

static void cwd_write(int kind, const char *path)
{
	sigset_t old;
	unsigned s;
	size_t i = 0;

	vos_block_signals(&old);
	pthread_mutex_lock(&cwd_lock);
	/* Odd while writing; the acquire half keeps the writes below after it. */
	s = atomic_fetch_add_explicit(&cwd.seq, 1, memory_order_acq_rel);
	__atomic_store_n(&cwd.kind, kind, __ATOMIC_RELAXED);
	if (path)
		for (; path[i] && i < sizeof(cwd.buf) - 1; i++)
			__atomic_store_n(&cwd.buf[i], path[i], __ATOMIC_RELAXED);
	__atomic_store_n(&cwd.buf[i], '\0', __ATOMIC_RELAXED);
	/* For the precheck: relative paths under this cwd may run natively. */
	__atomic_store_n(&vos_cwd_plain, kind == CWD_LOCAL && path && vos_conf_match(&conf, path) < 0,
			 __ATOMIC_RELAXED);
	atomic_store_explicit(&cwd.seq, s + 2, memory_order_release);
	pthread_mutex_unlock(&cwd_lock);
	vos_restore_signals(&old);
}

int vos_cwd_virtual(char *buf, size_t len)
{
	char tmp[PATH_MAX];

	if (cwd_read(tmp, sizeof(tmp)) != CWD_VIRTUAL)
		return 0;
	if (strlen(tmp) >= len) {
		errno = ERANGE;
		return -1;
	}
	strcpy(buf, tmp);
	return 1;
}

void vos_cwd_set_virtual(const char *abs)
{
	cwd_write(CWD_VIRTUAL, abs);
}

void vos_cwd_set_local(void)
{
	char tmp[8];

	/* Programs that walk local trees fchdir a lot: skip needless writes. */
	if (cwd_read(tmp, sizeof(tmp)) != CWD_UNKNOWN)
		cwd_write(CWD_UNKNOWN, NULL);
}

/* The cwd's handle at the service, for long relative paths (see
 * route_long_relative). */
#define CWD_HANDLE (VOS_FD_LIMIT - 1)

static struct {
	int svc;                /* -1: none */
	uint32_t gen;           /* of the connection it was opened on */
	unsigned seq;           /* cwd.seq of the cwd it names */
} handle = { -1, 0, 0 };
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

void vos_route_after_fork_child(void)
{
	unsigned s = atomic_load_explicit(&cwd.seq, memory_order_relaxed);

	pthread_mutex_init(&cwd_lock, NULL);
	pthread_mutex_init(&handle_lock, NULL);
	if (s & 1) {    /* a writer of the parent vanished mid-update */
		atomic_store_explicit(&cwd.seq, s + 1, memory_order_relaxed);
		cwd_write(CWD_UNKNOWN, NULL);
	}
}

/* ---- routing ---------------------------------------------------------- */

static int route_remote_dirfd(int dirfd, const char *path, struct vos_path *p)
{
	struct vos_client *c;
	int svc, r = vos_fd_remote(dirfd, &c, &svc);

	if (r <= 0)
		return r;
	p->routed = 1;
	p->svc = svc;
	p->gen = VOS_FDE_GEN(vos_fd_entry(dirfd));
	p->client = c;
	p->dirfd = dirfd;
	p->path = path;
	return 1;
}

/* "/proc/self/fd/N" for an fd >= 0, without snprintf (a signal handler
 * may route a path). */
static void fd_link(char link[32], int fd)
{
	static const char dir[] = "/proc/self/fd/";
	char digits[12];
	size_t at = sizeof(dir) - 1;
	int n = 0;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0);
	memcpy(link, dir, at);
	while (n > 0)
		link[at++] = digits[--n];
	link[at] = '\0';
}

/*
 * A relative path under a local directory fd: the absolute path it names,
 * in buf, if it may lead into a routed prefix.  Returns 1 (buf holds
 * "DIR/path"), or 0: leave the call to the kernel, unchanged.
 *
 * Cheap first: the joined path is normalised lexically (as every routed
 * path), so it ends under a prefix /a/.../z only if z is a component of
 * the relative path itself.  If z came from the directory's own path, the
 * directory would be under the prefix (the case below).  So a path that
 * names no prefix's last component ("x/y", "../../etc/passwd") is passed
 * through without a system call; only one that does ("storage/x",
 * "../storage") costs fstat + readlink(/proc/self/fd/N) + stat.
 *
 * The directory's path must name that directory: it must be a directory
 * (else the kernel says ENOTDIR), /proc must give an absolute path (not a
 * deleted directory, "... (deleted)", or one outside our root,
 * "(unreachable)/..."), and that path must lead to the same inode (a
 * directory renamed or moved since, another mount namespace's view).  If
 * any of this fails (also without /proc) the call stays local, with errno
 * as it was.  A directory that is itself under a prefix (a real directory
 * the route hides, opened before the route or by a raw system call) stays
 * local too, as an fd opened before a mount keeps naming the directory
 * below it.
 *
 * Symlinks: routing is lexical here as for absolute paths.  A symlink in
 * the relative path that does not textually lead into a prefix stays
 * local and the kernel follows it (a link to /storage/x is not routed,
 * as with an absolute path through such a link); "link/../storage/x" is
 * "/DIR/storage/x" for the router, not what the kernel would find.
 */
static int local_dirfd_path(int dirfd, const char *path, char *buf, size_t size)
{
	char link[32];
	struct stat fst, st;
	const char *s = path;
	ssize_t n;
	size_t plen;
	int hit = 0, saved;

	while (*s && !hit) {
		size_t len;

		while (*s == '/')
			s++;
		len = strcspn(s, "/");
		hit = len > 0 && prefix_last_component(s, len);
		s += len;
	}
	if (!hit)
		return 0;
	saved = errno;
	if (real_fstat(dirfd, &fst) < 0 || !S_ISDIR(fst.st_mode) || fst.st_nlink == 0)
		goto local;
	fd_link(link, dirfd);
	n = real_readlink(link, buf, size);
	if (n <= 0 || (size_t)n >= size || buf[0] != '/')
		goto local;
	buf[n] = '\0';
	if (real_stat(buf, &st) < 0 || st.st_dev != fst.st_dev || st.st_ino != fst.st_ino)
		goto local;
	if (vos_conf_match(&conf, buf) >= 0)
		goto local;
	plen = strlen(path);
	if ((size_t)n + 1 + plen + 1 > size)
		goto local;             /* the kernel walks long relative paths */
	buf[n] = '/';
	memcpy(buf + n + 1, path, plen + 1);
	return 1;
local:
	errno = saved;
	return 0;
}

/* ---- long relative paths under a virtual cwd ------------------------------- */

/*
 * A relative path under a virtual cwd may be up to PATH_MAX - 1 bytes, as
 * natively, even if the cwd's path + the relative path is longer than
 * PATH_MAX (the kernel walks it from the cwd).  Such a path is sent
 * relative to a handle of the cwd at the service: the cwd opened O_PATH at
 * client number CWD_HANDLE, a number no client fd reaches in practice (the
 * service accepts numbers below VOS_FD_LIMIT, the kernel's default nr_open;
 * a process would need a million fds), so it takes no fd of the process
 * and never appears in its fd table.  It is opened when first needed and
 * again after the cwd, the connection or the process image changed (the
 * service's copy survives fork; exec closes it).  Only the rare long path
 * pays: one OPENAT per cwd.  ".." in such a path is the service's
 * (confined to the export).
 */
static int route_long_relative(const char *cwd_abs, unsigned seq, const char *rel,
			       struct vos_path *p)
{
	int route = vos_conf_match(&conf, cwd_abs), ok;
	const struct vos_conf_route *rt;
	struct vos_conn *conn;
	sigset_t old;

	if (route < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	rt = &conf.routes[route];
	conn = vos_service_connect(rt->svc);
	if (!conn)
		return -1;
	vos_block_signals(&old);
	pthread_mutex_lock(&handle_lock);
	ok = handle.svc == rt->svc && handle.gen == conn->gen && handle.seq == seq;
	if (!ok) {
		const char *dir = cwd_abs[rt->len] ? cwd_abs + rt->len : "/";
		struct vos_req r = { .op = VOS_OP_OPENAT,
				     .arg = { VOS_FD_ROOT, 0, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
					      CWD_HANDLE } };
		struct vos_in in = { 1, dir, strlen(dir) + 1 };
		int64_t res = vos_rpc(conn->client, &r, &in, 1, NULL, 0, 0);

		ok = res == CWD_HANDLE;
		if (ok) {
			handle.svc = rt->svc;
			handle.gen = conn->gen;
			handle.seq = seq;
		} else {
			handle.svc = -1;
			errno = res < 0 ? (int)-res : EIO;
		}
	}
	pthread_mutex_unlock(&handle_lock);
	vos_restore_signals(&old);
	if (!ok)
		return -1;
	p->routed = 1;
	p->svc = rt->svc;
	p->gen = conn->gen;
	p->client = conn->client;
	p->dirfd = CWD_HANDLE;
	p->path = rel;
	return 1;
}

/* ---- symlinks that leave the export ------------------------------------------ */

/*
 * The service never follows a symlink out of its export: a walk that meets
 * one (an absolute target outside the export's mount point, a relative one
 * or a ".." climbing above the export's root) fails with -VOS_ELINKOUT,
 * and VOS_OP_WALK tells where the path goes on in our namespace, as the
 * kernel goes on past a mount point.  The continuation of the routed path
 * q, absolute, into out (PATH_MAX): the link's target + the rest of the
 * path, or the prefix + "/../rest" (normalised by the next resolve, it
 * leaves the prefix).  `follow`: the final component too (calls that act
 * on a link itself pass 0).  *links counts the symlinks followed by the
 * whole resolution (40 at most, then ELOOP, as natively).  1 (out holds
 * the continuation), 0 (the walk stays inside: the path as it is; counted
 * as a link, so that a caller that tries again ends), or -1 with errno.
 */
static int linkout_walk(const struct vos_path *q, int follow, int *links, char *out)
{
	struct vos_req r = { .op = VOS_OP_WALK,
			     .arg = { q->dirfd, VOS_NO_PATH, follow ? 1 : 0, *links } };
	struct vos_in in = { 1, q->path, strlen(q->path) + 1 };
	char *buf;
	const char *cont;
	uint32_t l;
	int64_t n;
	int err = 0;

	if (*links >= 40) {
		errno = ELOOP;
		return -1;
	}
	buf = malloc(PATH_MAX + 8);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	n = vos_rpc(q->client, &r, &in, 1, buf, PATH_MAX + 4, 0);
	if (n <= 0) {
		free(buf);
		if (n == 0) {
			++*links;
			return 0;
		}
		errno = (int)-n;
		return -1;
	}
	buf[n] = '\0';
	memcpy(&l, buf, 4);
	cont = buf + 4;
	if (n < 6 || (size_t)n != 4 + strlen(cont) + 1 || l < (uint32_t)*links || l > 40 ||
	    (cont[0] != '/' && strncmp(cont, "..", 2) != 0)) {
		err = EIO;              /* not what the service may answer */
	} else {
		*links = (int)l;
		if (cont[0] == '/')
			strcpy(out, cont);      /* n <= PATH_MAX + 4 */
		else if (snprintf(out, PATH_MAX, "%s/%s", vos_service_prefix(q->svc), cont) >= PATH_MAX)
			err = ENAMETOOLONG;
	}
	free(buf);
	if (err) {
		errno = err;
		return -1;
	}
	return 1;
}

int vos_path_linkout(int dirfd, const char *path, int follow, int *links, char *out)
{
	struct vos_path *q = malloc(sizeof(*q));
	int r;

	if (!q) {
		errno = ENOMEM;
		return -1;
	}
	r = vos_path_resolve(dirfd, path, 0, q);
	if (r == 1 && q->path) {
		r = linkout_walk(q, follow, links, out);
	} else if (r >= 0) {
		/* Not (or no longer) routed: the path as it is. */
		if (*links >= 40) {
			errno = ELOOP;
			r = -1;
		} else {
			++*links;
			r = 0;
		}
	}
	free(q);
	return r;
}

/* ---- ".." inside a routed prefix ------------------------------------------ */

/*
 * Which real directory "out" (a normalised absolute path strictly inside
 * route rt) names, for a ".." that follows it.  Lexically its parent is
 * what the kernel finds too, unless its last component is a symlink (the
 * earlier components are resolved again by the service wherever the path
 * goes): then out becomes the directory's canonical path from the service
 * (prefix + FDPATH of an O_PATH open).  0, or -1 with errno: the kernel's
 * answer for a ".." after a missing name (ENOENT) or a file (ENOTDIR).
 */
static int dotdot_real_dir(const struct vos_conf_route *rt, char *out, size_t size)
{
	struct vos_conn *conn = vos_service_connect(rt->svc);
	struct vos_path *q;
	struct stat st;
	int64_t r;
	int fd, err = 0;

	if (!conn)
		return -1;
	q = malloc(sizeof(*q));
	if (!q) {
		errno = ENOMEM;
		return -1;
	}
	q->routed = 1;
	q->svc = rt->svc;
	q->gen = conn->gen;
	q->client = conn->client;
	q->dirfd = VOS_FD_ROOT;
	q->path = q->buf;
	strcpy(q->buf, out + rt->len);
	r = vos_path_rpc(q, VOS_OP_FSTATAT, AT_SYMLINK_NOFOLLOW, 0, 0, &st, sizeof(st), 1);
	if (r < 0) {
		err = (int)-r;
	} else if (S_ISLNK(st.st_mode)) {
		fd = vos_remote_openat(q, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0 && errno == VOS_ELINKOUT) {
			/* A link out of the export: ".." of its target, in our
			 * namespace (lexically from there, as before a prefix). */
			int links = 0, m = linkout_walk(q, 1, &links, out);

			if (m < 0)
				err = errno;
			else if (m == 0)
				err = ENOENT;   /* changed meanwhile */
			for (size_t e = strlen(out); e > 1 && out[e - 1] == '/'; e--)
				out[e - 1] = '\0';
		} else if (fd < 0) {
			err = errno;
		} else {
			if (vos_remote_fdpath(q->client, fd, q->buf, sizeof(q->buf)) < 0 ||
			    vos_join_prefix(rt->svc, q->buf, out, size) < 0)
				err = errno;
			vos_remote_close(fd);
		}
	} else if (!S_ISDIR(st.st_mode)) {
		err = ENOTDIR;
	}
	free(q);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * vos_path_normalise for a path with ".." components (in: absolute), with
 * the kernel's meaning of ".." inside a routed prefix: the real parent of
 * the directory reached so far (dotdot_real_dir), and a final ".." kept as
 * written for the service ("/storage/a/.." is sent as "/a/..": *trailing 3).
 * ".." at a prefix itself leaves the export (*via_route = 1).  0, -1 with
 * errno (a lookup failed), or -ENAMETOOLONG.
 */
static int dotdot_walk(const char *in, char *out, size_t size, int *trailing, int *via_route)
{
	const char *c = in;
	size_t o = 0, n;

	*via_route = 0;
	*trailing = 0;
	while (*c) {
		while (*c == '/')
			c++;
		if (!*c)
			break;
		n = strcspn(c, "/");
		*trailing = 0;
		if (n == 1 && c[0] == '.') {
			*trailing = 2;
		} else if (n == 2 && c[0] == '.' && c[1] == '.') {
			int route;

			out[o] = '\0';
			route = o > 0 ? vos_conf_match(&conf, out) : -1;
			if (route >= 0 && o > conf.routes[route].len) {
				const char *rest = c + n;

				while (*rest == '/')
					rest++;
				if (!*rest) {
					*trailing = 3;  /* the service walks it */
					break;
				}
				if (dotdot_real_dir(&conf.routes[route], out, size) < 0)
					return -1;
				o = strlen(out);
				/* It may now be a local path (a link out of
				 * the export): the kernel gets it rewritten. */
				*via_route = 1;
			} else if (route >= 0) {
				*via_route = 1;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			*trailing = 1;
		} else {
			if (o + 1 + n + 4 > size)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, c, n);
			o += n;
		}
		c += n;
	}
	if (o == 0)
		out[o++] = '/';
	if (o + 4 > size)
		return -ENAMETOOLONG;   /* no room for what add_trailing appends */
	out[o] = '\0';
	n = strlen(in);
	if (*trailing == 0 && n > 0 && in[n - 1] == '/')
		*trailing = 1;
	return 0;
}

/* Does path have a ".." component? */
static int has_dotdot(const char *path)
{
	for (const char *c = path; (c = strstr(c, "..")) != NULL; c += 2)
		if ((c == path || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
			return 1;
	return 0;
}

/* The last component demands: 3 = "/.." (dotdot_walk), else as
 * vos_path_add_trailing. */
static void add_trailing(char *path, int trailing)
{
	if (trailing == 3)
		strcpy(path + strlen(path), "/..");
	else
		vos_path_add_trailing(path, trailing);
}

int vos_path_resolve(int dirfd, const char *upath, int empty_path, struct vos_path *p)
{
	char joined[PATH_MAX];
	const char *abs, *path = p->buf;
	const struct vos_conf_route *rt;
	struct vos_conn *conn;
	int kind = CWD_LOCAL, trailing, via_route, route, err;
	long len;
	size_t n;

	vos_init();
	p->routed = 0;
	p->dirfd = dirfd;
	p->path = upath;
	/* The program's string, read once: a copy we can trust to stay. */
	len = vos_strncpy_from_user(p->buf, upath, sizeof(p->buf));
	if (len == -ENAMETOOLONG)
		return 0;               /* the kernel says ENAMETOOLONG */
	if (len == -EFAULT && !upath && empty_path) {
		p->buf[0] = '\0';      /* Linux 6.11: NULL with AT_EMPTY_PATH is "" */
		len = 0;
	}
	if (len < 0) {
		errno = EFAULT;
		return -1;
	}
	if (path[0] == '/' && (path[1] == 'p' || path[1] == 'd')) {
		/* /proc/self/fd/N of a remote fd: the file's routed path. */
		int m = vos_magic_link(path, joined, sizeof(joined));

		if (m < 0)
			return -1;
		if (m == 1) {
			strcpy(p->buf, joined);
			len = (long)strlen(p->buf);
		}
	}
	if (path[0] == '\0') {
		if (!empty_path)
			return 0;       /* the kernel says ENOENT */
		if (dirfd != AT_FDCWD) {
			int r = route_remote_dirfd(dirfd, path, p);

			if (r == 1)
				p->path = NULL;
			return r;
		}
		strcpy(p->buf, ".");    /* the cwd itself, which may be virtual */
		len = 1;
	}
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		int r = route_remote_dirfd(dirfd, path, p);

		if (r != 0 || !local_dirfd_path(dirfd, path, joined, sizeof(joined)))
			return r;
	} else if (path[0] != '/') {
		unsigned seq;

		kind = cwd_read_seq(joined, sizeof(joined), &seq);
		if (kind == CWD_UNKNOWN) {
			if (!real_getcwd(joined, sizeof(joined)))
				return 0;       /* no usable cwd: the kernel decides */
			cwd_write(CWD_LOCAL, joined);
		}
		n = strlen(joined);
		if (n + 1 + (size_t)len + 1 > sizeof(joined)) {
			if (kind != CWD_VIRTUAL)
				return 0;       /* the kernel walks long relative paths */
			return route_long_relative(joined, seq, path, p);
		}
		joined[n] = '/';
		memcpy(joined + n + 1, path, (size_t)len + 1);
	} else {
		memcpy(joined, path, (size_t)len + 1);
	}
	abs = joined;
	if (!has_dotdot(abs))
		err = vos_path_normalise(abs, p->buf, sizeof(p->buf), &conf, &trailing, &via_route);
	else
		err = dotdot_walk(abs, p->buf, sizeof(p->buf), &trailing, &via_route);
	if (err == -1)
		return -1;              /* a ".." inside the export: the lookup's errno */
	if (err < 0) {
		if (kind != CWD_VIRTUAL)
			return 0;       /* let the kernel walk or refuse it */
		errno = ENAMETOOLONG;
		return -1;
	}
	route = vos_conf_match(&conf, p->buf);
	if (route < 0) {
		if (kind == CWD_VIRTUAL || via_route) {
			/* A path that left a routed directory by "..": local,
			 * absolute, normalised (the kernel cannot walk it). */
			add_trailing(p->buf, trailing);
			p->dirfd = AT_FDCWD;
			p->path = p->buf;
		}
		return 0;
	}
	rt = &conf.routes[route];
	conn = vos_service_connect(rt->svc);
	if (!conn)
		return -1;
	p->routed = 1;
	p->svc = rt->svc;
	p->gen = conn->gen;
	p->client = conn->client;
	p->dirfd = VOS_FD_ROOT;
	if (p->buf[rt->len] == '\0')
		strcpy(p->buf, "/");
	else
		memmove(p->buf, p->buf + rt->len, strlen(p->buf + rt->len) + 1);
	add_trailing(p->buf, trailing);  /* normalise left room for it */
	p->path = p->buf;
	return 1;
}
