#!/usr/bin/env bash
# Runs each fuzz target for a while; what they find is kept in corpus/ and
# replayed by core/tests/fuzz_corpus.rs. Not part of CI: it needs nightly
# Rust (cargo +nightly) and cargo-fuzz (cargo install cargo-fuzz).
# Usage: fuzz/run.sh [SECONDS_EACH] [TARGET ...]   (default: 600 s, every target)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p artifacts logs
for target in "${targets[@]}"; do
  echo "== $target for ${seconds}s"
  # -rss_limit_mb bounds memory; -max_len lets inputs reach the parsers' own limits.
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="artifacts/$target-" 2>&1 | tee "logs/$target.log" | tail -3
done
