#!/usr/bin/env bash
# Compiles every Kotlin file under android/ against the Android framework
# (android-all from Maven Central) and the generated bindings. No SDK needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../bindings/paths.sh"
build_for_tests
"$root/bindings/ffi/generate.sh" kotlin "$here/target/generated-sources/uniffi"
# Classes compiled from an older generation would shadow the new ones.
rm -rf "$here/target/classes" "$here/target/test-classes"
# Robolectric's runner needs androidx.test:monitor, an AAR; the JDK's jar
# tool takes its classes.jar out.
aar="$here/target/aar"
if [ ! -f "$aar/classes.jar" ]; then
  mkdir -p "$aar"
  mvn -B -q -Dmaven.repo.local="$cache/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    -Dartifact=androidx.test:monitor:1.7.2:aar -DoutputDirectory="$aar"
  (cd "$aar" && jar xf monitor-1.7.2.aar classes.jar)
fi
mvn -B -q -f "$here/pom.xml" -Dmaven.repo.local="$cache/m2" test
echo "android/: every Kotlin file compiles against android-all; the scheduler passes under Robolectric"
