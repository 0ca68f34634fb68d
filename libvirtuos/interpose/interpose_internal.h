/*
 * interpose_internal.h - what the core files of the preload library share
 * (services, fd table, path routing, remote calls; README.md has the file
 * map).
 */
#ifndef VOS_INTERPOSE_INTERNAL_H
#define VOS_INTERPOSE_INTERNAL_H

/* The wrappers define open(), read()... themselves: fortified inline
 * versions from the glibc headers would clash with them. */
#undef _FORTIFY_SOURCE

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include "vos_interpose.h"
#include "real.h"
#include "fdtable.h"
#include "../channel/transport_local.h"  /* enum vos_hello_kind only */
#include "../common/vosconf.h"

#define VOS_EXPORT __attribute__((visibility("default")))
/* name is another entry point of the same function (the *64 variants are
 * the same on x86_64): one body, and no call through an interposable
 * symbol. */
#define VOS_ALIAS(name, target) \
	VOS_EXPORT __typeof__(target) name __attribute__((alias(#target)))

/* glibc declares some pointer parameters nonnull that the kernel accepts
 * as NULL (utimensat's path); hide the pointer from the optimiser so a
 * NULL check in the wrapper is kept. */
#define VOS_OPAQUE(p) ({ __typeof__(p) p_ = (p); __asm__("" : "+r"(p_)); p_; })

/* glibc's "buffer overflow detected" abort, for the __*_chk wrappers. */
extern void __chk_fail(void) __attribute__((noreturn));
#define VOS_TLS    __thread __attribute__((tls_model("initial-exec")))

/* ---- services and their connections (service.c) ---------------------- */

/* The limits of the routing table (common/vosconf.h). */
#define VOS_MAX_SERVICES VOS_CONF_MAX_SERVICES
#define VOS_NAME_MAX     VOS_CONF_NAME_MAX

/*
 * One connection of a service.  Never freed while other threads may hold a
 * pointer to it (a dead one stays allocated until the process ends or
 * forks); only a forked child, which has a single thread, frees them.
 */
struct vos_conn {
	struct vos_client *client;
	uint32_t gen;                   /* generation recorded in fd entries */
	int fds[4];                     /* channel descriptors (vos_client_fds) */
	_Atomic int revoked;            /* the shadow may hold other ids than ours (creds.c) */
	struct vos_conn *next_all;      /* list of every conn of this process */
};

/* A conn calls may use: its client is alive and it was not revoked. */
static inline int vos_conn_usable(const struct vos_conn *conn)
{
	return !atomic_load_explicit(&conn->revoked, memory_order_acquire) &&
	       !vos_client_dead(conn->client);
}

struct vos_service {
	char name[VOS_NAME_MAX];
	enum vos_service_kind kind;     /* from its service line (role) */
	char placeholder[PATH_MAX];     /* <rundir>/<name>.remote-fd */
	char placeholder_real[PATH_MAX];/* the same, symlinks resolved ("" if unknown) */
	const char *prefix;             /* first route prefix of this service (NULL: none) */
	_Atomic(struct vos_conn *) conn;/* current connection, NULL if none */
	uint32_t next_gen;              /* under lock */
	pthread_mutex_t lock;           /* serialises connecting */
};

extern struct vos_service vos_services[VOS_MAX_SERVICES];
extern int vos_nservices;
extern struct vos_client_config vos_cfg;   /* rundir, tuning; service/kind per call */

/* Index of the service called name, or -1. */
int vos_service_find(const char *name);
/*
 * A network channel's slots hold any datagram whole (a UDP payload is at
 * most 65527 bytes over IPv6, 65507 over IPv4), with its address and
 * control messages (net.c): 80 KiB, so a message never splits.
 */
#define VOS_NET_SLOT_SIZE (80u * 1024u)
/* The channel configuration for service svc: vos_cfg with its name and
 * kind (a network service's slots at least VOS_NET_SLOT_SIZE). */
void vos_service_cfg(int svc, struct vos_client_config *cfg);
/* The live connection of a service, connecting a new one if there is none
 * or the current one died.  NULL with errno = EIO if the service cannot be
 * reached. */
struct vos_conn *vos_service_connect(int svc);
/* The current connection if it is alive, else NULL (never connects). */
struct vos_conn *vos_service_live(int svc);
/* Install conn as the service's connection (mark its fds internal). */
void vos_service_install(int svc, struct vos_conn *conn);
/* Move a client's channel descriptors to high numbers (returns the client
 * to use from now on; c itself on failure). */
struct vos_client *vos_client_relocate(const struct vos_client_config *cfg, struct vos_client *c);
/* Build a conn around a connected client (gen given). NULL on ENOMEM. */
struct vos_conn *vos_conn_new(struct vos_client *c, uint32_t gen);
/* Channel descriptors of every connection (live or dead); returns the count. */
int vos_internal_fds(int *out, int max);
/* Forked child: forget every connection of the parent (single thread). */
void vos_service_abandon_all(void);
/* The process is ending: each service closes our remote fds now, bounded
 * (service.c).  At most once; no lock, no allocation. */
void vos_service_release_all(void);
/* SYS_exit_group, and SYS_exit of the last thread: release_all, then the
 * call (service.c). */
long vos_exit_call(long nr, long a[6]);
/* Next generation number for svc (under its lock or single-threaded). */
uint32_t vos_service_next_gen(int svc);

/* ---- credentials (creds.c) ------------------------------------------- */

/* Tell conn's shadow our ids (VOS_OP_SETCREDS); if it does not take them,
 * revoke conn (every later call on it fails with EIO) and say so on
 * stderr, naming `why`.  0 or -errno.  Called after adopting a channel. */
int vos_creds_send(struct vos_conn *conn, const char *why);

/* ---- resource limits (rlimit.c) --------------------------------------- */

struct rlimit;
/* A channel connected: tell its shadow our RLIMIT_FSIZE (if finite), and
 * let the kernel's RLIMIT_NOFILE count its descriptors (rlimit.c). */
void vos_rlimit_send(struct vos_client *c);
/* A size-changing call failed with EFBIG: raise SIGXFSZ here, as the
 * kernel does, if our file size limit is finite. */
void vos_fsize_exceeded(void);
/* prlimit64 (getrlimit, setrlimit, prlimit): the kernel's; the shadows
 * follow our RLIMIT_FSIZE; RLIMIT_NOFILE is the program's view, the
 * kernel's counts our descriptors too.  0 or -1 with errno. */
int vos_prlimit(pid_t pid, int resource, const struct rlimit *new, struct rlimit *old);
/* fork.c: taken after the fd lock in the parent, released on both sides. */
void vos_rlimit_fork_lock(void);
void vos_rlimit_fork_unlock(void);

/* Critical regions (signals.c): a signal arriving inside one has its
 * handler run when the thread leaves the outermost region. */
void vos_crit_enter(void);
void vos_crit_leave(void);

/*
 * A call a signal may interrupt (rpc.c: a blocking lock), inside a region:
 * between arm and disarm, a signal with a handler sets the returned stop
 * flag and nudges slot s (client.h, vos_slot_wait_stoppable); its handler
 * still runs when the region ends.  A signal already deferred in this
 * region when it is armed counts too.  disarm: 0 no signal came; 1 every
 * one that came has SA_RESTART (restart the call after the handlers);
 * 2 one has not (the call fails with EINTR).
 */
const _Atomic int *vos_intr_arm(struct vos_slot *s);
int vos_intr_disarm(void);

/* ---- fd table (fdtable.h, service.c) ------------------------------------ */

/*
 * Classify fd for a call: 0 local (or internal), 1 remote (then *c and
 * *svc are set), -1 remote but its channel is gone (errno = EIO).
 * service.c: it compares the fd's generation with the service's connection.
 */
int vos_fd_remote(int fd, struct vos_client **c, int *svc);

/* The fd lock (fdtable.h) inside a critical region (signals.c): a signal
 * handler that forks while we hold it would wait for us. */
static inline void vos_fdlock_rd(void)
{
	vos_crit_enter();
	vos_fdtable_rdlock();
}

static inline void vos_fdlock_unlock(void)
{
	vos_fdtable_unlock();
	vos_crit_leave();
}

/* ---- path routing and the working directory (route.c) ---------------- */

struct vos_path {
	int routed;                     /* 1: remote call */
	int svc;                        /* routed: service index */
	uint32_t gen;                   /* routed: connection generation */
	struct vos_client *client;      /* routed: live client */
	int dirfd;                      /* routed: VOS_FD_ROOT or a remote fd; local: dirfd to use */
	const char *path;               /* path to use (remote or local) */
	char buf[PATH_MAX];
};

/* Parse the routing table (VOS_CONFIG or the default) and fill
 * vos_services; on an error, says "libvirtuos: FILE:LINE: what" and exits
 * with status 127. */
void vos_routes_load(void);
/*
 * Route (dirfd, path).  Returns 1 routed (channel connected), 0 local
 * (p->dirfd/p->path are what to pass to glibc), -1 with errno set.
 * `nofollow_empty`: path "" with AT_EMPTY_PATH on a remote dirfd is routed
 * as VOS_NO_PATH (p->path == NULL).
 */
int vos_path_resolve(int dirfd, const char *path, int empty_path, struct vos_path *p);
/*
 * A routed call on (dirfd, path) failed with -VOS_ELINKOUT (its walk met a
 * symlink out of the export): where the path goes on in our namespace,
 * absolute, into out (PATH_MAX), asked of the service (VOS_OP_WALK).
 * `follow`: the final component too (0 for calls on a link itself).
 * *links: symlinks followed so far (start at 0; ELOOP past 40).  1: out
 * holds the continuation; 0: the path stays as it is (it does not leave,
 * or is not routed: counted as a link); -1 with errno.
 */
int vos_path_linkout(int dirfd, const char *path, int follow, int *links, char *out);
/* The service that makes sockets of family (route-family), or -1: local. */
int vos_family_service(int family);
/* The route prefix a service's export appears under (NULL: a service with
 * socket families only). */
const char *vos_service_prefix(int svc);

/* Virtual working directory (inside a routed prefix). */
int vos_cwd_virtual(char *buf, size_t len);      /* 1 and copied, 0 if local, -1 ERANGE */
void vos_cwd_set_virtual(const char *abs);       /* abs == NULL: back to local */
void vos_cwd_set_local(void);
/* Forked child: locks another thread may have held are free again. */
void vos_route_after_fork_child(void);

/* ---- the program's memory (uaccess.c) ---------------------------------- */

/*
 * Fault-safe access to memory the program named (paths, buffers, structs):
 * a bad pointer gives -EFAULT, never a SIGSEGV inside the library.  NULL and
 * everything below the reserved low range fail without a memory access; the
 * copies make no system call (a fault is fixed up by the library's SIGSEGV/
 * SIGBUS handler, installed at the first copy).  Any thread, any context
 * (also a signal handler).
 */
/* Copy n bytes from the program's src.  0 or -EFAULT (dst partly written). */
long vos_copy_from_user(void *dst, const void *src, size_t n);
/* Copy n bytes to the program's dst.  0 or -EFAULT (dst partly written). */
long vos_copy_to_user(void *dst, const void *src, size_t n);
/* Copy the string at src, its NUL included, into dst (max bytes).  Its
 * length, -ENAMETOOLONG if no NUL in max bytes, or -EFAULT. */
long vos_strncpy_from_user(char *dst, const char *src, size_t max);
/* 1 if [p, p + n) may be the program's memory (n == 0 always is): not NULL,
 * not below the reserved low range, not wrapping.  No memory access: an
 * early EFAULT for an output buffer before a call with side effects. */
int vos_user_range_ok(const void *p, size_t n);
/* Touch one byte per page of [p, p + n) (reading): 0, or -EFAULT if a page
 * is not there or not readable.  An output buffer checked before a call
 * that moves a file position (read); a read-only buffer passes. */
long vos_user_probe(const void *p, size_t n);
/* Addresses below end count as unmapped (the dispatcher's page-0
 * trampoline): the program never has them natively.  Only raises. */
void vos_uaccess_reserve_low(uintptr_t end);
/* fork.c: the fault actions' lock, as vos_rlimit_fork_lock(). */
void vos_uaccess_fork_lock(void);
void vos_uaccess_fork_unlock(void);
/* The program's sigaction() for SIGSEGV and SIGBUS (signals.c): the library
 * keeps its fault handler in the kernel and runs the program's action
 * behind it.  As sigaction(). */
int vos_fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* The same for the system-call dispatcher's SYS_rt_sigaction of SIGSEGV or
 * SIGBUS: act and oldact are the program's kernel structs (handler, flags,
 * restorer, 64-bit mask).  0 or -errno (EFAULT, EINVAL). */
long vos_fault_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize);

/* ---- AF_UNIX addresses (sockaddr.c) ------------------------------------ */

struct sockaddr;
struct sockaddr_un;
/*
 * The address of a bind/connect (or sendto) as the kernel may see it: 0 and
 * *out and *outlen = what to pass to the kernel (addr itself, or buf holding the
 * absolute local path of a relative one under a virtual cwd); -1 with errno:
 * EFAULT (bad addr), EOPNOTSUPP (an AF_UNIX path under a routed prefix: no
 * service can hold the socket), ENAMETOOLONG (the rewritten path does not
 * fit sun_path).  Other families and abstract names: 0, unchanged.
 */
int vos_sockaddr_route(const struct sockaddr *addr, socklen_t len, struct sockaddr_un *buf,
		       const struct sockaddr **out, socklen_t *outlen);

/* ---- remote calls (rpc.c) --------------------------------------------- */

struct vos_in {
	int arg;                        /* which request argument gets the offset */
	const void *data;
	size_t len;
};

/*
 * Copy the inputs into a slot buffer, make the call, copy the output.
 * out_fixed: the output is exactly outlen bytes (a struct) on success;
 * otherwise the result is the output length and must be <= outlen.
 * Returns the result (validated) or -errno.
 */
int64_t vos_rpc(struct vos_client *c, struct vos_req *r, const struct vos_in *in, int nin,
		void *out, size_t outlen, int out_fixed);
/* A slot of c for one call, inside a critical region (signals.c): the one
 * way remote calls start.  0 or -errno (the region is left on failure). */
int vos_call_begin(struct vos_client *c, struct vos_slot **s);
/* Release the slot and leave the region (deferred handlers run here). */
void vos_call_end(struct vos_slot *s);
/*
 * A call on one routed path: arg[0] = p->dirfd, arg[1] = p->path (or
 * VOS_NO_PATH), arg[2..4] as given; output as for vos_rpc.
 */
int64_t vos_path_rpc(const struct vos_path *p, uint16_t op, int64_t a2, int64_t a3, int64_t a4,
		     void *out, size_t outlen, int out_fixed);
/*
 * The call in slot s (inputs already in its buffer), which a signal may
 * interrupt: the signal cancels it in the service (VOS_OP_CANCEL), and it
 * ends with -EINTR or its real result.  *intr: what vos_intr_disarm said
 * (1: restart it after vos_call_end, every handler has SA_RESTART).  A
 * lock wait (vos_rpc) and a blocking socket call (net.c) are made so.
 */
int64_t vos_slot_call_intr(struct vos_slot *s, const struct vos_req *r, int *intr);
/* A call without data. */
int64_t vos_rpc0(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
		 int64_t a3, int64_t a4);
/* Set errno from a -errno result and return -1, or return the result. */
static inline long vos_ret(int64_t r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (long)r;
}

/* ---- remote fd operations shared between files ----------------------- */

/* Open a routed path into a fresh placeholder number.  fd or -1. */
int vos_remote_openat(const struct vos_path *p, int flags, mode_t mode);
/* The same with openat2's RESOLVE_* flags (OPENAT's arg[5]). */
int vos_remote_openat2(const struct vos_path *p, int flags, mode_t mode, uint64_t resolve);
/* Close a remote fd: service side, table entry, placeholder.  0 or -1. */
int vos_remote_close(int fd);
struct stat;
struct statfs;
struct statvfs;
struct timespec;
/* openat(), fstatat(), fstat() without going through a public symbol
 * (for compat.c's entry points). */
int vos_openat(int dirfd, const char *path, int flags, mode_t mode);
int vos_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int vos_fstat(int fd, struct stat *st);
int vos_remote_fstat(struct vos_client *c, int fd, struct stat *st);
/* UTIMENSAT on (dirfd, path), path NULL = dirfd itself; times NULL = now. */
int vos_remote_utimens(struct vos_client *c, int dirfd, const char *path,
		       const struct timespec *times, int flags);
void vos_statfs_to_statvfs(const struct statfs *f, struct statvfs *v);
struct timeval;
/* struct timeval[2] -> struct timespec[2] in ts, *out = ts (NULL stays
 * NULL).  0 or -1 (EINVAL for a bad tv_usec). */
int vos_tv_to_ts(const struct timeval *tv, struct timespec *ts, const struct timespec **out);
/* The export-relative path of a remote fd (FDPATH), "/a/b".  0 or -1. */
int vos_remote_fdpath(struct vos_client *c, int fd, char *buf, size_t size);
/* A magic link naming a remote fd ("/proc/self/fd/N[/rest]", "/dev/fd/N",
 * "/proc/<pid>/fd/N"): 1 and the file's current routed path in out; 0 if
 * path is no such link; -1 + errno (a dead channel, a deleted file). */
int vos_magic_link(const char *path, char *out, size_t size);
/* The remote fd a magic link names exactly ("/proc/self/fd/N", no rest),
 * or -1. */
int vos_magic_remote_fd(const char *path);
/* The service's route prefix + an export-relative path.  0 or -1 (ENAMETOOLONG). */
int vos_join_prefix(int svc, const char *rel, char *out, size_t size);
ssize_t vos_remote_read(struct vos_client *c, int fd, void *buf, size_t len);
ssize_t vos_remote_write(struct vos_client *c, int fd, const void *buf, size_t len);

/* ---- system-call handlers (syscall_table.c calls them) ------------------
 * Each is the system call of the same name for a remote fd or a routed
 * path (a local one goes to the kernel), with glibc's conventions: -1 and
 * errno on failure (the table converts).  They are not exported: programs
 * reach them through the system call, never by symbol. */
struct iovec;
struct statfs;
ssize_t vos_read(int fd, void *buf, size_t len);
ssize_t vos_write(int fd, const void *buf, size_t len);
ssize_t vos_pread(int fd, void *buf, size_t len, off_t off);
ssize_t vos_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t vos_readv(int fd, const struct iovec *iov, int cnt);
ssize_t vos_writev(int fd, const struct iovec *iov, int cnt);
ssize_t vos_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t vos_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t vos_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
ssize_t vos_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
ssize_t vos_remote_getdents64(int fd, void *buf, size_t len);
int vos_posix_fadvise(int fd, off_t off, off_t len, int advice);   /* returns the errno */
ssize_t vos_readahead(int fd, off_t off, size_t count);
int vos_fallocate(int fd, int mode, off_t off, off_t len);
int vos_close_range(unsigned first, unsigned last, int flags);
int vos_dup(int fd);
int vos_dup2(int oldfd, int newfd);
int vos_dup3(int oldfd, int newfd, int flags);
int vos_fcntl(int fd, int cmd, void *arg);
int vos_flock(int fd, int op);
off_t vos_lseek(int fd, off_t off, int whence);
int vos_fsync(int fd);
int vos_fdatasync(int fd);
int vos_syncfs(int fd);
int vos_ftruncate(int fd, off_t len);
int vos_fchmod(int fd, mode_t mode);
int vos_fchown(int fd, uid_t uid, gid_t gid);
int vos_sync_file_range(int fd, off_t off, off_t len, unsigned flags);
int vos_futimens(int fd, const struct timespec times[2]);
int vos_fstatfs(int fd, struct statfs *buf);
int vos_ioctl(int fd, unsigned long req, ...);
struct statx;
int vos_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);
int vos_faccessat(int dirfd, const char *path, int mode, int flags);
int vos_statfs(const char *path, struct statfs *buf);
int vos_unlinkat(int dirfd, const char *path, int flags);
int vos_renameat2(int d1, const char *p1, int d2, const char *p2, unsigned flags);
int vos_linkat(int d1, const char *p1, int d2, const char *p2, int flags);
int vos_mkdirat(int dirfd, const char *path, mode_t mode);
int vos_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev);
ssize_t vos_readlinkat(int dirfd, const char *path, char *buf, size_t size);
int vos_symlinkat(const char *target, int dirfd, const char *linkpath);
int vos_fchmodat(int dirfd, const char *path, mode_t mode, int flags);
int vos_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int vos_utimensat(int dirfd, const char *path, const struct timespec times[2], int flags);
int vos_truncate(const char *path, off_t len);
int vos_chdir(const char *path);
int vos_fchdir(int fd);
char *vos_getcwd(char *buf, size_t size);
/* exec.c: execve(2)/execveat(2) with the channels handed to the new image;
 * the result (only on failure) as -errno. */
long vos_execve(long a[6]);
long vos_execveat(long a[6]);
/* openat2(2) (open.c): the kernel checks struct open_how, then the path is
 * routed; result or -errno. */
long vos_openat2(long a[6]);
/* poll.c: poll(2), ppoll(2), select(2), pselect6(2) over local and remote
 * fds.  Result or -errno. */
long vos_poll_call(long a[6]);
long vos_ppoll_call(long a[6]);
long vos_select_call(long a[6]);
long vos_pselect6_call(long a[6]);
struct pollfd;
/* The kernel's sigset_t (8 bytes), as ppoll, pselect6 and epoll_pwait take it. */
typedef uint64_t ksigset;
/* A signal mask from the program (ppoll's, pselect6's, epoll_pwait's): 0
 * (*out NULL when none), -EINVAL (size), -EFAULT (poll.c). */
int vos_get_sigmask(const void *u, size_t size, ksigset *buf, const ksigset **out);
/* An epoll instance in a service (epoll.c) for vos_poll_epoll to wait on
 * with the list: VOS_OP_EPOLL_WAIT(inst, max); its events go to out (max
 * of them; max 0: readiness only), got = their count (0: none, < 0: the
 * op's error). */
struct vos_epwait {
	struct vos_client *c;
	int inst, max;
	void *out;
	int got;
};
/* The same wait over a private list (revents set in pf) and nw epoll
 * instances: timeout_ns < 0 none; mask: the kernel's 64-bit signal set to
 * wait with, NULL the thread's.  The count of pf entries ready, or -errno. */
long vos_poll_epoll(struct pollfd *pf, unsigned n, struct vos_epwait *ew, int nw,
		    int64_t timeout_ns, const uint64_t *mask);
/* epoll.c: epoll_ctl(2) of a remote fd; epoll_wait(2), epoll_pwait(2),
 * epoll_pwait2(2) of sets with remote fds (an epoll instance in each
 * service, VOS_OP_EPOLL_CTL/VOS_OP_EPOLL_WAIT). */
long vos_epoll_ctl_remote(long a[6]);
long vos_epoll_wait_call(long a[6]);
long vos_epoll_pwait_call(long a[6]);
long vos_epoll_pwait2_call(long a[6]);
/* sockaddr.c: bind(2)/connect(2) (nr) with an AF_UNIX path routed. */
long vos_sockaddr_call(long nr, long a[6]);
/* net.c: sockets of the routed families (AF_INET/AF_INET6 to the network
 * service).  Each takes the system call's arguments and returns its result
 * or -errno.  vos_net_socket and vos_net_accept* also make local sockets
 * (the kernel's) for other families and local listeners; the others are
 * for a remote fd (-ENOTSOCK for a remote file). */
long vos_net_socket(long a[6]);
long vos_net_accept(long a[6]);
long vos_net_accept4(long a[6]);
long vos_net_bind(long a[6]);
long vos_net_connect(long a[6]);
long vos_net_listen(long a[6]);
long vos_net_shutdown(long a[6]);
long vos_net_getsockname(long a[6]);
long vos_net_getpeername(long a[6]);
long vos_net_getsockopt(long a[6]);
long vos_net_setsockopt(long a[6]);
long vos_net_sendto(long a[6]);
long vos_net_recvfrom(long a[6]);
long vos_net_sendmsg(long a[6]);
long vos_net_recvmsg(long a[6]);
long vos_net_sendmmsg(long a[6]);
long vos_net_recvmmsg(long a[6]);
long vos_net_ioctl(long a[6]);
/* read/readv (writing 0) and write/writev on a remote socket (io.c). */
struct iovec;
long vos_net_rw(struct vos_client *c, int fd, const struct iovec *iov, int cnt, int writing);
/*
 * A socket whose network service is gone: the errno a call of kind how
 * gives instead of the dead channel's EIO (net.c, "a network service that
 * is gone"; SEND raises SIGPIPE).  r is the call's result (-errno): other
 * results, and fds that are no such socket, are returned unchanged.
 */
enum { VOS_NET_GONE_RECV, VOS_NET_GONE_SEND, VOS_NET_GONE_SEND_NOSIGNAL, VOS_NET_GONE_CONNECT,
       VOS_NET_GONE_ACCEPT, VOS_NET_GONE_OTHER };
long vos_net_gone_errno(int fd, int how, long r);
/* xfer.c: sendfile, copy_file_range, splice, tee between fds of any
 * domains.  The system call's arguments; its result or -errno. */
long vos_xfer_sendfile(long a[6]);
long vos_xfer_copy_file_range(long a[6]);
long vos_xfer_splice(long a[6]);
long vos_xfer_tee(long a[6]);
/* sendmsg on a local socket: -EBADF if its SCM_RIGHTS pass a remote fd
 * (the kernel would pass the placeholder), else 0. */
struct msghdr;
long vos_net_scm_check(const struct msghdr *um);

/* ---- mmap and exec of remote files (mmap.c, execfile.c) -------------- */

/*
 * mmap(2) of fd, which the fd table says is remote (mmap.c).  MAP_PRIVATE:
 * a private copy of the file's bytes, read now, in a memfd mapped with the
 * caller's addr/prot/flags (pages past EOF give SIGBUS as natively).
 * MAP_SHARED/MAP_SHARED_VALIDATE: ENODEV (after the kernel's EACCES
 * checks).  Returns the address, or MAP_FAILED with errno set.  Raw
 * system calls and rpc.c only: callable from a system-call handler.
 */
void *vos_mmap_remote(int fd, void *addr, size_t len, int prot, int flags, off_t off);
/* Read len bytes at off of a remote fd into buf, stopping early at end of
 * file (the rest of buf is left as it was).  0, or -1 with errno. */
int vos_remote_pread_full(struct vos_client *c, int fd, void *buf, size_t len, off_t off);

/*
 * What an exec is to ask the kernel for (execfile.c).  For a local path
 * it is the call itself (with a path under a virtual cwd made absolute);
 * for a routed one: a memfd copy of an ELF binary (dirfd = memfd, path "",
 * AT_EMPTY_PATH; spawn_path "/proc/self/fd/N"), a script's interpreter
 * with argv [interp, arg, script, argv[1]...], or the local target of a
 * symlink chain with argv unchanged.
 */
struct vos_exec_plan {
	int dirfd;                      /* execveat's arguments */
	const char *path;
	char *const *argv;
	int flags;
	const char *spawn_path;         /* the same as one path (posix_spawn) */
	const char *path_given;         /* the caller's path */
	int memfd;                      /* -1, or the copy of a routed binary */
	void *mem;                      /* the plan's memory (strings, argv) */
	char fd_path[32];
};
/*
 * Plan exec(dirfd, path, argv) with execveat's flags (AT_EMPTY_PATH,
 * AT_SYMLINK_NOFOLLOW).  0, or -1 with errno as the kernel's exec would
 * give (ENOENT, EACCES, ENOEXEC, ELOOP, EFAULT for a NULL path...).  Always
 * pair a success with vos_exec_plan_free() (after a failed exec; a
 * successful one takes everything away).  No malloc: vfork-child safe.
 */
int vos_exec_plan(int dirfd, const char *path, char *const argv[], int flags,
		  struct vos_exec_plan *pl);
void vos_exec_plan_free(struct vos_exec_plan *pl);
/* The kernel's parse of a "#!" line: buf is the file's first 256 bytes,
 * zero padded, with room for a NUL at [256].  Sets *name, *arg (or NULL)
 * inside buf.  0, or -1 with errno = ENOEXEC. */
int vos_exec_parse_shebang(char *buf, char **name, char **arg);

/* posix_spawnp's PATH search where an entry may be routed: 1 with *pl set
 * (a routed candidate came first), 0 (leave it to glibc), -1 with errno. */
int vos_spawnp_plan(const char *file, char *const argv[], struct vos_exec_plan *pl);
/*
 * spawn.c: posix_spawn (search 0) / posix_spawnp (search 1) as fork + exec
 * when the recorded file actions name a routed path or a remote fd.
 * *handled = 0: not such a spawn, take glibc's path; 1: done, the result
 * is posix_spawn's (0 or an errno).
 */
int vos_spawn_fork(int *handled, pid_t *pid, const char *file, int search,
		   const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		   char *const argv[], char *const envp[]);

/* ---- processes (fork.c, exec.c, adopt.c, procattr.c, init.c) ---------- */

/* The exec hand-off's environment variables: exec.c sets them for the new
 * image, adopt.c (in the new image) reads and removes them. */
#define VOS_ENV_CHANNEL_FDS "VOS_CHANNEL_FDS"
#define VOS_ENV_CWD         "VOS_CWD"

void vos_fork_init(void);                        /* fork.c: atfork registration */
void vos_exec_init(void);                        /* exec.c: learn our own file name */
/* Forked child: hand-off state other threads of the parent held is gone. */
void vos_exec_after_fork_child(void);
/* After exec: take over the channels and placeholders the old image left. */
void vos_exec_adopt(void);
/* The process's umask as this library knows it (procattr.c): set by our
 * umask() wrapper, read from the kernel once before that.  Never changes
 * the umask to find out. */
mode_t vos_umask_current(void);
/* umask(2) from the dispatcher: the process's and every shadow's. */
mode_t vos_umask(mode_t mask);

/* The system-call dispatcher (syscall_table.c): install it for this
 * process image (from the constructor; exits with a message if the
 * process's system calls cannot be caught). */
void vos_syscalls_install(void);
/* Set once the dispatcher is installed (it owns SIGSYS from then on). */
extern _Atomic int vos_syscalls_installed;
/* Nonzero on a thread inside posix_spawn/system/popen (exec.c): the
 * CLONE_VM child shares it and passes every call to the kernel. */
extern VOS_TLS int vos_spawning;

/* Set once initialisation is complete (init.c). */
extern _Atomic int vos_inited;

/* Block all signals; returns the old mask in *old. */
void vos_block_signals(sigset_t *old);
void vos_restore_signals(const sigset_t *old);

/* A local fd was just created at this number (fd < 0: nothing happened):
 * drop any stale remote entry.  Returns fd.  fdops.c. */
int vos_fd_fresh(int fd);
void vos_signals_after_fork_child(void);

#endif
