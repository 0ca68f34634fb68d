/*
 * creds.c - the ids a shadow acts with, and changing them (VOS_OP_SETCREDS).
 *
 * A shadow makes its client's file system calls, so the kernel must check
 * them against the client's ids: the client's real ids as the shadow's real
 * ids (access(2) checks those), the client's filesystem ids as the shadow's
 * effective ids (open(2) and the rest check the filesystem ids; they equal
 * the effective ids unless the client called setfsuid/setfsgid), and the
 * client's supplementary groups.
 *
 * When the daemon runs as root, the saved uid and gid stay 0.  A shadow is
 * service code, not client code: its saved uid is what lets it follow the
 * client's later set*id calls (seteuid(0), then the new ids).  That gives
 * the client nothing: the shadow takes back root only to take ids the kernel
 * confirms the client has, its effective ids are 0 only when the client's
 * are, and a non-root process cannot ptrace a process whose saved uid is 0.
 * A daemon that is not root cannot switch: it serves its own user only.
 *
 * At connect the ids come from SO_PEERCRED (effective ids), completed from
 * /proc/<pid>/status (real ids, filesystem ids, groups) when that file is the
 * peer's: the same effective ids and, where the kernel gives a pidfd of the
 * peer, the process still alive after the read (the pid was not reused).
 *
 * VOS_OP_SETCREDS is a claim by the client.  In local mode it is checked
 * against /proc/<pid>/status of the channel connection's peer (SO_PEERCRED
 * of the connection this shadow serves: the client after exec, the spawned
 * or forked child for a shadow created for one); any difference is -EPERM
 * and the ids stay as they are.  (Xen mode: the primary domain's /proc is
 * not visible here, and only root there can open the Xen devices a channel
 * runs on, so the claim is trusted; a shadow without a local connection
 * socket is treated so.  Xen mode is wired later.)  The ids change under
 * the EXEC barrier (worker.c), so no other request of the client runs
 * meanwhile; glibc applies set*id calls to every thread of the process.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "serviced.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77         /* Linux 6.5; older kernels say ENOPROTOOPT */
#endif

/* A client's ids, as the kernel shows them or as claimed. */
struct ids {
	uid_t ruid, euid, fsuid;        /* euid/egid: only from /proc, to match SO_PEERCRED */
	gid_t rgid, egid, fsgid;
	int ngroups;
	gid_t *groups;                  /* room for NGROUPS_MAX */
};

static struct ids *ids_new(void)
{
	struct ids *id = calloc(1, sizeof *id);

	if (id)
		id->groups = malloc(NGROUPS_MAX * sizeof(gid_t));
	if (id && !id->groups) {
		free(id);
		id = NULL;
	}
	return id;
}

static void ids_free(struct ids *id)
{
	if (id)
		free(id->groups);
	free(id);
}

/* Parse "Name:\tn n n ..." into at most max ids; returns the count or -1
 * (also when there are more than max). */
static int parse_ids(const char *line, const char *name, unsigned *ids, int max)
{
	size_t len = strlen(name);
	if (strncmp(line, name, len) != 0)
		return -1;
	const char *p = line + len;
	int n = 0;
	for (;;) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			return n;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v > UINT32_MAX || n == max)
			return -1;
		ids[n++] = (unsigned)v;
		p = end;
	}
}

/* The ids of the peer of the connected socket sock, from its
 * /proc/<pid>/status.  0, or -ESRCH if they cannot be known for sure. */
static int peer_ids(int sock, struct ids *out)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	int pidfd = -1, nu = -1, ng = -1, n = -1;
	unsigned uids[4], gids[4];
	char path[64], *line = NULL;
	size_t cap = 0;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return -ESRCH;
	len = sizeof pidfd;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)cred.pid);
	FILE *f = fopen(path, "re");
	if (f) {
		while (getline(&line, &cap, f) > 0) {
			if (nu < 0)
				nu = parse_ids(line, "Uid:", uids, 4);
			if (ng < 0)
				ng = parse_ids(line, "Gid:", gids, 4);
			if (n < 0)
				n = parse_ids(line, "Groups:", (unsigned *)out->groups, NGROUPS_MAX);
		}
		free(line);
		fclose(f);
	}
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
			n = -1;         /* gone: the pid may be another process's now */
		close(pidfd);
	}
	/* "Uid:" real, effective, saved, filesystem; the same for "Gid:". */
	if (n < 0 || nu != 4 || ng != 4)
		return -ESRCH;
	out->ruid = uids[0];
	out->euid = uids[1];
	out->fsuid = uids[3];
	out->rgid = gids[0];
	out->egid = gids[1];
	out->fsgid = gids[3];
	out->ngroups = n;
	return 0;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x > y) - (x < y);
}

/* The same real and filesystem ids and the same groups (sorts both lists). */
static int ids_equal(struct ids *a, struct ids *b)
{
	if (a->ruid != b->ruid || a->fsuid != b->fsuid || a->rgid != b->rgid ||
	    a->fsgid != b->fsgid || a->ngroups != b->ngroups)
		return 0;
	qsort(a->groups, (size_t)a->ngroups, sizeof(gid_t), cmp_gid);
	qsort(b->groups, (size_t)b->ngroups, sizeof(gid_t), cmp_gid);
	return memcmp(a->groups, b->groups, (size_t)a->ngroups * sizeof(gid_t)) == 0;
}

/* The shadow's own ids now (its effective ids as the filesystem ones). */
static int own_ids(struct ids *out)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	out->ruid = r;
	out->euid = out->fsuid = e;
	out->rgid = rg;
	out->egid = out->fsgid = eg;
	out->ngroups = getgroups(NGROUPS_MAX, out->groups);
	return out->ngroups < 0 ? -errno : 0;
}

/*
 * Become id (the daemon runs as root, so the saved uid is 0): effective
 * root first, then groups, gids, uids.  0 or -errno; a failure half way
 * leaves ids nobody asked for, and the caller must not serve with them.
 */
static int become(struct vos_shadow *sh, const struct ids *id)
{
	int pdeath = 0;

	prctl(PR_GET_PDEATHSIG, &pdeath);
	if (seteuid(0) < 0 || setgroups((size_t)id->ngroups, id->groups) < 0 ||
	    setresgid(id->rgid, id->fsgid, 0) < 0 || setresuid(id->ruid, id->fsuid, 0) < 0)
		return -errno;
	__atomic_store_n(&sh->uid, id->fsuid, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->gid, id->fsgid, __ATOMIC_RELAXED);
	/* Changing ids resets both: the client must not ptrace its shadow (its
	 * link to the daemon is privileged), and a shadow the daemon forked
	 * dies with the daemon. */
	prctl(PR_SET_DUMPABLE, 0);
	if (pdeath)
		prctl(PR_SET_PDEATHSIG, pdeath);
	return 0;
}

int vos_creds_take(struct vos_shadow *sh, const struct vos_peer *conn)
{
	uid_t uid = vos_peer_cred(conn)->uid;
	gid_t gid = vos_peer_cred(conn)->gid;

	if (geteuid() != 0) {
		/* Cannot switch: serve only our own user. */
		if (uid != geteuid())
			return -EPERM;
		sh->uid = uid;
		sh->gid = getegid();
		return 0;
	}
	struct ids *id = ids_new();
	if (!id)
		return -ENOMEM;
	/* /proc must show the process SO_PEERCRED describes (its effective
	 * ids); otherwise only those and the primary group are known. */
	if (conn->xen) {
		/* What dom0 published in xenstore (dom0 is trusted; the count
		 * is range-checked): effective ids and groups. */
		id->ruid = id->euid = id->fsuid = uid;
		id->rgid = id->egid = id->fsgid = gid;
		for (uint32_t i = 0; i < conn->x.ngids; i++)
			id->groups[i] = conn->x.gids[i];
		id->ngroups = (int)conn->x.ngids;
	} else if (peer_ids(conn->local.sock, id) < 0 || id->euid != uid || id->egid != gid) {
		id->ruid = id->fsuid = uid;
		id->rgid = id->fsgid = gid;
		id->groups[0] = gid;
		id->ngroups = 1;
	}
	int err = become(sh, id);
	ids_free(id);
	return err ? -EPERM : 0;
}

/* An id argument: a 32-bit id other than -1 (which set*id take as "keep"). */
static int valid_id(int64_t v)
{
	return v >= 0 && v < (int64_t)UINT32_MAX;
}

int64_t vos_op_setcreds(struct vos_shadow *sh, const int64_t a[6], const uint8_t *buf,
			struct vos_opbuf *ob)
{
	for (int i = 0; i < 4; i++)
		if (!valid_id(a[i]))
			return -EINVAL;
	if (a[4] < 0 || a[4] > NGROUPS_MAX ||
	    !vos_slot_range_ok(&sh->ch, a[5], a[4] * (int64_t)sizeof(gid_t)))
		return -EINVAL;

	/* The claim, copied out of the slot once (into scratch: slot_size
	 * bytes, and the list fits in a slot). */
	struct ids claim = {
		.ruid = (uid_t)a[0], .fsuid = (uid_t)a[1], .rgid = (gid_t)a[2], .fsgid = (gid_t)a[3],
		.ngroups = (int)a[4], .groups = (gid_t *)(void *)ob->scratch,
	};
	memcpy(claim.groups, buf + a[5], (size_t)claim.ngroups * sizeof(gid_t));
	for (int i = 0; i < claim.ngroups; i++)
		if (claim.groups[i] == (gid_t)-1)
			return -EINVAL;

	struct ids *other = ids_new();
	if (!other)
		return -ENOMEM;
	int64_t r = 0;
	if (sh->client_sock >= 0) {
		/* Local mode: the kernel's view of the client decides. */
		if (peer_ids(sh->client_sock, other) < 0 || !ids_equal(&claim, other))
			r = -EPERM;
	}
	/* else Xen mode: trusted, see the top of this file. */
	if (!r && own_ids(other) < 0)
		r = -EPERM;
	if (r || ids_equal(&claim, other))
		goto out;               /* refused, or nothing to change */

	uid_t ruid, euid, suid;
	if (getresuid(&ruid, &euid, &suid) < 0 || suid != 0) {
		/* Not a root daemon's shadow: it cannot change its ids.  A
		 * claim naming the user it serves is fine (its groups are the
		 * daemon's, as at connect). */
		if (claim.ruid != sh->uid || claim.fsuid != sh->uid)
			r = -EPERM;
		goto out;
	}
	int raised = vos_exec_barrier_raise(sh, ob);
	int err = become(sh, &claim);
	if (err) {
		/* Ids half changed: end the shadow rather than serve with them. */
		if (sh->ch.hdr)
			atomic_store_explicit(&sh->ch.hdr->service_state, VOS_STATE_CLOSED,
					      memory_order_release);
		vos_log("shadow %d: cannot take uid %u gid %u: %s; ending", (int)getpid(),
			(unsigned)claim.fsuid, (unsigned)claim.fsgid, strerror(-err));
		_exit(1);
	}
	if (raised)
		vos_exec_barrier_lower(sh);
	vos_debug("shadow %d: now uid %u/%u gid %u/%u, %d groups", (int)getpid(),
		  (unsigned)claim.ruid, (unsigned)claim.fsuid, (unsigned)claim.rgid,
		  (unsigned)claim.fsgid, claim.ngroups);
out:
	ids_free(other);
	return r;
}
