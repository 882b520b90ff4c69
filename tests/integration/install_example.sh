#!/usr/bin/env bash
# Installs a build into OUT/prefix (cmake --install) and builds the example plugin out of tree
# against it, with pkg-config, into OUT/example/libthermal.so: the set-up of test_plugin.
# Usage: tests/integration/install_example.sh BUILD_DIR OUT
set -euo pipefail
build=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
cmake --install "$build" --prefix "$out/prefix" >"$out/install.log"
cp -r "$out/prefix/share/edgesplit/examples/plugin" "$out/example" # as a user would
rm -f "$out/example/libthermal.so"
PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig" make -C "$out/example" >"$out/example.log"
echo "installed to $out/prefix; plugin $out/example/libthermal.so"
