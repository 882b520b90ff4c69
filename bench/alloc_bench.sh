#!/usr/bin/env bash
# Benchmark: heap allocations per frame once warm, in the edge agent and in the worker, counted
# by a preloaded counter (bench/malloc_count.c: every malloc, calloc, realloc and aligned
# allocation, by our code and by the libraries). Each program runs a job of N1 and then of N2
# frames (the synthetic camera); (count(N2) - count(N1)) / (N2 - N1) is what a frame costs in
# the steady state, start-up and exit cancelled out. Then the same per calling library at split 3.
# Usage: bench/alloc_bench.sh   env: N1 (100), N2 (400), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
n1=${N1:-100}
n2=${N2:-400}
if [ ! -x "$build/bin/edge-agent" ] || [ ! -f "$build/lib/malloc-count.so" ]; then
  scripts/setup.sh "$build"
fi
shim="$PWD/$build/lib/malloc-count.so"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-alloc-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")

# count SPLIT (0 = device-only) FRAMES: runs a worker (unless device-only) and an edge under the
# counter; prints "EDGE WORKER" allocation counts
count() {
  local k=$1 n=$2 args=() wpid=""
  : >"$run/edge.count"
  : >"$run/worker.count"
  : >"$run/edge-$k-$n.callers"
  : >"$run/worker-$k-$n.callers"
  if [ "$k" != 0 ]; then
    args=("$k" --host 127.0.0.1 --port "$port")
    ES_MALLOC_COUNT="$run/worker.count" ES_MALLOC_CALLERS="$run/worker-$k-$n.callers" \
      LD_PRELOAD="$shim" "$build/bin/cloud-worker" \
      --host 127.0.0.1 --port "$port" --worker-id "alloc-w" --stats-every 0 \
      2>"$run/worker.log" &
    wpid=$!
    for _ in $(seq 100); do grep -q WORKER-READY "$run/worker.log" && break; sleep 0.05; done
  fi
  ES_MALLOC_COUNT="$run/edge.count" ES_MALLOC_CALLERS="$run/edge-$k-$n.callers" \
    LD_PRELOAD="$shim" "$build/bin/edge-agent" "${args[@]}" \
    --source synthetic --frames "$n" --device-id alloc-e --quiet >/dev/null 2>"$run/edge.log"
  if [ -n "$wpid" ]; then
    kill -TERM "$wpid"
    wait "$wpid" || true
  fi
  echo "$(cat "$run/edge.count") $(cat "$run/worker.count")"
}

per() { awk -v a="$1" -v b="$2" -v n="$((n2 - n1))" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.1f", (b - a) / n }'; }

echo "heap allocations per frame once warm: (count at $n2 frames - count at $n1) / $((n2 - n1));"
echo "synthetic camera, ball tracker"
echo
echo "| split | edge | worker |"
echo "|---|---|---|"
for k in 0 1 3 6; do
  read -r e1 w1 <<<"$(count "$k" "$n1")"
  read -r e2 w2 <<<"$(count "$k" "$n2")"
  if [ "$k" = 0 ]; then
    printf '| device-only | %s | - |\n' "$(per "$e1" "$e2")"
  else
    printf '| %s | %s | %s |\n' "$k" "$(per "$e1" "$e2")" "$(per "${w1:-}" "${w2:-}")"
  fi
done

# by_caller WHO SPLIT: allocations per frame by calling object, largest first
by_caller() {
  awk -v n="$((n2 - n1))" -v f1="$run/$1-$2-$n1.callers" '
    FILENAME == f1 { a[$2] += $1; next }
    { b[$2] += $1 }
    END { for (o in b) { d = (b[o] - a[o]) / n; if (d >= 0.5) printf "%.1f %s\n", d, o } }
  ' "$run/$1-$2-$n1.callers" "$run/$1-$2-$n2.callers" | sort -rn |
    awk '{ sub(".*/", "", $2); printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}
echo
echo "by calling library at split 3 (libstdc++: C++ operator new, i.e. OpenCV and the adapter):"
echo "- edge: $(by_caller edge 3)"
echo "- worker: $(by_caller worker 3)"
