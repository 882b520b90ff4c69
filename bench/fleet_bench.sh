#!/usr/bin/env bash
# Benchmark: a fleet sharing a cloud of limited capacity, under four policies.
#
# Real processes: one broker, two cloud workers (--threads 1 --slowdown WSLOW: each can serve
# about one CPU-second per second of an emulated slow machine) and edge agents in automatic mode
# (--slowdown-mode sleep, so that many emulated devices fit on a few cores), every one with its
# own MQTT connection. The fleet is mixed:
#   - 16 light devices, 1x..8x slower, camera at LRATE fps, goal LGOAL: met on the device alone;
#   - 8 heavy devices, 27x..76x slower, camera at HRATE fps, goals 8, 9, 10: from about 48x on
#     they cannot meet theirs at split 6 and need the cloud's capacity for a lower split. (On
#     this machine's cores a 20x device still runs the whole pipeline at 20 fps, so the fleet
#     reaches further to have goals that split 6 cannot meet, at camera rates that leave the
#     two cores room for 32 agents, a broker and two workers.)
# The scenario, PHASE seconds each (the first FIRST seconds): the fleet starts at split 6; 8 more
# heavy devices join; worker w2 is killed (SIGKILL); it comes back.
#
# Policies: "alone" (each device on its own, --saturation-rule off: the older per-device policy),
# "rule" (each device with the saturation rule), "planner" (a fleet-planner leads) and "static"
# (the best static assignment, computed offline by static-best, exactly by dynamic programming,
# from the per-split costs measured first: each device type's fps at each split 1..6 and the
# cloud CPU per frame there, against an unloaded cloud). The static assignment is also run live:
# per phase, that phase's devices in manual mode at its splits, from a fresh start.
#
# Per policy and phase it prints: goals met (mean fps of a device's last 3 whole windows of the
# phase at or above its goal; the short window an agent reports as it stops is left out), the
# sum of those fps, the cloud CPU per second (the devices' own cloud_cpu_ms_per_s, summed), split
# changes in the phase, and the windows until the last split change after the event (">N": still
# changing in the last 3 windows). Per policy: frames lost, frames run on the device after their
# deadline ("late"), and frames published twice. Last, per live policy, how many of the goals the
# static assignment met live it met too, per phase.
#
# Usage: bench/fleet_bench.sh
#   env: WINDOW (2), FIRST (36), PHASE (26), WSLOW (14), HRATE (12), LRATE (6), LGOAL (5),
#        POLICIES ("alone rule planner static"), PROFILE_S (6), BUILD (build), KEEP (unset: the
#        run directory, with every log and the stats stream, is removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
window=${WINDOW:-2}
first=${FIRST:-36}
phase=${PHASE:-26}
wslow=${WSLOW:-14}
hrate=${HRATE:-12}
lrate=${LRATE:-6}
lgoal=${LGOAL:-5}
policies=${POLICIES:-alone rule planner static}
profile_s=${PROFILE_S:-6}
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"
for tool in mosquitto_sub mosquitto_pub jq; do
  command -v "$tool" >/dev/null || {
    echo "fleet_bench: $tool is needed (scripts/setup.sh installs it)" >&2
    exit 1
  }
done

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-fleet-XXXXXX")
pids=()
agents=()
cleanup() {
  stop_pids "${agents[@]}" "${pids[@]}"
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")
w1=""
w2=""

# worker ID: starts cloud worker ID; sets WORKER_PID.
worker() {
  start_worker "$run/$1.$(date +%s%N).log" "$build/bin/cloud-worker" --host 127.0.0.1 \
    --port "$port" --worker-id "$1" --threads 1 --slowdown "$wslow" --stats-every 0
}
workers_up() {
  if [ -z "$w1" ] || ! kill -0 "$w1" 2>/dev/null; then
    worker w1
    w1=$WORKER_PID
    pids+=("$w1")
  fi
  if [ -z "$w2" ] || ! kill -0 "$w2" 2>/dev/null; then
    worker w2
    w2=$WORKER_PID
    pids+=("$w2")
  fi
}

# The fleet: "id slowdown rate goal" per line; 24 at the start, 8 joining.
fleet=$run/fleet.txt
: >"$fleet"
for i in $(seq 1 16); do
  printf 'L%02d %d %s %s\n' "$i" $(((i - 1) % 8 + 1)) "$lrate" "$lgoal" >>"$fleet"
done
for i in $(seq 1 8); do
  printf 'H%02d %d %s %d\n' "$i" $((20 + 7 * i)) "$hrate" $((8 + (i - 1) % 3)) >>"$fleet"
done
for i in $(seq 1 8); do
  printf 'J%02d %d %s %d\n' "$i" $((20 + 7 * i)) "$hrate" $((8 + i % 3)) >>"$fleet"
done
initial=$(grep -v '^J' "$fleet")
joining=$(grep '^J' "$fleet")


# --- the per-split costs, measured against an unloaded cloud --------------------------------
workers_up
profile=$run/profile.txt # "slowdown rate split fps cloud_us_per_frame"
: >"$profile"
types=$(awk '{ print $2, $3 }' "$fleet" | sort -u -n -k1,1 -k2,2)
echo "measuring each device type's fps and cloud CPU per frame at splits 1..6 ($(echo "$types" | wc -l) types)" >&2
# light types all at once, heavy ones four at a time: no batch saturates the workers
batches=("$(echo "$types" | awk -v r="$hrate" '$2 != r { printf "%s %s;", $1, $2 }')")
mapfile -t heavy < <(echo "$types" | awk -v r="$hrate" '$2 == r')
for ((b = 0; b < ${#heavy[@]}; b += 4)); do
  batches+=("$(printf '%s;' "${heavy[@]:b:4}")")
done
for k in 1 2 3 4 5 6; do
  for batch in "${batches[@]}"; do
    ps=()
    while read -r s r; do
      [ -n "$s" ] || continue
      "$build/bin/edge-agent" --host 127.0.0.1 --port "$port" --device-id "prof-$s-$r" --quiet \
        --frames "$(awk -v r="$r" -v t="$profile_s" 'BEGIN { printf "%d", r * t }')" --rate "$r" \
        --threads 1 --window "$window" --slowdown "$s" --slowdown-mode sleep --image-codec jpeg \
        "$k" 2>"$run/prof-$s-$r-$k.log" >/dev/null &
      ps+=($!)
    done < <(echo "$batch" | tr ';' '\n')
    wait "${ps[@]}"
  done
  while read -r s r; do
    log=$run/prof-$s-$r-$k.log
    echo "$s $r $k $(summary_field edge_fps "$log") $(summary_field cloud_cpu_us_per_result "$log")" >>"$profile"
  done <<<"$types"
done

# --- one policy ------------------------------------------------------------------------------
# start_agent LINE POLICY [SPLIT]: starts one agent of the fleet in automatic mode from split 6.
# With a third argument SPLIT it runs in manual mode at that split instead; logs to
# $run/POLICY-ID.log.
start_agent() {
  local id s r g mode
  read -r id s r g <<<"$1"
  mode=(6 "$g")
  [ "$2" != alone ] || mode+=(--saturation-rule off)
  [ -z "${3:-}" ] || mode=("$3")
  "$build/bin/edge-agent" --host 127.0.0.1 --port "$port" --device-id "$id" --quiet \
    --rate "$r" --threads 1 --window "$window" --slowdown "$s" --slowdown-mode sleep \
    --image-codec jpeg "${mode[@]}" 2>"$run/$2-$id.log" >/dev/null &
  agents+=($!)
}

# stop_agents: SIGINT to every agent started, and a wait for each (SIGKILL after 30 s).
stop_agents() {
  local a
  kill -INT "${agents[@]}" 2>/dev/null || true
  for a in "${agents[@]}"; do
    timeout 30 tail --pid="$a" -f /dev/null || kill -KILL "$a" 2>/dev/null || true
  done
  agents=()
}

# totals LOG...: "lost late retried" summed over the agents' summaries.
totals() {
  local f l t r lost=0 late=0 retried=0
  for f in "$@"; do
    l=$(summary_field lost "$f")
    t=$(summary_field fallback "$f")
    r=$(summary_field retried "$f")
    [ -n "$l" ] || echo "fleet_bench: no summary in $f" >&2
    lost=$((lost + ${l:-0}))
    late=$((late + ${t:-0}))
    retried=$((retried + ${r:-0}))
  done
  echo "$lost $late $retried"
}

# clear: no retained plan or lease left from an earlier policy.
clear_retained() {
  local id
  while read -r id _; do
    mosquitto_pub -h 127.0.0.1 -p "$port" -r -n -t "pipeline/plan/$id"
  done <"$fleet"
  mosquitto_pub -h 127.0.0.1 -p "$port" -r -n -t pipeline/planner/fleet
}

# capacity WORKER: the CPU-seconds per second its retained status states.
capacity() {
  timeout 5 mosquitto_sub -h 127.0.0.1 -p "$port" -t "pipeline/status/$1" -C 1 |
    jq -r '.capacity_cpu_s // 1'
}

events=()
live_run() {
  local policy=$1 rec planner=""
  workers_up
  clear_retained
  agents=()
  rec=$run/$policy.stats
  mosquitto_sub -h 127.0.0.1 -p "$port" -t 'pipeline/stats/+' -F '{"t":%U,"m":%p}' >"$rec" &
  pids+=($!)
  local sub=$!
  if [ "$policy" = planner ]; then
    "$build/bin/fleet-planner" --host 127.0.0.1 --port "$port" --planner-id p1 \
      --window "$window" 2>"$run/planner.log" &
    planner=$!
    pids+=("$planner")
  fi
  events=("$(date +%s.%N)")
  while read -r line; do start_agent "$line" "$policy"; done <<<"$initial"
  sleep "$first"
  CAP1=$(capacity w1)
  CAP2=$(capacity w2)
  events+=("$(date +%s.%N)")
  while read -r line; do start_agent "$line" "$policy"; done <<<"$joining"
  sleep "$phase"
  events+=("$(date +%s.%N)")
  kill -KILL "$w2"
  wait "$w2" 2>/dev/null || true
  sleep "$phase"
  events+=("$(date +%s.%N)")
  workers_up
  sleep "$phase"
  events+=("$(date +%s.%N)")
  stop_agents
  [ -z "$planner" ] || { kill -INT "$planner" 2>/dev/null || true; wait "$planner" 2>/dev/null || true; }
  kill "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true
}

# report POLICY: one table row per phase from the recorded stats, and the run's totals.
report() {
  local policy=$1 lost late retried
  read -r lost late retried < <(totals "$run/$policy"-*.log)
  jq -r --argjson w "$window" 'select(.m.device != null and .m.window_s >= $w / 2) | [.t, .m.device, .m.split, .m.fps, (.m.goal // 0), (.m.cloud_cpu_ms_per_s // 0)] | @tsv' \
    "$run/$policy.stats" |
    awk -v ev="${events[*]}" -v w="$window" -v pol="$policy" -v lost="$lost" -v late="$late" \
      -v retried="$retried" -v metfile="$run/$policy.met" '
    BEGIN {
      ne = split(ev, e, " ")
      names[1] = "start (24)"; names[2] = "8 join"; names[3] = "w2 killed"; names[4] = "w2 back"
    }
    {
      t = $1; d = $2
      for (p = 1; p < ne; p++) if (t >= e[p] && t < e[p + 1]) break
      if (p >= ne) next
      n[p, d]++; k = n[p, d]
      fps[p, d, k] = $4; cpu[p, d, k] = $6; goal[d] = $5; seen[p, d] = 1; devs[d] = 1
      if ((d in last) && last[d] != $3) { changes[p]++; lastchange[p] = t }
      last[d] = $3
    }
    END {
      for (p = 1; p < ne; p++) {
        met = 0; devn = 0; sum = 0; c = 0
        for (d in devs) {
          if (!((p, d) in seen)) continue
          devn++; m = n[p, d]; from = m > 3 ? m - 2 : 1; f = 0; cc = 0
          for (k = from; k <= m; k++) { f += fps[p, d, k]; cc += cpu[p, d, k] }
          f /= (m - from + 1); cc /= (m - from + 1)
          met += f >= goal[d]; sum += f; c += cc
          if (f >= goal[d]) print p, d > metfile
        }
        len = (e[p + 1] - e[p]) / w
        if (!(p in lastchange)) settle = 0
        else {
          settle = int((lastchange[p] - e[p]) / w + 0.999)
          if (lastchange[p] > e[p + 1] - 3 * w) settle = sprintf(">%d", int(len))
        }
        printf "| %s | %s | %d of %d | %.1f | %.3f | %d | %s |", pol, names[p], met, devn, sum,
          c / 1000, changes[p], settle
        if (p == 1) printf " %d / %d / %d |\n", lost, late, retried
        else printf " |\n"
      }
    }'
}

# static: the best static assignment per phase, from the profile (a goal counts as met when the
# measured fps reaches it, as in the live runs); capacity as the workers state it (read in the
# last live run, or 1 CPU-s/s each), times the planner's utilization share (0.85).
static_report() {
  local both one p cap who name
  both=$(awk -v a="${CAP1:-1}" -v b="${CAP2:-1}" 'BEGIN { print (a + b) * 0.85 }')
  one=$(awk -v a="${CAP1:-1}" 'BEGIN { print a * 0.85 }')
  for p in 1 2 3 4; do
    who=$(cat "$fleet") cap=$both
    case $p in
    1) who=$initial name="start (24)" ;;
    2) name="8 join" ;;
    3) name="w2 killed" cap=$one ;;
    4) name="w2 back" ;;
    esac
    {
      echo "capacity $cap"
      echo "margin 0"
      while read -r id s r g; do
        printf 'device %s goal %s fps' "$id" "$g"
        awk -v s="$s" -v r="$r" '$1 == s && $2 == r { printf " %s", $4 }' "$profile"
        printf ' cpu'
        awk -v s="$s" -v r="$r" '$1 == s && $2 == r { printf " %s", $5 }' "$profile"
        echo
      done <<<"$who"
    } >"$run/static-$p.txt"
    if ! "$build/bin/static-best" <"$run/static-$p.txt" >"$run/static-$p.out" 2>&1; then
      printf '| static (offline) | %s | static-best: %s | | | | | |\n' "$name" "$(tail -1 "$run/static-$p.out")"
      continue
    fi
    # sum what static-best planned: goals met (at the measured fps), fps and cloud CPU
    awk -v name="$name" '
      $1 != "static-best:" { n++; met += ($0 ~ /goal met/); f += $5; c += $7 }
      END { printf "| static (offline) | %s | %d of %d | %.1f | %.3f | - | - |%s\n", name, met, n, f, c,
            name == "start (24)" ? " - |" : " |" }' "$run/static-$p.out"
  done
}

# static_live: the best static assignment of each phase, run: that phase's devices in manual mode
# at the splits static-best gave them, against both workers (w1 alone in phase 3), for the
# phase's length, from a fresh start (no event to recover from). One row per phase, as report.
static_live() {
  local p id k secs name rec sub lost=0 late=0 retried=0 l t r rows=$run/static-live.rows
  : >"$run/static.met"
  : >"$rows"
  for p in 1 2 3 4; do
    grep -q '^static-best: goals met' "$run/static-$p.out" 2>/dev/null || continue
    if [ "$p" = 3 ]; then
      kill -KILL "$w2" 2>/dev/null || true
      wait "$w2" 2>/dev/null || true
    else
      workers_up
    fi
    clear_retained
    rec=$run/static-$p.stats
    mosquitto_sub -h 127.0.0.1 -p "$port" -t 'pipeline/stats/+' -F '{"t":%U,"m":%p}' >"$rec" &
    sub=$!
    pids+=("$sub")
    agents=()
    while read -r id _ k _; do
      start_agent "$(grep "^$id " "$fleet")" "static-$p" "$k"
    done < <(grep -v '^static-best:' "$run/static-$p.out")
    secs=$phase
    [ "$p" != 1 ] || secs=$first
    sleep "$secs"
    local end
    end=$(date +%s.%N) # the windows the agents report as they stop are left out, as in report
    stop_agents
    kill "$sub" 2>/dev/null || true
    wait "$sub" 2>/dev/null || true
    read -r l t r < <(totals "$run/static-$p"-*.log)
    lost=$((lost + l)) late=$((late + t)) retried=$((retried + r))
    case $p in
    1) name="start (24)" ;; 2) name="8 join" ;; 3) name="w2 killed" ;; 4) name="w2 back" ;;
    esac
    jq -r --argjson w "$window" --argjson until "$end" 'select(.m.device != null and .m.window_s >= $w / 2 and .t < $until) | [.m.device, .m.fps, (.m.cloud_cpu_ms_per_s // 0)] | @tsv' "$rec" |
      awk -v p="$p" -v name="$name" -v fleet="$fleet" -v metfile="$run/static.met" '
        BEGIN { while ((getline l < fleet) > 0) { split(l, x, " "); goal[x[1]] = x[4] } }
        { d = $1; n[d]++; fps[d, n[d]] = $2; cpu[d, n[d]] = $3 }
        END {
          for (d in n) {
            m = n[d]; from = m > 3 ? m - 2 : 1; f = 0; cc = 0
            for (k = from; k <= m; k++) { f += fps[d, k]; cc += cpu[d, k] }
            f /= (m - from + 1); cc /= (m - from + 1)
            devn++; sum += f; c += cc
            if (f >= goal[d]) { met++; print p, d >> metfile }
          }
          printf "| static (live) | %s | %d of %d | %.1f | %.3f | 0 | 0 |", name, met, devn, sum, c / 1000
        }' >>"$rows"
    if [ "$p" = 1 ]; then echo " @TOTALS@ |" >>"$rows"; else echo " |" >>"$rows"; fi
  done
  sed "s|@TOTALS@|$lost / $late / $retried|" "$rows"
}

# compare POLICY: per phase, how many of the goals the static assignment met live POLICY met.
compare() {
  [ -s "$run/static.met" ] && [ -f "$run/$1.met" ] || return 0
  awk -v pol="$1" '
    FILENAME == ARGV[1] { want[$1, $2] = 1; n[$1]++; next }
    ($1, $2) in want { got[$1]++ }
    END {
      names[1] = "start"; names[2] = "8 join"; names[3] = "w2 killed"; names[4] = "w2 back"
      printf "%s meets, of the goals the static assignment met live:", pol
      for (p = 1; p <= 4; p++) printf " %s %d of %d;", names[p], got[p] + 0, n[p] + 0
      printf "\n"
    }' "$run/static.met" "$run/$1.met"
}

echo "broker, 2 workers (--threads 1 --slowdown $wslow), window ${window} s, phases ${first}+${phase}x3 s; nproc $(nproc)"
echo
echo "Measured per-split costs (one agent per type, unloaded cloud): fps at splits 1..6 | cloud CPU per frame, us"
echo
echo "| slowdown | rate | fps at 1..6 | cloud us/frame at 1..6 |"
echo "|---|---|---|---|"
while read -r s r; do
  printf '| %sx | %s | %s | %s |\n' "$s" "$r" \
    "$(awk -v s="$s" -v r="$r" '$1 == s && $2 == r { printf "%s ", $4 }' "$profile")" \
    "$(awk -v s="$s" -v r="$r" '$1 == s && $2 == r { printf "%s ", $5 }' "$profile")"
done <<<"$types"
echo
echo "| policy | phase | goals met | sum fps | cloud CPU-s/s | split changes | windows to settle | lost / late / sent twice |"
echo "|---|---|---|---|---|---|---|---|"
for policy in $policies; do
  if [ "$policy" = static ]; then
    static_report
    echo "running the static assignment live" >&2
    static_live
    continue
  fi
  echo "running policy $policy" >&2
  live_run "$policy"
  report "$policy"
done
echo
for policy in $policies; do
  [ "$policy" = static ] || compare "$policy"
done
