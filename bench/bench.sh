#!/usr/bin/env bash
# Benchmark: for device-only and every split, on the synthetic camera and on a video (the one
# given, or a 640x360 900-frame synthetic ball video written here), with and without --slowdown:
# edge FPS, end-to-end results/s (edge, broker and one worker on this machine), bytes per frame
# on the wire and per-stage mean time on the device. Each row is the median of REPS runs.
# Usage: bench/bench.sh [VIDEO]   env: FRAMES (600), REPS (3), SLOWDOWN (4), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
frames=${FRAMES:-600}
reps=${REPS:-3}
slow=${SLOWDOWN:-4}
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-bench-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT

video=$(bench_video "$run" "$build" "${1:-}")


# one_config SOURCE SLOWDOWN SPLIT (0 = device-only): prints one table row
one_config() {
  local src=$1 sd=$2 k=$3 args=()
  [ "$k" != 0 ] && args=("$k")
  : >"$run/rows"
  for _ in $(seq "$reps"); do
    "$build/bin/edge-agent" "${args[@]}" --host 127.0.0.1 --port "$port" --source "$src" \
      --frames "$frames" --slowdown "$sd" --device-id "bench-$k" --quiet \
      >/dev/null 2>"$run/edge.log"
    grep -o 'EDGE-SUMMARY.*' "$run/edge.log" >>"$run/rows"
  done
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$run/rows"; }
  local fps e2e bytes stages
  fps=$(field edge_fps | median)
  e2e=$(field results_per_s | median)
  bytes=$(field bytes_per_frame | median)
  stages=$(field stage_us | tail -1)
  printf '| %-9s | %4s | %-11s | %8.1f | %9.1f | %10.0f | %s |\n' "$(basename "$src" | cut -c1-9)" \
    "$sd" "$([ "$k" = 0 ] && echo device-only || echo "$k")" "$fps" "$e2e" "$bytes" "$stages"
}

echo "frames per run: $frames, median of $reps runs; stage_us = mean µs per local stage 0..6"
echo
echo "| source    | slow | split       | edge fps | results/s | bytes/frame | stage_us (device) |"
echo "|-----------|------|-------------|----------|-----------|-------------|-------------------|"
for src in synthetic "$video"; do
  for sd in 1 "$slow"; do
    for k in 0 1 2 3 4 5 6; do
      one_config "$src" "$sd" "$k"
    done
  done
done
