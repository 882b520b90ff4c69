#!/usr/bin/env bash
# Writes a ready secure Mosquitto set-up for edgesplit into DIR: a development CA, a server
# certificate, a certificate, key and random password per client, mosquitto.conf (from
# broker-config/secure.conf: TLS with passwords on PORT, mutual TLS on PORT+1, TLS websockets
# with passwords on PORT+2 for the dashboard, whose page it copies to DIR/dashboard) and the
# dynamic-security plugin's clients and roles (what each client may publish and subscribe to).
#
# Usage:
#   scripts/secure-setup.sh DIR --port P --devices ID[,ID...] --workers ID[,ID...]
#                           [--viewers ID[,ID...]] [--planners ID[,ID...]]
#   scripts/secure-setup.sh DIR add-device ID
#   scripts/secure-setup.sh DIR rotate-device ID
#   scripts/secure-setup.sh DIR remove-device ID
# The last three change a running broker through the plugin (mosquitto_ctrl), without a restart,
# or, when none runs on the set-up's port, the plugin's file through a temporary broker.
# rotate-device and remove-device also revoke the device's certificate and make a running broker
# reload the revocation list (SIGHUP: connections stay up).
#
# Rights are granted per client, by name: Mosquitto 2.0.11's dynamic-security plugin does not
# substitute %c or %u in its rules, so each client gets a role of its own ("device-ID",
# "worker-ID", "viewer-ID", "planner-ID") beside the shared one ("device", "worker", "viewer",
# "planner"). Only a planner may publish plans (pipeline/plan/+) and leases (pipeline/planner/+);
# a device reads its own plan only. Everything not granted is denied. Passwords never appear on a command line or in the output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

readonly ADMIN=dynsec-admin
readonly CA_DAYS=3650
readonly CERT_DAYS=825

usage() {
  sed -n '8,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# A bad command line: one line, exit 2.
bad_usage() {
  echo "secure-setup: $*" >&2
  exit 2
}

# A runtime failure: one line, exit 1.
fail() {
  echo "secure-setup: $*" >&2
  exit 1
}

valid_id() {
  [[ $1 =~ ^[A-Za-z0-9_-]{1,64}$ && $1 != "$ADMIN" && $1 != server && $1 != ca ]]
}

# parse_ids LIST: sets ids_out to the comma-separated ids of LIST, checking each.
parse_ids() {
  local id
  ids_out=()
  [[ $1 != *, ]] || bad_usage "empty id in list '$1'"
  IFS=, read -r -a ids_out <<<"$1"
  ((${#ids_out[@]})) || bad_usage "empty id list '$1'"
  for id in "${ids_out[@]}"; do
    valid_id "$id" ||
      bad_usage "invalid client id '$id' (want [A-Za-z0-9_-]{1,64}, not $ADMIN, server or ca)"
  done
}

# Files the broker reads (and the plugin's directory, which it writes) must belong to the user it
# runs as: run as root, Mosquitto drops to the "mosquitto" user.
broker_user() {
  if [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1; then
    echo mosquitto
  fi
}

# run_quiet WHAT COMMAND...: runs the command, shows its output only when it fails.
run_quiet() {
  local what=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    fail "$what failed: $(echo "$out" | grep -v '^$' | tail -1)"
  fi
}

# --- certificates -----------------------------------------------------------------------------

# The CA's database (for revocation) and its configuration, for `openssl ca`.
ca_conf() {
  echo "$dir/ca-db/openssl.cnf"
}

make_ca() {
  run_quiet "creating the CA" openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days "$CA_DAYS" \
    -subj "/CN=edgesplit development CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 600 "$dir/ca.key"
  chmod 644 "$dir/ca.crt"
  mkdir -p "$dir/ca-db"
  chmod 700 "$dir/ca-db"
  : >"$dir/ca-db/index.txt"
  echo 01 >"$dir/ca-db/crlnumber"
  cat >"$(ca_conf)" <<CNF
# The development CA of this set-up, for revocation lists only (certificates are signed with
# openssl x509 -req). Written by scripts/secure-setup.sh.
[ ca ]
default_ca = edgesplit
[ edgesplit ]
database = $dir/ca-db/index.txt
crlnumber = $dir/ca-db/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_crl_days = $CA_DAYS
CNF
  make_crl
}

# The certificate revocation list the mTLS listener checks client certificates against.
make_crl() {
  run_quiet "writing the revocation list" openssl ca -config "$(ca_conf)" -gencrl \
    -out "$dir/ca.crl"
  chmod 644 "$dir/ca.crl"
}

# revoke ID: adds the certificate of ID to the revocation list.
revoke() {
  run_quiet "revoking the certificate of $1" openssl ca -config "$(ca_conf)" -revoke "$dir/$1.crt"
  make_crl
}

# sign NAME CN EXTENSIONS: a P-256 key NAME.key and a certificate NAME.crt for CN, signed by the CA.
sign() {
  local name=$1 cn=$2 ext=$3 extfile
  extfile=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' "$ext" \
    >"$extfile"
  rm -f "$dir/$name.key"
  (umask 077 && run_quiet "creating the key of $name" openssl genpkey -algorithm EC \
    -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key")
  run_quiet "signing the certificate of $name" openssl req -new -key "$dir/$name.key" \
    -subj "/CN=$cn" -out "$dir/$name.csr"
  run_quiet "signing the certificate of $name" openssl x509 -req -in "$dir/$name.csr" \
    -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAserial "$dir/ca-db/serial" -CAcreateserial \
    -days "$CERT_DAYS" -sha256 -extfile "$extfile" -out "$dir/$name.crt"
  rm -f "$dir/$name.csr" "$extfile"
  chmod 644 "$dir/$name.crt"
}

make_server_cert() {
  sign server localhost "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
  local user
  user=$(broker_user)
  if [ -n "$user" ]; then
    chgrp "$user" "$dir/server.key"
    chmod 640 "$dir/server.key"
  fi
}

# new_password FILE: a random password, alone on the first line of FILE (mode 0600).
new_password() {
  rm -f "$1"
  (umask 077 && openssl rand -hex 24 >"$1")
}

# make_client ID: its certificate (CN = ID), key and password file.
make_client() {
  sign "$1" "$1" "extendedKeyUsage=clientAuth"
  new_password "$dir/$1.pass"
}

# --- rights -----------------------------------------------------------------------------------
# A rule is "ACLTYPE TOPIC", always an allow. Subscriptions are checked against the filter as the
# client wrote it, "$share/GROUP/" included (a grant on pipeline/stage/+/+ does not cover the
# shared form); a pattern rule matches a filter level by level, so "$share/workers/pipeline/
# stage/+/+" covers a worker's "$share/workers/pipeline/stage/3/+" too. Deliveries are checked
# on the message's topic (publishClientReceive).

# kind_rules KIND: the rules every client of a kind shares.
kind_rules() {
  local t
  case $1 in
  device)
    echo "subscribePattern pipeline/status/+"
    echo "unsubscribePattern pipeline/status/+"
    echo "publishClientReceive pipeline/status/+"
    ;;
  worker)
    echo "subscribePattern \$share/workers/pipeline/stage/+/+"
    echo "unsubscribePattern \$share/workers/pipeline/stage/+/+"
    echo "publishClientReceive pipeline/stage/+/+"
    echo "publishClientSend pipeline/results/+"
    echo "publishClientSend pipeline/frames/+"
    ;;
  planner)
    for t in stats status planner; do
      echo "subscribePattern pipeline/$t/+"
      echo "unsubscribePattern pipeline/$t/+"
      echo "publishClientReceive pipeline/$t/+"
    done
    echo "publishClientSend pipeline/plan/+"
    echo "publishClientSend pipeline/planner/+"
    ;;
  viewer)
    for t in results stats status frames plan; do
      echo "subscribePattern pipeline/$t/#"
      echo "unsubscribePattern pipeline/$t/#"
      echo "publishClientReceive pipeline/$t/#"
    done
    ;;
  esac
}

# own_rules KIND ID: the rules naming the client itself. Every client publishes its retained
# status (and its will) on pipeline/status/ID and reads it back (the transport watches it); a
# worker or a planner publishes its load or report on pipeline/stats/ID.
own_rules() {
  local kind=$1 id=$2 t
  echo "publishClientSend pipeline/status/$id"
  echo "subscribeLiteral pipeline/status/$id"
  echo "unsubscribeLiteral pipeline/status/$id"
  echo "publishClientReceive pipeline/status/$id"
  [ "$kind" != worker ] && [ "$kind" != planner ] || echo "publishClientSend pipeline/stats/$id"
  [ "$kind" = device ] || return 0
  for t in "stage/+" stats results frames hello probe; do
    echo "publishClientSend pipeline/$t/$id"
  done
  for t in results frames plan; do
    echo "subscribeLiteral pipeline/$t/$id"
    echo "unsubscribeLiteral pipeline/$t/$id"
    echo "publishClientReceive pipeline/$t/$id"
  done
}

# The administrator may only use the plugin's control topics.
admin_rules() {
  local t="\$CONTROL/dynamic-security/#"
  echo "publishClientSend $t"
  echo "publishClientReceive $t"
  echo "subscribePattern $t"
  echo "unsubscribePattern $t"
}

# --- the plugin's file, written directly at creation ------------------------------------------

# json_role NAME < RULES: one role object, every rule allowed.
json_role() {
  local sep="" type topic
  printf '    {"rolename": "%s", "acls": [' "$1"
  while read -r type topic; do
    printf '%s\n      {"acltype": "%s", "topic": "%s", "priority": 0, "allow": true}' \
      "$sep" "$type" "$topic"
    sep=,
  done
  printf ']}'
}

# json_client ID ROLE...: one client object, its password hashed by mosquitto_passwd (PBKDF2
# with SHA-512, the plugin's own scheme: "$7$ITERATIONS$SALT$HASH"), its client id bound to it.
json_client() {
  local id=$1 hashed alg iter salt hash sep="" r
  shift
  rm -f "$work/pw"
  { head -1 "$dir/$id.pass" && head -1 "$dir/$id.pass"; } |
    run_quiet "hashing the password of $id" mosquitto_passwd -c "$work/pw" "$id"
  hashed=$(cut -d: -f2- "$work/pw")
  IFS='$' read -r _ alg iter salt hash <<<"$hashed"
  [ "$alg" = 7 ] || fail "mosquitto_passwd wrote an unexpected hash type '$alg'"
  printf '    {"username": "%s", "clientid": "%s", "password": "%s", "salt": "%s",' \
    "$id" "$id" "$hash" "$salt"
  printf ' "iterations": %d, "roles": [' "$iter"
  for r in "$@"; do
    printf '%s{"rolename": "%s"}' "$sep" "$r"
    sep=", "
  done
  printf ']}'
}

# write_dynsec KIND:ID...: the plugin's file with the administrator and the given clients.
write_dynsec() {
  local file=$dir/dynsec/dynamic-security.json entry kind id sep user
  mkdir -p "$dir/dynsec"
  chmod 700 "$dir/dynsec"
  new_password "$dir/$ADMIN.pass"
  {
    printf '{\n  "defaultACLAccess": {"publishClientSend": false, "publishClientReceive": false,'
    printf ' "subscribe": false, "unsubscribe": false},\n  "groups": [],\n  "clients": [\n'
    json_client "$ADMIN" admin
    for entry in "$@"; do
      printf ',\n'
      json_client "${entry#*:}" "${entry%%:*}" "${entry%%:*}-${entry#*:}"
    done
    printf '\n  ],\n  "roles": [\n'
    admin_rules | json_role admin
    for kind in device worker viewer planner; do
      printf ',\n'
      kind_rules "$kind" | json_role "$kind"
    done
    for entry in "$@"; do
      kind=${entry%%:*} id=${entry#*:}
      printf ',\n'
      own_rules "$kind" "$id" | json_role "$kind-$id"
    done
    printf '\n  ]\n}\n'
  } >"$file.tmp"
  mv "$file.tmp" "$file"
  user=$(broker_user)
  [ -z "$user" ] || chown -R "$user" "$dir/dynsec"
}

# --- broker configuration ---------------------------------------------------------------------

find_plugin() {
  local p
  for p in /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
    /usr/local/lib/mosquitto_dynamic_security.so; do
    [ -f "$p" ] && echo "$p" && return 0
  done
  fail "mosquitto_dynamic_security.so not found: install Debian's mosquitto package"
}

write_conf() {
  local plugin
  plugin=$(find_plugin)
  sed -e "s|@DIR@|$dir|g" -e "s|@PLUGIN@|$plugin|g" -e "s|@PORT@|$port|g" \
    -e "s|@MTLS_PORT@|$((port + 1))|g" -e "s|@WS_PORT@|$((port + 2))|g" \
    "$root/broker-config/secure.conf" >"$dir/mosquitto.conf"
  chmod 644 "$dir/mosquitto.conf"
}

# Run as root, the broker reads and writes as the "mosquitto" user: check it can.
check_broker_access() {
  local user f
  user=$(broker_user)
  [ -n "$user" ] && command -v runuser >/dev/null || return 0
  for f in server.key server.crt ca.crt ca.crl; do
    runuser -u "$user" -- test -r "$dir/$f" ||
      fail "user $user (the broker's) cannot read $dir/$f: choose a DIR it can reach"
  done
  runuser -u "$user" -- test -w "$dir/dynsec" ||
    fail "user $user (the broker's) cannot write $dir/dynsec: choose a DIR it can reach"
}

# The dashboard's page and mqtt.js, for viewers to open from disk (listener 3 carries its MQTT
# connection). Without mqtt.js (no npm ci yet) one line says how to add them later.
install_dashboard() {
  if ! "$here/dashboard.sh" install "$dir/dashboard" 2>"$work/dashboard.err"; then
    echo "secure-setup: the dashboard page is not installed ($(tail -1 "$work/dashboard.err"));" \
      "later: scripts/dashboard.sh install $dir/dashboard" >&2
  fi
}

# --- talking to the plugin through a broker ---------------------------------------------------

work=""
temp_pid=""

cleanup() {
  [ -z "$temp_pid" ] || stop_pids "$temp_pid"
  [ -z "$work" ] || rm -rf "$work"
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# connect_to PORT: mosquitto_ctrl's options for the broker on PORT, over TLS with the set-up's
# CA, kept in a private file so that the administrator's password stays off every command line.
connect_to() {
  {
    echo "-h localhost"
    echo "-p $1"
    echo "--cafile $dir/ca.crt"
    echo "-u $ADMIN"
    echo "-P $(head -1 "$dir/$ADMIN.pass")"
  } >"$work/mosquitto_ctrl"
}

# Starts a temporary broker with the set-up's plugin file and password listener on a free port,
# and waits until it listens.
start_temp_broker() {
  local p
  p=$(free_port 0) || fail "no free port for the temporary broker"
  mkdir -p "$work/broker"
  chmod 755 "$work" "$work/broker"
  sed -e "s|^listener $port 127.0.0.1|listener $p 127.0.0.1|" \
    -e "/^listener $((port + 1)) /,\$d" "$dir/mosquitto.conf" >"$work/broker/mosquitto.conf"
  chmod 644 "$work/broker/mosquitto.conf"
  mosquitto -c "$work/broker/mosquitto.conf" 2>"$work/broker/log" &
  temp_pid=$!
  for _ in $(seq 100); do
    listening "$p" && connect_to "$p" && return 0
    kill -0 "$temp_pid" 2>/dev/null || break
    sleep 0.05
  done
  fail "the temporary broker did not start: $(grep -v '^$' "$work/broker/log" | tail -1)"
}

# The broker of the set-up when it runs, else a temporary one.
attach() {
  if listening "$port"; then
    connect_to "$port"
  else
    start_temp_broker
  fi
}

# ctrl COMMAND ARGS...: one dynsec command; stdin goes to mosquitto_ctrl (password prompts).
ctrl() {
  local out
  if ! out=$(XDG_CONFIG_HOME=$work mosquitto_ctrl dynsec "$@" 2>&1) ||
    echo "$out" | grep -q '^Error'; then
    fail "mosquitto_ctrl dynsec $1 $2 failed: $(echo "$out" | grep -v '^$' | tail -1)"
  fi
  [ "$1" != getClient ] || echo "$out"
}

# ctrl_password ID COMMAND...: a dynsec command that asks for ID's password (twice) on stdin.
ctrl_password() {
  local id=$1
  shift
  { head -1 "$dir/$id.pass" && head -1 "$dir/$id.pass"; } | ctrl "$@"
}

# ctrl_add_device ID: the plugin's client ID with the device role and one of its own.
ctrl_add_device() {
  local rule
  ctrl_password "$1" createClient "$1" -c "$1"
  ctrl createRole "device-$1"
  while read -r rule; do
    # shellcheck disable=SC2086 # a rule is two words, neither with spaces
    ctrl addRoleACL "device-$1" $rule allow
  done < <(own_rules device "$1")
  ctrl addClientRole "$1" device
  ctrl addClientRole "$1" "device-$1"
}

# --- commands ---------------------------------------------------------------------------------

# The set-up's port, from its mosquitto.conf.
read_port() {
  if [ ! -f "$dir/mosquitto.conf" ] || [ ! -f "$dir/$ADMIN.pass" ]; then
    bad_usage "$dir is not a set-up made by secure-setup.sh (no mosquitto.conf or $ADMIN.pass)"
  fi
  port=$(awk '$1 == "listener" {print $2; exit}' "$dir/mosquitto.conf")
  [[ $port =~ ^[0-9]+$ ]] || fail "no listener port in $dir/mosquitto.conf"
}

print_usage_hint() {
  local d=$1 w=$2 v=$3
  cat <<HINT
secure-setup: wrote $dir
Start the broker (stop Debian's system broker first if it holds the port):
  mosquitto -c $dir/mosquitto.conf
A worker, then an edge agent with a password, or with its certificate (port $((port + 1))):
  build/bin/cloud-worker --tls --host localhost --port $port --cafile $dir/ca.crt \\
    --worker-id $w --username $w --password-file $dir/$w.pass
  build/bin/edge-agent 3 --tls --host localhost --port $port --cafile $dir/ca.crt \\
    --device-id $d --username $d --password-file $dir/$d.pass
  build/bin/edge-agent 3 --tls --host localhost --port $((port + 1)) --cafile $dir/ca.crt \\
    --device-id $d --cert $dir/$d.crt --key $dir/$d.key
HINT
  [ -n "$v" ] || return 0
  cat <<HINT
The dashboard for viewer $v, in a browser that trusts $dir/ca.crt (the page asks for the
password in $dir/$v.pass; $dir/dashboard holds no secret and may be copied):
  file://$dir/dashboard/index.html?url=wss://localhost:$((port + 2))&user=$v
HINT
}

cmd_create() {
  local devices=() workers=() viewers=() planners=() entries=() dup id
  parse_ids "$devices_arg"
  devices=("${ids_out[@]}")
  parse_ids "$workers_arg"
  workers=("${ids_out[@]}")
  if [ -n "$viewers_arg" ]; then
    parse_ids "$viewers_arg"
    viewers=("${ids_out[@]}")
  fi
  if [ -n "$planners_arg" ]; then
    parse_ids "$planners_arg"
    planners=("${ids_out[@]}")
  fi
  dup=$(printf '%s\n' "${devices[@]}" "${workers[@]}" "${viewers[@]}" "${planners[@]}" |
    sort | uniq -d | head -1)
  [ -z "$dup" ] || bad_usage "client id '$dup' given twice"
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    bad_usage "$dir exists and is not empty"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 755 "$dir" # the broker's user reads its files here; the secrets are 0600
  make_ca
  make_server_cert
  for id in "${devices[@]}"; do entries+=("device:$id"); done
  for id in "${workers[@]}"; do entries+=("worker:$id"); done
  for id in "${viewers[@]}"; do entries+=("viewer:$id"); done
  for id in "${planners[@]}"; do entries+=("planner:$id"); done
  for id in "${entries[@]}"; do make_client "${id#*:}"; done
  write_conf
  write_dynsec "${entries[@]}"
  install_dashboard
  check_broker_access
  # Proof that the broker loads it all: the administrator logs in and reads a client back.
  local found
  start_temp_broker
  found=$(ctrl getClient "${devices[0]}")
  [[ $found == *"${devices[0]}"* ]] || fail "the plugin did not load client ${devices[0]}"
  print_usage_hint "${devices[0]}" "${workers[0]}" "${viewers[0]:-}"
}

# The pid of the mosquitto listening on the set-up's port, when this user may see it.
broker_pid() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$port" 2>/dev/null | grep -o '"mosquitto",pid=[0-9]*' | head -1 | cut -d= -f2
}

# cert_accepted CRT KEY: whether the mTLS listener accepts this client certificate. A TLS 1.2
# handshake only (the refusal comes within it): no MQTT session, so no connection is disturbed.
cert_accepted() {
  timeout 5 openssl s_client -connect "127.0.0.1:$((port + 1))" -tls1_2 -cert "$1" -key "$2" \
    -CAfile "$dir/ca.crt" -verify_return_error </dev/null >/dev/null 2>&1
}

# reload_crl ID CRT KEY: a running broker reloads its certificates and the revocation list on
# SIGHUP, keeping its connections; waits until it refuses the revoked certificate CRT of ID.
reload_crl() {
  local pid
  listening "$port" || return 0
  pid=$(broker_pid)
  if [ -z "$pid" ] || ! kill -HUP "$pid" 2>/dev/null; then
    echo "secure-setup: send SIGHUP to the broker on port $port (kill -HUP PID): until then it" \
      "accepts the old certificate of $1"
    return 0
  fi
  for _ in $(seq 50); do
    if ! cert_accepted "$2" "$3"; then
      echo "secure-setup: the broker (pid $pid) reloaded the revocation list and refuses the old" \
        "certificate of $1"
      return 0
    fi
    sleep 0.1
  done
  fail "the broker (pid $pid) still accepts the revoked certificate of $1 after SIGHUP"
}

cmd_add_device() {
  [ ! -e "$dir/$1.crt" ] || bad_usage "client '$1' exists already in $dir"
  make_client "$1"
  attach
  ctrl_add_device "$1"
  echo "secure-setup: added device $1 ($dir/$1.crt, $dir/$1.key, $dir/$1.pass)"
}

# New key, certificate and password; the old certificate is revoked first and the old password
# stops working at once (the plugin also closes the device's connections, which come back with
# the new credentials).
cmd_rotate_device() {
  [ -e "$dir/$1.crt" ] || bad_usage "no client '$1' in $dir"
  cp "$dir/$1.crt" "$work/old.crt"
  cp "$dir/$1.key" "$work/old.key"
  revoke "$1"
  reload_crl "$1" "$work/old.crt" "$work/old.key"
  make_client "$1"
  attach
  ctrl_password "$1" setClientPassword "$1"
  echo "secure-setup: new certificate, key and password for $1 in $dir; install them on the device"
}

cmd_remove_device() {
  [ -e "$dir/$1.crt" ] || bad_usage "no client '$1' in $dir"
  attach
  ctrl deleteClient "$1"
  ctrl deleteRole "device-$1"
  revoke "$1"
  reload_crl "$1" "$dir/$1.crt" "$dir/$1.key"
  rm -f "$dir/$1.crt" "$dir/$1.key" "$dir/$1.pass"
  echo "secure-setup: removed device $1: the broker closed its connections and refuses its login"
}

main() {
  case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  "" | -*) bad_usage "missing DIR (see --help)" ;;
  esac
  dir=$1
  shift
  for tool in openssl mosquitto mosquitto_ctrl mosquitto_passwd; do
    command -v "$tool" >/dev/null || fail "$tool not found: run scripts/setup.sh"
  done
  work=$(mktemp -d)
  trap cleanup EXIT
  case ${1:-} in
  add-device | rotate-device | remove-device)
    [ $# -eq 2 ] || bad_usage "usage: secure-setup.sh DIR $1 ID"
    valid_id "$2" || bad_usage "invalid device id '$2'"
    [ -d "$dir" ] || bad_usage "no set-up directory $dir"
    dir=$(cd "$dir" && pwd)
    read_port
    "cmd_${1//-/_}" "$2"
    return
    ;;
  esac
  port="" devices_arg="" workers_arg="" viewers_arg="" planners_arg=""
  while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || bad_usage "$1 needs a value"
    case $1 in
    --port) port=$2 ;;
    --devices) devices_arg=$2 ;;
    --workers) workers_arg=$2 ;;
    --viewers) viewers_arg=$2 ;;
    --planners) planners_arg=$2 ;;
    *) bad_usage "unknown option '$1' (see --help)" ;;
    esac
    shift 2
  done
  if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65533)); then
    bad_usage "--port wants a port number 1..65533 (the next two are the mTLS listener and" \
      "the dashboard), got '$port'"
  fi
  port=$((10#$port))
  [ -n "$devices_arg" ] || bad_usage "--devices is required"
  [ -n "$workers_arg" ] || bad_usage "--workers is required"
  cmd_create
}

main "$@"
