/*
 * xen.c - Xen-mode subcommands of vosctl: the guest set (Xen, dom0, storage
 * and network domains) under QEMU.
 *
 *   up [--shell | --exec CMD [--native]] [--timeout S] [--port N] [--disk FILE] [--no-build]
 *   down [--timeout S]
 *   status [--no-reap]        domains and the client channels they serve
 *   shell
 *   exec [--timeout S] [--] CMD...
 *   kill storage|network       xl destroy (like a crash)
 *   restart storage|network    xl destroy + xl create, waits for its init
 *   logs [N]                   last N console lines of dom0 and every DomU
 *
 * The heavy lifting is in scripts that also run on their own:
 * tools/xen/build-images.sh (images), tools/xen/boot.sh (QEMU), and in dom0
 * /sbin/vos-domains (xl) driven through /sbin/vos-agent (see xen_agent.c).
 * This file finds the tree, starts those, waits for dom0's "VOS: all domains
 * up" line on the serial console log, and stops QEMU in bounded time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "vosctl.h"
#include "xen.h"
#include "common/vos_time.h"

#define BOOT_TIMEOUT_S   600    /* TCG on 2 busy cores: about 35 s is usual */
#define CMD_TIMEOUT_S    3600
#define DOWN_TIMEOUT_S   120
#define AGENT_SHORT_MS   (20 * 1000)
#define READY_LINE       "VOS: all domains up"
#define FAILED_LINE      "VOS: boot failed"

volatile sig_atomic_t xen_stop_requested;

struct paths {
	char root[PATH_MAX];      /* source tree: tools/xen, configs/xen */
	char bin_build[PATH_MAX]; /* build tree holding bin/vos-serviced etc. */
	char images[PATH_MAX];    /* build/xen */
	char run[PATH_MAX];       /* build/xen/run */
};

static struct paths P;

static void on_signal(int sig)
{
	(void)sig;
	xen_stop_requested = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "DIR/NAME" into OUT; -1 (and an empty OUT) if it does not fit. */
static int path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* "DIR/NAME" in a static buffer (four in rotation, so a few can be live at
 * once); an overlong path becomes "" and simply is not found. */
static const char *in_dir(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned next;
	char *b = buf[next++ % 4];

	path_join(b, PATH_MAX, dir, name);
	return b;
}

/* Walk up from START (at most 4 levels) to a directory holding tools/xen. */
static int find_root_from(const char *start, char *out)
{
	char dir[PATH_MAX];
	int i;

	if (!realpath(start, dir))
		return -1;
	for (i = 0; i < 5; i++) {
		char *slash;

		if (is_file(in_dir(dir, "tools/xen/build-images.sh"))) {
			strcpy(out, dir);
			return 0;
		}
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return -1;
		*slash = '\0';
	}
	return -1;
}

static int find_paths(void)
{
	const char *env = getenv("VOS_ROOT");
	const char *bindir = vosctl_bindir();
	const char *slash;

	if (env ? find_root_from(env, P.root) < 0
		: find_root_from(bindir, P.root) < 0 && find_root_from(".", P.root) < 0) {
		fprintf(stderr, "vosctl: cannot find the VirtuOS-NG tree (tools/xen/); set VOS_ROOT\n");
		return -1;
	}
	/* vosctl normally runs from BUILD/bin; its siblings are in BUILD. */
	slash = strrchr(bindir, '/');
	if (slash && !strcmp(slash, "/bin") && (size_t)(slash - bindir) < sizeof P.bin_build)
		memcpy(P.bin_build, bindir, (size_t)(slash - bindir)), P.bin_build[slash - bindir] = '\0';
	else if (path_join(P.bin_build, sizeof P.bin_build, P.root, "build") < 0)
		return -1;
	if (path_join(P.images, sizeof P.images, P.root, "build/xen") < 0 ||
	    path_join(P.run, sizeof P.run, P.images, "run") < 0) {
		fprintf(stderr, "vosctl: path of the tree too long\n");
		return -1;
	}
	return 0;
}

/* QEMU's pid if the guest set is running, else 0. */
static pid_t qemu_pid(void)
{
	char buf[256];
	FILE *f = fopen(in_dir(P.run, "qemu.pid"), "r");
	long pid = 0;
	int fd;
	ssize_t n;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1)
		pid = 0;
	fclose(f);
	if (!pid || kill((pid_t)pid, 0) < 0)
		return 0;
	/* A stale pid file whose number was reused is not our QEMU. */
	snprintf(buf, sizeof buf, "/proc/%ld/cmdline", pid);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, "qemu-system") ? (pid_t)pid : 0;
}

static void read_small(const char *path, char *out, size_t size, const char *fallback)
{
	FILE *f = fopen(path, "r");

	snprintf(out, size, "%s", fallback);
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Run a program to completion; its exit status, or -1. */
static int run_program(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "vosctl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int agent(const char *command, int out_fd, int timeout_ms)
{
	return xen_agent_run(in_dir(P.run, "control.sock"), command, out_fd, timeout_ms);
}

static void print_tail(const char *path, int lines)
{
	char cmd[PATH_MAX + 64];

	/* tail(1) is always there and gets the edge cases right. */
	if (snprintf(cmd, sizeof cmd, "tail -n %d '%s' >&2", lines, path) >= (int)sizeof cmd ||
	    system(cmd) != 0)
		fprintf(stderr, "(no %s)\n", path);
}

/* What to look at when a boot fails: Xen+dom0's console, then each DomU's. */
static void print_diagnostics(void)
{
	int r;

	fprintf(stderr, "----- Xen and dom0 console (%s, last 40 lines)\n",
		in_dir(P.run, "console.log"));
	print_tail(in_dir(P.run, "console.log"), 40);
	fprintf(stderr, "\n----- service domain consoles (from dom0)\n");
	r = agent("vos-domains status; vos-domains logs 30", STDERR_FILENO, AGENT_SHORT_MS);
	if (r < 0)
		fprintf(stderr, "(dom0's agent did not answer: %s)\n", strerror(-r));
}

static int monitor_quit(void)
{
	int fd = xen_unix_connect(in_dir(P.run, "monitor.sock"));

	if (fd < 0)
		return fd;
	if (write(fd, "quit\n", 5) != 5) {
		close(fd);
		return -EIO;
	}
	usleep(200 * 1000);
	close(fd);
	return 0;
}

static int wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = (long long)vos_now_ms() + timeout_ms;

	while (kill(pid, 0) == 0 && qemu_pid() == pid) {
		if ((long long)vos_now_ms() >= deadline)
			return -1;
		usleep(200 * 1000);
	}
	return 0;
}

/*
 * Clean stop: dom0 powers off (its shutdown script shuts the service domains
 * down first, so the storage domain unmounts its disk), Xen enters ACPI S5
 * and QEMU exits.  Then, bounded: QEMU's "quit", SIGTERM, SIGKILL.
 */
static int stop_guest_set(int timeout_s)
{
	pid_t pid = qemu_pid();
	int r;

	if (!pid) {
		fprintf(stderr, "[down] not running\n");
		return 0;
	}
	/* An interrupt that brought us here must not cut the clean stop short. */
	xen_stop_requested = 0;
	fprintf(stderr, "[down] powering off dom0 (service domains first)\n");
	r = agent("poweroff", -1, AGENT_SHORT_MS);
	if (r < 0 && r != -ECONNRESET) {
		/* Nobody will power off: do not wait for it. */
		fprintf(stderr, "[down] dom0 did not answer (%s)\n", strerror(-r));
		timeout_s = 5;
	}
	if (wait_gone(pid, timeout_s * 1000) == 0) {
		fprintf(stderr, "[down] QEMU exited\n");
		return 0;
	}
	fprintf(stderr, "[down] still running after %d s: quitting QEMU\n", timeout_s);
	monitor_quit();
	if (wait_gone(pid, 5000) == 0)
		return 0;
	kill(pid, SIGTERM);
	if (wait_gone(pid, 5000) == 0)
		return 0;
	kill(pid, SIGKILL);
	return wait_gone(pid, 5000) == 0 ? 0 : -1;
}

/*
 * Follow the console log until dom0 says all domains are up (0), that the
 * boot failed, QEMU died, the timeout passed or we were interrupted (-1).
 * dom0's "VOS:" progress lines are echoed as they come.
 */
static int wait_all_up(pid_t pid, int timeout_s)
{
	long long deadline = (long long)vos_now_ms() + (long long)timeout_s * 1000;
	char line[1024];
	size_t len = 0;
	int fd = -1;

	for (;;) {
		char buf[4096];
		ssize_t n, i;

		if (fd < 0)
			fd = open(in_dir(P.run, "console.log"), O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof buf) : 0;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n' && len < sizeof line - 1) {
				if (buf[i] != '\r')
					line[len++] = buf[i];
				continue;
			}
			char *vos;

			line[len] = '\0';
			len = 0;
			/* The line may follow a shell prompt on dom0's console. */
			if ((vos = strstr(line, "VOS: ")))
				fprintf(stderr, "[up] %s\n", vos + 5);
			if (strstr(line, READY_LINE)) {
				close(fd);
				return 0;
			}
			if (strstr(line, FAILED_LINE)) {
				close(fd);
				return -1;
			}
		}
		if (n > 0)
			continue;
		if (xen_stop_requested) {
			fprintf(stderr, "[up] interrupted\n");
			break;
		}
		if (kill(pid, 0) < 0) {
			fprintf(stderr, "[up] QEMU exited during boot\n");
			break;
		}
		if ((long long)vos_now_ms() >= deadline) {
			fprintf(stderr, "[up] not up after %d s\n", timeout_s);
			break;
		}
		usleep(200 * 1000);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static int parse_count(const char *s, const char *what, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v <= 0 || v > 24 * 3600) {
		fprintf(stderr, "vosctl: bad %s '%s'\n", what, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_seconds(const char *s, int *out)
{
	return parse_count(s, "number of seconds", out);
}

/* "vos-run 'CMD'": CMD as one single-quoted word for dom0's /sbin/vos-run,
 * which runs it under libvirtuos with the Xen transport.  NULL: no memory. */
static char *under_libvirtuos(const char *cmd)
{
	size_t n = strlen("vos-run ''") + 1;
	for (const char *p = cmd; *p; p++)
		n += *p == '\'' ? 4 : 1;       /* ' becomes '\'' */
	char *s = malloc(n), *o = s;
	if (!s)
		return NULL;
	o += sprintf(o, "vos-run '");
	for (const char *p = cmd; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	strcpy(o, "'");
	return s;
}

static void up_usage(FILE *f)
{
	fputs("usage: vosctl up [--shell | --exec 'COMMAND' [--native]] [--timeout S] [--port N]\n"
	      "                 [--disk FILE] [--no-build]\n"
	      "  Build the images if an input changed, boot Xen + dom0 + the storage and\n"
	      "  network domains under QEMU, wait (at most S seconds, default 600) until\n"
	      "  dom0 reports all domains up.\n"
	      "  --exec CMD   run CMD in dom0 under libvirtuos (/storage served by the storage\n"
	      "               domain over the Xen transport), print its output, shut down,\n"
	      "               exit with its status\n"
	      "  --native     with --exec: run CMD without libvirtuos (for comparisons)\n"
	      "  --shell      attach this terminal to dom0's console (Ctrl-] detaches), then shut down\n"
	      "  (neither)    leave the set running in the background: vosctl status/exec/down\n"
	      "  --port N     host port forwarded to the network domain's port 80 (default 18080)\n"
	      "  --disk FILE  the storage domain's ext4 disk (default build/xen/storage-disk.img)\n"
	      "  --no-build   use the images as they are\n", f);
}

static int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shell", no_argument, NULL, 's' },
		{ "exec", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "disk", required_argument, NULL, 'd' },
		{ "no-build", no_argument, NULL, 'n' },
		{ "native", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *exec_cmd = NULL, *port = NULL, *disk = NULL;
	int shell = 0, build = 1, native = 0, timeout_s = BOOT_TIMEOUT_S, c, r;
	char *boot_argv[12];
	int nb = 0;
	long long t0;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': shell = 1; break;
		case 'e': exec_cmd = optarg; break;
		case 't': if (parse_seconds(optarg, &timeout_s) < 0) return VOSCTL_EXIT_USAGE; break;
		case 'p': port = optarg; break;
		case 'd': disk = optarg; break;
		case 'n': build = 0; break;
		case 'N': native = 1; break;
		case 'h': up_usage(stdout); return 0;
		default: up_usage(stderr); return VOSCTL_EXIT_USAGE;
		}
	}
	if (optind < argc || (shell && exec_cmd) || (native && !exec_cmd)) {
		up_usage(stderr);
		return VOSCTL_EXIT_USAGE;
	}
	if (qemu_pid()) {
		fprintf(stderr, "vosctl: the guest set is already running (vosctl down first)\n");
		return VOSCTL_EXIT_USAGE;
	}
	catch_signals();

	if (build) {
		char *argv_b[] = { (char *)in_dir(P.root, "tools/xen/build-images.sh"),
				   "--bin-build", P.bin_build, NULL };
		if (run_program(argv_b) != 0) {
			fprintf(stderr, "vosctl: building the images failed\n");
			return VOSCTL_EXIT_USAGE;
		}
	}
	boot_argv[nb++] = (char *)in_dir(P.root, "tools/xen/boot.sh");
	if (port) {
		boot_argv[nb++] = "--port";
		boot_argv[nb++] = (char *)port;
	}
	if (disk) {
		boot_argv[nb++] = "--disk";
		boot_argv[nb++] = (char *)disk;
	}
	boot_argv[nb] = NULL;
	t0 = (long long)vos_now_ms();
	if (run_program(boot_argv) != 0 || !(pid = qemu_pid())) {
		fprintf(stderr, "vosctl: QEMU did not start\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (wait_all_up(pid, timeout_s) < 0) {
		fprintf(stderr, "vosctl: the guest set did not come up\n");
		print_diagnostics();
		stop_guest_set(30);
		return VOSCTL_EXIT_USAGE;
	}
	fprintf(stderr, "[up] all domains up after %.1f s\n", (double)((long long)vos_now_ms() - t0) / 1000);

	if (exec_cmd) {
		char *cmd = native ? strdup(exec_cmd) : under_libvirtuos(exec_cmd);
		r = cmd ? agent(cmd, STDOUT_FILENO, CMD_TIMEOUT_S * 1000) : -ENOMEM;
		free(cmd);
		if (r < 0)
			fprintf(stderr, "vosctl: running the command in dom0 failed: %s\n", strerror(-r));
		stop_guest_set(DOWN_TIMEOUT_S);
		return r < 0 ? VOSCTL_EXIT_USAGE : r;
	}
	if (shell) {
		r = xen_console_attach(in_dir(P.run, "console.sock"));
		if (r < 0)
			fprintf(stderr, "vosctl: cannot attach to the console: %s\n", strerror(-r));
		stop_guest_set(DOWN_TIMEOUT_S);
		return r < 0 ? VOSCTL_EXIT_USAGE : 0;
	}
	fprintf(stderr, "[up] running in the background (QEMU pid %ld); vosctl status | shell | exec | down\n",
		(long)pid);
	return 0;
}

static int cmd_down(int argc, char **argv)
{
	int timeout_s = DOWN_TIMEOUT_S;

	if (argc == 3 && !strcmp(argv[1], "--timeout")) {
		if (parse_seconds(argv[2], &timeout_s) < 0)
			return VOSCTL_EXIT_USAGE;
	} else if (argc != 1) {
		fprintf(stderr, "usage: vosctl down [--timeout S]\n");
		return VOSCTL_EXIT_USAGE;
	}
	catch_signals();
	return stop_guest_set(timeout_s) < 0 ? 1 : 0;
}

static int require_running(void)
{
	if (qemu_pid())
		return 0;
	fprintf(stderr, "vosctl: the guest set is not running (vosctl up)\n");
	return -1;
}

static void status_usage(FILE *f)
{
	fputs("usage: vosctl status [--no-reap]\n"
	      "  Whether the guest set runs; in dom0: the domains (xl list) and their\n"
	      "  readiness, then every client channel of the Xen transport: the dom0\n"
	      "  process (pid, program, uid, gid) that holds it, the service domain that\n"
	      "  serves it and the channel's state (connected, ... or stale when the\n"
	      "  process is gone).  Read from xenstore by dom0's /sbin/vos-clients.\n"
	      "  First removes the channels of dead clients (dom0's vos-reap, which also\n"
	      "  runs every 5 s on its own), so the list is exact at that moment.\n"
	      "  --no-reap   list without removing (dead clients show as stale)\n"
	      "Exit status: 0; 1 if the guest set is not running or dom0 does not answer.\n",
	      f);
}

static int cmd_status(int argc, char **argv)
{
	char accel[32], port[32];
	int reap = 1;
	pid_t pid;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		status_usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--no-reap")) {
		reap = 0;
	} else if (argc != 1) {
		status_usage(stderr);
		return VOSCTL_EXIT_USAGE;
	}
	pid = qemu_pid();
	if (!pid) {
		printf("guest set: not running\n");
		return 1;
	}
	read_small(in_dir(P.run, "accel"), accel, sizeof accel, "?");
	read_small(in_dir(P.run, "http-port"), port, sizeof port, "?");
	printf("guest set: running (QEMU pid %ld, %s), network domain :80 at http://127.0.0.1:%s/\n",
	       (long)pid, accel, port);
	fflush(stdout);
	/* One agent round trip for everything (each costs about a second).  The
	 * reap goes first so that a client killed a moment ago is not listed;
	 * its failure is printed but does not hide the rest. */
	r = agent(reap ? "vos-domains status; echo; vos-reap; vos-clients"
		       : "vos-domains status; echo; vos-clients",
		  STDOUT_FILENO, AGENT_SHORT_MS);
	if (r < 0) {
		fprintf(stderr, "vosctl: dom0 did not answer: %s\n", strerror(-r));
		return 1;
	}
	return r == 0 ? 0 : 1;
}

static int cmd_shell(int argc, char **argv)
{
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: vosctl shell\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (require_running() < 0)
		return VOSCTL_EXIT_USAGE;
	r = xen_console_attach(in_dir(P.run, "console.sock"));
	if (r < 0) {
		fprintf(stderr, "vosctl: cannot attach to the console: %s\n", strerror(-r));
		return VOSCTL_EXIT_USAGE;
	}
	return 0;
}

/* Words joined with spaces, as ssh does: `vosctl exec ls -l /` works too. */
static char *join_words(int argc, char **argv)
{
	size_t n = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	s = calloc(1, n);
	if (!s)
		return NULL;
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int cmd_exec(int argc, char **argv)
{
	int timeout_s = CMD_TIMEOUT_S, i = 1, r;
	char *command;

	if (i + 1 < argc && !strcmp(argv[i], "--timeout")) {
		if (parse_seconds(argv[i + 1], &timeout_s) < 0)
			return VOSCTL_EXIT_USAGE;
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: vosctl exec [--timeout S] [--] COMMAND...\n");
		return VOSCTL_EXIT_USAGE;
	}
	if (require_running() < 0)
		return VOSCTL_EXIT_USAGE;
	command = join_words(argc - i, argv + i);
	if (!command)
		return VOSCTL_EXIT_USAGE;
	catch_signals();
	r = agent(command, STDOUT_FILENO, timeout_s * 1000);
	free(command);
	if (r < 0) {
		fprintf(stderr, "vosctl: running the command in dom0 failed: %s\n", strerror(-r));
		return VOSCTL_EXIT_USAGE;
	}
	return r;
}

/* kill / restart a service domain through dom0's vos-domains. */
static int cmd_domain(const char *subcmd, int argc, char **argv)
{
	char command[64];
	int r;

	if (argc != 2 || (strcmp(argv[1], "storage") && strcmp(argv[1], "network"))) {
		fprintf(stderr, "usage: vosctl %s storage|network\n", subcmd);
		return VOSCTL_EXIT_USAGE;
	}
	if (require_running() < 0)
		return VOSCTL_EXIT_USAGE;
	snprintf(command, sizeof command, "vos-domains %s %s",
		 strcmp(subcmd, "kill") ? "restart" : "destroy", argv[1]);
	catch_signals();
	r = agent(command, STDOUT_FILENO, CMD_TIMEOUT_S * 1000);
	if (r < 0) {
		fprintf(stderr, "vosctl: dom0 did not answer: %s\n", strerror(-r));
		return VOSCTL_EXIT_USAGE;
	}
	return r;
}

static int cmd_logs(int argc, char **argv)
{
	int lines = 20;
	char command[64];
	int r;

	if (argc > 2 || (argc == 2 && parse_count(argv[1], "number of lines", &lines) < 0)) {
		fprintf(stderr, "usage: vosctl logs [LINES]\n");
		return VOSCTL_EXIT_USAGE;
	}
	printf("----- Xen and dom0 console (last %d lines)\n", lines);
	fflush(stdout);
	{
		char cmd[PATH_MAX + 64];
		if (snprintf(cmd, sizeof cmd, "tail -n %d '%s'", lines,
			     in_dir(P.run, "console.log")) >= (int)sizeof cmd || system(cmd) != 0)
			printf("(no console log)\n");
	}
	if (!qemu_pid())
		return 0;
	snprintf(command, sizeof command, "vos-domains logs %d", lines);
	r = agent(command, STDOUT_FILENO, AGENT_SHORT_MS);
	return r < 0 ? 1 : r;
}

int vosctl_xen_main(const char *subcmd, int argc, char **argv)
{
	if (find_paths() < 0)
		return VOSCTL_EXIT_USAGE;
	if (!strcmp(subcmd, "up"))
		return cmd_up(argc, argv);
	if (!strcmp(subcmd, "down"))
		return cmd_down(argc, argv);
	if (!strcmp(subcmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(subcmd, "shell"))
		return cmd_shell(argc, argv);
	if (!strcmp(subcmd, "exec"))
		return cmd_exec(argc, argv);
	if (!strcmp(subcmd, "kill") || !strcmp(subcmd, "restart"))
		return cmd_domain(subcmd, argc, argv);
	if (!strcmp(subcmd, "logs"))
		return cmd_logs(argc, argv);
	fprintf(stderr, "vosctl: unknown Xen-mode command '%s'\n", subcmd);
	return VOSCTL_EXIT_USAGE;
}
