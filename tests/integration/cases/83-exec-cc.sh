# What configure does: compile a program on /storage, run it, run a script
# stored there, from a shell with its cwd on /storage (relative paths), and
# through make.
body() {
	cd "$D" || return
	printf '#include <stdio.h>\nint main(int c, char **v) { printf("conftest %%s %%d\\n", v[0], c); return 0; }\n' > conftest.c
	cc -o conftest conftest.c && echo "cc: $?"
	./conftest a b; echo "run: $?"
	"$D/conftest"; echo "run: $?"
	printf '#!/bin/sh\necho "configure-like: $0 $*"\n./conftest from-script\n' > configure
	chmod +x configure
	./configure --x; echo "script: $?"
	printf 'all: hello\n\t./hello\nhello: hello.c\n\tcc -o hello hello.c\n' > Makefile
	sed 's/conftest/hello/' conftest.c > hello.c
	make -s; echo "make: $?"
	chmod -x conftest
	./conftest 2>/dev/null; echo "not executable: $?"
}
