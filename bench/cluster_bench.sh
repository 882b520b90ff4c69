#!/usr/bin/env bash
# Cluster benchmark: how many simulated devices each broker set-up carries at 10 frames/s each,
# split 3, on this machine. For each engine in turn (mosquitto from broker-config/dev.conf, a
# 1-node and a 3-node RabbitMQ cluster from scripts/cluster.sh) it starts the broker and two
# cloud workers (--threads 1 each; on a cluster over AMQP, worker i trying node i first), then
# climbs a ladder of device counts, running es-loadgen for each N:
#
#   es-loadgen --devices N --rate 10 --seconds STEP_S --split 3 --drain 3 --connections C
#
# with the devices' connections spread over the cluster's nodes (es-loadgen starts connection i
# on node i mod n). It stops climbing after the first N that loses a frame (no result within the
# drain), or whose p99 latency is 250 ms or more; with RETRY=1 (the default) such a step is run
# once more first, and only a second failure stops the climb (other work on a shared machine
# stalls the processes now and then: one stall of 300 ms is enough to fail a p99). Both runs
# are in the table. While es-loadgen publishes, a sampler reads
# /proc every 0.5 s: the broker's CPU (utime+stime of mosquitto, or of every beam.smp of the
# cluster, summed) as % of one core over the publishing window, its peak RSS (sampled VmRSS,
# summed over the nodes), and the workers' CPU the same way.
#
# Usage: bench/cluster_bench.sh [BUILD_DIR]     (default build; it needs bin/es-loadgen and
#                                                bin/cloud-worker there)
# Environment (optional): LADDER="10 25 50 100 200 400"  STEP_S=20  CONNECTIONS=8 (0: one MQTT
# connection per device)  RETRY=1 (0: stop at the first failure)
# ENGINES="mosquitto cluster-1 cluster-3"  OUT=bench/results/cluster.md
# Prints the table and writes it to OUT. Every process it starts is stopped on exit.
set -euo pipefail
export LC_ALL=C
caller=$PWD
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

readonly RATE=10 SPLIT=3 DRAIN=3 P99_MAX_MS=250 WORKERS=2 RETRY_PAUSE_S=10
ladder=${LADDER:-10 25 50 100 200 400}
retry=${RETRY:-1}
step_s=${STEP_S:-20}
connections=${CONNECTIONS:-8}
engines=${ENGINES:-mosquitto cluster-1 cluster-3}
command_line="bench/cluster_bench.sh${*:+ $*}"

# usage [0]: the usage text; on stderr with exit status 2, or on stdout with 0 (--help).
usage() {
  if [ "${1:-2}" = 0 ]; then
    sed -n '/^# Usage:/,/^# Prints/p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
  fi
  sed -n '/^# Usage:/,/^# Prints/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
# abs PATH: PATH made absolute against the directory the script was started from.
abs() { case $1 in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }

[ $# -le 1 ] || usage
case ${1:-} in -h | --help) usage 0 ;; -*) echo "cluster_bench: unknown option $1" >&2 && usage ;; esac
build=$(abs "${1:-build}")
out=$(abs "${OUT:-bench/results/cluster.md}")
for n in $ladder; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "cluster_bench: bad LADDER entry '$n'" >&2 && usage; }; done
[[ $step_s =~ ^[1-9][0-9]*$ ]] || { echo "cluster_bench: STEP_S must be whole seconds, got '$step_s'" >&2 && usage; }
[[ $retry =~ ^[01]$ ]] || { echo "cluster_bench: RETRY must be 0 or 1, got '$retry'" >&2 && usage; }
[[ $connections =~ ^[0-9]+$ ]] || { echo "cluster_bench: CONNECTIONS must be a number, got '$connections'" >&2 && usage; }
for e in $engines; do
  [[ $e =~ ^(mosquitto|cluster-[1-5])$ ]] || { echo "cluster_bench: unknown engine '$e'" >&2 && usage; }
done
for prog in es-loadgen cloud-worker; do
  [ -x "$build/bin/$prog" ] || {
    echo "cluster_bench: no $build/bin/$prog (cmake --build $build --target $prog)" >&2
    exit 1
  }
done
command -v mosquitto >/dev/null || { echo "cluster_bench: mosquitto not found (scripts/setup.sh)" >&2 && exit 1; }
[[ " $engines " != *" cluster-"* ]] || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
  { echo "cluster_bench: rabbitmq-server not installed (scripts/setup.sh)" >&2 && exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-cluster-XXXXXX")
# The runs use copies taken now: a rebuild of BUILD_DIR during the run cannot mix versions.
mkdir "$tmp/bin"
cp "$build/bin/es-loadgen" "$build/bin/cloud-worker" "$tmp/bin/"
mkfifo "$tmp/tick"
declare -A live=() # pid -> name of every process started and not yet stopped
cluster_dir=""     # the running cluster's directory, if any
broker_pids=() worker_pids=() worker_logs=()

# stop PID...: SIGTERM to each, SIGKILL to any still running 10 s later; reaps them.
stop() {
  local p i alive
  for p; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 100; i++)); do
    alive=0
    for p; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p; do
    kill -KILL "$p" 2>/dev/null || true
    { wait "$p" || true; } 2>/dev/null
    unset "live[$p]"
  done
}
cleanup() {
  local rc=$?
  [ ${#live[@]} = 0 ] || stop "${!live[@]}"
  if [ -n "$cluster_dir" ]; then scripts/cluster.sh down "$cluster_dir" 2>/dev/null || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "cluster_bench: $*" >&2; }

# proc_sample PID: sets TICKS (utime+stime, clock ticks) and RSS (VmRSS, KiB) of PID; 0 when gone.
proc_sample() {
  local line f k v
  TICKS=0 RSS=0
  { read -r line </proc/"$1"/stat; } 2>/dev/null || return 0
  read -r -a f <<<"${line##*) }" # fields from the 3rd (state) on: utime is the 14th
  TICKS=$((f[11] + f[12]))
  while read -r k v _; do
    if [ "$k" = VmRSS: ]; then
      RSS=$v
      break
    fi
  done 2>/dev/null </proc/"$1"/status || true
}

# sampler OUT: every 0.5 s a line "epoch_us broker_ticks broker_rss_kib worker_ticks
# cpu_pressure_us" until killed (waits on a FIFO nobody writes to: no sleep process left behind).
# cpu_pressure_us: the machine's cumulative time with some runnable task waiting for a core
# (/proc/pressure/cpu, 0 without it). Not /proc/stat: it samples at timer ticks and misses
# most of the short bursts these processes run in (it showed 1% busy while they used 19%).
sampler() {
  local p bt br wt psi
  exec 9<>"$tmp/tick"
  while :; do
    bt=0 br=0 wt=0
    for p in "${broker_pids[@]}"; do
      proc_sample "$p"
      bt=$((bt + TICKS)) br=$((br + RSS))
    done
    for p in "${worker_pids[@]}"; do
      proc_sample "$p"
      wt=$((wt + TICKS))
    done
    psi=total=0
    { read -r _ _ _ _ psi </proc/pressure/cpu; } 2>/dev/null || true
    echo "${EPOCHREALTIME/./} $bt $br $wt ${psi#total=}" >>"$1"
    read -r -t 0.5 -u 9 _ || true
  done
}

# add_worker I ARGS...: starts worker w-I of $engine with ARGS (its broker) and waits until it is
# ready; adds it to worker_pids.
add_worker() {
  local i=$1 log=$tmp/$engine/w-$1.log rc=0
  shift
  WORKER_PID=""
  : >"$log" # start_worker polls it before the worker's shell has created it
  start_worker "$log" "$tmp/bin/cloud-worker" "$@" --threads 1 --stats-every 0 \
    --worker-id "w-$i" || rc=1
  [ -z "$WORKER_PID" ] || live[$WORKER_PID]=w-$i
  [ "$rc" = 0 ] || { echo "- $engine: worker w-$i did not start: $(tail -n 1 "$log")" >>"$tmp/notes" && return 1; }
  worker_pids+=("$WORKER_PID")
  worker_logs+=("$log")
}

# engine_up ENGINE: starts the broker(s) and the workers; sets hosts, mqtt_version, broker_pids,
# worker_pids. Returns 1 (with a note) when the engine does not start.
engine_up() {
  local e=$1 dir=$tmp/$1 i nodes amqp k list ok=0
  mkdir -p "$dir"
  broker_pids=() worker_pids=() worker_logs=()
  if [ "$e" = mosquitto ]; then
    local port
    port=$(free_port 0)
    BROKER_PID=""
    start_broker "$dir" "$port" || ok=1
    [ -z "$BROKER_PID" ] || live[$BROKER_PID]=mosquitto
    [ "$ok" = 0 ] || { echo "- $e: mosquitto did not start: $(tail -n 1 "$dir/mosquitto.log")" >>"$tmp/notes" && return 1; }
    broker_pids=("$BROKER_PID")
    hosts=127.0.0.1:$port mqtt_version=5
    for ((i = 1; i <= WORKERS; i++)); do
      add_worker "$i" --host 127.0.0.1 --port "$port" || return 1
    done
    return 0
  fi
  nodes=${e#cluster-}
  cluster_dir=$dir/cluster
  mkdir -p "$cluster_dir"
  for i in 1 2; do # scripts/cluster.sh may fail on a busy machine: one more try
    if scripts/cluster.sh up "$cluster_dir" "$nodes" >"$dir/cluster.out" 2>"$dir/cluster.log"; then
      break
    fi
    say "$e: scripts/cluster.sh up failed: $(tail -n 1 "$dir/cluster.log")"
    scripts/cluster.sh down "$cluster_dir" 2>/dev/null || true
    [ "$i" = 1 ] || { echo "- $e: scripts/cluster.sh up failed twice: $(tail -n 1 "$dir/cluster.log")" >>"$tmp/notes" && return 1; }
    sleep 5
  done
  hosts=$(sed -n 's/^MQTT=//p' "$cluster_dir/cluster.env") mqtt_version=3
  IFS=, read -r -a amqp <<<"$(sed -n 's/^AMQP=//p' "$cluster_dir/cluster.env")"
  for ((k = 1; k <= nodes; k++)); do broker_pids+=("$(cat "$cluster_dir/node$k/beam.pid")"); done
  for ((i = 1; i <= WORKERS; i++)); do
    list=""
    for ((k = 0; k < nodes; k++)); do list+="${list:+,}${amqp[(i - 1 + k) % nodes]}"; done
    add_worker "$i" --amqp "$list" || return 1
  done
}

# engine_down: stops the workers, then the broker or cluster.
engine_down() {
  local p i
  for i in "${!worker_pids[@]}"; do
    kill -0 "${worker_pids[$i]}" 2>/dev/null ||
      echo "- $engine: a worker had exited before the end: $(tail -n 1 "${worker_logs[$i]}")" >>"$tmp/notes"
  done
  [ ${#worker_pids[@]} = 0 ] || stop "${worker_pids[@]}"
  if [ -n "$cluster_dir" ]; then
    scripts/cluster.sh down "$cluster_dir" 2>>"$tmp/$engine/cluster.log" || say "$engine: cluster.sh down failed"
    cluster_dir=""
  fi
  for p in "${!live[@]}"; do [ "${live[$p]}" != mosquitto ] || stop "$p"; done
  broker_pids=() worker_pids=() worker_logs=()
}

# window SAMPLES START END: "broker_cpu% broker_rss_mib worker_cpu% cpu_pressure%": CPU and
# pressure over the samples inside [START, END] (µs), RSS the largest sample of the whole step.
window() {
  awk -v s="$2" -v e="$3" -v hz="$(getconf CLK_TCK)" '
    $3 > rss { rss = $3 }
    $1 >= s && $1 <= e { if (!n++) { t0 = $1; b0 = $2; w0 = $4; p0 = $5 } t1 = $1; b1 = $2; w1 = $4; p1 = $5 }
    END {
      dt = (t1 - t0) / 1e6
      if (n < 2 || dt <= 0) { printf "n/a %.0f n/a n/a\n", rss / 1024; exit }
      printf "%.0f %.0f %.0f %s\n", (b1 - b0) / hz / dt * 100, rss / 1024, (w1 - w0) / hz / dt * 100,
        (p1 > 0 ? sprintf("%.0f", (p1 - p0) / 1e4 / dt) : "n/a")
    }' "$1"
}

# step N [again]: one run of es-loadgen with N devices; appends its table row ("N (again)" for
# a second try). Returns 1 when the engine failed the step (loss, p99 >= P99_MAX_MS, or
# es-loadgen failed).
step() {
  local n=$1 base=$tmp/$engine/n$1${2:+-$2} label=$1${2:+ ($2)} pid rc=0 line kv cpu rss wcpu pressure
  local sampler_pid
  declare -A r=()
  # before a second try, let the workers drain what the first one left queued
  [ -z "${2:-}" ] || sleep "$RETRY_PAUSE_S"
  sampler "$base.samples" &
  sampler_pid=$!
  live[$sampler_pid]=sampler
  "$tmp/bin/es-loadgen" --host "$hosts" --mqtt-version "$mqtt_version" --devices "$n" \
    --rate "$RATE" --seconds "$step_s" --split "$SPLIT" --drain "$DRAIN" \
    --connections "$connections" >"$base.out" 2>"$base.err" &
  pid=$!
  live[$pid]=es-loadgen
  wait "$pid" || rc=$?
  unset "live[$pid]"
  stop "$sampler_pid"
  line=$(tail -n 1 "$base.out")
  for kv in $line; do r[${kv%%=*}]=${kv#*=}; done
  if [ "$rc" != 0 ] || [ -z "${r[lost]:-}" ]; then
    printf '| %-9s | %11s | es-loadgen failed (exit status %s): %s |\n' "$engine" "$label" "$rc" \
      "$(tail -n 1 "$base.err")" >>"$tmp/rows"
    return 1
  fi
  read -r cpu rss wcpu pressure <<<"$(window "$base.samples" "${r[pub_start_us]}" "${r[pub_end_us]}")"
  : "${cpu:=n/a}" "${rss:=n/a}" "${wcpu:=n/a}" "${pressure:=n/a}"
  printf '| %-9s | %11s | %9s | %7s | %7s | %5s | %12s | %14s | %13s | %15s | %14s |\n' "$engine" \
    "$label" "${r[results_per_s]}" "${r[p50_ms]}" "${r[p99_ms]}" "${r[lost]}" "$cpu" "$rss" "$wcpu" \
    "${r[gen_cpu_pct]}" "$pressure" >>"$tmp/rows"
  # The first try of each N goes to the plot (a retry is noted in the table).
  [ "$label" != "$1" ] || echo "$engine,$1,${r[results_per_s]},${r[p50_ms]},${r[p99_ms]},${r[lost]},$cpu,$rss" >>"$tmp/csv"
  say "$engine N=$label: results/s ${r[results_per_s]} p50 ${r[p50_ms]} ms p99 ${r[p99_ms]} ms lost ${r[lost]} broker CPU $cpu% RSS $rss MiB"
  [ "${r[dup]}" = 0 ] || echo "- $engine N=$label: ${r[dup]} duplicate results." >>"$tmp/notes"
  [ "${r[foreign]}" = 0 ] || echo "- $engine N=$label: ${r[foreign]} results of earlier frames (a previous step's stragglers) arrived and were not counted." >>"$tmp/notes"
  [ "${r[pub_fail]}" = 0 ] || echo "- $engine N=$label: ${r[pub_fail]} publishes refused by the client library (counted as lost)." >>"$tmp/notes"
  awk -v l="${r[late_max_ms]}" 'BEGIN { exit !(l > 100) }' &&
    echo "- $engine N=$label: the generator fell up to ${r[late_max_ms]} ms behind its schedule." >>"$tmp/notes"
  [ "${r[lost]}" = 0 ] && awk -v p="${r[p99_ms]}" -v m="$P99_MAX_MS" 'BEGIN { exit !(p + 0 == p && p < m) }'
}

: >"$tmp/rows"
echo "engine,devices,results_per_s,p50_ms,p99_ms,lost,broker_cpu_pct,broker_rss_mib" >"$tmp/csv"
: >"$tmp/notes"
: >"$tmp/best"
started=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for engine in $engines; do
  say "$engine: starting"
  best=none top=""
  if engine_up "$engine"; then
    say "$engine: up; ladder $ladder, $step_s s per step"
    for n in $ladder; do
      top=$n
      if ! step "$n" && { [ "$retry" = 0 ] || ! step "$n" again; }; then
        top=""
        break
      fi
      best=$n
    done
  else
    printf '| %-9s |           - | did not start (see the notes) |\n' "$engine" >>"$tmp/rows"
    best="-"
  fi
  engine_down
  [ -z "$top" ] || best="$best (top of the ladder, no failure)"
  echo "| $engine | $best |" >>"$tmp/best"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# plot CSV PNG: p99 latency and broker CPU against the number of devices, one line per engine.
plot() {
  command -v gnuplot >/dev/null || { say "gnuplot not found: $1 not plotted"; return 0; }
  local term="pngcairo size 1000,450 font 'Sans,10'" engines_in
  gnuplot -e "set terminal pngcairo" 2>/dev/null || term="png size 1000,450"
  engines_in=$(tail -n +2 "$1" | cut -d, -f1 | uniq | tr '\n' ' ')
  gnuplot <<GP
set terminal $term
set output "$2"
set datafile separator ","
set key top left box opaque
set grid
set logscale x 2
set xlabel "simulated devices at $RATE frames/s each (log scale)"
set multiplot layout 1,2 title "Brokers under many devices (split $SPLIT, $WORKERS workers, one $(nproc)-core machine)"
set logscale y
set ylabel "p99 latency, ms (log scale)"
plot for [e in "$engines_in"] "$1" using (strcol(1) eq e ? \$2 : NaN):5 with linespoints lw 2 title e, \
     $P99_MAX_MS with lines dt 2 lc rgb "black" title "$P99_MAX_MS ms"
unset logscale y
set ylabel "broker CPU, % of one core"
plot for [e in "$engines_in"] "$1" using (strcol(1) eq e ? \$2 : NaN):7 with linespoints lw 2 title e
unset multiplot
GP
  say "plot in $2"
}

report=$tmp/report.md
{
  echo "# Cluster scenario"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo); $(date '+%Y-%m-%d %H:%M %Z'); mosquitto $(dpkg-query -W -f '${Version}' mosquitto 2>/dev/null || echo '?'), rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?')."
  echo "Command: \`${LADDER:+LADDER=\"$LADDER\" }${STEP_S:+STEP_S=$STEP_S }${CONNECTIONS:+CONNECTIONS=$CONNECTIONS }${RETRY:+RETRY=$RETRY }${ENGINES:+ENGINES=\"$ENGINES\" }$command_line\` ($((SECONDS - started)) s; load average at the start $load_start, at the end $load_end)."
  echo
  echo "Each step: \`es-loadgen --devices N --rate $RATE --seconds $step_s --split $SPLIT --drain $DRAIN --connections $connections\`"
  echo "($( [ "$connections" = 0 ] && echo "one MQTT connection per device" || echo "the devices share $connections MQTT connections, spread over the nodes"); one more subscribes to pipeline/results/+), against $WORKERS cloud workers with \`--threads 1\`"
  echo "(MQTT shared subscription on mosquitto, AMQP quorum queue pipeline.stage.$SPLIT on a cluster); ladder $ladder, climbing stops after the"
  echo "first N that fails (a lost frame or p99 >= $P99_MAX_MS ms)$([ "$retry" = 1 ] && echo " twice in a row (the second try, \"again\", $RETRY_PAUSE_S s after the first)"). Broker, workers and generator share this machine."
  echo
  echo "| engine    |           N | results/s |  p50 ms |  p99 ms |  lost | broker CPU % | broker RSS MiB | workers CPU % | generator CPU % | CPU pressure % |"
  echo "|-----------|-------------|-----------|---------|---------|-------|--------------|----------------|---------------|-----------------|----------------|"
  cat "$tmp/rows"
  echo
  echo "Largest N with no lost frame and p99 < $P99_MAX_MS ms:"
  echo
  echo "| engine | N |"
  echo "|---|---|"
  cat "$tmp/best"
  echo
  echo "results/s: results / (last result - first publish); latency: result arrival - captured_us (one clock); lost: frames without a result $DRAIN s after the last publish;"
  echo "CPU: utime+stime over the publishing window as % of one core (mosquitto, or every beam.smp of the cluster summed; the two workers summed; the generator itself);"
  echo "CPU pressure: share of the publishing window in which some runnable task of the machine waited for a core (/proc/pressure/cpu, \"some\"): the run competed for the cores, with other work or with itself;"
  echo "RSS: the largest sampled VmRSS (summed over the nodes) during the step."
  if [ -s "$tmp/notes" ]; then
    echo
    echo "Notes:"
    echo
    cat "$tmp/notes"
  fi
} >"$report"
mkdir -p "$(dirname "$out")"
cp "$report" "$out"
cp "$tmp/csv" "${out%.md}.csv"
cat "$report"
plot "${out%.md}.csv" "${out%.md}.png"
say "$((SECONDS - started)) s; table in $out, data in ${out%.md}.csv"
