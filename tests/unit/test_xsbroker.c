/*
 * test_xsbroker.c - the messages of dom0's xenstore broker (xen_broker.h):
 * the broker's check of a request (junk, wrong lengths, fields that must be
 * zero, out-of-range values, another process's devid), its reading of
 * /proc/<pid>/status (ids that do not match, junk groups), the client's
 * check of a reply, and the client's call against a fake broker on a
 * temporary socket (good reply, junk reply, oversized reply, no broker).
 * xenstore itself is not needed: the jobs run in the guest set only.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "channel/transport_local.h"
#include "channel/xen_broker.h"
#include "xsb_request.h"

#define PID 4321

static struct vos_xsb_req *publish_req(uint32_t pages, size_t *len)
{
	return xsb_publish_req(pages, PID, len);
}

static void simple_req(struct vos_xsb_req *r, uint32_t op)
{
	memset(r, 0, sizeof(*r));
	r->magic = VOS_XSB_MAGIC;
	r->op = op;
	r->domid = 3;
	r->devid = (uint64_t)PID * VOS_XSB_DEVIDS_PER_PID + 999;
}

static void test_lookup(void **state)
{
	struct vos_xsb_req r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.magic = VOS_XSB_MAGIC;
	r.op = VOS_XSB_LOOKUP;
	strcpy(r.name, "storage");
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), 0);
	/* A lookup needs no pid of its own, but the length is exact. */
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r) - 1, PID), -EPROTO);
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r) + 4, PID), -EPROTO);

	strcpy(r.name, "a/b");
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
	memset(r.name, 0, sizeof(r.name));
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);  /* empty */
	memset(r.name, 'x', VOS_XSB_NAME_MAX);
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), 0);        /* 64: fine */
	r.name[VOS_XSB_NAME_MAX] = 'x';
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);  /* 65 */
	memset(r.name, 'x', sizeof(r.name));
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);  /* no NUL */
	memset(r.name, 0, sizeof(r.name));
	strcpy(r.name, "storage");
	r.name[20] = 'z';                                                       /* junk after NUL */
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
	r.name[20] = 0;
	r.devid = 5;
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
	r.devid = 0;
	r.port = 1;
	assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
}

static void test_publish(void **state)
{
	size_t len;
	struct vos_xsb_req *r = publish_req(3, &len);

	(void)state;
	assert_int_equal(vos_xsb_check_request(r, len, PID), 0);
	assert_int_equal(vos_xsb_check_request(r, len - 4, PID), -EPROTO);     /* a ref short */
	assert_int_equal(vos_xsb_check_request(r, len + 4, PID), -EPROTO);     /* one too many */
	assert_int_equal(vos_xsb_check_request(r, 3, PID), -EPROTO);
	assert_int_equal(vos_xsb_check_request(NULL, len, PID), -EPROTO);

	/* Another process's devid, or no pid at all. */
	assert_int_equal(vos_xsb_check_request(r, len, PID + 1), -EPERM);
	assert_int_equal(vos_xsb_check_request(r, len, 0), -EPERM);
	r->devid = (uint64_t)(PID + 1) * VOS_XSB_DEVIDS_PER_PID;
	assert_int_equal(vos_xsb_check_request(r, len, PID), -EPERM);
	r->devid = (uint64_t)PID * VOS_XSB_DEVIDS_PER_PID - 1;
	assert_int_equal(vos_xsb_check_request(r, len, PID), -EPERM);
	r->devid = (uint64_t)PID * VOS_XSB_DEVIDS_PER_PID;
	assert_int_equal(vos_xsb_check_request(r, len, PID), 0);

#define BAD(field, value) do {                                                   \
		struct vos_xsb_req *b = malloc(len);                               \
		assert_non_null(b);                                                \
		memcpy(b, r, len);                                                 \
		b->field = value;                                                  \
		assert_int_equal(vos_xsb_check_request(b, len, PID), -EPROTO);     \
		free(b);                                                           \
	} while (0)
	BAD(magic, 0);
	BAD(op, 0);
	BAD(op, VOS_XSB_OP_MAX + 1);
	BAD(pad, 1);
	BAD(domid, 0);                  /* dom0 is never a service domain */
	BAD(domid, 0x7ff0);
	BAD(kind, 0);
	BAD(kind, VOS_HELLO_FORK_LIVE + 1);
	BAD(umask, 01000);
	BAD(nr_pages, 2);               /* says 2, carries 3 */
	BAD(nr_pages, 0);
	BAD(nr_pages, 0xffffffffu);     /* no overflow into a small length */
	BAD(name[0], 'x');
#undef BAD
	free(r);

	/* The largest channel passes, one page more does not. */
	r = publish_req(VOS_XSB_MAX_PAGES, &len);
	assert_int_equal(len, VOS_XSB_REQ_MAX);
	assert_int_equal(vos_xsb_check_request(r, len, PID), 0);
	free(r);
	r = publish_req(VOS_XSB_MAX_PAGES + 1, &len);
	assert_int_equal(vos_xsb_check_request(r, len, PID), -EPROTO);
	free(r);
}

static void test_channel_ops(void **state)
{
	static const uint32_t ops[] = { VOS_XSB_ANSWER, VOS_XSB_ALIVE, VOS_XSB_REMOVE, VOS_XSB_OWNER };
	struct vos_xsb_req r;

	(void)state;
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		simple_req(&r, ops[i]);
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), 0);
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID - 1), -EPERM);
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r) + 4, PID), -EPROTO);
		r.nr_pages = 1;
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r) + 4, PID), -EPROTO);
		simple_req(&r, ops[i]);
		r.token[3] = 1;         /* publish fields must stay zero */
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
		simple_req(&r, ops[i]);
		r.kind = VOS_HELLO_NEW;
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
		simple_req(&r, ops[i]);
		strcpy(r.name, "storage");
		assert_int_equal(vos_xsb_check_request(&r, sizeof(r), PID), -EPROTO);
	}
}

static const char status_ok[] =
	"Name:\tsetcreds\nUmask:\t0022\nState:\tR (running)\nTgid:\t77\nPid:\t77\n"
	"Uid:\t0\t65534\t65534\t65534\nGid:\t0\t65534\t65534\t65534\n"
	"FDSize:\t64\nGroups:\t4242 65534 \nNStgid:\t77\n";

static void test_status(void **state)
{
	uint32_t g[4];
	char buf[512];

	(void)state;
	assert_int_equal(vos_xsb_parse_status(status_ok, 65534, 65534, g, 4), 2);
	assert_int_equal(g[0], 4242);
	assert_int_equal(g[1], 65534);
	/* The effective ids must be the ones SO_PEERCRED gave. */
	assert_int_equal(vos_xsb_parse_status(status_ok, 0, 65534, g, 4), -ESRCH);
	assert_int_equal(vos_xsb_parse_status(status_ok, 65534, 0, g, 4), -ESRCH);
	assert_int_equal(vos_xsb_parse_status(status_ok, 65534, 65534, g, 1), -E2BIG);
	assert_int_equal(vos_xsb_parse_status(NULL, 0, 0, g, 4), -EPROTO);
	assert_int_equal(vos_xsb_parse_status("", 0, 0, g, 4), -EPROTO);

	assert_int_equal(vos_xsb_parse_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\n",
					      0, 0, g, 4), 0);
	assert_int_equal(vos_xsb_parse_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n",
					      0, 0, g, 4), 0);
	/* Missing lines, wrong id counts, junk numbers. */
	assert_int_equal(vos_xsb_parse_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
					      0, 0, g, 4), -EPROTO);
	assert_int_equal(vos_xsb_parse_status("Uid:\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\n",
					      0, 0, g, 4), -EPROTO);
	static const char *junk[] = { "1a", "-1", "01", "4294967295", "99999999999", "+3" };
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(buf, sizeof(buf), "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t5 %s\n", junk[i]);
		assert_int_equal(vos_xsb_parse_status(buf, 0, 0, g, 4), -EPROTO);
	}
	/* "XUid:" is not "Uid:". */
	assert_int_equal(vos_xsb_parse_status("XUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\n",
					      0, 0, g, 4), -EPROTO);
}

static void test_reply(void **state)
{
	struct vos_xsb_reply rep = { .magic = VOS_XSB_MAGIC };

	(void)state;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_PUBLISH), 0);
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep) - 1, VOS_XSB_PUBLISH), -EPROTO);
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep) + 1, VOS_XSB_PUBLISH), -EPROTO);
	rep.result = 1;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_ANSWER), 0);
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_PUBLISH), -EPROTO);
	rep.result = 2;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_ANSWER), -EPROTO);
	rep.result = -4096;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_ANSWER), -EPROTO);
	rep.result = -EPERM;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_ANSWER), 0);
	rep.result = 0;
	rep.accepted = 2;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_ANSWER), -EPROTO);
	rep.accepted = 0;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_LOOKUP), -EPROTO); /* domid 0 */
	rep.domid = 4;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_LOOKUP), 0);
	rep.magic = 1;
	assert_int_equal(vos_xsb_check_reply(&rep, sizeof(rep), VOS_XSB_LOOKUP), -EPROTO);
}

/* A fake broker: answers one connection with `len` bytes of `rep`, after
 * checking the request as the real one does, with the kernel's pid. */
struct fake {
	int lfd;
	struct vos_xsb_reply rep[2];    /* room for an oversized reply */
	size_t len;
	int checked;                    /* vos_xsb_check_request's verdict */
};

static void *fake_broker(void *arg)
{
	struct fake *f = arg;
	union { struct vos_xsb_req r; char raw[VOS_XSB_REQ_MAX]; } *buf = malloc(sizeof(*buf));
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int c = accept(f->lfd, NULL, NULL);
	ssize_t n;

	assert_non_null(buf);
	assert_true(c >= 0);
	n = recv(c, buf, sizeof(*buf), 0);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen), 0);
	f->checked = vos_xsb_check_request(&buf->r, (size_t)n, cr.pid);
	send(c, f->rep, f->len, MSG_NOSIGNAL);
	close(c);
	free(buf);
	return NULL;
}

static int call_fake(const char *path, const struct vos_xsb_reply *rep, size_t len,
		     struct vos_xsb_reply *out, int *checked)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vos_xsb_req r;
	struct fake f = { .len = len };
	pthread_t th;
	int err;

	memcpy(f.rep, rep, sizeof(*rep) < len ? sizeof(*rep) : len);
	unlink(path);
	strcpy(sa.sun_path, path);
	f.lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_broker, &f), 0);
	memset(&r, 0, sizeof(r));
	r.magic = VOS_XSB_MAGIC;
	r.op = VOS_XSB_OWNER;
	r.domid = 1;
	r.devid = (uint64_t)getpid() * VOS_XSB_DEVIDS_PER_PID + 1;
	err = vos_xsb_call(path, &r, sizeof(r), out);
	pthread_join(th, NULL);
	close(f.lfd);
	unlink(path);
	*checked = f.checked;
	return err;
}

static void test_call(void **state)
{
	char path[64];
	struct vos_xsb_reply rep = { .magic = VOS_XSB_MAGIC, .result = -ESRCH }, out;
	struct vos_xsb_req r;
	int checked;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vos-xsb-test.%d", (int)getpid());
	/* The client's own pid names its devid: the broker's check passes. */
	assert_int_equal(call_fake(path, &rep, sizeof(rep), &out, &checked), -ESRCH);
	assert_int_equal(checked, 0);
	rep.result = 0;
	assert_int_equal(call_fake(path, &rep, sizeof(rep), &out, &checked), 0);
	/* Short, oversized, junk replies. */
	assert_int_equal(call_fake(path, &rep, sizeof(rep) - 2, &out, &checked), -EPROTO);
	assert_int_equal(call_fake(path, &rep, sizeof(rep) + 8, &out, &checked), -EPROTO);
	rep.result = 1;                 /* OWNER never answers 1 */
	assert_int_equal(call_fake(path, &rep, sizeof(rep), &out, &checked), -EPROTO);
	rep.result = 0;
	rep.magic = 0;
	assert_int_equal(call_fake(path, &rep, sizeof(rep), &out, &checked), -EPROTO);

	/* No broker. */
	memset(&r, 0, sizeof(r));
	r.magic = VOS_XSB_MAGIC;
	r.op = VOS_XSB_LOOKUP;
	strcpy(r.name, "storage");
	assert_int_equal(vos_xsb_call(path, &r, sizeof(r), &out), -ENOENT);
	assert_int_equal(vos_xsb_call(NULL, &r, VOS_XSB_REQ_MAX + 1, &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_channel_ops),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
