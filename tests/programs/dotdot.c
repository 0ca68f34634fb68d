/*
 * dotdot.c - stdio and directory streams on local files named through a
 * routed directory: "DIR/../../.." and, with DIR as the working directory,
 * "../../..".  Under libvirtuos DIR is /storage/x; such a path leaves the
 * export, so it is local, but the kernel cannot walk it as written
 * (/storage does not exist locally, and a virtual cwd is not the kernel's).
 * Enough ".." reach "/" from any DIR, so the output is the same natively.
 *
 * usage: dotdot DIR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UP "../../../../../../../../../../../../../../../.."

static char tmpname[64] = "/tmp/vos-dotdot.XXXXXX";

static const char *err(void)
{
	return strerrorname_np(errno);
}

static int has_tmp(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	int found = 0;

	if (!d) {
		printf("  opendir: %s\n", err());
		return 0;
	}
	while ((e = readdir(d)) != NULL)
		found |= strcmp(e->d_name, "tmp") == 0;
	closedir(d);
	return found;
}

static int only_tmp(const struct dirent *e)
{
	return strcmp(e->d_name, "tmp") == 0;
}

/* mkstemp/mkdtemp under root: the name must be made in the local /tmp. */
static void make_temp(const char *root, int dir)
{
	char p[4200], abs[128];
	int fd = -1, ok;

	snprintf(p, sizeof(p), "%s/tmp/vos-dotdot-mk.XXXXXX", root);
	if (dir)
		ok = mkdtemp(p) != NULL;
	else
		ok = (fd = mkstemp(p)) >= 0;
	if (!ok) {
		printf("%s: %s\n", dir ? "mkdtemp" : "mkstemp", err());
		return;
	}
	snprintf(abs, sizeof(abs), "/tmp/%s", strrchr(p, '/') + 1);
	printf("%s: in /tmp %d\n", dir ? "mkdtemp" : "mkstemp", access(abs, F_OK) == 0);
	if (dir)
		rmdir(abs);
	else
		unlink(abs);
	if (fd >= 0)
		close(fd);
}

static void check(const char *label, const char *root)
{
	char p[4200], line[64] = "";
	struct dirent **list;
	FILE *f;
	int n;

	printf("== %s\n", label);
	printf("opendir: has tmp %d\n", has_tmp(root));
	n = scandir(root, &list, only_tmp, alphasort);
	printf("scandir: %d%s\n", n, n < 0 ? err() : "");
	while (n > 0)
		free(list[--n]);
	if (n == 0)
		free(list);
	n = scandirat(AT_FDCWD, root, &list, only_tmp, NULL);
	printf("scandirat: %d\n", n);
	while (n > 0)
		free(list[--n]);
	if (n == 0)
		free(list);

	snprintf(p, sizeof(p), "%s/proc/self/comm", root);
	f = fopen(p, "r");
	if (f && fgets(line, sizeof(line), f))
		printf("fopen comm: %s", line);
	else
		printf("fopen comm: %s\n", err());
	if (f)
		fclose(f);

	snprintf(p, sizeof(p), "%s%s", root, tmpname);
	f = fopen(p, "w");
	printf("fopen tmp w: %s\n", f ? "ok" : err());
	if (f) {
		fputs("one\n", f);
		f = freopen(p, "a", f);
		printf("freopen tmp a: %s\n", f ? "ok" : err());
	}
	if (f) {
		fputs("two\n", f);
		fclose(f);
	}
	f = fopen(tmpname, "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			printf("  tmp: %s", line);
		fclose(f);
	}
	printf("remove tmp: %d\n", remove(p));
	make_temp(root, 0);
	make_temp(root, 1);
	n = remove(p);
	printf("remove again: %d %s\n", n, err());
}

int main(int argc, char **argv)
{
	char root[4200], deep[4200];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: dotdot DIR\n");
		return 2;
	}
	fd = mkstemp(tmpname);
	if (fd < 0) {
		perror("dotdot: mkstemp");
		return 1;
	}
	close(fd);
	snprintf(root, sizeof(root), "%s/" UP, argv[1]);
	check("DIR/..", root);
	/* From a local directory deeper than UP climbs, UP would not reach
	 * "/": only the cwd DIR gives the right answer. */
	snprintf(deep, sizeof(deep), "%s", tmpname);
	strcat(deep, ".d");
	for (int i = 0; i < 20; i++) {
		if (mkdir(deep, 0700) < 0 || chdir(deep) < 0) {
			perror("dotdot: mkdir");
			return 1;
		}
		snprintf(deep, sizeof(deep), "d");
	}
	if (chdir(argv[1]) < 0) {
		perror("dotdot: chdir");
		return 1;
	}
	check("cwd DIR, relative ..", UP);
	unlink(tmpname);
	snprintf(deep, sizeof(deep), "rm -r %s.d", tmpname);
	return system(deep) != 0;
}
