#!/usr/bin/env bash
# benchmarks/xen.sh - `make bench-xen`: the micro-benchmarks over the Xen
# transport, in the guest set under QEMU: dom0 programs against the storage
# domain, native and forwarded measured in the same run, in dom0.
#
#   boot_s                 QEMU start -> every service domain ready (vosctl up)
#   xen_null_call          VOS_OP_NOP over grants + event channel vs getppid(),
#                          spinning client, spinning service workers
#   xen_null_call_sleepclient   the client sleeps at once (--spin 0)
#   xen_pread_4k           4 KiB cached pread through libvirtuos vs native pread
#                          of a dom0 tmpfs file
#   xen_null_call_sleepsvc the same null call after the storage domain was
#                          restarted with vos.spin=0 (its workers sleep at once)
#   *_notifies             event-channel notifications (both directions) per call
#
# Writes build/bench/xen-results.{csv,md} and xen-raw.txt.  Everything runs
# under TCG, where even getppid() costs microseconds in a PV dom0: only the
# ratios mean anything.
#
# Environment: BUILD (default build), BENCH_REPS (default 5),
#              BENCH_PORT (host port for the network domain, default 18088).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
REPS=${BENCH_REPS:-5}
PORT=${BENCH_PORT:-18088}
OUT=$BUILD/bench
VOSCTL=$BUILD/bin/vosctl
RAW=$OUT/xen-raw.txt

say() { printf 'bench-xen: %s\n' "$*" >&2; }
die() { printf 'bench-xen: error: %s\n' "$*" >&2; exit 1; }

case $REPS in ''|*[!0-9]*|0) die "BENCH_REPS must be a number >= 1";; esac
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	sed -n '2,22s/^# \{0,1\}//p' "$0"
	exit 0
fi
[ $# = 0 ] || die "no arguments expected (see --help)"

say "building"
make -s BUILD="$BUILD" SAN= all >&2 || die "build failed"
mkdir -p "$OUT"
: >"$RAW"

cleanup() { "$VOSCTL" down --timeout 120 >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

say "[1/5] booting the guest set (vosctl up)"
"$VOSCTL" up --port "$PORT" 2>&1 | tee "$OUT/xen-up.log" >&2
boot=$(sed -n 's/.*all domains up after \([0-9.]*\) s.*/\1/p' "$OUT/xen-up.log" | tail -n 1)
[ -n "$boot" ] || die "the guest set did not come up (see $OUT/xen-up.log)"
echo "RESULT boot_s s - - - $boot $boot $boot" >>"$RAW"

vx() { "$VOSCTL" exec --timeout 900 "$1"; }
bench() {   # title dom0-command
	say "$1"
	vx "$2" | tee -a "$RAW" | sed 's/^/bench-xen:   /' >&2 || die "benchmark failed: $2"
}
B=/opt/virtuos/bench

bench "[2/5] null call, spinning client and workers" \
	"VOS_TRANSPORT=xen $B/bench_null latency --rundir /tmp --reps $REPS --iters 3000 --name xen_null_call"
bench "[3/5] null call, sleeping client (--spin 0)" \
	"VOS_TRANSPORT=xen $B/bench_null latency --rundir /tmp --spin 0 --reps $REPS --iters 1000 --name xen_null_call_sleepclient"
bench "[4/5] 4 KiB cached pread through libvirtuos vs native (dom0 tmpfs)" \
	"head -c 1048576 /dev/urandom > /tmp/preadfile && vos-run sh -c 'cp /tmp/preadfile /storage/preadfile' &&
	 a='--remote /storage/preadfile --native /tmp/preadfile --reps $REPS --iters 2000 --name xen_pread_4k' &&
	 $B/bench_pread latency --side native \$a > /tmp/pread.native &&
	 vos-run $B/bench_pread latency --side remote \$a > /tmp/pread.remote &&
	 awk '\$1 == \"RESULT\" && FILENAME == ARGV[1] { n = \$7 \" \" \$8 \" \" \$9; next }
	      \$1 == \"RESULT\" { print \"RESULT\", \$2, \$3, n, \$7, \$8, \$9 }' /tmp/pread.native /tmp/pread.remote"
say "[5/5] restarting the storage domain with sleeping workers (vos.spin=0)"
vx "vos-domains restart storage vos.spin=0" >&2 || die "restart of the storage domain failed"
vx "grep 'vos-serviced: ready' /var/log/xen/guest-storage.log | tail -n 1" | grep -q 'spin 0' ||
	die "the restarted storage domain does not run vos-serviced --spin 0"
bench "      null call, spinning client, sleeping workers" \
	"VOS_TRANSPORT=xen $B/bench_null latency --rundir /tmp --reps $REPS --iters 1000 --name xen_null_call_sleepsvc"

awk -f benchmarks/summarize.awk -v reps="$REPS" -v csv="$OUT/xen-results.csv" "$RAW" >"$OUT/xen-results.md"
say "results: $OUT/xen-results.csv $OUT/xen-results.md"
echo
cat "$OUT/xen-results.md"
