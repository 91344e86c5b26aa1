#!/usr/bin/env bash
# Builds TendCoreFFI.xcframework (iOS device, and a simulator slice for Apple
# silicon and Intel) and copies the generated Swift plus Tend's Swift layer
# into build/Sources/TendCore. Needs macOS with Xcode and the Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../bindings/paths.sh"
build="$here/build"
rm -rf "$build"
mkdir -p "$build/headers" "$build/Sources/TendCore" "$build/sim"

for triple in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --profile mobile -p tend-ffi --target "$triple"
done

# Bindings come from a host build (library mode reads its metadata).
cargo build --release -p tend-ffi
"$root/bindings/ffi/generate.sh" swift "$build/generated" release
cp "$build/generated/TendCore.swift" "$build/generated/TendCoreModel.swift" "$build/Sources/TendCore/"
cp "$root"/bindings/swift/Sources/TendCore/*.swift "$build/Sources/TendCore/"
cp "$build/generated/TendCoreFFI.h" "$build/generated/TendCoreModelFFI.h" "$build/headers/"
cat > "$build/headers/module.modulemap" <<'MAP'
module TendCoreFFI {
    header "TendCoreFFI.h"
    header "TendCoreModelFFI.h"
    export *
}
MAP

lipo -create \
  "$target/aarch64-apple-ios-sim/mobile/libtend_ffi.a" \
  "$target/x86_64-apple-ios/mobile/libtend_ffi.a" \
  -output "$build/sim/libtend_ffi.a"

xcodebuild -create-xcframework \
  -library "$target/aarch64-apple-ios/mobile/libtend_ffi.a" -headers "$build/headers" \
  -library "$build/sim/libtend_ffi.a" -headers "$build/headers" \
  -output "$build/TendCoreFFI.xcframework"
echo "Built $build/TendCoreFFI.xcframework"
