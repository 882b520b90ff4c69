#!/usr/bin/env bash
# Checks the systemd units in packaging/systemd/ with systemd-analyze verify: each template,
# with @BINDIR@ pointing at the programs in BIN_DIR, as an instance (edgesplit-edge@cam-01).
# Usage: scripts/check-units.sh [BIN_DIR]   (default build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cd "${1:-build/bin}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
units=()
for tpl in packaging/systemd/*@.service.in; do
  name=$(basename "$tpl" .service.in)
  sed "s|@BINDIR@|$bin|g" "$tpl" >"$tmp/$name.service"
  cp "$tmp/$name.service" "$tmp/${name}check-01.service"
  units+=("$tmp/${name}check-01.service")
done
# systemd-analyze prints every problem (unknown keys, bad values, missing programs) and fails.
out=$(systemd-analyze verify "${units[@]}" 2>&1) || {
  echo "$out" >&2
  echo "check-units: systemd-analyze verify failed" >&2
  exit 1
}
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "check-units: systemd-analyze verify warned" >&2
  exit 1
fi
echo "check-units: ${#units[@]} units verified"
