/*
 * xs.h - xenstore for the Xen transport: libxenstore, loaded when first
 * needed, and the helpers every part of the transport uses (node paths,
 * strict parsing of values the other domain wrote, reads and writes,
 * transactions).
 *
 * libxenstore is reached only through vos_xs (a table of its functions),
 * never by name: libvirtuos.so must not depend on it (a program in local mode
 * never loads it; tests/unit/check-symbols.sh checks).  vos_xs_connect()
 * loads it with dlopen("libxenstore.so.4") on first use; if that fails it
 * says so once on stderr and returns -ELIBACC.  Every xenstore job starts
 * with vos_xs_connect(), so a handle in hand means vos_xs is filled in.
 *
 * Loading is lazy: only a client that does its jobs itself (root; a non-root
 * one goes through vos-xsbroker) loads it, at its first Xen channel.  That
 * dlopen takes the dynamic loader's lock while the engine may hold a service
 * lock; a program with another thread inside dlopen at that moment, whose
 * library constructor makes a routed call, would wait on both.  So the
 * preload library loads it at start-up when $VOS_TRANSPORT is xen
 * (vos_client_prepare -> vos_xen_client_prepare -> vos_xs_load), before the
 * program has threads; the load at the first job is then a no-op.
 */
#ifndef VOS_XEN_XS_H
#define VOS_XEN_XS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xenstore.h>
#include "../vos_proto.h"

#define VOS_XS_PATH_LEN 128

/* The libxenstore functions the transport uses (same names, same types). */
struct vos_xs_lib {
	__typeof__(&xs_open) open;
	__typeof__(&xs_close) close;
	__typeof__(&xs_daemon_destroy_postfork) daemon_destroy_postfork;
	__typeof__(&xs_read) read;
	__typeof__(&xs_write) write;
	__typeof__(&xs_mkdir) mkdir;
	__typeof__(&xs_rm) rm;
	__typeof__(&xs_set_permissions) set_permissions;
	__typeof__(&xs_directory) directory;
	__typeof__(&xs_transaction_start) transaction_start;
	__typeof__(&xs_transaction_end) transaction_end;
	__typeof__(&xs_is_domain_introduced) is_domain_introduced;
	__typeof__(&xs_watch) watch;
	__typeof__(&xs_fileno) fileno;
	__typeof__(&xs_check_watch) check_watch;
};
extern struct vos_xs_lib vos_xs;

/* VOS_XEN_DEBUG=1 in the environment: say on stderr why something failed.
 * Formats into a buffer and writes fd 2 with a raw system call (stdio's
 * stderr may be a stream on a remote file under libvirtuos). */
void vos_xen_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parsing values another domain wrote: junk is -EPROTO. */
/* Decimal without sign, spaces or leading zeros, <= max. */
int vos_xs_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* "0" or "-N" with 1 <= N <= 4095. */
int vos_xs_parse_status(const char *s, int *out);
/* Comma-separated list of exactly `want` (or, if want < 0, up to `max`)
 * numbers <= vmax.  Returns the count or -EPROTO. */
int vos_xs_parse_list(const char *s, uint32_t *out, int want, unsigned max, uint64_t vmax);
/* VOS_TOKEN_LEN bytes as lower-case hex. */
int vos_xs_parse_token(const char *s, uint8_t tok[VOS_TOKEN_LEN]);
void vos_xs_format_token(const uint8_t tok[VOS_TOKEN_LEN], char out[2 * VOS_TOKEN_LEN + 1]);
/* A domain name we look up or serve: 1..64 bytes, no '/'. */
bool vos_xs_name_ok(const char *s);

/* Paths (transport_xen.h lists the nodes). */
int vos_xs_path_join(char *buf, const char *dir, const char *node);   /* -ENAMETOOLONG */
void vos_xs_frontend_path(char buf[VOS_XS_PATH_LEN], uint64_t devid);
void vos_xs_backend_path(char buf[VOS_XS_PATH_LEN], uint32_t svc, uint64_t devid);

/* Open a connection (loading libxenstore first).  NULL + *err. */
struct xs_handle *vos_xs_connect(int *err);
/* Load libxenstore now (once per process).  0 or -ELIBACC (said on stderr). */
int vos_xs_load(void);
/* Drop a handle; in a process other than `owner` (a fork child, where the
 * handle's reader thread does not exist) only the child's copies. */
void vos_xs_drop(struct xs_handle *xs, pid_t owner);

/* Read dir/node as a NUL-terminated string (malloc'ed).  NULL + *err. */
char *vos_xs_get(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		 const char *node, int *err);
int vos_xs_get_u64(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		   const char *node, uint64_t max, uint64_t *out);
int vos_xs_put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	       const char *node, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int vos_xs_put_raw(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		   const char *node, const char *val);
/* The state node of dir (enum vos_xen_state) or -errno. */
int vos_xs_state(struct xs_handle *xs, xs_transaction_t t, const char *dir);
/* Run body inside a transaction, retrying on conflicts (bounded). */
int vos_xs_txn(struct xs_handle *xs, int (*body)(struct xs_handle *, xs_transaction_t, void *),
	       void *arg);

#endif
