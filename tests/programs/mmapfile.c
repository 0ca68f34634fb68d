/*
 * mmapfile.c - mmap of a file in DIR, MAP_PRIVATE (what libvirtuos maps as
 * a private copy of a remote file, libvirtuos/interpose/mmap.c):
 *  - read-only mappings: the whole file, at an offset, a length past EOF
 *    (the tail of the last page reads as zero; a page wholly past EOF
 *    raises SIGBUS, seen in a forked child);
 *  - copy-on-write: writes stay private (the file and a second mapping do
 *    not see them), a fork gets a copy, MADV_DONTNEED brings back the
 *    file's bytes, mprotect/mremap/msync/munmap are plain memory calls;
 *  - PROT_EXEC: machine code read from the file runs (x86-64 only);
 *  - MAP_FIXED over a reserved range, MAP_FIXED_NOREPLACE on a used one,
 *    MAP_POPULATE;
 *  - the kernel's errors: unaligned offset, zero length, a write-only fd,
 *    a directory, neither MAP_SHARED nor MAP_PRIVATE.
 * MAP_SHARED differs on purpose (ENODEV forwarded): cases/51-mmap-shared.sh.
 *
 * usage: mmapfile DIR
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define SIZE 10000      /* 2 pages and a bit (4 KiB pages) */

static long ps;

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static int same_as_file(const unsigned char *m, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (m[i] != pattern(off + i))
			return 0;
	return 1;
}

static int all_zero(const unsigned char *m, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (m[i])
			return 0;
	return 1;
}

/* Touch *p in a child: the signal that ends it, or 0. */
static int touch_in_child(volatile unsigned char *p)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		/* the default action, whatever a preloaded runtime installed */
		signal(SIGBUS, SIG_DFL);
		(void)*p;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void show_map(const char *label, void *m)
{
	if (m == MAP_FAILED)
		show(label, -1);
	else
		show(label, 0);
}

int main(int argc, char **argv)
{
	unsigned char buf[SIZE], *m, *m2, *r;
	const char *f;
	int fd, wfd, dfd;

	if (argc != 2) {
		fprintf(stderr, "usage: mmapfile DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);
	ps = sysconf(_SC_PAGESIZE);
	f = a("mm.dat");
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pattern(i);
	wfd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	expect("write the file", wfd >= 0 && write(wfd, buf, SIZE) == SIZE);
	fd = open(f, O_RDONLY);
	show("open O_RDONLY", fd < 0 ? -1 : 0);

	/* read-only, whole file */
	m = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	show_map("mmap whole PROT_READ", m);
	if (m != MAP_FAILED) {
		expect("  bytes are the file's", same_as_file(m, 0, SIZE));
		expect("  tail of last page is zero",
		       all_zero(m + SIZE, (size_t)(3 * ps - SIZE)));
		expect("  msync MS_SYNC", msync(m, SIZE, MS_SYNC) == 0);
		expect("  munmap", munmap(m, SIZE) == 0);
	}

	/* at an offset */
	m = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE, fd, ps);
	show_map("mmap offset 1 page", m);
	if (m != MAP_FAILED) {
		expect("  bytes at the offset", same_as_file(m, (size_t)ps, (size_t)ps));
		munmap(m, (size_t)ps);
	}

	/* past EOF: 5 pages of a 3-page file */
	m = mmap(NULL, (size_t)(5 * ps), PROT_READ, MAP_PRIVATE, fd, 0);
	show_map("mmap 5 pages of 3", m);
	if (m != MAP_FAILED) {
		expect("  last file page: data then zeros",
		       same_as_file(m + 2 * ps, (size_t)(2 * ps), (size_t)(SIZE - 2 * ps)) &&
		       all_zero(m + SIZE, (size_t)(3 * ps - SIZE)));
		show("  touch page 3 (past EOF): signal", touch_in_child(m + 3 * ps));
		show("  touch page 2 (in file): signal", touch_in_child(m + 2 * ps));
		munmap(m, (size_t)(5 * ps));
	}
	m = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE, fd, 4 * ps);
	show_map("mmap offset past EOF", m);
	if (m != MAP_FAILED) {
		show("  touch it: signal", touch_in_child(m));
		munmap(m, (size_t)ps);
	}

	/* copy-on-write */
	m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show_map("mmap PROT_READ|PROT_WRITE", m);
	if (m != MAP_FAILED) {
		unsigned char c = 0;
		pid_t pid;
		int st;

		memset(m, 'X', 100);
		m2 = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
		expect("  a second mapping sees the file",
		       m2 != MAP_FAILED && same_as_file(m2, 0, SIZE));
		if (m2 != MAP_FAILED)
			munmap(m2, SIZE);
		expect("  the file is unchanged", pread(fd, &c, 1, 0) == 1 && c == pattern(0));
		pid = fork();
		if (pid == 0) {
			int ok = m[0] == 'X';

			m[1] = 'Y';
			_exit(ok ? 0 : 1);
		}
		expect("  a fork sees the copy", pid > 0 && waitpid(pid, &st, 0) == pid &&
		       WIFEXITED(st) && WEXITSTATUS(st) == 0);
		expect("  the child's write is its own", m[1] == 'X');
		expect("  MADV_DONTNEED gives the file back",
		       madvise(m, (size_t)ps, MADV_DONTNEED) == 0 && same_as_file(m, 0, 100));
		expect("  mprotect PROT_READ", mprotect(m, SIZE, PROT_READ) == 0);
		r = mremap(m, SIZE, (size_t)(4 * ps), MREMAP_MAYMOVE);
		expect("  mremap grows it", r != MAP_FAILED && same_as_file(r, 0, SIZE));
		if (r != MAP_FAILED)
			m = r;
		expect("  munmap", munmap(m, r != MAP_FAILED ? (size_t)(4 * ps) : SIZE) == 0);
	}

	/* MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE */
	r = mmap(NULL, (size_t)(4 * ps), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r != MAP_FAILED) {
		m = mmap(r + ps, (size_t)(2 * ps), PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, ps);
		expect("mmap MAP_FIXED at the address", m == r + ps);
		expect("  bytes at the offset", m == r + ps && same_as_file(m, (size_t)ps, SIZE - (size_t)ps));
		m2 = mmap(r, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
		show_map("mmap MAP_FIXED_NOREPLACE on a used range", m2);
		munmap(r, (size_t)(4 * ps));
	}
	m = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE | MAP_POPULATE | MAP_NORESERVE, fd, 0);
	expect("mmap MAP_POPULATE|MAP_NORESERVE", m != MAP_FAILED && same_as_file(m, 0, SIZE));
	if (m != MAP_FAILED)
		munmap(m, SIZE);

#if defined(__x86_64__)
	{
		/* mov eax, 42; ret */
		static const unsigned char code[] = { 0xb8, 0x2a, 0, 0, 0, 0xc3 };
		int cfd = open(a("code.bin"), O_RDWR | O_CREAT | O_TRUNC, 0755);

		expect("write code.bin", cfd >= 0 && write(cfd, code, sizeof(code)) == sizeof(code));
		m = mmap(NULL, sizeof(code), PROT_READ | PROT_EXEC, MAP_PRIVATE, cfd, 0);
		show_map("mmap PROT_EXEC", m);
		if (m != MAP_FAILED) {
			int (*fn)(void) = (int (*)(void))(uintptr_t)m;

			show("  the code returns", fn());
			munmap(m, sizeof(code));
		}
		close(cfd);
	}
#endif

	/* the kernel's errors */
	show_map("mmap unaligned offset", mmap(NULL, 10, PROT_READ, MAP_PRIVATE, fd, 1));
	show_map("mmap length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0));
	show_map("mmap no type", mmap(NULL, 10, PROT_READ, 0, fd, 0));
	show_map("mmap O_WRONLY fd", mmap(NULL, 10, PROT_READ, MAP_PRIVATE, wfd, 0));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	show_map("mmap a directory", mmap(NULL, 10, PROT_READ, MAP_PRIVATE, dfd, 0));
	close(dfd);
	close(wfd);
	close(fd);
	show_map("mmap a closed fd", mmap(NULL, 10, PROT_READ, MAP_PRIVATE, fd, 0));
	unlink(f);
	unlink(a("code.bin"));
	return bad;
}
