#!/usr/bin/env bash
# Builds the Debian packages of a build directory (cpack) and checks them on this machine: both
# install with dpkg -i (their dependencies are Debian packages, so dpkg finds them or fails),
# edge-agent and cloud-worker run from /usr/bin, the example plugin builds with pkg-config from
# /usr/share/edgesplit/examples/plugin and runs, the systemd units name /usr/bin; then both
# packages are removed again. Needs root (CI runs as root); prints the packages' names.
# Usage: scripts/check-deb.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
tmp=$(mktemp -d)
cleanup() {
  $sudo dpkg -P edgesplit-dev edgesplit >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

rm -f "$build"/edgesplit*.deb
(cd "$build" && cpack >"$tmp/cpack.log" 2>&1) || {
  cat "$tmp/cpack.log" >&2
  exit 1
}
debs=("$build"/edgesplit_*.deb "$build"/edgesplit-dev_*.deb)
for deb in "${debs[@]}"; do
  echo "check-deb: $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
$sudo dpkg -i "${debs[@]}" >"$tmp/dpkg.log" || {
  cat "$tmp/dpkg.log" >&2
  exit 1
}
fail() {
  echo "check-deb: $*" >&2
  exit 1
}
/usr/bin/edge-agent --help >"$tmp/help" || fail "edge-agent --help failed"
grep -q -- '--app' "$tmp/help" || fail "edge-agent --help does not list --app"
/usr/bin/cloud-worker --help >/dev/null || fail "cloud-worker --help failed"
/usr/bin/fleet-planner --help >/dev/null || fail "fleet-planner --help failed"
grep -q '^ExecStart=/usr/bin/fleet-planner ' /usr/lib/systemd/system/edgesplit-planner@.service ||
  fail "the planner unit does not run /usr/bin/fleet-planner"
grep -q '^ExecStart=/usr/bin/edge-agent ' /usr/lib/systemd/system/edgesplit-edge@.service ||
  fail "the edge unit does not run /usr/bin/edge-agent"
for f in index.html mqtt.min.js; do
  [ -f "/usr/share/edgesplit/dashboard/$f" ] || fail "the dashboard's $f is missing"
done
cp -r /usr/share/edgesplit/examples/plugin "$tmp/plugin"
make -C "$tmp/plugin" >"$tmp/make.log" 2>&1 || {
  cat "$tmp/make.log" >&2
  fail "the example plugin does not build against the package"
}
lines=$(cd "$tmp/plugin" && /usr/bin/edge-agent --app ./libthermal.so --frames 5 --quiet 2>"$tmp/run.log" | grep -c '"hot"')
[ "$lines" = 5 ] || fail "the example plugin gave $lines results of 5"
echo "check-deb: installed, ran edge-agent --help and the example plugin from /usr; removed"
