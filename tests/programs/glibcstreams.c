/*
 * glibcstreams.c - glibc's own FILE and DIR on files in DIR, including what
 * glibc does with internal system calls: wide-character streams, a copy of
 * the stdout pointer taken before fd 1 is moved onto a file, freopen(NULL,
 * ...) (glibc reopens "/proc/self/fd/N"), fdopen/fileno, readdir, nftw and
 * glob.  Under libvirtuos DIR is /storage/work: these work only if the
 * system calls glibc makes inside these functions are caught (there are no
 * function-level stream wrappers); natively they work on a temporary
 * directory.
 *
 * usage: glibcstreams DIR
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>
#include "report.h"

static int nftw_files, nftw_dirs;

static int count(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		nftw_files++;
	else if (type == FTW_D || type == FTW_DP)
		nftw_dirs++;
	return 0;
}

static int cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(int argc, char **argv)
{
	char line[256];
	FILE *f, *copy;
	int fd, saved;

	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setlocale(LC_ALL, "C.UTF-8");

	/* wide characters */
	f = fopen(a("wide"), "w");
	expect("fopen w", f != NULL);
	expect("fwprintf", fwprintf(f, L"caf\u00e9 %d\n", 42) > 0);
	expect("fputws", fputws(L"\u00fcber\n", f) >= 0);
	expect("fclose", fclose(f) == 0);
	f = fopen(a("wide"), "r");
	{
		wchar_t w[64];

		expect("fgetws 1", fgetws(w, 64, f) && wcscmp(w, L"caf\u00e9 42\n") == 0);
		expect("fgetws 2", fgetws(w, 64, f) && wcscmp(w, L"\u00fcber\n") == 0);
		expect("fgetws at end", fgetws(w, 64, f) == NULL && feof(f));
	}
	fclose(f);
	{
		struct stat st;

		show("wide file bytes", stat(a("wide"), &st) == 0 ? (long)st.st_size : -1);
	}

	/* freopen(NULL, mode, f): a new open of the same file */
	f = fopen(a("re"), "w+");
	fputs("first\n", f);
	fflush(f);
	f = freopen(NULL, "r", f);
	expect("freopen(NULL, r)", f != NULL);
	expect("reads from the start", f && fgets(line, sizeof(line), f) &&
	       strcmp(line, "first\n") == 0);
	if (f)
		fclose(f);

	/* a copy of stdout taken before fd 1 moves onto a file */
	fflush(stdout);
	copy = stdout;
	saved = dup(1);
	fd = open(a("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	fprintf(copy, "through the copy\n");
	printf("through stdout\n");
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(a("out"), "r");
	expect("out line 1", fgets(line, sizeof(line), f) && strcmp(line, "through the copy\n") == 0);
	expect("out line 2", fgets(line, sizeof(line), f) && strcmp(line, "through stdout\n") == 0);
	fclose(f);

	/* fdopen, fileno, ftell/fseek */
	fd = open(a("re"), O_RDWR);
	f = fdopen(fd, "r+");
	expect("fdopen", f != NULL && fileno(f) == fd);
	expect("fseek end", fseek(f, 0, SEEK_END) == 0);
	show("ftell at end", ftell(f));
	fclose(f);

	/* a tree: readdir, nftw, glob */
	mkdir(a("t"), 0755);
	mkdir(a("t/sub"), 0755);
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "t/f%d.txt", i);
		close(open(a(name), O_CREAT | O_WRONLY, 0644));
	}
	close(open(a("t/sub/g.txt"), O_CREAT | O_WRONLY, 0644));
	{
		DIR *d = opendir(a("t"));
		struct dirent *de;
		char *names[16];
		int n = 0;

		expect("opendir", d != NULL);
		while (d && (de = readdir(d)) && n < 16)
			names[n++] = strdup(de->d_name);
		qsort(names, (size_t)n, sizeof(names[0]), cmp);
		for (int i = 0; i < n; i++) {
			printf("readdir %s\n", names[i]);
			free(names[i]);
		}
		if (d) {
			rewinddir(d);
			n = 0;
			while (readdir(d))
				n++;
			show("entries after rewinddir", n);
			expect("dirfd is an fd", dirfd(d) >= 0);
			closedir(d);
		}
	}
	expect("nftw", nftw(a("t"), count, 8, FTW_PHYS) == 0);
	show("nftw files", nftw_files);
	show("nftw dirs", nftw_dirs);
	{
		glob_t g;

		expect("glob", glob(a("t/*.txt"), 0, NULL, &g) == 0);
		show("glob matches", (long)g.gl_pathc);
		for (size_t i = 0; i < g.gl_pathc; i++)
			printf("glob %s\n", strrchr(g.gl_pathv[i], '/') + 1);
		globfree(&g);
	}
	/* remove() of a file and of a directory */
	expect("remove file", remove(a("t/sub/g.txt")) == 0);
	expect("remove dir", remove(a("t/sub")) == 0);
	expect("gone", access(a("t/sub"), F_OK) != 0 && errno == ENOENT);
	return bad;
}
