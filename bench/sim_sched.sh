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

for csv in "$out"/sim_sched_*.csv; do
  name=$(basename "$csv" .csv)
  bench/plot_policy.sh "$csv" "$out/$name.png" \
    "split policy, scenario '${name#sim_sched_}': ours vs original (3-s windows)"
  [ -f "$out/$name.png" ] && echo "sim_sched: wrote $out/$name.png"
done
