/*
 * local.c - `vosctl local run|serve|env`: local mode, where the storage
 * service "domain" is a vos-serviced process on this host.
 *
 *   run    validate the config, prepare the export root and a private run
 *          directory, start vos-serviced, wait until it listens, run CMD with
 *          libvirtuos.so preloaded, stop the service, clean up, exit with
 *          CMD's status.
 *   serve  the same service in the foreground, for experiments where it is
 *          killed and restarted by hand.
 *   env    the `export` lines that put programs of a shell under a service.
 *
 * Finding the pieces: vos-serviced sits next to vosctl, libvirtuos.so in
 * ../lib, the default config in ../../configs/vos.conf (the build tree
 * layout: build/bin, build/lib, configs/).  VOS_SERVICED, VOS_LIBVIRTUOS
 * and VOS_CONFIG override them.  VOS_LIBVIRTUOS may be a list separated by
 * spaces, all preloaded in that order (a sanitizer runtime must come first).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "vosctl.h"
#include "common/vos_time.h"

#define SERVICE          "storage"
#define START_TIMEOUT_MS 10000   /* the service must listen within this */
#define START_NOTICE_MS  2000    /* say we are waiting after this */
#define STOP_TIMEOUT_MS  5000    /* SIGTERM grace before SIGKILL */
#define MAX_WORKERS      256
#define CONFIG_LINE_MAX  4096
#define SERVICE_NAME_MAX 32
#define PRELOAD_MAX      (4 * PATH_MAX)

struct options {
	const char *root;        /* --storage-root */
	const char *config;      /* --config */
	const char *rundir;      /* --rundir */
	const char *workers;     /* --workers, validated */
	int keep_root;           /* --keep-root */
	int stats;               /* --stats */
	char **cmd;              /* run: CMD [ARGS...] (NULL-terminated) */
};

/* Everything a run or serve sets up and must tear down. */
struct session {
	char root[PATH_MAX];
	int root_is_temp;
	int keep_root;
	char rundir[PATH_MAX];
	int rundir_is_temp;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char pidfile[PATH_MAX + 32];
	int pidfile_written;
	char log[PATH_MAX + 32];    /* run: where the service's output goes ("" = inherit) */
	char serviced[PATH_MAX];
	const char *workers;
	char mount_point[PATH_MAX]; /* where programs see the export ("" = daemon's default) */
	pid_t daemon;
};

/* Signal forwarding: the handler passes SIGINT/SIGTERM/SIGHUP/SIGQUIT sent by
 * another process on to `forward_to`.  Signals the terminal generated
 * (si_code > 0, SI_KERNEL) already reached every process of the foreground
 * group, so they are only recorded, not sent a second time. */
static volatile sig_atomic_t forward_to;
static volatile sig_atomic_t last_signal;
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved = errno;

	(void)uctx;
	last_signal = sig;
	if (forward_to > 0 && info && info->si_code <= 0)
		kill((pid_t)forward_to, sig);
	errno = saved;
}

static void install_handlers(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

static void block_forwarded(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* In a child about to exec: default dispositions, nothing blocked. */
static void reset_signals_in_child(void)
{
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		signal(forwarded_signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Help --------------------------------------------------------------------- */

static void usage_local(FILE *f)
{
	fputs("usage: vosctl local run [OPTIONS] [--] CMD [ARGS...]\n"
	      "       vosctl local serve [--storage-root DIR] [--rundir DIR] [--config FILE]\n"
	      "                          [--workers N] [--keep-root]\n"
	      "       vosctl local env --rundir DIR [--config FILE]\n"
	      "\n"
	      "run: start the storage service, run CMD under libvirtuos.so (paths routed by the\n"
	      "config, /storage by default, are served from the storage root), stop the service,\n"
	      "exit with CMD's status (128+N if CMD was killed by signal N).\n"
	      "  --storage-root DIR  directory the service exports (default: a fresh temporary\n"
	      "                      directory, removed afterwards)\n"
	      "  --keep-root         keep the temporary storage root and print where it is\n"
	      "  --config FILE       routing table (default: $VOS_CONFIG, else configs/vos.conf);\n"
	      "                      lines `route PREFIX SERVICE`, `#` comments, blank lines\n"
	      "  --rundir DIR        where the service's socket lives (default: a private\n"
	      "                      temporary directory, removed afterwards)\n"
	      "  --workers N         worker threads per client in the service\n"
	      "  --stats             CMD prints its channel counters at exit (VOS_STATS=1)\n"
	      "\n"
	      "serve: run the storage service in the foreground until it is interrupted; it\n"
	      "writes DIR/storage.pid once it listens (--config: only to know the prefix the\n"
	      "programs see the export at).  Other shells join it with\n"
	      "  eval \"$(vosctl local env --rundir DIR)\"\n"
	      "\n"
	      "env: print the export lines (LD_PRELOAD, VOS_RUNDIR, VOS_CONFIG) for a shell.\n"
	      "\n"
	      "Environment: VOS_SERVICED (the daemon binary), VOS_LIBVIRTUOS (the preload\n"
	      "library; a space-separated list is preloaded in order), VOS_CONFIG.\n"
	      "Exit status 2: bad option, bad config, missing directory, service did not start;\n"
	      "127: CMD not found.\n",
	      f);
}

/* Options ------------------------------------------------------------------ */

/* Parse `--name VALUE` / `--name=VALUE` / flags.  For run, the first word
 * that is not an option (or everything after `--`) is CMD.  Returns 0, 1 for
 * --help, or -1 after printing an error. */
static int parse_options(int argc, char **argv, int want_cmd, struct options *o)
{
	static const char *const with_value[] = { "--storage-root", "--config", "--rundir", "--workers" };
	const char **slot[] = { &o->root, &o->config, &o->rundir, &o->workers };
	int i;
	size_t k;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		size_t nlen;
		int matched = 0;

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
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
			if (strlen(with_value[k]) != nlen || strncmp(a, with_value[k], nlen))
				continue;
			if (eq) {
				*slot[k] = eq + 1;
			} else if (i + 1 < argc) {
				*slot[k] = argv[++i];
			} else {
				fprintf(stderr, "vosctl: %s needs a value\n", with_value[k]);
				return -1;
			}
			if (!**slot[k]) {
				fprintf(stderr, "vosctl: %.*s: empty value\n", (int)nlen, a);
				return -1;
			}
			matched = 1;
			break;
		}
		if (!matched) {
			fprintf(stderr, "vosctl: unknown option '%s' (try: vosctl local --help)\n", a);
			return -1;
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

static int service_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-' || s[n] == '.'))
			return 0;
	return n > 0 && n < SERVICE_NAME_MAX;
}

/* An absolute path other than "/", without empty, "." or ".." components
 * (a trailing slash is tolerated).  NULL if fine, else what is wrong. */
static const char *prefix_problem(const char *p)
{
	const char *c;

	if (p[0] != '/')
		return "must be an absolute path (start with /)";
	if (strlen(p) >= PATH_MAX)
		return "is too long";
	if (!strcmp(p, "/"))
		return "must not be / itself (that would route every path)";
	for (c = p + 1; *c;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0 && end)
			return "has an empty component (//)";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a . or .. component";
		if (!end)
			break;
		c = end + 1;
	}
	return NULL;
}

/* Compare two prefixes ignoring one trailing slash. */
static int same_prefix(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '/')
		la--;
	if (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && !strncmp(a, b, la);
}

/* Check the routing table.  Every problem is reported as FILE:LINE: what.
 * If storage_prefix (PATH_MAX bytes) is given, the first prefix routed to the
 * storage service goes there ("" if none): the service shows its export at
 * that path to resolve absolute symlinks as the programs see them.
 * Returns the number of problems (0 = good), or -1 if unreadable. */
static int validate_config(const char *file, char *storage_prefix)
{
	char line[CONFIG_LINE_MAX + 2];
	char (*seen)[PATH_MAX] = NULL;
	size_t nseen = 0, cap = 0;
	int lineno = 0, bad = 0;
	FILE *f = fopen(file, "r");

	if (storage_prefix)
		storage_prefix[0] = '\0';
	if (!f) {
		fprintf(stderr, "vosctl: cannot read config %s: %s\n", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *tok[4], *save = NULL;
		size_t len = strlen(line);
		int n = 0;
		const char *why;

		lineno++;
		if (len > CONFIG_LINE_MAX && line[len - 1] != '\n') {
			fprintf(stderr, "vosctl: %s:%d: line longer than %d characters\n",
				file, lineno, CONFIG_LINE_MAX);
			bad++;
			/* skip the rest of the long line */
			while (len > 0 && line[len - 1] != '\n' && fgets(line, sizeof line, f))
				len = strlen(line);
			continue;
		}
		/* a word starting with '#' starts a comment (as libvirtuos reads it) */
		for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (t[0] == '#')
				break;
			if (n < 4)
				tok[n] = t;
			n++;
		}
		if (n == 0)
			continue;
		if (strcmp(tok[0], "route")) {
			fprintf(stderr, "vosctl: %s:%d: unknown directive '%s' "
				"(expected: route PREFIX SERVICE)\n", file, lineno, tok[0]);
			bad++;
			continue;
		}
		if (n != 3) {
			fprintf(stderr, "vosctl: %s:%d: route takes 2 arguments, PREFIX and SERVICE "
				"(found %d)\n", file, lineno, n - 1);
			bad++;
			continue;
		}
		why = prefix_problem(tok[1]);
		if (why) {
			fprintf(stderr, "vosctl: %s:%d: route prefix '%s' %s\n", file, lineno, tok[1], why);
			bad++;
			continue;
		}
		if (!service_name_ok(tok[2])) {
			fprintf(stderr, "vosctl: %s:%d: service name '%s' must be 1-%d letters, digits, "
				"'_', '-' or '.'\n", file, lineno, tok[2], SERVICE_NAME_MAX - 1);
			bad++;
			continue;
		}
		for (size_t i = 0; i < nseen; i++) {
			if (same_prefix(seen[i], tok[1])) {
				fprintf(stderr, "vosctl: %s:%d: prefix '%s' is routed twice\n",
					file, lineno, tok[1]);
				bad++;
				goto next;
			}
		}
		if (nseen == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *p = realloc(seen, ncap * sizeof *seen);

			if (!p) {
				fprintf(stderr, "vosctl: out of memory\n");
				bad++;
				break;
			}
			seen = p;
			cap = ncap;
		}
		snprintf(seen[nseen++], PATH_MAX, "%s", tok[1]);
		if (storage_prefix && !storage_prefix[0] && !strcmp(tok[2], SERVICE)) {
			size_t l = strlen(tok[1]);

			if (l > 1 && tok[1][l - 1] == '/')
				tok[1][l - 1] = '\0';
			snprintf(storage_prefix, PATH_MAX, "%s", tok[1]);
		}
next:
		;
	}
	if (ferror(f)) {
		fprintf(stderr, "vosctl: reading config %s: %s\n", file, strerror(errno));
		bad++;
	}
	fclose(f);
	free(seen);
	return bad;
}

/* Finding the pieces --------------------------------------------------------- */

static int find_serviced(char *out, size_t len)
{
	const char *env = getenv("VOS_SERVICED");

	if (env && *env)
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/vos-serviced", vosctl_bindir());
	if (access(out, X_OK) != 0) {
		fprintf(stderr, "vosctl: cannot run the storage service %s: %s "
			"(build it with `make`, or set VOS_SERVICED)\n", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* The preload list, absolute, space separated.  0 or -1 after an error. */
static int find_preload(char *out, size_t len)
{
	const char *env = getenv("VOS_LIBVIRTUOS");
	char list[PRELOAD_MAX], *save = NULL;
	size_t used = 0;

	if (env && *env)
		snprintf(list, sizeof list, "%s", env);
	else
		snprintf(list, sizeof list, "%s/../lib/libvirtuos.so", vosctl_bindir());
	out[0] = '\0';
	for (char *t = strtok_r(list, " :", &save); t; t = strtok_r(NULL, " :", &save)) {
		char abs[PATH_MAX];
		int n;

		if (!realpath(t, abs) || access(abs, R_OK) != 0) {
			fprintf(stderr, "vosctl: preload library %s: %s (build it with `make`, "
				"or set VOS_LIBVIRTUOS)\n", t, strerror(errno));
			return -1;
		}
		n = snprintf(out + used, len - used, "%s%s", used ? " " : "", abs);
		if (n < 0 || (size_t)n >= len - used) {
			fprintf(stderr, "vosctl: VOS_LIBVIRTUOS is too long\n");
			return -1;
		}
		used += (size_t)n;
	}
	if (!used) {
		fprintf(stderr, "vosctl: VOS_LIBVIRTUOS names no library\n");
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

/* Is something listening on the Unix socket at path?  Read from
 * /proc/net/unix so that checking does not disturb the service with a
 * connection.  1 yes, 0 no, -1 cannot tell. */
static int socket_listening(const char *path)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/net/unix", "r");
	int found = 0;

	if (!f)
		return -1;
	if (!fgets(line, sizeof line, f)) {     /* header */
		fclose(f);
		return -1;
	}
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long flags;
		int off = 0;
		size_t n;

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &off) < 1 || off <= 0)
			continue;
		n = strlen(line + off);
		while (n > 0 && (line[off + n - 1] == '\n'))
			n--;
		if ((flags & 0x10000UL) && n == strlen(path) && !strncmp(line + off, path, n))
			found = 1;  /* __SO_ACCEPTCON: a listening socket */
	}
	fclose(f);
	return found;
}

static int prepare_root(const struct options *o, struct session *s)
{
	struct stat st;

	if (!o->root) {
		if (make_temp_dir("root", 0755, s->root, sizeof s->root) < 0)
			return -1;
		s->root_is_temp = 1;
		s->keep_root = o->keep_root;
		return 0;
	}
	if (stat(o->root, &st) < 0) {
		fprintf(stderr, "vosctl: storage root %s: %s\n", o->root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vosctl: storage root %s is not a directory\n", o->root);
		return -1;
	}
	if (!realpath(o->root, s->root)) {
		fprintf(stderr, "vosctl: storage root %s: %s\n", o->root, strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_rundir(const struct options *o, struct session *s)
{
	int n;

	if (!o->rundir) {
		/* 0711: clients of other users must reach the socket, not list the dir */
		if (make_temp_dir("run", 0711, s->rundir, sizeof s->rundir) < 0)
			return -1;
		s->rundir_is_temp = 1;
	} else {
		if (mkdir(o->rundir, 0711) < 0 && errno != EEXIST) {
			fprintf(stderr, "vosctl: run directory %s: %s\n", o->rundir, strerror(errno));
			return -1;
		}
		if (!realpath(o->rundir, s->rundir)) {
			fprintf(stderr, "vosctl: run directory %s: %s\n", o->rundir, strerror(errno));
			return -1;
		}
	}
	n = snprintf(s->sock, sizeof s->sock, "%s/%s.sock", s->rundir, SERVICE);
	if (n < 0 || (size_t)n >= sizeof s->sock) {
		fprintf(stderr, "vosctl: run directory path %s is too long for a Unix socket "
			"(at most %zu characters)\n", s->rundir, sizeof s->sock - sizeof "/" SERVICE ".sock");
		return -1;
	}
	snprintf(s->pidfile, sizeof s->pidfile, "%s/%s.pid", s->rundir, SERVICE);
	if (socket_listening(s->sock) == 1) {
		fprintf(stderr, "vosctl: a storage service already listens on %s "
			"(stop it, or use another --rundir)\n", s->sock);
		return -1;
	}
	return 0;
}

static void cleanup_session(struct session *s)
{
	if (s->pidfile_written)
		unlink(s->pidfile);
	if (s->rundir_is_temp) {
		remove_tree(s->rundir);
		s->rundir_is_temp = 0;
	}
	if (s->root_is_temp) {
		if (s->keep_root)
			fprintf(stderr, "vosctl: storage root kept in %s\n", s->root);
		else
			remove_tree(s->root);
		s->root_is_temp = 0;
	}
}

/* The service ------------------------------------------------------------------ */

static void show_log(const char *log)
{
	char buf[4096];
	size_t n;
	FILE *f;

	if (!log[0] || !(f = fopen(log, "r")))
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* Start vos-serviced.  own_group: put it in its own process group so that a
 * Ctrl-C meant for CMD does not take the service down under CMD's feet. */
static int start_daemon(struct session *s, int own_group)
{
	char *argv[14];
	int argc = 0;
	pid_t parent = getpid();
	sigset_t old;

	argv[argc++] = s->serviced;
	argv[argc++] = "--role";
	argv[argc++] = SERVICE;
	argv[argc++] = "--root";
	argv[argc++] = s->root;
	argv[argc++] = "--rundir";
	argv[argc++] = s->rundir;
	if (s->mount_point[0]) {
		argv[argc++] = "--mount-point";
		argv[argc++] = s->mount_point;
	}
	if (s->workers) {
		argv[argc++] = "--workers";
		argv[argc++] = (char *)s->workers;
	}
	argv[argc] = NULL;

	fflush(NULL);
	block_forwarded(&old);
	s->daemon = fork();
	if (s->daemon < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "vosctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (s->daemon == 0) {
		reset_signals_in_child();
		if (own_group)
			setpgid(0, 0);
		/* If vosctl dies without cleaning up, the service goes too. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		if (s->log[0]) {
			int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
				fprintf(stderr, "vosctl: cannot redirect the service's output to %s: %s\n",
					s->log, strerror(errno));
				_exit(127);
			}
		}
		execv(s->serviced, argv);
		fprintf(stderr, "vosctl: cannot run %s: %s\n", s->serviced, strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Wait until the service listens.  0, or -1 after reporting (the service is
 * then stopped and reaped). */
static int wait_ready(struct session *s)
{
	long long start = (long long)vos_now_ms();
	int noticed = 0, status;

	for (;;) {
		pid_t r = waitpid(s->daemon, &status, WNOHANG);
		int l;

		if (r == s->daemon) {
			char how[128];

			describe_status(status, how, sizeof how);
			s->daemon = 0;
			fprintf(stderr, "vosctl: the storage service %s did not start (%s)%s\n",
				s->serviced, how, s->log[0] ? "; its output:" : "");
			show_log(s->log);
			return -1;
		}
		l = socket_listening(s->sock);
		if (l == 1 || (l < 0 && access(s->sock, F_OK) == 0))
			return 0;
		if (last_signal) {
			fprintf(stderr, "vosctl: interrupted while the storage service was starting\n");
			return -1;
		}
		if ((long long)vos_now_ms() - start > START_TIMEOUT_MS) {
			fprintf(stderr, "vosctl: the storage service did not listen on %s within %d s%s\n",
				s->sock, START_TIMEOUT_MS / 1000, s->log[0] ? "; its output:" : "");
			show_log(s->log);
			return -1;
		}
		if (!noticed && (long long)vos_now_ms() - start > START_NOTICE_MS) {
			fprintf(stderr, "vosctl: waiting for the storage service to listen on %s...\n", s->sock);
			noticed = 1;
		}
		sleep_ms(10);
	}
}

/* Stop the service: SIGTERM, then SIGKILL after a grace period.  Returns its
 * wait status, or -1 if it was not running. */
static int stop_daemon(struct session *s, int *died_before)
{
	long long start;
	int status = 0;
	pid_t r;

	*died_before = 0;
	if (s->daemon <= 0)
		return -1;
	r = waitpid(s->daemon, &status, WNOHANG);
	if (r == s->daemon) {
		*died_before = 1;
		s->daemon = 0;
		return status;
	}
	kill(s->daemon, SIGTERM);
	start = (long long)vos_now_ms();
	for (;;) {
		r = waitpid(s->daemon, &status, WNOHANG);
		if (r == s->daemon || (r < 0 && errno != EINTR))
			break;
		if ((long long)vos_now_ms() - start > STOP_TIMEOUT_MS) {
			fprintf(stderr, "vosctl: the storage service did not stop within %d s after "
				"SIGTERM; killing it\n", STOP_TIMEOUT_MS / 1000);
			kill(s->daemon, SIGKILL);
			while (waitpid(s->daemon, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sleep_ms(10);
	}
	s->daemon = 0;
	return status;
}

static int write_pidfile(struct session *s)
{
	FILE *f = fopen(s->pidfile, "w");

	s->pidfile_written = f != NULL;
	if (!f || fprintf(f, "%d\n", (int)s->daemon) < 0 || fclose(f) != 0) {
		fprintf(stderr, "vosctl: cannot write %s: %s\n", s->pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

/* Common setup of run and serve.  0, or -1 after reporting (nothing left). */
static int setup_session(const struct options *o, struct session *s, const char *mount_point,
			 int log_to_file, int own_group)
{
	memset(s, 0, sizeof *s);
	s->workers = o->workers;
	snprintf(s->mount_point, sizeof s->mount_point, "%s", mount_point);
	if (find_serviced(s->serviced, sizeof s->serviced) < 0)
		return -1;
	if (prepare_root(o, s) < 0)
		return -1;
	if (prepare_rundir(o, s) < 0) {
		cleanup_session(s);
		return -1;
	}
	if (log_to_file)
		snprintf(s->log, sizeof s->log, "%s/%s.log", s->rundir, SERVICE);
	if (start_daemon(s, own_group) < 0 || wait_ready(s) < 0) {
		int died;

		stop_daemon(s, &died);
		cleanup_session(s);
		return -1;
	}
	return 0;
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

/* In the child: the environment that puts CMD under libvirtuos, then exec.
 * Never returns. */
static void exec_cmd(char **cmd, const char *preload, const struct session *s,
		     const char *config, int stats)
{
	const char *old = getenv("LD_PRELOAD");
	char ld[PRELOAD_MAX + PATH_MAX];
	int e;

	reset_signals_in_child();
	if (old && *old)
		snprintf(ld, sizeof ld, "%s %s", preload, old);
	else
		snprintf(ld, sizeof ld, "%s", preload);
	if (set_env("LD_PRELOAD", ld) < 0 || set_env("VOS_RUNDIR", s->rundir) < 0 ||
	    set_env("VOS_CONFIG", config) < 0 || (stats && set_env("VOS_STATS", "1") < 0))
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
	struct options o;
	struct session s;
	char config[PATH_MAX], preload[PRELOAD_MAX], mount_point[PATH_MAX];
	int r, status = 0, dstatus, died, code;
	pid_t child;
	sigset_t old;

	r = parse_options(argc, argv, 1, &o);
	if (r) {
		if (r > 0)
			usage_local(stdout);
		return r > 0 ? 0 : VOSCTL_EXIT_USAGE;
	}
	if (find_config(o.config, config) < 0)
		return VOSCTL_EXIT_USAGE;
	r = validate_config(config, mount_point);
	if (r != 0) {
		if (r > 0)
			fprintf(stderr, "vosctl: %s: %d error%s; nothing was run\n", config, r, r > 1 ? "s" : "");
		return VOSCTL_EXIT_USAGE;
	}
	if (find_preload(preload, sizeof preload) < 0)
		return VOSCTL_EXIT_USAGE;

	install_handlers();
	if (setup_session(&o, &s, mount_point, 1, 1) < 0)
		return last_signal ? 128 + last_signal : VOSCTL_EXIT_USAGE;

	fflush(NULL);
	block_forwarded(&old);
	child = fork();
	if (child == 0)
		exec_cmd(o.cmd, preload, &s, config, o.stats);
	if (child < 0) {
		fprintf(stderr, "vosctl: fork: %s\n", strerror(errno));
		code = VOSCTL_EXIT_USAGE;
	} else {
		forward_to = child;
		sigprocmask(SIG_SETMASK, &old, NULL);
		while (waitpid(child, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "vosctl: waitpid: %s\n", strerror(errno));
				status = VOSCTL_EXIT_USAGE << 8;
				break;
			}
		}
		forward_to = 0;
		code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	dstatus = stop_daemon(&s, &died);
	if (dstatus != -1) {
		int clean = !died && ((WIFEXITED(dstatus) && WEXITSTATUS(dstatus) == 0) ||
				      (WIFSIGNALED(dstatus) && WTERMSIG(dstatus) == SIGTERM));

		if (!clean) {
			char how[128];

			describe_status(dstatus, how, sizeof how);
			fprintf(stderr, "vosctl: the storage service %s (%s); its output:\n",
				died ? "died while the command ran" : "ended badly", how);
			show_log(s.log);
		}
	}
	cleanup_session(&s);
	return code;
}

/* local serve ------------------------------------------------------------------- */

static int local_serve(int argc, char **argv)
{
	struct options o;
	struct session s;
	char config[PATH_MAX], mount_point[PATH_MAX] = "";
	int r, status = 0;

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
	/* The config only tells where the programs see the export. */
	if (find_config(o.config, config) < 0)
		return VOSCTL_EXIT_USAGE;
	if (validate_config(config, mount_point) != 0)
		return VOSCTL_EXIT_USAGE;
	install_handlers();
	/* Same process group: a Ctrl-C in this terminal stops the service. */
	if (setup_session(&o, &s, mount_point, 0, 0) < 0)
		return last_signal ? 128 + last_signal : VOSCTL_EXIT_USAGE;
	forward_to = s.daemon;
	if (write_pidfile(&s) < 0)
		kill(s.daemon, SIGTERM);
	else
		fprintf(stderr, "vosctl: storage service ready (pid %d): root %s, socket %s\n"
			"vosctl: in another shell: eval \"$(%s/vosctl local env --rundir %s)\"\n",
			(int)s.daemon, s.root, s.sock, vosctl_bindir(), s.rundir);

	while (waitpid(s.daemon, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "vosctl: waitpid: %s\n", strerror(errno));
			break;
		}
	}
	forward_to = 0;
	s.daemon = 0;
	cleanup_session(&s);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == last_signal)
			return 0;       /* stopped as asked */
		fprintf(stderr, "vosctl: the storage service was killed by signal %d (%s)\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
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
	struct options o;
	char config[PATH_MAX], preload[PRELOAD_MAX], rundir[PATH_MAX];
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
	if (o.root || o.workers || o.keep_root) {
		fprintf(stderr, "vosctl: local env takes only --rundir, --config and --stats\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (!realpath(o.rundir, rundir)) {
		fprintf(stderr, "vosctl: run directory %s: %s\n", o.rundir, strerror(errno));
		return VOSCTL_EXIT_USAGE;
	}
	if (find_config(o.config, config) < 0)
		return VOSCTL_EXIT_USAGE;
	r = validate_config(config, NULL);
	if (r != 0)
		return VOSCTL_EXIT_USAGE;
	if (find_preload(preload, sizeof preload) < 0)
		return VOSCTL_EXIT_USAGE;

	fputs("export LD_PRELOAD=", stdout);
	put_quoted(preload);
	fputs("\"${LD_PRELOAD:+ $LD_PRELOAD}\"\n", stdout);
	fputs("export VOS_RUNDIR=", stdout);
	put_quoted(rundir);
	fputs("\nexport VOS_CONFIG=", stdout);
	put_quoted(config);
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
