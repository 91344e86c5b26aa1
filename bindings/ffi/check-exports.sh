#!/usr/bin/env bash
# The static library exports uniffi's functions and nothing else once its
# symbols are hidden: fails on any other global, SQLCipher's `sqlite3_*`
# above all (an app linking the system SQLite could bind a call to ours).
# Then links a C program against the hidden library and calls into it.
# Runs on this machine's staticlib (ELF), the stand-in for the iOS one.
# Usage: check-exports.sh [LIB.a]   (default: the debug build's)
set -euo pipefail
. "$(dirname "$0")/../paths.sh"
lib="${1:-$target/debug/libtend_ffi.a}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
exported() {
  readelf -sW "$1" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 != "" { print $8 }' | sort -u
}
before="$(exported "$lib" | grep -c '^sqlite3_' || true)"
"$root/bindings/ffi/hide-symbols.sh" "$lib" "$work/libtend_ffi.a"
exported "$work/libtend_ffi.a" >"$work/after.txt"
others="$(grep -vE '^(uniffi_|ffi_tend_)' "$work/after.txt" || true)"
echo "sqlite3_* exported: $before before hiding, $(grep -c '^sqlite3_' "$work/after.txt" || true) after;" \
  "$(wc -l <"$work/after.txt") exports in all"
if [ -n "$others" ]; then
  echo "exported besides uniffi's functions:" >&2
  echo "$others" | head -20 >&2
  exit 1
fi
cat >"$work/main.c" <<'C'
#include <stdio.h>
unsigned int ffi_tend_ffi_uniffi_contract_version(void);
int main(void) { printf("uniffi contract %u\n", ffi_tend_ffi_uniffi_contract_version()); return 0; }
C
cc "$work/main.c" "$work/libtend_ffi.a" -o "$work/main" -lpthread -ldl -lm
"$work/main"
