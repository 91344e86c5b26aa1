#!/usr/bin/env bash
# Builds tend-ffi, generates its Kotlin bindings (library mode) and runs the
# JUnit tests on the JVM against the real library.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../paths.sh"

build_for_tests
"$root/bindings/ffi/generate.sh" kotlin "$here/target/generated-sources/uniffi"
# Classes compiled from an older generation would shadow the new ones.
rm -rf "$here/target/classes" "$here/target/test-classes"
mvn -B -q -f "$here/pom.xml" \
  -Dmaven.repo.local="$cache/m2" \
  -Dtend.lib.dir="$target/debug" \
  "${@:-test}"
grep -h "Tests run" "$here"/target/surefire-reports/*.txt
