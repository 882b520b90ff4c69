#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a while: fuzz_wire (the wire
# decoder and re-encoder, toy application) and fuzz_stages (decode then run the stages from the
# frame's split, real applications). CI runs them briefly; a nightly run gives them longer.
# Usage: scripts/fuzz.sh [SECONDS_EACH]   (default 60; e.g. 600 for the nightly run)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DES_FUZZ=ON >/dev/null
cmake --build build-fuzz --target fuzz_wire fuzz_stages -j"$(nproc)"
for target in wire stages; do
  echo "== fuzzing $target for ${seconds}s"
  mkdir -p "build-fuzz/corpus-$target"
  if ! "build-fuzz/bin/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
    "build-fuzz/corpus-$target" "tests/fuzz/corpus/$target" 2>"build-fuzz/fuzz-$target.log"; then
    tail -50 "build-fuzz/fuzz-$target.log"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/fuzz-$target.log"
done
