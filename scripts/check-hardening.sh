#!/usr/bin/env bash
# Checks that the built programs are hardened: position-independent (PIE), full RELRO (a
# GNU_RELRO segment and BIND_NOW), stack protector and FORTIFY_SOURCE (their checking functions
# are linked in). Prints one line per program and exits 1 if any check fails.
# Usage: scripts/check-hardening.sh [BIN_DIR]   (default build/bin)
set -euo pipefail
bin=${1:-build/bin}
status=0
for prog in edge-agent cloud-worker; do
  f="$bin/$prog"
  missing=()
  # read whole outputs first: grep -q closing the pipe early would fail the pipeline
  header=$(readelf -h "$f") segments=$(readelf -lW "$f") dynamic=$(readelf -dW "$f")
  symbols=$(readelf -sW --dyn-syms "$f")
  grep -q 'Type:.*DYN' <<<"$header" || missing+=(PIE)
  grep -q GNU_RELRO <<<"$segments" || missing+=(RELRO)
  grep -Eq 'BIND_NOW|FLAGS.*NOW' <<<"$dynamic" || missing+=(BIND_NOW)
  grep -q '__stack_chk_fail' <<<"$symbols" || missing+=(stack-protector)
  grep -Eq '__[a-z]+_chk@' <<<"$symbols" || missing+=(FORTIFY)
  if ((${#missing[@]})); then
    echo "check-hardening: $f lacks ${missing[*]}" >&2
    status=1
  else
    echo "check-hardening: $f: PIE, full RELRO, stack protector, FORTIFY"
  fi
done
exit "$status"
