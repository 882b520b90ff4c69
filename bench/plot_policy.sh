#!/usr/bin/env bash
# Plots a policy CSV (time_s,policy,fps,goal,split; policies "ours" and "original") into a PNG
# with two panels: fps against the goal, and the split over time. Times are window ends, so
# each split is drawn over the window it ran in.
# Usage: bench/plot_policy.sh CSV PNG TITLE
# Prints nothing and exits 0 when gnuplot is missing (the CSV is still there).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: bench/plot_policy.sh CSV PNG TITLE" >&2; exit 2; }
csv=$1 png=$2 title=$3
command -v gnuplot >/dev/null || { echo "plot_policy: gnuplot not found, $csv not plotted" >&2; exit 0; }
term="pngcairo size 1000,700 font 'Sans,10'"
gnuplot -e "set terminal pngcairo" 2>/dev/null || term="png size 1000,700"
gnuplot <<GP
set terminal $term
set output "$png"
set datafile separator ","
set key top right box opaque
set grid
set multiplot layout 2,1 title "$title"
set ylabel "edge fps (log)"
set logscale y
set xlabel ""
plot "$csv" using 1:(strcol(2) eq "ours" ? \$3 : NaN) with lines lw 2 lc rgb "#1f77b4" title "ours", \
     "$csv" using 1:(strcol(2) eq "original" ? \$3 : NaN) with lines lw 2 dt 2 lc rgb "#d62728" title "original", \
     "$csv" using 1:(strcol(2) eq "ours" ? \$4 : NaN) with lines lw 1 lc rgb "black" title "goal"
unset logscale y
set ylabel "split (stages on the device)"
set xlabel "time (s)"
set yrange [0.5:6.5]
set ytics 1
plot "$csv" using 1:(strcol(2) eq "ours" ? \$5 : NaN) with fsteps lw 4 lc rgb "#1f77b4" title "ours", \
     "$csv" using 1:(strcol(2) eq "original" ? \$5 : NaN) with fsteps lw 2 dt 2 lc rgb "#d62728" title "original"
unset multiplot
GP
