#!/usr/bin/env bash
# Benchmark: the cloud bill. One worker (one thread) serves one edge agent at each split 1..6 in
# turn (manual mode, FRAMES frames from the synthetic camera at RATE fps), then in automatic
# mode at GOAL fps on a device SLOW times slower (--slowdown-mode sleep). The cloud CPU is what
# the results report (cloud_cpu_us: the worker's thread CPU for the frame plus its bus share),
# summed by the agent (its EDGE-SUMMARY); the device CPU is the agent's own process (with the
# emulated slowdown). Printed per 1,000 frames, and against split 1 ("send every frame").
# Usage: bench/bill_bench.sh   env: FRAMES (150), RATE (30), GOAL (12), SLOW (6), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
frames=${FRAMES:-150}
rate=${RATE:-30}
goal=${GOAL:-12}
slow=${SLOW:-6}
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-bill-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT


# one LABEL ARGS...: one agent run; prints a table row and sets ROW_CLOUD (cloud ms per 1000).
one() {
  local label=$1 log=$run/agent.log cloud_us results dev_ms fps split
  shift
  "$build/bin/edge-agent" --host 127.0.0.1 --port "$port" --device-id bill --quiet \
    --frames "$frames" --rate "$rate" --threads 1 --window 1 "$@" 2>"$log" >/dev/null
  cloud_us=$(summary_field cloud_cpu_us "$log")
  results=$(summary_field results "$log")
  dev_ms=$(summary_field device_cpu_ms_per_s "$log")
  fps=$(summary_field edge_fps "$log")
  split=$(summary_field split "$log")
  ROW_CLOUD=$(awk -v c="$cloud_us" -v n="$results" 'BEGIN { printf "%.1f", n ? c / n : 0 }')
  printf '| %s | %s | %s | %s | %s | %s |' "$label" "$split" "$results" "$fps" "$dev_ms" "$ROW_CLOUD"
}

echo "one worker; one agent, $frames frames at $rate fps each run; nproc $(nproc)"
echo
echo "| run | split at the end | results | fps | device CPU, ms/s | cloud CPU per 1,000 frames, ms | against split 1 |"
echo "|---|---|---|---|---|---|---|"
base=""
for k in 1 2 3 4 5 6; do
  one "split $k" "$k"
  [ -n "$base" ] || base=$ROW_CLOUD
  awk -v b="$base" -v c="$ROW_CLOUD" 'BEGIN { r = c > 0 ? b / c : 0; printf " %.1fx less |\n", r }'
done
one "automatic, goal $goal, device ${slow}x slower" --slowdown "$slow" --slowdown-mode sleep 1 "$goal"
awk -v b="$base" -v c="$ROW_CLOUD" 'BEGIN { r = c > 0 ? b / c : 0; printf " %.1fx less |\n", r }'
