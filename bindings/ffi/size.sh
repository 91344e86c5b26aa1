#!/usr/bin/env bash
# The size of the phone library: libtend_ffi built with the `mobile` profile
# (what android/ and ios/ build), linked as the NDK links it for Android
# (lld: rustup's own rust-lld; relocations packed as Android packs them for
# minSdk 26, 16 KB pages), then stripped. Prints one line per target, with
# the relocation sections, so a packing that did not happen shows. (Debian's
# GNU ld ignores `-z pack-relative-relocs` for arm64 with a warning cargo
# hides; lld refuses what it does not know.)
# Usage: size.sh [--no-default-features] [TARGET_TRIPLE ...]
#   (default: this machine's; --no-default-features: without the relay client)
# An aarch64-unknown-linux-gnu build (rustup target add, apt install
# gcc-aarch64-linux-gnu) stands in for arm64 Android, whose NDK is not here.
set -euo pipefail
. "$(dirname "$0")/../paths.sh"
size_target="${TEND_SIZE_TARGET:-$cache/size-target}"
host="$(rustc -vV | sed -n 's/^host: //p')"
features=()
if [ "${1:-}" = --no-default-features ]; then
  features=(--no-default-features)
  shift
fi
# rustup's lld, behind the C compiler driver as the NDK's clang uses its own.
gcc_ld="$(rustc --print sysroot)/lib/rustlib/$host/bin/gcc-ld"
link=(-C link-arg=-fuse-ld=lld -C "link-arg=-B$gcc_ld"
  -C link-arg=-Wl,--pack-dyn-relocs=android -C link-arg=-Wl,-z,max-page-size=16384)
for triple in "${@:-$host}"; do
  args=()
  strip=strip
  if [ "$triple" != "$host" ]; then
    args=(--target "$triple")
    cc="${triple/unknown-/}-gcc"
    strip="${triple/unknown-/}-strip"
    export "CARGO_TARGET_$(echo "${triple//-/_}" | tr a-z A-Z)_LINKER=$cc"
    export "CC_${triple//-/_}=$cc"
  fi
  # Only tend-ffi's own link gets the flag, so the dependencies are shared
  # with plain `--profile mobile` builds.
  CARGO_TARGET_DIR="$size_target" cargo rustc -q -p tend-ffi --profile mobile --lib \
    --crate-type cdylib "${features[@]}" "${args[@]}" -- "${link[@]}"
  dir="$size_target/${args:+$triple/}mobile"
  out="$(mktemp)"
  "$strip" -o "$out" "$dir/libtend_ffi.so"
  # What a crash report is symbolised with, kept apart from what ships.
  "${strip%strip}objcopy" --only-keep-debug "$dir/libtend_ffi.so" "$dir/libtend_ffi.so.debug"
  # Deflated as in an APK or IPA zip: about what a store download carries
  # (an installed APK keeps the library uncompressed, at the first figure).
  awk -v t="$triple${features:+ ${features[*]}}" -v b="$(stat -c %s "$out")" \
    -v z="$(gzip -9 -c "$out" | wc -c)" -v d="$(stat -c %s "$dir/libtend_ffi.so.debug")" \
    'BEGIN { printf "%s\t%d bytes\t%.2f MB\t(deflated: %.2f MB; symbols kept apart: %.2f MB)\n", t, b, b / 1e6, z / 1e6, d / 1e6 }'
  readelf -SW "$out" | sed -n 's/^ *\[ *[0-9]*\] *//p' | grep -E '^\.rel(a|r)?\.' |
    while read -r name _ _ _ bytes _; do echo "  $name: $((16#$bytes)) bytes"; done
  rm -f "$out"
done
