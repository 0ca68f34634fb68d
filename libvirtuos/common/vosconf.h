/*
 * vosconf.h - the routing table (vos.conf): one parser, used by the preload
 * library (interpose/route.c) and by vosctl, so that a config one accepts
 * the other accepts too, with the same meaning.
 *
 * The file is lines of words separated by blanks; a word starting with '#'
 * starts a comment.  Directives:
 *
 *   service NAME ROLE     a service: NAME is how routes and the transport
 *                         find it (local mode: <rundir>/NAME.sock); ROLE is
 *                         its kind, "storage" or "network" (vos-serviced's
 *                         --role).
 *   route PREFIX NAME     calls on paths under PREFIX go to service NAME,
 *                         which a service line above declares.
 *   route-family FAMILY NAME
 *                         sockets of FAMILY ("inet" = AF_INET, "inet6" =
 *                         AF_INET6) are made by service NAME, which must have
 *                         the network role.  AF_UNIX, netlink and packet
 *                         sockets always stay local (refused here): a Unix
 *                         socket's peers and names are this domain's, and
 *                         netlink/packet sockets talk to this kernel.
 *
 * PREFIX is an absolute path other than "/"; "//" and "." are normalised
 * away (as in the paths the router matches), ".." is refused.  Every service
 * needs at least one route or route-family.  Limits: VOS_CONF_MAX_SERVICES services,
 * VOS_CONF_MAX_ROUTES routes, names of 1..VOS_CONF_NAME_MAX-1 letters,
 * digits, '_', '-' or '.'.
 *
 * The parser is pure: no globals, no I/O, no exit; the caller reads the
 * file (the preload library with its real_* calls) and reports the error.
 */
#ifndef VOS_CONF_H
#define VOS_CONF_H

#include <limits.h>
#include <stddef.h>
#include "channel/vos_proto.h"

#define VOS_CONF_MAX_SERVICES 8
#define VOS_CONF_MAX_ROUTES   16
#define VOS_CONF_NAME_MAX     32
#define VOS_CONF_LINE_MAX     4096      /* characters per line, newline excluded */
#define VOS_CONF_TEXT_MAX     65536     /* bytes per file */
#define VOS_CONF_ERR_MAX      (PATH_MAX + 256)

struct vos_conf_service {
	char name[VOS_CONF_NAME_MAX];
	const char *role;               /* "storage", "network": a static string */
	enum vos_service_kind kind;
	int route;                      /* index of its first route, -1 if none
					   (a network service has families only) */
	int families;                   /* how many route-family lines name it */
	int line;                       /* where it was declared (0: built in) */
};

struct vos_conf_route {
	char prefix[PATH_MAX];          /* normalised: "/a/b", no trailing '/' */
	size_t len;
	int svc;                        /* index into services */
	int line;
};

struct vos_conf {
	struct vos_conf_service services[VOS_CONF_MAX_SERVICES];
	int nservices;
	struct vos_conf_route routes[VOS_CONF_MAX_ROUTES];
	int nroutes;
	int inet_svc, inet6_svc;        /* route-family: service index + 1, 0 = local */
};

/*
 * Parse `len` bytes of text read from `file` (the name is only used in
 * messages) into conf.  0, or -1 with conf undefined and err holding
 * "FILE:LINE: what is wrong" (or "FILE: what" for the file as a whole),
 * without a program name or a newline.  A file of VOS_CONF_TEXT_MAX bytes
 * or more is refused: read one byte more than the limit to let it tell.
 */
int vos_conf_parse(struct vos_conf *conf, const char *file, const char *text, size_t len,
		   char *err, size_t errlen);

/* The table without a file: service storage storage, route /storage storage. */
void vos_conf_default(struct vos_conf *conf);

/* The service that makes sockets of family (AF_INET, AF_INET6), or -1:
 * local (every other family, and a family no route-family names). */
int vos_conf_family_service(const struct vos_conf *conf, int family);

/* Index of the service called name, or -1. */
int vos_conf_service_find(const struct vos_conf *conf, const char *name);

/*
 * The route a normalised absolute path (vos_path_normalise) falls under:
 * the longest prefix that equals the path or is followed in it by '/'.
 * Its index, or -1 if the path is local.
 */
int vos_conf_match(const struct vos_conf *conf, const char *path);

/*
 * Lexical normalisation of an absolute path `in` into out (size bytes):
 * "//" and "." components dropped, ".." removes the previous component
 * (never above "/"), no trailing '/'; the root is "/".  out keeps 3 spare
 * bytes for vos_path_add_trailing.  *trailing tells what the last component
 * demands: 2 if it was "." (kept, so that e.g. rmdir("d/.") fails with
 * EINVAL as natively), 1 if the path ended in '/' or "..", else 0.  If conf
 * is given, *via_route is set when a ".." stepped out of a routed prefix
 * (the kernel could not walk that path itself); else it is 0.  0 or
 * -ENAMETOOLONG.
 */
int vos_path_normalise(const char *in, char *out, size_t size, const struct vos_conf *conf,
		       int *trailing, int *via_route);

/* Append what the last component demands ("/" or "/.") to a normalised
 * path (it has room: see vos_path_normalise). */
void vos_path_add_trailing(char *path, int trailing);

#endif
