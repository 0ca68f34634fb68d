/*
 * local.c - `vosctl local run|serve|env`: local mode, where each service
 * "domain" the config declares is a vos-serviced process on this host.
 *
 *   run    read the config, prepare an export root per service and a
 *          private run directory, start one vos-serviced per service line,
 *          wait until every one listens, run CMD with libvirtuos.so
 *          preloaded, stop the services, clean up, exit with CMD's status.
 *   serve  the same services in the foreground, for experiments where they
 *          are killed and restarted by hand.
 *   env    the `export` lines that put programs of a shell under them.
 *
 * The default config is configs/vos.conf of the source tree (../../configs
 * from the build tree's bin); VOS_CONFIG overrides it.  The config is read
 * with the parser libvirtuos uses (common/vosconf.c), so a config vosctl
 * accepts never stops the programs.  Starting and stopping the daemons
 * lives in daemon.c.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "vosctl.h"
#include "daemon.h"
#include "dispatch/dispatch.h"

#define MAX_WORKERS 256

/* --root NAME=DIR (or --storage-root DIR: NAME is "storage") */
struct root_opt {
	char name[VOS_CONF_NAME_MAX];
	const char *dir;
	const char *given;              /* the option, for messages */
	const char *value;              /* its value as written */
};

struct options {
	struct root_opt roots[VOS_CONF_MAX_SERVICES];
	int nroots;
	const char *config;      /* --config */
	const char *rundir;      /* --rundir */
	const char *workers;     /* --workers, validated */
	int keep_root;           /* --keep-root */
	int stats;               /* --stats */
	int net_namespace;       /* --net-namespace */
	char **cmd;              /* run: CMD [ARGS...] (NULL-terminated) */
};

/* Everything a run or serve sets up and must tear down. */
struct session {
	struct vos_conf conf;
	char config[PATH_MAX];
	char rundir[PATH_MAX];
	int rundir_is_temp;
	int keep_root;
	struct vosctl_launch launch;
	struct vosctl_daemon d[VOS_CONF_MAX_SERVICES];
	int n;                          /* daemons: one per service line */
};

/* Large (the routing table, paths per service): not on the stack. */
static struct session session;

/* Help --------------------------------------------------------------------- */

static void usage_local(FILE *f)
{
	fputs("usage: vosctl local run [OPTIONS] [--] CMD [ARGS...]\n"
	      "       vosctl local serve [--root NAME=DIR]... [--storage-root DIR] [--rundir DIR]\n"
	      "                          [--config FILE] [--workers N] [--keep-root] [--net-namespace]\n"
	      "       vosctl local env --rundir DIR [--config FILE] [--stats]\n"
	      "\n"
	      "run: start every service the config declares (one vos-serviced per `service`\n"
	      "line), run CMD under libvirtuos.so (paths under each route's prefix are served\n"
	      "from that service's export root), stop the services, exit with CMD's status\n"
	      "(128+N if CMD was killed by signal N).\n"
	      "  --root NAME=DIR     directory service NAME exports (repeatable; default: a fresh\n"
	      "                      temporary directory per service, removed afterwards)\n"
	      "  --storage-root DIR  the same as --root storage=DIR\n"
	      "  --keep-root         keep the temporary roots and print where they are\n"
	      "  --config FILE       routing table (default: $VOS_CONFIG, else configs/vos.conf):\n"
	      "                      `service NAME ROLE` (ROLE: storage or network) and\n"
	      "                      `route PREFIX NAME`, `route-family inet|inet6 NAME` lines,\n"
	      "                      `#` comments, blank lines\n"
	      "  --rundir DIR        where the services' sockets (NAME.sock) live (default: a\n"
	      "                      private temporary directory, removed afterwards)\n"
	      "  --workers N         worker threads per client in each service\n"
	      "  --stats             CMD prints its channel counters at exit (VOS_STATS=1)\n"
	      "  --net-namespace     run each network service in a network namespace of its\n"
	      "                      own (root only; only `lo`, up): CMD's AF_INET/AF_INET6\n"
	      "                      sockets live there, not in this host's stack\n"
	      "\n"
	      "serve: run the same services in the foreground until one ends or vosctl is\n"
	      "interrupted; each writes DIR/NAME.pid once it listens.  Other shells join them\n"
	      "with\n"
	      "  eval \"$(vosctl local env --rundir DIR)\"\n"
	      "\n"
	      "env: print the export lines (LD_PRELOAD, VOS_RUNDIR, VOS_CONFIG) for a shell.\n"
	      "\n"
	      "Environment: VOS_SERVICED (the daemon binary), VOS_LIBVIRTUOS (the preload\n"
	      "library; a space-separated list is preloaded in order), VOS_CONFIG.\n"
	      "Exit status 2: bad option, bad config (reported as FILE:LINE: what), missing\n"
	      "directory, a service that did not start; 127: CMD not found.\n",
	      f);
}

/* Options ------------------------------------------------------------------ */

/* Record --root NAME=DIR (name NULL) or --storage-root DIR (name "storage"). */
static int add_root(struct options *o, const char *opt, const char *name, const char *value)
{
	struct root_opt *r;
	const char *dir = value;
	size_t nlen;

	if (!name) {
		const char *eq = strchr(value, '=');

		if (!eq || eq == value || !eq[1]) {
			fprintf(stderr, "vosctl: %s '%s': expected NAME=DIR\n", opt, value);
			return -1;
		}
		name = value;
		nlen = (size_t)(eq - value);
		dir = eq + 1;
	} else {
		nlen = strlen(name);
	}
	if (nlen >= VOS_CONF_NAME_MAX) {
		fprintf(stderr, "vosctl: %s: service name too long\n", opt);
		return -1;
	}
	for (int i = 0; i < o->nroots; i++) {
		if (strlen(o->roots[i].name) == nlen && !strncmp(o->roots[i].name, name, nlen)) {
			fprintf(stderr, "vosctl: %s %s: a root for service '%.*s' was already given\n",
				opt, value, (int)nlen, name);
			return -1;
		}
	}
	if (o->nroots == VOS_CONF_MAX_SERVICES) {
		fprintf(stderr, "vosctl: too many roots (at most %d services)\n", VOS_CONF_MAX_SERVICES);
		return -1;
	}
	r = &o->roots[o->nroots++];
	memcpy(r->name, name, nlen);
	r->name[nlen] = '\0';
	r->dir = dir;
	r->given = opt;
	r->value = value;
	return 0;
}

/* Parse `--name VALUE` / `--name=VALUE` / flags.  For run, the first word
 * that is not an option (or everything after `--`) is CMD.  Returns 0, 1 for
 * --help, or -1 after printing an error. */
static int parse_options(int argc, char **argv, int want_cmd, struct options *o)
{
	static const char *const with_value[] = {
		"--root", "--storage-root", "--config", "--rundir", "--workers"
	};
	int i;
	size_t k;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq, *value = NULL;
		size_t nlen;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (a[0] != '-' || a[1] == '\0')
			break;          /* CMD starts here */
		if (!strcmp(a, "--keep-root")) {
			o->keep_root = 1;
			continue;
		}
		if (!strcmp(a, "--stats")) {
			o->stats = 1;
			continue;
		}
		if (!strcmp(a, "--net-namespace")) {
			o->net_namespace = 1;
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
			if (strlen(with_value[k]) == nlen && !strncmp(a, with_value[k], nlen))
				break;
		if (k == sizeof with_value / sizeof with_value[0]) {
			fprintf(stderr, "vosctl: unknown option '%s' (try: vosctl local --help)\n", a);
			return -1;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "vosctl: %s needs a value\n", with_value[k]);
			return -1;
		}
		if (!*value) {
			fprintf(stderr, "vosctl: %s: empty value\n", with_value[k]);
			return -1;
		}
		switch (k) {
		case 0:
			if (add_root(o, with_value[k], NULL, value) < 0)
				return -1;
			break;
		case 1:
			if (add_root(o, with_value[k], "storage", value) < 0)
				return -1;
			break;
		case 2: o->config = value; break;
		case 3: o->rundir = value; break;
		case 4: o->workers = value; break;
		}
	}
	if (want_cmd) {
		if (i >= argc) {
			fprintf(stderr, "vosctl: local run: no command given (try: vosctl local --help)\n");
			return -1;
		}
		o->cmd = argv + i;
	} else if (i < argc) {
		fprintf(stderr, "vosctl: unexpected argument '%s' (try: vosctl local --help)\n", argv[i]);
		return -1;
	}
	if (o->workers) {
		char *end;
		long n;

		errno = 0;
		n = strtol(o->workers, &end, 10);
		if (errno || *end || end == o->workers || n < 1 || n > MAX_WORKERS) {
			fprintf(stderr, "vosctl: --workers: '%s' is not a number from 1 to %d\n",
				o->workers, MAX_WORKERS);
			return -1;
		}
	}
	return 0;
}

/* Config ------------------------------------------------------------------- */

/* The default config: $VOS_CONFIG, else configs/vos.conf of the source tree
 * the binary was built in: <bindir>/../../configs (build/bin) or
 * <bindir>/../../../configs (build/asan/bin).  Writes an absolute path into
 * out (PATH_MAX bytes).  0 or -1 after printing an error. */
static int find_config(const char *given, char *out)
{
	static const char *const ups[] = { "../..", "../../.." };
	char guess[PATH_MAX];
	const char *path = given;
	size_t i;

	if (!path || !*path)
		path = getenv("VOS_CONFIG");
	for (i = 0; (!path || !*path) && i < sizeof ups / sizeof ups[0]; i++) {
		snprintf(guess, sizeof guess, "%s/%s/configs/vos.conf", vosctl_bindir(), ups[i]);
		if (access(guess, F_OK) == 0)
			path = guess;
	}
	if (!path || !*path) {
		fprintf(stderr, "vosctl: no config file: give --config FILE or set VOS_CONFIG "
			"(configs/vos.conf was not found above %s)\n", vosctl_bindir());
		return -1;
	}
	if (!realpath(path, out)) {
		fprintf(stderr, "vosctl: config %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Find and parse the config into s->config and s->conf.  Problems are
 * reported as libvirtuos would report them (FILE:LINE: what).  0 or -1. */
static int load_config(const char *given, struct session *s)
{
	static char text[VOS_CONF_TEXT_MAX];
	char err[VOS_CONF_ERR_MAX];
	size_t len;
	FILE *f;

	if (find_config(given, s->config) < 0)
		return -1;
	f = fopen(s->config, "r");
	if (!f) {
		fprintf(stderr, "vosctl: %s: cannot open: %s\n", s->config, strerror(errno));
		return -1;
	}
	len = fread(text, 1, sizeof text, f);
	if (ferror(f)) {
		fprintf(stderr, "vosctl: %s: cannot read: %s\n", s->config, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (vos_conf_parse(&s->conf, s->config, text, len, err, sizeof err) < 0) {
		fprintf(stderr, "vosctl: %s\n", err);
		return -1;
	}
	return 0;
}

/* Directories ---------------------------------------------------------------- */

static int make_temp_dir(const char *what, mode_t mode, char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(out, len, "%s/vos-%s.XXXXXX", tmp, what);
	if (!mkdtemp(out)) {
		fprintf(stderr, "vosctl: cannot create a temporary directory in %s: %s\n",
			tmp, strerror(errno));
		return -1;
	}
	if (chmod(out, mode) < 0) {
		fprintf(stderr, "vosctl: chmod %s: %s\n", out, strerror(errno));
		rmdir(out);
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "vosctl: cannot remove %s: %s\n", path, strerror(errno));
	return 0;   /* keep going: remove as much as possible */
}

/* rm -r of a directory we created; never crosses into another file system
 * and never follows symlinks. */
static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* Every --root must name a service of the config. */
static int check_roots(const struct options *o, const struct session *s)
{
	for (int i = 0; i < o->nroots; i++) {
		if (vos_conf_service_find(&s->conf, o->roots[i].name) < 0) {
			fprintf(stderr, "vosctl: %s %s: %s declares no service '%s'\n",
				o->roots[i].given, o->roots[i].value, s->config, o->roots[i].name);
			return -1;
		}
	}
	return 0;
}

/* d's export root: the one given, else a temporary directory. */
static int prepare_root(const struct options *o, struct session *s, struct vosctl_daemon *d)
{
	const char *dir = NULL;
	char what[VOS_CONF_NAME_MAX + 8];
	struct stat st;

	for (int i = 0; i < o->nroots; i++)
		if (!strcmp(o->roots[i].name, d->name))
			dir = o->roots[i].dir;
	if (!dir) {
		snprintf(what, sizeof what, "root-%s", d->name);
		if (make_temp_dir(what, 0755, d->root, sizeof d->root) < 0)
			return -1;
		d->root_is_temp = 1;
		s->keep_root = o->keep_root;
		return 0;
	}
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "vosctl: root of the %s service %s: %s\n", d->name, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vosctl: root of the %s service %s is not a directory\n", d->name, dir);
		return -1;
	}
	if (!realpath(dir, d->root)) {
		fprintf(stderr, "vosctl: root of the %s service %s: %s\n", d->name, dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_rundir(const struct options *o, struct session *s)
{
	if (!o->rundir) {
		/* 0711: clients of other users must reach the socket, not list the dir */
		if (make_temp_dir("run", 0711, s->rundir, sizeof s->rundir) < 0)
			return -1;
		s->rundir_is_temp = 1;
		return 0;
	}
	if (mkdir(o->rundir, 0711) < 0 && errno != EEXIST) {
		fprintf(stderr, "vosctl: run directory %s: %s\n", o->rundir, strerror(errno));
		return -1;
	}
	if (!realpath(o->rundir, s->rundir)) {
		fprintf(stderr, "vosctl: run directory %s: %s\n", o->rundir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The daemon of service i of the config: names, paths, root. */
static int prepare_daemon(const struct options *o, struct session *s, int i, int log_to_file)
{
	const struct vos_conf_service *cs = &s->conf.services[i];
	struct vosctl_daemon *d = &s->d[i];
	int n;

	snprintf(d->name, sizeof d->name, "%s", cs->name);
	d->role = cs->role;
	d->exports_dir = cs->route >= 0;        /* a network service has families only */
	snprintf(d->mount_point, sizeof d->mount_point, "%s",
		 d->exports_dir ? s->conf.routes[cs->route].prefix : "");
	n = snprintf(d->sock, sizeof d->sock, "%s/%s.sock", s->rundir, d->name);
	if (n < 0 || (size_t)n >= sizeof d->sock) {
		fprintf(stderr, "vosctl: run directory path %s is too long for the socket %s.sock "
			"(a Unix socket path has at most %zu characters)\n", s->rundir, d->name,
			sizeof d->sock - 1);
		return -1;
	}
	snprintf(d->pidfile, sizeof d->pidfile, "%s/%s.pid", s->rundir, d->name);
	if (log_to_file)
		snprintf(d->log, sizeof d->log, "%s/%s.log", s->rundir, d->name);
	if (vosctl_socket_listening(d->sock) == 1) {
		fprintf(stderr, "vosctl: a service already listens on %s "
			"(stop it, or use another --rundir)\n", d->sock);
		return -1;
	}
	if (!d->exports_dir) {
		d->root[0] = '\0';
		return 0;
	}
	return prepare_root(o, s, d);
}

static void cleanup_session(struct session *s)
{
	for (int i = 0; i < s->n; i++) {
		struct vosctl_daemon *d = &s->d[i];

		if (d->pidfile_written)
			unlink(d->pidfile);
		d->pidfile_written = 0;
		if (d->root_is_temp) {
			if (s->keep_root)
				fprintf(stderr, "vosctl: root of the %s service kept in %s\n",
					d->name, d->root);
			else
				remove_tree(d->root);
			d->root_is_temp = 0;
		}
	}
	if (s->rundir_is_temp) {
		remove_tree(s->rundir);
		s->rundir_is_temp = 0;
	}
}

/*
 * Common setup of run and serve: the config is loaded; prepare the
 * directories, start one daemon per service and wait until each listens.
 * 0, or -1 after reporting (then every daemon is stopped, nothing left).
 */
static int setup_session(const struct options *o, struct session *s, int log_to_file, int own_group)
{
	s->launch.workers = o->workers;
	s->launch.net_namespace = o->net_namespace;
	s->launch.own_group = own_group;
	if (check_roots(o, s) < 0 || vosctl_find_serviced(s->launch.serviced, sizeof s->launch.serviced) < 0)
		return -1;
	if (prepare_rundir(o, s) < 0)
		return -1;
	s->launch.rundir = s->rundir;
	for (int i = 0; i < s->conf.nservices; i++) {
		s->n = i + 1;
		if (prepare_daemon(o, s, i, log_to_file) < 0 ||
		    vosctl_daemon_start(&s->launch, &s->d[i]) < 0 ||
		    vosctl_daemon_wait_ready(&s->d[i]) < 0) {
			vosctl_daemons_stop(s->d, s->n);
			cleanup_session(s);
			return -1;
		}
	}
	return 0;
}

/* Report each daemon that did not end as a stop asks (after a run). */
static void report_unclean(const struct session *s)
{
	for (int i = 0; i < s->n; i++) {
		const struct vosctl_daemon *d = &s->d[i];
		char how[128];

		if (vosctl_daemon_clean_exit(d))
			continue;
		vosctl_describe_status(d->status, how, sizeof how);
		fprintf(stderr, "vosctl: the %s service %s (%s); its output:\n", d->name,
			d->died ? "died while the command ran" : "ended badly", how);
		vosctl_show_log(d->log);
	}
}

/* local run --------------------------------------------------------------------- */

static int set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0) {
		fprintf(stderr, "vosctl: setenv %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* A statically linked CMD never loads libvirtuos (no dynamic loader): say
 * so instead of running it unintercepted.  Returns 0 if it may run. */
static int refuse_static(const char *cmd)
{
	char path[PATH_MAX];
	const char *dirs = getenv("PATH");
	int r = -ENOENT;

	if (strchr(cmd, '/') || !dirs)
		r = vos_elf_is_static(cmd);
	while (r == -ENOENT && dirs && *dirs) {
		size_t n = strcspn(dirs, ":");
		if (snprintf(path, sizeof path, "%.*s/%s", (int)n, n ? dirs : ".", cmd) <
		    (int)sizeof path && access(path, X_OK) == 0)
			r = vos_elf_is_static(path);
		dirs += n + (dirs[n] == ':');
	}
	if (r != 1)
		return 0;       /* dynamic, a script, or not found: exec says the rest */
	fprintf(stderr, "vosctl: %s is statically linked: libvirtuos cannot be loaded into it, "
		"so its system calls cannot be intercepted; not run\n", cmd);
	return -1;
}

/* In the child: the environment that puts CMD under libvirtuos, then exec.
 * Never returns. */
static void exec_cmd(char **cmd, const char *preload, const struct session *s, int stats)
{
	const char *old = getenv("LD_PRELOAD");
	char ld[VOSCTL_PRELOAD_MAX + PATH_MAX];
	int e;

	vosctl_signals_reset_in_child();
	if (old && *old)
		snprintf(ld, sizeof ld, "%s %s", preload, old);
	else
		snprintf(ld, sizeof ld, "%s", preload);
	if (set_env("LD_PRELOAD", ld) < 0 || set_env("VOS_RUNDIR", s->rundir) < 0 ||
	    set_env("VOS_CONFIG", s->config) < 0 || (stats && set_env("VOS_STATS", "1") < 0))
		_exit(126);
	execvp(cmd[0], cmd);
	e = errno;
	if (e == ENOENT && !strchr(cmd[0], '/')) {
		fprintf(stderr, "vosctl: %s: command not found\n", cmd[0]);
		_exit(127);
	}
	fprintf(stderr, "vosctl: %s: %s\n", cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int local_run(int argc, char **argv)
{
	struct session *s = &session;
	char preload[VOSCTL_PRELOAD_MAX];
	struct options o;
	int r, status = 0, code;
	pid_t child;
	sigset_t old;

	r = parse_options(argc, argv, 1, &o);
	if (r) {
		if (r > 0)
			usage_local(stdout);
		return r > 0 ? 0 : VOSCTL_EXIT_USAGE;
	}
	if (load_config(o.config, s) < 0 || vosctl_find_preload(preload, sizeof preload) < 0)
		return VOSCTL_EXIT_USAGE;
	if (refuse_static(o.cmd[0]) < 0)
		return 126;

	vosctl_signals_install();
	if (setup_session(&o, s, 1, 1) < 0)
		return vosctl_last_signal() ? 128 + vosctl_last_signal() : VOSCTL_EXIT_USAGE;

	fflush(NULL);
	vosctl_signals_block(&old);
	child = fork();
	if (child == 0)
		exec_cmd(o.cmd, preload, s, o.stats);
	if (child < 0) {
		fprintf(stderr, "vosctl: fork: %s\n", strerror(errno));
		code = VOSCTL_EXIT_USAGE;
	} else {
		vosctl_signals_forward_to(&child, 1);
		sigprocmask(SIG_SETMASK, &old, NULL);
		while (waitpid(child, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "vosctl: waitpid: %s\n", strerror(errno));
				status = VOSCTL_EXIT_USAGE << 8;
				break;
			}
		}
		vosctl_signals_forward_to(NULL, 0);
		code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	vosctl_daemons_stop(s->d, s->n);
	report_unclean(s);
	cleanup_session(s);
	return code;
}

/* local serve ------------------------------------------------------------------- */

/* Wait until one of the daemons ends; it is reaped (pid 0, status).
 * Returns its index, or -1 if waiting failed. */
static int wait_any(struct session *s)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vosctl: waitpid: %s\n", strerror(errno));
			return -1;
		}
		for (int i = 0; i < s->n; i++) {
			if (s->d[i].pid == pid) {
				s->d[i].pid = 0;
				s->d[i].status = status;
				s->d[i].died = 1;
				return i;
			}
		}
	}
}

static int local_serve(int argc, char **argv)
{
	struct session *s = &session;
	pid_t pids[VOS_CONF_MAX_SERVICES];
	struct options o;
	int r, first, status = 0, ok = 1;

	r = parse_options(argc, argv, 0, &o);
	if (r) {
		if (r > 0)
			usage_local(stdout);
		return r > 0 ? 0 : VOSCTL_EXIT_USAGE;
	}
	if (o.stats) {
		fprintf(stderr, "vosctl: local serve takes no --stats (it belongs to the programs: "
			"see vosctl local env)\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (load_config(o.config, s) < 0)
		return VOSCTL_EXIT_USAGE;
	if (s->conf.nservices == 0) {
		fprintf(stderr, "vosctl: %s declares no service: nothing to serve\n", s->config);
		return VOSCTL_EXIT_USAGE;
	}
	vosctl_signals_install();
	/* Same process group: a Ctrl-C in this terminal stops the services. */
	if (setup_session(&o, s, 0, 0) < 0)
		return vosctl_last_signal() ? 128 + vosctl_last_signal() : VOSCTL_EXIT_USAGE;
	for (int i = 0; i < s->n; i++)
		pids[i] = s->d[i].pid;
	vosctl_signals_forward_to(pids, s->n);
	for (int i = 0; i < s->n && ok; i++)
		ok = vosctl_daemon_write_pidfile(&s->d[i]) == 0;
	if (!ok) {
		for (int i = 0; i < s->n; i++)
			kill(s->d[i].pid, SIGTERM);
	} else {
		for (int i = 0; i < s->n; i++)
			if (s->d[i].exports_dir)
				fprintf(stderr, "vosctl: %s service ready (pid %d): root %s, socket %s\n",
					s->d[i].name, (int)s->d[i].pid, s->d[i].root, s->d[i].sock);
			else
				fprintf(stderr, "vosctl: %s service ready (pid %d): socket %s\n",
					s->d[i].name, (int)s->d[i].pid, s->d[i].sock);
		fprintf(stderr, "vosctl: in another shell: eval \"$(%s/vosctl local env --rundir %s "
			"--config %s)\"\n", vosctl_bindir(), s->rundir, s->config);
	}

	first = wait_any(s);
	vosctl_signals_forward_to(NULL, 0);
	vosctl_daemons_stop(s->d, s->n);
	if (first >= 0)
		status = s->d[first].status;
	cleanup_session(s);
	if (first < 0)
		return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == vosctl_last_signal())
			return 0;       /* stopped as asked */
		fprintf(stderr, "vosctl: the %s service was killed by signal %d (%s)\n",
			s->d[first].name, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return 1;
}

/* local env ---------------------------------------------------------------------- */

/* Print s in single quotes, safe for any shell. */
static void put_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static int local_env(int argc, char **argv)
{
	struct session *s = &session;
	char preload[VOSCTL_PRELOAD_MAX], rundir[PATH_MAX];
	struct options o;
	int r;

	r = parse_options(argc, argv, 0, &o);
	if (r) {
		if (r > 0)
			usage_local(stdout);
		return r > 0 ? 0 : VOSCTL_EXIT_USAGE;
	}
	if (!o.rundir) {
		fprintf(stderr, "vosctl: local env needs --rundir DIR (the one `vosctl local serve` uses)\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (o.nroots || o.workers || o.keep_root) {
		fprintf(stderr, "vosctl: local env takes only --rundir, --config and --stats\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (!realpath(o.rundir, rundir)) {
		fprintf(stderr, "vosctl: run directory %s: %s\n", o.rundir, strerror(errno));
		return VOSCTL_EXIT_USAGE;
	}
	if (load_config(o.config, s) < 0 || vosctl_find_preload(preload, sizeof preload) < 0)
		return VOSCTL_EXIT_USAGE;

	fputs("export LD_PRELOAD=", stdout);
	put_quoted(preload);
	fputs("\"${LD_PRELOAD:+ $LD_PRELOAD}\"\n", stdout);
	fputs("export VOS_RUNDIR=", stdout);
	put_quoted(rundir);
	fputs("\nexport VOS_CONFIG=", stdout);
	put_quoted(s->config);
	putchar('\n');
	if (o.stats)
		fputs("export VOS_STATS=1\n", stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

int vosctl_local_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub) {
		usage_local(stderr);
		return VOSCTL_EXIT_USAGE;
	}
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage_local(stdout);
		return 0;
	}
	if (!strcmp(sub, "run"))
		return local_run(argc - 1, argv + 1);
	if (!strcmp(sub, "serve"))
		return local_serve(argc - 1, argv + 1);
	if (!strcmp(sub, "env"))
		return local_env(argc - 1, argv + 1);
	fprintf(stderr, "vosctl: local: unknown subcommand '%s' (run, serve, env; try: vosctl local --help)\n", sub);
	return VOSCTL_EXIT_USAGE;
}
