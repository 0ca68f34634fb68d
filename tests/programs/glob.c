/*
 * glob.c - glibc's glob on files in DIR: patterns in the last and in a
 * middle component, GLOB_MARK, GLOB_ONLYDIR, GLOB_BRACE, GLOB_NOCHECK,
 * GLOB_TILDE-free NOMATCH, GLOB_APPEND, GLOB_PERIOD, a dangling symlink,
 * and the same relative to DIR as the cwd.  glibc opens the directories
 * itself, inside libc.
 *
 * usage: glob DIR
 */
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

static void touch(const char *name)
{
	int fd = open(a(name), O_WRONLY | O_CREAT, 0644);

	if (fd < 0 || close(fd) < 0)
		bad = 1;
}

/* glob's results are sorted (no GLOB_NOSORT): printed as they come. */
static void try(const char *label, const char *pattern, int flags, glob_t *g, int keep)
{
	size_t n = strlen(dir);
	int rc = glob(pattern, flags, NULL, g);

	printf("== %s: %s\n", label,
	       rc == 0 ? "ok" : rc == GLOB_NOMATCH ? "GLOB_NOMATCH" :
	       rc == GLOB_ABORTED ? "GLOB_ABORTED" : "other");
	if (rc == 0 || (flags & GLOB_NOCHECK))
		for (size_t i = 0; i < g->gl_pathc; i++) {
			const char *p = g->gl_pathv[i];

			if (n && strncmp(p, dir, n) == 0)
				printf("  DIR%s\n", p + n);
			else
				printf("  %s\n", p);
		}
	if (!keep)
		globfree(g);
}

int main(int argc, char **argv)
{
	char pat[4200];
	glob_t g;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: glob /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (mkdir(a("g"), 0755) < 0 || mkdir(a("g/sub"), 0755) < 0 ||
	    mkdir(a("g/sub2"), 0755) < 0 || mkdir(a("g/.hid"), 0755) < 0) {
		perror("glob: mkdir");
		return 1;
	}
	touch("g/a1.txt");
	touch("g/a2.txt");
	touch("g/b.c");
	touch("g/.dot.txt");
	touch("g/sub/c.txt");
	touch("g/sub2/d.txt");
	touch("g/sub2/e.c");
	if (symlink("nothere.txt", a("g/z-dangling.txt")) < 0)
		bad = 1;

	snprintf(pat, sizeof(pat), "%s/g/*.txt", dir);
	try("*.txt", pat, 0, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/*/*.txt", dir);
	try("*/*.txt", pat, 0, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/*", dir);
	try("* GLOB_MARK", pat, GLOB_MARK, &g, 0);
	try("* GLOB_ONLYDIR", pat, GLOB_ONLYDIR, &g, 0);
	try("* GLOB_PERIOD", pat, GLOB_PERIOD, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/{a1,b}.*", dir);
	try("{a1,b}.* GLOB_BRACE", pat, GLOB_BRACE, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/sub?/[de].*", dir);
	try("sub?/[de].*", pat, 0, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/*.none", dir);
	try("*.none", pat, 0, &g, 0);
	try("*.none GLOB_NOCHECK", pat, GLOB_NOCHECK, &g, 0);
	snprintf(pat, sizeof(pat), "%s/missing/*", dir);
	try("missing/* GLOB_ERR", pat, GLOB_ERR, &g, 0);
	snprintf(pat, sizeof(pat), "%s/g/*.c", dir);
	try("*.c", pat, 0, &g, 1);
	snprintf(pat, sizeof(pat), "%s/g/sub2/*.c", dir);
	try("+ sub2/*.c GLOB_APPEND", pat, GLOB_APPEND, &g, 0);

	show("chdir DIR", chdir(dir));
	dir[0] = 0;
	try("g/*/* (relative)", "g/*/*", 0, &g, 0);
	try("g/a?.txt (relative)", "g/a?.txt", 0, &g, 1);
	expect("two a?.txt", g.gl_pathc == 2);
	globfree(&g);
	return bad;
}
