# bars.gp - grouped bars, native vs ours, one group per configuration, with
# the min-max of the repetitions as error bars and ours/native above; from a benchmark's CSV
# (summarize.awk).  Called by run.sh:
#   gnuplot -e "csv='X.csv'; png='X.png'; unit='MiB/s'; heading='...'" benchmarks/macro/bars.gp
# Same look as benchmarks/plot.gp.

if (!exists("csv")) csv = 'build/bench/macro/fileio.csv'
if (!exists("png")) png = 'build/bench/macro/fileio.png'
if (!exists("unit")) unit = ''
if (!exists("heading")) heading = 'native vs ours'

stats csv every ::1 using 0 nooutput
n = STATS_records
set terminal pngcairo size (n < 12 ? 900 : 60 * n + 200),560 font ",10"
set output png
set datafile separator ","
set title heading noenhanced
set ylabel unit . " (log scale)"
set key top right
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.9
set xtics rotate by -35 left noenhanced
set logscale y
set grid ytics
set bmargin 7
set rmargin 4

set datafile columnheaders
top(a, b) = (a > b ? a : b) * 1.6
plot csv using 4:5:6:xticlabels(2) lc rgb "#999999" title "native", \
     ''  using 7:8:9 lc rgb "#4a7ab5" title "ours (/storage, vosctl local run)", \
     ''  using 0:(top($6, $9)):(sprintf("%.2fx", $10)) with labels font ",9" notitle
