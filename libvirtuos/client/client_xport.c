/*
 * client_xport.c - the local and Xen transports as seen by the client call
 * engine (see client_xport.h): argument checks, the descriptor slots, and
 * which transport a name stands for.
 *
 * In the LD_PRELOAD library: raw system calls only (vos_sys.h), mmap too
 * (the interposer wraps it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "client_xport.h"
#include "../channel/transport_local.h"
#include "../channel/transport_xen.h"
#include "../channel/vos_sys.h"

/* ---- local: memfd + eventfds + Unix socket ---- */

static int local_create(const struct vos_client_config *cfg, size_t size, struct vos_xport **out)
{
	if (!cfg->rundir)
		return -EINVAL;
	return vos_local_create(size, cfg->rundir, cfg->service, out);
}

static int local_connect(struct vos_xport *xp, const struct vos_client_config *cfg,
			 const struct vos_hello *hello, struct vos_hello_reply *reply)
{
	return vos_local_connect(xp, cfg->rundir, cfg->service, hello, reply);
}

static void local_get_fds(const struct vos_xport *xp, int fds[4])
{
	struct vos_local_fds f;

	vos_local_get_fds(xp, &f);
	fds[0] = f.sock;
	fds[1] = f.memfd;
	fds[2] = f.to_service;
	fds[3] = f.to_client;
}

static int local_adopt(const int fds[4], struct vos_xport **out)
{
	struct vos_local_fds f = { fds[0], fds[1], fds[2], fds[3] };

	return vos_local_adopt(&f, out);
}

static int local_peek_header(const int fds[4], void *buf, size_t len)
{
	struct stat st;
	long h;

	if (len > VOS_PAGE_SIZE)
		return -EINVAL;
	if (fds[1] < 0)
		return -EBADF;
	if (vos_sys_fstat(fds[1], &st) < 0 || st.st_size < VOS_PAGE_SIZE)
		return -EPROTO;
	h = vos_sys_mmap(NULL, VOS_PAGE_SIZE, PROT_READ, MAP_SHARED, fds[1], 0);
	if (h < 0)
		return (int)h;
	memcpy(buf, (void *)h, len);
	vos_sys_munmap((void *)h, VOS_PAGE_SIZE);
	return 0;
}

/* ---- xen: gntalloc + event channel + xenstore ---- */

static int xen_create(const struct vos_client_config *cfg, size_t size, struct vos_xport **out)
{
	return vos_xen_create(cfg->service, size, out);
}

static int xen_connect(struct vos_xport *xp, const struct vos_client_config *cfg,
		       const struct vos_hello *hello, struct vos_hello_reply *reply)
{
	(void)cfg;      /* the service domain was found by name in create */
	return vos_xen_connect(xp, hello, reply);
}

static void xen_get_fds(const struct vos_xport *xp, int fds[4])
{
	struct vos_xen_fds f;

	vos_xen_get_fds(xp, &f);
	fds[0] = -1;
	fds[1] = f.gntalloc;
	fds[2] = f.evtchn;
	fds[3] = -1;
}

/* Slots 0 and 3 are unused: anything there means the descriptors were made
 * by another transport. */
static int xen_slots(const int fds[4], struct vos_xen_fds *f)
{
	if (fds[0] != -1 || fds[3] != -1)
		return -EPROTO;
	f->gntalloc = fds[1];
	f->evtchn = fds[2];
	return 0;
}

static int xen_adopt(const int fds[4], struct vos_xport **out)
{
	struct vos_xen_fds f;
	int err = xen_slots(fds, &f);

	return err ? err : vos_xen_adopt(&f, out);
}

static int xen_peek_header(const int fds[4], void *buf, size_t len)
{
	struct vos_xen_fds f;
	int err = xen_slots(fds, &f);

	return err ? err : vos_xen_peek_header(&f, buf, len);
}

static const struct vos_client_xport transports[] = {
	{
		.name = "local",
		.create = local_create,
		.connect = local_connect,
		.get_fds = local_get_fds,
		.adopt = local_adopt,
		.release = vos_local_release,
		.peek_header = local_peek_header,
	},
	{
		.name = "xen",
		.create = xen_create,
		.connect = xen_connect,
		.get_fds = xen_get_fds,
		.adopt = xen_adopt,
		.release = vos_xen_release,
		.peek_header = xen_peek_header,
		.prepare = vos_xen_client_prepare,
	},
};

const struct vos_client_xport *vos_client_xport_find(const char *name)
{
	if (!name) {
		name = getenv("VOS_TRANSPORT");
		if (!name || !*name)
			name = "local";
	}
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i].name, name) == 0)
			return &transports[i];
	return NULL;
}
