#!/bin/sh
# Integration tests: real, unmodified Debian programs on /storage (forwarded to
# the local storage service by libvirtuos.so) compared with the same commands
# run natively in a temporary directory.
#
# usage: tests/integration/run.sh [--mode MODE] [--build DIR] [--san-build DIR]
#                                 [--no-build] [--list] [WORD...]
#
#   --mode plain         build/'s vos-serviced and libvirtuos.so (default)
#          asan-daemon   vos-serviced from the ASan+UBSan build
#          tsan-daemon   vos-serviced from the TSan build
#          asan-preload  ASan vos-serviced and ASan libvirtuos.so, preloaded
#                        after libasan.so into the (uninstrumented) programs
#   --build DIR          the plain build (default: build); vosctl and the
#                        test programs always come from there
#   --san-build DIR      the sanitizer build (default: build/asan or build/tsan)
#   --no-build           do not run make first
#   WORD...              run only the cases whose name contains one of them
#   environment: VOS_IT_KEEP=1 keeps the work files, VOS_IT_TIMEOUT=S bounds
#   each run (default 120 s)
#
# A case is a file cases/NN-name.sh (POSIX sh) that defines functions:
#   body      the commands; they work in "$D" and may use "$T" (local scratch)
#   setup     optional: runs first, natively, as root, with D the real
#             directory (the native one, or the directory under the storage
#             root that /storage/work shows) - to chown/chmod as root
#   expected  for CASE_MODE=expect: prints what body must print forwarded
#   custom    for CASE_MODE=custom: runs natively, drives vosctl itself, must
#             print what expected prints
# These run through lib/runcase.sh, with the functions of lib/helpers.sh
# (wait_for FILE SECONDS, ...) defined.
# CASE_MODE=compare (default) runs body natively (D=<tmp>/native/work) and
# forwarded (D=/storage/work under `vosctl local run`) and diffs the outputs
# (stdout+stderr, then "exit status N").  Only the directory names are
# normalised (@D, @T).  Each C program in tests/programs/ is a case too
# (prog-NAME).  Sanitizer reports from the service fail the case, and so do
# processes of the case still running after it (a leaked shadow or daemon).
#
# Expected failures: tests/integration/pending.list names the cases that wait
# for work not done yet, one per line ("NAME  # why", or "MODE/NAME  # why"
# for one --mode only).  A listed case that fails prints "PENDING NAME" and
# does not count as a failure; a listed case that passes is a failure ("now
# passes: remove it from pending.list"), and so is a listed name that is no
# case (checked when every case runs), so the list cannot rot.
# VOS_IT_PENDING_DIFF=1 shows the diff of pending cases too.
#
# Prints "ok NAME", "FAIL NAME" (with the diff) or "PENDING NAME" per case
# and ends with "N passed, M failed, K pending"; exits 1 if any case failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
MODE=plain
BUILD=build
SAN_BUILD=
NO_BUILD=0
LIST=0
FILTER=

while [ $# -gt 0 ]; do
	case $1 in
	--mode) MODE=${2:?--mode needs a value}; shift ;;
	--mode=*) MODE=${1#--mode=} ;;
	--build) BUILD=${2:?--build needs a value}; shift ;;
	--build=*) BUILD=${1#--build=} ;;
	--san-build) SAN_BUILD=${2:?--san-build needs a value}; shift ;;
	--san-build=*) SAN_BUILD=${1#--san-build=} ;;
	--no-build) NO_BUILD=1 ;;
	--list) LIST=1 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) FILTER="$FILTER $1" ;;
	esac
	shift
done

case $MODE in
plain) SAN= ;;
asan-daemon|asan-preload) SAN=asan ;;
tsan-daemon) SAN=tsan ;;
*) echo "run.sh: unknown mode '$MODE'" >&2; exit 2 ;;
esac
[ -n "$SAN" ] && [ -z "$SAN_BUILD" ] && SAN_BUILD=build/$SAN
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
case $SAN_BUILD in /*|'') ;; *) SAN_BUILD=$TOP/$SAN_BUILD ;; esac

# Debian's programs, whatever the caller's PATH (no pyenv or /usr/local shims).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
TZ=UTC
export PATH LC_ALL TZ
unset LD_PRELOAD VOS_RUNDIR VOS_STATS
umask 022

# ---- the cases ------------------------------------------------------------

# "name file [program]" per line
case_list() {
	for f in "$HERE"/cases/*.sh; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .sh)
		echo "${n#[0-9][0-9]-} $f"
	done
	for c in "$TOP"/tests/programs/*.c; do
		[ -f "$c" ] || continue
		p=$(basename "$c" .c)
		# svcdeath and net_svcdeath need commands that kill and restart
		# the service: their own cases (cases/46-svcdeath.sh,
		# cases/93-net-service-killed.sh).
		case $p in svcdeath | net_svcdeath) continue ;; esac
		# efault passes bad pointers on purpose: with ASan preloaded,
		# ASan's own interceptors (readlink, ...) read them first.
		[ "$p" = efault ] && [ "$MODE" = asan-preload ] && continue
		echo "prog-$p $HERE/lib/program.sh $BUILD/tests/programs/$p"
	done
}

selected() {
	left_out "$1" && return 1
	[ -z "$FILTER" ] && return 0
	for w in $FILTER; do
		case $1 in *"$w"*) return 0 ;; esac
	done
	return 1
}

# Cases that cannot compare in one mode.  badptr passes bad pointers on
# purpose: with ASan preloaded, ASan's own interceptors read them first.
left_out() {
	case "$MODE:$1" in
	asan-preload:prog-badptr) return 0 ;;
	esac
	return 1
}

if [ "$LIST" = 1 ]; then
	case_list | while read -r n f p; do selected "$n" && echo "$n"; done
	exit 0
fi

# ---- build ----------------------------------------------------------------

rel() { echo "${1#"$TOP"/}"; }
if [ "$NO_BUILD" = 0 ]; then
	targets="$(rel "$BUILD")/bin/vosctl $(rel "$BUILD")/bin/vos-serviced $(rel "$BUILD")/lib/libvirtuos.so"
	for c in "$TOP"/tests/programs/*.c; do
		[ -f "$c" ] && targets="$targets $(rel "$BUILD")/tests/programs/$(basename "$c" .c)"
	done
	# shellcheck disable=SC2086
	if ! make -C "$TOP" -s -j2 BUILD="$(rel "$BUILD")" SAN= $targets; then
		echo "FAIL build"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if [ -n "$SAN" ]; then
		st="$(rel "$SAN_BUILD")/bin/vos-serviced"
		[ "$MODE" = asan-preload ] && st="$st $(rel "$SAN_BUILD")/lib/libvirtuos.so"
		# shellcheck disable=SC2086
		if ! make -C "$TOP" -s -j2 SAN="$SAN" BUILD="$(rel "$SAN_BUILD")" $st; then
			echo "FAIL build-$SAN"
			echo "0 passed, 1 failed"
			exit 1
		fi
	fi
fi

VOSCTL=$BUILD/bin/vosctl
PROGS=$BUILD/tests/programs
PY=/usr/bin/python3
unset VOS_SERVICED VOS_LIBVIRTUOS
case $MODE in
asan-daemon|tsan-daemon)
	VOS_SERVICED=$SAN_BUILD/bin/vos-serviced
	export VOS_SERVICED ;;
asan-preload)
	VOS_SERVICED=$SAN_BUILD/bin/vos-serviced
	VOS_LIBVIRTUOS="$(gcc -print-file-name=libasan.so) $SAN_BUILD/lib/libvirtuos.so"
	export VOS_SERVICED VOS_LIBVIRTUOS ;;
esac
if [ -f "$TOP/configs/vos.conf" ]; then
	VOS_CONFIG=$TOP/configs/vos.conf
else
	# configs/vos.conf not written yet: the default table, spelled out
	VOS_CONFIG=
fi
export VOSCTL PROGS PY TOP

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vos-it.XXXXXX") || exit 1
# Others must traverse it: the EACCES case runs programs as nobody.
chmod 755 "$WORK"
if [ "${VOS_IT_KEEP:-0}" = 1 ]; then
	echo "keeping the work files in $WORK (VOS_IT_KEEP=1)"
else
	trap 'rm -rf "$WORK"' EXIT
fi
trap 'exit 130' INT TERM
if [ -z "$VOS_CONFIG" ]; then
	VOS_CONFIG=$WORK/vos.conf
	printf "service storage storage\nroute /storage storage\n" > "$VOS_CONFIG"
fi
export VOS_CONFIG

# Sanitizer reports of the service (and of preloaded programs) go to files
# that are checked after every case.
SANLOG=$WORK/sanitizer
mkdir -p "$SANLOG"
case $MODE in
asan-daemon) ASAN_OPTIONS="log_path=$SANLOG/asan:detect_leaks=1" ;;
# No log_path with the preloaded ASan library: ASan creates the log directory
# with mkdir() during its own start-up, which reaches libvirtuos's (instrumented)
# mkdir wrapper before ASan's shadow memory exists.  Reports then go to stderr,
# where the diff against the native run catches them.
asan-preload) ASAN_OPTIONS="detect_leaks=0" ;;
*) ASAN_OPTIONS="log_path=$SANLOG/asan" ;;
esac
UBSAN_OPTIONS="log_path=$SANLOG/ubsan:print_stacktrace=1"
# die_after_fork=0: a shadow for a forked client is a fork of the (threaded)
# parent shadow that then starts its own workers, which TSan refuses by default.
TSAN_OPTIONS="log_path=$SANLOG/tsan:halt_on_error=0:die_after_fork=0"
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

RUN_TIMEOUT=${VOS_IT_TIMEOUT:-120}
PREFIX=
[ "$MODE" != plain ] && PREFIX="$MODE/"

# ---- helpers --------------------------------------------------------------

# Replace the directory names that legitimately differ between the runs.
normalise() {
	awk -v nd="$ND" -v tn="$TN" -v tf="$TF" -v rt="$ROOT" -v w="$CW" '
	function rep(s, from, to,   i, out) {
		out = ""
		while (from != "" && (i = index(s, from)) > 0) {
			out = out substr(s, 1, i - 1) to
			s = substr(s, i + length(from))
		}
		return out s
	}
	# The one line libvirtuos says in trap mode (a non-root program where
	# page 0 cannot be mapped: cases that drop privileges), not a difference.
	/^libvirtuos: dispatch: page 0 cannot be mapped/ { next }
	{
		s = rep($0, nd, "@D"); s = rep(s, tn, "@T"); s = rep(s, tf, "@T")
		s = rep(s, rt "/work", "@D"); s = rep(s, "/storage/work", "@D")
		s = rep(s, rt, "@ROOT"); s = rep(s, w, "@W")
		print s
	}' "$1"
}

# Processes of this case: every run gets VOS_IT_CASE=<case dir>/ in its
# environment (inherited by all it starts, the service included), and the
# service's command line names the case's directory.  The pattern comes from
# a file so that grep's own command line does not match.
leftovers() {
	printf '%s/\n' "$CW" > "$WORK/pattern"
	grep -l -a -F -f "$WORK/pattern" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/[a-z]*$|\1|p' | sort -u | grep -v -x -e "$$" || true
}

check_leftovers() {
	i=0
	while [ -n "$(leftovers)" ] && [ $i -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	left=$(leftovers)
	[ -z "$left" ] && return 0
	echo "processes left running after the case:" >> "$CW/problems"
	for pid in $left; do
		echo "  $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" >> "$CW/problems"
	done
	# They are ours (started by this case): end them, by pid.
	# shellcheck disable=SC2086
	kill -9 $left 2>/dev/null
	return 1
}

check_sanitizers() {
	found=0
	for f in "$SANLOG"/*; do
		[ -f "$f" ] || continue
		found=1
		echo "sanitizer report $(basename "$f"):" >> "$CW/problems"
		head -n 60 "$f" >> "$CW/problems"
		rm -f "$f"
	done
	return $found
}

run_native() {  # FUNCTION OUTFILE
	VOS_IT_CASE=$CW/ timeout -k 5 "$RUN_TIMEOUT" sh "$HERE/lib/runcase.sh" "$CF" "$1" "$ND" "$TN" > "$2" 2>&1
	echo "exit status $?" >> "$2"
}

run_forwarded() {  # FUNCTION OUTFILE
	VOS_IT_CASE=$CW/ timeout -k 5 "$RUN_TIMEOUT" "$VOSCTL" local run --storage-root "$ROOT" -- \
		sh "$HERE/lib/runcase.sh" "$CF" "$1" /storage/work "$TF" > "$2" 2>&1
	echo "exit status $?" >> "$2"
}

# Run one case; sets RESULT to ok or FAIL.
run_case() {  # NAME FILE [PROGRAM]
	NAME=$1
	CF=$2
	PROG=${3:-}
	export PROG
	CW=$WORK/$NAME
	ND=$CW/native/work
	ROOT=$CW/root
	TN=$CW/tn
	TF=$CW/tf
	mkdir -p "$ND" "$ROOT/work" "$TN" "$TF"
	: > "$CW/problems"
	CASE_MODE=compare
	unset -f body setup expected custom 2>/dev/null
	# shellcheck disable=SC1090
	. "$CF"
	if [ -n "$PROG" ] && [ ! -x "$PROG" ]; then
		echo "test program $PROG was not built" >> "$CW/problems"
	fi
	case $CASE_MODE in
	compare)
		if command -v setup > /dev/null 2>&1; then
			(D=$ND T=$TN; cd "$TN" && setup) >> "$CW/problems" 2>&1
			(D=$ROOT/work T=$TF; cd "$TF" && setup) >> "$CW/problems" 2>&1
		fi
		run_native body "$CW/a.raw"
		run_forwarded body "$CW/b.raw"
		# A test program checks itself: failing natively with the same
		# output as forwarded is still a failure (lib/program.sh prints
		# "exit N" after the program).
		if [ -n "$PROG" ] && ! grep -qx 'exit 0' "$CW/a.raw"; then
			echo "the program failed natively ($(grep '^exit ' "$CW/a.raw" | head -n 1))" >> "$CW/problems"
		fi
		;;
	expect)
		if command -v setup > /dev/null 2>&1; then
			(D=$ROOT/work T=$TF; cd "$TF" && setup) >> "$CW/problems" 2>&1
		fi
		(sh "$HERE/lib/runcase.sh" "$CF" expected /storage/work "$TN"; echo "exit status 0") > "$CW/a.raw" 2>&1
		run_forwarded body "$CW/b.raw"
		;;
	custom)
		(sh "$HERE/lib/runcase.sh" "$CF" expected "$ND" "$TN"; echo "exit status 0") > "$CW/a.raw" 2>&1
		VOS_IT_CASE=$CW/ timeout -k 5 "$RUN_TIMEOUT" sh "$HERE/lib/runcase.sh" "$CF" custom "$ND" "$TF" > "$CW/b.raw" 2>&1
		echo "exit status $?" >> "$CW/b.raw"
		;;
	*)
		echo "unknown CASE_MODE '$CASE_MODE' in $CF" >> "$CW/problems"
		: > "$CW/a.raw"; : > "$CW/b.raw"
		;;
	esac
	check_leftovers
	check_sanitizers
	normalise "$CW/a.raw" > "$CW/a.out"
	normalise "$CW/b.raw" > "$CW/b.out"
	if diff -u --label native --label forwarded "$CW/a.out" "$CW/b.out" > "$CW/diff" &&
	   [ ! -s "$CW/problems" ]; then
		if why=$(pending_reason "$NAME"); then
			RESULT=FAIL
			echo "FAIL $PREFIX$NAME"
			echo "    now passes: remove it from pending.list ($why)"
		else
			RESULT=ok
			echo "ok $PREFIX$NAME"
		fi
	elif why=$(pending_reason "$NAME"); then
		RESULT=PENDING
		echo "PENDING $PREFIX$NAME ($why)"
		if [ "${VOS_IT_PENDING_DIFF:-0}" = 1 ]; then
			head -n 80 "$CW/diff" | sed 's/^/    /'
			sed 's/^/    /' "$CW/problems"
		fi
	else
		RESULT=FAIL
		echo "FAIL $PREFIX$NAME"
		[ "$CASE_MODE" = compare ] || sed -i '1,2s/^--- native/--- expected/' "$CW/diff"
		head -n 80 "$CW/diff" | sed 's/^/    /'
		n=$(wc -l < "$CW/diff")
		[ "$n" -gt 80 ] && echo "    ... ($((n - 80)) more diff lines)"
		sed 's/^/    /' "$CW/problems"
	fi
	[ "${VOS_IT_KEEP:-0}" = 1 ] || rm -rf "$CW"
}

# ---- expected failures ----------------------------------------------------

PENDING_LIST=$HERE/pending.list

# "name reason" for the entries of pending.list that apply to this mode.
pending_entries() {
	[ -f "$PENDING_LIST" ] || return 0
	awk -v mode="$MODE" '
	{
		line = $0; why = ""
		if ((i = index(line, "#")) > 0) {
			why = substr(line, i + 1); line = substr(line, 1, i - 1)
		}
		if (split(line, w, " ") < 1) next
		name = w[1]
		if ((j = index(name, "/")) > 0) {
			if (substr(name, 1, j - 1) != mode) next
			name = substr(name, j + 1)
		}
		sub(/^ +/, "", why)
		print name, why
	}' "$PENDING_LIST"
}

# The reason a case is pending (empty output and status 1 if it is not).
pending_reason() {  # NAME
	awk -v n="$1" '$1 == n { $1 = ""; sub(/^ /, ""); print; found = 1; exit }
		END { exit !found }' "$WORK/pending"
}

# ---- main -----------------------------------------------------------------

[ "$(id -u)" = 0 ] || echo "note: not root: the EACCES case needs root to set up its files" >&2
passed=0
failed=0
pending=0
start=$(date +%s)
case_list > "$WORK/cases"
pending_entries > "$WORK/pending"
if [ -z "$FILTER" ]; then
	# A pending entry must name a case (of any mode: a program left out
	# of this mode's list still counts).
	{
		cat "$WORK/cases"
		for c in "$TOP"/tests/programs/*.c; do echo "prog-$(basename "$c" .c)"; done
	} > "$WORK/names"
	while read -r n why; do
		if ! awk -v n="$n" '$1 == n { found = 1 } END { exit !found }' "$WORK/names"; then
			echo "FAIL pending.list"
			echo "    names no case: $n"
			failed=$((failed + 1))
		fi
	done < "$WORK/pending"
fi
while read -r n f p; do
	selected "$n" || continue
	run_case "$n" "$f" "$p" < /dev/null
	case $RESULT in
	ok) passed=$((passed + 1)) ;;
	PENDING) pending=$((pending + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done < "$WORK/cases"
echo "integration ($MODE): $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed, $pending pending"
[ "$failed" = 0 ]
