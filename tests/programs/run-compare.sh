#!/bin/sh
# run-compare.sh - run the test programs of this folder on a routed
# directory (/storage/x, under libvirtuos) and on a native directory, and
# compare.  Starts its own vos-serviced in a temporary directory.
#
# usage: tests/programs/run-compare.sh [BUILD]      (default BUILD=build)
# For a sanitizer build, put its runtime first in the preload list:
#   SAN_PRELOAD=$(gcc -print-file-name=libasan.so) run-compare.sh build/asan
#   TSAN_OPTIONS=die_after_fork=0 \
#   SAN_PRELOAD=$(gcc -print-file-name=libtsan.so) run-compare.sh build/tsan
# (the programs are built with the same sanitizer, so a sanitizer report in
# the routed run shows up as a difference).
# Exit status 0 if every check passed.
set -u
BUILD=${1:-build}
LIB=$(realpath "$BUILD/lib/libvirtuos.so")
PRELOAD=${SAN_PRELOAD:+$SAN_PRELOAD:}$LIB
SERVICED=$(realpath "$BUILD/bin/vos-serviced")
PROGS=$(realpath "$BUILD/tests/programs")
for f in "$LIB" "$SERVICED"; do
	[ -e "$f" ] || { echo "run-compare: missing $f (build first)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/vos-progs.XXXXXX)
ROOT=$TMP/root RUN=$TMP/run NATIVE=$TMP/native
mkdir -p "$ROOT/x" "$RUN" "$NATIVE"
# Others must traverse it: setcreds opens files natively as nobody.
chmod 755 "$TMP"
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

start_service() {
	"$SERVICED" --role storage --root "$ROOT" --rundir "$RUN" >>"$TMP/serviced.log" 2>&1 &
	PID=$!
	for _ in $(seq 50); do
		[ -S "$RUN/storage.sock" ] && return 0
		sleep 0.1
	done
	echo "run-compare: vos-serviced did not start" >&2
	cat "$TMP/serviced.log" >&2
	exit 1
}
start_service

export VOS_RUNDIR=$RUN
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

for p in fdsem mt forkexec cloexec errnos sighandler signals stdio_dir stdstreams dotdot setcreds; do
	[ -x "$PROGS/$p" ] || { fail "$p (not built)"; continue; }
	case "$p:${SAN_PRELOAD:-}" in
	signals:*tsan*)
		# TSan's runtime delivers signals itself, at its own points:
		# the program hangs natively already.
		echo "SKIP $p (under TSan)"
		continue ;;
	esac
	# Each program checks what it observes and exits non-zero on a wrong
	# value, so a native failure is a failure too (of the test, or of
	# the machine it runs on): it would make a routed run that fails the
	# same way look right.
	timeout 120 "$PROGS/$p" "$NATIVE" >"$TMP/$p.native" 2>&1
	nst=$?
	timeout 120 env LD_PRELOAD="$PRELOAD" "$PROGS/$p" /storage/x >"$TMP/$p.routed" 2>&1
	st=$?
	if [ $nst -ne 0 ]; then
		fail "$p (native status $nst, routed $st)"
		sed 's/^/    native: /' "$TMP/$p.native" | tail -20
	elif [ $st -eq 0 ] && cmp -s "$TMP/$p.native" "$TMP/$p.routed"; then
		pass "$p"
	else
		fail "$p (status $st, native 0)"
		diff "$TMP/$p.native" "$TMP/$p.routed" | head -20
	fi
done

if timeout 60 env LD_PRELOAD="$PRELOAD" "$PROGS/errnos" --escape /storage/x >"$TMP/escape" 2>&1; then
	pass "links out of the export followed locally"
else
	fail "links out of the export"
	cat "$TMP/escape"
fi

# The service dies and comes back.
echo "$PID" >"$TMP/pid"
timeout 120 env LD_PRELOAD="$PRELOAD" "$PROGS/svcdeath" /storage/x \
	"kill \$(cat $TMP/pid); for i in \$(seq 100); do grep -qs '^[0-9]* ([^)]*) [RSD]' /proc/\$(cat $TMP/pid)/stat || break; sleep 0.05; done; rm -f $RUN/storage.sock" \
	"$SERVICED --role storage --root $ROOT --rundir $RUN >>$TMP/serviced.log 2>&1 & echo \$! >$TMP/pid; for i in \$(seq 100); do [ -S $RUN/storage.sock ] && break; sleep 0.05; done" \
	>"$TMP/death" 2>&1
PID=$(cat "$TMP/pid")
if cmp -s "$(dirname "$0")/svcdeath.expected" "$TMP/death"; then
	pass "service death and restart"
else
	fail "service death and restart"
	diff "$(dirname "$0")/svcdeath.expected" "$TMP/death"
fi

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
