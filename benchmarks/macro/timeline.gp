# timeline.gp - the fault-recovery timelines: successful operations per
# second (per 100 ms bucket) against time, errors per second on the right
# axis, the fault (red) and the restart (green) marked; one panel per fault.  Called by recover.sh:
#   gnuplot -e "dir='D'; faults='kill crash'; tfault='1.0 1.0'; trestart='2.0 2.0'; \
#               png='D/recover.png'" benchmarks/macro/timeline.gp
# Data: dir/recover-FAULT.dat (bucket start in seconds, ops/s, errors/s);
# the 100 ms buckets are drawn as steps, their errors in their middle.

n = words(faults)
set terminal pngcairo size 1000,(260 * n + 60) font ",10"
set output png
set multiplot layout n,1 title "Storage service fault under random 16 KiB I/O (loadgen, 4 threads), local mode" font ",12"
set style fill solid 0.5 noborder
set key top right
set grid ytics
set ytics nomirror
set y2tics
set ylabel "ops/s"
set y2label "errors/s"
set yrange [0:*]
set y2range [0:*]
do for [i = 1:n] {
	f = word(faults, i)
	unset arrow
	set arrow 1 from first real(word(tfault, i)), graph 0 to first real(word(tfault, i)), graph 1 nohead lc rgb "#c0392b" lw 2 dt 2
	set arrow 2 from first real(word(trestart, i)), graph 0 to first real(word(trestart, i)), graph 1 nohead lc rgb "#27ae60" lw 2 dt 2
	set title sprintf("%s: fault at %.1f s, restart at %.1f s", f, real(word(tfault, i)), real(word(trestart, i)))
	set xlabel (i == n ? "time since the workload started (s)" : "")
	plot sprintf("%s/recover-%s.dat", dir, f) using 1:2 with steps lw 2 lc rgb "#4a7ab5" title "successful ops/s", \
	     '' using ($1 + 0.05):3 axes x1y2 with impulses lw 3 lc rgb "#c0392b" title "failed ops/s"
}
unset multiplot
