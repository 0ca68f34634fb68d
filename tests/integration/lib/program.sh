# A C test program from tests/programs/ as a case: `PROG DIR`, compared with
# the native run.  The harness sets PROG to the program's path.  The programs
# print what they observe deterministically and exit non-zero on a wrong value.
body() {
	"$PROG" "$D"
	echo "exit $?"
}
