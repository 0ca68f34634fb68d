/*
 * creds.c - our shadows act with our ids.
 *
 * A shadow opens files for us with the uid, gids and supplementary groups
 * it took when the channel was connected.  A process that changes them
 * (setpriv, a daemon dropping root, a set-user-ID program) must take its
 * shadows along, or a program started as root and now running as nobody
 * goes on opening root's files.  So each channel gets VOS_OP_SETCREDS with
 * what the kernel says our ids are:
 *  - after every successful set*id call (the wrappers below call the real
 *    function first: the service checks the claim against the kernel's view
 *    of us, in local mode /proc/<pid>/status);
 *  - when a new image adopts a channel (exec, spawn: adopt.c), since a
 *    set-user-ID binary, or set*id calls between fork and exec, may have
 *    given it ids its shadow does not have.
 * If the call fails or the service refuses, our ids have changed and the
 * shadow's have not.  The channel is then revoked: every later call on it
 * fails with EIO, and its socket is shut down so the shadow ends.  No call
 * is ever made with the old ids.  A later routed call connects a new
 * channel, whose shadow takes our ids at connect.
 *
 * The ids sent for file access are the filesystem ids (equal to the
 * effective ones unless setfsuid/setfsgid changed them): they are what the
 * kernel checks file permissions with.
 *
 * Ordering.  The wrappers hold the fd lock for reading, so a fork() happens
 * either before the set*id call or after the shadow has switched, and the
 * child's shadow (a fork of ours) has the child's ids.  Each SETCREDS is
 * sent under the service's connect lock: a channel another thread connects
 * meanwhile is either seen here or connected after the change, with the new
 * ids.
 *
 * Not covered: ids changed by raw system calls (syscall(SYS_setuid)); ids
 * of one thread that differ from the main thread's (setfsuid, a raw setuid
 * in a thread): the service compares with the main thread's ids, refuses,
 * and the channel is revoked; capabilities (a root client with reduced
 * capabilities is served with root's).
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>
#include "interpose_internal.h"

struct creds {
	uid_t ruid, fsuid;
	gid_t rgid, fsgid;
	int ngroups;
	gid_t *groups;                  /* malloc'ed, at least one entry */
};

/* Our ids now (the calling thread's).  0 or -errno. */
static int creds_get(struct creds *cr)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	cr->groups = NULL;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return -errno;
	cr->ruid = ruid;
	cr->rgid = rgid;
	/* An invalid id changes nothing; the result is the current one. */
	cr->fsuid = real_setfsuid ? (uid_t)real_setfsuid((uid_t)-1) : euid;
	cr->fsgid = real_setfsgid ? (gid_t)real_setfsgid((gid_t)-1) : egid;
	/* The list can grow between the two getgroups calls (another thread's
	 * setgroups): then EINVAL, try again; bounded. */
	for (int tries = 0; tries < 4; tries++) {
		int n = getgroups(0, NULL);

		if (n < 0)
			return -errno;
		free(cr->groups);
		cr->groups = malloc(((size_t)n + 1) * sizeof(gid_t));
		if (!cr->groups)
			return -ENOMEM;
		cr->ngroups = getgroups(n, cr->groups);
		if (cr->ngroups >= 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
	}
	return -EAGAIN;
}

static int creds_send(struct vos_conn *conn, const struct creds *cr)
{
	struct vos_req r = {
		.op = VOS_OP_SETCREDS,
		.arg = { cr->ruid, cr->fsuid, cr->rgid, cr->fsgid, cr->ngroups, 0 },
	};
	struct vos_in in = { 5, cr->groups, (size_t)cr->ngroups * sizeof(gid_t) };

	if (in.len > vos_client_slot_size(conn->client))
		return -E2BIG;          /* more groups than one request holds */
	return (int)vos_rpc(conn->client, &r, &in, 1, NULL, 0, 0);
}

static const char *service_name(const struct vos_conn *conn)
{
	for (int i = 0; i < vos_nservices; i++)
		if (atomic_load(&vos_services[i].conn) == conn)
			return vos_services[i].name;
	return "?";
}

/* Fail closed: nothing more goes through this channel. */
static void conn_revoke(struct vos_conn *conn)
{
	atomic_store_explicit(&conn->revoked, 1, memory_order_release);
	/* Local transport: the shadow sees the hang-up and ends; our calls in
	 * flight on it fail with EIO.  (Xen: fds[0] is -1.) */
	if (conn->fds[0] >= 0)
		shutdown(conn->fds[0], SHUT_RDWR);
}

/* The message about a revoked channel.  dprintf is our wrapper (fd 2 may be
 * remote), so never call this with a lock held. */
static void report_revoked(const char *why, const char *service, int err)
{
	int e = errno;

	dprintf(2, "libvirtuos: %s: service '%s' did not take this process's new ids (%s); "
		"its files fail with EIO from now on\n", why, service,
		strerrorname_np(-err) ? strerrorname_np(-err) : "error");
	errno = e;
}

int vos_creds_send(struct vos_conn *conn, const char *why)
{
	struct creds cr;
	int err = creds_get(&cr);

	if (!err)
		err = creds_send(conn, &cr);
	free(cr.groups);
	if (err < 0) {
		conn_revoke(conn);
		report_revoked(why, service_name(conn), err);
	}
	return err;
}

/* Channels creds_changed() revoked, reported once no lock is held. */
struct revoked {
	int n;
	int svc[VOS_MAX_SERVICES];
	int err[VOS_MAX_SERVICES];
};

/* After a successful set*id call: every live channel follows. */
static void creds_changed(struct revoked *rv)
{
	struct creds cr;
	int err = creds_get(&cr);

	for (int i = 0; i < vos_nservices; i++) {
		struct vos_service *s = &vos_services[i];
		struct vos_conn *conn;

		pthread_mutex_lock(&s->lock);
		conn = vos_service_live(i);
		if (conn) {
			int r = err ? err : creds_send(conn, &cr);

			if (r < 0) {
				conn_revoke(conn);
				rv->svc[rv->n] = i;
				rv->err[rv->n++] = r;
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	free(cr.groups);
}

static void report_all(const char *why, const struct revoked *rv)
{
	for (int i = 0; i < rv->n; i++)
		report_revoked(why, vos_services[rv->svc[i]].name, rv->err[i]);
}

/*
 * Around the real call (see "Ordering" above).  set*id calls of several
 * threads are serialised, so the last SETCREDS carries the last ids.
 * Signals stay blocked: a handler must not wait for a lock we hold.
 */
static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;

static void creds_begin(sigset_t *old)
{
	vos_fdlock_rd();
	vos_block_signals(old);
	pthread_mutex_lock(&creds_lock);
}

static void creds_end(const sigset_t *old)
{
	int e = errno;

	pthread_mutex_unlock(&creds_lock);
	vos_restore_signals(old);
	vos_fdlock_unlock();
	errno = e;
}

#define CREDS_WRAPPER(name, params, args) \
	VOS_EXPORT int name params \
	{ \
		struct revoked rv = { 0 }; \
		sigset_t old; \
		int r; \
		vos_init(); \
		if (!real_##name) { \
			errno = ENOSYS; \
			return -1; \
		} \
		creds_begin(&old); \
		r = real_##name args; \
		if (r == 0) \
			creds_changed(&rv); \
		creds_end(&old); \
		report_all(#name, &rv); \
		return r; \
	}

CREDS_WRAPPER(setuid, (uid_t uid), (uid))
CREDS_WRAPPER(seteuid, (uid_t euid), (euid))
CREDS_WRAPPER(setreuid, (uid_t ruid, uid_t euid), (ruid, euid))
CREDS_WRAPPER(setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid))
CREDS_WRAPPER(setgid, (gid_t gid), (gid))
CREDS_WRAPPER(setegid, (gid_t egid), (egid))
CREDS_WRAPPER(setregid, (gid_t rgid, gid_t egid), (rgid, egid))
CREDS_WRAPPER(setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid))
CREDS_WRAPPER(setgroups, (size_t n, const gid_t *groups), (n, groups))
/* glibc's initgroups calls setgroups internally, past our wrapper. */
CREDS_WRAPPER(initgroups, (const char *user, gid_t group), (user, group))

/* These return the previous id, success or not: follow when the id changed. */
#define FSID_WRAPPER(name, type) \
	VOS_EXPORT int name(type id) \
	{ \
		struct revoked rv = { 0 }; \
		sigset_t old; \
		int prev; \
		vos_init(); \
		if (!real_##name) { \
			errno = ENOSYS; \
			return -1; \
		} \
		creds_begin(&old); \
		prev = real_##name(id); \
		if ((type)real_##name((type)-1) != (type)prev) \
			creds_changed(&rv); \
		creds_end(&old); \
		report_all(#name, &rv); \
		return prev; \
	}

FSID_WRAPPER(setfsuid, uid_t)
FSID_WRAPPER(setfsgid, gid_t)
