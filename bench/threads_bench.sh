#!/usr/bin/env bash
# Benchmark: the whole job (a 640x360 900-frame video, every result back) device-only and at
# every split, by two edge agents side by side: A (by default this build with --threads 1, the
# single-thread edge) and B (this build with its default threads). A broker and one worker run
# throughout. After a warm-up of each, the runs are interleaved A B A B, REPS of each, and each
# figure is the median of the whole process's wall time. Then the start-up: startup_ms (start to
# first frame published) of --frames 1 runs, device-only and at split 3.
# Usage: bench/threads_bench.sh [VIDEO]
#   env: REPS (5), BUILD (build), A and B (commands, e.g. A="/old/edge-agent" to compare with
#   another build; default A="BUILD/bin/edge-agent --threads 1", B="BUILD/bin/edge-agent")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
reps=${REPS:-5}
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"
read -r -a cmd_a <<<"${A:-$build/bin/edge-agent --threads 1}"
read -r -a cmd_b <<<"${B:-$build/bin/edge-agent}"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-threads-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT

video=$(bench_video "$run" "$build" "${1:-}")

# job WHICH SPLIT (0 = device-only) [EXTRA...]: runs one job, prints its wall time in seconds
# and appends its summary line to $run/WHICH-SPLIT
job() {
  local which=$1 k=$2 args=() t0 t1
  shift 2
  local -n cmd="cmd_$which"
  [ "$k" != 0 ] && args=("$k" --host 127.0.0.1 --port "$port")
  t0=$(date +%s.%N)
  "${cmd[@]}" "${args[@]}" --source "$video" --device-id "bench-$which-$k" --quiet "$@" \
    >/dev/null 2>"$run/edge.log"
  t1=$(date +%s.%N)
  grep -o 'EDGE-SUMMARY.*' "$run/edge.log" >>"$run/$which-$k"
  grep -q ' lost=0 ' "$run/edge.log" || { echo "a job lost frames:" >&2; cat "$run/edge.log" >&2; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }
# ms FILE: the median startup_ms of the runs in FILE, or n/a (a build that does not report it)
ms() { if grep -q startup_ms= "$1"; then field startup_ms "$1" | median; else echo n/a; fi; }

echo "A: ${cmd_a[*]}"
echo "B: ${cmd_b[*]}"
echo "job: $(basename "$video"), every result back; wall time of the whole process, median of"
echo "$reps interleaved runs each after a warm-up; nproc $(nproc)"
echo
echo "| split | A, s | B, s | A/B | B edge fps | B stage_us (device) |"
echo "|---|---|---|---|---|---|"
for k in 0 1 2 3 4 5 6; do
  job a "$k" >/dev/null
  job b "$k" >/dev/null
  : >"$run/a-$k"
  : >"$run/b-$k"
  : >"$run/ta"
  : >"$run/tb"
  for _ in $(seq "$reps"); do
    job a "$k" >>"$run/ta"
    job b "$k" >>"$run/tb"
  done
  ta=$(median <"$run/ta")
  tb=$(median <"$run/tb")
  printf '| %s | %.2f | %.2f | %.2fx | %.0f | %s |\n' "$([ "$k" = 0 ] && echo device-only || echo "$k")" \
    "$ta" "$tb" "$(awk -v a="$ta" -v b="$tb" 'BEGIN { print a / b }')" "$(field edge_fps "$run/b-$k" | median)" \
    "$(field stage_us "$run/b-$k" | tail -1)"
done

echo
echo "start-up: startup_ms of --frames 1 runs (start of the run to the first frame published),"
echo "median of $reps"
echo
echo "| split | A startup_ms | B startup_ms |"
echo "|---|---|---|"
for k in 0 3; do
  : >"$run/a-$k"
  : >"$run/b-$k"
  for _ in $(seq "$reps"); do
    job a "$k" --frames 1 >/dev/null
    job b "$k" --frames 1 >/dev/null
  done
  printf '| %s | %s | %s |\n' "$([ "$k" = 0 ] && echo device-only || echo "$k")" \
    "$(ms "$run/a-$k")" "$(ms "$run/b-$k")"
done
