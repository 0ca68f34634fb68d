/*
 * test_xen_jobs.c - what the Xen transport's xenstore jobs do before they
 * touch xenstore (xen_jobs.h): vos_xen_conn_fill(), the one place where a
 * PUBLISH request and the client's identity become the conn whose nodes are
 * written, whoever writes them (the client itself or vos-xsbroker); and
 * loading libxenstore, which the transport reaches only through dlopen.
 * xenstore itself is not needed (the jobs run in the guest set only).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "channel/xen_jobs.h"
#include "channel/xen/xs.h"
#include "xsb_request.h"

/* A request whose values differ from xsb_publish_req's where they can, so
 * that each is seen carried over. */
static struct vos_xsb_req *publish_req(uint32_t pages, size_t *len)
{
	struct vos_xsb_req *r = xsb_publish_req(pages, 4321, len);

	r->domid = 5;
	r->kind = VOS_HELLO_CLAIM;
	r->umask = 027;
	return r;
}

static void conn_fill_takes_request_and_identity(void **state)
{
	struct vos_xen_conn *c = malloc(sizeof(*c));
	struct vos_xen_ident id = { .cred = { .pid = 4321, .uid = 1000, .gid = 100 }, .ngids = 3,
				    .gids = { 100, 27, 4 } };
	size_t len;
	struct vos_xsb_req *r = publish_req(131, &len);

	(void)state;
	assert_non_null(c);
	memset(c, 0x5a, sizeof(*c));            /* nothing stale may survive */
	vos_xen_conn_fill(c, r, &id);
	assert_int_equal(c->self_domid, 5);
	assert_int_equal(c->front_domid, VOS_XEN_PRIMARY_DOMID);
	assert_int_equal(c->devid, 4321007);
	assert_int_equal(c->front_ref, 8);
	assert_int_equal(c->back_ref, 9);
	assert_int_equal(c->port, 10);
	assert_int_equal(c->nr_pages, 131);
	assert_int_equal(c->refs[0], 100);
	assert_int_equal(c->refs[130], 230);
	assert_int_equal(c->refs[131], 0);
	assert_int_equal(c->cred.pid, 4321);
	assert_int_equal(c->cred.uid, 1000);
	assert_int_equal(c->cred.gid, 100);
	assert_int_equal(c->ngids, 3);
	assert_int_equal(c->gids[1], 27);
	assert_int_equal(c->gids[3], 0);
	assert_true(c->hello.magic == VOS_HELLO_MAGIC);
	assert_int_equal(c->hello.version, VOS_PROTO_VERSION);
	assert_int_equal(c->hello.kind, VOS_HELLO_CLAIM);
	assert_int_equal(c->hello.umask, 027);
	assert_int_equal(c->hello.token[0], 0xab);
	assert_int_equal(c->hello.token[VOS_TOKEN_LEN - 1], 0xab);
	assert_int_equal(c->hello.pad, 0);
	free(r);
	free(c);
}

/* Out-of-range counts are clipped to the arrays (vos_xen_job_publish then
 * refuses nothing it could overrun); stray umask bits are dropped. */
static void conn_fill_bounds_counts(void **state)
{
	struct vos_xen_conn *c = malloc(sizeof(*c));
	struct vos_xen_ident *id = calloc(1, sizeof(*id));
	size_t len;
	struct vos_xsb_req *r = publish_req(VOS_XEN_MAX_PAGES, &len);

	(void)state;
	assert_non_null(c);
	assert_non_null(id);
	r->nr_pages = VOS_XEN_MAX_PAGES + 1;
	r->umask = 07777;
	id->ngids = VOS_XEN_MAX_GIDS + 5;
	vos_xen_conn_fill(c, r, id);
	assert_int_equal(c->nr_pages, VOS_XEN_MAX_PAGES);
	assert_int_equal(c->refs[VOS_XEN_MAX_PAGES - 1], 100 + VOS_XEN_MAX_PAGES - 1);
	assert_int_equal(c->ngids, VOS_XEN_MAX_GIDS);
	assert_int_equal(c->hello.umask, 0777);
	free(r);
	free(id);
	free(c);
}

/* With libxenstore installed (the build needs it) the load succeeds; the
 * connection then fails only for want of a xenstored here, never with
 * -ELIBACC, and the functions are filled in. */
static void xs_connect_loads_libxenstore(void **state)
{
	int err = 0;
	struct xs_handle *xs = vos_xs_connect(&err);

	(void)state;
	if (xs)
		vos_xs.close(xs);
	else
		assert_int_not_equal(err, -ELIBACC);
	assert_non_null(vos_xs.open);
	assert_non_null(vos_xs.check_watch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conn_fill_takes_request_and_identity),
		cmocka_unit_test(conn_fill_bounds_counts),
		cmocka_unit_test(xs_connect_loads_libxenstore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
