#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the suite, the hardening check of the
# programs, the systemd units (scripts/check-units.sh), the Debian packages (scripts/check-deb.sh:
# built, installed with dpkg -i, run from /usr/bin, removed), the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the wire decoder's and the stages' fuzzers for a
# short time (scripts/fuzz.sh), the formatting check and shellcheck on the scripts. Each test
# starts its own mosquitto on a free port.
# Usage: scripts/test.sh        (FUZZ_SECONDS=40 per fuzzer by default)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build and test"
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j"$jobs"
scripts/check-hardening.sh build/bin
scripts/check-units.sh build/bin
scripts/check-deb.sh build

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DES_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/support/lsan.supp" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== fuzzing: the wire decoder, and the stages after it"
scripts/fuzz.sh "${FUZZ_SECONDS:-40}"

echo "== formatting"
git ls-files '*.c' '*.h' '*.cpp' | xargs clang-format --dry-run -Werror
echo "== shell scripts"
shellcheck scripts/*.sh bench/*.sh tests/*/*.sh .ci/run
echo "all tests passed"
