#!/usr/bin/env bash
# Fault benchmark: what an operator sees when a worker or the broker fails under load, measured
# with real processes on this machine. Each scenario starts a mosquitto from
# broker-config/dev.conf with persistence on (so the observer's session survives a broker
# restart), an independent observer (mosquitto_sub, persistent session, QoS 1) on
# pipeline/results/#, the workers, then `edge-agent 3 --source synthetic --rate 100 --frames 1500`
# as device cam-01, and injects the fault 5 s after the edge starts:
#
#   kill-one-of-two          two workers; kill -9 one of them
#   only-worker-restart      one worker; kill -9 it, a new one with the same id 5 s later
#   broker-3s, broker-10s    one worker; kill -9 the broker, start it again 3 s / 10 s later
#   worker-hung-then-killed  two workers; SIGSTOP one, kill -9 it 2 s later
#   worker-20pct             two workers; one stopped 0.8 s and running 0.2 s in a loop
#   same-device-id           one worker; a second edge (1000 frames) with the same device id
#   no-worker                no worker at all, no fault
#
# Each edge is capped at 90 s (SIGTERM, SIGKILL 10 s later). Two seconds after the edges exit,
# the observer, workers and broker are stopped. Figures per scenario, from the observer's lines
# and the edges' EDGE-SUMMARY lines (only frames=, fallback= and lost= are read, so older
# builds work too): captured, distinct frames with a worker's result and with a fallback
# result (a frame is device, seq, captured_us), lost, duplicates, the longest gap between two
# observer lines, the recovery time (the start of the first 1-s bucket after the fault with at
# least 90% of the observer's rate in the 3 s before it) and the edge's frame rate (captured
# frames over the first edge's wall time).
#
# Usage: bench/fault_bench.sh [--bin DIR] [--label NAME] [--out DIR] [--only SCENARIO] [--keep]
#   --bin DIR        edge-agent and cloud-worker to run (default build/bin)
#   --label NAME     names the output: OUT/faults_NAME.md (default after)
#   --out DIR        output directory (default bench/results)
#   --only SCENARIO  run one scenario
#   --keep           keep each scenario's raw files (observer lines, logs, timeline) in
#                    OUT/faults_NAME/<scenario>/
set -euo pipefail
export LC_ALL=C
caller=$PWD
cd "$(dirname "$0")/.."
. scripts/lib.sh

scenarios=(kill-one-of-two only-worker-restart broker-3s broker-10s worker-hung-then-killed
  worker-20pct same-device-id no-worker)
split=3 rate=100 frames=1500 frames2=1000 device=cam-01
fault_s=5 cap_s=90 kill_after_s=10 tail_s=2

usage() {
  echo "usage: bench/fault_bench.sh [--bin DIR] [--label NAME] [--out DIR] [--only SCENARIO] [--keep]" >&2
  echo "scenarios: ${scenarios[*]}" >&2
  exit 2
}
# abs PATH: PATH made absolute against the directory the script was started from.
abs() { case $1 in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }

bin=build/bin label=after out=bench/results only="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --bin) [ $# -ge 2 ] || usage; bin=$(abs "$2"); shift 2 ;;
    --label) [ $# -ge 2 ] || usage; label=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$(abs "$2"); shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) usage ;;
  esac
done
[[ $label =~ ^[A-Za-z0-9._-]+$ ]] || { echo "fault_bench: bad label '$label'" >&2; usage; }
if [ -n "$only" ]; then
  [[ " ${scenarios[*]} " == *" $only "* ]] || { echo "fault_bench: unknown scenario '$only'" >&2; usage; }
  scenarios=("$only")
fi
[ "$bin" != build/bin ] || [ -x build/bin/edge-agent ] || scripts/setup.sh build
for prog in edge-agent cloud-worker; do
  [ -x "$bin/$prog" ] || { echo "fault_bench: no $bin/$prog" >&2; exit 1; }
done
for tool in mosquitto mosquitto_sub mosquitto_pub jq; do
  command -v "$tool" >/dev/null || { echo "fault_bench: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
bin=$(cd "$bin" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-faults-XXXXXX")
chmod 755 "$tmp" # mosquitto drops root privileges to user mosquitto; its db lives below
# Every scenario runs copies taken now, so a rebuild of DIR during the run cannot mix versions.
mkdir "$tmp/bin"
cp "$bin/edge-agent" "$bin/cloud-worker" "$tmp/bin/"
declare -A done_=() # actions of the running scenario already done
declare -A live=() # pid -> name of every process started and not yet reaped

# reap PID: waits for PID (already dead or killed) without the shell's "Killed" notice.
reap() {
  { wait "$1" || true; } 2>/dev/null
  unset "live[$1]"
}
# kill9 PID: kill -9 and reap at once.
kill9() {
  kill -9 "$1" 2>/dev/null || true
  reap "$1"
}
# stop_hard PID...: SIGCONT (a stopped process cannot act on SIGTERM) and SIGTERM to each; any
# still running 10 s later gets SIGKILL. Reaps them all.
stop_hard() {
  local p i alive
  for p; do
    kill -CONT "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
  done
  for ((i = 0; i < 100; i++)); do
    alive=0
    for p; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p; do kill9 "$p"; done
}
cleanup() {
  [ ${#live[@]} = 0 ] || stop_hard "${!live[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# NOW: wall clock in microseconds; tick sets it.
NOW=0
tick() { NOW=${EPOCHREALTIME/./}; }
# secs US: microseconds as seconds with 6 decimals.
secs() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
# note TEXT: a line of the scenario's timeline, time relative to the first edge's start.
note() {
  tick
  printf '+%s %s\n' "$(secs $((NOW - t_edge)))" "$*" >>"$dir/timeline.txt"
}

# broker_start: starts mosquitto on $port with $dir/mosquitto.conf (log appended); sets broker.
broker_start() {
  mosquitto -c "$dir/mosquitto.conf" 2>>"$dir/broker.log" &
  broker=$!
  live[$broker]=broker
}
# broker_wait: waits up to 5 s until the broker accepts connections.
broker_wait() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "fault_bench: mosquitto did not start on port $port:" >&2
  cat "$dir/broker.log" >&2
  return 1
}
# observer_start: the independent observer; returns once it receives (a probe published until
# it does, on a topic of its subscription; the probe is not a result and is not counted).
observer_start() {
  mosquitto_sub -h 127.0.0.1 -p "$port" -V 5 -c -x 600 -i observer -q 1 -t 'pipeline/results/#' \
    -F '%U %p' >"$dir/observer.txt" 2>"$dir/observer.err" &
  observer=$!
  live[$observer]=observer
  for _ in $(seq 50); do
    mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t pipeline/results/fault-bench-probe \
      -m '{"probe":"fault-bench"}'
    sleep 0.2
    [ -s "$dir/observer.txt" ] && return 0
  done
  echo "fault_bench: the observer received nothing:" >&2
  cat "$dir/observer.err" >&2
  return 1
}
# worker_start N [LOG]: starts worker w-N and waits for WORKER-READY; sets wpid[N].
worker_start() {
  start_worker "${2:-$dir/w-$1.log}" "$tmp/bin/cloud-worker" --host 127.0.0.1 --port "$port" \
    --worker-id "w-$1"
  wpid[$1]=$WORKER_PID
  wlog[$1]=${2:-$dir/w-$1.log}
  live[$WORKER_PID]=w-$1
}
# edge_start I FRAMES: starts edge I (stderr in edge-I.log) and records its start.
edge_start() {
  "$tmp/bin/edge-agent" "$split" --host 127.0.0.1 --port "$port" --device-id "$device" \
    --source synthetic --rate "$rate" --frames "$2" >"$dir/edge-$1.out" 2>"$dir/edge-$1.log" &
  tick
  epid[$1]=$!
  live[$!]=edge-$1
  estart[$1]=$NOW eend[$1]="" erc[$1]="" ecap[$1]=""
}
# edges_poll: reaps edges that exited and enforces the cap; true while an edge runs.
edges_poll() {
  local i rc running=1
  for i in "${!epid[@]}"; do
    [ -z "${eend[$i]}" ] || continue
    tick
    if ! kill -0 "${epid[$i]}" 2>/dev/null; then
      rc=0
      wait "${epid[$i]}" || rc=$?
      unset "live[${epid[$i]}]"
      eend[i]=$NOW erc[i]=$rc
      note "edge-$i exited with status $rc"
      continue
    fi
    running=0
    if [ -z "${ecap[$i]}" ] && ((NOW - estart[i] >= cap_s * 1000000)); then
      kill -TERM "${epid[$i]}" 2>/dev/null || true
      ecap[i]=term
      note "edge-$i capped: SIGTERM"
    elif [ "${ecap[$i]}" = term ] && ((NOW - estart[i] >= (cap_s + kill_after_s) * 1000000)); then
      ecap[i]="kill"
      kill -9 "${epid[$i]}" 2>/dev/null || true
      rc=0
      { wait "${epid[$i]}" || rc=$?; } 2>/dev/null
      unset "live[${epid[$i]}]"
      tick
      eend[i]=$NOW erc[i]=$rc
      note "edge-$i still running: SIGKILL"
      running=1
    fi
  done
  return "$running"
}

# fault_step SCENARIO EL: injects what is due EL µs after the first edge started (each action
# once, flags in done_[]); sets fault_us at the injection; true once no action is left.
fault_step() {
  local sc=$1 el=$2 f=$((fault_s * 1000000))
  ((el >= f)) || return 1
  if [ -z "${done_[fault]:-}" ]; then
    done_[fault]=1
    tick
    fault_us=$NOW
    case $sc in
      kill-one-of-two | only-worker-restart)
        kill9 "${wpid[1]}"
        note "kill -9 w-1" ;;
      broker-3s | broker-10s)
        kill9 "$broker"
        note "kill -9 broker" ;;
      worker-hung-then-killed)
        kill -STOP "${wpid[1]}"
        note "SIGSTOP w-1" ;;
      worker-20pct)
        kill -STOP "${wpid[1]}"
        duty=stopped cycles=1
        note "w-1: stopped 0.8 s, running 0.2 s, from now until the edge ends" ;;
      same-device-id)
        edge_start 2 "$frames2"
        note "edge-2 started (same device id, $frames2 frames)" ;;
    esac
  fi
  case $sc in
    only-worker-restart)
      if [ -z "${done_[restart]:-}" ] && ((el >= f + 5000000)); then
        done_[restart]=1
        "$tmp/bin/cloud-worker" --host 127.0.0.1 --port "$port" --worker-id w-1 2>"$dir/w-1-restart.log" &
        wpid[1]=$! wlog[1]=$dir/w-1-restart.log
        live[$!]=w-1
        note "w-1 started again"
      fi
      [ -n "${done_[restart]:-}" ] ;;
    broker-3s | broker-10s)
      local down=${sc#broker-}
      down=${down%s}
      if [ -z "${done_[restart]:-}" ] && ((el >= f + down * 1000000)); then
        done_[restart]=1
        broker_start
        note "broker started again"
      fi
      [ -n "${done_[restart]:-}" ] ;;
    worker-hung-then-killed)
      if [ -z "${done_[kill]:-}" ] && ((el >= f + 2000000)); then
        done_[kill]=1
        kill9 "${wpid[1]}"
        note "kill -9 w-1"
      fi
      [ -n "${done_[kill]:-}" ] ;;
    worker-20pct)
      local want=running
      (((el - f) % 1000000 < 800000)) && want=stopped
      if [ "$want" != "$duty" ]; then
        if [ "$want" = stopped ]; then
          kill -STOP "${wpid[1]}" 2>/dev/null || true
          cycles=$((cycles + 1))
        else
          kill -CONT "${wpid[1]}" 2>/dev/null || true
        fi
        duty=$want
      fi ;;
    *) true ;;
  esac
}

# summary_key I KEY: KEY's value in edge I's EDGE-SUMMARY line (empty when absent).
summary_key() {
  local line
  line=$(grep -o 'EDGE-SUMMARY.*' "$dir/edge-$1.log" | tail -n 1 || true)
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$line"
}

# observer_tsv: the observer's results as "time device seq captured_us fallback(0/1)", sorted by
# arrival, in $dir/observer.tsv (the probe and anything else that is not a result left out).
observer_tsv() {
  jq -R -r 'index(" ") as $i | select($i != null)
    | (.[$i + 1:] | try fromjson catch null) as $r
    | select(($r | type) == "object" and $r.seq != null)
    | [.[:$i], $r.device, $r.seq, $r.captured_us, (if $r.fallback == true then 1 else 0 end)]
    | @tsv' "$dir/observer.txt" | sort -t "$(printf '\t')" -k1,1n >"$dir/observer.tsv"
}

# edge_top_seqs: the highest seq the observer got from each edge, in edge order (-1: none).
# Edges sharing a device id reuse seqs, so each distinct frame, in capture order, goes to an
# edge that was running when it was captured; among several, to the one whose last frame has
# the highest seq below this one's (an edge's seqs rise with capture time), the latest on a tie.
edge_top_seqs() {
  local i spans=""
  for i in $(printf '%s\n' "${!epid[@]}" | sort -n); do spans="$spans${estart[$i]}:${eend[$i]} "; done
  awk -F '\t' '{print $4, $3}' "$dir/observer.tsv" | sort -k1,1n -k2,2n -u | awk -v spans="$spans" '
    BEGIN { n = split(spans, sp, " ")
      for (e = 1; e <= n; e++) { split(sp[e], se, ":"); from[e] = se[1]; to[e] = se[2]; last[e] = top[e] = -1 } }
    { best = 0
      for (e = 1; e <= n; e++) {
        if ($1 < from[e] || $1 > to[e] || last[e] >= $2) continue
        if (!best || last[e] > last[best] || (last[e] == last[best] && at[e] > at[best])) best = e
      }
      if (!best) next
      last[best] = $2; at[best] = $1; if ($2 > top[best]) top[best] = $2 }
    END { for (e = 1; e <= n; e++) printf "%d ", top[e] }'
}

# edges_account SCENARIO: each edge's line in $tmp/edges; sets CAPTURED (frames= summed, or the
# observer's estimate), EDGE_LOST (lost= summed), MARK (* estimated, † frames= below what the
# observer saw), CAPPED, LAST_END (µs) and FPS of the first edge. Notes go to $tmp/notes.
edges_account() {
  local sc=$1 i f seen named top req
  read -r -a top <<<"$(edge_top_seqs)"
  CAPTURED=0 EDGE_LOST=0 MARK="" CAPPED="" LAST_END=0 FPS=""
  for i in $(printf '%s\n' "${!epid[@]}" | sort -n); do
    f=$(summary_key "$i" frames)
    seen=$((${top[i - 1]:--1} + 1))
    req=$frames
    ((i == 1)) || req=$frames2
    if [ -n "$f" ] && [ "${erc[$i]}" = 0 ] && [ -z "${ecap[$i]}" ] && ((f < req)); then
      # An edge that ended normally captured every frame asked for; some builds leave the
      # frames they could not publish out of frames= (and count them in lost=).
      [[ $MARK == *†* ]] || MARK="$MARK†"
      echo "- $sc: edge-$i ran all its $req frames (exit status 0) but reports frames=$f and lost=$(summary_key "$i" lost): it leaves the frames it could not publish out of frames=; captured counts all $req." >>"$tmp/notes"
      f=$req
    elif [ -z "$f" ]; then
      f=$seen
      [[ $MARK == *"*"* ]] || MARK="$MARK*"
      named=$(grep -oE '(^| )frame [0-9]+' "$dir/edge-$i.log" | awk '$2 > m {m = $2} END {print m + 0}')
      echo "- $sc: edge-$i printed no EDGE-SUMMARY (exit status ${erc[$i]}); captured is its highest seq seen by the observer + 1 ($f), a lower bound (the highest frame seq its log names is $named)." >>"$tmp/notes"
    elif ((seen > f)); then
      [[ $MARK == *†* ]] || MARK="$MARK†"
      echo "- $sc: edge-$i reports frames=$f (and lost=$(summary_key "$i" lost)) but the observer got its frames up to seq $((seen - 1)): this frames= leaves out captured frames, so captured, lost and edge fps, which use it, understate them." >>"$tmp/notes"
    fi
    CAPTURED=$((CAPTURED + f))
    EDGE_LOST=$((EDGE_LOST + $(summary_key "$i" lost | grep -E '^[0-9]+$' || echo 0)))
    [ -z "${ecap[$i]}" ] || CAPPED=" (capped)"
    ((eend[i] <= LAST_END)) || LAST_END=${eend[$i]}
    [ -n "$FPS" ] || FPS=$(awk -v f="$f" -v us=$((eend[i] - estart[i])) 'BEGIN { printf "%.1f", (us > 0 ? f / (us / 1e6) : 0) }')
    printf -- '- %s, edge-%s: %d.%d s, exit status %s%s; EDGE-SUMMARY frames=%s fallback=%s lost=%s\n' \
      "$sc" "$i" $(((eend[i] - estart[i]) / 1000000)) $(((eend[i] - estart[i]) / 100000 % 10)) "${erc[$i]}" \
      "${ecap[$i]:+, capped at ${cap_s} s (${ecap[$i]})}" "$(summary_key "$i" frames)" \
      "$(summary_key "$i" fallback)" "$(summary_key "$i" lost)" | sed 's/=\([ ;]\)/=-\1/g; s/=$/=-/' >>"$tmp/edges"
  done
}

# analyse SCENARIO: the scenario's table row (to $tmp/rows) from the observer's lines and the
# edges' accounts; notes to $tmp/notes. Sets LINES (observer results).
analyse() {
  local sc=$1 bad
  observer_tsv
  LINES=$(wc -l <"$dir/observer.tsv")
  bad=$(grep -vc 'fault-bench' "$dir/observer.txt" || true)
  edges_account "$sc"
  awk -F '\t' -v sc="$sc" -v cap="$CAPTURED" -v mark="$MARK" -v capped="$CAPPED" -v fps="$FPS" \
    -v elost="$EDGE_LOST" -v fault="${fault_us:+$(secs "${fault_us:-0}")}" -v end="$(secs "$LAST_END")" \
    -v bad=$((bad - LINES)) -v notes="$tmp/notes" '
    # pad(s, w): s right-aligned in w columns; the markers are one column but three bytes
    function pad(s, w,   c, n) { c = s; n = length(s) - 2 * gsub(/†|‡/, "", c); while (n++ < w) s = " " s; return s }
    { t[NR] = $1; k = $2 SUBSEP $3 SUBSEP $4
      if (!(k in seen)) { seen[k] = 1; d++ }
      if ($5 == 1) { if (!(k in fb)) { fb[k] = 1; nf++ } }
      else if (!(k in wk)) { wk[k] = 1; nw++ }
      if (NR > 1 && $1 - t[NR - 1] > gap) gap = $1 - t[NR - 1]
      if (fault != "") {
        if ($1 >= fault - 3 && $1 < fault) base++
        if ($1 >= fault) bucket[int($1 - fault)]++
      } }
    END {
      for (k in fb) if (k in wk) both++
      lost = cap - d; lmark = ""
      if (lost < 0) {
        printf "- %s: the observer saw %d distinct frames, %d more than captured; lost shown as 0.\n", sc, d, -lost >> notes
        lost = 0
      }
      if (elost > lost) {
        lmark = "‡"
        printf "- %s: the edges report lost=%d in their summaries, more than the %d missing at the observer.\n", sc, elost, lost >> notes
      }
      if (both) printf "- %s: %d frames came back both from a worker and as a fallback; counted in both columns.\n", sc, both >> notes
      if (bad > 0) printf "- %s: %d observer lines were not results.\n", sc, bad >> notes
      if (!NR) printf "- %s: no result reached the observer.\n", sc >> notes
      else if (end - t[NR] > 1)
        printf "- %s: the observer got its last result %.1f s before the last edge ended (the longest gap counts only between results).\n", sc, end - t[NR] >> notes
      if (fault == "") rec = "-"
      else if (!base) rec = "n/a"
      else {
        rec = "never"
        for (b = 0; fault + b < end; b++) if (bucket[b] >= 0.9 * base / 3) { rec = b; break }
      }
      printf "| %-33s | %s | %7d | %8d | %s | %10d | %15.2f | %12s | %8s |\n", sc capped,
        pad(cap mark, 8), nw, nf, pad(lost lmark, 6), NR - d, gap, rec, fps
    }' "$dir/observer.tsv" >>"$tmp/rows"
}

# run_scenario SCENARIO: one scenario from broker start to teardown, then its analysis.
run_scenario() {
  local sc=$1 nworkers=1 el i t0
  dir=$tmp/$sc
  mkdir -p "$dir/db"
  chmod 755 "$dir"
  chmod 777 "$dir/db"
  port=$(free_port 0)
  sed -e "s/^listener .*/listener $port 127.0.0.1/" \
    -e "s|^persistence false\$|persistence true\npersistence_location $dir/db/\nautosave_interval 1|" \
    broker-config/dev.conf >"$dir/mosquitto.conf"
  grep -q '^persistence true' "$dir/mosquitto.conf" || { echo "fault_bench: dev.conf has no 'persistence false' line" >&2; return 1; }
  case $sc in
    kill-one-of-two | worker-hung-then-killed | worker-20pct) nworkers=2 ;;
    no-worker) nworkers=0 ;;
  esac
  wpid=() wlog=() epid=() estart=() eend=() erc=() ecap=() done_=()
  fault_us="" duty="" cycles=0 t_edge=0
  t0=${EPOCHREALTIME/./}
  broker_start
  broker_wait
  observer_start
  for ((i = 1; i <= nworkers; i++)); do worker_start "$i"; done
  edge_start 1 "$frames"
  t_edge=${estart[1]}
  note "edge-1 started ($frames frames); port $port"
  while true; do
    tick
    el=$((NOW - t_edge))
    local left=1 ran=1
    if [ "$sc" = no-worker ] || fault_step "$sc" "$el"; then left=0; fi
    edges_poll || ran=0
    [ "$ran" = 1 ] || [ "$left" = 1 ] || break
    sleep 0.05
  done
  if [ "$sc" = worker-20pct ]; then
    kill -CONT "${wpid[1]}" 2>/dev/null || true
    note "w-1 resumed for good after $cycles stops"
  fi
  sleep "$tail_s"
  note "stopping observer, workers, broker"
  for i in "${!wpid[@]}"; do
    kill -0 "${wpid[$i]}" 2>/dev/null || [ -z "${live[${wpid[$i]}]:-}" ] ||
      echo "- $sc: w-$i had exited before the end of the run ($(tail -n 1 "${wlog[$i]}" 2>/dev/null))." >>"$tmp/notes"
  done
  kill -0 "$broker" 2>/dev/null || echo "- $sc: the broker was not running at the end of the run." >>"$tmp/notes"
  stop_hard "$observer"
  # shellcheck disable=SC2046 # pids are words
  stop_hard $(for p in "${!live[@]}"; do [ "${live[$p]}" = broker ] || echo "$p"; done)
  stop_hard "${!live[@]}"
  analyse "$sc"
  tick
  RUN_S=$(((NOW - t0) / 1000000))
  if [ "$keep" = 1 ]; then
    rm -rf "${out:?}/faults_$label/$sc"
    mkdir -p "$out/faults_$label/$sc"
    find "$dir" -maxdepth 1 -type f -exec cp {} "$out/faults_$label/$sc/" \;
  fi
  rm -rf "$dir"
}

# Where the binaries come from, as far as the tree they sit in tells (taken before the run).
src=$(git -C "$bin" rev-parse --show-toplevel 2>/dev/null || true)
where=$bin
if [ -n "$src" ]; then
  where="$bin (source tree $src, HEAD $(git -C "$src" rev-parse --short HEAD) at the start"
  [ -z "$(git --no-optional-locks -C "$src" status --porcelain --untracked-files=no)" ] ||
    where="$where, with uncommitted changes"
  where="$where; edge-agent built $(date -r "$bin/edge-agent" '+%Y-%m-%d %H:%M'))"
fi
mkdir -p "$out"
: >"$tmp/rows"
: >"$tmp/notes"
: >"$tmp/edges"
started=$SECONDS
n=0
for sc in "${scenarios[@]}"; do
  n=$((n + 1))
  printf 'fault_bench: [%d/%d] %s ... ' "$n" "${#scenarios[@]}" "$sc" >&2
  run_scenario "$sc"
  printf 'done in %d s: captured %s, %s observer results\n' "$RUN_S" "$CAPTURED" "$LINES" >&2
done

report=$tmp/report.md
{
  echo "Fault table ($label): split $split, synthetic source at $rate fps, $frames frames (the second edge of same-device-id: $frames2), fault $fault_s s after the edge starts, edges capped at $cap_s s; binaries: $where; $(date '+%Y-%m-%d %H:%M %Z'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(mosquitto -h 2>/dev/null | head -n 1 | sed 's/ version / /')."
  echo
  echo "| scenario                          | captured | results | fallback |   lost | duplicates | longest gap (s) | recovery (s) | edge fps |"
  echo "|-----------------------------------|----------|---------|----------|--------|------------|-----------------|--------------|----------|"
  cat "$tmp/rows"
  echo
  echo "results, fallback: distinct frames (device, seq, captured_us) the observer got from a worker / with \"fallback\": true; lost = captured - distinct frames; duplicates = observer lines - distinct frames; recovery: start of the first 1-s bucket after the fault with >= 90% of the observer's rate (all its lines, fallbacks included) in the 3 s before it (never: no such bucket starts before the last edge ended); edge fps = the first edge's captured frames / its wall time; (capped): an edge ran into the $cap_s-s cap; * captured estimated from the observer (no EDGE-SUMMARY); † an edge's frames= is below what it captured (see the notes); ‡ the edges' own lost= is higher."
  if [ -s "$tmp/notes" ]; then
    echo
    cat "$tmp/notes"
  fi
  echo
  echo "Edges (wall time, exit status, own counts):"
  echo
  cat "$tmp/edges"
} >"$report"
cp "$report" "$out/faults_$label.md"
cat "$report"
echo "fault_bench: $((SECONDS - started)) s; table in $out/faults_$label.md" >&2
