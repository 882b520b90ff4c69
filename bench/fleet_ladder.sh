#!/usr/bin/env bash
# Benchmark: how many devices one box serves. One broker, two cloud workers with one thread each,
# and es-loadgen playing N devices with their own MQTT connection each (one epoll loop, client id
# = device id), RATE fps each at split SPLIT, for SECS seconds and a drain of DRAIN seconds. Each
# rung starts a fresh broker and fresh workers. Per rung it prints the frames sent, the results
# back, the frames without a result ("lost": a real agent would have run them itself after its
# deadline), the results' latency p50/p99 (capture to result, ms), and the CPU of each process
# in % of one core (user + system, /proc), from the first publish to the end of the drain: the
# generator, the broker and the two workers. The frames travel at QOS (es-loadgen --qos), the results at RQOS (the workers' --qos,
# es-loadgen's --sub-qos): the defaults are the edge agent's and the worker's. PAHO=1 serves
# the devices' connections through Paho (es-loadgen --paho), one connection each as before.
# Usage: bench/fleet_ladder.sh
#   env: DEVICES ("200 500 1000 2000"), RATE (10), SPLIT (3), SECS (15), DRAIN (5), QOS (0),
#        RQOS (1), PAHO (0), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
rungs=${DEVICES:-200 500 1000 2000}
rate=${RATE:-10}
split=${SPLIT:-3}
secs=${SECS:-15}
drain=${DRAIN:-5}
qos=${QOS:-0}
rqos=${RQOS:-1}
mode=()
[ "${PAHO:-0}" != 0 ] && mode=(--paho)
[ -x "$build/bin/es-loadgen" ] || scripts/setup.sh "$build"
# a socket per device in the broker too
ulimit -n "$(ulimit -Hn)"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-ladder-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "one broker, two one-thread workers; devices with their own connection, $rate fps each," \
  "split $split, $secs s + ${drain} s drain; frames QoS $qos, results QoS $rqos;" \
  "connections: $([ ${#mode[@]} = 0 ] && echo "one epoll loop" || echo "Paho, one each"); nproc $(nproc)"
echo
echo "| devices | frames/s | sent | results | lost | p50, ms | p99, ms | generator CPU | broker CPU | workers' CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $rungs; do
  port=$(free_port 0)
  start_broker "$run" "$port"
  pids=("$BROKER_PID")
  for w in 1 2; do
    start_worker "$run/w$w-$n.log" "$build/bin/cloud-worker" --host 127.0.0.1 --port "$port" \
      --worker-id "ladder-w$w" --threads 1 --stats-every 5 --qos "$rqos"
    pids+=("$WORKER_PID")
  done
  "$build/bin/es-loadgen" --host "127.0.0.1:$port" --devices "$n" --rate "$rate" \
    --seconds "$secs" --split "$split" --drain "$drain" --qos "$qos" --sub-qos "$rqos" \
    "${mode[@]}" >"$run/loadgen-$n" 2>"$run/loadgen-$n.log" &
  gen=$!
  # CPU over the publishing span: from the generator's first publish to its report
  timeout 120 bash -c "until grep -q LOADGEN-READY '$run/loadgen-$n.log'; do sleep 0.05; done" ||
    true
  g0=$(ticks "$gen" 2>/dev/null || echo 0)
  b0=$(ticks "$BROKER_PID")
  w0=$(($(ticks "${pids[1]}") + $(ticks "${pids[2]}")))
  t0=$(date +%s.%N)
  # the generator's ticks just before it exits: poll them (a generator already gone leaves the
  # starting figures, and a zero span)
  g1=$g0 b1=$b0 w1=$w0 t1=$t0
  while kill -0 "$gen" 2>/dev/null; do
    g1=$(ticks "$gen" 2>/dev/null || echo "$g1")
    b1=$(ticks "$BROKER_PID")
    w1=$(($(ticks "${pids[1]}") + $(ticks "${pids[2]}")))
    t1=$(date +%s.%N)
    sleep 0.2
  done
  wait "$gen" || echo "es-loadgen failed at $n devices: $(tail -3 "$run/loadgen-$n.log")" >&2
  stop_pids "${pids[@]}"
  pids=()
  line=$(cat "$run/loadgen-$n")
  field() { grep -o "$1=[^ ]*" <<<"$line" | cut -d= -f2; }
  awk -v n="$n" -v r="$rate" -v sent="$(field sent)" -v res="$(field results)" \
    -v lost="$(field lost)" -v p50="$(field p50_ms)" -v p99="$(field p99_ms)" \
    -v g="$((g1 - g0))" -v b="$((b1 - b0))" -v w="$((w1 - w0))" -v hz="$hz" \
    -v dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN {
    pct = dt > 0 ? 100 / hz / dt : 0
    printf "| %d | %d | %d | %d | %d | %s | %s | %.0f%% | %.0f%% | %.0f%% |\n", n, n * r, sent,
      res, lost, p50, p99, g * pct, b * pct, w * pct
  }'
  grep -h 'LOADGEN-PUB\|cannot connect' "$run/loadgen-$n.log" | sed 's/^/  /' >&2 || true
done
