#!/usr/bin/env bash
# The iOS release steps that can run on Linux, on a stand-in XCFramework
# (this machine's static library and the real headers, laid out as
# xcodebuild lays out a slice): sources.sh, then package-release.sh with its
# zip and SwiftPM checksum from the Swift chroot; then checks the checksum
# is the zip's SHA-256, the headers sit in their own folder, the privacy
# manifest parses and ships, and SwiftPM reads both manifests: the release
# one with the URL and checksum, ios/ with its local path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../bindings/paths.sh"
. "$root/bindings/swift/swift.sh"
version=$(cargo pkgid -p tend-ffi | sed 's/.*[#@]//')
url="https://example.invalid/tend/releases/download/$version/TendCoreFFI.xcframework.zip"

work="$here/build/stand-in"
slice="$work/TendCoreFFI.xcframework/linux-x86_64"
rm -rf "$work"
mkdir -p "$slice"
# Builds the tests' workspace too (generate.sh), the static library with it.
"$here/sources.sh" debug "$slice/Headers"
strip -g -o "$slice/libtend_ffi.a" "$target/debug/libtend_ffi.a"
python3 - "$work/TendCoreFFI.xcframework/Info.plist" <<'PY'
import plistlib, sys
plistlib.dump({
    "AvailableLibraries": [{
        "LibraryIdentifier": "linux-x86_64", "LibraryPath": "libtend_ffi.a",
        "HeadersPath": "Headers", "SupportedArchitectures": ["x86_64"],
        "SupportedPlatform": "linux",
    }],
    "CFBundlePackageType": "XFWK", "XCFrameworkFormatVersion": "1.0",
}, open(sys.argv[1], "wb"))
PY

"$here/package-release.sh" "$url" "$work/TendCoreFFI.xcframework"
release="$here/build/release"
zip="$release/TendCoreFFI.xcframework.zip"
checksum=$(cat "$zip.checksum")
[ "$checksum" = "$(sha256sum "$zip" | cut -d' ' -f1)" ] ||
  { echo "the checksum is not the zip's SHA-256" >&2; exit 1; }
# grep reads to the end: with -q it stops at a match, and under pipefail
# the writer's SIGPIPE would read as no match.
unzip -Z1 "$zip" | grep -x 'TendCoreFFI.xcframework/linux-x86_64/Headers/TendCoreFFI/module.modulemap' >/dev/null ||
  { echo "the module map is not in Headers/TendCoreFFI" >&2; exit 1; }
python3 -c 'import plistlib, sys; m = plistlib.load(open(sys.argv[1], "rb")); assert m["NSPrivacyTracking"] is False and m["NSPrivacyAccessedAPITypes"]' \
  "$release/Sources/TendCore/PrivacyInfo.xcprivacy"

# SwiftPM evaluates both manifests (binary targets are not built on Linux).
swift_root_ready
$as_root rm -rf "$sysroot/work/manifests"
$as_root mkdir -p "$sysroot/work/manifests/release" "$sysroot/work/manifests/dev"
$as_root cp -r "$release/Package.swift" "$release/Sources" "$sysroot/work/manifests/release/"
$as_root cp -r "$here/Package.swift" "$here/Sources" "$sysroot/work/manifests/dev/"
for which in release dev; do
  in_swift_root "cd /work/manifests/$which && swift package dump-package" >"$work/$which.json"
done
python3 - "$work/release.json" "$work/dev.json" "$url" "$checksum" <<'PY'
import json, sys
release, dev, url, checksum = sys.argv[1:]
def ffi(path):
    [target] = [t for t in json.load(open(path))["targets"] if t["name"] == "TendCoreFFI"]
    return target
r, d = ffi(release), ffi(dev)
assert (r["type"], r["url"], r["checksum"]) == ("binary", url, checksum), r
assert (d["type"], d["path"]) == ("binary", "build/TendCoreFFI.xcframework"), d
PY
echo "iOS release: zip, checksum $checksum and both manifests check out"
