# A small GNU autotools package made and built on /storage: autoreconf -i,
# ./configure (which compiles and runs test programs in the tree), make,
# make check (a test script running the built program), running the
# program, make distcheck-free "make dist" and "make distclean".  Each
# step prints its status, and the end of its log if it failed.
step() {  # NAME LOG COMMAND...
	name=$1 log=$2
	shift 2
	"$@" > "$log" 2>&1
	st=$?
	echo "$name: status $st"
	[ $st = 0 ] || tail -n 8 "$log"
	return $st
}

body() {
	mkdir "$D/hello" && cd "$D/hello" || return 1
	cat > configure.ac <<'AC'
AC_INIT([hello], [1.0])
AM_INIT_AUTOMAKE([foreign -Wall -Werror])
AC_PROG_CC
AC_CHECK_HEADERS([unistd.h])
AC_CONFIG_HEADERS([config.h])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
AC
	cat > Makefile.am <<'AM'
bin_PROGRAMS = hello
hello_SOURCES = hello.c
TESTS = check-hello.sh
EXTRA_DIST = check-hello.sh
AM
	cat > hello.c <<'C'
#include "config.h"
#include <stdio.h>
int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "w") : NULL;

	printf("hello from %s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	if (f) {
		fprintf(f, "written by hello\n");
		return fclose(f) != 0;
	}
	return 0;
}
C
	cat > check-hello.sh <<'SH'
#!/bin/sh
./hello out.txt | grep -q '^hello from hello 1.0$' && grep -q 'written' out.txt
SH
	chmod +x check-hello.sh
	step autoreconf "$T/autoreconf.log" autoreconf -i || return 1
	step configure "$T/configure.log" ./configure || return 1
	grep -c '^#define HAVE_UNISTD_H 1' config.h
	step make "$T/make.log" make || return 1
	step "make check" "$T/check.log" make check
	grep -E '^(PASS|FAIL|ERROR|# TOTAL|# PASS|# FAIL)' "$T/check.log"
	./hello
	step "make dist" "$T/dist.log" make dist
	tar tzf hello-1.0.tar.gz | sort
	step "make distclean" "$T/distclean.log" make distclean
	ls hello config.h 2>&1 | sed 's/^ls: //'
}
