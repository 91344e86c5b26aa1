#!/usr/bin/env bash
# Hides every symbol of a static library but uniffi's exports (ELF, GNU ld
# and objcopy): one relocatable object (`ld -r`, common symbols defined so
# they can be hidden too), every global made local but `uniffi_*` and
# `ffi_tend_*`, archived again. An app that also links SQLite or OpenSSL
# then binds nothing of theirs to ours. ios/build-xcframework.sh does the
# same for Mach-O with `ld -r -exported_symbols_list`.
# Usage: hide-symbols.sh IN.a OUT.a
set -euo pipefail
in="$1"
out="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ld -r -d --whole-archive "$in" -o "$work/all.o"
readelf -sW "$work/all.o" |
  awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' |
  grep -E '^(uniffi_|ffi_tend_)' | sort -u >"$work/exports.txt"
# Embedded LLVM bitcode goes too: no linker reads it from a static library,
# and ar's bitcode plugins (LLVMgold from another LLVM) choke on it.
objcopy --keep-global-symbols="$work/exports.txt" \
  --remove-section=.llvmbc --remove-section=.llvmcmd "$work/all.o" "$work/tend_ffi.o"
rm -f "$out"
ar rcs "$out" "$work/tend_ffi.o"
