/*
 * syscall_precheck.c - the dispatcher's fast answer, asked before the
 * trampoline saves any state: nonzero runs the call natively, without
 * vos_syscall().  Two kinds of calls are answered here:
 *
 *  - fd calls whose fd arguments are all plain local fds (fd-table entry
 *    0).  Which arguments are fds comes from the dispatcher's table
 *    (syscall_table.c fills vos_sc_local_fds at install); fcntl on a
 *    plain local fd unless it makes a new fd (F_DUPFD, F_DUPFD_CLOEXEC).
 *  - path calls (openat, newfstatat, statx, access, readlinkat, unlinkat,
 *    ...: vos_sc_path_args) whose path is certainly local, where the full
 *    handler (route.c, vos_path_resolve) would hand the kernel the same
 *    arguments:
 *      - an absolute path not under any route prefix, with no ".."
 *        component, not a magic link ("/proc/" or "/dev/fd/": it may name
 *        a remote fd);
 *      - a relative path that names no prefix's last component ("storage"
 *        for "/storage"), under the cwd while the cwd is a local directory
 *        outside every prefix (vos_cwd_plain), with no ".." component; or
 *        under a plain local dirfd.  A relative path can only reach a
 *        prefix from outside it through that component (route.c's rule for
 *        local dirfds, local_dirfd_path);
 *      - an empty path: with AT_EMPTY_PATH it is the dirfd itself (a plain
 *        local fd, or the cwd while it is plain; glibc's fstat() is
 *        newfstatat(fd, "", AT_EMPTY_PATH)), without it ENOENT.
 *    Anything else, or anything odd (a pointer below the trampoline's
 *    page or above user space, a path longer than PATH_BUF - 1 bytes, a
 *    fault while reading it, the fault handler not installed yet, a
 *    routing table the snapshot cannot hold), goes to the full handler.
 *    Never the other way round: a routed path never reaches the kernel.
 *
 * The path is read once, into a buffer on the stack, with uaccess.c's
 * fault-safe copy (vos_ua_strncpy: a fault resumes at its fixup and gives
 * -EFAULT, then the full handler answers EFAULT as the kernel would).
 * The kernel reads the program's string again, as after the full handler
 * (which also passes the program's own pointer for a local path).
 *
 * The routing table is a snapshot taken once at start-up
 * (vos_precheck_routes, from route.c), plain memory that never changes
 * afterwards; the cwd state is one int route.c keeps (vos_cwd_plain).
 *
 * Compiled with -mgeneral-regs-only and without sanitizers (Makefile): it
 * runs inside whatever code made the system call, with the program's vector
 * registers live.  It calls nothing but vos_ua_strncpy (a few lines of
 * assembly on general registers), makes no system call, takes no lock and
 * only loads shared data.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include "common/vosconf.h"
#include "fdtable.h"
#include "syscall_precheck.h"
#include "syscall_table.h"

/* The longest path the precheck reads (with its NUL): longer ones go to
 * the full handler.  Stack: the precheck runs on the program's stack, also
 * on small alternate signal stacks. */
#define PATH_BUF 384
/* What a prefix may have for the snapshot to hold it. */
#define PREFIX_MAX 128

/* Above the largest user address (uaccess.c's USER_END). */
#define USER_END ((uintptr_t)1 << 56)

int vos_cwd_plain;

static struct {
	int usable;             /* 0: every path call goes to the full handler */
	int n;
	uint64_t last_lens;     /* bit n: some prefix's last component is n bytes */
	struct {
		unsigned len;           /* of the prefix, "/a/b" */
		unsigned last;          /* where its last component starts */
		char s[PREFIX_MAX];
	} r[VOS_CONF_MAX_ROUTES];
} routes;

void vos_precheck_routes(const struct vos_conf *conf)
{
	int n = conf->nroutes;

	routes.usable = 0;
	routes.last_lens = 0;
	if (n < 0 || n > VOS_CONF_MAX_ROUTES)
		return;
	for (int i = 0; i < n; i++) {
		const struct vos_conf_route *rt = &conf->routes[i];
		unsigned len = (unsigned)rt->len, last = 0;

		if (len < 2 || len >= PREFIX_MAX || rt->prefix[0] != '/')
			return;         /* "/" routes everything */
		for (unsigned j = 0; j < len; j++) {
			routes.r[i].s[j] = rt->prefix[j];
			if (rt->prefix[j] == '/')
				last = j + 1;
		}
		routes.r[i].s[len] = '\0';
		routes.r[i].len = len;
		routes.r[i].last = last;
		if (len - last < 64)
			routes.last_lens |= 1ull << (len - last);
		else
			return;
	}
	routes.n = n;
	routes.usable = 1;
}

static int same(const char *a, const char *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* Is the component c[0..n) the last component of some prefix? */
static int prefix_last(const char *c, unsigned n)
{
	if (n >= 64 || !((routes.last_lens >> n) & 1))
		return 0;               /* no prefix ends in a component this long */
	for (int i = 0; i < routes.n; i++)
		if (routes.r[i].len - routes.r[i].last == n &&
		    same(routes.r[i].s + routes.r[i].last, c, n))
			return 1;
	return 0;
}

/* One pass over the components of s: 0 if one is ".." or, with `last`, the
 * last component of some prefix; else 1. */
static int components_ok(const char *s, int last)
{
	const char *c = s, *e;

	for (;;) {
		while (*c == '/')
			c++;
		if (!*c)
			return 1;
		for (e = c; *e && *e != '/'; e++)
			;
		if (e - c == 2 && c[0] == '.' && c[1] == '.')
			return 0;
		if (last && prefix_last(c, (unsigned)(e - c)))
			return 0;
		c = e;
	}
}

/* The next component of s at or after *at, skipping "" and "." ones:
 * its start, its length in *n; NULL at the end. */
static const char *next_component(const char *s, unsigned *at, unsigned *n)
{
	unsigned i = *at, j;

	for (;;) {
		while (s[i] == '/')
			i++;
		if (!s[i])
			return 0;
		for (j = i; s[j] && s[j] != '/'; j++)
			;
		if (j - i == 1 && s[i] == '.') {
			i = j;
			continue;
		}
		*at = j;
		*n = j - i;
		return s + i;
	}
}

/* Does the absolute path (no ".." in it) lie under prefix r, lexically?
 * Most paths differ in their first component: one step. */
static int under_prefix(const char *path, int r)
{
	const char *pre = routes.r[r].s;
	unsigned pat = 0, qat = 0, pn, qn;
	const char *pc, *qc;

	while ((qc = next_component(pre, &qat, &qn)) != 0) {
		pc = next_component(path, &pat, &pn);
		if (!pc || pn != qn || !same(pc, qc, qn))
			return 0;
	}
	return 1;
}

/* Is the absolute path certainly outside every prefix? */
static int absolute_local(const char *path)
{
	if (same(path, "/proc/", 6) || same(path, "/dev/fd/", 8))
		return 0;               /* a magic link may name a remote fd */
	if (!components_ok(path, 0))
		return 0;
	for (int i = 0; i < routes.n; i++)
		if (under_prefix(path, i))
			return 0;
	return 1;
}

/* Can the relative path reach no prefix ("..": counted as risky too)? */
static int relative_local(const char *path)
{
	return components_ok(path, 1);
}

static int dirfd_plain(int dirfd)
{
	if (dirfd == AT_FDCWD)
		return __atomic_load_n(&vos_cwd_plain, __ATOMIC_RELAXED);
	return vos_fd_entry_inline(dirfd) == 0;
}

static int path_local(const struct vos_sc_path_args *pa, const long a[6])
{
	char buf[PATH_BUF];
	uintptr_t up = (uintptr_t)a[pa->path];
	int dirfd = pa->dirfd >= 0 ? (int)a[pa->dirfd] : AT_FDCWD;
	long len;

	if (!routes.usable ||
	    !__atomic_load_n(&vos_ua_installed, __ATOMIC_ACQUIRE) ||
	    up < __atomic_load_n(&vos_ua_low, __ATOMIC_RELAXED) || up >= USER_END - PATH_BUF)
		return 0;
	len = vos_ua_strncpy(buf, (const char *)up, PATH_BUF);
	if (len < 0)
		return 0;               /* a fault, or longer than the buffer */
	if (len == 0) {
		if (pa->flags < 0 || !(a[pa->flags] & AT_EMPTY_PATH))
			return 1;       /* the kernel says ENOENT */
		return dirfd_plain(dirfd);
	}
	if (buf[0] == '/')
		return absolute_local(buf);
	return relative_local(buf) && dirfd_plain(dirfd);
}

/* fcntl on a plain local fd: the handler (sc_fcntl) passes every command
 * through, and only for F_DUPFD(_CLOEXEC) looks at the result (a stale
 * entry of the new number).  Directory walkers (tar, find) make one per
 * directory. */
static int fcntl_local(const long a[6])
{
	return a[1] != F_DUPFD && a[1] != F_DUPFD_CLOEXEC && vos_fd_entry_inline((int)a[0]) == 0;
}

int vos_syscall_precheck(long nr, const long a[6])
{
	const struct vos_sc_path_args *pa;
	unsigned mask;

	if ((unsigned long)nr >= VOS_SC_MAX)
		return 0;
	mask = __atomic_load_n(&vos_sc_local_fds[nr], __ATOMIC_RELAXED);
	if (mask) {
		for (int i = 0; i < 6; i++)
			if (((mask >> i) & 1) && vos_fd_entry_inline((int)a[i]) != 0)
				return 0;
		return 1;
	}
	if (nr == SYS_fcntl)
		return fcntl_local(a);
	pa = &vos_sc_path_args[nr];
	if (!pa->on)
		return 0;
	return path_local(pa, a);
}
