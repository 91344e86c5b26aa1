#!/usr/bin/env bash
# Builds tend-ffi, generates its Swift bindings (library mode) and runs the
# XCTest suite through the real library. Uses `swift` if it is on PATH
# (macOS with Xcode); otherwise the Debian 13 chroot of swift.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../paths.sh"
libdir="$target/debug"

build_for_tests
generated="$(mktemp -d)"
trap 'rm -rf "$generated"' EXIT
"$root/bindings/ffi/generate.sh" swift "$generated"
# One Swift file and one C header per crate (tend-ffi's and the core's types).
cp "$generated/TendCore.swift" "$generated/TendCoreModel.swift" "$here/Sources/TendCore/"
cp "$generated/TendCoreFFI.h" "$generated/TendCoreModelFFI.h" "$here/Sources/TendCoreFFI/"

# Swift 6's language mode: data-race safety checked at compile time, for the
# generated code, Tend's Swift layer and the tests alike.
swift_mode="-Xswiftc -swift-version -Xswiftc 6"

if command -v swift >/dev/null; then
  cd "$here"
  LD_LIBRARY_PATH="$libdir" DYLD_LIBRARY_PATH="$libdir" swift test $swift_mode -Xlinker -L"$libdir"
  exit
fi

. "$here/swift.sh"
swift_root_ready

# The package and the library go in; .build stays between runs.
work="$sysroot/work"
$as_root mkdir -p "$work/pkg" "$work/lib"
$as_root rm -rf "$work/pkg/Sources" "$work/pkg/Tests"
$as_root cp -r "$here/Package.swift" "$here/Sources" "$here/Tests" "$work/pkg/"
$as_root cp "$libdir/libtend_ffi.so" "$work/lib/"
in_swift_root "cd /work/pkg && LD_LIBRARY_PATH=/work/lib swift test $swift_mode -Xlinker -L/work/lib 2>&1"
