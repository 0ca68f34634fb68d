/*
 * roles.c - the roles a vos-serviced can take (--role), and what each one
 * sets up before it serves.
 *
 * A role is a kind of service: its channels carry that enum
 * vos_service_kind, and it serves the operations vos_ops.def gives to that
 * kind plus the session operations (optable.c answers -ENOSYS to the
 * rest).  Everything else (the daemon loop, shadows, credentials, fork and
 * exec, workers, the fd table) is the same for every role.  A new role is
 * one struct vos_role here, listed in vos_roles[], plus its operations.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serviced.h"

/* ---- storage: files under an export root ------------------------------------ */

static int storage_open(const struct vos_serviced_opts *o, struct vos_root *root)
{
	return vos_root_open(root, o->root_dir);
}

/* Resolve in a view where the export sits at the mount point (view.c), so
 * that absolute symlinks into the mount point resolve here; without one,
 * every absolute symlink goes back to the client (-VOS_ELINKOUT), which
 * routes it (one more round trip for those into the export). */
static void storage_setup(const struct vos_serviced_opts *o, struct vos_root *root)
{
	if (strcmp(o->mount_point, "/") == 0)
		return;         /* the export is the clients' "/": nothing to add */
	if (geteuid() != 0) {
		vos_log("warning: not root: no view, absolute symlinks are all followed by the clients");
		return;
	}
	struct vos_root v;
	int err = vos_view_setup(o->rundir, o->name, o->root_dir, o->mount_point, &v);
	if (err) {
		vos_log("warning: cannot set up the view at %s (%s): absolute symlinks "
			"are all followed by the clients", o->mount_point, strerror(-err));
		return;
	}
	vos_root_close(root);
	*root = v;
}

static const struct vos_role storage = {
	.name = "storage",
	.kind = VOS_SVC_STORAGE,
	.exports_dir = 1,
	.open = storage_open,
	.setup = storage_setup,
	.cleanup = vos_view_remove,
};

/* ---- network: AF_INET and AF_INET6 sockets (ops_net.c) ------------------------ */

/* --net-namespace: the sockets live in a network namespace of the daemon's
 * own (its shadows inherit it), with only the loopback device, up; a test
 * then sees a client's listener there and not in the host's stack. */
static int network_open(const struct vos_serviced_opts *o, struct vos_root *root)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s, err = 0;

	(void)root;
	if (!o->net_namespace)
		return 0;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
	}
	close(s);
	if (!err)
		vos_log("in a network namespace of its own (lo up)");
	return err;
}

static const struct vos_role network = {
	.name = "network",
	.kind = VOS_SVC_NETWORK,
	.exports_dir = 0,
	.open = network_open,
};

/* ---- the list ---------------------------------------------------------------- */

const struct vos_role *const vos_roles[] = {
	&storage,
	&network,
	NULL,
};

const struct vos_role *vos_role_find(const char *name)
{
	for (unsigned i = 0; vos_roles[i]; i++)
		if (strcmp(vos_roles[i]->name, name) == 0)
			return vos_roles[i];
	return NULL;
}
