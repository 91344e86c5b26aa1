#!/usr/bin/env bash
# Builds tend-ffi, generates its Swift bindings (library mode) and runs the
# XCTest suite through the real library. Uses `swift` if it is on PATH
# (macOS with Xcode); otherwise a Debian 13 chroot with swiftlang, made once
# with debootstrap and kept in $TEND_CACHE/swift-root.
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

sysroot="$cache/swift-root"
as_root=$( [ "$(id -u)" = 0 ] && echo "" || echo sudo )
if [ ! -e "$sysroot/.tend-ready" ]; then
  echo "Making a Debian 13 chroot with Swift in $sysroot (once; about 3 GB)"
  command -v debootstrap >/dev/null || { $as_root apt-get update -qq; $as_root apt-get install -y -qq debootstrap; }
  if mountpoint -q "$sysroot/proc" 2>/dev/null; then
    echo "something is still mounted in $sysroot; not touching it" >&2
    exit 1
  fi
  $as_root rm -rf "$sysroot"
  $as_root debootstrap --variant=minbase --include=swiftlang,libc6-dev,libstdc++-14-dev \
    trixie "$sysroot" http://deb.debian.org/debian
  $as_root touch "$sysroot/.tend-ready"
fi

# The package and the library go in; .build stays between runs.
work="$sysroot/work"
$as_root mkdir -p "$work/pkg" "$work/lib"
$as_root rm -rf "$work/pkg/Sources" "$work/pkg/Tests"
$as_root cp -r "$here/Package.swift" "$here/Sources" "$here/Tests" "$work/pkg/"
$as_root cp "$libdir/libtend_ffi.so" "$work/lib/"

unmount() {
  for m in sys dev proc; do
    mountpoint -q "$sysroot/$m" && $as_root umount "$sysroot/$m" || true
  done
  rm -rf "$generated"
}
trap unmount EXIT
for m in proc dev sys; do
  mountpoint -q "$sysroot/$m" || $as_root mount --bind "/$m" "$sysroot/$m"
done
$as_root chroot "$sysroot" /bin/sh -c \
  "cd /work/pkg && HOME=/work LD_LIBRARY_PATH=/work/lib swift test $swift_mode -Xlinker -L/work/lib 2>&1"
