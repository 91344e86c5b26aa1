#!/usr/bin/env bash
# Puts TendCore's Swift in ios/Sources/TendCore (the generated Swift, Tend's
# Swift layer, the privacy manifest) and the C headers with their module map
# in HEADERS/TendCoreFFI: in a folder of their own, as Xcode copies every
# XCFramework's headers into one include folder, where two top-level
# module.modulemap would collide.
# Usage: sources.sh debug|release HEADERS
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../bindings/paths.sh"
headers="$2/TendCoreFFI"
sources="$here/Sources/TendCore"
generated="$(mktemp -d)"
trap 'rm -rf "$generated"' EXIT
"$root/bindings/ffi/generate.sh" swift "$generated" "$1"
rm -rf "$sources" "$headers"
mkdir -p "$sources" "$headers"
cp "$generated/TendCore.swift" "$generated/TendCoreModel.swift" "$sources/"
cp "$root"/bindings/swift/Sources/TendCore/*.swift "$here/PrivacyInfo.xcprivacy" "$sources/"
cp "$generated/TendCoreFFI.h" "$generated/TendCoreModelFFI.h" "$headers/"
cat >"$headers/module.modulemap" <<'MAP'
module TendCoreFFI {
    header "TendCoreFFI.h"
    header "TendCoreModelFFI.h"
    export *
}
MAP
