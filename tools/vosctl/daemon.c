/*
 * daemon.c - supervision of the service daemons of `vosctl local` (see
 * daemon.h): finding the pieces, starting vos-serviced, waiting until it
 * listens, stopping it, and forwarding signals.
 *
 * Finding the pieces: vos-serviced sits next to vosctl, libvirtuos.so in
 * ../lib (the build tree layout: build/bin, build/lib).  VOS_SERVICED and
 * VOS_LIBVIRTUOS override them.  VOS_LIBVIRTUOS may be a list separated by
 * spaces, all preloaded in that order (a sanitizer runtime must come first).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "daemon.h"
#include "vosctl.h"
#include "common/vos_time.h"

#define START_TIMEOUT_MS 10000   /* a service must listen within this */
#define START_NOTICE_MS  2000    /* say we are waiting after this */
#define STOP_TIMEOUT_MS  5000    /* SIGTERM grace before SIGKILL */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Signals ------------------------------------------------------------------ */

static volatile sig_atomic_t forward_pid[VOS_CONF_MAX_SERVICES];
static volatile sig_atomic_t forward_n;
static volatile sig_atomic_t last_signal;
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

#define NFORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved = errno;

	(void)uctx;
	last_signal = sig;
	/* Signals the terminal generated (si_code > 0, SI_KERNEL) already
	 * reached every process of the foreground group. */
	if (info && info->si_code <= 0)
		for (int i = 0; i < forward_n; i++)
			if (forward_pid[i] > 0)
				kill((pid_t)forward_pid[i], sig);
	errno = saved;
}

void vosctl_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

void vosctl_signals_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

void vosctl_signals_reset_in_child(void)
{
	sigset_t none;

	for (size_t i = 0; i < NFORWARDED; i++)
		signal(forwarded_signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void vosctl_signals_forward_to(const pid_t *pids, int n)
{
	sigset_t old;

	if (n > VOS_CONF_MAX_SERVICES)
		n = VOS_CONF_MAX_SERVICES;
	vosctl_signals_block(&old);
	forward_n = 0;
	for (int i = 0; i < n; i++)
		forward_pid[i] = pids[i];
	forward_n = n;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int vosctl_last_signal(void)
{
	return last_signal;
}

/* Finding the pieces --------------------------------------------------------- */

int vosctl_find_serviced(char *out, size_t len)
{
	const char *env = getenv("VOS_SERVICED");

	if (env && *env)
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/vos-serviced", vosctl_bindir());
	if (access(out, X_OK) != 0) {
		fprintf(stderr, "vosctl: cannot run the service daemon %s: %s "
			"(build it with `make`, or set VOS_SERVICED)\n", out, strerror(errno));
		return -1;
	}
	return 0;
}

int vosctl_find_preload(char *out, size_t len)
{
	const char *env = getenv("VOS_LIBVIRTUOS");
	char list[VOSCTL_PRELOAD_MAX], *save = NULL;
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

int vosctl_socket_listening(const char *path)
{
	return vosctl_socket_listening_in(0, path);
}

int vosctl_socket_listening_in(pid_t pid, const char *path)
{
	char line[PATH_MAX + 256], table[64];
	FILE *f;

	/* A daemon's own table: it may live in a network namespace of its
	 * own (--net-namespace), whose Unix sockets /proc/net/unix omits. */
	if (pid > 0)
		snprintf(table, sizeof table, "/proc/%d/net/unix", (int)pid);
	else
		snprintf(table, sizeof table, "/proc/net/unix");
	f = fopen(table, "r");
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

/* Reporting -------------------------------------------------------------------- */

void vosctl_show_log(const char *log)
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

void vosctl_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* The service ------------------------------------------------------------------ */

int vosctl_daemon_start(const struct vosctl_launch *l, struct vosctl_daemon *d)
{
	char *argv[16];
	int argc = 0;
	pid_t parent = getpid();
	sigset_t old;

	argv[argc++] = (char *)l->serviced;
	argv[argc++] = "--role";
	argv[argc++] = (char *)d->role;
	argv[argc++] = "--name";
	argv[argc++] = d->name;
	if (d->exports_dir) {
		argv[argc++] = "--root";
		argv[argc++] = d->root;
		argv[argc++] = "--mount-point";
		argv[argc++] = d->mount_point;
	}
	argv[argc++] = "--rundir";
	argv[argc++] = (char *)l->rundir;
	if (l->net_namespace && !strcmp(d->role, "network"))
		argv[argc++] = "--net-namespace";
	if (l->workers) {
		argv[argc++] = "--workers";
		argv[argc++] = (char *)l->workers;
	}
	argv[argc] = NULL;

	d->status = 0;
	d->died = 0;
	fflush(NULL);
	vosctl_signals_block(&old);
	d->pid = fork();
	if (d->pid < 0) {
		d->pid = 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "vosctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (d->pid == 0) {
		vosctl_signals_reset_in_child();
		if (l->own_group)
			setpgid(0, 0);
		/* If vosctl dies without cleaning up, the service goes too. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		if (d->log[0]) {
			int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
				fprintf(stderr, "vosctl: cannot redirect the %s service's output to %s: %s\n",
					d->name, d->log, strerror(errno));
				_exit(127);
			}
		}
		execv(l->serviced, argv);
		fprintf(stderr, "vosctl: cannot run %s: %s\n", l->serviced, strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int vosctl_daemon_wait_ready(struct vosctl_daemon *d)
{
	long long start = (long long)vos_now_ms();
	int noticed = 0, status;

	for (;;) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);
		int l;

		if (r == d->pid) {
			char how[128];

			vosctl_describe_status(status, how, sizeof how);
			d->pid = 0;
			d->status = status;
			d->died = 1;
			fprintf(stderr, "vosctl: the %s service (role %s) did not start (%s)%s\n",
				d->name, d->role, how, d->log[0] ? "; its output:" : "");
			vosctl_show_log(d->log);
			return -1;
		}
		l = vosctl_socket_listening_in(d->pid, d->sock);
		if (l == 1 || (l < 0 && access(d->sock, F_OK) == 0))
			return 0;
		if (last_signal) {
			fprintf(stderr, "vosctl: interrupted while the %s service was starting\n", d->name);
			return -1;
		}
		if ((long long)vos_now_ms() - start > START_TIMEOUT_MS) {
			fprintf(stderr, "vosctl: the %s service did not listen on %s within %d s%s\n",
				d->name, d->sock, START_TIMEOUT_MS / 1000, d->log[0] ? "; its output:" : "");
			vosctl_show_log(d->log);
			return -1;
		}
		if (!noticed && (long long)vos_now_ms() - start > START_NOTICE_MS) {
			fprintf(stderr, "vosctl: waiting for the %s service to listen on %s...\n",
				d->name, d->sock);
			noticed = 1;
		}
		sleep_ms(10);
	}
}

/* Reap d if it has ended.  1 if it has (or was not running), 0 if not. */
static int reap(struct vosctl_daemon *d)
{
	int status;
	pid_t r;

	if (d->pid <= 0)
		return 1;
	r = waitpid(d->pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return 0;
	d->status = r == d->pid ? status : 0;
	d->pid = 0;
	return 1;
}

void vosctl_daemons_stop(struct vosctl_daemon *d, int n)
{
	long long start;
	int left;

	for (int i = 0; i < n; i++) {
		if (d[i].pid <= 0)
			continue;
		if (reap(&d[i])) {
			d[i].died = 1;
			continue;
		}
		kill(d[i].pid, SIGTERM);
	}
	start = (long long)vos_now_ms();
	for (;;) {
		left = 0;
		for (int i = 0; i < n; i++)
			left += !reap(&d[i]);
		if (!left)
			return;
		if ((long long)vos_now_ms() - start > STOP_TIMEOUT_MS)
			break;
		sleep_ms(10);
	}
	for (int i = 0; i < n; i++) {
		if (d[i].pid <= 0)
			continue;
		fprintf(stderr, "vosctl: the %s service did not stop within %d s after "
			"SIGTERM; killing it\n", d[i].name, STOP_TIMEOUT_MS / 1000);
		kill(d[i].pid, SIGKILL);
		while (waitpid(d[i].pid, &d[i].status, 0) < 0 && errno == EINTR)
			;
		d[i].pid = 0;
	}
}

int vosctl_daemon_clean_exit(const struct vosctl_daemon *d)
{
	return !d->died && ((WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0) ||
			    (WIFSIGNALED(d->status) && WTERMSIG(d->status) == SIGTERM));
}

int vosctl_daemon_write_pidfile(struct vosctl_daemon *d)
{
	FILE *f = fopen(d->pidfile, "w");
	int bad = !f;

	d->pidfile_written = f != NULL;
	if (f) {
		bad = fprintf(f, "%d\n", (int)d->pid) < 0;
		bad |= fclose(f) != 0;
	}
	if (bad) {
		fprintf(stderr, "vosctl: cannot write %s: %s\n", d->pidfile, strerror(errno));
		return -1;
	}
	return 0;
}
