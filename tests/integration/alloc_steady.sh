#!/usr/bin/env bash
# Steady-state heap allocations: the edge agent (device-only, and at split 3 with a worker on a
# real mosquitto) and the worker run under the preloaded counter (bench/malloc_count.c), once for
# N1 and once for N2 frames of the synthetic camera; (count(N2) - count(N1)) / (N2 - N1) is what a
# frame costs once warm. Fails when our code (the programs and libedgesplit) or Jansson allocates
# in the steady state: more than one allocation per LIMIT frames in each of up to three pairs of
# runs (periodic work, such as a status message, may allocate; a per-frame allocation shows as 1
# or more). Prints every library's figure, Paho's and OpenCV's included, which this does not
# bound.
# Usage: tests/integration/alloc_steady.sh [BUILD_DIR (build)]   env: N1 (100), N2 (500), LIMIT (10)
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../../build}" && pwd)
cd "$(dirname "$0")/../.."
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
# bounded WHO SPLIT: what our code and Jansson allocate per frame in the last pair of runs; prints
# every library's figure.
bounded() {
  local table
  table=$(alloc_per_frame "$run" "$1" "$2" "$n1" "$n2")
  awk '$1 >= 0.001 { printf "  %8.3f %s\n", $1, $2 }' <<<"$table" >&2
  awk '$2 ~ /^(edge-agent|cloud-worker|libedgesplit\.so.*|libjansson\.so.*)$/ { s += $1 }
    END { printf "%.4f", s }' <<<"$table"
}

# check WHO SPLIT LABEL: passes when a pair of runs stays within the limit. A pair over it is
# measured again, up to three pairs in all: on a loaded machine periodic work (a worker restating
# its load when it moved, a deeper queue's first buffers) can happen more often in one run than in
# the other, while an allocation made for every frame shows in every pair.
check() {
  local b try
  for try in 1 2 3; do
    echo "$3, allocations per frame once warm (over $((n2 - n1)) frames, pair $try):"
    b=$(bounded "$1" "$2")
    if awk -v b="$b" -v l="$limit" 'BEGIN { exit !(b * l < 1) }'; then
      echo "ok: our code and Jansson: $b per frame"
      return 0
    fi
    echo "over the limit: our code and Jansson allocate $b times a frame (at most 1/$limit)"
    [ "$try" = 3 ] || alloc_steady_pair "$run" "$build" "$port" "$2" "$n1" "$n2"
  done
  echo "FAIL: $3: over the limit in 3 pairs of runs"
  fail=1
}

for k in 0 3; do
  alloc_steady_pair "$run" "$build" "$port" "$k" "$n1" "$n2"
done
check edge 0 "edge, device-only"
check edge 3 "edge, split 3"
check worker 3 "worker, split 3"
exit "$fail"
