#!/usr/bin/env bash
# Real-run benchmark of automatic mode: a broker, a cloud worker and edge agents on this machine.
#
# 1. Calibration: every split 1..6 runs in manual mode under each condition the scenarios use
#    (an emulated slowdown, an uplink cap); the median fps of its full windows after the first
#    is that split's fps under that condition.
# 2. Scenarios: `edge-agent 6 GOAL ...` runs in automatic mode; its stats (pipeline/stats/<id>,
#    one JSON message per window) are the trace.
# 3. The original tool's policy (offload one stage per window while fps is below the goal, never
#    move back) is simulated on the same trace: same windows, same conditions; a window's fps is
#    the calibrated fps of the split that policy is at, times the deviation the real window
#    showed from the calibration of the split ours ran (warm-up, noise).
#
# For each scenario and policy it prints the right split and the windows to converge per phase
# (from the start of the phase until the split is the right one and stays so to the end of the
# phase; a split is right when its calibrated fps clears the goal by 5% and no larger split's
# clears it by 15%, the hysteresis band of the policy; when no split clears the goal by 5%, any
# within 3% of the fastest is), split changes per 100 windows, share of windows
# below the goal, mean split and mean fps. It writes OUT/auto_<scenario>.csv
# (time_s,policy,fps,goal,split), a PNG of it, the edge's log and stats (.jsonl), and
# OUT/auto_calibration.txt.
#
# Usage: bench/auto_bench.sh [OUT_DIR]   (default bench/out)
# env: BUILD (build), CAL_WINDOWS (4 full windows per calibration run), UPLINK_KBPS (20000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
out=${1:-bench/out}
cal_windows=${CAL_WINDOWS:-4}
uplink=${UPLINK_KBPS:-20000}
window=3
mkdir -p "$out"
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"
for tool in jq mosquitto_sub; do
  command -v "$tool" >/dev/null || { echo "auto_bench: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

# Conditions: name -> edge arguments.
declare -A cond=(
  [fast]="--slowdown 1"
  [slow20]="--slowdown 20"
  [slow20-link]="--slowdown 20 --uplink-kbps $uplink"
)
# Scenarios: name|seconds|goal|edge arguments after "6 GOAL"|phases START-END=CONDITION ...
scenarios=(
  "slowdown|60|17|--slowdown 20|0-60=slow20"
  "recover|105|20|--slowdown 20:15-60|0-15=fast 15-60=slow20 60-105=fast"
  "uplink|60|20|--slowdown 20 --uplink-kbps $uplink|0-60=slow20-link"
)

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-auto-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")
"$build/bin/cloud-worker" --host 127.0.0.1 --port "$port" --worker-id auto-bench-worker \
  --stats-every 0 2>"$run/worker.log" &
pids+=($!)
timeout 10 bash -c "until grep -q WORKER-READY '$run/worker.log'; do sleep 0.05; done"

# trace NAME SECONDS EDGE_ARGS...: runs the edge agent for SECONDS and writes its windows to
# $run/NAME.tsv as "window_s fps split goal_unreachable", one line per window.
trace() {
  local name=$1 secs=$2 dev="auto-bench-$1" sub
  shift 2
  mosquitto_sub -h 127.0.0.1 -p "$port" -t "pipeline/stats/$dev" >"$run/$name.jsonl" &
  sub=$!
  sleep 0.3
  timeout -s INT "$secs" "$build/bin/edge-agent" "$@" --host 127.0.0.1 --port "$port" \
    --device-id "$dev" --window "$window" >/dev/null 2>"$run/$name.log" || true
  sleep 0.5
  kill "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true
  jq -r '[.window_s, .fps, .split, .goal_unreachable] | @tsv' "$run/$name.jsonl" >"$run/$name.tsv"
}

median() { sort -n | awk '{v[NR]=$1} END {print NR ? ((NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2) : 0}'; }

needed=$(printf '%s\n' "${scenarios[@]}" | cut -d'|' -f5 | tr ' ' '\n' | cut -d= -f2 | sort -u)
echo "calibration: median fps of $cal_windows full ${window}-s windows per split (manual mode)"
printf '%-12s %8s %8s %8s %8s %8s %8s\n' condition 1 2 3 4 5 6
: >"$run/cal.txt"
for c in $needed; do
  row=$(printf '%-12s' "$c")
  for k in 1 2 3 4 5 6; do
    # shellcheck disable=SC2086 # the condition's arguments are words
    trace "cal-$c-$k" $(((cal_windows + 1) * window + 1)) "$k" ${cond[$c]}
    fps=$(awk -v w="$window" 'NR > 1 && $1 >= 0.9 * w {print $2}' "$run/cal-$c-$k.tsv" | median)
    echo "$c $k $fps" >>"$run/cal.txt"
    row+=$(printf ' %8.1f' "$fps")
  done
  echo "$row"
done
echo

printf '%-9s %-9s %-12s %-20s %12s %12s %10s %9s\n' scenario policy "right split" \
  "converge (win/phase)" "changes/100w" "below goal %" "mean split" "mean fps"
for sc in "${scenarios[@]}"; do
  IFS='|' read -r name secs goal args phases <<<"$sc"
  # shellcheck disable=SC2086
  trace "$name" "$secs" 6 "$goal" $args
  cp "$run/$name.log" "$out/auto_$name.log"
  cp "$run/$name.jsonl" "$out/auto_$name.jsonl"
  awk -v goal="$goal" -v window="$window" -v phases="$phases" -v name="$name" \
    -v csv="$out/auto_$name.csv" '
    FILENAME == ARGV[1] { cal[$1, $2] = $3; next }
    { t += $1 }
    $1 >= 0.5 * window { n++; tm[n] = t - $1 / 2; te[n] = t; fps[n] = $2; spl[n] = $3 }
    function phase_of(x,   p) { for (p = np; p > 1; p--) if (x >= ps[p]) return p; return 1 }
    # Whether split k is right under condition c: inside the hysteresis band of a policy that
    # moves down to meet the goal with a 5% cushion and reclaims a stage only with a 15% margin,
    # i.e. k clears the goal by 5% and no larger split clears it by 15%; when no split clears it
    # by 5%, any split within 3% of the fastest.
    function is_right(c, k,   j, any, fast) {
      any = 0; fast = 1
      for (j = 1; j <= 6; j++) {
        if (cal[c, j] >= 1.05 * goal) any = 1
        if (cal[c, j] > cal[c, fast]) fast = j
      }
      if (!any)
        return cal[c, k] >= 0.97 * cal[c, fast]
      if (cal[c, k] < 1.05 * goal)
        return 0
      for (j = k + 1; j <= 6; j++)
        if (cal[c, j] >= 1.15 * goal) return 0
      return 1
    }
    function rights(c,   j, r) {
      r = ""
      for (j = 1; j <= 6; j++) if (is_right(c, j)) r = r (r == "" ? "" : "/") j
      return r
    }
    function report(policy, sp, fp,   i, p, changes, below, ssum, fsum, at, conv, s, first, last, r) {
      changes = below = ssum = fsum = 0
      for (i = 1; i <= n; i++) {
        if (i > 1 && sp[i] != sp[i - 1]) changes++
        below += fp[i] < goal; ssum += sp[i]; fsum += fp[i]
        printf "%.1f,%s,%.2f,%g,%d\n", te[i], policy, fp[i], goal, sp[i] >> csv
      }
      conv = r = ""
      for (p = 1; p <= np; p++) {
        first = last = 0
        for (i = 1; i <= n; i++) if (phase[i] == p) { if (!first) first = i; last = i }
        at = last + 1
        while (first && at > first && is_right(pc[p], sp[at - 1])) at--
        s = !first ? "-" : at == last + 1 ? "never" : at - first
        conv = conv (p > 1 ? ", " : "") s
        r = r (p > 1 ? ", " : "") rights(pc[p])
      }
      printf "%-9s %-9s %-12s %-20s %12.1f %12.1f %10.2f %9.1f\n", name, policy, r, conv,
        100 * changes / n, 100 * below / n, ssum / n, fsum / n
    }
    END {
      np = split(phases, ph, " ")
      for (p = 1; p <= np; p++) {
        split(ph[p], kv, "="); split(kv[1], se, "-"); ps[p] = se[1]; pc[p] = kv[2]
      }
      for (i = 1; i <= n; i++) phase[i] = phase_of(tm[i])
      print "time_s,policy,fps,goal,split" > csv
      report("ours", spl, fps)
      # The original policy on the same windows: the calibrated fps of its split, times the
      # deviation this window showed from the calibration of the split ours was at.
      k = 6
      for (i = 1; i <= n; i++) {
        c = pc[phase[i]]
        dev = cal[c, spl[i]] > 0 ? fps[i] / cal[c, spl[i]] : 1
        osp[i] = k; ofp[i] = cal[c, k] * dev
        if (ofp[i] < goal && k > 1) k--
      }
      report("original", osp, ofp)
    }' "$run/cal.txt" "$run/$name.tsv"
  bench/plot_policy.sh "$out/auto_$name.csv" "$out/auto_$name.png" \
    "automatic mode, real run '$name' (goal $goal): ours vs the original policy on the same windows"
done
cp "$run/cal.txt" "$out/auto_calibration.txt"
echo
echo "auto_bench: CSVs, PNGs and edge logs in $out"
