#!/usr/bin/awk -f
# recover.awk - one fault of the recovery experiment: the harness's times
# (recover-FAULT.ev, first file) and the load generator's output (second
# file, see loadgen.c) into one CSV row of recover.csv on stdout and the
# timeline in -v dat= (seconds, ops/s, errors/s per bucket).
#   -v fault=NAME -v t_ms=T -v d_ms=D
# ev: FAULT <name> <SIGNAL> <us>, RESTART <us>, WORKLOAD_EXIT <status>
# (microseconds since the generator's START).

function fmt(x) { return x == "" ? "-" : sprintf("%.1f", x) }

FNR == 1 { file++ }
file == 1 && $1 == "FAULT" { sig = $3; fault_ms = $4 / 1000 }
file == 1 && $1 == "RESTART" { restart_ms = $2 / 1000 }
file == 1 && $1 == "WORKLOAD_EXIT" { exitc = $2 }
file == 2 && $1 == "BUCKET" {
	nb = $2 + 1; start[$2] = $3; ok[$2] = $4; err[$2] = $5
	if ($2 == 1) width = $3 - start[0]
}
file == 2 && $1 == "EVENT" {
	t = $2 + 0
	if ($4 == "fail" && t >= fault_ms && (detect == "" || t - fault_ms < detect))
		detect = t - fault_ms
	if (($4 == "recover" || $4 == "slow") && t >= restart_ms && (first == "" || t < first))
		first = t
}
file == 2 && $1 == "SUMMARY" {
	summary = 1
	for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] = kv[2] }
}
END {
	if (width <= 0) width = 100
	per_s = 1000 / width
	failed = 0
	for (b = 0; b < nb; b++) failed += err[b]
	# no event (a thread that never failed nor stalled): the first bucket with successes
	if (first == "")
		for (b = 0; b < nb - 1; b++)
			if (start[b] >= restart_ms && ok[b] > 0) { first = start[b] + width; break }
	# rates: full buckets before the fault (after a 200 ms warm-up), and from
	# 500 ms after the first success to the end (the last bucket is partial)
	for (b = 0; b < nb - 1; b++) {
		if (start[b] >= 200 && start[b] + width <= fault_ms) { bsum += ok[b]; bn++ }
		if (first != "" && start[b] >= first + 500) { asum += ok[b]; an++ }
		printf "%.3f %d %d\n", start[b] / 1000, ok[b] * per_s, err[b] * per_s > dat
	}
	survived = (summary && exitc == 0) ? "yes" : "no"
	printf "%s,%s,%.3f,%.3f,%s,%d,%s,%s,%s,%s,%s,%s,%s\n", fault, sig, fault_ms / 1000,
		(restart_ms - fault_ms) / 1000, fmt(detect), failed,
		("io_errors" in s) ? s["io_errors"] : "-", ("open_errors" in s) ? s["open_errors"] : "-",
		first == "" ? "-" : fmt(first - restart_ms),
		bn ? sprintf("%d", bsum / bn * per_s) : "-", an ? sprintf("%d", asum / an * per_s) : "-",
		survived, exitc == "" ? "-" : exitc
}
