#!/usr/bin/env bash
# Generates bindings from the built library ("library mode"), never by hand.
# Usage: generate.sh kotlin|swift OUT_DIR [debug|release|LIBRARY]
#   debug (the default) builds the workspace as the tests do first; release
#   and LIBRARY (a built libtend_ffi) take what is there.
set -euo pipefail
language="$1"
out="$2"
from="${3:-debug}"
. "$(dirname "$0")/../paths.sh"
case "$from" in
  debug | release)
    case "$(uname -s)" in
      Darwin) lib="$target/$from/libtend_ffi.dylib" ;;
      *) lib="$target/$from/libtend_ffi.so" ;;
    esac ;;
  *) lib="$from" ;;
esac
rm -rf "$out"
mkdir -p "$out"
if [ "$from" = debug ]; then
  build_for_tests
else
  cargo build -q -p uniffi-bindgen
fi
"$target/debug/uniffi-bindgen" \
  generate --library "$lib" --language "$language" --no-format --out-dir "$out"
if [ "$language" = kotlin ]; then
  # uniffi's Kotlin gives an error with fields the message "field=value" and
  # one without an empty one (uniffi-rs#1077). Tend's errors export Display,
  # which the generated toString() returns; `message` returns it too. An
  # error class without that toString would recurse, so one fails the build.
  for kt in $(grep -rl 'override val message' "$out"); do
    awk '/^sealed class .*: kotlin\.Exception\(\)/ { name = $3; inside = 1; shown = 0 }
         inside && /override fun toString\(\)/ { shown = 1 }
         inside && /companion object ErrorHandler/ {
           if (!shown) { print "generate.sh: " name " exports no Display" > "/dev/stderr"; bad = 1 }
           inside = 0 }
         END { exit bad }' "$kt"
    perl -0pi -e 's/(override val message\n\s+get\(\) = )"[^\n]*"/${1}toString()/g' "$kt"
  done
fi
