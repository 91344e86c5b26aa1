#!/usr/bin/env bash
# Compiles every Kotlin file under android/ against the Android framework
# (android-all from Maven Central) and the generated bindings. No SDK needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../bindings/paths.sh"
cargo build -q -p tend-ffi
"$root/bindings/ffi/generate.sh" kotlin "$here/target/generated-sources/uniffi"
mvn -B -q -f "$here/pom.xml" -Dmaven.repo.local="$cache/m2" compile
echo "android/: every Kotlin file compiles against android-all"
