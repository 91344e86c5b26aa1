# Sourced by the scripts under bindings/, android/ and ios/: the repository
# root (made the working folder), and the cargo target and cache folders as
# .ci/run sets them.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="${TEND_CACHE:-$HOME/.cache/tend}"
cd "$root"
