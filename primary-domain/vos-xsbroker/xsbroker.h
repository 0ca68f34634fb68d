/*
 * xsbroker.h - vos-xsbroker, dom0's xenstore broker for non-root clients of
 * the Xen transport (protocol and guarantees: libvirtuos/channel/xen_broker.h).
 *
 *   main.c    options, the listening socket, the poll loop
 *   serve.c   one request: who the caller is, what it may touch, the job
 */
#ifndef VOS_XSBROKER_H
#define VOS_XSBROKER_H

#include <xenstore.h>

/* Read the one request on the connected socket fd, check it and the caller,
 * run the job on xs and send the reply.  The caller closes fd. */
void xsb_serve(struct xs_handle *xs, int fd);

#endif
