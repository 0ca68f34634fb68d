/*
 * wstdio.c - wide-character stdio on routed files (UTF-8 locale):
 * fwprintf, fputws, fputwc to a file; the bytes on disk; fgetws, fgetwc,
 * ungetwc and fwscanf reading back; fwide's orientation; fopen with
 * ",ccs=UTF-8"; freopen of a stream onto the file in "r".
 *
 * usage: wstdio DIR
 */
#include <locale.h>
#include <stdlib.h>
#include <wchar.h>
#include <fcntl.h>
#include <unistd.h>
#include "report.h"

static void bytes_of(const char *name)
{
	unsigned char buf[256];
	int fd = open(a(name), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	printf("%-36s", name);
	if (n < 0)
		printf(" %s", strerrorname_np(errno));
	for (ssize_t i = 0; i < n; i++)
		printf(" %02x", buf[i]);
	printf("\n");
	if (fd >= 0)
		close(fd);
}

static void line(const char *label, const wchar_t *w)
{
	char mb[512];
	size_t n = w ? wcstombs(mb, w, sizeof(mb)) : (size_t)-1;

	printf("%-36s %s", label, n == (size_t)-1 ? "(none)\n" : mb);
	if (n != (size_t)-1 && (n == 0 || mb[n - 1] != '\n'))
		printf("\n");
}

int main(int argc, char **argv)
{
	wchar_t buf[128], word[32];
	FILE *f;
	wint_t c;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: wstdio /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	if (!setlocale(LC_ALL, "C.UTF-8")) {
		fprintf(stderr, "wstdio: no C.UTF-8 locale\n");
		return 1;
	}

	f = fopen(a("w.txt"), "w");
	show("fopen w", f ? 0 : -1);
	if (!f)
		return 1;
	show("fwide before", fwide(f, 0));
	show("fwprintf", fwprintf(f, L"%ls %d\n", L"h\u00e9llo \u263a", 42));
	show("fwide after", fwide(f, 0) > 0);
	show("fputws", fputws(L"\u00fcber \u00e7a\n", f));
	show("fputwc", (long)fputwc(L'\u20ac', f));
	show("fputwc nl", (long)fputwc(L'\n', f));
	show("ferror", ferror(f));
	show("fclose", fclose(f));
	bytes_of("w.txt");

	f = fopen(a("w.txt"), "r");
	show("fopen r", f ? 0 : -1);
	if (!f)
		return 1;
	buf[0] = 0;
	line("fgetws 1", fgetws(buf, 128, f));
	expect("line 1 as written", wcscmp(buf, L"h\u00e9llo \u263a 42\n") == 0);
	show("  wcslen", (long)wcslen(buf));
	c = fgetwc(f);
	show("fgetwc", (long)c);
	show("ungetwc", (long)ungetwc(c, f));
	show("fwscanf %ls", fwscanf(f, L"%31ls", word));
	line("  word", word);
	line("fgetws rest", fgetws(buf, 128, f));
	line("fgetws 3", fgetws(buf, 128, f));
	line("fgetws at EOF", fgetws(buf, 128, f));
	show("feof", feof(f) != 0);
	show("fclose", fclose(f));

	f = fopen(a("ccs.txt"), "w,ccs=UTF-8");
	show("fopen w,ccs=UTF-8", f ? 0 : -1);
	if (f) {
		show("  fwide", fwide(f, 0) > 0);
		show("  fwprintf", fwprintf(f, L"\u00e5 %d\n", 7));
		show("  fclose", fclose(f));
	}
	bytes_of("ccs.txt");

	f = fopen(a("ccs.txt"), "r");
	if (f) {
		f = freopen(a("w.txt"), "r", f);
		show("freopen w.txt r", f ? 0 : -1);
		if (f) {
			line("  fgetws", fgetws(buf, 128, f));
			fclose(f);
		}
	}
	f = fopen(a("w.txt"), "a+");
	if (f) {
		show("a+: fwprintf", fwprintf(f, L"%lc\n", L'\u00df'));
		rewind(f);
		line("a+: fgetws after rewind", fgetws(buf, 128, f));
		fclose(f);
	}
	bytes_of("w.txt");
	return bad;
}
