# shellcheck shell=bash
# Shell helpers shared by the scripts: a free loopback port, a broker started from
# broker-config/dev.conf on it, a cloud worker waited for, stopping what was started, a median.

# Prints a free TCP port on 127.0.0.1, preferring $1 when it is free.
free_port() {
  local want=${1:-0}
  if [ "$want" != 0 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$want") 2>/dev/null; then
    echo "$want"
    return
  fi
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  return 1
}

# start_broker DIR PORT: writes DIR/mosquitto.conf from dev.conf with PORT and starts mosquitto,
# waiting until it accepts connections. Sets BROKER_PID.
start_broker() {
  local dir=$1 port=$2 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  sed "s/^listener .*/listener $port 127.0.0.1/" "$root/broker-config/dev.conf" >"$dir/mosquitto.conf"
  mosquitto -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
  # shellcheck disable=SC2034 # read by the scripts that source this file
  BROKER_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "mosquitto did not start on port $port:" >&2
  cat "$dir/mosquitto.log" >&2
  return 1
}

# start_worker LOG COMMAND...: runs a cloud-worker command in the background with stderr in LOG
# and waits (up to 10 s) until it reports ready. Sets WORKER_PID.
start_worker() {
  local log=$1
  shift
  "$@" 2>"$log" &
  # shellcheck disable=SC2034 # read by the scripts that source this file
  WORKER_PID=$!
  if ! timeout 10 bash -c "until grep -q WORKER-READY '$log'; do sleep 0.05; done"; then
    echo "the cloud worker did not start:" >&2
    cat "$log" >&2
    return 1
  fi
}

# bench_services DIR BUILD: for a benchmark, a broker on a free port (BENCH_PORT) and one
# cloud-worker (id bench-worker, no stats) from BUILD, their logs in DIR; appends both to the
# caller's pids array, which the caller's EXIT trap stops.
bench_services() {
  local dir=$1 build=$2
  BENCH_PORT=$(free_port 0)
  start_broker "$dir" "$BENCH_PORT"
  pids+=("$BROKER_PID")
  start_worker "$dir/worker.log" "$build/bin/cloud-worker" --host 127.0.0.1 \
    --port "$BENCH_PORT" --worker-id bench-worker --stats-every 0
  pids+=("$WORKER_PID")
}

# bench_video DIR BUILD [VIDEO]: prints VIDEO, or writes the benchmarks' 640x360, 900-frame
# bouncing-ball MJPG video into DIR with BUILD's make-video and prints its path.
bench_video() {
  if [ -n "${3:-}" ]; then
    echo "$3"
  else
    "$2/bin/make-video" "$1/ball-640x360.avi" 900 >&2
    echo "$1/ball-640x360.avi"
  fi
}

# alloc_count DIR BUILD PORT SPLIT FRAMES: runs an edge agent on the synthetic camera (and, at a
# split, a cloud-worker for it, on the broker at PORT) under the heap allocation counter
# BUILD/lib/malloc-count.so (bench/malloc_count.c). Each program's total lands in
# DIR/{edge,worker}-SPLIT-FRAMES.count and its counts by calling object in ...callers. Fails
# (returns 1, saying why) unless the edge ran and every frame's result came back. Returns 3,
# saying why, when the run was not a steady state: every frame ended well, but some only after a
# deadline (published again, or run on the device), or the worker fell behind and left its share
# group; such a run takes other code paths, so its counts do not compare with another run's.
alloc_count() {
  local dir=$1 build=$2 port=$3 k=$4 n=$5 args=() wpid="" f shim
  shim="$(cd "$build" && pwd)/lib/malloc-count.so"
  [ -f "$shim" ] || { echo "no $shim: build the malloc-count target" >&2; return 1; }
  for f in edge worker; do
    : >"$dir/$f-$k-$n.count"
    : >"$dir/$f-$k-$n.callers"
  done
  if [ "$k" != 0 ]; then
    args=("$k" --host 127.0.0.1 --port "$port")
    ES_MALLOC_COUNT="$dir/worker-$k-$n.count" ES_MALLOC_CALLERS="$dir/worker-$k-$n.callers" \
      LD_PRELOAD="$shim" "$build/bin/cloud-worker" --host 127.0.0.1 --port "$port" \
      --worker-id alloc-w --stats-every 0 2>"$dir/worker.log" &
    wpid=$!
    for _ in $(seq 200); do grep -q WORKER-READY "$dir/worker.log" && break; sleep 0.05; done
    grep -q WORKER-READY "$dir/worker.log" || {
      echo "the worker did not start:" >&2
      cat "$dir/worker.log" >&2
      return 1
    }
  fi
  local ok=1
  ES_MALLOC_COUNT="$dir/edge-$k-$n.count" ES_MALLOC_CALLERS="$dir/edge-$k-$n.callers" \
    LD_PRELOAD="$shim" "$build/bin/edge-agent" "${args[@]}" --source synthetic --frames "$n" \
    --device-id alloc-e --quiet >/dev/null 2>"$dir/edge.log" || ok=0
  if [ -n "$wpid" ]; then
    kill -TERM "$wpid"
    wait "$wpid" || true
  fi
  local summary
  summary=$(grep -o "EDGE-SUMMARY.*" "$dir/edge.log" || true)
  if [ "$ok" = 0 ] || ! grep -q " frames=$n .* lost=0 " <<<"$summary"; then
    echo "the edge agent failed, or lost frames:" >&2
    cat "$dir/edge.log" >&2
    return 1
  fi
  if ! grep -q " results=$n fallback=0 lost=0 retried=0 duplicates=0 " <<<"$summary" ||
    { [ -n "$wpid" ] && grep -q WORKER-BEHIND "$dir/worker.log"; }; then
    echo "not a steady run (split $k, $n frames): ${summary#EDGE-SUMMARY} $(grep -o 'WORKER-BEHIND.*' "$dir/worker.log" 2>/dev/null | head -1)" >&2
    return 3
  fi
}

# alloc_steady_pair DIR BUILD PORT SPLIT N1 N2: alloc_count for N1 and then N2 frames, both in a
# steady state: a pair with a run that was not (alloc_count returned 3) is measured again, up to
# three times in all (a loaded machine can stall a run past a deadline). Returns 1 when a run
# failed or no steady pair was had.
alloc_steady_pair() {
  local dir=$1 build=$2 port=$3 k=$4 n1=$5 n2=$6 try rc
  for try in 1 2 3; do
    rc=0
    alloc_count "$dir" "$build" "$port" "$k" "$n1" || rc=$?
    [ "$rc" = 0 ] && { alloc_count "$dir" "$build" "$port" "$k" "$n2" || rc=$?; }
    [ "$rc" = 0 ] && return 0
    [ "$rc" = 3 ] || return 1
    echo "split $k: measuring again (attempt $((try + 1)) of 3)" >&2
  done
  echo "split $k: no steady pair of runs in 3 attempts" >&2
  return 1
}

# alloc_per_frame DIR WHO SPLIT N1 N2: for runs of alloc_count with N1 and N2 frames, one
# "ALLOCATIONS-PER-FRAME OBJECT" line per calling object, largest first: (count at N2 - count at
# N1) / (N2 - N1), start-up and exit cancelled out.
alloc_per_frame() {
  local dir=$1 who=$2 k=$3 n1=$4 n2=$5
  awk -v n="$((n2 - n1))" -v f1="$dir/$who-$k-$n1.callers" '
    FILENAME == f1 { sub(".*/", "", $2); a[$2] += $1; next }
    { sub(".*/", "", $2); b[$2] += $1 }
    END { for (o in b) printf "%.3f %s\n", (b[o] - a[o]) / n, o }
  ' "$dir/$who-$k-$n1.callers" "$dir/$who-$k-$n2.callers" | sort -rn
}

# summary_field NAME LOG: the value of NAME=... in the last EDGE-SUMMARY line of an agent's LOG.
summary_field() { grep -o "EDGE-SUMMARY.*" "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -1; }

# stop_pids PID...: stops the processes, the last one given first (start order reversed, so an
# edge agent stops before its worker and broker), and waits for each.
stop_pids() {
  local i
  for ((i = $#; i >= 1; i--)); do
    kill "${!i}" 2>/dev/null || true
    wait "${!i}" 2>/dev/null || true
  done
}

# median: the median of the numbers on stdin, one per line (0 when there are none).
median() {
  sort -n | awk '{v[NR]=$1} END {print NR ? ((NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) : 0}'
}
