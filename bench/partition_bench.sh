#!/usr/bin/env bash
# Benchmark: a link that goes silent. One broker and one worker (bench_services); the edge reaches the broker
# through es-faultproxy (tests/support/fault_proxy.c), which blackholes the link (forwards
# nothing, closes nothing) for HOLE_S seconds from 3 s on, then heals. The edge runs split 3 on
# the synthetic camera at 100 frames/s for FRAMES frames. Printed per run: how long the edge
# heard nothing before it gave the link up (its MQTT-SILENT line; "-" when it never did), the
# edge's frame rate over the run, frames skipped at capture, results from the worker and run
# on the device, lost and duplicates, from its EDGE-SUMMARY. REPS runs; then the medians.
# EDGE_ARGS adds edge options (e.g. "--keepalive 20" for a long keepalive); EDGE_BIN runs
# another build's edge-agent (an older one, for a before and after in one run).
# Usage: bench/partition_bench.sh   env: REPS (3), FRAMES (1500), HOLE_S (10), EDGE_ARGS,
#   EDGE_BIN, BUILD
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
reps=${REPS:-3}
frames=${FRAMES:-1500}
hole=${HOLE_S:-10}
read -r -a extra <<<"${EDGE_ARGS:-}"
edge=${EDGE_BIN:-$build/bin/edge-agent}
[ -x "$build/bin/es-faultproxy" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-partition-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT

echo "split 3, synthetic camera at 100 frames/s, $frames frames; the edge's link blackholed" \
  "from 3 s for $hole s; edge $edge, options: ${EDGE_ARGS:-(defaults)}"
echo
echo "| run | heard nothing for, s | edge fps | skipped | results | ran here | lost | duplicates |"
echo "|---|---|---|---|---|---|---|---|"
rows=()
for i in $(seq "$reps"); do
  rm -f "$run/proxy.port"
  "$build/bin/es-faultproxy" --to "$port" --port-file "$run/proxy.port" \
    --blackhole "3:$hole" >/dev/null 2>"$run/proxy-$i.log" &
  proxy=$!
  for _ in $(seq 50); do [ -s "$run/proxy.port" ] && break; sleep 0.1; done
  "$edge" 3 --source synthetic --rate 100 --frames "$frames" \
    --host 127.0.0.1 --port "$(cat "$run/proxy.port")" --device-id "partition-$i" --quiet \
    "${extra[@]}" >/dev/null 2>"$run/edge-$i.log" || true
  kill "$proxy" 2>/dev/null || true
  wait "$proxy" 2>/dev/null || true
  silent=$(sed -n 's/.*MQTT-SILENT.*nothing from it for \([0-9.]*\) s.*/\1/p' "$run/edge-$i.log" | head -1)
  summary=$(grep EDGE-SUMMARY "$run/edge-$i.log" | tail -1)
  val() { grep -o " $1=[0-9.]*" <<<"$summary" | cut -d= -f2; }
  row="${silent:--} $(val edge_fps) $(val skipped) $(val results) $(val fallback) $(val lost) $(val duplicates)"
  rows+=("$row")
  read -r s f sk r fb l d <<<"$row"
  echo "| $i | $s | $f | $sk | $r | $fb | $l | $d |"
done
printf '%s\n' "${rows[@]}" | awk '
  { for (c = 1; c <= NF; c++) v[c, NR] = $c }
  END {
    printf "| median |"
    for (c = 1; c <= 7; c++) {
      n = 0
      for (r = 1; r <= NR; r++) if (v[c, r] != "-") a[++n] = v[c, r] + 0
      for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
      if (n == 0) printf " - |"; else if (n % 2) printf " %g |", a[(n + 1) / 2]; else printf " %g |", (a[n / 2] + a[n / 2 + 1]) / 2
    }
    print ""
  }'
