#!/usr/bin/env bash
# Runs a RabbitMQ 3.10 cluster with the MQTT plugin on loopback, for tests and development: every
# node on its own free ports (AMQP, MQTT, Erlang distribution), with its own epmd, Erlang cookie,
# data and logs under DIR, so that clusters do not meet each other or a system RabbitMQ.
#
# Usage:
#   scripts/cluster.sh up DIR N      start an N-node cluster (N = 1..5) and wait until it is ready
#   scripts/cluster.sh down DIR      stop every node of the cluster in DIR and its epmd
#   scripts/cluster.sh kill DIR I    kill node I (1..N) hard (SIGKILL), for fault tests
#   scripts/cluster.sh start DIR I   start node I again after a kill; it rejoins the cluster
# "up" prints two lines, also written to DIR/cluster.env, the nodes in order 1..N:
#   MQTT=127.0.0.1:P1,127.0.0.1:P2,...
#   AMQP=amqp://guest:guest@127.0.0.1:A1/,amqp://guest:guest@127.0.0.1:A2/,...
# Progress and errors go to stderr. "down" keeps DIR (logs in DIR/nodeK/log). To run rabbitmqctl
# on node K: (. DIR/nodeK/node.env && /usr/lib/rabbitmq/bin/rabbitmqctl list_queues)
#
# All nodes boot at once (the slow part, loading code, runs in parallel) but join one at a time.
# Parallel joins failed with RabbitMQ 3.10 on 2 cores: a node joining node 1 while node 1 still
# initialised its database crashed it (incompatible_feature_flags, "All replicas on diskfull
# nodes are not active yet"), and the MQTT plugins' client-id trackers (one Raft cluster,
# mqtt_node) starting together waited for each other for 100 s, or one was refused
# (cluster_change_not_permitted). So nodes 2..N boot with another Erlang cookie (DIR/gate/) and
# wait in peer discovery, unable to reach node 1 (whose log shows "Connection attempt from node
# ... rejected" meanwhile); once node K-1 accepts connections, node K gets the cluster's cookie,
# joins and starts its MQTT plugin. Then the queues are declared: each gets a replica on every
# node.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian's /usr/sbin wrappers switch to the rabbitmq user; the scripts they call run as anyone.
readonly RMQ_BIN=/usr/lib/rabbitmq/bin
readonly CONFIG=$root/broker-config/rabbitmq
readonly MAX_NODES=5
# Seconds: for the whole cluster to come up, for a node to stop after SIGTERM, after SIGKILL.
readonly BOOT_TIMEOUT=90
readonly STOP_GRACE=8
readonly KILL_WAIT=5
# Seconds for one CLI call (a wedged node must not hang "up").
readonly CLI_TIMEOUT=30
# The queues of definitions.json, each with a replica on every node.
readonly STAGE_QUEUES=15

usage() {
  sed -n '6,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# A bad command line: usage on stderr, exit 2.
bad_usage() {
  echo "cluster: $*" >&2
  usage >&2
  exit 2
}

# A runtime failure: one line, exit 1 (the EXIT trap stops what "up" or "start" started).
fail() {
  echo "cluster: $*" >&2
  exit 1
}

say() {
  echo "cluster: $*" >&2
}

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# --- processes ----------------------------------------------------------------------------------

# alive PID: whether PID runs (a zombie waiting for its reaper does not count).
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# tree PID: PID and all its descendants, parents first. erl_child_setup and the port programs
# (inet_gethost) start sessions of their own, so a process group does not cover them.
tree() {
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(root, queue, " ")
      for (i = 1; i <= n; i++) {
        print queue[i]
        m = split(kids[queue[i]], c, " ")
        for (j = 1; j <= m; j++) queue[++n] = c[j]
      }
    }'
}

# owned PIDFILE MARK: the pid in PIDFILE when that process is still ours: its environment holds
# the line MARK (node name or epmd port), so a pid reused by another program is never signalled.
owned() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "$2" || return 1
  echo "$pid"
}

# wait_gone SECONDS PID...: waits until none of the PIDs runs; fails when some still do.
wait_gone() {
  local deadline=$(($(now_ms) + $1 * 1000)) p left
  shift
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1 && break; done
    ((left)) || return 0
    (($(now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

# stop_tree PIDFILE MARK GRACE: SIGTERM to the main process of the tree (the beam, whose signal
# handler stops RabbitMQ cleanly, or epmd), SIGKILL to the whole tree after GRACE seconds (at
# once for 0). Returns 0 once nothing of it runs, also when it was not running.
stop_tree() {
  local pid pids=() p main=""
  pid=$(owned "$1" "$2") || return 0
  mapfile -t pids < <(tree "$pid")
  if (($3 > 0)); then
    for p in "${pids[@]}"; do
      case $(cat "/proc/$p/comm" 2>/dev/null) in beam.smp | epmd) main=$p ;; esac
    done
    kill -TERM "${main:-$pid}" 2>/dev/null || true
    wait_gone "$3" "${pids[@]}" && return 0
  fi
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_gone "$KILL_WAIT" "${pids[@]}"
}

# --- the cluster's files ------------------------------------------------------------------------
# DIR/cluster.state   nodes, name suffix, epmd port (key=value)
# DIR/cluster.env     the two lines "up" prints
# DIR/.erlang.cookie  the cluster's Erlang cookie (HOME=DIR for nodes and CLI tools)
# DIR/gate/           the cookie nodes 2..N boot with (HOME=DIR/gate), see the top
# DIR/nodeK/          node K: node.env, rabbitmq.conf, server.pid, stdout.log, log/, data/

state_get() {
  awk -F= -v k="$1" '$1 == k {print $2; exit}' "$dir/cluster.state" 2>/dev/null
}

read_state() {
  nodes=$(state_get nodes)
  suffix=$(state_get suffix)
  epmd_port=$(state_get epmd_port)
  if ! [[ $nodes =~ ^[1-9]$ && $suffix =~ ^[a-z0-9]+$ && $epmd_port =~ ^[0-9]+$ ]]; then
    return 1
  fi
}

node_name() {
  echo "es$1-$suffix@localhost"
}

# A shell without the caller's RabbitMQ and Erlang settings (RABBITMQ_NODE_PORT, ERL_FLAGS, ...).
clean_env() {
  local v
  for v in $(compgen -e); do
    case $v in RABBITMQ_* | ERL_*) unset "$v" ;; esac
  done
}

# write_node K AMQP MQTT DIST: node K's configuration and environment.
write_node() {
  local k=$1 d=$dir/node$1 name i
  name=$(node_name "$k")
  mkdir -p "$d"
  {
    sed -e "s/@AMQP_PORT@/$2/" -e "s/@MQTT_PORT@/$3/" "$CONFIG/rabbitmq.conf"
    if ((k > 1)); then
      # Node 1 is the seed: it lists no peers. The others join it (listing themselves too).
      for i in 1 "$k"; do
        echo "cluster_formation.classic_config.nodes.$i = $(node_name "$i")"
      done
    fi
  } >"$d/rabbitmq.conf"
  # Everything a node or a CLI tool reads, under DIR: no file of /etc/rabbitmq or /var/lib/rabbitmq
  # is used. Sourced by "up" and "start", and by hand to run rabbitmqctl against node K.
  cat >"$d/node.env" <<ENV
# Environment of node $k ($name), written by scripts/cluster.sh.
export HOME=$dir
export ERL_EPMD_PORT=$epmd_port
export RABBITMQ_NODENAME=$name
export RABBITMQ_DIST_PORT=$4
export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
export RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf
export RABBITMQ_CONFIG_FILES='$d/conf.d/*.conf'
export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_MNESIA_BASE=$d/data
export RABBITMQ_PLUGINS_EXPAND_DIR=$d/plugins-expand
export RABBITMQ_LOG_BASE=$d/log
export RABBITMQ_PID_FILE=$d/beam.pid
export RABBITMQ_SCHEDULER_BIND_TYPE=u
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CTL_DIST_PORT_MIN=0
export RABBITMQ_CTL_DIST_PORT_MAX=0
ENV
  echo "$2 $3" >"$d/ports"
}

# write_cluster_files N: the files every node shares.
write_cluster_files() {
  local f
  mkdir -p "$dir/gate"
  for f in "$dir/.erlang.cookie" "$dir/gate/.erlang.cookie"; do
    rm -f "$f"
    (umask 077 && od -An -N20 -tx1 /dev/urandom | tr -d ' \n' >"$f")
    chmod 400 "$f"
  done
  echo "# Empty: keeps /etc/rabbitmq/rabbitmq-env.conf out (scripts/cluster.sh)." \
    >"$dir/rabbitmq-env.conf"
  cp "$CONFIG/enabled_plugins" "$dir/enabled_plugins"
  cp "$CONFIG/definitions.json" "$dir/definitions.json"
  # A quorum queue gets quorum_cluster_size replicas (default 3), not a rabbitmq.conf key.
  echo "[{rabbit, [{quorum_cluster_size, $1}]}]." >"$dir/advanced.config"
}

# --- nodes and epmd -----------------------------------------------------------------------------

start_epmd() {
  (
    clean_env
    cd "$dir"
    export EDGESPLIT_EPMD_PORT=$epmd_port # the mark "owned" checks
    exec setsid -w epmd -port "$epmd_port" -address 127.0.0.1
  ) </dev/null >"$dir/epmd.log" 2>&1 &
  echo $! >"$dir/epmd.pid"
  disown
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$epmd_port") 2>/dev/null && return 0
    sleep 0.02
  done
  fail "epmd did not start on 127.0.0.1:$epmd_port: $(tail -1 "$dir/epmd.log")"
}

stop_epmd() {
  stop_tree "$dir/epmd.pid" "EDGESPLIT_EPMD_PORT=$epmd_port" "$1"
}

# start_node K [gated]: starts node K in the background. A gated node boots with the gate cookie
# (HOME=DIR/gate): it cannot reach the other nodes, and waits in peer discovery until "ungate".
start_node() {
  local d=$dir/node$1 home=$dir
  [ "${2:-}" != gated ] || home=$dir/gate
  (
    clean_env
    # shellcheck source=/dev/null
    . "$d/node.env"
    cd "$d"
    HOME=$home exec setsid -w "$RMQ_BIN/rabbitmq-server"
  ) </dev/null >"$d/stdout.log" 2>&1 &
  echo $! >"$d/server.pid"
  disown
}

# ungate K: gives gated node K the cluster's cookie; at its next discovery attempt (every 250 ms)
# it reaches node 1 and joins. The cookie is read from the file, never put on a command line.
ungate() {
  local out
  check_alive "$1"
  out=$(CLI_HOME=$dir/gate cli rabbitmqctl "$1" -q eval "
    {ok, Cookie} = file:read_file(\"$dir/.erlang.cookie\"),
    erlang:set_cookie(binary_to_atom(string:trim(Cookie)))." 2>&1) || {
    check_alive "$1"
    fail "cannot let node $(node_name "$1") join: $(cli_error "$out")"
  }
}

# stop_node K GRACE
stop_node() {
  stop_tree "$dir/node$1/server.pid" "RABBITMQ_NODENAME=$(node_name "$1")" "$2"
}

node_log() {
  echo "$dir/node$1/log/$(node_name "$1").log"
}

# listening PORT
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_node DEADLINE_MS K: until node K accepts MQTT and AMQP connections (the listeners start
# last, once it has joined the cluster and started the plugin). Fails at the deadline or when
# the node exits.
wait_node() {
  local amqp mqtt
  read -r amqp mqtt <"$dir/node$2/ports"
  until listening "$mqtt" && listening "$amqp"; do
    check_alive "$2"
    (($(now_ms) < $1)) ||
      fail "node $(node_name "$2") did not start within $BOOT_TIMEOUT s (log: $(node_log "$2"))"
    sleep 0.1
  done
}

# check_alive K: fails when node K has exited, with the reason it gave.
check_alive() {
  alive "$(cat "$dir/node$1/server.pid")" ||
    fail "node $(node_name "$1") exited while starting: $(last_error "$1") (log: $(node_log "$1"))"
}

# cli_error OUTPUT: the line of a CLI tool's output that says what went wrong.
cli_error() {
  local line
  line=$(echo "$1" | grep -m1 -iE '^error|failed|unable|nodedown|timeout') ||
    line=$(echo "$1" | grep -m1 .)
  echo "$line"
}

# last_error K: why node K stopped, on one line (from the "BOOT FAILED" report on its stdout).
last_error() {
  local out=$dir/node$1/stdout.log reason
  if grep -q eaddrinuse "$out" 2>/dev/null; then
    echo "one of its ports was taken (eaddrinuse)"
    return
  fi
  reason=$(sed -n '/^Error during startup:/,/^$/p' "$out" 2>/dev/null | tr -s ' \n' ' ' | cut -c1-240)
  echo "${reason:-no error report in $out (killed?)}"
}

# cli TOOL K ARGS...: a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-queues) against node K, with the
# cookie in $CLI_HOME (default DIR). Only while the cluster's epmd runs: without one on
# ERL_EPMD_PORT, the Erlang VM of the tool would start one of its own and leave it running.
cli() {
  local tool=$1 k=$2 home=${CLI_HOME:-$dir}
  shift 2
  [ -f "$dir/node$k/node.env" ] || fail "no $dir/node$k/node.env"
  (
    clean_env
    # shellcheck source=/dev/null
    . "$dir/node$k/node.env"
    HOME=$home exec timeout -k 5 "$CLI_TIMEOUT" "$RMQ_BIN/$tool" "$@"
  )
}

# Once every node runs, on node 1: checks that all N are running cluster members and that the
# MQTT client-id tracker has all N members, then imports the queues, bindings and policy.
# import_raw returns when all is declared (rabbitmqctl import_definitions returns before).
load_definitions() {
  local out
  out=$(cli rabbitmqctl 1 -q eval "
    Running = length(rabbit_nodes:all_running()),
    Trackers = case ra:members({mqtt_node, node()}) of
      {ok, Members, _Leader} -> length(Members);
      Error -> Error
    end,
    case {Running, Trackers} of
      {$nodes, $nodes} ->
        rabbit_definitions:import_raw(element(2, file:read_file(\"$dir/definitions.json\")));
      _ -> {running_nodes, Running, mqtt_trackers, Trackers}
    end." 2>&1) ||
    fail "rabbitmqctl eval on $(node_name 1) failed: $(cli_error "$out")"
  [ "$out" = ok ] || fail "cluster incomplete or $dir/definitions.json not loaded: $out"
}

# Every pipeline.stage.K queue exists, as a quorum queue with a replica on each node.
check_queues() {
  local out count
  out=$(cli rabbitmqctl 1 -q list_queues name type members --no-table-headers 2>&1) ||
    fail "rabbitmqctl list_queues on $(node_name 1) failed: $(cli_error "$out")"
  count=$(echo "$out" | awk -v n="$nodes" '
    $1 ~ /^pipeline\.stage\.[0-9]+$/ && $2 == "quorum" { if (gsub(/@localhost/, "&") == n) ok++ }
    END { print ok + 0 }')
  ((count == STAGE_QUEUES)) ||
    fail "$count of $STAGE_QUEUES pipeline.stage queues have a replica on all $nodes nodes"
}

# The two lines "up" prints.
endpoints() {
  local k amqp mqtt m="" a=""
  for ((k = 1; k <= nodes; k++)); do
    read -r amqp mqtt <"$dir/node$k/ports"
    m+="${m:+,}127.0.0.1:$mqtt"
    a+="${a:+,}amqp://guest:guest@127.0.0.1:$amqp/"
  done
  echo "MQTT=$m"
  echo "AMQP=$a"
}

# --- commands -----------------------------------------------------------------------------------

# Set while "up" or "start" runs: on failure the EXIT trap stops what it started.
starting=""

on_exit() {
  local rc=$? k
  [ "$rc" -ne 0 ] && [ -n "$starting" ] || return 0
  for k in $starting; do
    if [ "$k" = epmd ]; then stop_epmd 0 || true; else stop_node "$k" 0 || true; fi
  done
}

# Any node or epmd of DIR still running.
cluster_running() {
  local k
  read_state || return 1
  owned "$dir/epmd.pid" "EDGESPLIT_EPMD_PORT=$epmd_port" >/dev/null && return 0
  for ((k = 1; k <= nodes; k++)); do
    owned "$dir/node$k/server.pid" "RABBITMQ_NODENAME=$(node_name "$k")" >/dev/null && return 0
  done
  return 1
}

# pick_ports COUNT: COUNT distinct free loopback ports into the array "ports", below the kernel's
# ephemeral range: a port there can be taken as the source port of an outgoing connection (the
# nodes make many) before its node binds it, and the node would fail with eaddrinuse.
pick_ports() {
  local low=32768 p
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 12000)) || low=32768
  ports=()
  while ((${#ports[@]} < $1)); do
    p=$((10000 + RANDOM % (low - 10000)))
    [[ " ${ports[*]} " == *" $p "* ]] || listening "$p" || ports+=("$p")
  done
}

cmd_up() {
  local t0 deadline k i
  t0=$(now_ms)
  if (cluster_running); then
    bad_usage "a cluster runs in $dir already: scripts/cluster.sh down $dir"
  fi
  # What a previous cluster left here (logs included) goes: a node must start blank to join.
  rm -rf "$dir"/node[0-9] "$dir"/cluster.state "$dir"/cluster.env "$dir"/epmd.*
  suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  pick_ports $((1 + 3 * nodes))
  epmd_port=${ports[0]}
  printf 'nodes=%s\nsuffix=%s\nepmd_port=%s\n' "$nodes" "$suffix" "$epmd_port" \
    >"$dir/cluster.state"
  write_cluster_files "$nodes"
  for ((k = 1; k <= nodes; k++)); do
    i=$((3 * k - 2))
    write_node "$k" "${ports[i]}" "${ports[i + 1]}" "${ports[i + 2]}"
  done
  say "starting $nodes node(s) es1..es$nodes-$suffix@localhost in $dir (epmd 127.0.0.1:$epmd_port)"
  trap on_exit EXIT
  starting=epmd
  start_epmd
  deadline=$((t0 + BOOT_TIMEOUT * 1000))
  for ((k = 1; k <= nodes; k++)); do
    starting="$k $starting"
    if ((k == 1)); then start_node 1; else start_node "$k" gated; fi
  done
  for ((k = 1; k <= nodes; k++)); do
    ((k == 1)) || ungate "$k"
    wait_node "$deadline" "$k"
    say "node $k up after $(($(now_ms) - t0)) ms"
  done
  load_definitions
  check_queues
  endpoints >"$dir/cluster.env"
  starting=""
  say "cluster of $nodes node(s) ready in $(($(now_ms) - t0)) ms"
  cat "$dir/cluster.env"
}

cmd_down() {
  local k pids=() failed=0
  read_state || return 0
  # All nodes at once, each in the background: one slow node does not delay the others.
  for ((k = 1; k <= nodes; k++)); do
    stop_node "$k" "$STOP_GRACE" &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || failed=1; done
  stop_epmd 2 || failed=1
  ((failed == 0)) || fail "some process of the cluster in $dir survived SIGKILL"
  say "stopped the cluster in $dir"
}

cmd_kill() {
  local k=$1 pid
  pid=$(owned "$dir/node$k/server.pid" "RABBITMQ_NODENAME=$(node_name "$k")") || {
    say "node $(node_name "$k") is not running"
    return 0
  }
  stop_node "$k" 0 || fail "node $(node_name "$k") (pid $pid) survived SIGKILL"
  say "killed node $(node_name "$k")"
}

cmd_start() {
  local k=$1 t0
  t0=$(now_ms)
  if owned "$dir/node$k/server.pid" "RABBITMQ_NODENAME=$(node_name "$k")" >/dev/null; then
    bad_usage "node $(node_name "$k") runs already"
  fi
  owned "$dir/epmd.pid" "EDGESPLIT_EPMD_PORT=$epmd_port" >/dev/null ||
    fail "the cluster in $dir is down (no epmd): use up"
  trap on_exit EXIT
  starting=$k
  start_node "$k"
  wait_node $((t0 + BOOT_TIMEOUT * 1000)) "$k"
  starting=""
  say "node $(node_name "$k") ready in $(($(now_ms) - t0)) ms"
}

# use_dir PATH: sets dir to the absolute PATH, which must exist. The path goes into Erlang
# strings and into variables rabbitmq-server expands unquoted: keep it plain.
use_dir() {
  dir=$(cd "$1" && pwd) || bad_usage "cannot enter directory '$1'"
  [[ $dir =~ ^[A-Za-z0-9_./+-]+$ ]] ||
    bad_usage "directory '$dir' has characters other than A-Za-z0-9_./+-"
}

main() {
  local cmd=${1:-}
  case $cmd in
  -h | --help)
    usage
    exit 0
    ;;
  up) [ $# -eq 3 ] || bad_usage "up wants DIR N" ;;
  down) [ $# -eq 2 ] || bad_usage "down wants DIR" ;;
  kill | start) [ $# -eq 3 ] || bad_usage "$cmd wants DIR I" ;;
  "") bad_usage "missing command" ;;
  *) bad_usage "unknown command '$cmd'" ;;
  esac
  [ -x "$RMQ_BIN/rabbitmq-server" ] ||
    fail "$RMQ_BIN/rabbitmq-server not found: install rabbitmq-server (scripts/setup.sh)"
  case $cmd in
  up)
    if ! [[ $3 =~ ^[1-9]$ ]] || (($3 > MAX_NODES)); then
      bad_usage "N must be 1..$MAX_NODES, got '$3'"
    fi
    nodes=$3
    mkdir -p "$2"
    use_dir "$2"
    cmd_up
    ;;
  down)
    [ -d "$2" ] || exit 0
    use_dir "$2"
    cmd_down
    ;;
  *)
    [ -d "$2" ] || bad_usage "no cluster directory $2"
    use_dir "$2"
    read_state || bad_usage "$dir holds no cluster made by scripts/cluster.sh up"
    if ! [[ $3 =~ ^[1-9]$ ]] || (($3 > nodes)); then
      bad_usage "I must be 1..$nodes, got '$3'"
    fi
    "cmd_$cmd" "$3"
    ;;
  esac
}

main "$@"
