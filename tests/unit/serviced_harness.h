/*
 * serviced_harness.h - what the unit tests that drive the real vos-serviced
 * (local mode) share: finding, starting and stopping the daemon (any role and
 * --name), a scratch directory, clients, calls through the client call engine
 * (client.h), and bounded waits on /proc.
 *
 * Two ways to use it:
 *   - the test_serviced_*.c programs are each one group of cmocka tests
 *     around one storage daemon on the tree below: serviced_main() runs the
 *     group (setup makes the scratch directory and starts the daemon,
 *     teardown stops it and removes everything);
 *   - other programs (test_optable.c, test_roles.c, test_long_calls.c) call
 *     serviced_init() from main and build their own setup from
 *     scratch_make(), daemon_start() and stop_pid()/stop_daemon().
 *
 * The scratch directory (base) holds:
 *   root/     the export root (rootdir)
 *   run/      the daemon's run directory (rundir: NAME.sock, NAME.view, ...)
 * and, for serviced_main()'s group only:
 *   root/     also the tree of make_tree() and "secret" ("inside")
 *   native/   the same tree, for calls made natively (errno parity)
 *   outside/  "secret" ("outside"): what confinement must never reach
 * make_tree(): dir/ (with "file": "in dir"), emptydir/, file ("file"),
 * link -> file, dlink -> dir, dangling -> nowhere, private ("root only",
 * 0600) and public/ (0777).
 *
 * The daemon binary: $VOS_SERVICED, else ../bin/vos-serviced next to the
 * test's directory (build/<variant>/tests -> build/<variant>/bin).
 *
 * Helpers named r_* make one remote call and return its result (-errno on
 * failure); they check only that a slot could be had.  Helpers that check
 * more (make_remote_file, expect_secret, connect_new, daemon_start, ...) fail
 * the current test through cmocka, so they belong in a test or its setup,
 * not in a child process (a test that needs another identity runs its calls
 * in a child, which reports the first check that failed in its exit status).
 */
#ifndef SERVICED_HARNESS_H
#define SERVICED_HARNESS_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <cmocka.h>

#include "channel/transport_local.h"  /* hello kinds */
#include "channel/vos_proto.h"
#include "client/client.h"

#define STR2_OFF 8192           /* second string in a slot (default slot: 16 KiB) */
#define ARG_OFF  64             /* where a call's struct argument goes (after a short path) */
#define NOBODY   65534

extern char daemon_bin[PATH_MAX];
extern char base[256], rootdir[300], rundir[300], nativedir[300], outside[300];
extern pid_t daemon_pid;        /* the test's daemon (stop_daemon() stops it) */
extern pid_t extra_daemon;       /* a second one some tests start (teardown stops it) */
/* The daemon resolves in a view (it runs as root where mount namespaces
 * work): absolute symlinks mean /storage/..., ".." above the root finds
 * nothing.  Otherwise it resolves from the export root. */
extern int have_view;

/* ---- small things ---- */

void sleep_ms(int ms);
void xsnprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* buf (PATH_MAX bytes) = dir/rel */
void in_dir(char *buf, const char *dir, const char *rel);
void put_file(const char *path, const char *content, mode_t mode);
/* The content of a file in the export root, read natively (NULL: cannot
 * open; a static buffer). */
const char *native_content(const char *rel);
/* The exit status of `vos-serviced ARGS` run by the shell, ARGS from fmt
 * (quote what the shell must not split; redirections and pipes work) (-1:
 * it did not exit). */
int daemon_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run fn in a child process as uid/gid nobody; returns its exit status. */
int as_nobody(int (*fn)(void));

/* ---- clients ---- */

/* The client configuration for service name (storage kind) on run
 * directory rd. */
struct vos_client_config config_named(const char *rd, const char *name);
/* The same for the daemon named storage on rd. */
struct vos_client_config config_at(const char *rd);
/* The same for the test's daemon (rundir). */
struct vos_client_config config(void);
/* A client of the test's daemon (NULL and errno on failure). */
struct vos_client *connect_kind(int kind, const uint8_t *token);
/* A new client of the test's daemon (fails the test otherwise). */
struct vos_client *connect_new(void);

/*
 * One call.  s0/s1 (if not NULL) are copied to slot offsets 0 and STR2_OFF
 * and those offsets replace arg[i0]/arg[i1].  Up to outlen bytes of output
 * are copied from offset 0 to out.
 */
int64_t call(struct vos_client *c, uint16_t op, int64_t a0, int64_t a1, int64_t a2,
	     int64_t a3, int64_t a4, const char *s0, int i0, const char *s1, int i1,
	     void *out, size_t outlen);
/* One call with len bytes of data copied raw to slot offset off first (a
 * struct, a token, a list; -999 if no slot). */
int64_t call_with(struct vos_client *c, const struct vos_req *r, const void *data, size_t len,
		  size_t off);

int64_t r_open(struct vos_client *c, int dirfd, const char *path, int flags, int mode, int newfd);
int64_t r_write(struct vos_client *c, int fd, const char *data);
/* pread/read of up to len bytes into out (NUL terminated). */
int64_t r_pread(struct vos_client *c, int fd, char *out, size_t len, off_t off);
int64_t r_read(struct vos_client *c, int fd, char *out, size_t len);
int64_t r_close(struct vos_client *c, int fd);
/* fstatat; path NULL: the fd itself */
int64_t r_stat(struct vos_client *c, int dirfd, const char *path, int flags, struct stat *st);
int64_t r_mkdir(struct vos_client *c, int dirfd, const char *path);
int64_t r_unlink(struct vos_client *c, int dirfd, const char *path, int flags);
int64_t r_symlink(struct vos_client *c, const char *target, const char *name);
/* FDPATH of fd into buf (outlen bytes copied back) */
int64_t r_fdpath(struct vos_client *c, int fd, char *buf, size_t outlen);
/* GETDENTS64 of fd into buf (len bytes) */
int64_t r_getdents(struct vos_client *c, int fd, void *buf, size_t len);
/* FORK: a pending shadow, its token to claim it in token */
int64_t r_fork(struct vos_client *c, uint8_t token[VOS_TOKEN_LEN]);
/* FORK_ABORT of the pending shadow of token (may contain NUL bytes) */
int64_t r_fork_abort(struct vos_client *c, const uint8_t token[VOS_TOKEN_LEN]);
/* EXEC keeping the n fds of keep */
int64_t r_exec(struct vos_client *c, const int32_t *keep, int n);
/* SETCREDS with the given ids and n groups (copied to ARG_OFF when
 * 0 < n <= 64), the list's offset being off; setcreds: off = ARG_OFF. */
int64_t setcreds_at(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
		    int64_t egid, int64_t n, const gid_t *groups, int64_t off);
int64_t setcreds(struct vos_client *c, int64_t ruid, int64_t euid, int64_t rgid,
		 int64_t egid, int n, const gid_t *groups);

/* Create (truncate) path in the root as remote fd, with content. */
void make_remote_file(struct vos_client *c, const char *path, int fd, const char *content);
/* Open path (relative to dirfd) as fd 300 and check it reads want; want
 * NULL: check that it cannot be opened. */
void expect_secret(struct vos_client *c, int dirfd, const char *path, const char *want);

/* Count the entries of a getdents64 buffer of n bytes; *found (if not NULL)
 * set when one is called name. */
int count_dents(const void *buf, int64_t n, const char *name, int *found);

/* ---- processes ---- */

/* Children of pid (zombies left out), from a /proc scan. */
int children_of(pid_t pid, pid_t *out, int max);
/* Wait (bounded) until pid has at least one child; their number. */
int wait_children(pid_t pid, pid_t *out, int max);
/* Wait (bounded) for the one child of the daemon not in before[]. */
pid_t new_shadow(const pid_t *before, int nbefore);
/* A new client of the test's daemon, and its shadow (the daemon's new
 * child) in *shadow; fails the test if either is missing. */
struct vos_client *connect_with_shadow(pid_t *shadow);
/* Wait (bounded) until *flag is nonzero; the flag. */
int wait_flag(const int *flag);
/* Number of threads /proc lists for pid (0: no such process). */
int nthreads(pid_t pid);
/* Wait (bounded) until pid has ended: gone from /proc, or a zombie whose
 * other threads have all exited. */
int gone(pid_t pid);
/* Wait (bounded) until /proc/locks shows someone blocked on inode ino. */
int lock_waiter_on(ino_t ino);
/* Reap orphaned shadows that were reparented to us (we are a subreaper). */
void reap_orphans(void);

/* ---- daemons ---- */

/* Find the daemon (daemon_bin) from argv[0], ignore SIGPIPE, become a
 * subreaper (shadows orphaned when a daemon stops come to us, not to init,
 * which may not reap in a container; reap_orphans() reaps them) and set
 * have_view.  0, or -1 after saying why on stderr. */
int serviced_init(const char *argv0);
/*
 * Start `vos-serviced ARGS...` (args: without the program, NULL-terminated)
 * and wait (bounded) until a client of service name on run directory rd
 * gets an answer.  Returns its pid; fails the test if it exits or never
 * answers.
 */
pid_t daemon_start(const char *rd, const char *name, const char *const *args);
/* A storage daemon named storage on rootdir and run directory rd, as the
 * test_serviced_* groups run it (opt: one more option and its value, or
 * NULL).  Returns its pid. */
pid_t spawn_daemon(const char *rd, const char *opt, const char *val);
void start_daemon(void);
/* SIGTERM, wait (bounded), SIGKILL if it has to come to that (pid <= 0:
 * nothing). */
void stop_pid(pid_t pid);
void stop_daemon(void);

/* A cmocka teardown for a group or test around the test's daemon: stop
 * daemon_pid and extra_daemon, reap orphaned shadows, remove base. */
int serviced_teardown(void **state);

/* ---- scratch directory ---- */

/* Make base from the mkdtemp() template tmpl (0755, so that other users
 * can reach it), with rootdir and rundir in it. */
void scratch_make(const char *tmpl);
/* Remove base and all in it; 0, or -1 if that failed. */
int scratch_remove(void);

/* Run the group (serviced_init() first): setup (scratch tree, daemon),
 * tests, teardown.  argv[1]
 * (if given) is a cmocka test filter, e.g. 'test_view*'. */
int serviced_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n);
#define SERVICED_MAIN(argc, argv, tests) \
	serviced_main((argc), (argv), (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
