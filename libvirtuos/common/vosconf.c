/*
 * vosconf.c - the routing table: parsing vos.conf, normalising paths and
 * prefixes, and finding the route of a path.  See vosconf.h.
 *
 * Nothing here may reach an interposed function of the preload library:
 * only string functions and (v)snprintf, which make no system calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "vosconf.h"

/* The kinds of service a config may name (vos-serviced's --role). */
static const struct {
	const char *name;
	enum vos_service_kind kind;
} roles[] = {
	{ "storage", VOS_SVC_STORAGE },
	{ "network", VOS_SVC_NETWORK },
};

#define NROLES (sizeof(roles) / sizeof(roles[0]))
#define MAX_WORDS 4     /* a directive and its arguments, plus one to tell "too many" */

struct parser {
	struct vos_conf *conf;
	const char *file;
	int line;
	char *err;
	size_t errlen;
};

static __attribute__((format(printf, 3, 4)))
int fail(struct parser *p, int line, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	int r;

	r = line > 0 ? snprintf(p->err, p->errlen, "%s:%d: ", p->file, line)
		     : snprintf(p->err, p->errlen, "%s: ", p->file);
	if (r > 0)
		n = (size_t)r < p->errlen ? (size_t)r : p->errlen;
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-' || s[n] == '.'))
			return 0;
	return n > 0 && n < VOS_CONF_NAME_MAX;
}

static int bad_name(struct parser *p, const char *what, const char *name)
{
	return fail(p, p->line, "%s '%s' must be 1-%d letters, digits, '_', '-' or '.'",
		    what, name, VOS_CONF_NAME_MAX - 1);
}

/* ---- directives ------------------------------------------------------- */

/* service NAME ROLE */
static int parse_service(struct parser *p, char **arg)
{
	struct vos_conf *c = p->conf;
	struct vos_conf_service *s;
	size_t r;
	int i;

	if (!valid_name(arg[0]))
		return bad_name(p, "service name", arg[0]);
	i = vos_conf_service_find(c, arg[0]);
	if (i >= 0)
		return fail(p, p->line, "service '%s' is declared twice (first on line %d)",
			    arg[0], c->services[i].line);
	for (r = 0; r < NROLES && strcmp(arg[1], roles[r].name); r++)
		;
	if (r == NROLES)
		return fail(p, p->line, "service '%s': unknown role '%s' (roles: storage, network)",
			    arg[0], arg[1]);
	if (c->nservices == VOS_CONF_MAX_SERVICES)
		return fail(p, p->line, "too many services (at most %d)", VOS_CONF_MAX_SERVICES);
	s = &c->services[c->nservices++];
	snprintf(s->name, sizeof(s->name), "%s", arg[0]);
	s->role = roles[r].name;
	s->kind = roles[r].kind;
	s->route = -1;
	s->line = p->line;
	return 0;
}

/* Does the absolute path have a ".." component? */
static int has_dotdot(const char *path)
{
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
		c += n;
		c += *c == '/';
	}
	return 0;
}

/* route PREFIX NAME */
static int parse_route(struct parser *p, char **arg)
{
	struct vos_conf *c = p->conf;
	struct vos_conf_route *r;
	int trailing, via, svc;

	if (arg[0][0] != '/')
		return fail(p, p->line, "route prefix '%s' must be an absolute path (start with /)",
			    arg[0]);
	if (has_dotdot(arg[0]))
		return fail(p, p->line, "route prefix '%s' has a '..' component", arg[0]);
	if (!valid_name(arg[1]))
		return bad_name(p, "service name", arg[1]);
	svc = vos_conf_service_find(c, arg[1]);
	if (svc < 0)
		return fail(p, p->line, "route to undeclared service '%s' (declare it first: "
			    "service %s storage|network)", arg[1], arg[1]);
	if (c->services[svc].kind == VOS_SVC_NETWORK)
		return fail(p, p->line, "route %s: service '%s' has the network role, which takes "
			    "route-family lines (route-family inet %s)", arg[0], arg[1], arg[1]);
	if (c->nroutes == VOS_CONF_MAX_ROUTES)
		return fail(p, p->line, "too many routes (at most %d)", VOS_CONF_MAX_ROUTES);
	r = &c->routes[c->nroutes];
	if (vos_path_normalise(arg[0], r->prefix, sizeof(r->prefix), NULL, &trailing, &via) < 0)
		return fail(p, p->line, "route prefix '%s' is too long", arg[0]);
	if (strcmp(r->prefix, "/") == 0)
		return fail(p, p->line, "route prefix '%s' is / itself (that would route every path)",
			    arg[0]);
	for (int i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].prefix, r->prefix) == 0)
			return fail(p, p->line, "prefix '%s' is routed twice (first on line %d)",
				    r->prefix, c->routes[i].line);
	r->len = strlen(r->prefix);
	r->svc = svc;
	r->line = p->line;
	if (c->services[svc].route < 0)
		c->services[svc].route = c->nroutes;
	c->nroutes++;
	return 0;
}

/* route-family FAMILY NAME */
static int parse_family(struct parser *p, char **arg)
{
	static const char *const local[] = { "unix", "local", "netlink", "packet" };
	struct vos_conf *c = p->conf;
	int *slot, svc;

	if (strcmp(arg[0], "inet") == 0) {
		slot = &c->inet_svc;
	} else if (strcmp(arg[0], "inet6") == 0) {
		slot = &c->inet6_svc;
	} else {
		for (size_t i = 0; i < sizeof local / sizeof *local; i++)
			if (strcmp(arg[0], local[i]) == 0)
				return fail(p, p->line, "family '%s' stays local and cannot be routed "
					    "(routable: inet, inet6)", arg[0]);
		return fail(p, p->line, "unknown socket family '%s' (routable: inet, inet6)", arg[0]);
	}
	if (!valid_name(arg[1]))
		return bad_name(p, "service name", arg[1]);
	svc = vos_conf_service_find(c, arg[1]);
	if (svc < 0)
		return fail(p, p->line, "route-family to undeclared service '%s' (declare it first: "
			    "service %s network)", arg[1], arg[1]);
	if (c->services[svc].kind != VOS_SVC_NETWORK)
		return fail(p, p->line, "route-family %s: service '%s' has the %s role, not network",
			    arg[0], arg[1], c->services[svc].role);
	if (*slot)
		return fail(p, p->line, "family '%s' is routed twice", arg[0]);
	*slot = svc + 1;
	c->services[svc].families++;
	return 0;
}

static const struct directive {
	const char *name;
	int nargs;
	const char *args;               /* for messages */
	int (*parse)(struct parser *p, char **arg);
} directives[] = {
	{ "service", 2, "NAME and ROLE", parse_service },
	{ "route", 2, "PREFIX and SERVICE", parse_route },
	{ "route-family", 2, "FAMILY and SERVICE", parse_family },
};

#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* One line (NUL-terminated, modified in place). */
static int parse_line(struct parser *p, char *s)
{
	char *word[MAX_WORDS], *save = NULL;
	int n = 0;
	size_t d;

	for (char *t = strtok_r(s, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (t[0] == '#')
			break;
		if (n < MAX_WORDS)
			word[n] = t;
		n++;
	}
	if (n == 0)
		return 0;
	for (d = 0; d < NDIRECTIVES && strcmp(word[0], directives[d].name); d++)
		;
	if (d == NDIRECTIVES)
		return fail(p, p->line, "unknown directive '%s' (expected: service NAME ROLE, "
			    "route PREFIX SERVICE, or route-family FAMILY SERVICE)", word[0]);
	if (n - 1 != directives[d].nargs)
		return fail(p, p->line, "%s takes %d arguments, %s (found %d)", directives[d].name,
			    directives[d].nargs, directives[d].args, n - 1);
	return directives[d].parse(p, word + 1);
}

int vos_conf_parse(struct vos_conf *conf, const char *file, const char *text, size_t len,
		   char *err, size_t errlen)
{
	struct parser p = { .conf = conf, .file = file, .err = err, .errlen = errlen };
	char buf[VOS_CONF_LINE_MAX + 1];
	size_t at = 0;

	memset(conf, 0, sizeof(*conf));
	if (errlen)
		err[0] = '\0';
	if (len >= VOS_CONF_TEXT_MAX)
		return fail(&p, 0, "file too long (at most %d bytes)", VOS_CONF_TEXT_MAX - 1);
	while (at < len) {
		const char *s = text + at, *nl = memchr(s, '\n', len - at);
		size_t n = nl ? (size_t)(nl - s) : len - at;

		p.line++;
		at += n + (nl != NULL);
		if (n > VOS_CONF_LINE_MAX)
			return fail(&p, p.line, "line longer than %d characters", VOS_CONF_LINE_MAX);
		if (memchr(s, '\0', n))
			return fail(&p, p.line, "NUL byte in line");
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (parse_line(&p, buf) < 0)
			return -1;
	}
	for (int i = 0; i < conf->nservices; i++)
		if (conf->services[i].route < 0 && !conf->services[i].families)
			return fail(&p, conf->services[i].line, "service '%s' has no route "
				    "(add: route%s %s)", conf->services[i].name,
				    conf->services[i].kind == VOS_SVC_NETWORK ? "-family inet" : " PREFIX",
				    conf->services[i].name);
	return 0;
}

void vos_conf_default(struct vos_conf *conf)
{
	static const char text[] = "service storage storage\nroute /storage storage\n";
	char err[64];           /* it never fails */

	vos_conf_parse(conf, "(default)", text, sizeof(text) - 1, err, sizeof(err));
	for (int i = 0; i < conf->nservices; i++)
		conf->services[i].line = 0;
	for (int i = 0; i < conf->nroutes; i++)
		conf->routes[i].line = 0;
}

int vos_conf_family_service(const struct vos_conf *conf, int family)
{
	if (family == AF_INET)
		return conf->inet_svc - 1;
	if (family == AF_INET6)
		return conf->inet6_svc - 1;
	return -1;
}

int vos_conf_service_find(const struct vos_conf *conf, const char *name)
{
	for (int i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- paths ------------------------------------------------------------- */

int vos_conf_match(const struct vos_conf *conf, const char *path)
{
	int best = -1;

	for (int i = 0; i < conf->nroutes; i++) {
		const struct vos_conf_route *r = &conf->routes[i];

		if (strncmp(path, r->prefix, r->len) == 0 &&
		    (path[r->len] == '\0' || path[r->len] == '/') &&
		    (best < 0 || r->len > conf->routes[best].len))
			best = i;
	}
	return best;
}

int vos_path_normalise(const char *in, char *out, size_t size, const struct vos_conf *conf,
		       int *trailing, int *via_route)
{
	const char *p = in, *last = in;
	size_t o = 0, n;

	*via_route = 0;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		last = p;
		n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			out[o] = '\0';
			if (conf && o > 0 && vos_conf_match(conf, out) >= 0)
				*via_route = 1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + 1 + n + 3 > size)
				return -ENAMETOOLONG;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	n = strlen(in);
	if (strcmp(last, ".") == 0)
		*trailing = 2;
	else
		*trailing = (n > 0 && in[n - 1] == '/') || strcmp(last, "..") == 0;
	return 0;
}

void vos_path_add_trailing(char *path, int trailing)
{
	size_t n = strlen(path);

	if (trailing == 2)
		strcpy(path + n, n > 1 ? "/." : ".");
	else if (trailing && n > 1)
		strcpy(path + n, "/");
}
