#!/usr/bin/env bash
# Builds app.tend:tend-libs-for-tests (the generated Kotlin, Tend's Kotlin
# layer and the x86-64 Linux library, stripped), publishes it with its POM,
# sources jar and docs jar to a Maven repository, then runs consumer/, an
# app's unit test that takes Tend from there alone.
# Usage: publish.sh [REPO_URL] [tests|release]
#   REPO_URL defaults to a local file repository in the cache.
#   tests (the default, what CI checks the packaging with) takes the debug
#   library the test suites build; it carries the bench feature's two extra
#   functions. release builds the library as a release ships it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../paths.sh"
repo="${1:-file://$cache/maven-local}"
flavour="${2:-tests}"

case "$flavour" in
  tests) build_for_tests; lib="$target/debug/libtend_ffi.so" ;;
  release) cargo build -q --release -p tend-ffi; lib="$target/release/libtend_ffi.so" ;;
  *) echo "publish.sh: tests or release, not $flavour" >&2; exit 2 ;;
esac
version=$(cargo pkgid -p tend-ffi | sed 's/.*[#@]//')

work="$here/target"
rm -rf "$work/generated-sources" "$work/native" "$work/classes"
mkdir -p "$work/native/linux-x86-64"
"$root/bindings/ffi/generate.sh" kotlin "$work/generated-sources/uniffi" "$lib"
# JNA finds a library in the jar under its platform's folder.
strip -o "$work/native/linux-x86-64/libtend_ffi.so" "$lib"

# A file repository starts without this version, so what is checked below
# is what this run published.
published=""
if [[ $repo == file://* ]]; then
  published="${repo#file://}/app/tend/tend-libs-for-tests/$version"
  rm -rf "$published"
fi
mvn -B -q -f "$here/pom.xml" -Dmaven.repo.local="$cache/m2" \
  -Drevision="$version" -DaltDeploymentRepository="tend-local::$repo" deploy
echo "published app.tend:tend-libs-for-tests:$version to $repo"

# What Maven Central asks of a release beside the jar: the POM, a sources
# jar and a docs jar whose pages name the API an app calls.
if [ -n "$published" ]; then
  for part in .pom -sources.jar -javadoc.jar; do
    [ -s "$published/tend-libs-for-tests-$version$part" ] ||
      { echo "publish.sh: $published has no tend-libs-for-tests-$version$part" >&2; exit 1; }
  done
  docs="$(unzip -l "$published/tend-libs-for-tests-$version-javadoc.jar")"
  for page in index.html app/tend/core/TendVault.html app/tend/core/model/Entry.html app/tend/core/ChangesKt.html; do
    grep -q " $page\$" <<<"$docs" || { echo "publish.sh: the docs jar has no $page" >&2; exit 1; }
  done
fi

# The consumer resolves Tend from that repository only: a local Maven cache
# of its own (kept for Kotlin and JUnit), without Tend, so nothing the build
# above installed can stand in.
consumer_m2="$cache/m2-consumer"
rm -rf "$consumer_m2/app/tend"
mvn -B -q -f "$here/consumer/pom.xml" -Dmaven.repo.local="$consumer_m2" \
  -Dtend.version="$version" -Dtend.repo="$repo" test
grep -h "Tests run" "$here"/consumer/target/surefire-reports/*.txt
