/*
 * mmap.c - mmap of a routed file (3 pages and a half, a known pattern):
 * MAP_PRIVATE read-only sees the contents; MAP_PRIVATE read-write is
 * copy-on-write (the program sees its writes, the file does not); a
 * mapping at an offset; PROT_WRITE with MAP_SHARED on an O_RDONLY fd fails
 * with EACCES.  MAP_SHARED read-write must either work (writes reach the
 * file by msync and by munmap at the latest, and a write(2) is seen
 * through the mapping) or fail with a clean errno (ENODEV, EACCES,
 * EOPNOTSUPP): both print the same line, "works or a clean errno: yes"; a
 * mapping that works but loses writes prints NO.  Faults run in a child.
 *
 * usage: mmap DIR
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

#define PAGE 4096
#define SIZE (3 * PAGE + PAGE / 2)

static unsigned char pat(size_t i)
{
	return (unsigned char)((i * 7 + (i >> 12)) & 0xff);
}

static int matches(const unsigned char *p, size_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(from + i))
			return 0;
	return 1;
}

static int file_byte(size_t off)
{
	unsigned char c;
	int fd = open(a("m"), O_RDONLY);
	int r = fd >= 0 && pread(fd, &c, 1, (off_t)off) == 1 ? c : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

static int clean(int e)
{
	return e == ENODEV || e == EACCES || e == EOPNOTSUPP;
}

static void private_maps(void *arg)
{
	int fd = open(a("m"), O_RDONLY);
	unsigned char *p;

	(void)arg;
	p = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	show("MAP_PRIVATE PROT_READ", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		expect("  contents", matches(p, 0, SIZE));
		expect("  zero past EOF in the last page", p[SIZE] == 0 && p[4 * PAGE - 1] == 0);
		show("  munmap", munmap(p, SIZE));
	}
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
	show("MAP_PRIVATE at offset 2 pages", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		expect("  contents", matches(p, 2 * PAGE, PAGE));
		munmap(p, PAGE);
	}
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show("MAP_PRIVATE PROT_READ|PROT_WRITE", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		memset(p + 100, 0xee, 50);
		expect("  the program sees its write", p[120] == 0xee);
		expect("  the file does not", file_byte(120) == pat(120));
		show("  msync", msync(p, SIZE, MS_SYNC));
		munmap(p, SIZE);
		expect("  nor after msync and munmap", file_byte(120) == pat(120));
	}
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	show("MAP_SHARED PROT_WRITE on O_RDONLY", p == MAP_FAILED ? -1 : 0);
	close(fd);
}

static void shared_map(void *arg)
{
	int fd = open(a("m"), O_RDWR);
	unsigned char *p;
	int e, ok = 1;

	(void)arg;
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	if (p != MAP_FAILED) {
		ok &= matches(p, 0, SIZE);
		p[10] = 0xaa;
		ok &= msync(p, PAGE, MS_SYNC) == 0;
		ok &= file_byte(10) == 0xaa;             /* by msync */
		p[PAGE + 10] = 0xbb;
		ok &= pwrite(fd, "\xcc", 1, 2 * PAGE) == 1;
		ok &= p[2 * PAGE] == 0xcc;               /* a write(2) is seen */
		ok &= munmap(p, SIZE) == 0;
		ok &= file_byte(PAGE + 10) == 0xbb;      /* by munmap */
	}
	if (p == MAP_FAILED && !clean(e))
		printf("  MAP_SHARED failed with %s\n", strerrorname_np(e));
	expect("MAP_SHARED works or a clean errno", p == MAP_FAILED ? clean(e) : ok);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	e = errno;
	expect("MAP_SHARED PROT_READ works or a clean errno",
	       p == MAP_FAILED ? clean(e) : p[10] == 0xaa);
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned char buf[SIZE];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: mmap /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pat(i);
	fd = open(a("m"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, SIZE) != SIZE || close(fd) < 0) {
		perror("mmap: setup");
		return 1;
	}
	in_child("private mappings", private_maps, NULL, 20);
	in_child("shared mapping", shared_map, NULL, 20);
	return bad;
}
