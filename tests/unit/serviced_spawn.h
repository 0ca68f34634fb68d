/*
 * serviced_spawn.h - start and stop the real vos-serviced from a unit test
 * (test_optable.c, test_roles.c), and make calls through the client engine.
 *
 * The daemon binary: $VOS_SERVICED, else ../bin/vos-serviced next to the
 * test's directory (build/<variant>/tests -> build/<variant>/bin).
 * Header-only: the Makefile links each tests/unit/test_*.c on its own.
 */
#ifndef SERVICED_SPAWN_H
#define SERVICED_SPAWN_H

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel/vos_proto.h"
#include "channel/transport_local.h"   /* VOS_HELLO_NEW */
#include "client/client.h"

static char serviced_bin[PATH_MAX];

/* Find the daemon (from argv[0]); 0, or -1 after saying why. */
static inline int serviced_find(const char *argv0, const char *test)
{
	const char *env = getenv("VOS_SERVICED");
	char self[PATH_MAX];

	if (env && *env) {
		snprintf(serviced_bin, sizeof serviced_bin, "%s", env);
	} else {
		snprintf(self, sizeof self, "%s", argv0);
		snprintf(serviced_bin, sizeof serviced_bin, "%s/../bin/vos-serviced", dirname(self));
	}
	if (access(serviced_bin, X_OK) != 0) {
		fprintf(stderr, "%s: no daemon at %s (build it, or set VOS_SERVICED)\n", test,
			serviced_bin);
		return -1;
	}
	return 0;
}

static inline void serviced_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static inline struct vos_client_config serviced_config(const char *rundir, const char *name)
{
	struct vos_client_config cfg = {
		.rundir = rundir, .service = name, .kind = VOS_SVC_STORAGE,
		.dead_after_ms = 20000,
	};
	return cfg;
}

/*
 * Start `vos-serviced ARGS...` (argv without the program, NULL-terminated)
 * and wait until a client of service `name` in rundir gets an answer.
 * Returns its pid, or -1 if it exited or never answered (10 s).
 */
static inline pid_t serviced_start(const char *rundir, const char *name, const char *const *args)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Shadows start threads after forking from a threaded process. */
		const char *t = getenv("TSAN_OPTIONS");
		char opts[512];
		const char *argv[32] = { serviced_bin };
		int n = 1;

		snprintf(opts, sizeof opts, "%s%sdie_after_fork=0", t ? t : "", t ? ":" : "");
		setenv("TSAN_OPTIONS", opts, 1);
		while (*args && n < 30)
			argv[n++] = *args++;
		if (getenv("VOS_SERVICED_VERBOSE"))     /* for debugging a failure */
			argv[n++] = "--verbose";
		execv(serviced_bin, (char **)argv);
		_exit(127);
	}
	struct vos_client_config cfg = serviced_config(rundir, name);
	for (int tries = 0; tries < 1000; tries++) {
		struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
		int status;

		if (c) {
			vos_client_close(c);
			return pid;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "vos-serviced exited early, status 0x%x\n", status);
			return -1;
		}
		serviced_sleep_ms(10);
	}
	fprintf(stderr, "vos-serviced %s did not answer in %s\n", name, rundir);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* SIGTERM, wait (bounded), SIGKILL if it has to come to that. */
static inline void serviced_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int tries = 0; tries < 500; tries++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		serviced_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Exit status of a shell command (-1 if it did not exit). */
static inline int serviced_run_status(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define SLOT_STR2 8192          /* second string in a slot (default slot: 16 KiB) */

/*
 * One call.  s0/s1 (if not NULL) are copied to slot offsets 0 and SLOT_STR2
 * and those offsets replace arg[i0]/arg[i1].  Up to outlen bytes of output
 * are copied from offset 0 to out.  -ENOBUFS if no slot.
 */
static inline int64_t slot_call(struct vos_client *c, uint16_t op, const int64_t args[6],
			 const char *s0, int i0, const char *s1, int i1, void *out, size_t outlen)
{
	struct vos_req r = { .op = op };
	struct vos_slot *s;

	memcpy(r.arg, args, sizeof r.arg);
	if (vos_slot_acquire(c, &s) != 0)
		return -ENOBUFS;
	char *buf = vos_slot_buf(s);
	if (s0) {
		strcpy(buf, s0);
		r.arg[i0] = 0;
	}
	if (s1) {
		strcpy(buf + SLOT_STR2, s1);
		r.arg[i1] = SLOT_STR2;
	}
	int64_t res = vos_slot_call(s, &r);
	if (out && outlen)
		memcpy(out, buf, outlen);
	vos_slot_release(s);
	return res;
}

/* One call with len raw bytes of data at slot offset 0, which replaces
 * arg[i]; output as slot_call. */
static inline int64_t slot_call_data(struct vos_client *c, uint16_t op, const int64_t args[6],
			      const void *data, size_t len, int i, void *out, size_t outlen)
{
	struct vos_req r = { .op = op };
	struct vos_slot *s;

	memcpy(r.arg, args, sizeof r.arg);
	if (vos_slot_acquire(c, &s) != 0)
		return -ENOBUFS;
	memcpy(vos_slot_buf(s), data, len);
	r.arg[i] = 0;
	int64_t res = vos_slot_call(s, &r);
	if (out && outlen)
		memcpy(out, vos_slot_buf(s), outlen);
	vos_slot_release(s);
	return res;
}

#endif
