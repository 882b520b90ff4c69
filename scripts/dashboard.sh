#!/usr/bin/env bash
# The live dashboard (cloud/dashboard): a development broker that also serves the page.
#
# Usage:
#   scripts/dashboard.sh [--port P] [--ws-port W] [--dir DIR]
#       Runs mosquitto with broker-config/dev.conf's settings, MQTT on 127.0.0.1:P (default
#       1883) for agents and workers, and on 127.0.0.1:W (default 9001) the page over HTTP and
#       its MQTT connection over websockets (broker-config/dashboard.conf). Open
#       http://127.0.0.1:W/ once it prints DASHBOARD-READY. The broker logs on stderr; DIR
#       (default: a new temporary directory, removed at exit) holds its configuration and the
#       files it serves. Stops on SIGINT/SIGTERM.
#   scripts/dashboard.sh install DIR
#       Copies the page and mqtt.js into DIR, for a listener's http_dir (secure-setup.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
readonly PAGE_DIR=$root/cloud/dashboard
readonly MQTT_JS=$PAGE_DIR/node_modules/mqtt/dist/mqtt.min.js

usage() {
  sed -n '4,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# A bad command line: one line, exit 2.
bad_usage() {
  echo "dashboard: $*" >&2
  exit 2
}

# A runtime failure: one line, exit 1.
fail() {
  echo "dashboard: $*" >&2
  exit 1
}

valid_port() {
  [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

# install DIR: the files the page needs, readable by the broker's user (mosquitto drops to it
# when started as root), and nothing else: the broker serves every file in DIR.
install_page() {
  local dir=$1 f
  [ -f "$MQTT_JS" ] ||
    fail "mqtt.js is not installed ($MQTT_JS): run scripts/setup.sh, or npm ci in $PAGE_DIR"
  mkdir -p "$dir"
  chmod 755 "$dir"
  for f in index.html dashboard.js style.css; do
    install -m 644 "$PAGE_DIR/$f" "$dir/$f"
  done
  install -m 644 "$MQTT_JS" "$dir/mqtt.min.js"
}

# write_conf DIR PORT WS_PORT: dev.conf on PORT, and the dashboard's listener on WS_PORT.
write_conf() {
  local dir=$1 port=$2 ws_port=$3
  {
    sed "s/^listener .*/listener $port 127.0.0.1/" "$root/broker-config/dev.conf"
    echo
    sed -e "s|@WS_PORT@|$ws_port|g" -e "s|@HTTP_DIR@|$dir/www|g" \
      "$root/broker-config/dashboard.conf"
  } >"$dir/mosquitto.conf"
  chmod 644 "$dir/mosquitto.conf"
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_pid=""
temp_dir=""

cleanup() {
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  [ -z "$temp_dir" ] || rm -rf "$temp_dir"
}

# run PORT WS_PORT DIR: starts the broker, says when both ports listen, waits for it.
run() {
  local port=$1 ws_port=$2 dir=$3
  command -v mosquitto >/dev/null || fail "mosquitto not found: run scripts/setup.sh"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ -z "$dir" ]; then
    temp_dir=$(mktemp -d "${TMPDIR:-/tmp}/edgesplit-dashboard-XXXXXX")
    dir=$temp_dir
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 755 "$dir"
  install_page "$dir/www"
  write_conf "$dir" "$port" "$ws_port"
  mosquitto -c "$dir/mosquitto.conf" &
  broker_pid=$!
  for _ in $(seq 200); do
    kill -0 "$broker_pid" 2>/dev/null ||
      fail "mosquitto stopped (a port taken? 127.0.0.1:$port or :$ws_port); its log is above"
    if listening "$port" && listening "$ws_port"; then
      echo "DASHBOARD-READY open http://127.0.0.1:$ws_port/ (agents and workers:" \
        "--host 127.0.0.1 --port $port)" >&2
      wait "$broker_pid"
      return
    fi
    sleep 0.05
  done
  fail "mosquitto did not listen on 127.0.0.1:$port and :$ws_port within 10 s"
}

main() {
  local port=1883 ws_port=9001 dir=""
  case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  install)
    [ $# -eq 2 ] || bad_usage "usage: dashboard.sh install DIR"
    install_page "$2"
    return
    ;;
  esac
  while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || bad_usage "$1 needs a value"
    case $1 in
    --port) port=$2 ;;
    --ws-port) ws_port=$2 ;;
    --dir) dir=$2 ;;
    *) bad_usage "unknown option '$1' (see --help)" ;;
    esac
    shift 2
  done
  valid_port "$port" || bad_usage "--port wants a port number 1..65535, got '$port'"
  valid_port "$ws_port" || bad_usage "--ws-port wants a port number 1..65535, got '$ws_port'"
  [ "$((10#$port))" != "$((10#$ws_port))" ] || bad_usage "--port and --ws-port are both $port"
  run "$((10#$port))" "$((10#$ws_port))" "$dir"
}

main "$@"
