#!/usr/bin/env bash
# Generates bindings from the built library ("library mode"), never by hand.
# Usage: generate.sh kotlin|swift OUT_DIR [debug|release]
set -euo pipefail
language="$1"
out="$2"
profile="${3:-debug}"
. "$(dirname "$0")/../paths.sh"
case "$(uname -s)" in
  Darwin) lib="$target/$profile/libtend_ffi.dylib" ;;
  *) lib="$target/$profile/libtend_ffi.so" ;;
esac
rm -rf "$out"
mkdir -p "$out"
build_for_tests
"$target/debug/uniffi-bindgen" \
  generate --library "$lib" --language "$language" --no-format --out-dir "$out"
