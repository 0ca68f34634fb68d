/*
 * route.c - which paths belong to which service.
 *
 * The routing table (VOS_CONFIG, default: route /storage storage) maps path
 * prefixes to services, like mount points.  A path is made absolute (the
 * working directory + a relative path), normalised lexically ("//", "." and
 * ".." removed) and matched against the prefixes, longest first; what
 * follows the prefix is sent as an export-relative path ("/storage" itself
 * is "/").  ".." is therefore resolved by this router, as at a mount point:
 * "/storage/../etc" is the local /etc, and "/storage/a/.." is the export's
 * root even if "a" is a symlink.  Symlinks inside the export are resolved by
 * the service, which confines them to the export: they cannot escape it.
 *
 * A relative path under a remote dirfd is sent unchanged with that fd; the
 * service resolves it.  A relative path under a local dirfd stays local.
 *
 * The working directory can be "virtual": chdir into a routed directory
 * keeps the kernel's cwd where it was and records the routed path here.
 * Relative paths then start from it, also when they lead back out to local
 * files.  The cwd string is read lock-free (a seqlock) because any wrapper,
 * also in a signal handler, may need it; writers block signals.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "interpose_internal.h"

struct route {
	char prefix[PATH_MAX];
	size_t len;
	int svc;
};

static struct route routes[VOS_MAX_ROUTES];
static int nroutes;

/* ---- lexical normalisation ------------------------------------------- */

static const struct route *match(const char *norm)
{
	const struct route *best = NULL;

	for (int i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];

		if (strncmp(norm, r->prefix, r->len) == 0 &&
		    (norm[r->len] == '\0' || norm[r->len] == '/') &&
		    (!best || r->len > best->len))
			best = r;
	}
	return best;
}

/*
 * Normalise absolute path `in` into out.  *trailing is set if the last
 * component must be a directory: 2 if it is "." (kept, so that e.g.
 * rmdir("d/.") fails with EINVAL as natively), 1 for "/" or "..".  *via_route is
 * set if a ".." stepped out of a routed directory (the kernel could not
 * walk that path itself).  0 or -ENAMETOOLONG.
 */
static int normalise(const char *in, char *out, size_t size, int *trailing, int *via_route)
{
	const char *p = in, *last = in;
	size_t o = 0, n;

	*via_route = 0;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		last = p;
		n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			out[o] = '\0';
			if (o > 0 && match(out))
				*via_route = 1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + 1 + n + 3 > size)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	n = strlen(in);
	if (strcmp(last, ".") == 0)
		*trailing = 2;
	else
		*trailing = (n > 0 && in[n - 1] == '/') || strcmp(last, "..") == 0;
	return 0;
}

/* Append what the last component demands ("/" or "/.") to a normalised path. */
static void add_trailing(char *path, int trailing)
{
	size_t n = strlen(path);

	if (trailing == 2)
		strcpy(path + n, n > 1 ? "/." : ".");
	else if (trailing && n > 1)
		strcpy(path + n, "/");
}

/* ---- configuration --------------------------------------------------- */

static __attribute__((noreturn, format(printf, 3, 4)))
void config_error(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		dprintf(2, "libvirtuos: %s:%d: %s\n", file, line, msg);
	else
		dprintf(2, "libvirtuos: %s: %s\n", file, msg);
	_exit(127);
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VOS_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static int add_service(const char *name)
{
	int i = vos_service_find(name);
	struct vos_service *s;

	if (i >= 0)
		return i;
	if (vos_nservices == VOS_MAX_SERVICES)
		return -1;
	i = vos_nservices++;
	s = &vos_services[i];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = strcmp(name, "network") == 0 ? VOS_SVC_NETWORK : VOS_SVC_STORAGE;
	pthread_mutex_init(&s->lock, NULL);
	return i;
}

static void add_route(const char *file, int line, const char *prefix, const char *service)
{
	struct route *r;
	int trailing, via, svc;

	if (prefix[0] != '/')
		config_error(file, line, "route prefix '%s' is not an absolute path", prefix);
	if (!valid_name(service))
		config_error(file, line, "bad service name '%s'", service);
	if (nroutes == VOS_MAX_ROUTES)
		config_error(file, line, "too many routes (at most %d)", VOS_MAX_ROUTES);
	r = &routes[nroutes];
	if (normalise(prefix, r->prefix, sizeof(r->prefix), &trailing, &via) < 0)
		config_error(file, line, "route prefix too long");
	if (strcmp(r->prefix, "/") == 0)
		config_error(file, line, "cannot route '/' (everything)");
	for (int i = 0; i < nroutes; i++)
		if (strcmp(routes[i].prefix, r->prefix) == 0)
			config_error(file, line, "duplicate route prefix '%s'", r->prefix);
	svc = add_service(service);
	if (svc < 0)
		config_error(file, line, "too many services (at most %d)", VOS_MAX_SERVICES);
	r->len = strlen(r->prefix);
	r->svc = svc;
	if (!vos_services[svc].prefix)
		vos_services[svc].prefix = r->prefix;
	nroutes++;
}

static void parse_line(const char *file, int line, char *s)
{
	char *tok[4], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (t[0] == '#')
			break;
		if (n == 4)
			break;
		tok[n++] = t;
	}
	if (n == 0)
		return;
	if (strcmp(tok[0], "route") != 0)
		config_error(file, line, "unknown keyword '%s' (expected 'route PREFIX SERVICE')", tok[0]);
	if (n != 3)
		config_error(file, line, "expected 'route PREFIX SERVICE'");
	add_route(file, line, tok[1], tok[2]);
}

void vos_routes_load(void)
{
	const char *file = getenv("VOS_CONFIG");
	static char text[65536];
	size_t len = 0;
	int fd, line = 1;
	ssize_t n;

	if (!file || !*file) {
		add_route("(default)", 0, "/storage", "storage");
		return;
	}
	fd = real_open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		config_error(file, 0, "cannot open: %s", strerror(errno));
	while ((n = real_read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)n;
	real_close(fd);
	if (n < 0)
		config_error(file, 0, "cannot read: %s", strerror(errno));
	if (len == sizeof(text) - 1)
		config_error(file, 0, "file too long");
	text[len] = '\0';
	for (char *s = text, *nl; s; s = nl ? nl + 1 : NULL, line++) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		if (strlen(s) != (size_t)((nl ? nl : text + len) - s))
			config_error(file, line, "NUL byte in line");
		parse_line(file, line, s);
	}
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

/* Copy the cwd state out.  Returns the kind; buf gets the path (kind != UNKNOWN). */
static int cwd_read(char *buf, size_t size)
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
		if (atomic_fetch_add_explicit(&cwd.seq, 0, memory_order_acq_rel) == s1)
			return kind;
	}
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

void vos_route_after_fork_child(void)
{
	unsigned s = atomic_load_explicit(&cwd.seq, memory_order_relaxed);

	pthread_mutex_init(&cwd_lock, NULL);
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

int vos_path_resolve(int dirfd, const char *path, int empty_path, struct vos_path *p)
{
	char joined[PATH_MAX];
	const char *abs = path;
	const struct route *rt;
	struct vos_conn *conn;
	int kind = CWD_LOCAL, trailing, via_route;
	size_t n;

	vos_init();
	p->routed = 0;
	p->dirfd = dirfd;
	p->path = path;
	if (!path)
		return 0;
	if (path[0] == '\0') {
		if (!empty_path)
			return 0;       /* the kernel says ENOENT */
		if (dirfd != AT_FDCWD) {
			int r = route_remote_dirfd(dirfd, path, p);

			if (r == 1)
				p->path = NULL;
			return r;
		}
		path = ".";     /* the cwd itself, which may be virtual */
	}
	if (path[0] != '/') {
		if (dirfd != AT_FDCWD)
			return route_remote_dirfd(dirfd, path, p);
		kind = cwd_read(joined, sizeof(joined));
		if (kind == CWD_UNKNOWN) {
			if (!real_getcwd(joined, sizeof(joined)))
				return 0;       /* no usable cwd: the kernel decides */
			cwd_write(CWD_LOCAL, joined);
		}
		n = strlen(joined);
		if (n + 1 + strlen(path) + 1 > sizeof(joined)) {
			if (kind != CWD_VIRTUAL)
				return 0;       /* the kernel walks long relative paths */
			errno = ENAMETOOLONG;
			return -1;
		}
		joined[n] = '/';
		strcpy(joined + n + 1, path);
		abs = joined;
	}
	if (normalise(abs, p->buf, sizeof(p->buf), &trailing, &via_route) < 0) {
		if (kind != CWD_VIRTUAL)
			return 0;       /* let the kernel walk or refuse it */
		errno = ENAMETOOLONG;
		return -1;
	}
	rt = match(p->buf);
	if (!rt) {
		if (kind == CWD_VIRTUAL || via_route) {
			/* A path that left a routed directory by "..": local,
			 * absolute, normalised (the kernel cannot walk it). */
			add_trailing(p->buf, trailing);
			p->dirfd = AT_FDCWD;
			p->path = p->buf;
		}
		return 0;
	}
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
	add_trailing(p->buf, trailing);         /* normalise() left room for it */
	p->path = p->buf;
	return 1;
}

int vos_path_local(int dirfd, const char *path, char *buf, const char **local)
{
	struct vos_path p;
	int r = vos_path_resolve(dirfd, path, 0, &p);

	*local = path;
	if (r != 0 || p.path == path)
		return r;
	strcpy(buf, p.path);    /* p.buf has PATH_MAX bytes too */
	*local = buf;
	return 0;
}
