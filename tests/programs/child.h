/*
 * child.h - run one step of a test program in a child process, bounded in
 * time, and print how it ended: a crash (a signal) or a hang then shows as
 * one line of output instead of ending the whole program, and the steps
 * after it still run.  Use with report.h (included first).
 *
 * in_child(label, fn, arg, seconds): fork; the child runs fn(arg), flushes
 * stdout and exits with report.h's `bad` (as fn left it, from 0).  The parent polls (bounded) for
 * the child's end; on a timeout it kills the child with SIGKILL.  Prints
 * nothing when the child exited 0, otherwise "label  exit N", "label
 * signal SIGNAME" or "label  timeout"; an exit other than 0 or a timeout
 * marks the run failed.  Returns the raw wait status, or -1 on a timeout.
 * A signal does not mark the run failed by itself: some steps expect one
 * (SIGXFSZ); the caller decides.
 */
#ifndef VOS_TEST_CHILD_H
#define VOS_TEST_CHILD_H

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int in_child(const char *label, void (*fn)(void *), void *arg, int seconds)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status = 0;
	pid_t pid, r = 0;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		show(label, -1);
		bad = 1;
		return -1;
	}
	if (pid == 0) {
		bad = 0;  /* the child's own verdict, not the steps' before it */
		/* line by line: what it printed before a hang or crash stays */
		setvbuf(stdout, NULL, _IOLBF, 0);
		fn(arg);
		fflush(stdout);
		_exit(bad);
	}
	for (long i = 0; i < seconds * 100L; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r != 0)
			break;
		nanosleep(&tick, NULL);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("%-36s timeout\n", label);
		bad = 1;
		return -1;
	}
	if (WIFSIGNALED(status)) {
		printf("%-36s signal SIG%s\n", label, sigabbrev_np(WTERMSIG(status)));
	} else if (WEXITSTATUS(status) != 0) {
		printf("%-36s exit %d\n", label, WEXITSTATUS(status));
		bad = 1;
	}
	return status;
}

#endif
