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
#   BENCH_TAR_TREE=DIR the local tree `tar cf /dev/null` reads (default /usr/share)
#   BENCH_AB_LIB=FILE  another build's libvirtuos.so (e.g. of an older commit):
#                      adds A/B steps, forwarded pread under FILE (the "native"
#                      columns) vs under this build's library ("ours")
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
SHIM=$BUILD/bench/dispatch_shim.so   # libvirtuos/dispatch alone, preloadable
TAR_TREE=${BENCH_TAR_TREE:-/usr/share}
AB_LIB=${BENCH_AB_LIB:-}

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
	make -s BUILD="$BUILD" SAN= "${bins[@]}" "$SERVICED" "$LIB" "$SHIM" >&2 ||
		die "build failed"
fi
for f in "${bins[@]}" "$SERVICED" "$LIB" "$SHIM" ${AB_LIB:+"$AB_LIB"}; do
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

# The network service (bench_tcp), next to the spinning storage service in
# its run directory; --max-workers above the idle benchmark's 1000 blocked
# recv calls (one worker each).
NET_IDLE=${BENCH_NET_IDLE:-1000}
NETCONF=$WORK/vos-net.conf
printf 'service storage storage\nroute /storage storage\nservice network network\nroute-family inet network\n' >"$NETCONF"
"$SERVICED" --role network --root "$ROOT" --rundir "$RUN_SPIN" --max-workers $((NET_IDLE + 24 > 1024 ? 1024 : NET_IDLE + 24)) \
	${BENCH_WORKERS:+--workers "$BENCH_WORKERS"} >"$WORK/serviced-net.log" 2>&1 &
NETPID=$!
pids+=("$NETPID")
for ((i = 0; i < 100; i++)); do
	[ -S "$RUN_SPIN/network.sock" ] && break
	kill -0 "$NETPID" 2>/dev/null || { cat "$WORK/serviced-net.log" >&2; die "network vos-serviced exited at start"; }
	sleep 0.05
done
[ -S "$RUN_SPIN/network.sock" ] || die "the network vos-serviced did not listen within 5 s"


# --- benchmarks ----------------------------------------------------------------
RAW=$OUT/raw.txt
: >"$RAW"
step=0
steps=16
[ -n "$AB_LIB" ] && steps=19
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

# bench_pread, native side in a process without the library (which catches
# even syscall(SYS_pread64) once it catches system calls), forwarded side
# under it; the two RESULT lines (ours columns only) joined into one.
pread_sides() {   # latency|throughput args...
	local mode=$1 d=$WORK/pread
	shift
	mkdir -p "$d"
	local args=(--remote /storage/preadfile --native "$ROOT/preadfile" --reps "$REPS" "$@")
	"$OUT/bench_pread" "$mode" --side native "${args[@]}" >"$d/native" || return 1
	preloaded "$OUT/bench_pread" "$mode" --side remote "${args[@]}" >"$d/remote" || return 1
	awk '$1 == "RESULT" && FILENAME == ARGV[1] { n[$2] = $7 " " $8 " " $9; next }
	     $1 == "RESULT" && ($2 in n) { print "RESULT", $2, $3, n[$2], $7, $8, $9 }' \
		"$d/native" "$d/remote"
}

# A/B: the forwarded side of bench_pread under BENCH_AB_LIB, then under this
# build's library (each REPS repetitions), joined into one RESULT line per
# metric (A in the native columns).
ab_sides() {   # latency|throughput args...
	local mode=$1 d=$WORK/ab lib=$AB_LIB
	shift
	mkdir -p "$d"
	case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
	local args=(--remote /storage/preadfile --native "$ROOT/preadfile" --reps "$REPS" "$@")
	env -u VOS_CONFIG LD_PRELOAD="$lib" VOS_RUNDIR="$RUN_SPIN" \
		"$OUT/bench_pread" "$mode" --side remote "${args[@]}" >"$d/a" || return 1
	preloaded "$OUT/bench_pread" "$mode" --side remote "${args[@]}" >"$d/b" || return 1
	awk '$1 == "RESULT" && FILENAME == ARGV[1] { n[$2] = $7 " " $8 " " $9; next }
	     $1 == "RESULT" && ($2 in n) { print "RESULT", $2, $3, n[$2], $7, $8, $9 }' \
		"$d/a" "$d/b"
}

# bench_tcp: native in a process without the library, ours under it with
# inet routed to the network service (client and server threads both
# forwarded); the RESULT lines joined, plus NAME_notifies (client + service
# notifications per request, VOS_STATS) and whatever ours-only lines the
# remote side printed.  A side that does not finish within BENCH_NET_TIMEOUT
# seconds (default 30) prints "HUNG NAME" instead of failing the run.
tcp_sides() {   # mode args...
	local mode=$1 d=$WORK/tcp lib=$LIB to=${BENCH_NET_TIMEOUT:-30}
	shift
	mkdir -p "$d"
	case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
	timeout -s KILL "$to" "$OUT/bench_tcp" "$mode" --side native --reps "$REPS" "$@" >"$d/native" ||
		{ echo "HUNG native $mode $*"; return 0; }
	if ! env VOS_CONFIG="$NETCONF" LD_PRELOAD="$lib" VOS_RUNDIR="$RUN_SPIN" VOS_STATS=1 \
		timeout -s KILL "$to" "$OUT/bench_tcp" "$mode" --side remote --reps "$REPS" "$@" \
		>"$d/remote" 2>"$d/stats"; then
		echo "HUNG remote $mode $* (killed after $to s; native: $(awk '$1 == "RESULT" { print $2, $7, $3 }' "$d/native"))"
		return 0
	fi
	awk '$1 == "RESULT" && FILENAME == ARGV[1] { n[$2] = $7 " " $8 " " $9; next }
	     FILENAME == ARGV[2] && $1 == "RESULT" && ($2 in n) { print "RESULT", $2, $3, n[$2], $7, $8, $9; last = $2; next }
	     FILENAME == ARGV[2] && $1 == "RESULT" { print; next }
	     FILENAME == ARGV[3] && / network requests=/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["requests"] > 0)
			printf "RESULT %s_notifies per-req - - - %.4g %.4g %.4g\n", last,
				(v["client_notifies"] + v["service_notifies"]) / v["requests"],
				(v["client_notifies"] + v["service_notifies"]) / v["requests"],
				(v["client_notifies"] + v["service_notifies"]) / v["requests"] }' \
		"$d/native" "$d/remote" "$d/stats"
}

shim() {   # path command... : run it with libvirtuos/dispatch alone (VOS_SHIM=path)
	local lib=$SHIM how=$1
	shift
	case $lib in /*) ;; *) lib=$PWD/$lib ;; esac
	env VOS_SHIM="$how" LD_PRELOAD="$lib" "$@"
}

# Whole-process comparisons: a process with the dispatcher installed cannot
# measure "native" itself, so these run the same program natively and
# preloaded in turn (native, then each preloaded variant, REPS rounds) and
# print RESULT lines from the collected values.  emit NAME UNIT NATIVE_FILE OURS_FILE
emit() {
	awk -v name="$1" -v unit="$2" '
		function stat(f,    n, v, i, j, t) {
			n = 0
			while ((getline t < f) > 0) v[++n] = t + 0
			close(f)
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			return sprintf("%.4g %.4g %.4g", med, v[1], v[n])
		}
		BEGIN { printf "RESULT %s %s %s %s\n", name, unit, stat(ARGV[1]), stat(ARGV[2]); exit }
	' "$3" "$4"
}

getppid_rounds() {   # REPS rounds of bench_getppid: native, libvirtuos.so, dispatch alone (precheck)
	local d=$WORK/getppid r v
	mkdir -p "$d"
	for ((r = 0; r < REPS; r++)); do
		"$OUT/bench_getppid" >"$d/native.out"
		preloaded "$OUT/bench_getppid" >"$d/lib.out"
		VOS_DISPATCH=lazy preloaded "$OUT/bench_getppid" >"$d/lazy.out"
		shim precheck "$OUT/bench_getppid" >"$d/shim.out"
		for v in native lib lazy shim; do
			awk '$1 == "getppid_glibc" { print $2 }' "$d/$v.out" >>"$d/$v.glibc"
			awk '$1 == "getppid_syscall" { print $2 }' "$d/$v.out" >>"$d/$v.syscall"
			awk '$1 == "getppid_glibc_cpu" { print $2 }' "$d/$v.out" >>"$d/$v.glibc.cpu"
			awk '$1 == "getppid_syscall_cpu" { print $2 }' "$d/$v.out" >>"$d/$v.syscall.cpu"
		done
	done
	emit lib_getppid ns "$d/native.glibc" "$d/lib.glibc"
	emit lib_getppid_syscall ns "$d/native.syscall" "$d/lib.syscall"
	emit lib_getppid_cpu ns "$d/native.glibc.cpu" "$d/lib.glibc.cpu"
	emit lib_getppid_syscall_cpu ns "$d/native.syscall.cpu" "$d/lib.syscall.cpu"
	emit lazy_getppid_cpu ns "$d/native.glibc.cpu" "$d/lazy.glibc.cpu"
	emit lazy_getppid_syscall_cpu ns "$d/native.syscall.cpu" "$d/lazy.syscall.cpu"
	emit shim_getppid ns "$d/native.glibc" "$d/shim.glibc"
	emit shim_getppid_syscall ns "$d/native.syscall" "$d/shim.syscall"
}

timed() {   # FILE command... : append the wall ms of one run to FILE, its CPU ms (user + system) to FILE.cpu
	local f=$1 t0 t1
	shift
	t0=$(date +%s%N)
	# bash's `times` in a subshell: its second line is the children's user and system time.
	( "$@" >/dev/null 2>&1 || true; times ) | awk '
		function ms(t,    m) { m = t; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", t); sub(/s$/, "", t); return m * 60000 + t * 1000 }
		NR == 2 { printf "%d\n", ms($1) + ms($2) }' >>"$f.cpu"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000)) >>"$f"
}

# CPU time is less sensitive to other load on the machine than wall time
# (it still grows with cache and frequency effects): both are reported.
tar_rounds() {   # REPS rounds of tar cf /dev/null TREE: native, libvirtuos.so, dispatch alone
	local d=$WORK/tar r v
	local cmd=(tar cf /dev/null "$TAR_TREE")
	mkdir -p "$d"
	"${cmd[@]}" >/dev/null 2>&1 || true     # warm the page cache
	for ((r = 0; r < REPS; r++)); do
		timed "$d/native" "${cmd[@]}"
		timed "$d/lib" preloaded "${cmd[@]}"
		timed "$d/lazy" env -u VOS_CONFIG VOS_DISPATCH=lazy LD_PRELOAD="$(realpath "$LIB")" \
			VOS_RUNDIR="$RUN_SPIN" "${cmd[@]}"
		timed "$d/precheck" shim precheck "${cmd[@]}"
		timed "$d/handler" shim handler "${cmd[@]}"
		[ -z "$AB_LIB" ] || timed "$d/ab" env -u VOS_CONFIG LD_PRELOAD="$(realpath "$AB_LIB")" \
			VOS_RUNDIR="$RUN_SPIN" "${cmd[@]}"
	done
	emit tar_lib ms "$d/native" "$d/lib"
	emit tar_lib_cpu ms "$d/native.cpu" "$d/lib.cpu"
	emit tar_lazy ms "$d/native" "$d/lazy"
	emit tar_lazy_cpu ms "$d/native.cpu" "$d/lazy.cpu"
	[ -z "$AB_LIB" ] || emit tar_ab_lib ms "$d/native" "$d/ab"
	[ -z "$AB_LIB" ] || emit tar_ab_lib_cpu ms "$d/native.cpu" "$d/ab.cpu"
	emit tar_shim_precheck ms "$d/native" "$d/precheck"
	emit tar_shim_handler ms "$d/native" "$d/handler"
	emit tar_shim_precheck_cpu ms "$d/native.cpu" "$d/precheck.cpu"
	emit tar_shim_handler_cpu ms "$d/native.cpu" "$d/handler.cpu"
	VOS_STATS=1 preloaded "${cmd[@]}" 2>&1 >/dev/null | grep 'dispatch mode=' >&2 || true
	VOS_SHIM_STATS=1 shim handler "${cmd[@]}" 2>&1 >/dev/null | grep '^dispatch_shim:' >&2 || true
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
	pread_sides latency --iters 30000 --name pread_4k
run "4 KiB pread throughput, 1/2/4 threads" \
	pread_sides throughput --threads 1,2,4 --ms "$MS" --name pread_tput
run "getppid caught by libvirtuos/dispatch: trampoline, SIGSYS path, own gate (vs native)" \
	"$OUT/bench_dispatch" --reps "$REPS" --iters 20000
run "fault-safe copies of program memory (uaccess.c) vs plain copies and process_vm_readv" \
	"$OUT/bench_uaccess" --reps "$REPS"
run "getppid in a whole process: native, under libvirtuos.so, under the dispatcher alone" \
	getppid_rounds
run "tar cf /dev/null $TAR_TREE: native, under libvirtuos.so, under the dispatcher alone" \
	tar_rounds
run "TCP 1-byte round trip over loopback, both ends in the program" \
	tcp_sides rtt --iters 5000
run "TCP connections accepted per second (connect, accept, close)" \
	tcp_sides accept --ms "$MS"
run "TCP bulk throughput, ${BENCH_NET_MIB:-1024} MiB in 64 KiB sends" \
	tcp_sides bulk --mib "${BENCH_NET_MIB:-1024}"
run "TCP round trip of one active connection among $NET_IDLE idle ones, epoll" \
	tcp_sides idle --idle "$NET_IDLE" --wait epoll --iters 2000 --name tcp_idle_epoll
run "the same, one thread blocked in recv per connection (service threads and RSS)" \
	tcp_sides idle --idle "$NET_IDLE" --wait threads --iters 2000 --service-pid "$NETPID" \
	--name tcp_idle_threads
run "the same with 28 idle connections (below the client's 31 call slots per channel)" \
	tcp_sides idle --idle 28 --wait threads --iters 2000 --service-pid "$NETPID" \
	--name tcp_idle28_threads
if [ -n "$AB_LIB" ]; then
	run "A/B: 4 KiB forwarded pread, $AB_LIB vs this build" \
		ab_sides latency --iters 30000 --name pread_4k_ab
	run "A/B: 4 KiB forwarded pread throughput, 1/2/4 threads, $AB_LIB vs this build" \
		ab_sides throughput --threads 1,2,4 --ms "$MS" --name pread_ab_tput
	run "A/B: the way into the library (pread refused with EINVAL, CPU time), $AB_LIB vs this build" \
		ab_sides entry --iters 200000 --name pread_entry_ab
fi
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
