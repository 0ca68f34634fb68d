# shellcheck shell=bash disable=SC2086
# (SC2086: $pids is a list of numbers, split on purpose)
# recover.sh - the fault-recovery experiment, local mode, storage service
# (sourced by run.sh; the contract is in its header).
#
# For each fault: start the storage service (`vosctl local serve`, as in the
# integration cases service-killed and svcdeath), run the load generator
# (loadgen.c: random 16 KiB reads and writes, 40% writes, 4 threads, counts
# per 100 ms, reopens a file after an error) under it (`vosctl local env`),
# and at T hit the service - vos-serviced and its shadow processes, all at
# once, as a whole service domain would be hit:
#   kill         SIGKILL; a new service is started D later
#   crash        SIGSEGV; a new service is started D later
#   hang         SIGSTOP; D later SIGKILL and a new service (xl pause, then
#                destroy and re-create)
#   hang-resume  SIGSTOP; D later SIGCONT, no new service (full profile only)
# "restart" is the moment the new service is started (hang-resume: SIGCONT).
# A restart works because a new open connects
# a new channel on the same socket path; fds opened before the death stay dead
# (EIO), which is why the generator reopens its files.
#
# Then the same SIGKILL under unmodified sysbench fileio rndrw (how it ends:
# recover-sysbench.txt).
#
# Results: recover.csv (one row per fault), recover.md, recover-FAULT.dat
# (timeline: seconds, ops/s, errors/s per 100 ms), recover.png (timelines,
# fault and restart marked), recover-FAULT.out (the generator's output).

recover_describe() { echo "fault recovery of the storage service (kill, crash, hang) under random I/O"; }
recover_check() { [ -x "$LOADGEN" ] || { echo "recover: $LOADGEN is not built" >&2; return 1; }; }

now_ns() { date +%s%N; }

# Every process of the service: vos-serviced (its pid file) and everything
# under it (the shadows; vos-serviced is their subreaper).
service_pids() {   # PIDFILE
	local root
	root=$(cat "$1" 2>/dev/null) || return 0
	ps -e -o pid=,ppid= | awk -v root="$root" '
		{ parent[$1] = $2 }
		END {
			want[root] = 1
			do {
				grew = 0
				for (p in parent)
					if (!(p in want) && (parent[p] in want)) { want[p] = 1; grew = 1 }
			} while (grew)
			for (p in want) print p
		}'
}

wait_for_file() {   # FILE SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

wait_for_line() {   # FILE PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

sleep_until() {   # START_NS MS: sleep until START_NS + MS ms (realtime clock)
	local left
	left=$(( $1 + $2 * 1000000 - $(now_ns) ))
	[ "$left" -gt 0 ] && sleep "$(awk -v n="$left" 'BEGIN { printf "%.3f", n / 1e9 }')"
	true
}

RECOVER_SERVE_PID=
recover_serve() {   # ROOT RUNDIR LOG: start `vosctl local serve`, wait until it listens
	"$VOSCTL" local serve --storage-root "$1" --rundir "$2" 2>"$3" &
	RECOVER_SERVE_PID=$!
	wait_for_file "$2/storage.pid" 10 || { cat "$3" >&2; die "the storage service did not start"; }
}

# One fault: writes recover-FAULT.out (generator) and recover-FAULT.ev (times).
recover_one() {   # FAULT T_MS D_MS TAIL_MS
	local fault=$1 t_ms=$2 d_ms=$3 tail_ms=$4 dir=$WORK/recover rd sig pids start t s1 rc
	local out=$OUT/recover-$fault.out ev=$OUT/recover-$fault.ev envlines lg
	rd=$dir/run-$fault
	mkdir -p "$dir/root" "$rd"
	recover_serve "$dir/root" "$rd" "$dir/serve1-$fault.log"
	s1=$RECOVER_SERVE_PID
	envlines=$("$VOSCTL" local env --rundir "$rd") || die "vosctl local env failed"
	sh -c 'eval "$1"; shift; exec "$@"' sh "$envlines" "$LOADGEN" --dir /storage --threads 4 \
		--files 4 --file-mib 8 --write-pct 40 --bucket-ms 100 \
		--duration-ms $((t_ms + d_ms + tail_ms)) >"$out" 2>"$out.err" &
	lg=$!
	wait_for_line "$out" '^START ' 60 || { cat "$out.err" >&2; die "the load generator did not start"; }
	start=$(awk '$1 == "START" { print $2; exit }' "$out")
	: >"$ev"
	case $fault in
	kill) sig=KILL ;;
	crash) sig=SEGV ;;
	hang|hang-resume) sig=STOP ;;
	*) die "unknown fault $fault" ;;
	esac
	sleep_until "$start" "$t_ms"
	pids=$(service_pids "$rd/storage.pid")
	t=$(now_ns)
	# shellcheck disable=SC2086
	kill -"$sig" $pids 2>/dev/null || true
	echo "FAULT $fault SIG$sig $(( (t - start) / 1000 ))" >>"$ev"
	say "[recover $fault] SIG$sig to the service ($(echo "$pids" | wc -w) processes) at $(( (t - start) / 1000000 )) ms"
	sleep_until "$t" "$d_ms"     # D after the fault as it happened
	case $fault in
	hang) kill -KILL $pids 2>/dev/null || true ;;
	hang-resume)
		t=$(now_ns)
		kill -CONT $pids 2>/dev/null || true
		echo "RESTART $(( (t - start) / 1000 ))" >>"$ev" ;;
	esac
	if [ "$fault" != hang-resume ]; then
		wait "$s1" 2>/dev/null || true     # vosctl serve ends with its daemon
		t=$(now_ns)
		echo "RESTART $(( (t - start) / 1000 ))" >>"$ev"
		recover_serve "$dir/root" "$rd" "$dir/serve2-$fault.log"
	fi
	say "[recover $fault] restarted at $(( (t - start) / 1000000 )) ms; workload runs until $((t_ms + d_ms + tail_ms)) ms"
	rc=0
	wait "$lg" || rc=$?
	echo "WORKLOAD_EXIT $rc" >>"$ev"
	kill -TERM "$RECOVER_SERVE_PID" 2>/dev/null || true
	wait "$RECOVER_SERVE_PID" 2>/dev/null || true
}

# An unmodified program under the same fault: sysbench fileio rndrw keeps its
# files open, so after a restart its fds stay dead.  Records how it ends.
recover_sysbench() {   # T_MS D_MS TAIL_MS
	local t_ms=$1 d_ms=$2 tail_ms=$3 dir=$WORK/recover rd s1 pids start t rc secs
	local out=$OUT/recover-sysbench.out envlines sb
	rd=$dir/run-sysbench
	mkdir -p "$dir/root/sb" "$rd"
	(cd "$dir/root/sb" && sysbench fileio --file-num=4 --file-total-size=32M prepare >/dev/null) ||
		die "sysbench fileio prepare failed"
	recover_serve "$dir/root" "$rd" "$dir/serve1-sysbench.log"
	s1=$RECOVER_SERVE_PID
	envlines=$("$VOSCTL" local env --rundir "$rd") || die "vosctl local env failed"
	secs=$(( (t_ms + d_ms + tail_ms + 999) / 1000 ))
	sh -c 'eval "$1"; shift; exec "$@"' sh "$envlines" sh -c 'cd /storage/sb && exec "$@"' sh \
		sysbench fileio --file-num=4 --file-total-size=32M --file-test-mode=rndrw --threads=4 \
		--time="$secs" --report-interval=1 --file-fsync-freq=0 run >"$out" 2>&1 &
	sb=$!
	wait_for_line "$out" 'Threads started' 30 || { cat "$out" >&2; die "sysbench did not start"; }
	start=$(now_ns)
	sleep_until "$start" "$t_ms"
	pids=$(service_pids "$rd/storage.pid")
	t=$(now_ns)
	kill -KILL $pids 2>/dev/null || true
	say "[recover sysbench] SIGKILL to the service at $(( (t - start) / 1000000 )) ms after sysbench started"
	wait "$s1" 2>/dev/null || true
	sleep_until "$t" "$d_ms"
	recover_serve "$dir/root" "$rd" "$dir/serve2-sysbench.log"
	rc=0
	wait "$sb" || rc=$?
	kill -TERM "$RECOVER_SERVE_PID" 2>/dev/null || true
	wait "$RECOVER_SERVE_PID" 2>/dev/null || true
	{
		echo "sysbench fileio rndrw, 4 threads, ${secs} s; the service SIGKILLed at $(( (t - start) / 1000000 )) ms, restarted $d_ms ms later:"
		echo "exit status $rc; last per-second report before the end and its first error:"
		grep '^\[ ' "$out" | tail -n 1
		grep -m 1 -E 'FATAL|error' "$out" || echo "(no error printed)"
	} >"$OUT/recover-sysbench.txt"
}

recover_run() {
	local faults t_ms d_ms tail_ms f list="" tf="" tr=""
	if [ "$PROFILE" = quick ]; then
		faults="kill crash hang" t_ms=1000 d_ms=1000 tail_ms=1500
	else
		faults="kill crash hang hang-resume" t_ms=3000 d_ms=3000 tail_ms=4000
	fi
	rm -f "$OUT"/recover-*.ev "$OUT"/recover-*.out "$OUT"/recover-*.out.err "$OUT"/recover-*.dat \
		"$OUT"/recover-sysbench.txt
	for f in $faults; do
		say "[recover] $f: fault at $t_ms ms, restart $d_ms ms later"
		recover_one "$f" "$t_ms" "$d_ms" "$tail_ms"
		awk -f "$TOP/benchmarks/macro/recover.awk" -v fault="$f" -v t_ms="$t_ms" -v d_ms="$d_ms" \
			-v dat="$OUT/recover-$f.dat" "$OUT/recover-$f.ev" "$OUT/recover-$f.out" >>"$WORK/recover.rows"
		list="$list $f"
		tf="$tf $(awk '$1 == "FAULT" { printf "%.3f", $4 / 1e6 }' "$OUT/recover-$f.ev")"
		tr="$tr $(awk '$1 == "RESTART" { printf "%.3f", $2 / 1e6 }' "$OUT/recover-$f.ev")"
	done
	{
		echo "fault,signal,fault_at_s,down_s,detect_ms,failed_ops,io_errors,open_errors,restart_to_first_ok_ms,ops_per_s_before,ops_per_s_after,workload_survived,workload_exit"
		cat "$WORK/recover.rows"
	} >"$OUT/recover.csv"
	say "[recover] unmodified program: sysbench fileio rndrw under a SIGKILL of the service"
	recover_sysbench "$t_ms" "$d_ms" "$tail_ms"
	recover_markdown >"$OUT/recover.md"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "dir='$OUT'; faults='${list# }'; tfault='${tf# }'; trestart='${tr# }'; png='$OUT/recover.png'" \
			"$TOP/benchmarks/macro/timeline.gp" || say "gnuplot timeline failed (the data is there)"
	fi
	say "[recover] done: $OUT/recover.csv"
}

recover_markdown() {
	echo "## recover"
	echo
	echo "Storage service (vos-serviced and its shadows) hit at T under loadgen (4 threads, random 16 KiB"
	echo "reads/writes, 40% writes, files reopened after an error, retry every 10 ms);"
	echo "VOS_DEAD_AFTER_MS=${VOS_DEAD_AFTER_MS:-10000 (default)}. detect = first failed operation after the fault;"
	echo "restart = the new service is started (hang-resume: SIGCONT); first ok = first successful operation"
	echo "after the restart; ops/s after: from 0.5 s after it. Timeline: recover.png."
	echo
	echo "| fault | signal | fault at s | down s | detect ms | failed ops (io + open) | restart → first ok ms | ops/s before | ops/s after | workload survived |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s (%s + %s) | %s | %s | %s | %s (exit %s) |\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$OUT/recover.csv"
	if [ -f "$OUT/recover-sysbench.txt" ]; then
		echo
		echo "An unmodified program that keeps its files open does not recover (its fds stay dead after a restart):"
		echo
		echo '```'
		cat "$OUT/recover-sysbench.txt"
		echo '```'
	fi
}
