/*
 * init.c - starting the library: configuration, environment, the new
 * image's inheritance (channels, placeholders, cwd), statistics at exit.
 *
 * Other libraries' constructors may call open() or read() before ours ran,
 * so every wrapper calls vos_init() first: after initialisation it is one
 * atomic load.  Initialisation itself calls wrapped functions (through the
 * client code and glibc); the initialising thread then passes through
 * vos_init() and sees a partly built state, which is fine because the
 * steps run in dependency order.
 *
 * Environment:
 *   VOS_CONFIG           routing table file (default: service storage storage,
 *                        route /storage storage)
 *   VOS_RUNDIR           local transport rendezvous directory (/run/vos)
 *   VOS_SPIN             client spin iterations before sleeping
 *   VOS_SLOTS            requests in flight per channel (power of two, 2..256)
 *   VOS_SLOT_SIZE        bytes per request buffer (multiple of 4096, 4 KiB..1 MiB)
 *   VOS_DEAD_AFTER_MS    the service is declared dead (calls fail with EIO)
 *                        when its heartbeat stands still this long while a
 *                        call waits (default 10000); calls themselves have
 *                        no deadline
 *   VOS_STATS=1          print each channel's counters and the system-call
 *                        dispatcher's (mode, system calls, traps and traps
 *                        per call, rewritten sites, pass-through, precheck
 *                        and trampoline calls, threads armed) to stderr at exit
 * A bad value stops the program at startup (exit 127) with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "interpose_internal.h"
#include "channel/vos_sys.h"
#include "dispatch/dispatch.h"

_Atomic int vos_inited;
static VOS_TLS int in_init;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static char rundir[PATH_MAX];
/* VOS_STATS=1: where the counters go.  A copy of stderr taken at start-up,
 * because coreutils (gnulib's close_stdout) closes fd 2 before destructors
 * run, which silenced the counters of cp, cat, sha256sum...  A high number,
 * close-on-exec (the new image takes its own), and only with VOS_STATS=1. */
#define STATS_FD_MIN 600
static int stats_fd = -1;

void vos_block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void vos_restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static __attribute__((noreturn)) void env_error(const char *name, const char *val, const char *why)
{
	dprintf(2, "libvirtuos: %s=%s: %s\n", name, val, why);
	_exit(127);
}

static unsigned long env_num(const char *name, unsigned long min, unsigned long max,
			     unsigned long dflt)
{
	const char *v = getenv(name);
	unsigned long n;
	char *end;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || v[0] == '-' || n < min || n > max) {
		char why[96];

		snprintf(why, sizeof(why), "expected a number in [%lu, %lu]", min, max);
		env_error(name, v, why);
	}
	return n;
}

/* A relative path is made absolute, in the environment too, so that
 * children started from another directory find the same file. */
static void absolute_env(const char *name, char *out, size_t size, const char *dflt)
{
	const char *v = getenv(name);
	char cwd[PATH_MAX];
	int n;

	if (!v || !*v) {
		snprintf(out, size, "%s", dflt);
		return;
	}
	if (v[0] == '/') {
		n = snprintf(out, size, "%s", v);
	} else {
		if (!real_getcwd(cwd, sizeof(cwd)))
			env_error(name, v, "relative path and no working directory");
		n = snprintf(out, size, "%s/%s", cwd, v);
		if (n >= 0 && (size_t)n < size)
			setenv(name, out, 1);
	}
	if (n < 0 || (size_t)n >= size)
		env_error(name, v, "path too long");
}

static void load_env(void)
{
	static char config[PATH_MAX];
	unsigned long slots;

	absolute_env("VOS_RUNDIR", rundir, sizeof(rundir), "/run/vos");
	if (getenv("VOS_CONFIG") && *getenv("VOS_CONFIG"))
		absolute_env("VOS_CONFIG", config, sizeof(config), "");
	vos_cfg.rundir = rundir;
	vos_cfg.spin = (unsigned)env_num("VOS_SPIN", 0, 1000000000ul, 0);
	slots = env_num("VOS_SLOTS", VOS_MIN_SLOTS, VOS_MAX_SLOTS, 0);
	if (slots & (slots - 1))
		env_error("VOS_SLOTS", getenv("VOS_SLOTS"), "must be a power of two");
	vos_cfg.nslots = (uint32_t)slots;
	vos_cfg.slot_size = (uint32_t)env_num("VOS_SLOT_SIZE", VOS_MIN_SLOT_SIZE,
					      VOS_MAX_SLOT_SIZE, 0);
	if (vos_cfg.slot_size % VOS_PAGE_SIZE)
		env_error("VOS_SLOT_SIZE", getenv("VOS_SLOT_SIZE"), "must be a multiple of 4096");
	vos_cfg.dead_after_ms = (int)env_num("VOS_DEAD_AFTER_MS", 1, 86400000ul, 0);
}

/*
 * Remote fds are numbers of O_PATH descriptors on <rundir>/<service>.remote-fd,
 * whatever the transport: the local service creates the file when it
 * listens, dom0's start-up for Xen services (the same path format as the
 * local service's, channel/local/back.c).
 */
static void find_placeholders(void)
{
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_service *s = &vos_services[i];
		int n = snprintf(s->placeholder, sizeof(s->placeholder), "%s/%s.remote-fd",
				 rundir, s->name);

		if (n < 0 || (size_t)n >= sizeof(s->placeholder))
			env_error("VOS_RUNDIR", rundir, "path too long");
		if (!real_realpath(s->placeholder, s->placeholder_real))
			s->placeholder_real[0] = '\0';
	}
}

static void do_init(void)
{
	load_env();
	vos_routes_load();
	find_placeholders();
	/* Read now, while fds are free: a program at its fd limit could not
	 * open /proc later, and new channels are given it. */
	(void)vos_umask_current();
	/* Xen: libxenstore now, before the program has threads, not inside a
	 * first connect with engine locks held (channel/xen/xs.h).  An unknown
	 * transport stops here, not as EIO on the first routed call. */
	if (vos_client_prepare(NULL) == -EINVAL)
		env_error("VOS_TRANSPORT", getenv("VOS_TRANSPORT"), "expected local or xen");
	vos_fork_init();
	vos_exec_init();
	vos_exec_adopt();
}

/*
 * Sanitizer runtimes run their own start-up from the first library
 * constructors or earlier and call wrapped functions (mmap, open, ...) then:
 * before libc has set up environ, getenv() finds nothing.  Initialising then
 * would latch the defaults (VOS_RUNDIR ignored), so without an environment
 * only glibc's functions are looked up and the next call tries again; our
 * constructor always initialises (environ is set by then, unless another
 * library's constructor cleared it).
 */
static int stats_enabled(void)
{
	const char *v = getenv("VOS_STATS");

	return v && strcmp(v, "1") == 0;
}

static void init(int force)
{
	if (atomic_load_explicit(&vos_inited, memory_order_acquire) || in_init)
		return;
	in_init = 1;
	vos_real_init();
	if (environ || force) {
		pthread_mutex_lock(&init_lock);
		if (!atomic_load_explicit(&vos_inited, memory_order_relaxed)) {
			do_init();
			if (stats_enabled()) {
				long fd = vos_sys_fcntl(2, F_DUPFD_CLOEXEC, STATS_FD_MIN);
				stats_fd = fd >= 0 ? (int)fd : -1;
			}
			atomic_store_explicit(&vos_inited, 1, memory_order_release);
		}
		pthread_mutex_unlock(&init_lock);
	}
	in_init = 0;
}

void vos_init(void)
{
	init(0);
}

/* The dispatcher is installed here, not in init(): an earlier call of a
 * wrapper (another library's constructor) may have initialised already,
 * and Syscall User Dispatch must be turned on once per process image. */
static __attribute__((constructor)) void vos_constructor(void)
{
	init(1);
	vos_syscalls_install();
}

static const char *dispatch_mode_name(enum vos_dispatch_mode m)
{
	return m == VOS_DISPATCH_REWRITE ? "rewrite" : m == VOS_DISPATCH_TRAP ? "trap" : "off";
}

/* VOS_STATS=1: how system calls were caught (one line, even without a
 * connected service): every counter of the dispatcher, and traps per
 * system call (after warm-up it should be near 0: only first encounters
 * of a site trap).  Trap mode means every call takes the SIGSYS path. */
static void print_dispatch_stats(void)
{
	struct vos_dispatch_stats st;
	char line[1024], per[32];
	int n;

	vos_dispatch_stats(&st);
	if (st.syscalls) {
		/* Integer arithmetic: %f would go through the locale. */
		unsigned long long m = (unsigned long long)(st.traps * 1000000 / st.syscalls);

		snprintf(per, sizeof(per), "%llu.%06llu", m / 1000000, m % 1000000);
	} else {
		snprintf(per, sizeof(per), "0");
	}
	n = snprintf(line, sizeof(line),
		     "libvirtuos: %s[%d]: dispatch mode=%s%s%s%s%s state_save=%s syscalls=%llu "
		     "traps=%llu traps_per_syscall=%s rewritten=%llu eager_sites=%llu "
		     "eager_native=%llu eager_scans=%llu eager_cached=%llu install_us=%llu passthrough=%llu "
		     "precheck_native=%llu tramp_calls=%llu threads_armed=%llu "
		     "threads_unarmed=%llu sigsys_refused=%llu seccomp_refused=%llu\n",
		     program_invocation_short_name, (int)getpid(),
		     st.eager ? "eager" : st.mode == VOS_DISPATCH_REWRITE ? "lazy" : dispatch_mode_name(st.mode),
		     st.mode == VOS_DISPATCH_TRAP ? " (slow path: page 0 not mappable)" : "",
		     st.mode == VOS_DISPATCH_REWRITE && st.lazy_reason ? " (" : "",
		     st.mode == VOS_DISPATCH_REWRITE && st.lazy_reason ? st.lazy_reason : "",
		     st.mode == VOS_DISPATCH_REWRITE && st.lazy_reason ? ")" : "",
		     st.state_save ? st.state_save : "none",
		     (unsigned long long)st.syscalls, (unsigned long long)st.traps, per,
		     (unsigned long long)st.rewritten, (unsigned long long)st.eager_sites,
		     (unsigned long long)st.eager_native, (unsigned long long)st.eager_scans, (unsigned long long)st.eager_cached,
		     (unsigned long long)(st.install_ns / 1000),
		     (unsigned long long)st.passthrough,
		     (unsigned long long)st.precheck_native, (unsigned long long)st.tramp_calls,
		     (unsigned long long)st.threads_armed, (unsigned long long)st.threads_unarmed,
		     (unsigned long long)st.refused, (unsigned long long)st.seccomp_refused);
	if (n > 0 && (stats_fd < 0 || vos_sys_write(stats_fd, line, (size_t)n) < 0))
		(void)!vos_sys_write(2, line, (size_t)n);
}

/* VOS_STATS=1: one line per connected service, for demonstrations. */
static __attribute__((destructor)) void vos_print_stats(void)
{
	if (!stats_enabled() || !atomic_load(&vos_inited))
		return;
	fflush(NULL);   /* count the final flush of remote streams too */
	print_dispatch_stats();
	for (int i = 0; i < vos_nservices; i++) {
		struct vos_conn *conn = atomic_load(&vos_services[i].conn);
		struct vos_client_stats st;
		char line[512];
		int n;

		if (!conn)
			continue;
		vos_client_stats(conn->client, &st);
		n = snprintf(line, sizeof(line),
			     "libvirtuos: %s[%d]: %s requests=%llu completions=%llu client_notifies=%llu "
			     "service_notifies=%llu client_sleeps=%llu service_sleeps=%llu "
			     "protocol_errors=%llu bad_completions=%llu\n",
			     /* which program: a shell line runs several */
			     program_invocation_short_name, (int)getpid(),
			     vos_services[i].name, (unsigned long long)st.requests,
			     (unsigned long long)st.completions,
			     (unsigned long long)st.client_notifies,
			     (unsigned long long)st.service_notifies,
			     (unsigned long long)st.client_sleeps,
			     (unsigned long long)st.service_sleeps,
			     (unsigned long long)st.protocol_errors,
			     (unsigned long long)st.bad_completions);
		if (n > 0 && (stats_fd < 0 || vos_sys_write(stats_fd, line, (size_t)n) < 0))
			(void)!vos_sys_write(2, line, (size_t)n);
	}
}
