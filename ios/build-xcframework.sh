#!/usr/bin/env bash
# Builds TendCoreFFI.xcframework (iOS device, and a simulator slice for Apple
# silicon and Intel) and puts the generated Swift, Tend's Swift layer and
# the privacy manifest in Sources/TendCore (sources.sh; not committed here,
# a release commits them to the distribution package, package-release.sh).
# Needs macOS with Xcode and the Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../bindings/paths.sh"
build="$here/build"
rm -rf "$build"
mkdir -p "$build/headers" "$build/sim"
# The oldest iOS Package.swift allows; cc and rustc's objects both obey it.
export IPHONEOS_DEPLOYMENT_TARGET=15.0

# Each slice exports uniffi's functions and nothing else: SQLCipher's 276
# `sqlite3_*` and OpenSSL's symbols would otherwise bind an app's calls to
# the system SQLite to ours (as matrix-rust-sdk does: `ld -r` with an
# exported symbols list). bindings/ffi/hide-symbols.sh does the same for
# ELF, and bindings/ffi/check-exports.sh checks it on Linux; this Mach-O
# half has not been run (no Mac here).
printf '_uniffi_*\n_ffi_tend_*\n' >"$build/exports.txt"
for triple in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --profile mobile -p tend-ffi --target "$triple"
  case "$triple" in aarch64-*) arch=arm64 ;; *) arch=x86_64 ;; esac
  mkdir -p "$build/hidden/$triple"
  xcrun ld -r -arch "$arch" -all_load "$target/$triple/mobile/libtend_ffi.a" \
    -exported_symbols_list "$build/exports.txt" -o "$build/hidden/$triple/tend_ffi.o"
  xcrun libtool -static -o "$build/hidden/$triple/libtend_ffi.a" "$build/hidden/$triple/tend_ffi.o"
  # grep reads to the end: with -q it stops at a match, and under pipefail
  # the writer's SIGPIPE would read as no match.
  if xcrun nm -gU "$build/hidden/$triple/libtend_ffi.a" | grep ' _sqlite3_' >/dev/null; then
    echo "$triple still exports sqlite3_* symbols" >&2
    exit 1
  fi
done

# Bindings come from a host build (library mode reads its metadata).
cargo build --release -p tend-ffi
"$here/sources.sh" release "$build/headers"

lipo -create \
  "$build/hidden/aarch64-apple-ios-sim/libtend_ffi.a" \
  "$build/hidden/x86_64-apple-ios/libtend_ffi.a" \
  -output "$build/sim/libtend_ffi.a"

xcodebuild -create-xcframework \
  -library "$build/hidden/aarch64-apple-ios/libtend_ffi.a" -headers "$build/headers" \
  -library "$build/sim/libtend_ffi.a" -headers "$build/headers" \
  -output "$build/TendCoreFFI.xcframework"
echo "Built $build/TendCoreFFI.xcframework; ios/package-release.sh URL makes a release of it"
