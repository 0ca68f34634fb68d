/*
 * fts.c - glibc's fts (not gnulib's, which coreutils carries) walking a
 * tree in DIR (walk.h): FTS_PHYSICAL, FTS_LOGICAL, FTS_NOCHDIR,
 * fts_children, fts_set(FTS_SKIP) and a sorted compar.  glibc opens the
 * directories and changes the cwd itself, inside libc.
 *
 * usage: fts DIR
 */
#include <fts.h>
#include "report.h"
#include "walk.h"

static const char *info(int i)
{
	switch (i) {
	case FTS_D: return "D";
	case FTS_DP: return "DP";
	case FTS_F: return "F";
	case FTS_SL: return "SL";
	case FTS_SLNONE: return "SLNONE";
	case FTS_DNR: return "DNR";
	case FTS_NS: return "NS";
	case FTS_ERR: return "ERR";
	case FTS_DC: return "DC";
	case FTS_DOT: return "DOT";
	case FTS_NSOK: return "NSOK";
	default: return "?";
	}
}

static void walk(const char *label, int options, int skip_a)
{
	char *roots[] = { dir[0] ? (char *)a("t") : (char *)"t", NULL };
	char line[4200];
	FTSENT *e;
	FTS *fts = fts_open(roots, options, NULL);

	if (!fts) {
		printf("== %s: fts_open %s\n", label, strerrorname_np(errno));
		bad = 1;
		return;
	}
	errno = 0;
	while ((e = fts_read(fts)) != NULL) {
		snprintf(line, sizeof(line), "%-16s %-6s level %d size %lld err %s", rel(e->fts_path),
			 info(e->fts_info), (int)e->fts_level,
			 e->fts_info == FTS_F || e->fts_info == FTS_SL ?
				(long long)e->fts_statp->st_size : 0LL,
			 e->fts_errno ? strerrorname_np(e->fts_errno) : "0");
		collect(line);
		if (skip_a && e->fts_info == FTS_D && strcmp(e->fts_name, "a") == 0)
			fts_set(fts, e, FTS_SKIP);
		errno = 0;
	}
	snprintf(line, sizeof(line), "(end errno %s)", errno ? strerrorname_np(errno) : "0");
	collect(line);
	flush_lines(label, fts_close(fts));
}

static int by_name(const FTSENT **x, const FTSENT **y)
{
	return strcmp((*x)->fts_name, (*y)->fts_name);
}

int main(int argc, char **argv)
{
	char cwd[4096], now[4096];

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: fts /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (!make_tree() || !getcwd(cwd, sizeof(cwd))) {
		perror("fts: make_tree");
		return 1;
	}
	walk("FTS_PHYSICAL", FTS_PHYSICAL, 0);
	walk("FTS_LOGICAL", FTS_LOGICAL, 0);
	walk("FTS_PHYSICAL|FTS_NOCHDIR", FTS_PHYSICAL | FTS_NOCHDIR, 0);
	walk("FTS_PHYSICAL, skip a", FTS_PHYSICAL, 1);
	expect("cwd restored", getcwd(now, sizeof(now)) && strcmp(now, cwd) == 0);

	/* fts_children of the root, in compar order: printed as they come. */
	{
		char *roots[] = { (char *)a("t/a"), NULL };
		FTS *fts = fts_open(roots, FTS_PHYSICAL, by_name);
		FTSENT *e = fts ? fts_read(fts) : NULL;

		printf("== fts_children of t/a:\n");
		for (e = e ? fts_children(fts, 0) : NULL; e; e = e->fts_link)
			printf("  %s %s\n", e->fts_name, info(e->fts_info));
		if (fts)
			fts_close(fts);
	}

	show("chdir DIR", chdir(dir));
	dir[0] = 0;
	walk("t (relative)", FTS_PHYSICAL, 0);
	return bad;
}
