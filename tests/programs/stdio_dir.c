/*
 * stdio_dir - stdio streams and directory streams on one directory.
 *
 *   stdio_dir DIR
 *
 * Works in DIR/stdio_dir.work (created, removed at the end).  Prints what it
 * observes, deterministically (no inode numbers, times or telldir cookies),
 * so the output on a native directory and on a routed one (/storage/...)
 * can be diffed.  Also checks the values it knows; exit 1 if any is wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
static char base[1024];

#define CHECK(cond, ...) do {                                              \
	if (!(cond)) {                                                     \
		failures++;                                                \
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
	}                                                                  \
} while (0)

static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static const char *path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	if (snprintf(p, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
		p[0] = '\0';   /* too long: fails loudly later */
	return p;
}

/* Whole file as a string (up to cap bytes), read with plain read(). */
static char *slurp(const char *rel, size_t *len)
{
	static char buf[1 << 20];
	int fd = open(path(rel), O_RDONLY);
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		*len = 0;
		buf[0] = '\0';
		return buf;
	}
	while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void show_file(const char *rel)
{
	size_t len;
	char *s = slurp(rel, &len);

	printf("  %s (%zu bytes): \"", rel, len);
	for (size_t i = 0; i < len && i < 200; i++)
		putchar(s[i] == '\n' ? '|' : s[i]);
	printf("\"\n");
}

/* ------------------------------------------------------------------------ */

static void test_write_read(void)
{
	FILE *f;
	char line[64], buf[64], *lp = NULL;
	size_t cap = 0;
	ssize_t n;
	struct stat st;
	fpos_t pos;

	printf("== write/read\n");
	f = fopen(path("a.txt"), "w");
	CHECK(f, "fopen w: %s", err_name(errno));
	if (!f)
		return;
	fprintf(f, "line %d: %s\n", 1, "hello");
	fputs("second line\n", f);
	fwrite("third\nfourth", 1, 12, f);
	fputc('\n', f);
	printf("ftell after writes: %ld\n", ftell(f));
	CHECK(fileno(f) >= 0, "fileno %d", fileno(f));
	fflush(f);
	CHECK(fstat(fileno(f), &st) == 0, "fstat: %s", err_name(errno));
	printf("fstat size: %lld\n", (long long)st.st_size);
	CHECK(st.st_size == 39, "size %lld", (long long)st.st_size);
	CHECK(fclose(f) == 0, "fclose: %s", err_name(errno));
	show_file("a.txt");

	f = fopen(path("a.txt"), "r");
	CHECK(f, "fopen r: %s", err_name(errno));
	if (!f)
		return;
	CHECK(fgets(line, sizeof line, f), "fgets");
	printf("fgets: %s", line);
	n = getline(&lp, &cap, f);
	printf("getline: %zd %s", n, lp);
	printf("ftell: %ld\n", ftell(f));
	n = (ssize_t)fread(buf, 1, 5, f);
	buf[n] = '\0';
	printf("fread 5: %zd \"%s\"\n", n, buf);
	CHECK(fseek(f, 5, SEEK_SET) == 0, "fseek");
	{
		long t = ftell(f);
		int c = fgetc(f);

		printf("after fseek 5: ftell %ld, fgetc '%c'\n", t, c);
		CHECK(ungetc('Z', f) == 'Z', "ungetc");
		t = ftell(f);
		c = fgetc(f);
		printf("after ungetc: ftell %ld, fgetc '%c'", t, c);
		c = fgetc(f);
		printf(" fgetc '%c'\n", c);
	}
	CHECK(fseeko(f, -7, SEEK_END) == 0, "fseeko end");
	printf("ftello at end-7: %lld\n", (long long)ftello(f));
	n = getdelim(&lp, &cap, 'r', f);
	printf("getdelim 'r': %zd \"%s\"\n", n, lp);
	CHECK(fgetpos(f, &pos) == 0, "fgetpos");
	fgetc(f);
	CHECK(fsetpos(f, &pos) == 0, "fsetpos");
	printf("after fsetpos: fgetc '%c'\n", fgetc(f));
	while (fgetc(f) != EOF)
		;
	printf("at end: feof %d ferror %d\n", feof(f) != 0, ferror(f) != 0);
	rewind(f);
	printf("after rewind: feof %d ftell %ld", feof(f) != 0, ftell(f));
	printf(" fgets %s", fgets(line, sizeof line, f));
	/* writing a read-only stream fails */
	errno = 0;
	{
		int r = fputs("x", f);

		printf("fputs on r stream: %d ferror %d %s\n", r == EOF, ferror(f) != 0,
		       err_name(errno));
	}
	clearerr(f);
	free(lp);
	CHECK(fclose(f) == 0, "fclose r");
}

static void test_modes(void)
{
	FILE *f, *g;
	char line[128];
	int fl;

	printf("== modes\n");
	/* "a": starts at the end, every write lands at the end */
	f = fopen(path("a.txt"), "a");
	CHECK(f, "fopen a: %s", err_name(errno));
	if (f) {
		printf("a: ftell at open %ld\n", ftell(f));
		fputs("appended\n", f);
		printf("a: ftell after write %ld\n", ftell(f));
		CHECK(fclose(f) == 0, "fclose a");
	}
	show_file("a.txt");

	/* two appenders interleaving: both land at the end */
	f = fopen(path("ap.txt"), "a");
	g = fopen(path("ap.txt"), "a");
	CHECK(f && g, "fopen a x2");
	if (f && g) {
		setvbuf(f, NULL, _IONBF, 0);
		setvbuf(g, NULL, _IONBF, 0);
		fputs("f1\n", f);
		fputs("g1\n", g);
		fputs("f2\n", f);
		fclose(f);
		fclose(g);
	}
	show_file("ap.txt");

	/* "a+": reads from the start, writes at the end */
	f = fopen(path("ap.txt"), "a+");
	CHECK(f, "fopen a+");
	if (f) {
		printf("a+: fgets %s", fgets(line, sizeof line, f));
		fputs("plus\n", f);
		rewind(f);
		while (fgets(line, sizeof line, f))
			printf("a+: line %s", line);
		fclose(f);
	}

	/* "r+": overwrite in place */
	f = fopen(path("a.txt"), "r+");
	CHECK(f, "fopen r+");
	if (f) {
		fseek(f, 2, SEEK_SET);
		fputs("XY", f);
		fseek(f, 0, SEEK_SET);   /* switch to reading */
		printf("r+: %s", fgets(line, sizeof line, f));
		fclose(f);
	}

	/* "w+": truncates, then read back */
	f = fopen(path("wp.txt"), "w+");
	CHECK(f, "fopen w+");
	if (f) {
		fprintf(f, "%s %05d\n", "w+", 42);
		rewind(f);
		printf("w+: %s", fgets(line, sizeof line, f));
		fclose(f);
	}

	/* "x" */
	errno = 0;
	f = fopen(path("a.txt"), "wx");
	printf("wx existing: %s %s\n", f ? "opened" : "NULL", err_name(errno));
	CHECK(!f && errno == EEXIST, "wx");
	if (f)
		fclose(f);
	f = fopen(path("new.txt"), "wx");
	printf("wx new: %s\n", f ? "opened" : err_name(errno));
	if (f)
		fclose(f);

	/* missing file, bad mode */
	errno = 0;
	f = fopen(path("missing/none"), "r");
	printf("r missing: %s %s\n", f ? "opened" : "NULL", err_name(errno));
	errno = 0;
	f = fopen(path("a.txt"), "q");
	printf("mode q: %s %s\n", f ? "opened" : "NULL", err_name(errno));

	/* "e" = O_CLOEXEC; plain has none */
	f = fopen(path("a.txt"), "re");
	if (f) {
		fl = fcntl(fileno(f), F_GETFD);
		printf("re: cloexec %d\n", fl >= 0 && (fl & FD_CLOEXEC));
		fclose(f);
	}
	f = fopen(path("a.txt"), "r");
	if (f) {
		fl = fcntl(fileno(f), F_GETFD);
		printf("r: cloexec %d\n", fl >= 0 && (fl & FD_CLOEXEC));
		fclose(f);
	}
}

static void test_fd_level(void)
{
	FILE *f, *g;
	struct stat st;
	char line[128];
	int fd;

	printf("== fd level\n");
	/* ftruncate(fileno(f)) */
	f = fopen(path("t.txt"), "w");
	if (f) {
		fputs("0123456789\n", f);
		fflush(f);
		CHECK(ftruncate(fileno(f), 4) == 0, "ftruncate: %s", err_name(errno));
		fstat(fileno(f), &st);
		printf("ftruncate 4: size %lld\n", (long long)st.st_size);
		fclose(f);
	}

	/* fdopen */
	fd = open(path("a.txt"), O_RDONLY);
	f = fdopen(fd, "r");
	CHECK(f, "fdopen r: %s", err_name(errno));
	if (f) {
		printf("fdopen r: fileno same %d, %s", fileno(f) == fd, fgets(line, sizeof line, f));
		fclose(f);
		printf("fdopen fclose closed fd: %d\n", fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	}
	fd = open(path("a.txt"), O_RDONLY);
	errno = 0;
	f = fdopen(fd, "w");
	printf("fdopen w on O_RDONLY: %s %s\n", f ? "opened" : "NULL", err_name(errno));
	close(fd);
	fd = open(path("fd.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	f = fdopen(fd, "a");
	if (f) {
		fputs("via fdopen a\n", f);
		printf("fdopen a: O_APPEND added %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
		fclose(f);
	}
	show_file("fd.txt");

	/* buffering modes: unbuffered/line-buffered writes visible at once */
	f = fopen(path("buf.txt"), "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		fputs("unbuffered\n", f);
		show_file("buf.txt");
		setvbuf(f, NULL, _IOLBF, 0);
		fputs("line1\npartial", f);
		show_file("buf.txt");
		fclose(f);
		show_file("buf.txt");
	}

	/* a large file through stdio: many callback calls */
	f = fopen(path("big.bin"), "w");
	if (f) {
		uint32_t sum = 0, rsum = 0;
		size_t total = 0;
		int c;

		for (int i = 0; i < 300000; i++) {
			unsigned char b = (unsigned char)(i * 7 + i / 253);
			fputc(b, f);
			sum = sum * 31 + b;
		}
		fclose(f);
		g = fopen(path("big.bin"), "r");
		if (g) {
			while ((c = fgetc(g)) != EOF) {
				rsum = rsum * 31 + (unsigned char)c;
				total++;
			}
			fclose(g);
		}
		printf("big: %zu bytes, checksum match %d\n", total, sum == rsum);
		CHECK(total == 300000 && sum == rsum, "big file");
	}

	/* dprintf to an fd */
	fd = open(path("dp.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	printf("dprintf: %d\n", dprintf(fd, "dprintf %d %s\n", 7, "seven"));
	close(fd);
	show_file("dp.txt");
}

static void test_freopen(void)
{
	FILE *f;
	char line[128];
	int saved;

	printf("== freopen\n");
	/* a non-standard stream: use the returned pointer */
	f = fopen(path("a.txt"), "r");
	if (f) {
		f = freopen(path("wp.txt"), "r", f);
		CHECK(f, "freopen: %s", err_name(errno));
		if (f) {
			printf("freopen r: %s", fgets(line, sizeof line, f));
			fclose(f);
		}
	}
	/* stdout into a file: fd 1 becomes the file */
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (freopen(path("out.txt"), "w", stdout)) {
		printf("to the file via printf, fileno %d\n", fileno(stdout));
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
	} else {
		dup2(saved, STDOUT_FILENO);
		printf("freopen stdout failed: %s\n", err_name(errno));
	}
	close(saved);
	printf("back on stdout\n");
	show_file("out.txt");
	/* a failing freopen returns NULL */
	f = fopen(path("a.txt"), "r");
	if (f) {
		errno = 0;
		FILE *r = freopen(path("missing/x"), "r", f);

		printf("freopen missing: %s %s\n", r ? "opened" : "NULL", err_name(errno));
		/* glibc leaves the closed FILE allocated; fclose frees it */
		fclose(r ? r : f);
	}
}

/* ------------------------------------------------------------------------ */

static char type_char(const char *dir, const struct dirent *e)
{
	struct stat st;
	char p[PATH_MAX];

	switch (e->d_type) {
	case DT_REG: return 'f';
	case DT_DIR: return 'd';
	case DT_LNK: return 'l';
	case DT_UNKNOWN: break;
	default: return '?';
	}
	if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p ||
	    lstat(p, &st) < 0)
		return '!';
	return S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' :
	       S_ISLNK(st.st_mode) ? 'l' : '?';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in a directory stream, sorted, as one line. */
static int list_sorted(DIR *d, const char *dir, const char *label)
{
	char *names[64];
	int n = 0;
	struct dirent *e;

	errno = 0;
	while ((e = readdir(d)) != NULL) {
		char buf[300];

		snprintf(buf, sizeof buf, "%s:%c", e->d_name, type_char(dir, e));
		if (n < 64)
			names[n++] = strdup(buf);
	}
	CHECK(errno == 0, "readdir end errno %s", err_name(errno));
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	printf("%s (%d):", label, n);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	return n;
}

static int not_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

#define BIG_N 1500

static void make_tree(void)
{
	FILE *f;
	char rel[128];

	mkdir(path("tree"), 0755);
	mkdir(path("tree/sub"), 0755);
	mkdir(path("tree/sub/deeper"), 0755);
	f = fopen(path("tree/one.txt"), "w");
	if (f)
		fclose(f);
	f = fopen(path("tree/two.txt"), "w");
	if (f) {
		fputs("2\n", f);
		fclose(f);
	}
	f = fopen(path("tree/sub/inner.c"), "w");
	if (f)
		fclose(f);
	symlink("one.txt", path("tree/link"));
	mkdir(path("big"), 0755);
	for (int i = 0; i < BIG_N; i++) {
		snprintf(rel, sizeof rel, "big/entry-with-a-fairly-long-name-%05d", i);
		f = fopen(path(rel), "w");
		if (f)
			fclose(f);
	}
}

static void test_dirs(void)
{
	DIR *d;
	struct dirent *e, **list;
	int n, fd;

	printf("== directories\n");
	make_tree();

	d = opendir(path("tree"));
	CHECK(d, "opendir: %s", err_name(errno));
	if (d) {
		list_sorted(d, path("tree"), "readdir tree");
		rewinddir(d);
		list_sorted(d, path("tree"), "after rewinddir");
		closedir(d);
	}
	d = opendir(path("tree/sub"));
	if (d) {
		list_sorted(d, path("tree/sub"), "readdir tree/sub");
		closedir(d);
	}

	/* telldir/seekdir over a directory that needs several buffer fills */
	d = opendir(path("big"));
	CHECK(d, "opendir big: %s", err_name(errno));
	if (d) {
		static long pos[BIG_N + 3];
		static char name[BIG_N + 2][NAME_MAX + 1];
		int count = 0, ok = 1;

		pos[0] = telldir(d);
		while ((e = readdir(d)) != NULL && count < BIG_N + 2) {
			snprintf(name[count], sizeof name[count], "%s", e->d_name);
			pos[++count] = telldir(d);
		}
		printf("big: %d entries\n", count);
		CHECK(count == BIG_N + 2, "count %d", count);
		/* seekdir(pos[i]) then readdir gives entry i */
		for (int i = 0; i < count; i += 97) {
			seekdir(d, pos[i]);
			e = readdir(d);
			if (!e || strcmp(e->d_name, name[i]) != 0)
				ok = 0;
		}
		seekdir(d, pos[count - 1]);
		e = readdir(d);
		if (!e || strcmp(e->d_name, name[count - 1]) != 0)
			ok = 0;
		errno = 0;
		e = readdir(d);
		if (e || errno != 0)
			ok = 0;
		printf("big: seekdir/telldir consistent %d\n", ok);
		CHECK(ok, "seekdir");
		closedir(d);
	}

	/* fdopendir + dirfd; closedir closes the fd */
	fd = open(path("tree"), O_RDONLY | O_DIRECTORY);
	d = fdopendir(fd);
	CHECK(d, "fdopendir: %s", err_name(errno));
	if (d) {
		printf("dirfd same %d\n", dirfd(d) == fd);
		list_sorted(d, path("tree"), "fdopendir tree");
		closedir(d);
		printf("closedir closed fd: %d\n", fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	}

	/* readdir_r */
	d = opendir(path("tree/sub"));
	if (d) {
		struct dirent ent, *res;
		int cnt = 0, r;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		while ((r = readdir_r(d, &ent, &res)) == 0 && res)
			cnt++;
#pragma GCC diagnostic pop
		printf("readdir_r: %d entries, last r %d\n", cnt, r);
		closedir(d);
	}

	/* scandir with filter and alphasort */
	n = scandir(path("tree"), &list, not_dot, alphasort);
	CHECK(n == 4, "scandir n %d %s", n, err_name(errno));
	printf("scandir:");
	for (int i = 0; i < n; i++) {
		printf(" %s", list[i]->d_name);
		free(list[i]);
	}
	printf("\n");
	if (n >= 0)
		free(list);
	n = scandir(path("big"), &list, NULL, alphasort);
	printf("scandir big: %d, first %s last %s\n", n, n > 0 ? list[0]->d_name : "-",
	       n > 0 ? list[n - 1]->d_name : "-");
	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n >= 0)
		free(list);
	fd = open(path("tree"), O_RDONLY | O_DIRECTORY);
	n = scandirat(fd, "sub", &list, not_dot, alphasort);
	printf("scandirat sub: %d", n);
	for (int i = 0; i < n; i++) {
		printf(" %s", list[i]->d_name);
		free(list[i]);
	}
	printf("\n");
	if (n >= 0)
		free(list);
	close(fd);

	/* errors */
	errno = 0;
	d = opendir(path("tree/one.txt"));
	printf("opendir file: %s %s\n", d ? "opened" : "NULL", err_name(errno));
	errno = 0;
	d = opendir(path("nope"));
	printf("opendir missing: %s %s\n", d ? "opened" : "NULL", err_name(errno));
	fd = open(path("tree/two.txt"), O_RDONLY);
	errno = 0;
	d = fdopendir(fd);
	printf("fdopendir file: %s %s\n", d ? "opened" : "NULL", err_name(errno));
	close(fd);
	errno = 0;
	n = scandir(path("nope"), &list, NULL, NULL);
	printf("scandir missing: %d %s\n", n, err_name(errno));
}

/* One stream per thread, several threads at once. */
struct lister {
	const char *dir;
	int count;
};

static void *lister_run(void *arg)
{
	struct lister *l = arg;

	for (int round = 0; round < 5; round++) {
		DIR *d = opendir(l->dir);
		int n = 0;

		if (!d) {
			l->count = -1;
			return NULL;
		}
		while (readdir(d))
			n++;
		closedir(d);
		if (round > 0 && n != l->count)
			l->count = -2;
		else
			l->count = n;
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	struct lister l[4];
	char dirs[4][PATH_MAX];

	printf("== threads\n");
	for (int i = 0; i < 4; i++) {
		snprintf(dirs[i], sizeof dirs[i], "%s", path(i % 2 ? "big" : "tree"));
		l[i].dir = dirs[i];
		l[i].count = 0;
		pthread_create(&t[i], NULL, lister_run, &l[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		printf("thread %d: %d entries\n", i, l[i].count);
	}
}

static void cleanup(void)
{
	char rel[128];

	printf("== cleanup\n");
	for (int i = 0; i < BIG_N; i++) {
		snprintf(rel, sizeof rel, "big/entry-with-a-fairly-long-name-%05d", i);
		remove(path(rel));
	}
	const char *names[] = { "big", "tree/link", "tree/one.txt", "tree/two.txt",
				"tree/sub/inner.c", "tree/sub/deeper", "tree/sub", "tree",
				"a.txt", "ap.txt", "wp.txt", "new.txt", "t.txt", "fd.txt",
				"buf.txt", "big.bin", "dp.txt", "out.txt" };
	int bad = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (remove(path(names[i])) != 0) {
			printf("remove %s: %s\n", names[i], err_name(errno));
			bad++;
		}
	}
	errno = 0;
	{
		int r = remove(path("nope"));

		printf("remove missing: %d %s\n", r, err_name(errno));
	}
	CHECK(bad == 0, "remove");
	CHECK(rmdir(base) == 0, "rmdir work: %s", err_name(errno));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (snprintf(base, sizeof base, "%s/stdio_dir.work", argv[1]) >= 1024) {
		fprintf(stderr, "stdio_dir: path too long\n");
		return 2;
	}
	if (mkdir(base, 0755) != 0) {
		fprintf(stderr, "stdio_dir: mkdir %s: %s\n", base, strerror(errno));
		return 2;
	}
	test_write_read();
	test_modes();
	test_fd_level();
	test_freopen();
	test_dirs();
	test_threads();
	cleanup();
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
