#!/bin/sh
# Everything `make test` runs: the build, the unit tests (plain, ASan+UBSan,
# TSan), the integration tests (plain, then with the sanitizer builds of the
# storage service and of libvirtuos.so), the quick profile of the
# macro-benchmarks as a smoke test (benchmarks/macro/check.sh), the channel and client-engine tests
# over the Xen transport (a dom0 and a DomU of their own under QEMU), and the
# system test (the whole guest set).
#
# Each step's output is shown as it runs; at the end a summary gives each
# step's counts and the totals, closing with "N passed, M failed".  A step
# that prints no "N passed, M failed" line counts as one test (its exit
# status decides).  Exits non-zero if anything failed.
#
#   STEPS="build unit integration" tests/run-all.sh   run only these steps
set -u
cd "$(dirname "$0")/.." || exit 1

ALL_STEPS="build unit integration integration-asan-daemon integration-tsan-daemon integration-asan-preload bench-macro-quick xen-transport system"
STEPS=${STEPS:-$ALL_STEPS}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/vos-test.XXXXXX") || exit 1
trap 'rm -rf "$LOGS"' EXIT

# Integration cases run with the sanitizer builds: the ASan daemon serves them
# all; the TSan daemon and ASan-instrumented libvirtuos.so a set that covers
# threads, fork/exec and the big programs (they are slower).  Not dd and sort
# under the ASan preload: ASan (gcc 12) aborts coreutils' aligned_alloc calls
# whose size is not a multiple of the alignment (valid since C17).
TSAN_CASES="redirections-dash cp-mv-rm tar rsync sqlite3 python processes prog-mt prog-forkexec service-killed"
PRELOAD_CASES="redirections-dash redirections-bash cp-mv-rm ls find-du symlinks tar rsync sqlite3 python processes errors escape service-killed svcdeath prog-"

passed=0
failed=0
pending=0
summary=$LOGS/summary

run_step() {  # NAME COMMAND...
	name=$1
	shift
	echo
	echo "==== $name: $*"
	start=$(date +%s)
	{ "$@"; echo $? > "$LOGS/$name.rc"; } 2>&1 | tee "$LOGS/$name.log"
	rc=$(cat "$LOGS/$name.rc" 2>/dev/null || echo 1)
	secs=$(( $(date +%s) - start ))
	counts=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$LOGS/$name.log" | tail -n 1 |
		sed -E 's/.*(^|: )([0-9]+) passed, ([0-9]+) failed.*/\2 \3/')
	if [ -n "$counts" ]; then
		p=${counts% *}
		f=${counts#* }
		# a failure the step did not count is still a failure
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	elif [ "$rc" = 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	status=ok
	[ "$f" != 0 ] && status=FAILED
	# expected failures (tests/integration/pending.list): shown, not counted
	k=$(sed -n -E 's/.*[0-9]+ passed, [0-9]+ failed, ([0-9]+) pending.*/\1/p' "$LOGS/$name.log" | tail -n 1)
	[ -n "$k" ] && [ "$k" != 0 ] && status="$status ($k pending)" && pending=$((pending + k))
	printf '%-26s %4d passed, %3d failed  %5ss  %s\n' "$name:" "$p" "$f" "$secs" "$status" >> "$summary"
}

want() {
	for s in $STEPS; do [ "$s" = "$1" ] && return 0; done
	return 1
}

: > "$summary"
total_start=$(date +%s)
want build && run_step build make -j2
want unit && run_step unit tests/run-unit.sh
want integration && run_step integration tests/integration/run.sh
want integration-asan-daemon && run_step integration-asan-daemon tests/integration/run.sh --mode asan-daemon
# shellcheck disable=SC2086
want integration-tsan-daemon && run_step integration-tsan-daemon tests/integration/run.sh --mode tsan-daemon $TSAN_CASES
# shellcheck disable=SC2086
want integration-asan-preload && run_step integration-asan-preload tests/integration/run.sh --mode asan-preload $PRELOAD_CASES
# The macro-benchmarks' quick profile as a smoke test (rows and sane values, never speed; ~2 min).
want bench-macro-quick && run_step bench-macro-quick benchmarks/macro/run.sh --quick --check --out build/bench/macro-smoke
want xen-transport && run_step xen-transport tests/xen/run-in-guests.sh
if want system && [ -x tests/system/run.sh ]; then
	run_step system tests/system/run.sh
elif want system && [ -f tests/system/run.sh ]; then
	run_step system bash tests/system/run.sh
fi

echo
echo "==== summary ($(( $(date +%s) - total_start )) s)"
cat "$summary"
[ "$pending" != 0 ] && echo "($pending expected failures pending, see tests/integration/pending.list)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
