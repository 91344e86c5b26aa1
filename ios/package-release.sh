#!/usr/bin/env bash
# Makes a release of the iOS package in build/release/:
#   TendCoreFFI.xcframework.zip   upload it to URL
#   TendCoreFFI.xcframework.zip.checksum   SwiftPM's checksum of the zip
#   Package.swift, Sources/       the distribution package: push it to the
#                                 repository apps add, and tag it
# Package.swift there is ios/Package.swift with URL and the checksum in its
# release constants; Sources/TendCore holds the generated Swift (made by
# build-xcframework.sh), which a release commits there and ios/ does not.
# The checksum is `swift package compute-checksum`'s: Xcode's swift on
# macOS, the chroot of bindings/swift/swift.sh on Linux.
# Usage: package-release.sh URL [XCFRAMEWORK]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../bindings/paths.sh"
url="$1"
xcframework="${2:-$here/build/TendCoreFFI.xcframework}"
out="$here/build/release"
zip="$out/TendCoreFFI.xcframework.zip"
for needed in "$xcframework/Info.plist" "$here/Sources/TendCore/TendCore.swift"; do
  [ -e "$needed" ] || { echo "package-release.sh: no $needed; run build-xcframework.sh" >&2; exit 1; }
done
case "$url" in https://*) ;; *) echo "package-release.sh: SwiftPM takes https URLs, not $url" >&2; exit 2 ;; esac

rm -rf "$out"
mkdir -p "$out/Sources"
# The XCFramework at the zip's top level, as SwiftPM expects.
if command -v ditto >/dev/null; then
  ditto -c -k --sequesterRsrc --keepParent "$xcframework" "$zip"
else
  (cd "$(dirname "$xcframework")" && zip -q -r -X "$zip" "$(basename "$xcframework")")
fi

if command -v swift >/dev/null; then
  checksum=$(cd "$out" && swift package compute-checksum "$zip")
else
  . "$root/bindings/swift/swift.sh"
  swift_root_ready
  $as_root mkdir -p "$sysroot/work/release"
  $as_root cp "$zip" "$sysroot/work/release/"
  checksum=$(in_swift_root "cd /work/release && swift package compute-checksum TendCoreFFI.xcframework.zip")
  $as_root rm -rf "$sysroot/work/release"
fi
echo "$checksum" >"$zip.checksum"

sed -e "s|^let releaseURL = \"\"$|let releaseURL = \"$url\"|" \
    -e "s|^let releaseChecksum = \"\"$|let releaseChecksum = \"$checksum\"|" \
    "$here/Package.swift" >"$out/Package.swift"
grep -q "^let releaseChecksum = \"$checksum\"$" "$out/Package.swift" ||
  { echo "package-release.sh: Package.swift's release constants were not found" >&2; exit 1; }
cp -r "$here/Sources/TendCore" "$here/Sources/TendApple" "$out/Sources/"
echo "release in $out: upload $(basename "$zip") to $url; checksum $checksum"
