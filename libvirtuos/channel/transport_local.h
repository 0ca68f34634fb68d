/*
 * transport_local.h - the local transport: the service "domain" is a process
 * on the same Linux host.
 *
 *   memory        a memfd created and sized by the client, mapped by both
 *   notification  two eventfds: to_service (client kicks service) and
 *                 to_client (service kicks client)
 *   rendezvous    a SOCK_SEQPACKET Unix socket at <rundir>/<service>.sock.
 *                 The client connects and sends one struct vos_hello with
 *                 SCM_RIGHTS [memfd, to_service, to_client].  The service
 *                 answers with one struct vos_hello_reply.  The connection
 *                 then stays open for the life of the channel: either side
 *                 sees the other's death as POLLHUP on it.
 *   placeholder   <rundir>/<service>.remote-fd, an empty file the client
 *                 opens with O_PATH to reserve fd numbers for remote files.
 *
 * Files (local/local.h): ops.c the object and data path, sock.c the
 * rendezvous socket, front.c the client side (in libvirtuos.so), back.c the
 * service side (vos-serviced only).
 */
#ifndef VOS_TRANSPORT_LOCAL_H
#define VOS_TRANSPORT_LOCAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include "transport.h"
#include "rendezvous.h"

/* Client side ------------------------------------------------------------ */

/* Create a memfd of `size` bytes, map it, make the eventfds.  *out->mem is
 * zeroed memory ready for vos_channel_format().  If the process's hard
 * RLIMIT_FSIZE is below size (and it cannot raise it), the service at
 * <rundir>/<service>.sock sizes the memfd (VOS_HELLO_SIZE_MEMFD; rundir NULL:
 * -EFBIG instead).  0 or -errno. */
int vos_local_create(size_t size, const char *rundir, const char *service,
		     struct vos_xport **out);
/* Connect to <rundir>/<service>.sock, send the hello and the fds, wait (bounded)
 * for the reply.  0 or -errno (the reply's status, or -ECONNREFUSED/-ENOENT/-ETIMEDOUT...). */
int vos_local_connect(struct vos_xport *x, const char *rundir, const char *service,
		      const struct vos_hello *hello, struct vos_hello_reply *reply);
/* Descriptors the client must keep across exec/fork decisions (-1 if unused). */
struct vos_local_fds { int sock, memfd, to_service, to_client; };
void vos_local_get_fds(const struct vos_xport *x, struct vos_local_fds *fds);
/* Rebuild a client transport from inherited descriptors (after exec). 0 or -errno.
 * On success the transport owns the descriptors; on failure they stay the caller's. */
int vos_local_adopt(const struct vos_local_fds *fds, struct vos_xport **out);
/* Unmap and free a transport WITHOUT closing its descriptors (undo an adopt). */
void vos_local_release(struct vos_xport *x);
/* Path of the placeholder file for a service. */
int vos_local_placeholder_path(const char *rundir, const char *service, char *buf, size_t len);

/* Service side (local/back.c, not in libvirtuos.so) ------------------------ */

/* Everything one accepted client brings.  Can be passed to another process. */
struct vos_local_conn {
	int sock, memfd, to_service, to_client;
	struct ucred cred;          /* from SO_PEERCRED, kernel-verified */
	struct vos_hello hello;     /* validated magic/version/kind */
};

/* Create and bind <rundir>/<service>.sock (replacing a stale one) and the
 * placeholder file.  Returns the listening fd or -errno. */
int vos_local_listen(const char *rundir, const char *service);
/* Accept one client and receive its hello.  0 or -errno; on error nothing is leaked. */
int vos_local_accept(int listen_fd, struct vos_local_conn *conn);
/* The same for a connection the caller accepted itself: takes sock (on error
 * it is closed after a best-effort reply).  A non-blocking sock must already
 * be readable (poll), else this fails with -ETIMEDOUT.  0 or -errno. */
int vos_local_accept_fd(int sock, struct vos_local_conn *conn);
/* Send / receive a conn over a Unix socket (daemon -> shadow handoff). 0 or -errno. */
int vos_local_conn_send(int sock, const struct vos_local_conn *conn);
int vos_local_conn_recv(int sock, struct vos_local_conn *conn);
void vos_local_conn_close(struct vos_local_conn *conn);
/* Answer the client on conn->sock. 0 or -errno. */
int vos_local_reply(const struct vos_local_conn *conn, const struct vos_hello_reply *reply);
/* Map the client's memfd (size taken from fstat, checked against max_size) and
 * build a service-side transport that owns the conn's fds. 0 or -errno.
 * The memfd must carry F_SEAL_SHRINK (else -EPERM) and the two notification
 * fds must be eventfds (else -EINVAL).  On success the conn's fds are set to
 * -1 (the transport owns them); on failure conn is left untouched. */
int vos_local_attach(struct vos_local_conn *conn, size_t max_size, struct vos_xport **out);

#endif
