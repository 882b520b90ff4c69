#!/usr/bin/env bash
# Benchmark: the whole job against its bound, and what the cloud costs per frame. The job is a
# 640x360 900-frame video (the one given, or the synthetic ball video written here), every result
# back, device-only and at every split 1..6, with a broker and one worker (its default threads)
# up throughout. After a warm-up, REPS runs of each; every figure is a median over them:
#   - the job's wall time (the edge agent's whole process) and the CPU of each process over the
#     job (edge: the process's user + system; broker and worker: /proc, from its start to its
#     end, the worker waited for until its count stands still);
#   - the kernels' CPU: es-kernels runs every stage over the same frames in one thread, in a
#     tight loop without messaging (stage 0 includes decoding), PASSES passes; the job needs
#     their sum per frame wherever the stages run, so two cores bound its wall time at
#     frames x sum / 2;
#   - our wall time against that bound;
#   - the cloud's CPU (worker + broker) per 1,000 frames, and against split 1 ("send every frame
#     to the cloud").
# Then the fleet ladder (bench/fleet_ladder.sh), unless LADDER=0.
# Usage: bench/cost_bench.sh [VIDEO]   env: REPS (3), PASSES (3), LADDER (1), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
reps=${REPS:-3}
passes=${PASSES:-3}
[ -x "$build/bin/es-kernels" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-cost-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT
wpid=$WORKER_PID
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
video=$(bench_video "$run" "$build" "${1:-}")

"$build/bin/es-kernels" --source "$video" --passes "$passes" >"$run/kernels"
frames=$(sed -n 's/^frames=\([0-9]*\).*/\1/p' "$run/kernels")
kernel_us=$(sed -n 's/.*total_cpu_us=\([0-9.]*\).*/\1/p' "$run/kernels")
bound=$(awk -v n="$frames" -v k="$kernel_us" 'BEGIN { printf "%.3f", n * k / 2 / 1e6 }')

# job SPLIT (0 = device-only): runs one job; appends "wall edge_cpu broker_cpu worker_cpu" (s) to
# $run/job-SPLIT and its summary line to $run/sum-SPLIT
job() {
  local k=$1 args=() b0 w0 b1 w1 t
  [ "$k" != 0 ] && args=("$k" --host 127.0.0.1 --port "$port")
  b0=$(ticks "$BROKER_PID")
  w0=$(ticks "$wpid")
  t=$( {
    TIMEFORMAT='%R %U %S'
    time "$build/bin/edge-agent" "${args[@]}" --source "$video" --device-id "cost-$k" \
      --quiet >/dev/null 2>"$run/edge.log"
  } 2>&1)
  # the worker may still be publishing the last results: wait until its CPU stands still
  local last=-1
  w1=$(ticks "$wpid")
  while [ "$w1" != "$last" ]; do
    last=$w1
    sleep 0.3
    w1=$(ticks "$wpid")
  done
  b1=$(ticks "$BROKER_PID")
  grep -o 'EDGE-SUMMARY.*' "$run/edge.log" >>"$run/sum-$k"
  grep -q ' lost=0 ' "$run/edge.log" || { echo "a job lost frames:" >&2; cat "$run/edge.log" >&2; }
  read -r wall user sys <<<"$t"
  awk -v wall="$wall" -v u="$user" -v s="$sys" -v b="$((b1 - b0))" -v w="$((w1 - w0))" \
    -v hz="$hz" 'BEGIN { printf "%s %.3f %.3f %.3f\n", wall, u + s, b / hz, w / hz }' >>"$run/job-$k"
}
col() { awk -v c="$1" '{ print $c }' "$2" | median; }

echo "job: $(basename "$video"), $frames frames, every result back; one broker, one worker;"
echo "medians of $reps runs after a warm-up; nproc $(nproc)"
echo
echo "kernels (es-kernels, one thread, no messaging; median of $passes passes, CPU per frame):"
sed 's/^/  /' "$run/kernels"
echo "two-core bound of the job: $frames x $kernel_us us / 2 = $bound s"
echo
echo "| split | wall, s | against the bound | edge CPU, s | broker CPU, s | worker CPU, s | cloud CPU per 1,000 frames, ms | against split 1 | results |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in 0 1 2 3 4 5 6; do
  job "$k"
  : >"$run/job-$k"
  : >"$run/sum-$k"
  for _ in $(seq "$reps"); do job "$k"; done
  wall=$(col 1 "$run/job-$k")
  cloud=$(awk '{ print ($3 + $4) * 1e6 / '"$frames"' }' "$run/job-$k" | median)
  [ "$k" = 1 ] && cloud1=$cloud
  results=$(sed -n 's/.* results=\([0-9]*\).* fallback=\([0-9]*\).*/\1+\2/p' "$run/sum-$k" | tail -1)
  awk -v k="$k" -v wall="$wall" -v bound="$bound" -v e="$(col 2 "$run/job-$k")" \
    -v b="$(col 3 "$run/job-$k")" -v w="$(col 4 "$run/job-$k")" -v c="$cloud" \
    -v c1="${cloud1:-}" -v r="$results" 'BEGIN {
    name = k == 0 ? "device-only" : k
    vs = k == 0 ? "-" : (c1 > 0 ? sprintf("%.2f", c / c1) : "-")
    if (k == 0) { cs = "-"; r = "(local)" } else cs = sprintf("%.0f", c)
    printf "| %s | %.2f | %.2fx | %.2f | %.2f | %.2f | %s | %s | %s |\n", name, wall, wall / bound,
      e, b, w, cs, vs, r
  }'
done
echo
echo "results: received from the cloud + run on the device after a deadline (last run)."

if [ "${LADDER:-1}" != 0 ]; then
  stop_pids "${pids[@]}"
  pids=()
  echo
  echo "fleet ladder (bench/fleet_ladder.sh):"
  BUILD=$build bench/fleet_ladder.sh
fi
