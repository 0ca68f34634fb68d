/*
 * test_vosconf.c - the routing table (libvirtuos/common/vosconf.c), which
 * the preload library and vosctl both use: good configs and what they
 * mean, every error with its line, the limits, prefix normalisation, and
 * the router's path normalisation and longest-prefix matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "common/vosconf.h"

static struct vos_conf conf;    /* large: not on the stack */
static char err[VOS_CONF_ERR_MAX];

static int parse(const char *text)
{
	return vos_conf_parse(&conf, "t.conf", text, strlen(text), err, sizeof err);
}

/* text must be refused with exactly this message. */
static void refused(const char *text, const char *message)
{
	assert_int_equal(parse(text), -1);
	assert_string_equal(err, message);
}

static void accepted(const char *text)
{
	if (parse(text) != 0)
		fail_msg("refused: %s", err);
}

/* ---- good configs ----------------------------------------------------- */

static void test_good_config(void **state)
{
	(void)state;
	accepted("# a comment\n"
		 "\n"
		 "   \t \r\n"
		 "service storage storage   # the files\n"
		 "service\tarchive\tstorage\r\n"
		 "service net network\n"
		 "route /storage storage\n"
		 "route //archive/./old/ archive #no space needed before a comment word\n"
		 "route /storage/cache archive\n"
		 "route-family inet6 net\n"
		 "# the end, no newline after the last line\n"
		 "route /x.y_z-1 storage");
	assert_int_equal(conf.nservices, 3);
	assert_string_equal(conf.services[0].name, "storage");
	assert_string_equal(conf.services[0].role, "storage");
	assert_int_equal(conf.services[0].kind, VOS_SVC_STORAGE);
	assert_int_equal(conf.services[0].line, 4);
	assert_string_equal(conf.services[1].name, "archive");
	assert_int_equal(conf.services[1].kind, VOS_SVC_STORAGE);
	assert_string_equal(conf.services[2].name, "net");
	assert_string_equal(conf.services[2].role, "network");
	assert_int_equal(conf.services[2].kind, VOS_SVC_NETWORK);

	assert_int_equal(conf.nroutes, 4);
	assert_string_equal(conf.routes[0].prefix, "/storage");
	assert_int_equal(conf.routes[0].len, 8);
	assert_int_equal(conf.routes[0].svc, 0);
	assert_int_equal(conf.routes[0].line, 7);
	assert_string_equal(conf.routes[1].prefix, "/archive/old");   /* normalised */
	assert_int_equal(conf.routes[1].svc, 1);
	assert_string_equal(conf.routes[2].prefix, "/storage/cache");
	assert_int_equal(conf.routes[2].svc, 1);
	assert_string_equal(conf.routes[3].prefix, "/x.y_z-1");
	assert_int_equal(conf.routes[3].line, 12);
	/* a service's first route gives the prefix its export appears under */
	assert_int_equal(conf.services[0].route, 0);
	assert_int_equal(conf.services[1].route, 1);
	assert_int_equal(conf.services[2].route, -1);     /* sockets only */
	assert_int_equal(vos_conf_family_service(&conf, AF_INET6), 2);
	assert_int_equal(vos_conf_family_service(&conf, AF_INET), -1);
	assert_int_equal(vos_conf_service_find(&conf, "archive"), 1);
	assert_int_equal(vos_conf_service_find(&conf, "nope"), -1);
}

static void test_empty_config(void **state)
{
	(void)state;
	accepted("");
	assert_int_equal(conf.nservices, 0);
	assert_int_equal(conf.nroutes, 0);
	accepted("# only comments\n\n");
	assert_int_equal(conf.nroutes, 0);
	assert_int_equal(vos_conf_match(&conf, "/storage/x"), -1);
}

static void test_default(void **state)
{
	(void)state;
	memset(&conf, 0xa5, sizeof conf);
	vos_conf_default(&conf);
	assert_int_equal(conf.nservices, 1);
	assert_string_equal(conf.services[0].name, "storage");
	assert_int_equal(conf.services[0].kind, VOS_SVC_STORAGE);
	assert_int_equal(conf.nroutes, 1);
	assert_string_equal(conf.routes[0].prefix, "/storage");
	assert_int_equal(conf.routes[0].svc, 0);
}

/* The repository's own config parses to the default table. */
static void test_repository_config(void **state)
{
	static char text[VOS_CONF_TEXT_MAX];
	FILE *f = fopen("configs/vos.conf", "r");
	size_t len;

	(void)state;
	if (!f)
		skip();         /* not run from the top of the tree */
	len = fread(text, 1, sizeof text, f);
	fclose(f);
	if (vos_conf_parse(&conf, "configs/vos.conf", text, len, err, sizeof err) != 0)
		fail_msg("configs/vos.conf refused: %s", err);
	assert_int_equal(conf.nservices, 2);
	assert_string_equal(conf.services[0].name, "storage");
	assert_string_equal(conf.routes[0].prefix, "/storage");
	assert_string_equal(conf.services[1].name, "network");
	assert_int_equal(vos_conf_family_service(&conf, AF_INET), 1);
	assert_int_equal(vos_conf_family_service(&conf, AF_INET6), 1);
	assert_int_equal(vos_conf_family_service(&conf, AF_UNIX), -1);
}

/* route-family: inet and inet6 to a network service; the local families
 * refused by name, each family once. */
static void test_route_family(void **state)
{
	(void)state;
	accepted("service net network\nroute-family inet net\n");
	assert_int_equal(conf.services[0].route, -1);
	assert_int_equal(vos_conf_family_service(&conf, AF_INET), 0);
	assert_int_equal(vos_conf_family_service(&conf, AF_INET6), -1);
	assert_int_equal(vos_conf_family_service(&conf, AF_NETLINK), -1);
	refused("service net network\nroute-family unix net\n",
		"t.conf:2: family 'unix' stays local and cannot be routed (routable: inet, inet6)");
	refused("service net network\nroute-family netlink net\n",
		"t.conf:2: family 'netlink' stays local and cannot be routed (routable: inet, inet6)");
	refused("service net network\nroute-family packet net\n",
		"t.conf:2: family 'packet' stays local and cannot be routed (routable: inet, inet6)");
	refused("service net network\nroute-family ipx net\n",
		"t.conf:2: unknown socket family 'ipx' (routable: inet, inet6)");
	refused("service s storage\nroute /s s\nroute-family inet s\n",
		"t.conf:3: route-family inet: service 's' has the storage role, not network");
	refused("route-family inet net\n",
		"t.conf:1: route-family to undeclared service 'net' (declare it first: service net network)");
	refused("service net network\nroute-family inet6 net\nroute-family inet6 net\n",
		"t.conf:3: family 'inet6' is routed twice");
	refused("service net network\n",
		"t.conf:1: service 'net' has no route (add: route-family inet net)");
	refused("service net network\nroute /n net\n",
		"t.conf:2: route /n: service 'net' has the network role, which takes route-family "
		"lines (route-family inet net)");
}

/* ---- errors, each with its line --------------------------------------- */

static void test_syntax_errors(void **state)
{
	(void)state;
	refused("\n\nroutes /a b\n",
		"t.conf:3: unknown directive 'routes' (expected: service NAME ROLE, route PREFIX SERVICE, or route-family FAMILY SERVICE)");
	refused("route /storage storage\n",
		"t.conf:1: route to undeclared service 'storage' (declare it first: service storage storage|network)");
	refused("service s storage\nroute /a\n",
		"t.conf:2: route takes 2 arguments, PREFIX and SERVICE (found 1)");
	refused("service s storage\nroute /a s extra words\n",
		"t.conf:2: route takes 2 arguments, PREFIX and SERVICE (found 4)");
	refused("service s\n", "t.conf:1: service takes 2 arguments, NAME and ROLE (found 1)");
	refused("service s storage x\n", "t.conf:1: service takes 2 arguments, NAME and ROLE (found 3)");
}

static void test_nul_byte(void **state)
{
	static const char text[] = "service s storage\nroute /a\0 s\n";

	(void)state;
	assert_int_equal(vos_conf_parse(&conf, "t.conf", text, sizeof text - 1, err, sizeof err), -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line");
}

static void test_service_errors(void **state)
{
	(void)state;
	refused("service s/x storage\n",
		"t.conf:1: service name 's/x' must be 1-31 letters, digits, '_', '-' or '.'");
	refused("service abcdefghijklmnopqrstuvwxyz012345 storage\n",
		"t.conf:1: service name 'abcdefghijklmnopqrstuvwxyz012345' must be 1-31 letters, "
		"digits, '_', '-' or '.'");
	accepted("service abcdefghijklmnopqrstuvwxyz01234 storage\nroute /a abcdefghijklmnopqrstuvwxyz01234\n");
	refused("service s disk\n",
		"t.conf:1: service 's': unknown role 'disk' (roles: storage, network)");
	refused("service s storage\n\nservice s network\n",
		"t.conf:3: service 's' is declared twice (first on line 1)");
	refused("service s storage\nservice t storage\nroute /a s\n",
		"t.conf:2: service 't' has no route (add: route PREFIX t)");
}

static void test_route_errors(void **state)
{
	(void)state;
	refused("service s storage\nroute storage s\n",
		"t.conf:2: route prefix 'storage' must be an absolute path (start with /)");
	refused("service s storage\nroute /a/../b s\n",
		"t.conf:2: route prefix '/a/../b' has a '..' component");
	refused("service s storage\nroute /a/.. s\n",
		"t.conf:2: route prefix '/a/..' has a '..' component");
	refused("service s storage\nroute / s\n",
		"t.conf:2: route prefix '/' is / itself (that would route every path)");
	refused("service s storage\nroute //./ s\n",
		"t.conf:2: route prefix '//./' is / itself (that would route every path)");
	refused("service s storage\nroute /a s\nroute /a/ s\n",
		"t.conf:3: prefix '/a' is routed twice (first on line 2)");
	refused("service s storage\nservice t storage\nroute /a/b s\nroute //a/./b t\n",
		"t.conf:4: prefix '/a/b' is routed twice (first on line 3)");
	refused("service s storage\nroute /a s/\n",
		"t.conf:2: service name 's/' must be 1-31 letters, digits, '_', '-' or '.'");
	/* ".." as part of a name is no ".." component */
	accepted("service s storage\nroute /a..b/..c s\n");
	assert_string_equal(conf.routes[0].prefix, "/a..b/..c");
}

/* ---- limits ----------------------------------------------------------- */

static void test_route_limit(void **state)
{
	char text[4096];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof text - n, "service s storage\n");
	for (int i = 1; i <= VOS_CONF_MAX_ROUTES; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "route /r%d s\n", i);
	accepted(text);
	assert_int_equal(conf.nroutes, VOS_CONF_MAX_ROUTES);
	/* the 17th route, on line 18 */
	snprintf(text + n, sizeof text - n, "route /r%d s\n", VOS_CONF_MAX_ROUTES + 1);
	assert_int_equal(VOS_CONF_MAX_ROUTES, 16);
	refused(text, "t.conf:18: too many routes (at most 16)");
}

static void test_service_limit(void **state)
{
	char text[4096];
	size_t n = 0;

	(void)state;
	for (int i = 1; i <= VOS_CONF_MAX_SERVICES; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "service s%d storage\nroute /s%d s%d\n",
				      i, i, i);
	accepted(text);
	assert_int_equal(conf.nservices, VOS_CONF_MAX_SERVICES);
	snprintf(text + n, sizeof text - n, "service s%d storage\n", VOS_CONF_MAX_SERVICES + 1);
	assert_int_equal(VOS_CONF_MAX_SERVICES, 8);
	refused(text, "t.conf:17: too many services (at most 8)");
}

static void test_size_limits(void **state)
{
	static char text[VOS_CONF_TEXT_MAX + 2];
	size_t n;

	(void)state;
	/* a line of exactly VOS_CONF_LINE_MAX characters is fine */
	n = (size_t)snprintf(text, sizeof text, "service s storage\n#");
	memset(text + n, 'x', VOS_CONF_LINE_MAX - 1);
	n += VOS_CONF_LINE_MAX - 1;
	n += (size_t)snprintf(text + n, sizeof text - n, "\nroute /a s\n");
	assert_int_equal(vos_conf_parse(&conf, "t.conf", text, n, err, sizeof err), 0);
	/* one more character is not */
	n = (size_t)snprintf(text, sizeof text, "service s storage\n#");
	memset(text + n, 'x', VOS_CONF_LINE_MAX);
	n += VOS_CONF_LINE_MAX;
	assert_int_equal(vos_conf_parse(&conf, "t.conf", text, n, err, sizeof err), -1);
	assert_string_equal(err, "t.conf:2: line longer than 4096 characters");
	/* the file as a whole: comments up to the limit */
	memset(text, '\n', sizeof text);
	assert_int_equal(vos_conf_parse(&conf, "t.conf", text, VOS_CONF_TEXT_MAX - 1, err, sizeof err), 0);
	assert_int_equal(vos_conf_parse(&conf, "t.conf", text, VOS_CONF_TEXT_MAX, err, sizeof err), -1);
	assert_string_equal(err, "t.conf: file too long (at most 65535 bytes)");
}

/* A small error buffer gets a truncated message, never an overflow. */
static void test_small_error_buffer(void **state)
{
	char small[12];

	(void)state;
	memset(small, 'z', sizeof small);
	assert_int_equal(vos_conf_parse(&conf, "t.conf", "bad\n", 4, small, sizeof small), -1);
	assert_string_equal(small, "t.conf:1: u");
	assert_int_equal(vos_conf_parse(&conf, "a-very-long-file-name.conf", "bad\n", 4, small,
					sizeof small), -1);
	assert_string_equal(small, "a-very-long");
}

/* ---- path normalisation ----------------------------------------------- */

static void test_normalise(void **state)
{
	static const struct {
		const char *in, *out;
		int trailing;
	} cases[] = {
		{ "/", "/", 1 },
		{ "//", "/", 1 },
		{ "/a", "/a", 0 },
		{ "/a/", "/a", 1 },
		{ "//a//b///", "/a/b", 1 },
		{ "/a/./b", "/a/b", 0 },
		{ "/a/.", "/a", 2 },
		{ "/.", "/", 2 },
		{ "/a/./", "/a", 1 },
		{ "/a/b/..", "/a", 1 },
		{ "/a/b/../c", "/a/c", 0 },
		{ "/..", "/", 1 },
		{ "/../../a", "/a", 0 },
		{ "/a/../..", "/", 1 },
		{ "/a/..b/.c", "/a/..b/.c", 0 },
		{ "/a/...", "/a/...", 0 },
	};
	char out[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int trailing = -1, via = -1;

		assert_int_equal(vos_path_normalise(cases[i].in, out, sizeof out, NULL, &trailing, &via), 0);
		if (strcmp(out, cases[i].out) != 0 || trailing != cases[i].trailing)
			fail_msg("'%s' -> '%s' trailing %d, expected '%s' trailing %d", cases[i].in,
				 out, trailing, cases[i].out, cases[i].trailing);
		assert_int_equal(via, 0);
	}
}

static void test_add_trailing(void **state)
{
	char p[16];

	(void)state;
	strcpy(p, "/a");
	vos_path_add_trailing(p, 0);
	assert_string_equal(p, "/a");
	vos_path_add_trailing(p, 1);
	assert_string_equal(p, "/a/");
	strcpy(p, "/a");
	vos_path_add_trailing(p, 2);
	assert_string_equal(p, "/a/.");
	strcpy(p, "/");
	vos_path_add_trailing(p, 1);
	assert_string_equal(p, "/");
	vos_path_add_trailing(p, 2);
	assert_string_equal(p, "/.");
}

static void test_normalise_too_long(void **state)
{
	char out[8];
	int trailing, via;

	(void)state;
	/* 3 spare bytes are kept for vos_path_add_trailing */
	assert_int_equal(vos_path_normalise("/abcd", out, sizeof out, NULL, &trailing, &via), 0);
	assert_string_equal(out, "/abcd");
	assert_int_equal(vos_path_normalise("/abcde", out, sizeof out, NULL, &trailing, &via),
			 -ENAMETOOLONG);
	/* what ".." removes does not count */
	assert_int_equal(vos_path_normalise("/abcd/../ef", out, sizeof out, NULL, &trailing, &via), 0);
	assert_string_equal(out, "/ef");
}

/* ".." that leaves a routed directory: the kernel could not walk it. */
static void test_normalise_via_route(void **state)
{
	char out[PATH_MAX];
	int trailing, via;

	(void)state;
	accepted("service s storage\nroute /storage s\n");
	assert_int_equal(vos_path_normalise("/storage/a/../../etc", out, sizeof out, &conf, &trailing, &via), 0);
	assert_string_equal(out, "/etc");
	assert_int_equal(via, 1);
	assert_int_equal(vos_path_normalise("/storage/..", out, sizeof out, &conf, &trailing, &via), 0);
	assert_string_equal(out, "/");
	assert_int_equal(via, 1);
	/* staying inside, or ".." outside any route */
	assert_int_equal(vos_path_normalise("/storage/a/../b", out, sizeof out, &conf, &trailing, &via), 0);
	assert_string_equal(out, "/storage/b");
	assert_int_equal(via, 1);       /* "/storage/a" is routed: a ".." left it */
	assert_int_equal(vos_path_normalise("/tmp/x/../y", out, sizeof out, &conf, &trailing, &via), 0);
	assert_string_equal(out, "/tmp/y");
	assert_int_equal(via, 0);
	assert_int_equal(vos_path_normalise("/storagex/..", out, sizeof out, &conf, &trailing, &via), 0);
	assert_int_equal(via, 0);
}

/* ---- matching ---------------------------------------------------------- */

static void test_match_longest_prefix(void **state)
{
	(void)state;
	accepted("service s storage\nservice a storage\n"
		 "route /storage s\nroute /storage/archive/ a\nroute /st s\n");
	assert_int_equal(vos_conf_match(&conf, "/storage"), 0);
	assert_int_equal(vos_conf_match(&conf, "/storage/x"), 0);
	assert_int_equal(vos_conf_match(&conf, "/storage/archive"), 1);
	assert_int_equal(vos_conf_match(&conf, "/storage/archive/y/z"), 1);
	assert_int_equal(vos_conf_match(&conf, "/storage/archived"), 0);
	assert_int_equal(vos_conf_match(&conf, "/st"), 2);
	assert_int_equal(vos_conf_match(&conf, "/st/storage"), 2);
	/* a prefix matches whole components only */
	assert_int_equal(vos_conf_match(&conf, "/storagex"), -1);
	assert_int_equal(vos_conf_match(&conf, "/sto"), -1);
	assert_int_equal(vos_conf_match(&conf, "/"), -1);
	assert_int_equal(vos_conf_match(&conf, "/etc/storage"), -1);
	assert_int_equal(conf.routes[vos_conf_match(&conf, "/storage/archive/q")].svc, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_empty_config),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_repository_config),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_service_errors),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_route_family),
		cmocka_unit_test(test_route_limit),
		cmocka_unit_test(test_service_limit),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_add_trailing),
		cmocka_unit_test(test_normalise_too_long),
		cmocka_unit_test(test_normalise_via_route),
		cmocka_unit_test(test_match_longest_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
