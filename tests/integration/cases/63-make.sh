# make building a small C project on /storage (objects in a subdirectory,
# a header dependency, a static library made with ar), then running the
# program it built; a second make has nothing to do; a changed source is
# rebuilt (and nothing else); make clean.
body() {
	mkdir -p "$D/proj/src" "$D/proj/include" && cd "$D/proj" || return 1
	cat > include/util.h <<'C'
int add(int a, int b);
int mul(int a, int b);
C
	cat > src/add.c <<'C'
#include "util.h"
int add(int a, int b) { return a + b; }
C
	cat > src/mul.c <<'C'
#include "util.h"
int mul(int a, int b) { return a * b; }
C
	cat > src/main.c <<'C'
#include <stdio.h>
#include "util.h"
int main(void)
{
	FILE *f = fopen("result.txt", "w");

	printf("2 + 3 = %d, 4 * 5 = %d\n", add(2, 3), mul(4, 5));
	if (!f)
		return 1;
	fprintf(f, "%d\n", add(mul(6, 7), 0));
	return fclose(f) != 0;
}
C
	cat > Makefile <<'MK'
CFLAGS = -O2 -Wall -Iinclude
OBJ = obj/add.o obj/mul.o

prog: obj/main.o libutil.a
	$(CC) -o $@ obj/main.o -L. -lutil

libutil.a: $(OBJ)
	$(AR) rcs $@ $(OBJ)

obj/%.o: src/%.c include/util.h | obj
	$(CC) $(CFLAGS) -c -o $@ $<

obj:
	mkdir -p obj

run: prog
	./prog

clean:
	rm -rf obj prog libutil.a result.txt
.PHONY: run clean
MK
	make
	echo "make: status $?"
	make run
	echo "make run: status $?"
	cat result.txt
	make
	# everything older than the change to come, with no clock skew
	touch -d '2020-01-02 03:04:05' obj/* libutil.a prog src/* include/*
	echo 'int mul(int a, int b) { return a * b + 1; }' > src/mul.c
	make run
	echo "make after a change: status $?"
	ar t libutil.a
	make clean && ls
}
