/*
 * bench_uaccess.c - what a fault-safe read of the program's memory costs
 * (libvirtuos/interpose/uaccess.c), against a plain copy ("native": what
 * the library did before, crashing on a bad pointer) and against the other
 * way to do it, process_vm_readv() on our own pid (one system call per
 * copy, no signal handler).
 *
 *   RESULT uaccess_path32_fixup   ns  strcpy  vos_strncpy_from_user   (a 32-byte path)
 *   RESULT uaccess_path32_pvr     ns  strcpy  process_vm_readv (PATH_MAX-bounded, to the page end)
 *   RESULT uaccess_4k_fixup       ns  memcpy  vos_copy_from_user      (4 KiB)
 *   RESULT uaccess_4k_pvr         ns  memcpy  process_vm_readv        (4 KiB)
 *   RESULT uaccess_probe_4k       ns  -       vos_user_probe of a 4 KiB read buffer (before a read)
 *   RESULT uaccess_null           ns  -       vos_strncpy_from_user(NULL)
 *   RESULT uaccess_fault          ns  -       vos_copy_from_user of an unmapped page (SIGSEGV + fixup)
 *
 * usage: bench_uaccess [--reps N] [--iters N]
 *
 * uaccess.c is compiled in directly (it is internal to libvirtuos.so).
 */
#include <sys/mman.h>
#include <sys/uio.h>
#include "../../libvirtuos/interpose/uaccess.c"
#include "bench_util.h"

/* What uaccess.c takes from the rest of the library. */
int (*real_sigaction)(int, const struct sigaction *, struct sigaction *) = sigaction;
#include "../../tests/unit/uaccess_stubs.h"

static const char *volatile path = "/storage/some/dir/file-name.txt";   /* 31 + NUL */
static char src4k[4096], dst[4096];
static volatile long sink;

static long copy_strcpy(void)
{
	size_t n = strlen(path);

	memcpy(dst, path, n + 1);
	return (long)n;
}

static long copy_fixup(void)
{
	return vos_strncpy_from_user(dst, path, PATH_MAX);
}

/* A path by process_vm_readv: the kernel cannot stop at the NUL, so read up
 * to the end of the page (a string may end right before an unmapped one),
 * then the next page if no NUL was found. */
static long copy_pvr(void)
{
	uintptr_t a = (uintptr_t)path;
	size_t got = 0;

	while (got < PATH_MAX) {
		size_t chunk = 4096 - ((a + got) & 4095);
		struct iovec l, r;

		if (chunk > PATH_MAX - got)
			chunk = PATH_MAX - got;
		l.iov_base = dst + got;
		l.iov_len = chunk;
		r.iov_base = (void *)(a + got);
		r.iov_len = chunk;
		if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != (ssize_t)chunk)
			return -EFAULT;
		char *nul = memchr(dst + got, 0, chunk);
		if (nul)
			return nul - dst;
		got += chunk;
	}
	return -ENAMETOOLONG;
}

static long copy4k_memcpy(void)
{
	memcpy(dst, src4k, sizeof(src4k));
	return 0;
}

static long copy4k_fixup(void)
{
	return vos_copy_from_user(dst, src4k, sizeof(src4k));
}

static long copy4k_pvr(void)
{
	struct iovec l = { dst, sizeof(dst) }, r = { src4k, sizeof(src4k) };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == sizeof(dst) ? 0 : -EFAULT;
}

static long probe4k(void)
{
	return vos_user_probe(dst, sizeof(dst));
}

static long null_path(void)
{
	return vos_strncpy_from_user(dst, NULL, PATH_MAX);
}

static void *unmapped;

static long fault_copy(void)
{
	return vos_copy_from_user(dst, unmapped, 16);
}

/* ns per call of fn over iters calls. */
static double time_ns(long (*fn)(void), long iters)
{
	uint64_t t0 = bench_now_ns();

	for (long i = 0; i < iters; i++)
		sink = fn();
	return (double)(bench_now_ns() - t0) / (double)iters;
}

static void pair(const char *name, long (*native)(void), long (*ours)(void), int reps, long iters)
{
	double n[BENCH_MAX_REPS], o[BENCH_MAX_REPS];

	for (int r = 0; r < reps; r++) {
		if (native)
			n[r] = time_ns(native, iters);
		o[r] = time_ns(ours, iters);
	}
	bench_result(name, "ns", native ? n : NULL, o, reps);
}

int main(int argc, char **argv)
{
	int reps = 7;
	long iters = 200000;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = (int)bench_parse_count("--reps", argv[++i], 1, BENCH_MAX_REPS);
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = bench_parse_count("--iters", argv[++i], 1, 100000000);
		else
			bench_die("usage: bench_uaccess [--reps N] [--iters N]");
	}
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unmapped == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	memset(src4k, 'x', sizeof(src4k));
	if (copy_fixup() != 31 || copy_pvr() != 31 || fault_copy() != -EFAULT ||
	    null_path() != -EFAULT || copy4k_fixup() != 0 || copy4k_pvr() != 0)
		bench_die("bench_uaccess: a copy gave a wrong result");
	pair("uaccess_path32_fixup", copy_strcpy, copy_fixup, reps, iters);
	pair("uaccess_path32_pvr", copy_strcpy, copy_pvr, reps, iters);
	pair("uaccess_4k_fixup", copy4k_memcpy, copy4k_fixup, reps, iters);
	pair("uaccess_4k_pvr", copy4k_memcpy, copy4k_pvr, reps, iters);
	pair("uaccess_probe_4k", NULL, probe4k, reps, iters);
	pair("uaccess_null", NULL, null_path, reps, iters);
	pair("uaccess_fault", NULL, fault_copy, reps, iters / 20 + 1);
	return 0;
}
