#!/usr/bin/awk -f
# summarize.awk - turn the RESULT lines of the micro-benchmarks into
# results.csv (path in -v csv=) and a Markdown table on stdout.
#
#   RESULT <name> <unit> <native_med> <native_min> <native_max> <ours_med> <ours_min> <ours_max>
#
# ratio = ours / native (medians).  For times lower is better, for rates
# higher is better; each metric's target says which way it must go.

function describe(name,    t) {
	if (name in desc)
		return desc[name]
	if (match(name, /_[0-9]+t$/)) {
		t = substr(name, RSTART + 1, RLENGTH - 2)
		if (index(name, "null_tput") == 1)
			return "Null calls/s, " t " thread(s) in flight (vs getppid)"
		if (index(name, "pread_ab_tput") == 1)
			return "A/B: forwarded 4 KiB preads/s, " t " thread(s) (BENCH_AB_LIB vs this build)"
		if (index(name, "pread_tput") == 1)
			return "4 KiB preads/s, " t " thread(s) (forwarded vs native)"
	}
	return name
}

function target_of(name,    t) {
	if (name in target)
		return target[name]
	if (index(name, "pread_ab_tput") == 1)
		return ">=0.95"
	if (match(name, /_tput_[0-9]+t$/)) {
		t = substr(name, RSTART + 6, RLENGTH - 7) + 0
		return t >= 2 ? ">=1" : "-"
	}
	return "-"
}

function fmt(v) {
	if (v == "-")
		return v
	v += 0
	if (v >= 100 || v <= -100)
		return sprintf("%.0f", v)
	return sprintf("%.3g", v)
}

function met(ratio, tgt,    lim) {
	if (tgt == "-" || ratio == "-")
		return "n/a"
	lim = substr(tgt, 3) + 0
	if (substr(tgt, 1, 2) == "<=")
		return ratio + 0 <= lim ? "yes" : "NO"
	return ratio + 0 >= lim ? "yes" : "NO"
}

BEGIN {
	desc["ring_1t"] = "Ring enqueue+dequeue, 1 thread (vs wfcqueue; info)"
	desc["ring_1p1c"] = "Ring transfer, 1 producer + 1 consumer (vs wfcqueue)"
	desc["ring_2p2c"] = "Ring transfer, 2 producers + 2 consumers (vs wfcqueue)"
	desc["null_call"] = "Remote null call, 1 thread, spinning worker (vs getppid)"
	desc["null_call_notifies"] = "Notifications per call, spinning worker"
	desc["null_call_sleep"] = "Remote null call, spin 0 on both sides (vs getppid; info)"
	desc["null_call_sleep_notifies"] = "Notifications per call, sleeping worker (spin 0)"
	desc["pread_4k"] = "4 KiB cached pread, LD_PRELOAD path (vs native pread)"
	desc["pread_entry_ab"] = "A/B: a forwarded call's way into the library, no round trip (CPU ns; info)"
	desc["pread_4k_ab"] = "A/B: forwarded 4 KiB pread (BENCH_AB_LIB vs this build)"
	desc["boot_s"] = "Xen guest set: QEMU start to all service domains ready"
	desc["xen_null_call"] = "Xen: remote null call, spinning client and workers (vs getppid in dom0)"
	desc["xen_null_call_notifies"] = "Xen: event-channel notifications per call, spinning workers"
	desc["xen_null_call_sleepclient"] = "Xen: remote null call, client sleeps at once (vs getppid)"
	desc["xen_null_call_sleepclient_notifies"] = "Xen: notifications per call, sleeping client"
	desc["xen_null_call_sleepsvc"] = "Xen: remote null call, spinning client, sleeping workers (vs getppid)"
	desc["xen_null_call_sleepsvc_notifies"] = "Xen: notifications per call, sleeping workers (vos.spin=0)"
	desc["xen_pread_4k"] = "Xen: 4 KiB cached pread, LD_PRELOAD path (vs native pread in dom0)"
	desc["dispatch_tramp"] = "getppid through a rewritten site and the page-0 trampoline (vs native; info)"
	desc["dispatch_trap"] = "getppid through the SIGSYS slow path (vs native; info)"
	desc["dispatch_gate"] = "getppid through the dispatcher's own gate, eager mode (vs native; info)"
	desc["dispatch_gate_lazy"] = "getppid through the dispatcher's own gate, dispatch on: lazy mode (vs native; info)"
	desc["dispatch_pass_lazy"] = "getppid as a pass-through number, lazy mode (vs native; info)"
	desc["dispatch_pass_lazy_syscall"] = "syscall(SYS_getppid) as a pass-through number, lazy mode (info)"
	desc["lazy_getppid_cpu"] = "getppid() under libvirtuos.so with VOS_DISPATCH=lazy, thread CPU time (info)"
	desc["lazy_getppid_syscall_cpu"] = "syscall(SYS_getppid) under libvirtuos.so, VOS_DISPATCH=lazy, CPU (info)"
	desc["tar_lazy"] = "tar cf /dev/null, wall time under libvirtuos.so with VOS_DISPATCH=lazy (info)"
	desc["tar_lazy_cpu"] = "tar cf /dev/null, CPU time under libvirtuos.so with VOS_DISPATCH=lazy (info)"
	desc["dispatch_tramp_syscall"] = "syscall(SYS_getppid) through the trampoline, handler called (vs native; info)"
	desc["dispatch_precheck"] = "getppid, precheck says native: no handler, no vector save (vs native; info)"
	desc["dispatch_precheck_syscall"] = "syscall(SYS_getppid), precheck says native (vs native; info)"
	desc["dispatch_pass"] = "getppid as a pass-through number (vs native; info)"
	desc["dispatch_pass_syscall"] = "syscall(SYS_getppid) as a pass-through number (vs native; info)"
	desc["lib_getppid"] = "getppid() in a process under libvirtuos.so (vs the same program native)"
	desc["lib_getppid_syscall"] = "syscall(SYS_getppid) under libvirtuos.so (vs native)"
	desc["lib_getppid_cpu"] = "getppid() under libvirtuos.so, thread CPU time per call (vs native)"
	desc["lib_getppid_syscall_cpu"] = "syscall(SYS_getppid) under libvirtuos.so, thread CPU time (vs native)"
	desc["shim_getppid"] = "getppid() under the dispatcher alone, precheck native (vs native; info)"
	desc["shim_getppid_syscall"] = "syscall(SYS_getppid) under the dispatcher alone, precheck native (info)"
	desc["tar_lib"] = "tar cf /dev/null of a local tree, wall time under libvirtuos.so (vs native)"
	desc["tar_lib_cpu"] = "tar cf /dev/null, CPU time (user+sys) under libvirtuos.so (vs native)"
	desc["tar_ab_lib_cpu"] = "tar cf /dev/null, CPU time under BENCH_AB_LIB (vs native; info)"
	desc["tar_shim_precheck_cpu"] = "tar cf /dev/null, CPU time, dispatcher alone, precheck native (info)"
	desc["tar_shim_handler_cpu"] = "tar cf /dev/null, CPU time, dispatcher alone, every call to the handler (info)"
	desc["tar_ab_lib"] = "tar cf /dev/null, wall time under BENCH_AB_LIB (vs native; info)"
	desc["tar_shim_precheck"] = "tar cf /dev/null, dispatcher alone, precheck native (vs native; info)"
	desc["tar_shim_handler"] = "tar cf /dev/null, dispatcher alone, every call to the handler (info)"
	target["lib_getppid"] = "<=1.1"
	target["tcp_rtt"] = "<=2"
	target["tcp_bulk"] = ">=0.8"
	desc["tcp_rtt"] = "TCP 1-byte round trip, loopback, both ends forwarded (vs native)"
	desc["tcp_accept"] = "TCP connections accepted/s (connect, accept, close)"
	desc["tcp_bulk"] = "TCP bulk, 64 KiB sends, MiB/s"
	desc["tcp_idle_epoll"] = "TCP round trip, 1 active among idle ones, epoll"
	desc["tcp_idle_threads"] = "TCP round trip, 1 active among idle ones, a thread blocked in recv each"
	target["lib_getppid_syscall"] = "<=1.1"
	target["lib_getppid_cpu"] = "<=1.1"
	target["lib_getppid_syscall_cpu"] = "<=1.1"
	target["tar_lib"] = "<=1.05"
	target["tar_lib_cpu"] = "<=1.05"
	target["ring_1p1c"] = "<=1"
	target["ring_2p2c"] = "<=1"
	target["null_call"] = "<=2"
	target["pread_4k"] = "<=2.5"
	target["pread_4k_ab"] = "<=1.05"

	print "name,native_median,ours_median,unit,ratio,target,met,native_min,native_max,ours_min,ours_max" > csv
	print "| metric | native median (min–max) | ours median (min–max) | unit | ours/native | target | met? |"
	print "|---|---|---|---|---|---|---|"
}

$1 == "RESULT" && NF == 9 {
	name = $2; unit = $3
	ratio = ($4 == "-" || $4 + 0 == 0) ? "-" : sprintf("%.3g", $7 / $4)
	tgt = target_of(name)
	m = met(ratio, tgt)
	printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", name, fmt($4), fmt($7), unit, ratio, tgt, m,
		fmt($5), fmt($6), fmt($8), fmt($9) > csv
	nat = $4 == "-" ? "-" : fmt($4) " (" fmt($5) "–" fmt($6) ")"
	printf "| %s | %s | %s (%s–%s) | %s | %s | %s | %s |\n", describe(name), nat,
		fmt($7), fmt($8), fmt($9), unit, ratio, tgt == "-" ? "–" : tgt, m
	rows++
}

END {
	print ""
	printf "Medians of %s repetitions; native and ours measured in the same run, interleaved.\n", reps
	print "Nothing pinned: benchmark threads, service workers and the rest share the machine's cores, so expect noise."
	if (!rows)
		print "(no results)"
}
