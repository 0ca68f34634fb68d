/*
 * broker_check.c - the broker's checks of what a client sends
 * (xen_broker.h): every request strictly (it comes from any dom0 user), and
 * the caller's /proc/<pid>/status.  Pure functions, no I/O, so that the unit
 * tests can feed them junk.  Broker side: not linked into libvirtuos.so
 * (the client's check of a reply is in broker_client.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "../rendezvous.h"      /* enum vos_hello_kind */
#include "../xen_broker.h"

#define DOMID_LIMIT 0x7ff0u     /* DOMID_FIRST_RESERVED: no real domain at or above */

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/* The PUBLISH-only fields of a request are all zero. */
static bool publish_fields_zero(const struct vos_xsb_req *r)
{
	return r->front_ref == 0 && r->back_ref == 0 && r->port == 0 && r->kind == 0 &&
	       r->umask == 0 && all_zero(r->token, sizeof(r->token));
}

/* A domain name as transport_xen accepts it: 1..64 bytes, no '/', NUL-padded
 * to the end of the field. */
static bool name_field_ok(const char *name)
{
	size_t n = strnlen(name, VOS_XSB_NAME_FIELD);

	return n > 0 && n <= VOS_XSB_NAME_MAX && !memchr(name, '/', n) &&
	       all_zero(name + n, VOS_XSB_NAME_FIELD - n);
}

int vos_xsb_check_request(const struct vos_xsb_req *r, size_t len, pid_t peer_pid)
{
	size_t want = sizeof(*r);

	if (!r || len < sizeof(*r) || r->magic != VOS_XSB_MAGIC || r->pad != 0 ||
	    r->op < VOS_XSB_LOOKUP || r->op > VOS_XSB_OP_MAX)
		return -EPROTO;
	if (r->op == VOS_XSB_LOOKUP) {
		if (len != want || r->domid || r->nr_pages || r->devid || !publish_fields_zero(r) ||
		    !name_field_ok(r->name))
			return -EPROTO;
		return 0;
	}
	if (r->domid == 0 || r->domid >= DOMID_LIMIT ||
	    !all_zero(r->name, sizeof(r->name)))
		return -EPROTO;
	if (r->op == VOS_XSB_PUBLISH) {
		if (r->nr_pages == 0 || r->nr_pages > VOS_XSB_MAX_PAGES)
			return -EPROTO;
		want += (size_t)r->nr_pages * sizeof(uint32_t);
		if (len != want || r->kind < VOS_HELLO_NEW || r->kind > VOS_HELLO_FORK_LIVE ||
		    r->umask > 0777)
			return -EPROTO;
	} else if (len != want || r->nr_pages || !publish_fields_zero(r)) {
		return -EPROTO;
	}
	/* The devid namespace is split by pid: a client names only its own. */
	if (peer_pid <= 0 || r->devid / VOS_XSB_DEVIDS_PER_PID != (uint64_t)peer_pid)
		return -EPERM;
	return 0;
}

/* Decimal without sign or leading zeros (as the kernel prints ids). */
static int parse_id(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX - 1)         /* (uid_t)-1 is "no id" */
		return -EPROTO;
	*out = (uint32_t)v;
	return 0;
}

/* The value of the line "Key:\t..." (up to the newline), or NULL. */
static const char *field(const char *text, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			const char *v = p + klen + 1;
			const char *end = strchr(v, '\n');

			*len = end ? (size_t)(end - v) : strlen(v);
			return v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Split a whitespace-separated list of ids; returns the count or -errno. */
static int parse_ids(const char *v, size_t len, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	size_t i = 0;

	for (;;) {
		size_t start;

		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == len)
			return (int)n;
		start = i;
		while (i < len && v[i] != ' ' && v[i] != '\t')
			i++;
		if (n == max)
			return -E2BIG;
		if (parse_id(v + start, i - start, &out[n]))
			return -EPROTO;
		n++;
	}
}

int vos_xsb_parse_status(const char *text, uid_t euid, gid_t egid, uint32_t *gids,
			 unsigned max)
{
	/* "Uid:" and "Gid:" list real, effective, saved and file-system ids. */
	uint32_t ids[4];
	const char *v;
	size_t len;
	int n;

	if (!text)
		return -EPROTO;
	v = field(text, "Uid", &len);
	if (!v || parse_ids(v, len, ids, 4) != 4)
		return -EPROTO;
	if (ids[1] != (uint32_t)euid)
		return -ESRCH;
	v = field(text, "Gid", &len);
	if (!v || parse_ids(v, len, ids, 4) != 4)
		return -EPROTO;
	if (ids[1] != (uint32_t)egid)
		return -ESRCH;
	v = field(text, "Groups", &len);
	if (!v)
		return -EPROTO;
	n = parse_ids(v, len, gids, max);
	return n;
}
