# plot.gp - bar chart of ours/native per metric with its target, from
# results.csv.  Called by run.sh:
#   gnuplot -e "csv='build/bench/results.csv'; png='build/bench/ratios.png'" benchmarks/plot.gp
# Metrics without a native counterpart (ratio "-") are left out.

if (!exists("csv")) csv = 'build/bench/results.csv'
if (!exists("png")) png = 'build/bench/ratios.png'

set terminal pngcairo size 1100,560 font ",10"
set output png
set datafile separator ","
set datafile missing "-"
set key top left
set title "VirtuOS-NG micro-benchmarks: ours / native (medians); times must stay under their target, rates above"
set ylabel "ours / native (log scale)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -35 left noenhanced
set logscale y
set yrange [*:*]
set offsets 0, 0, graph 0.05, graph 0.05
set grid ytics
set rmargin 10

# Target column is "<=X", ">=X" or "-": its number, or missing.
lim(s) = (strlen(s) > 2) ? real(s[3:]) : NaN

plot csv every ::1 using 0:5:xticlabels(1) with boxes lc rgb "#4a7ab5" title "ours / native", \
     ''  every ::1 using 0:(lim(stringcolumn(6))) with points pt 7 ps 1.5 lc rgb "#c0392b" title "target", \
     1 with lines dt 2 lc rgb "#555555" title "parity"
