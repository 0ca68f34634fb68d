/*
 * front.c - the local transport's client side (see transport_local.h):
 * create the channel memory and eventfds, hand them to the service, adopt
 * them again after exec.  Linked into libvirtuos.so.
 *
 * The client seals its memfd against shrinking and growing before handing it
 * over: a service maps memory it does not own, and a memfd the client could
 * shrink later would turn service accesses into SIGBUS.  The service refuses
 * a memfd without F_SEAL_SHRINK (back.c).
 *
 * A program whose hard RLIMIT_FSIZE is below the channel's size (after
 * "ulimit -f N", without CAP_SYS_RESOURCE) cannot size the memfd itself,
 * and natively the limit does not concern a library's memory.  Then the
 * service does it, before the seals, on a connection of its own
 * (VOS_HELLO_SIZE_MEMFD): it is another process, under its own limit, and
 * the only one this client trusts with its channel anyway.  Sizing the
 * memfd early (at load, before the program lowers its limit) would miss a
 * limit inherited at exec and a child's new channel; the service could
 * also create the memfd and send it, but then the client would have to
 * check a service's memfd, seals and all, on every connect.
 *
 * Raw system calls only (vos_sys.h): in the preload library the libc names
 * are the interposer's wrappers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "local.h"
#include "../channel.h"
#include "../memfd.h"
#include "../vos_sys.h"

#define CONNECT_TIMEOUT_MS 5000

static int size_by_service(const char *rundir, const char *service, int memfd, size_t size);

int vos_local_create(size_t size, const char *rundir, const char *service,
		     struct vos_xport **out)
{
	struct local_xport *l;
	int err;

	if (size < VOS_PAGE_SIZE)
		return -EINVAL;
	l = local_new();
	if (!l)
		return -ENOMEM;
	l->memfd = (int)vos_sys_ret(syscall(SYS_memfd_create, "vos-channel",
					    MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (l->memfd < 0) {
		err = l->memfd;
		l->memfd = -1;
		goto fail;
	}
	/* Not limited by the program's RLIMIT_FSIZE (memfd.h); past a hard
	 * limit we cannot raise, by the service's (rendezvous.h). */
	err = vos_memfd_truncate(l->memfd, (off_t)size);
	if (err == -EFBIG && rundir)
		err = size_by_service(rundir, service, l->memfd, size);
	if (err < 0)
		goto fail;
	err = (int)vos_sys_fcntl(l->memfd, F_ADD_SEALS,
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	if (err < 0)
		goto fail;
	err = local_map(l, size);
	if (err < 0)
		goto fail;
	l->to_service = (int)vos_sys_ret(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (l->to_service < 0) {
		err = l->to_service;
		l->to_service = -1;
		goto fail;
	}
	l->to_client = (int)vos_sys_ret(syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (l->to_client < 0) {
		err = l->to_client;
		l->to_client = -1;
		goto fail;
	}
	local_set_client_side(l);
	*out = &l->x;
	return 0;
fail:
	local_close(&l->x);
	return err;
}

/* Connect to the service's socket, send hello with n fds, wait (bounded)
 * for the reply.  The connected socket (its timeouts still set) or -errno. */
static int hello_exchange(const char *rundir, const char *service, const struct vos_hello *hello,
			  const int *fds, int n, struct vos_hello_reply *reply)
{
	struct sockaddr_un sa;
	struct vos_hello_reply rep;
	int sock, err;

	err = local_sock_path(rundir, service, &sa);
	if (err)
		return err;
	sock = (int)vos_sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return sock;
	/* Bounds connect (full backlog), send and the wait for the reply. */
	local_set_timeouts(sock, CONNECT_TIMEOUT_MS);
	do
		err = (int)vos_sys_connect(sock, &sa, sizeof(sa));
	while (err == -EINTR);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
	if (err)
		goto fail;
	err = local_send_with_fds(sock, hello, sizeof(*hello), fds, n);
	if (err)
		goto fail;

	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	/* No control buffer: any descriptors the peer sends are discarded. */
	do
		r = vos_sys_recvmsg(sock, &m, 0);
	while (r == -EINTR);
	if (r < 0) {
		err = r == -EAGAIN ? -ETIMEDOUT : (int)r;
		goto fail;
	}
	if (r == 0) {
		err = -ECONNRESET;
		goto fail;
	}
	if ((size_t)r != sizeof(rep) || (m.msg_flags & MSG_TRUNC)) {
		err = -EPROTO;
		goto fail;
	}
	if (rep.status != 0) {
		/* Only a plausible -errno is passed through. */
		err = (rep.status < 0 && rep.status > -4096) ? rep.status : -EPROTO;
		goto fail;
	}
	if (reply)
		*reply = rep;
	return sock;
fail:
	vos_sys_close(sock);
	return err;
}

int vos_local_connect(struct vos_xport *x, const char *rundir, const char *service,
		      const struct vos_hello *hello, struct vos_hello_reply *reply)
{
	struct local_xport *l = (struct local_xport *)x;
	int fds[3] = { l->memfd, l->to_service, l->to_client };
	int sock;

	if (l->sock >= 0)
		return -EISCONN;
	sock = hello_exchange(rundir, service, hello, fds, 3, reply);
	if (sock < 0)
		return sock;
	local_set_timeouts(sock, 0);
	l->sock = sock;
	return 0;
}

/* The service grows our memfd (VOS_HELLO_SIZE_MEMFD); we check it did. */
static int size_by_service(const char *rundir, const char *service, int memfd, size_t size)
{
	struct vos_hello hello = { .magic = VOS_HELLO_MAGIC, .version = VOS_PROTO_VERSION,
				   .kind = VOS_HELLO_SIZE_MEMFD, .size = size };
	struct stat st;
	int sock = hello_exchange(rundir, service, &hello, &memfd, 1, NULL);

	if (sock < 0)
		return sock == -EPROTO ? -EFBIG : sock;  /* an older service */
	vos_sys_close(sock);
	if (vos_sys_fstat(memfd, &st) < 0 || (uint64_t)st.st_size != size)
		return -EFBIG;
	return 0;
}

void vos_local_get_fds(const struct vos_xport *x, struct vos_local_fds *fds)
{
	const struct local_xport *l = (const struct local_xport *)x;

	fds->sock = l->sock;
	fds->memfd = l->memfd;
	fds->to_service = l->to_service;
	fds->to_client = l->to_client;
}

int vos_local_adopt(const struct vos_local_fds *fds, struct vos_xport **out)
{
	struct local_xport *l;
	struct stat st;
	int err;

	if (fds->memfd < 0 || fds->to_service < 0 || fds->to_client < 0)
		return -EBADF;
	err = (int)vos_sys_fstat(fds->memfd, &st);
	if (err)
		return err;
	if (!S_ISREG(st.st_mode) || st.st_size < VOS_PAGE_SIZE ||
	    (uint64_t)st.st_size > vos_channel_bytes(VOS_MAX_SLOTS, VOS_MAX_SLOT_SIZE))
		return -EPROTO;
	l = local_new();
	if (!l)
		return -ENOMEM;
	l->memfd = fds->memfd;
	err = local_map(l, (size_t)st.st_size);
	if (err) {
		l->memfd = -1;          /* not ours yet: the caller keeps its fds on failure */
		local_close(&l->x);
		return err;
	}
	l->sock = fds->sock;
	l->to_service = fds->to_service;
	l->to_client = fds->to_client;
	/* The exec path cleared close-on-exec to carry them over; restore it. */
	int all[4] = { l->sock, l->memfd, l->to_service, l->to_client };
	for (int i = 0; i < 4; i++)
		if (all[i] >= 0)
			vos_sys_fcntl(all[i], F_SETFD, FD_CLOEXEC);
	local_set_client_side(l);
	*out = &l->x;
	return 0;
}

int vos_local_placeholder_path(const char *rundir, const char *service, char *buf, size_t len)
{
	int n;

	if (!rundir || !service || !*service)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s.remote-fd", rundir, service);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
