#!/usr/bin/env bash
# benchmarks/macro/check.sh - the smoke test of a bench-macro run (what
# `run.sh --check` and the test step bench-macro-quick run): every benchmark
# produced a row for every configuration it declared, with a positive value
# on both sides, no run failed, and each fault of the recovery experiment was
# recorded, followed by a successful operation after the restart, with the
# workload process alive to the end.  Asserts rows and sane values, never
# speed.  Prints one line per check and "N passed, M failed".
#
# usage: benchmarks/macro/check.sh [--out DIR] [NAME...]   (default: fileio recover)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=build/bench/macro
NAMES=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) NAMES+=("$1") ;;
	esac
	shift
done
[ ${#NAMES[@]} -eq 0 ] && NAMES=(fileio recover)
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {   # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# A benchmark: each configuration of its TARGET lines has a CSV row with
# positive medians on both sides; no FAILED line; its chart exists.
check_benchmark() {   # NAME
	local b=$1 csv=$OUT/$1.csv raw=$OUT/raw.txt c row
	if [ ! -s "$csv" ]; then
		bad "$b: $csv exists"
		return
	fi
	for c in $(awk -v b="$b" '$1 == "TARGET" && $2 == b { print $3 }' "$raw"); do
		row=$(awk -F, -v c="$c" '$2 == c' "$csv")
		# positive medians inside their min-max, a positive ratio
		check "$b $c: a row with sane values on both sides" \
			awk -F, -v c="$c" 'BEGIN { r = 1 }
				$2 == c && $4 + 0 > 0 && $7 + 0 > 0 && $10 + 0 > 0 &&
				$5 <= $4 + 0 && $4 <= $6 + 0 && $8 <= $7 + 0 && $7 <= $9 + 0 { r = 0 }
				END { exit r }' "$csv"
		[ -n "$row" ] || echo "   (no row for $c in $csv)"
	done
	check "$b: no failed run" sh -c "! grep -q '^FAILED $b ' '$raw'"
	if command -v gnuplot >/dev/null; then
		check "$b: chart $OUT/$b.png" test -s "$OUT/$b.png"
	fi
}

# The recovery experiment: one row per fault run (recover-FAULT.ev), each with
# the fault time, a first success after the restart, and the workload alive.
check_recover() {
	local csv=$OUT/recover.csv ev f
	if [ ! -s "$csv" ]; then
		bad "recover: $csv exists"
		return
	fi
	for ev in "$OUT"/recover-*.ev; do
		[ -e "$ev" ] || { bad "recover: no fault was run"; return; }
		f=${ev##*/recover-}
		f=${f%.ev}
		check "recover $f: the fault was recorded" grep -q "^FAULT $f " "$ev"
		check "recover $f: a successful operation after the restart" \
			awk -F, -v f="$f" 'BEGIN { r = 1 } $1 == f && $9 ~ /^[0-9.]+$/ { r = 0 } END { exit r }' "$csv"
		check "recover $f: operations succeeded before the fault" \
			awk -F, -v f="$f" 'BEGIN { r = 1 } $1 == f && $10 + 0 > 0 { r = 0 } END { exit r }' "$csv"
		check "recover $f: the workload process survived" \
			awk -F, -v f="$f" 'BEGIN { r = 1 } $1 == f && $12 == "yes" { r = 0 } END { exit r }' "$csv"
	done
	if command -v gnuplot >/dev/null; then
		check "recover: timeline chart $OUT/recover.png" test -s "$OUT/recover.png"
	fi
}

for n in "${NAMES[@]}"; do
	case $n in
	recover) check_recover ;;
	*) check_benchmark "$n" ;;
	esac
done
check "results.md written" test -s "$OUT/results.md"
check "machine description with the load at start and end" \
	sh -c "grep -q '^load average at start' '$OUT/machine.txt' && grep -q '^load average at end' '$OUT/machine.txt'"
echo "bench-macro check: $passed passed, $failed failed"
[ "$failed" = 0 ]
