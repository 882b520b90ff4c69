#!/usr/bin/env bash
# Installs what is missing, builds, starts a local Mosquitto, one cloud worker and one edge agent
# on the built-in synthetic camera in automatic mode, and shows the results as they arrive.
# Usage: scripts/quickstart.sh [SECONDS]   (default 20; Ctrl-C stops earlier)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
scripts/setup.sh build
. scripts/lib.sh

run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-quickstart-XXXXXX")
port=$(free_port 1883)
pids=()
trap 'stop_pids "${pids[@]}"' EXIT
trap 'exit 130' INT TERM

start_broker "$run" "$port"
pids+=("$BROKER_PID")
export HOST=127.0.0.1 PORT=$port
echo "== broker on $HOST:$PORT (logs in $run)"

start_worker "$run/worker.log" build/bin/cloud-worker --worker-id worker-1
pids+=("$WORKER_PID")
echo "== cloud worker ready"

echo "== results on pipeline/results/# (mosquitto_sub), edge throughput lines from edge-agent:"
mosquitto_sub -h "$HOST" -p "$PORT" -t 'pipeline/results/#' -C 12 &
sub=$!
pids+=("$sub")
build/bin/edge-agent 6 30 --device-id cam-01 --rate 60 &
pids+=($!)
wait "$sub" || true
echo "== (results keep flowing; showing the edge agent's lines for ${seconds}s)"
sleep "$seconds"
