/*
 * walk.h - the small tree that nftw.c and fts.c walk, made under DIR/t:
 *   t/a/x (3 bytes)  t/a/y (0)  t/a/deep/z (5)  t/b/  t/l -> ../o  t/dangling -> nothere
 *   o/w (2 bytes)
 * (t/l leads out of t, so a logical walk meets no directory twice and its
 * output does not depend on the order of the entries)
 * and a sorted collector for the entries a walk reports (the order of a
 * directory's entries is the file system's: only the sorted list is
 * compared).  Use with report.h (included first).
 */
#ifndef VOS_TEST_WALK_H
#define VOS_TEST_WALK_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_tree(void)
{
	int fd, ok = 1;

	ok &= mkdir(a("t"), 0755) == 0;
	ok &= mkdir(a("t/a"), 0755) == 0;
	ok &= mkdir(a("t/a/deep"), 0700) == 0;
	ok &= mkdir(a("t/b"), 0755) == 0;
	fd = open(a("t/a/x"), O_WRONLY | O_CREAT, 0644);
	ok &= fd >= 0 && write(fd, "abc", 3) == 3 && close(fd) == 0;
	fd = open(a("t/a/y"), O_WRONLY | O_CREAT, 0600);
	ok &= fd >= 0 && close(fd) == 0;
	fd = open(a("t/a/deep/z"), O_WRONLY | O_CREAT, 0644);
	ok &= fd >= 0 && write(fd, "hello", 5) == 5 && close(fd) == 0;
	ok &= mkdir(a("o"), 0755) == 0;
	fd = open(a("o/w"), O_WRONLY | O_CREAT, 0644);
	ok &= fd >= 0 && write(fd, "ww", 2) == 2 && close(fd) == 0;
	ok &= symlink("../o", a("t/l")) == 0;
	ok &= symlink("nothere", a("t/dangling")) == 0;
	return ok;
}

static char *lines[256];
static int nlines;

/* Keep one line (at most 256). */
static void collect(const char *fmt_line)
{
	if (nlines < 256)
		lines[nlines++] = strdup(fmt_line);
}

static int by_text(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Print the collected lines, sorted, under a heading, and forget them. */
static void flush_lines(const char *heading, int rc)
{
	printf("== %s: %d entries, returned %d\n", heading, nlines, rc);
	qsort(lines, (size_t)nlines, sizeof(lines[0]), by_text);
	for (int i = 0; i < nlines; i++) {
		printf("  %s\n", lines[i]);
		free(lines[i]);
	}
	nlines = 0;
}

/* The path below DIR ("t/a/x"), or the path itself if it is not under it. */
static const char *rel(const char *path)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

#endif
