#!/usr/bin/env bash
# Installs what is missing (Debian/Ubuntu packages) and builds edgesplit into build/.
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

# rabbitmq-server runs the nodes of scripts/cluster.sh. Its postinst starts a system node through
# invoke-rc.d only under an init system: in a container without one (or with Docker's
# policy-rc.d) invoke-rc.d starts nothing and returns 0, so the install does not fail there.
# nodejs and chromium: the dashboard's mqtt.js and its browser test (cloud/dashboard).
packages=(build-essential cmake pkg-config git libpaho-mqtt-dev libssl-dev libopencv-dev
  libjansson-dev mosquitto mosquitto-clients rabbitmq-server librabbitmq-dev openssl clang
  libclang-rt-dev clang-format gnuplot-nox jq shellcheck systemd nodejs chromium
  libfaketime)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's npm, unless the installed nodejs brings its own (NodeSource's does, and conflicts
# with Debian's npm package).
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The dashboard's npm packages as package-lock.json pins them, again only when it changed.
dash=cloud/dashboard
if [ ! -f "$dash/node_modules/.package-lock.json" ] ||
  [ "$dash/package-lock.json" -nt "$dash/node_modules/.package-lock.json" ]; then
  (cd "$dash" && npm ci --no-audit --no-fund --loglevel=error)
fi

build=${1:-build}
shift || true
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "setup: built $build/bin/edge-agent and $build/bin/cloud-worker" >&2
