/*
 * local.h - inside the local transport (transport_local.h is its interface).
 *
 *   ops.c    the transport object and its data path (kick, wait, liveness,
 *            close), shared by both sides
 *   sock.c   the rendezvous socket: its path, timeouts, a message with fds
 *   front.c  client side: create, connect, adopt after exec (libvirtuos.so)
 *   back.c   service side: listen, accept, attach (vos-serviced only)
 *
 * Raw system calls only (vos_sys.h) in everything libvirtuos.so links: the
 * libc names are the interposer's wrappers there.
 */
#ifndef VOS_LOCAL_H
#define VOS_LOCAL_H

#include <stddef.h>
#include <sys/un.h>
#include "../transport_local.h"

struct local_xport {
	struct vos_xport x;     /* first: the public part */
	int sock, memfd, to_service, to_client;
	int kick_fd;            /* where the peer kicks us */
	int notify_fd;          /* where we kick the peer */
};

/* ops.c */
struct local_xport *local_new(void);            /* all fds -1, ops set; NULL */
void local_set_client_side(struct local_xport *l);
void local_set_service_side(struct local_xport *l);
/* Map l->memfd (size bytes, shared, read/write) into l->x.  0 or -errno. */
int local_map(struct local_xport *l, size_t size);
void local_close(struct vos_xport *x);

/* sock.c */
/* <rundir>/<service>.sock.  0, -EINVAL, -ENAMETOOLONG. */
int local_sock_path(const char *rundir, const char *service, struct sockaddr_un *sa);
/* SO_SNDTIMEO and SO_RCVTIMEO (0: none). */
void local_set_timeouts(int fd, int ms);
/* Send buf with n descriptors attached (n <= 4).  0 or -errno (-ETIMEDOUT). */
int local_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int n);

#endif
