#!/usr/bin/env bash
# benchmarks/run.sh - `make bench`: the micro-benchmarks, native and forwarded
# measured in the same run, summarised in build/bench/results.{csv,md}.
#
# Environment (all optional):
#   BUILD=DIR          build directory (default build)
#   BENCH_REPS=N       repetitions per metric (default 7, at least 5 is sensible)
#   BENCH_MS=N         length of one throughput window in ms (default 200)
#   BENCH_WORKERS=N    vos-serviced --workers (default: the daemon's own default)
#   BENCH_KEEP=1       keep the scratch directory (file tree, daemon logs)
#   BENCH_BUILD=0      do not run make; use the programs already in BUILD
#
# Nothing is pinned to a CPU: on the 2-core machines the benchmark threads,
# the service's workers and everything else share both cores, so expect
# noise; every metric is the median of BENCH_REPS repetitions, with min/max.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
REPS=${BENCH_REPS:-7}
MS=${BENCH_MS:-200}
OUT=$BUILD/bench
SERVICED=$BUILD/bin/vos-serviced
LIB=$BUILD/lib/libvirtuos.so

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

case $REPS in ''|*[!0-9]*) die "BENCH_REPS must be a number";; esac
case $MS in ''|*[!0-9]*) die "BENCH_MS must be a number";; esac

# --- build -------------------------------------------------------------------
bins=()
for src in benchmarks/micro/*.c; do
	bins+=("$OUT/$(basename "$src" .c)")
done
if [ "${BENCH_BUILD:-1}" = 1 ]; then
	say "building (BUILD=$BUILD)"
	make -s BUILD="$BUILD" SAN= "${bins[@]}" "$SERVICED" "$LIB" >&2 ||
		die "build failed"
fi
for f in "${bins[@]}" "$SERVICED" "$LIB"; do
	[ -e "$f" ] || die "missing $f (build it, or drop BENCH_BUILD=0)"
done

# --- scratch tree and services -----------------------------------------------
WORK=$(mktemp -d /tmp/vos-bench.XXXXXX)
ROOT=$WORK/root
RUN_SPIN=$WORK/run-spin     # daemon with its default spin budget
RUN_SLEEP=$WORK/run-sleep   # daemon whose workers sleep at once (--spin 0)
mkdir -p "$ROOT" "$RUN_SPIN" "$RUN_SLEEP"
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "scratch directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1 MiB file for the pread benchmark (256 blocks of 4 KiB, all in the page cache).
head -c 1048576 /dev/urandom >"$ROOT/preadfile"

start_daemon() {   # rundir log extra-args...
	local run=$1 log=$2 i
	shift 2
	local args=(--role storage --root "$ROOT" --rundir "$run" "$@")
	[ -n "${BENCH_WORKERS:-}" ] && args+=(--workers "$BENCH_WORKERS")
	"$SERVICED" "${args[@]}" >"$log" 2>&1 &
	pids+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -S "$run/storage.sock" ] && return 0
		kill -0 "$!" 2>/dev/null || { cat "$log" >&2; die "vos-serviced ($*) exited at start"; }
		sleep 0.05
	done
	cat "$log" >&2
	die "vos-serviced did not create $run/storage.sock within 5 s"
}
start_daemon "$RUN_SPIN" "$WORK/serviced-spin.log"
start_daemon "$RUN_SLEEP" "$WORK/serviced-sleep.log" --spin 0


# --- benchmarks ----------------------------------------------------------------
RAW=$OUT/raw.txt
: >"$RAW"
step=0
steps=8
run() {   # title command...
	step=$((step + 1))
	say "[$step/$steps] $1"
	shift
	if ! "$@" | tee -a "$RAW" | sed 's/^/bench:   /' >&2; then
		die "benchmark failed: $*"
	fi
}
preloaded() {   # command... : run it under libvirtuos.so and the spinning service
	# The library's default routing table sends /storage to the storage service.
	local lib=$LIB
	case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
	env -u VOS_CONFIG LD_PRELOAD="$lib" VOS_RUNDIR="$RUN_SPIN" "$@"
}

t0=$(date +%s)
run "ring enqueue+dequeue vs liburcu wfcqueue" \
	"$OUT/bench_ring" --reps "$REPS"
run "remote null call vs getppid(), spinning worker" \
	"$OUT/bench_null" latency --rundir "$RUN_SPIN" --reps "$REPS" --iters 50000 --name null_call
run "remote null call vs getppid(), sleeping worker and client (spin 0)" \
	"$OUT/bench_null" latency --rundir "$RUN_SLEEP" --spin 0 --reps "$REPS" --iters 3000 \
	--name null_call_sleep
run "null call throughput, 1/2/4 threads" \
	"$OUT/bench_null" throughput --rundir "$RUN_SPIN" --reps "$REPS" --threads 1,2,4 --ms "$MS" \
	--name null_tput
run "4 KiB cached pread, forwarded (LD_PRELOAD) vs native" \
	preloaded "$OUT/bench_pread" latency --remote /storage/preadfile --native "$ROOT/preadfile" \
	--reps "$REPS" --iters 30000 --name pread_4k
run "4 KiB pread throughput, 1/2/4 threads" \
	preloaded "$OUT/bench_pread" throughput --remote /storage/preadfile \
	--native "$ROOT/preadfile" --reps "$REPS" --threads 1,2,4 --ms "$MS" --name pread_tput
run "getppid caught by libvirtuos/dispatch: trampoline, SIGSYS path, own gate (vs native)" \
	"$OUT/bench_dispatch" --reps "$REPS" --iters 20000
run "fault-safe copies of program memory (uaccess.c) vs plain copies and process_vm_readv" \
	"$OUT/bench_uaccess" --reps "$REPS"
say "measured in $(($(date +%s) - t0)) s"

# --- summary -------------------------------------------------------------------
awk -f benchmarks/summarize.awk -v reps="$REPS" -v csv="$OUT/results.csv" "$RAW" >"$OUT/results.md"
if command -v gnuplot >/dev/null 2>&1 && [ -f benchmarks/plot.gp ]; then
	gnuplot -e "csv='$OUT/results.csv'; png='$OUT/ratios.png'" benchmarks/plot.gp 2>/dev/null ||
		say "gnuplot chart failed (results are still in results.csv)"
fi
say "results: $OUT/results.csv $OUT/results.md"
echo
cat "$OUT/results.md"
