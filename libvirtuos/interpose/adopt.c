/*
 * adopt.c - the new image's side of exec (and of posix_spawn, system and
 * popen): take over the channels the old image handed down
 * (VOS_CHANNEL_FDS, see exec.c), find our placeholders among the
 * inherited fds in /proc/self/fd and rebuild the fd table from them, tell
 * each service which of its fds this image still holds (VOS_OP_EXEC, so
 * the close-on-exec ones are closed there too) and our ids (creds.c), and
 * take over the virtual cwd (VOS_CWD).
 *
 * A channel whose owner is another process (adopt fails with ESRCH) is
 * our parent's, handed to a spawned child: we connect with
 * VOS_HELLO_FORK_LIVE and the channel's token, and the service forks our
 * shadow at that moment.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "interpose_internal.h"

#define CHAN_VAR VOS_ENV_CHANNEL_FDS
#define CWD_VAR  VOS_ENV_CWD

static void close_fds(const int fds[4])
{
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			real_close(fds[i]);
}

/* Take over one channel named in VOS_CHANNEL_FDS ("name:a,b,c,d"). */
static void adopt_one(char *item)
{
	struct vos_client_config cfg = vos_cfg;
	struct vos_client *c = NULL;
	struct vos_conn *conn;
	uint8_t token[VOS_TOKEN_LEN];
	char *colon = strchr(item, ':'), extra;
	int fds[4], svc, adopted = 0;

	if (!colon)
		return;
	*colon = '\0';
	if (sscanf(colon + 1, "%d,%d,%d,%d%c", &fds[0], &fds[1], &fds[2], &fds[3], &extra) != 4)
		return;
	for (int i = 0; i < 4; i++)
		if (fds[i] < -1 || fds[i] >= VOS_FD_LIMIT)
			return;
	svc = vos_service_find(item);
	if (svc < 0 || atomic_load(&vos_services[svc].conn)) {
		close_fds(fds);         /* a channel this image does not route to */
		return;
	}
	vos_service_cfg(svc, &cfg);
	c = vos_client_adopt(&cfg, fds);
	if (c) {
		adopted = 1;
	} else if (errno == ESRCH && vos_client_peek_token(fds, token) == 0) {
		/* Our parent's channel (posix_spawn/system/popen child). */
		cfg.umask = vos_umask_current();
		c = vos_client_connect(&cfg, VOS_HELLO_FORK_LIVE, token);
	}
	if (adopted) {
		for (int i = 0; i < 4; i++)
			if (fds[i] >= 0)
				real_fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	} else {
		close_fds(fds);
	}
	if (!c)
		return;
	c = vos_client_relocate(&cfg, c);
	conn = vos_conn_new(c, vos_service_next_gen(svc));
	if (conn)
		vos_service_install(svc, conn);
	else
		vos_client_close(c);
}

static int placeholder_of(const char *target)
{
	char buf[PATH_MAX];
	size_t n = strlen(target);
	static const char deleted[] = " (deleted)";

	snprintf(buf, sizeof(buf), "%s", target);
	if (n >= sizeof(deleted) - 1 && strcmp(buf + n - (sizeof(deleted) - 1), deleted) == 0)
		buf[n - (sizeof(deleted) - 1)] = '\0';
	for (int i = 0; i < vos_nservices; i++) {
		const struct vos_service *s = &vos_services[i];

		if (strcmp(buf, s->placeholder) == 0 ||
		    (s->placeholder_real[0] && strcmp(buf, s->placeholder_real) == 0))
			return i;
	}
	return -1;
}

struct fdlist {
	int32_t *fds;
	uint32_t n, cap;
};

static void fdlist_add(struct fdlist *l, int fd)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? 2 * l->cap : 64;
		int32_t *p = realloc(l->fds, cap * sizeof(*p));

		if (!p)
			return;
		l->fds = p;
		l->cap = cap;
	}
	l->fds[l->n++] = fd;
}

/* Find our placeholders among the inherited fds; tell each service which
 * of its fds this image still holds. */
static void rebuild_fd_table(void)
{
	struct fdlist lists[VOS_MAX_SERVICES] = { { 0 } };
	char dbuf[4096], link[PATH_MAX], proc[64];
	int dfd = real_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf))) > 0) {
		for (long off = 0; off < n;) {
			unsigned short reclen;
			const char *name = dbuf + off + 19;     /* d_name in linux_dirent64 */
			char *end;
			long fd;
			ssize_t k;
			int svc;

			memcpy(&reclen, dbuf + off + 16, sizeof(reclen));
			off += reclen;
			fd = strtol(name, &end, 10);
			if (*end || end == name || fd == dfd || fd < 0 || fd >= VOS_FD_LIMIT ||
			    VOS_FDE_KIND(vos_fd_entry((int)fd)) == VOS_FDK_INTERNAL)
				continue;
			snprintf(proc, sizeof(proc), "/proc/self/fd/%ld", fd);
			k = real_readlink(proc, link, sizeof(link) - 1);
			if (k <= 0)
				continue;
			link[k] = '\0';
			svc = placeholder_of(link);
			if (svc >= 0)
				fdlist_add(&lists[svc], (int)fd);
		}
	}
	real_close(dfd);

	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);
		uint32_t keep = conn ? lists[i].n : 0;

		if (conn) {
			struct vos_req r = { .op = VOS_OP_EXEC };
			struct vos_in in = { 1, lists[i].fds, 0 };
			uint32_t max = (uint32_t)(vos_client_slot_size(conn->client) / sizeof(int32_t));

			/* Fds beyond one slot's list are left dead (EIO). */
			if (keep > max)
				keep = max;
			r.arg[0] = keep;
			in.len = keep * sizeof(int32_t);
			if (vos_rpc(conn->client, &r, &in, keep ? 1 : 0, NULL, 0, 0) < 0)
				keep = 0;
		}
		for (uint32_t j = 0; j < lists[i].n; j++)
			vos_fd_set(lists[i].fds[j], VOS_FDE_REMOTE(i, j < keep ? conn->gen : 0));
		free(lists[i].fds);
	}
}

void vos_exec_adopt(void)
{
	char *v = getenv(CHAN_VAR), *copy, *save = NULL;

	if (v) {
		copy = strdup(v);
		unsetenv(CHAN_VAR);
		if (copy)
			for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
				adopt_one(t);
		free(copy);
	}
	rebuild_fd_table();
	/* The shadows still have the ids of the image (or parent) they
	 * served; this one may run with others (a set-user-ID binary, ids
	 * changed between fork and exec).  Told after EXEC, which waits for
	 * requests of the old image still running. */
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = vos_service_live(i);

		if (conn)
			vos_creds_send(conn, "exec");
	}
	/* The parent's virtual cwd (an absolute path; anything else is ignored). */
	v = getenv(CWD_VAR);
	if (v) {
		copy = strdup(v);
		unsetenv(CWD_VAR);
		if (copy && copy[0] == '/' && strlen(copy) < PATH_MAX)
			vos_cwd_set_virtual(copy);
		free(copy);
	}
}
