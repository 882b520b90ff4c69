#!/usr/bin/env bash
# Simulation benchmark of the split policy: runs sim-sched (our policy and the original tool's
# on the same simulated traces), prints its table, and plots each scenario's CSV into a PNG with
# two panels: fps against the goal, and the split over time, for both policies.
# Usage: bench/sim_sched.sh [OUT_DIR]   (default bench/out)   env: BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
out=${1:-bench/out}
mkdir -p "$out"
if [ ! -x "$build/bin/sim-sched" ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target sim-sched -j2 >/dev/null
fi
"$build/bin/sim-sched" "$out" | tee "$out/sim_sched.txt"

command -v gnuplot >/dev/null || { echo "sim_sched: gnuplot not found, CSVs are in $out" >&2; exit 0; }
term="pngcairo size 1000,700 font 'Sans,10'"
gnuplot -e "set terminal pngcairo" 2>/dev/null || term="png size 1000,700"

for csv in "$out"/sim_sched_*.csv; do
  name=$(basename "$csv" .csv)
  scenario=${name#sim_sched_}
  gnuplot <<EOF
set terminal $term
set output "$out/$name.png"
set datafile separator ","
set key top right box opaque
set grid
set multiplot layout 2,1 title "split policy, scenario '$scenario': ours vs original (3-s windows)"
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
plot "$csv" using 1:(strcol(2) eq "ours" ? \$5 : NaN) with steps lw 4 lc rgb "#1f77b4" title "ours", \
     "$csv" using 1:(strcol(2) eq "original" ? \$5 : NaN) with steps lw 2 dt 2 lc rgb "#d62728" title "original"
unset multiplot
EOF
  echo "sim_sched: wrote $out/$name.png"
done
