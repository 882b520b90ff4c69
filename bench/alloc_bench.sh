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

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-alloc-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")

# per WHO SPLIT: the program's allocations per frame, from its totals, or - when it did not run
per() {
  local a b
  a=$(cat "$run/$1-$2-$n1.count") b=$(cat "$run/$1-$2-$n2.count")
  awk -v a="$a" -v b="$b" -v n="$((n2 - n1))" \
    'BEGIN { if (a == "" || b == "") print "-"; else printf "%.1f", (b - a) / n }'
}

echo "heap allocations per frame once warm: (count at $n2 frames - count at $n1) / $((n2 - n1));"
echo "synthetic camera, ball tracker"
echo
echo "| split | edge | worker |"
echo "|---|---|---|"
for k in 0 1 3 6; do
  alloc_steady_pair "$run" "$build" "$port" "$k" "$n1" "$n2"
  printf '| %s | %s | %s |\n' "$([ "$k" = 0 ] && echo device-only || echo "$k")" \
    "$(per edge "$k")" "$(per worker "$k")"
done

# by_caller WHO: allocations per frame at split 3 by calling object, at least 0.5, largest first
by_caller() {
  alloc_per_frame "$run" "$1" 3 "$n1" "$n2" |
    awk '$1 >= 0.5 { printf "%s%s %.1f", (n++ ? ", " : ""), $2, $1 } END { print "" }'
}
echo
echo "by calling library at split 3 (libstdc++: C++ operator new, i.e. OpenCV and the adapter):"
echo "- edge: $(by_caller edge)"
echo "- worker: $(by_caller worker)"
