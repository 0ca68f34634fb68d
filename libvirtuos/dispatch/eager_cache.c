/*
 * eager_cache.c - eager mode's classification of an object's executable
 * segment, kept between processes (most execs map the same libc and ld.so,
 * and decoding is most of the scan's time).  Contract in eager.h.
 *
 * Key: the object's GNU build-id (it names the exact build), the segment's
 * virtual address and size.  Value: every candidate of the segment in
 * order, as VOS_EAGER_REC (eager.h: offset, is_site, and the number a
 * site provably always runs).  A cached value is used only if the
 * candidates found in memory now are exactly the cached ones, so a value
 * can at most call a real 0f 05 pair a site or not, or name the number a
 * site runs (the module then leaves it native only if that number is
 * pass-through in this process and none it must see); the files live in a
 * directory of the user's own (/dev/shm/vos-eager-UID, mode 0700, checked
 * to be ours), as trusted as the user's other files.  Written to a
 * temporary name and renamed: readers see a whole file or none.
 * VOS_DISPATCH_CACHE=off turns it off (measurements).
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "dispatch/dispatch.h"
#include "dispatch/eager.h"

/* The format (VOS_EAGER_REC), in the magic and in the file names: builds
 * with another format keep files of their own instead of replacing ours. */
static const char magic[8] = "VOSEGR2\n";
#define FORMAT "v2-"

static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	return vos_dispatch_raw(nr, a);
}

/* The cache directory's path, checked once per process image (NULL: no
 * cache).  No descriptor is kept open: the program's fd count must not
 * change (EMFILE at the native count). */
static const char *cache_dir(void)
{
	static char path[48];
	static int state;       /* 0 unknown, 1 usable, -1 not */
	struct stat st;
	struct { unsigned long cur, max; } fsize;      /* the kernel's rlimit64 */
	if (state)
		return state > 0 ? path : NULL;
	state = -1;
	const char *want = getenv("VOS_DISPATCH_CACHE");
	if (want && strcmp(want, "off") == 0)
		return NULL;
	/* A limited RLIMIT_FSIZE (ulimit -f) would make writing one SIGXFSZ. */
	if (raw(SYS_prlimit64, 0, RLIMIT_FSIZE, 0, (long)&fsize, 0, 0) != 0 || fsize.cur != ~0ul)
		return NULL;
	long uid = raw(SYS_geteuid, 0, 0, 0, 0, 0, 0);
	snprintf(path, sizeof(path), "/dev/shm/vos-eager-%ld", uid);
	raw(SYS_mkdir, (long)path, 0700, 0, 0, 0, 0);
	int d = (int)raw(SYS_openat, AT_FDCWD, (long)path,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
	if (d < 0)
		return NULL;
	if (raw(SYS_fstat, d, (long)&st, 0, 0, 0, 0) == 0 && st.st_uid == (uid_t)uid &&
	    !(st.st_mode & 077))
		state = 1;
	raw(SYS_close, d, 0, 0, 0, 0, 0);
	return state > 0 ? path : NULL;
}

int vos_eager_cache_key(const struct dl_phdr_info *info, uintptr_t vaddr, uintptr_t len,
			char *key, size_t keylen)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		size_t off = 0;
		while (off + 12 <= ph->p_memsz) {
			uint32_t namesz, descsz, type;
			memcpy(&namesz, p + off, 4);
			memcpy(&descsz, p + off + 4, 4);
			memcpy(&type, p + off + 8, 4);
			size_t name_at = off + 12, desc_at = name_at + ((namesz + 3) & ~3u);
			size_t next = desc_at + ((descsz + 3) & ~3u);
			if (next > ph->p_memsz || next <= off)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + name_at, "GNU", 4) == 0 &&
			    descsz >= 8 && descsz <= 64 && keylen > 2 * descsz + 40) {
				size_t k = 0;
				for (uint32_t j = 0; j < descsz; j++)
					k += (size_t)snprintf(key + k, keylen - k, "%02x", p[desc_at + j]);
				snprintf(key + k, keylen - k, "-%lx-%lx", (unsigned long)vaddr,
					 (unsigned long)len);
				return 0;
			}
			off = next;
		}
	}
	return -1;
}

long vos_eager_cache_load(const char *key, uint64_t *v, size_t max)
{
	const char *dir = cache_dir();
	char path[200];
	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/" FORMAT "%s", dir, key);
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	char head[12];
	uint32_t n = 0;
	long r = -1;
	if (raw(SYS_read, fd, (long)head, sizeof(head), 0, 0, 0) == (long)sizeof(head) &&
	    memcmp(head, magic, sizeof(magic)) == 0) {
		memcpy(&n, head + 8, 4);
		if (n <= max && raw(SYS_read, fd, (long)v, (long)n * 8, 0, 0, 0) == (long)n * 8)
			r = n;
	}
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	return r;
}

void vos_eager_cache_store(const char *key, const uint64_t *v, size_t n)
{
	const char *dir = cache_dir();
	char tmp[200], path[200];
	if (!dir || n > UINT32_MAX)
		return;
	snprintf(path, sizeof(path), "%s/" FORMAT "%s", dir, key);
	snprintf(tmp, sizeof(tmp), "%s/." FORMAT "%s.%ld", dir, key, raw(SYS_getpid, 0, 0, 0, 0, 0, 0));
	int fd = (int)raw(SYS_openat, AT_FDCWD, (long)tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600, 0, 0);
	if (fd < 0)
		return;
	char head[12];
	uint32_t n32 = (uint32_t)n;
	memcpy(head, magic, sizeof(magic));
	memcpy(head + 8, &n32, 4);
	int ok = raw(SYS_write, fd, (long)head, sizeof(head), 0, 0, 0) == (long)sizeof(head) &&
		 raw(SYS_write, fd, (long)v, (long)n * 8, 0, 0, 0) == (long)n * 8;
	raw(SYS_close, fd, 0, 0, 0, 0, 0);
	if (!ok || raw(SYS_rename, (long)tmp, (long)path, 0, 0, 0, 0) != 0)
		raw(SYS_unlink, (long)tmp, 0, 0, 0, 0, 0);
}
