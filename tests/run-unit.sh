#!/bin/sh
# Build and run every unit test (tests/unit/test_*.c) three times: plain,
# with ASan+UBSan, and with TSan; and check libvirtuos.so's symbols in each
# build (tests/unit/check-symbols.sh).  Prints one line per test program and
# variant, then a summary; exits non-zero if anything failed.
#
#   tests/run-unit.sh                 all three variants
#   VARIANTS="plain asan" tests/run-unit.sh
#   BUILD_PREFIX=build/me tests/run-unit.sh   build into build/me, build/me-asan, build/me-tsan
set -u
cd "$(dirname "$0")/.." || exit 1

VARIANTS=${VARIANTS:-"plain asan tsan"}
BUILD_PREFIX=${BUILD_PREFIX:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1

tests=$(for f in tests/unit/test_*.c; do [ -e "$f" ] && basename "$f" .c; done)
if [ -z "$tests" ]; then
	echo "run-unit: no tests in tests/unit" >&2
	exit 1
fi

pass=0
fail=0
failed=""
logdir=$(mktemp -d /tmp/vos-unit-logs.XXXXXX)

for v in $VARIANTS; do
	case $v in
	plain) san=;     dir=${BUILD_PREFIX:-build} ;;
	asan)  san=asan; dir=${BUILD_PREFIX:+$BUILD_PREFIX-asan} ; dir=${dir:-build/asan} ;;
	tsan)  san=tsan; dir=${BUILD_PREFIX:+$BUILD_PREFIX-tsan} ; dir=${dir:-build/tsan} ;;
	*) echo "run-unit: unknown variant $v" >&2; exit 2 ;;
	esac
	targets="$dir/lib/libvirtuos.so"
	for t in $tests; do targets="$targets $dir/tests/$t"; done
	echo "== $v: building into $dir"
	# shellcheck disable=SC2086
	if ! make -s -j"$JOBS" SAN="$san" BUILD="$dir" $targets >"$logdir/build-$v.log" 2>&1; then
		cat "$logdir/build-$v.log"
		echo "FAIL  $v: build"
		fail=$((fail + 1))
		failed="$failed $v:build"
		continue
	fi
	# Some unit tests drive the real daemon; build it too (if it does not
	# build, those tests fail on their own with a clear message).
	if ls service-domains/vos-serviced/*.c >/dev/null 2>&1 &&
	   ! make -s -j"$JOBS" SAN="$san" BUILD="$dir" "$dir/bin/vos-serviced" >"$logdir/daemon-$v.log" 2>&1; then
		echo "warning: $dir/bin/vos-serviced did not build:"
		sed 's/^/    /' "$logdir/daemon-$v.log" | tail -20
	fi
	for t in $tests; do
		log="$logdir/$v-$t.log"
		start=$(date +%s)
		timeout -k 5 "$TEST_TIMEOUT" "$dir/tests/$t" >"$log" 2>&1
		rc=$?
		secs=$(( $(date +%s) - start ))
		if [ $rc -eq 0 ]; then
			printf 'PASS  %-5s %-20s (%ss)\n' "$v" "$t" "$secs"
			pass=$((pass + 1))
		else
			[ $rc -eq 124 ] && echo "(timed out after ${TEST_TIMEOUT}s)" >>"$log"
			printf 'FAIL  %-5s %-20s (exit %s, %ss) -- log follows\n' "$v" "$t" "$rc" "$secs"
			sed 's/^/    /' "$log"
			fail=$((fail + 1))
			failed="$failed $v:$t"
		fi
	done
	# The preload library's boundary (exports, libxenstore, no re-entry, no
	# service-side code); the objects it reads were built above.
	if tests/unit/check-symbols.sh "$dir" >"$logdir/$v-symbols.log" 2>&1; then
		printf 'PASS  %-5s %-20s\n' "$v" check-symbols
		pass=$((pass + 1))
	else
		printf 'FAIL  %-5s %-20s -- log follows\n' "$v" check-symbols
		sed 's/^/    /' "$logdir/$v-symbols.log"
		fail=$((fail + 1))
		failed="$failed $v:check-symbols"
	fi
done

echo
echo "unit tests: $pass passed, $fail failed${failed:+ ($failed )}"
rm -rf "$logdir"
[ $fail -eq 0 ]
