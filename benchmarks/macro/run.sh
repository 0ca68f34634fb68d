#!/usr/bin/env bash
# benchmarks/macro/run.sh - `make bench-macro`: macro-benchmarks (real programs,
# native vs forwarded to the storage service, interleaved in one run) and the
# fault-recovery experiment, local mode.  Run with --help.
#
# A shell script rather than a `vosctl bench` subcommand: the work is driving
# Debian programs (sysbench, later mariadbd, httpd, ab), collecting their
# numbers and calling gnuplot, which is shell work, and it sits next to the
# micro-benchmarks' run.sh.
#
# A benchmark is a file benchmarks/macro/NAME.sh defining (NAME is in
# BENCHMARKS below; adding OLTP or Apache is one more such file):
#   NAME_describe              one line for --list and the report
#   NAME_check                 return non-zero (after saying why) if a tool is missing
#   NAME_configs               the configurations of $PROFILE, one word each, in order
#   NAME_unit                  the unit of the measured value (higher is better)
#   NAME_target CONFIG         ">=R" (ours/native must reach R) or "-"
#   NAME_round_begin SIDE REP  set up a repetition on SIDE (prepare); may call sample
#   NAME_measure SIDE CONFIG REP  print one number (the value); may call stat_note
#   NAME_round_end SIDE REP    tear it down (cleanup)
# SIDE is "native" (a directory on the same file system) or "ours" (/storage
# under `vosctl local run`); on_side runs a command on a side.  The driver
# interleaves: each repetition runs every configuration on both sides in
# turn, native first in odd repetitions and ours first in even ones.
#
# An experiment (EXPERIMENTS below) is a file defining NAME_describe,
# NAME_check and NAME_run, which writes $OUT/NAME.csv and $OUT/NAME.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOP=$PWD

BENCHMARKS="fileio apache"
EXPERIMENTS="recover"

usage() {
	cat <<'EOF'
usage: benchmarks/macro/run.sh [--quick | --full] [OPTIONS] [NAME...]
       make bench-macro [BENCH_MACRO_ARGS="--quick ..."]

Macro-benchmarks in local mode: each one runs natively (a directory on the same
file system) and on /storage (through `vosctl local run`, one storage service),
interleaved in the same run, and the fault-recovery experiment kills, crashes
or hangs the storage service under a running workload.  Results in OUT
(default build/bench/macro): NAME.csv, NAME.md, NAME.png per benchmark,
recover.csv, recover.md, recover.png (timeline), machine.txt,
results.md (everything), raw.txt (every sample).

NAME: fileio (sysbench fileio), recover (fault recovery); default: all.

  --quick        the CI smoke profile (about 2-3 minutes): fewer modes and
                 threads, 1 s runs, short faults; still both sides
  --full         the profile for users (default; about 25 minutes)
  --reps N       repetitions per configuration (default 3)
  --time S       seconds per sysbench run (quick 1, full 5)
  --out DIR      result directory (default build/bench/macro)
  --workdir DIR  where the file sets live (default: a new directory in
                 $TMPDIR or /tmp); native and ours are both inside it
  --keep         keep the work directory (files, service logs)
  --no-build     use the binaries already in BUILD
  --check        after the run, check the results (benchmarks/macro/check.sh)
  --list         list the benchmarks and experiments
  --xen          the guest-set variant (make bench-macro-xen): not built yet

Environment: BUILD (build directory, default build), VOS_DEAD_AFTER_MS (passed
to the recovery workload; the library's default is 10000).
EOF
}

say() { printf 'macro: %s\n' "$*" >&2; }
die() { printf 'macro: error: %s\n' "$*" >&2; exit 1; }

PROFILE=full
REPS=3
RUN_TIME=
OUT=
WORKDIR=
KEEP=0
BUILD_IT=1
CHECK=0
NAMES=()
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--quick) PROFILE=quick ;;
	--full) PROFILE=full ;;
	--reps) REPS=${2:?--reps needs a value}; shift ;;
	--time) RUN_TIME=${2:?--time needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	--workdir) WORKDIR=${2:?--workdir needs a value}; shift ;;
	--keep) KEEP=1 ;;
	--no-build) BUILD_IT=0 ;;
	--check) CHECK=1 ;;
	--list) LIST=1 ;;
	--xen)
		cat >&2 <<'EOF'
macro: error: bench-macro-xen (the macro-benchmarks and the recovery experiment in the Xen
guest set, with a native baseline on dom0's own disk and NIC) is not built yet: issue 10,
items 1-3, guest-set part.  `make bench-macro` runs the local-mode set.
EOF
		exit 2 ;;
	-*) printf 'macro: unknown option %s (try --help)\n' "$1" >&2; exit 2 ;;
	*) NAMES+=("$1") ;;
	esac
	shift
done
case $REPS in ''|*[!0-9]*|0) die "--reps must be a positive number" ;; esac
if [ -z "$RUN_TIME" ]; then
	RUN_TIME=5
	[ "$PROFILE" = quick ] && RUN_TIME=1
fi
case $RUN_TIME in ''|*[!0-9]*|0) die "--time must be a positive number of seconds" ;; esac

for f in $BENCHMARKS $EXPERIMENTS; do
	# shellcheck source=/dev/null
	. "$TOP/benchmarks/macro/$f.sh"
done
if [ "${LIST:-0}" = 1 ]; then
	for f in $BENCHMARKS $EXPERIMENTS; do
		printf '%-10s %s\n' "$f" "$("${f}_describe")"
	done
	exit 0
fi
[ ${#NAMES[@]} -eq 0 ] && read -r -a NAMES <<<"$BENCHMARKS $EXPERIMENTS"
for n in "${NAMES[@]}"; do
	case " $BENCHMARKS $EXPERIMENTS " in *" $n "*) ;; *) die "unknown benchmark '$n' (try --list)" ;; esac
done
wanted() { local n; for n in "${NAMES[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
OUT=${OUT:-$BUILD/bench/macro}
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
VOSCTL=$BUILD/bin/vosctl
SERVICED=$BUILD/bin/vos-serviced
LIB=$BUILD/lib/libvirtuos.so
LOADGEN=$BUILD/bench/macro/loadgen

# --- build and tools -----------------------------------------------------------
if [ "$BUILD_IT" = 1 ]; then
	say "building (BUILD=$BUILD)"
	make -s -C "$TOP" BUILD="$BUILD" SAN= "$VOSCTL" "$SERVICED" "$LIB" "$LOADGEN" >&2 ||
		die "build failed"
fi
for f in "$VOSCTL" "$SERVICED" "$LIB" "$LOADGEN"; do
	[ -x "$f" ] || [ -f "$f" ] || die "missing $f (build it, or drop --no-build)"
done
for n in "${NAMES[@]}"; do
	"${n}_check" || die "$n cannot run (tools/install-deps.sh installs what is missing)"
done
command -v gnuplot >/dev/null || say "gnuplot not found: no charts (CSV and Markdown only)"

# --- work directory --------------------------------------------------------------
mkdir -p "$OUT"
if [ -n "$WORKDIR" ]; then
	mkdir -p "$WORKDIR"
	WORK=$(mktemp -d "$WORKDIR/vos-macro.XXXXXX")
else
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vos-macro.XXXXXX")
fi
NATIVE_ROOT=$WORK/native      # the native side's files
OURS_ROOT=$WORK/ours          # the storage service's export root (/storage)
mkdir -p "$NATIVE_ROOT" "$OURS_ROOT"
cleanup() {   # stop what is still running in the background (services, generator)
	local p
	for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
	for p in $(jobs -p); do wait "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -c 0     # a crashed (SIGSEGV) service leaves no core file behind

RAW=$OUT/raw.txt
: >"$RAW"

# --- helpers for benchmark definitions ---------------------------------------------
# on_side SIDE SUBDIR CMD...: run CMD in SUBDIR of the side's root (created
# beforehand by the caller): natively, or on /storage/SUBDIR under a storage
# service of its own (vosctl local run, channel counters on stderr).
on_side() {
	local side=$1 sub=$2
	shift 2
	case $side in
	native) (cd "$NATIVE_ROOT/$sub" && exec "$@") ;;
	ours) "$VOSCTL" local run --stats --storage-root "$OURS_ROOT" -- \
		sh -c 'cd "$1" && shift && exec "$@"' sh "/storage/$sub" "$@" ;;
	*) die "on_side: unknown side $side" ;;
	esac
}
# sample BENCH CONFIG SIDE REP VALUE: record one measurement.
sample() { printf 'SAMPLE %s %s %s %s %s\n' "$@" >>"$RAW"; }
# stat_note BENCH CONFIG REP FILE: the channel counters (VOS_STATS) the
# program named PROG printed in FILE (its stderr), for the summary.
stat_note() {
	awk -v b="$1" -v c="$2" -v r="$3" -v prog="$5" '
		index($0, "libvirtuos: " prog "[") == 1 && / storage requests=/ {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "STAT %s %s %s requests=%s notifies=%d sleeps=%d\n", b, c, r,
				v["requests"], v["client_notifies"] + v["service_notifies"],
				v["client_sleeps"] + v["service_sleeps"]
		}' "$4" >>"$RAW"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

machine_description() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	cat <<EOF
date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
commit: $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$TOP" diff --quiet 2>/dev/null || echo ' (uncommitted changes)')
cpus (nproc): $(nproc)
cpu model: ${cpu:-unknown}
memory: $mem
kernel: $(uname -r)
file system of the work directory: $(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')
sysbench: $(sysbench --version 2>/dev/null || echo none)
profile: $PROFILE, $REPS repetitions, ${RUN_TIME} s per sysbench run
load average at start: $(cat /proc/loadavg)
EOF
}

# Run one benchmark: interleaved rounds, then its CSV, Markdown and chart.
run_benchmark() {
	local b=$1 rep side c v n=0 total configs order t0 err el
	configs=$("${b}_configs")
	total=$(( $(echo "$configs" | wc -w) * 2 * REPS ))
	for c in $configs; do
		printf 'TARGET %s %s %s\n' "$b" "$c" "$("${b}_target" "$c")" >>"$RAW"
	done
	t0=$(date +%s)
	err=$WORK/$b.err
	for ((rep = 1; rep <= REPS; rep++)); do
		order="native ours"
		[ $((rep % 2)) = 0 ] && order="ours native"
		for side in $order; do
			say "[$b] repetition $rep/$REPS: set up $side (load $(load1))"
			"${b}_round_begin" "$side" "$rep"
		done
		printf 'LOAD %s %s\n' "$b" "$(load1)" >>"$RAW"
		for c in $configs; do
			for side in $order; do
				n=$((n + 1))
				if v=$("${b}_measure" "$side" "$c" "$rep" 2>"$err") && [ -n "$v" ]; then
					sample "$b" "$c" "$side" "$rep" "$v"
					el=$(( $(date +%s) - t0 ))
					say "[$b $n/$total, $el s, ~$(( el * (total - n) / n )) s left] rep $rep $c $side: $v $("${b}_unit")"
				else
					printf 'FAILED %s %s %s %s\n' "$b" "$c" "$side" "$rep" >>"$RAW"
					say "[$b $n/$total] rep $rep $c $side: FAILED; its output:"
					sed 's/^/macro:   /' "$err" >&2
				fi
			done
		done
		for side in $order; do
			"${b}_round_end" "$side" "$rep"
		done
	done
	awk -f "$TOP/benchmarks/macro/summarize.awk" -v bench="$b" -v unit="$("${b}_unit")" \
		-v csv="$OUT/$b.csv" "$RAW" >"$OUT/$b.md"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "csv='$OUT/$b.csv'; png='$OUT/$b.png'; unit='$("${b}_unit")'; \
			heading='$("${b}_describe"): native vs ours (median, min-max of $REPS)'" \
			"$TOP/benchmarks/macro/bars.gp" ||
			say "gnuplot chart of $b failed (the CSV is there)"
	fi
	say "[$b] done in $(( $(date +%s) - t0 )) s: $OUT/$b.csv"
}

# --- run ---------------------------------------------------------------------------
machine_description >"$OUT/machine.txt"
say "profile $PROFILE, $REPS repetitions; $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); work in $WORK"
start=$(date +%s)
for b in $BENCHMARKS; do
	wanted "$b" || continue
	rm -f "$OUT/$b.csv" "$OUT/$b.md" "$OUT/$b.png"
	run_benchmark "$b"
done
for e in $EXPERIMENTS; do
	wanted "$e" || continue
	rm -f "$OUT/$e.csv" "$OUT/$e.md" "$OUT/$e.png"
	"${e}_run"
done
{
	echo "load average at end: $(cat /proc/loadavg)"
	awk '$1 == "LOAD" { v = $3 + 0; if (n++ == 0 || v < lo) lo = v; if (v > hi) hi = v }
	     END { if (n) printf "1-min load during the rounds: %.2f-%.2f\n", lo, hi }' "$RAW"
	echo "measured in $(( $(date +%s) - start )) s"
} >>"$OUT/machine.txt"

{
	echo "# VirtuOS-NG macro-benchmarks, local mode"
	echo
	echo '```'
	cat "$OUT/machine.txt"
	echo '```'
	for n in $BENCHMARKS $EXPERIMENTS; do
		wanted "$n" || continue
		[ -f "$OUT/$n.md" ] || continue
		echo
		cat "$OUT/$n.md"
	done
} >"$OUT/results.md"
say "results: $OUT/results.md"
echo
cat "$OUT/results.md"
if [ "$CHECK" = 1 ]; then
	echo
	"$TOP/benchmarks/macro/check.sh" --out "$OUT" "${NAMES[@]}"
fi
