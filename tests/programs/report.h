/*
 * report.h - what the newer test programs print, shared: one line per
 * observation ("label  result" or "label  -1 ERRNO"), a yes/NO check that
 * also marks the run failed, and names under the program's directory.  The
 * output is deterministic, so the native and the forwarded run can be
 * diffed.  Header only: each test program is built alone.
 */
#ifndef VOS_TEST_REPORT_H
#define VOS_TEST_REPORT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char dir[4096];  /* argv[1]: the directory the program works in */
static int bad;         /* an expect() failed: exit non-zero */

/* "DIR/name" (four rotating buffers: a call may take two or three). */
static const char *a(const char *name)
{
	static char buf[4][8192];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void show(const char *label, long v)
{
	if (v < 0)
		printf("%-36s -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%-36s %ld\n", label, v);
}

static void expect(const char *what, int ok)
{
	printf("%-36s %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		bad = 1;
}

#endif
