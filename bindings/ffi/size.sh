#!/usr/bin/env bash
# The size of the phone library: libtend_ffi built with the `mobile` profile
# (what android/ and ios/ build), relative relocations packed as the NDK's
# linker packs them on Android, then stripped. Prints one line per target.
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
    --crate-type cdylib "${features[@]}" "${args[@]}" -- -C link-arg=-Wl,-z,pack-relative-relocs
  dir="$size_target/${args:+$triple/}mobile"
  out="$(mktemp)"
  "$strip" -o "$out" "$dir/libtend_ffi.so"
  # What a crash report is symbolised with, kept apart from what ships.
  "${strip%strip}objcopy" --only-keep-debug "$dir/libtend_ffi.so" "$dir/libtend_ffi.so.debug"
  awk -v t="$triple${features:+ ${features[*]}}" -v b="$(stat -c %s "$out")" \
    -v d="$(stat -c %s "$dir/libtend_ffi.so.debug")" \
    'BEGIN { printf "%s\t%d bytes\t%.2f MB\t(symbols kept apart: %.2f MB)\n", t, b, b / 1e6, d / 1e6 }'
  rm -f "$out"
done
