#!/usr/bin/env bash
# es-loadgen's own-connection devices (bench/mqtt_pub.c, one epoll loop) against a real mosquitto
# and a real worker: every device connects with its own client id, at QoS 1 every frame gets the
# broker's PUBACK, at QoS 0 none is asked for, and every frame comes back as a result. A broker
# that is not there is reported in one line with the address tried; a bad command line exits 2.
# Usage: tests/integration/loadgen_epoll.sh [BUILD_DIR (build)]
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../../build}" && pwd)
cd "$(dirname "$0")/../.."
. scripts/lib.sh
run=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-loadgen-test-XXXXXX")
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$run"' EXIT
port=$(free_port 0)
start_broker "$run" "$port"
pids+=("$BROKER_PID")
start_worker "$run/worker.log" "$build/bin/cloud-worker" --host 127.0.0.1 --port "$port" \
  --worker-id lg-w1 --threads 1
pids+=("$WORKER_PID")

fail=0
devices=300
# one run at QoS Q: 300 devices, 2 frames/s each for 3 s
for q in 1 0; do
  "$build/bin/es-loadgen" --host "127.0.0.1:$port" --devices "$devices" --rate 2 --seconds 3 \
    --drain 20 --qos "$q" >"$run/out-$q" 2>"$run/log-$q" || {
    echo "FAIL: es-loadgen at QoS $q exited $?:" >&2
    cat "$run/log-$q" >&2
    fail=1
    continue
  }
  line=$(cat "$run/out-$q")
  pub=$(grep LOADGEN-PUB "$run/log-$q" || true)
  echo "QoS $q: $line" >&2
  echo "  $pub" >&2
  field() { grep -o " $1=[0-9]*" <<<" $line" | cut -d= -f2; }
  sent=$(field sent) results=$(field results)
  acks=$(grep -o '[0-9]* PUBACKs' <<<"$pub" | awk '{ print $1 }')
  [ "$sent" = $((devices * 6)) ] || { echo "FAIL: QoS $q: sent $sent, not $((devices * 6))" >&2; fail=1; }
  [ "$results" = "$sent" ] || { echo "FAIL: QoS $q: $results results for $sent frames" >&2; fail=1; }
  grep -q "$devices of $devices connections up, 0 lost" <<<"$pub" ||
    { echo "FAIL: QoS $q: not every connection stayed up" >&2; fail=1; }
  want=$((q ? sent : 0))
  [ "$acks" = "$want" ] || { echo "FAIL: QoS $q: $acks PUBACKs, not $want" >&2; fail=1; }
done
# every device had its own session on the broker: client ids sim-0001..sim-0300
n=$(grep -c 'New client connected .* as sim-0[0-9]*' "$run/mosquitto.log" || true)
[ "$n" -ge $((devices * 2)) ] || { echo "FAIL: the broker saw $n device connections, not $((devices * 2))" >&2; fail=1; }

# no broker: one line naming the address, exit 1
closed=$(free_port 0)
rc=0
"$build/bin/es-loadgen" --host "127.0.0.1:$closed" --devices 3 --seconds 1 >/dev/null 2>"$run/none" || rc=$?
if [ "$rc" != 1 ] || ! grep -q "127.0.0.1:$closed" "$run/none"; then
  echo "FAIL: without a broker es-loadgen exited $rc and said:" >&2
  cat "$run/none" >&2
  fail=1
fi
# a bad command line: usage, exit 2
rc=0
"$build/bin/es-loadgen" --devices 0 >/dev/null 2>"$run/bad" || rc=$?
if [ "$rc" != 2 ] || ! grep -q usage "$run/bad"; then
  echo "FAIL: a bad command line exited $rc" >&2
  fail=1
fi
exit "$fail"
