#!/usr/bin/env bash
# Steady-state heap allocations: the edge agent (device-only, and at split 3 with a worker on a
# real mosquitto) and the worker run under the preloaded counter (bench/malloc_count.c), once for
# N1 and once for N2 frames of the synthetic camera; (count(N2) - count(N1)) / (N2 - N1) is what a
# frame costs once warm. Fails when our code (the programs and libedgesplit) or Jansson allocates
# in the steady state: at most one allocation per LIMIT frames (periodic work, such as a status
# message, may allocate; a per-frame allocation shows as 1 or more). Prints every library's
# figure, Paho's and OpenCV's included, which this does not bound.
# Usage: tests/alloc_steady.sh [BUILD_DIR (build)]   env: N1 (100), N2 (500), LIMIT (10)
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
cd "$(dirname "$0")/.."
. scripts/lib.sh
n1=${N1:-100}
n2=${N2:-500}
limit=${LIMIT:-10}
run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-alloc-test-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")

fail=0
# check WHO SPLIT LABEL
check() {
  local table bounded
  table=$(alloc_per_frame "$run" "$1" "$2" "$n1" "$n2")
  echo "$3, allocations per frame once warm (over $((n2 - n1)) frames):"
  awk '$1 >= 0.001 { printf "  %8.3f %s\n", $1, $2 }' <<<"$table"
  bounded=$(awk '$2 ~ /^(edge-agent|cloud-worker|libedgesplit\.so.*|libjansson\.so.*)$/ { s += $1 }
    END { printf "%.4f", s }' <<<"$table")
  if awk -v b="$bounded" -v l="$limit" 'BEGIN { exit !(b * l >= 1) }'; then
    echo "FAIL: our code and Jansson allocate $bounded times a frame (at most 1/$limit allowed)"
    fail=1
  else
    echo "ok: our code and Jansson: $bounded per frame"
  fi
}

for k in 0 3; do
  alloc_steady_pair "$run" "$build" "$port" "$k" "$n1" "$n2"
done
check edge 0 "edge, device-only"
check edge 3 "edge, split 3"
check worker 3 "worker, split 3"
exit "$fail"
