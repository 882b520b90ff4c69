#!/usr/bin/env bash
# Steady-state heap allocations: the edge agent (device-only, and at split 3 with a worker on a
# real mosquitto) and the worker run under the preloaded counter (bench/malloc_count.c), once for
# N1 and once for N2 frames of the synthetic camera; (count(N2) - count(N1)) / (N2 - N1) is what a
# frame costs once warm. Fails when our code (the programs and libedgesplit) or Jansson allocates
# in the steady state: at most one allocation per LIMIT frames (periodic work, such as a status
# message, may allocate; a per-frame allocation shows as 1 or more). Prints every library's
# figure, Paho's and OpenCV's included, which this does not bound.
# Usage: tests/alloc_steady.sh BUILD_DIR   env: N1 (100), N2 (500), LIMIT (10)
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
. scripts/lib.sh
n1=${N1:-100}
n2=${N2:-500}
limit=${LIMIT:-10}
shim="$build/lib/malloc-count.so"
[ -f "$shim" ] || { echo "no $shim: build the malloc-count target" >&2; exit 1; }

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-alloc-test-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")

# counted SPLIT FRAMES: one edge run (and, at a split, a worker for it) under the counter; the
# callers' counts land in $run/{edge,worker}-SPLIT-FRAMES.
counted() {
  local k=$1 n=$2 args=() wpid=""
  : >"$run/edge-$k-$n"
  : >"$run/worker-$k-$n"
  if [ "$k" != 0 ]; then
    args=("$k" --host 127.0.0.1 --port "$port")
    ES_MALLOC_CALLERS="$run/worker-$k-$n" LD_PRELOAD="$shim" "$build/bin/cloud-worker" \
      --host 127.0.0.1 --port "$port" --worker-id alloc-test-w --stats-every 0 \
      2>"$run/worker.log" &
    wpid=$!
    for _ in $(seq 200); do grep -q WORKER-READY "$run/worker.log" && break; sleep 0.05; done
    grep -q WORKER-READY "$run/worker.log" || {
      echo "the worker did not start:" >&2
      cat "$run/worker.log" >&2
      exit 1
    }
  fi
  if ! ES_MALLOC_CALLERS="$run/edge-$k-$n" LD_PRELOAD="$shim" \
    "$build/bin/edge-agent" "${args[@]}" --source synthetic --frames "$n" \
    --device-id alloc-test-e --quiet >"$run/out" 2>"$run/edge.log"; then
    echo "the edge agent failed:" >&2
    cat "$run/edge.log" >&2
    exit 1
  fi
  grep -q " frames=$n results=$n .* lost=0 " "$run/edge.log" || {
    echo "not every frame came back:" >&2
    grep EDGE-SUMMARY "$run/edge.log" >&2
    exit 1
  }
  if [ -n "$wpid" ]; then
    kill -TERM "$wpid"
    wait "$wpid" || true
  fi
}

# per_object WHO SPLIT: "allocations-per-frame object" lines, largest first
per_object() {
  awk -v n="$((n2 - n1))" -v f1="$run/$1-$2-$n1" '
    FILENAME == f1 { sub(".*/", "", $2); a[$2] += $1; next }
    { sub(".*/", "", $2); b[$2] += $1 }
    END { for (o in b) printf "%.3f %s\n", (b[o] - a[o]) / n, o }
  ' "$run/$1-$2-$n1" "$run/$1-$2-$n2" | sort -rn
}

fail=0
# check WHO SPLIT LABEL
check() {
  local table bounded
  table=$(per_object "$1" "$2")
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
  counted "$k" "$n1"
  counted "$k" "$n2"
done
check edge 0 "edge, device-only"
check edge 3 "edge, split 3"
check worker 3 "worker, split 3"
exit "$fail"
