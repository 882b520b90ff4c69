#!/usr/bin/env bash
# Benchmark: how pictures travel at splits 1 and 2 (--image-codec raw, png, jpeg:90), on an
# emulated 20 Mbit/s uplink (--uplink-kbps 20000) and on loopback without a cap. A broker and one
# worker run throughout. Each row: the median of REPS runs, interleaved across codecs, of the
# whole job's wall time (FRAMES frames of the synthetic camera, every result back), edge fps,
# bytes per frame and the edge's mean publish cost per frame (encode, compress, uplink wait).
# Usage: bench/codec_bench.sh   env: FRAMES (150), REPS (3), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build}
frames=${FRAMES:-150}
reps=${REPS:-3}
[ -x "$build/bin/edge-agent" ] || scripts/setup.sh "$build"

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-codec-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
bench_services "$run" "$build"
port=$BENCH_PORT

codecs=(raw png jpeg:90)
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }

# job SPLIT CODEC KBPS (0: no cap): runs one job, appends its wall time to $run/t-KEY and its
# summary line to $run/s-KEY
job() {
  local k=$1 codec=$2 kbps=$3 key="$1-${2%%:*}-$3" args=() t0 t1
  [ "$kbps" != 0 ] && args=(--uplink-kbps "$kbps")
  t0=$(date +%s.%N)
  "$build/bin/edge-agent" "$k" --host 127.0.0.1 --port "$port" --source synthetic \
    --frames "$frames" --image-codec "$codec" --device-id "codec-$key" --quiet "${args[@]}" \
    >/dev/null 2>"$run/edge.log"
  t1=$(date +%s.%N)
  grep -o 'EDGE-SUMMARY.*' "$run/edge.log" >>"$run/s-$key"
  grep -q ' lost=0 ' "$run/edge.log" || { echo "a job lost frames:" >&2; cat "$run/edge.log" >&2; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$run/t-$key"
}

echo "job: $frames frames of the synthetic camera (640x360 resized to 500x281), every result"
echo "back; median of $reps runs interleaved across codecs; nproc $(nproc)"
echo
echo "| uplink | split | codec | job, s | edge fps | results/s | bytes/frame |"
echo "|---|---|---|---|---|---|---|"
for kbps in 20000 0; do
  for k in 1 2; do
    for _ in $(seq "$reps"); do
      for c in "${codecs[@]}"; do job "$k" "$c" "$kbps"; done
    done
    for c in "${codecs[@]}"; do
      key="$k-${c%%:*}-$kbps"
      printf '| %s | %s | %s | %.2f | %.1f | %.1f | %.0f |\n' \
        "$([ "$kbps" = 0 ] && echo loopback || echo "$((kbps / 1000)) Mbit/s")" "$k" "$c" \
        "$(median <"$run/t-$key")" "$(field edge_fps "$run/s-$key" | median)" \
        "$(field results_per_s "$run/s-$key" | median)" \
        "$(field bytes_per_frame "$run/s-$key" | median)"
    done
  done
done
