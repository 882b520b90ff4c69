#!/usr/bin/env bash
# Benchmark: how much of a worker's CPU goes into the stages. A worker with one thread serves
# es-loadgen's simulated devices at split K; its CPU time (user + system of all its threads,
# /proc) over the run, divided by the frames it processed, is what one result costs a core. The
# compute bound is the CPU time its thread spent in the stages (the worker's stage_cpu_us), per
# result; efficiency = stage CPU / whole CPU. The stages' wall time from the results (stage_us,
# stages K..6) is shown beside it: it also counts the time the thread waited for a core.
# Each split runs at a light load and at one past what the worker can take (it then works without
# pause, as when it is the bottleneck).
# Every load runs at each QoS of QOS: the QoS of the frames es-loadgen publishes, of the worker's
# subscription and results (--qos), and of es-loadgen's results subscription; an entry F/R sets
# the frames' QoS to F and the results' (worker --qos, es-loadgen --sub-qos) to R, as an edge
# agent with --qos F against workers with --qos R. The broker's CPU
# over the same span is counted too: the cloud's cost per result is the worker's and the broker's.
# A load may end in :B, frames per message (es-loadgen --batch: frame batches of B frames).
# Usage: bench/worker_bench.sh   env: LOADS ("1:10:20 1:30:20 3:10:20 3:50:60": SPLIT:DEVICES:FPS
#   runs, or SPLIT:DEVICES:FPS:B), QOS ("1 0/1 0"), SECONDS_ (8), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
loads=${LOADS:-1:10:20 1:30:20 3:10:20 3:50:60}
qoss=${QOS:-1 0/1 0}
secs=${SECONDS_:-8}
[ -x "$build/bin/es-loadgen" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-worker-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "one worker thread; es-loadgen devices x fps each for $secs s; nproc $(nproc)"
echo
echo "| split | QoS | frames per message | load, frames/s | frames | worker CPU per result, us | broker CPU per result, us | stage CPU per result, us | stage wall time per result, us | results/s per core | bound, results/s | efficiency | cloud / stage CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for load in $loads; do
 for q in $qoss; do
  IFS=: read -r k devices rate batch <<<"$load"
  batch=${batch:-1}
  fq=${q%/*} rq=${q#*/}
  start_worker "$run/worker-$k.log" "$build/bin/cloud-worker" --host 127.0.0.1 --port "$port" \
    --worker-id "bench-w$k" --threads 1 --stats-every 1 --qos "$rq"
  wpid=$WORKER_PID
  sleep 0.5
  mosquitto_sub -h 127.0.0.1 -p "$port" -t 'pipeline/results/+' -C 300 >"$run/results-$k" &
  sub=$!
  sleep 0.3
  c0=$(cpu_ticks "$wpid")
  b0=$(cpu_ticks "$BROKER_PID")
  "$build/bin/es-loadgen" --host "127.0.0.1:$port" --devices "$devices" --rate "$rate" \
    --seconds "$secs" --split "$k" --connections 2 --drain 2 --qos "$fq" --sub-qos "$rq" --batch "$batch" >"$run/loadgen-$k" 2>&1
  # Past the load the worker still works through its queue: wait until its count stands still
  # (two stats lines alike), then take its CPU time and count together.
  processed=-1
  for _ in $(seq 30); do
    last=$processed
    sleep 1.1
    line=$(grep WORKER-STATS "$run/worker-$k.log" | tail -1)
    processed=$(grep -o 'processed [0-9]*' <<<"$line" | awk '{ print $2 }')
    [ "$processed" = "$last" ] && break
  done
  stage_cpu=$(grep -o 'stage_cpu_us [0-9]*' <<<"$line" | awk '{ print $2 }')
  c1=$(cpu_ticks "$wpid")
  b1=$(cpu_ticks "$BROKER_PID")
  kill "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  kill "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true
  # mean of the cloud stages' wall times (stage_us entries K..6) over the captured results
  stage=$(sed -n 's/.*"stage_us":\[\([0-9,]*\)\].*/\1/p' "$run/results-$k" |
    awk -F, -v k="$k" '{ s = 0; for (i = k + 1; i <= NF; i++) s += $i; t += s; n++ } END { if (n) printf "%.0f", t / n; else print 0 }')
  awk -v c0="$c0" -v c1="$c1" -v b0="$b0" -v b1="$b1" -v hz="$hz" -v n="$processed" -v s="$stage" \
    -v k="$k" -v q="$q" -v b="$batch" -v load="$((devices * rate))" -v sc="$stage_cpu" 'BEGIN {
    per = (c1 - c0) / hz * 1e6 / n
    br = (b1 - b0) / hz * 1e6 / n
    st = sc / n
    printf "| %d | %s | %d | %d | %d | %.0f | %.0f | %.0f | %s | %.0f | %.0f | %.0f%% | %.1fx |\n", k, q, b, load, n, per, br, st, s, 1e6 / per, 1e6 / st, 100 * st / per, (per + br) / st
  }'
 done
done
