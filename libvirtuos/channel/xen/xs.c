/*
 * xs.c - xenstore for the Xen transport (see xs.h): loading libxenstore,
 * strict parsing, node paths, reads, writes and transactions.  Linked
 * everywhere the transport is.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xs.h"
#include "../transport_xen.h"
#include "../vos_sys.h"

#define XENSTORE_LIB    "libxenstore.so.4"
#define TXN_RETRIES     16

struct vos_xs_lib vos_xs;

void vos_xen_dbg(const char *fmt, ...)
{
	static int on = -1;
	char buf[512];
	va_list ap;
	int n, m;

	if (on < 0)
		on = getenv("VOS_XEN_DEBUG") != NULL;
	if (!on)
		return;
	n = snprintf(buf, sizeof(buf), "vos-xen[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : (n + m < (int)sizeof(buf) - 1 ? n + m : (int)sizeof(buf) - 2);
	buf[n++] = '\n';
	(void)vos_sys_write(2, buf, (size_t)n);
}

/* ------------------------------------------------------------ libxenstore */

static int load_err;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void say(const char *a, const char *b)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "libvirtuos: the Xen transport needs %s: %s\n", a, b);

	if (n > 0)
		(void)vos_sys_write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void load(void)
{
	/* Local: libxenstore stays private to the transport.  Never closed. */
	void *h = dlopen(XENSTORE_LIB, RTLD_NOW | RTLD_LOCAL);
	struct vos_xs_lib l;

	if (!h) {
		const char *why = dlerror();

		say(XENSTORE_LIB, why ? why : "cannot load it");
		load_err = -ELIBACC;
		return;
	}
#define SYM(field, name)                                                \
	do {                                                            \
		*(void **)&l.field = dlsym(h, #name);                    \
		if (!l.field) {                                         \
			say(XENSTORE_LIB, "it lacks " #name);             \
			load_err = -ELIBACC;                            \
			return;                                         \
		}                                                       \
	} while (0)
	SYM(open, xs_open);
	SYM(close, xs_close);
	SYM(daemon_destroy_postfork, xs_daemon_destroy_postfork);
	SYM(read, xs_read);
	SYM(write, xs_write);
	SYM(mkdir, xs_mkdir);
	SYM(rm, xs_rm);
	SYM(set_permissions, xs_set_permissions);
	SYM(directory, xs_directory);
	SYM(transaction_start, xs_transaction_start);
	SYM(transaction_end, xs_transaction_end);
	SYM(is_domain_introduced, xs_is_domain_introduced);
	SYM(watch, xs_watch);
	SYM(fileno, xs_fileno);
	SYM(check_watch, xs_check_watch);
#undef SYM
	vos_xs = l;
}

int vos_xs_load(void)
{
	pthread_once(&load_once, load);
	return load_err;
}

struct xs_handle *vos_xs_connect(int *err)
{
	struct xs_handle *xs;

	pthread_once(&load_once, load);
	if (load_err) {
		*err = load_err;
		return NULL;
	}
	xs = vos_xs.open(0);
	if (!xs)
		*err = errno ? -errno : -ENOENT;
	return xs;
}

void vos_xs_drop(struct xs_handle *xs, pid_t owner)
{
	if (!xs)
		return;
	if (owner == getpid())
		vos_xs.close(xs);
	else
		vos_xs.daemon_destroy_postfork(xs);
}

/* ------------------------------------------------------------------ parsing */

int vos_xs_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	if (v > max)
		return -EPROTO;
	*out = v;
	return 0;
}

int vos_xs_parse_status(const char *s, int *out)
{
	uint64_t v;

	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (s[0] != '-' || vos_xs_parse_u64(s + 1, 4095, &v) || v == 0)
		return -EPROTO;
	*out = -(int)v;
	return 0;
}

int vos_xs_parse_list(const char *s, uint32_t *out, int want, unsigned max, uint64_t vmax)
{
	unsigned n = 0;
	char num[24];

	if (*s == '\0')
		return want <= 0 ? 0 : -EPROTO;
	for (;;) {
		size_t len = strcspn(s, ",");
		uint64_t v;

		if (len == 0 || len >= sizeof(num) || n >= max)
			return -EPROTO;
		memcpy(num, s, len);
		num[len] = '\0';
		if (vos_xs_parse_u64(num, vmax, &v))
			return -EPROTO;
		out[n++] = (uint32_t)v;
		s += len;
		if (*s == '\0')
			break;
		s++;                    /* the comma; a trailing one fails above */
	}
	if (want >= 0 && n != (unsigned)want)
		return -EPROTO;
	return (int)n;
}

int vos_xs_parse_token(const char *s, uint8_t tok[VOS_TOKEN_LEN])
{
	if (strlen(s) != 2 * VOS_TOKEN_LEN)
		return -EPROTO;
	for (unsigned i = 0; i < VOS_TOKEN_LEN; i++) {
		unsigned v = 0;

		for (unsigned j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -EPROTO;
		}
		tok[i] = (uint8_t)v;
	}
	return 0;
}

void vos_xs_format_token(const uint8_t tok[VOS_TOKEN_LEN], char out[2 * VOS_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < VOS_TOKEN_LEN; i++) {
		out[2 * i] = hex[tok[i] >> 4];
		out[2 * i + 1] = hex[tok[i] & 15];
	}
	out[2 * VOS_TOKEN_LEN] = '\0';
}

bool vos_xs_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 64 && !strchr(s, '/');
}

/* -------------------------------------------------------------------- paths */

int vos_xs_path_join(char *buf, const char *dir, const char *node)
{
	int n = snprintf(buf, VOS_XS_PATH_LEN, "%s/%s", dir, node);

	return (n < 0 || n >= VOS_XS_PATH_LEN) ? -ENAMETOOLONG : 0;
}

void vos_xs_frontend_path(char buf[VOS_XS_PATH_LEN], uint64_t devid)
{
	snprintf(buf, VOS_XS_PATH_LEN, "/local/domain/%u/device/vos/%" PRIu64,
		 VOS_XEN_PRIMARY_DOMID, devid);
}

void vos_xs_backend_path(char buf[VOS_XS_PATH_LEN], uint32_t svc, uint64_t devid)
{
	snprintf(buf, VOS_XS_PATH_LEN, "/local/domain/%" PRIu32 "/backend/vos/%u/%" PRIu64,
		 svc, VOS_XEN_PRIMARY_DOMID, devid);
}

/* ------------------------------------------------------- reads and writes */

char *vos_xs_get(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		 const char *node, int *err)
{
	char path[VOS_XS_PATH_LEN];
	unsigned len = 0;
	char *v;

	*err = vos_xs_path_join(path, dir, node);
	if (*err)
		return NULL;
	v = vos_xs.read(xs, t, path, &len);
	if (!v) {
		*err = errno ? -errno : -EIO;
		if (*err != -ENOENT)
			vos_xen_dbg("read %s: %s", path, strerror(-*err));
		return NULL;
	}
	if (strlen(v) != len) {         /* an embedded NUL: not one of ours */
		free(v);
		*err = -EPROTO;
		return NULL;
	}
	return v;
}

int vos_xs_get_u64(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		   const char *node, uint64_t max, uint64_t *out)
{
	int err;
	char *v = vos_xs_get(xs, t, dir, node, &err);

	if (!v)
		return err;
	err = vos_xs_parse_u64(v, max, out);
	free(v);
	return err;
}

int vos_xs_put_raw(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		   const char *node, const char *val)
{
	char path[VOS_XS_PATH_LEN];
	int err = vos_xs_path_join(path, dir, node);

	if (err)
		return err;
	if (!vos_xs.write(xs, t, path, val, (unsigned)strlen(val))) {
		err = errno ? -errno : -EIO;
		vos_xen_dbg("write %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

int vos_xs_put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	       const char *node, const char *fmt, ...)
{
	char val[VOS_XS_PATH_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(val))
		return -E2BIG;
	return vos_xs_put_raw(xs, t, dir, node, val);
}

int vos_xs_state(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
	uint64_t v;
	int err = vos_xs_get_u64(xs, t, dir, "state", VOS_XEN_CLOSED, &v);

	return err ? err : (int)v;
}

int vos_xs_txn(struct xs_handle *xs, int (*body)(struct xs_handle *, xs_transaction_t, void *),
	       void *arg)
{
	for (int i = 0; i < TXN_RETRIES; i++) {
		xs_transaction_t t = vos_xs.transaction_start(xs);
		int err;

		if (t == XBT_NULL) {
			vos_xen_dbg("transaction start: %s", strerror(errno));
			return errno ? -errno : -EIO;
		}
		err = body(xs, t, arg);
		if (err) {
			vos_xs.transaction_end(xs, t, true);
			return err;
		}
		if (vos_xs.transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN) {
			vos_xen_dbg("transaction end: %s", strerror(errno));
			return errno ? -errno : -EIO;
		}
	}
	return -EAGAIN;
}
