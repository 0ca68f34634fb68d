/*
 * reap.c - dom0 housekeeping of the Xen transport (vos-reap): remove the
 * xenstore nodes of client channels whose process no longer exists (killed
 * clients cannot clean up).  Not linked into libvirtuos.so.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xs.h"
#include "../transport_xen.h"

int vos_xen_reap_stale(void)
{
	struct xs_handle *xs;
	char base[VOS_XS_PATH_LEN];
	char **ids;
	unsigned n = 0;
	int err, reaped = 0;

	xs = vos_xs_connect(&err);
	if (!xs)
		return err;
	snprintf(base, sizeof(base), "/local/domain/%u/device/vos", VOS_XEN_PRIMARY_DOMID);
	ids = vos_xs.directory(xs, XBT_NULL, base, &n);
	if (!ids) {
		err = errno == ENOENT ? 0 : (errno ? -errno : -EIO);
		vos_xs.close(xs);
		return err;
	}
	for (unsigned i = 0; i < n; i++) {
		char dir[VOS_XS_PATH_LEN];
		uint64_t devid, pid;
		char *back;

		if (vos_xs_parse_u64(ids[i], UINT64_MAX, &devid))
			continue;
		vos_xs_frontend_path(dir, devid);
		if (vos_xs_get_u64(xs, XBT_NULL, dir, "pid", INT_MAX, &pid))
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		/* dom0 wrote this path itself; still only remove a backend dir. */
		back = vos_xs_get(xs, XBT_NULL, dir, "backend", &err);
		if (back && strncmp(back, "/local/domain/", 14) == 0 && strstr(back, "/backend/vos/"))
			vos_xs.rm(xs, XBT_NULL, back);
		free(back);
		if (vos_xs.rm(xs, XBT_NULL, dir))
			reaped++;
	}
	free(ids);
	vos_xs.close(xs);
	return reaped;
}
