/*
 * sockaddr.c - AF_UNIX socket addresses are paths too.
 *
 * bind() makes a socket node at its path and connect() looks one up, so a
 * path under a routed prefix must not reach the local kernel: it would
 * make the node in the real directory behind the route (or, relative to a
 * virtual cwd, in the kernel's cwd).  A service cannot hold our socket (in
 * Xen mode it is in another domain; no operation carries sockets), so such
 * a call fails with EOPNOTSUPP ("operation not supported" for this
 * address), documented in README.md.  A relative path under a virtual cwd
 * that leads back to local files is given to the kernel absolute (it must
 * then fit in sun_path: ENAMETOOLONG otherwise).  Abstract and unnamed
 * addresses, and other families, are never paths: passed through.
 *
 * vos_sockaddr_route is what the system-call dispatcher calls for bind and
 * connect (and sendto/sendmsg addresses later); the wrappers below are the
 * glibc-level entry points until then.
 */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include "interpose_internal.h"
#include "dispatch/dispatch.h"

int vos_sockaddr_route(const struct sockaddr *addr, socklen_t len, struct sockaddr_un *buf,
		       const struct sockaddr **out, socklen_t *outlen)
{
	const size_t path_off = offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(buf->sun_path) + 1];
	struct vos_path p;
	sa_family_t family;
	size_t n;
	int r;

	*out = addr;
	*outlen = len;
	/* Anything the kernel refuses by length, it refuses before reading. */
	if (len <= path_off || len > sizeof(struct sockaddr_storage))
		return 0;
	if (vos_copy_from_user(&family, addr, sizeof(family)) < 0) {
		errno = EFAULT;
		return -1;
	}
	if (family != AF_UNIX)
		return 0;
	/* The path need not end in a NUL: the kernel reads at most
	 * sizeof(sun_path) bytes and adds one. */
	n = len - path_off < sizeof(buf->sun_path) ? len - path_off : sizeof(buf->sun_path);
	memset(path, 0, sizeof(path));
	if (vos_copy_from_user(path, (const char *)addr + path_off, n) < 0) {
		errno = EFAULT;
		return -1;
	}
	if (path[0] == '\0')
		return 0;               /* abstract */
	r = vos_path_resolve(AT_FDCWD, path, 0, &p);
	if (r == 1) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (r == 0 && p.path != path) {
		/* Rewritten (a virtual cwd): the kernel gets the local path. */
		size_t plen = strlen(p.path);

		if (plen >= sizeof(buf->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memset(buf, 0, sizeof(*buf));
		buf->sun_family = AF_UNIX;
		memcpy(buf->sun_path, p.path, plen + 1);
		*out = (const struct sockaddr *)buf;
		*outlen = (socklen_t)(path_off + plen + 1);
	}
	return r;
}

/* bind(2) and connect(2), from the dispatcher (syscall_table.c): the
 * address as vos_sockaddr_route() leaves it, or its error as -errno. */
long vos_sockaddr_call(long nr, long a[6])
{
	struct sockaddr_un buf;
	const struct sockaddr *addr;
	socklen_t alen;
	long b[6];

	if (vos_sockaddr_route((const struct sockaddr *)a[1], (socklen_t)a[2], &buf, &addr,
			       &alen) < 0)
		return -errno;
	memcpy(b, a, sizeof(b));
	b[1] = (long)addr;
	b[2] = (long)alen;
	return vos_dispatch_raw(nr, b);
}
