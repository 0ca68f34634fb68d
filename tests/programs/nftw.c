/*
 * nftw.c - glibc's nftw and ftw walking a tree in DIR (walk.h): physical
 * and logical walks, FTW_DEPTH, FTW_CHDIR (the callback then stats the
 * entry by its base name, relative to the directory nftw moved into) and
 * FTW_SKIP_SUBTREE from FTW_ACTIONRETVAL.  glibc opens the directories
 * itself, inside libc.
 *
 * usage: nftw DIR
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include "report.h"
#include "walk.h"

static const char *flag(int f)
{
	switch (f) {
	case FTW_F: return "F";
	case FTW_D: return "D";
	case FTW_DNR: return "DNR";
	case FTW_DP: return "DP";
	case FTW_NS: return "NS";
	case FTW_SL: return "SL";
	case FTW_SLN: return "SLN";
	default: return "?";
	}
}

static int chdir_mode;

static int visit(const char *path, const struct stat *st, int f, struct FTW *ftw)
{
	char line[4200], extra[64] = "";

	if (chdir_mode) {
		/* FTW_CHDIR: the cwd is the entry's directory. */
		struct stat here;

		snprintf(extra, sizeof(extra), " by-base %s",
			 lstat(path + ftw->base, &here) == 0 &&
			 here.st_ino == st->st_ino ? "same" : strerrorname_np(errno));
	}
	snprintf(line, sizeof(line), "%-16s %-3s level %d size %lld%s", rel(path), flag(f),
		 ftw->level, f == FTW_D || f == FTW_DP ? 0LL : (long long)st->st_size, extra);
	collect(line);
	return 0;
}

static int skip_a(const char *path, const struct stat *st, int f, struct FTW *ftw)
{
	visit(path, st, f, ftw);
	if (f == FTW_D && strcmp(path + ftw->base, "a") == 0)
		return FTW_SKIP_SUBTREE;
	return FTW_CONTINUE;
}

static int plain_ftw(const char *path, const struct stat *st, int f)
{
	char line[4200];

	snprintf(line, sizeof(line), "%-16s %s", rel(path), flag(f));
	(void)st;
	collect(line);
	return 0;
}

int main(int argc, char **argv)
{
	char cwd[4096];

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: nftw /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (!make_tree()) {
		perror("nftw: make_tree");
		return 1;
	}
	flush_lines("nftw FTW_PHYS", nftw(a("t"), visit, 8, FTW_PHYS));
	flush_lines("nftw logical", nftw(a("t"), visit, 8, 0));
	flush_lines("nftw FTW_PHYS|FTW_DEPTH", nftw(a("t"), visit, 8, FTW_PHYS | FTW_DEPTH));
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	chdir_mode = 1;
	flush_lines("nftw FTW_PHYS|FTW_CHDIR", nftw(a("t"), visit, 2, FTW_PHYS | FTW_CHDIR));
	chdir_mode = 0;
	{
		char now[4096];

		expect("cwd restored after FTW_CHDIR",
		       getcwd(now, sizeof(now)) && strcmp(now, cwd) == 0);
	}
	flush_lines("nftw FTW_ACTIONRETVAL skip a",
		    nftw(a("t"), skip_a, 8, FTW_PHYS | FTW_ACTIONRETVAL));
	flush_lines("ftw", ftw(a("t"), plain_ftw, 8));
	flush_lines("nftw missing", nftw(a("missing"), visit, 8, FTW_PHYS));
	show("  errno", -1);
	/* relative to DIR as the cwd */
	show("chdir DIR", chdir(dir));
	dir[0] = 0;
	flush_lines("nftw t (relative)", nftw("t", visit, 8, FTW_PHYS));
	return bad;
}
