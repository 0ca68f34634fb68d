/*
 * limits-fsize-hard.c - a *hard* RLIMIT_FSIZE below the size of the memory
 * files the library makes for itself (the local channel's ring is 512 KiB,
 * an mmap copy is the file's size), in a process that cannot raise it (no
 * CAP_SYS_RESOURCE: dropped here if the program runs as root, from the
 * bounding set too, so the programs it starts lack it as well).  Natively
 * the limit stops only writes to files; so it must be here:
 *
 *   - a fork child opens, writes and reads back a file in DIR (a child
 *     connects a channel of its own);
 *   - a posix_spawn'ed shell writes a file in DIR (a new image that
 *     connects a channel of its own);
 *   - a private mmap of a 256 KiB file of DIR (written before the limit)
 *     reads the file's bytes;
 *   - a write at the limit is still short, one past it EFBIG + SIGXFSZ.
 *
 * usage: limits-fsize-hard DIR          (deterministic output)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define LIMIT (64 * 1024)
#define MAPPED (256 * 1024)

extern char **environ;
static atomic_int caught;

static void on_xfsz(int sig)
{
	(void)sig;
	atomic_fetch_add(&caught, 1);
}

/* Without CAP_SYS_RESOURCE now and after exec (a no-op for a non-root user). */
static int drop_sys_resource(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0);   /* EPERM if not root */
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[0].effective &= ~(1u << CAP_SYS_RESOURCE);
	d[0].permitted &= ~(1u << CAP_SYS_RESOURCE);
	d[0].inheritable &= ~(1u << CAP_SYS_RESOURCE);
	return (int)syscall(SYS_capset, &h, d);
}

static int fork_child_io(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char back[6] = "";
		int fd = open(a("child"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		int ok = fd >= 0 && write(fd, "child", 5) == 5 &&
			 pread(fd, back, 5, 0) == 5 && strcmp(back, "child") == 0;

		_exit(ok && close(fd) == 0 ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int spawned_shell_writes(void)
{
	char cmd[4200];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char back[16] = "";
	pid_t pid;
	int st, fd, ok;

	snprintf(cmd, sizeof(cmd), "echo spawned > '%s'", a("spawned"));
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 0;
	fd = open(a("spawned"), O_RDONLY);
	ok = fd >= 0 && read(fd, back, sizeof(back) - 1) == 8 && strcmp(back, "spawned\n") == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	static char buf[MAPPED];
	struct rlimit rl = { LIMIT, LIMIT };
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	signal(SIGXFSZ, on_xfsz);

	/* The file to map, written before the limit. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + i / 4096);
	fd = open(a("mapped"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	expect("256 KiB file written", fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	if (fd >= 0)
		close(fd);

	expect("CAP_SYS_RESOURCE dropped", drop_sys_resource() == 0);
	show("setrlimit FSIZE 64 KiB, hard too", setrlimit(RLIMIT_FSIZE, &rl));
	rl.rlim_max = LIMIT + 1;
	show("  raising the hard limit again", setrlimit(RLIMIT_FSIZE, &rl));

	expect("fork child: open, write, read in DIR", fork_child_io());
	expect("posix_spawn'ed shell writes in DIR", spawned_shell_writes());

	fd = open(a("mapped"), O_RDONLY);
	void *m = fd < 0 ? MAP_FAILED : mmap(NULL, MAPPED, PROT_READ, MAP_PRIVATE, fd, 0);
	show("mmap 256 KiB, MAP_PRIVATE", m == MAP_FAILED ? -1 : 0);
	if (m != MAP_FAILED) {
		expect("  the file's bytes", memcmp(m, buf, sizeof(buf)) == 0);
		munmap(m, MAPPED);
	}
	if (fd >= 0)
		close(fd);

	fd = open(a("big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	show("write 100000 (short at the limit)", write(fd, buf, 100000));
	show("write past the limit", write(fd, buf, 10));
	expect("  SIGXFSZ x1", atomic_exchange(&caught, 0) == 1);
	if (fd >= 0)
		close(fd);
	return bad;
}
