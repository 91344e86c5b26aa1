#!/usr/bin/env bash
# The JVM harness: times calls through the generated Kotlin against the same
# work done directly in Rust, in one process, with the release library built
# with the `bench` feature. Prints a Markdown table for docs/performance.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="${TEND_CACHE:-$HOME/.cache/tend}"
cargo build -q --release -p tend-ffi --features bench
"$root/bindings/ffi/generate.sh" kotlin "$here/target/generated-sources/uniffi" release
# Classes compiled from an older generation would shadow the new ones.
rm -rf "$here/target/classes" "$here/target/test-classes"
mvn -B -q -f "$here/pom.xml" -Pbench -Dmaven.repo.local="$cache/m2" -Dtend.lib.dir="$target/release" \
  compile exec:exec
