# Sourced by the scripts under bindings/, android/ and ios/: the repository
# root (made the working folder), and the cargo target and cache folders as
# .ci/run sets them.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="${TEND_CACHE:-$HOME/.cache/tend}"
cd "$root"

# Builds the workspace as `cargo test --workspace --all-features` does (same
# crates, same features, dev-dependencies included), so a test run compiles
# every crate once instead of once per feature set. It also builds
# target/debug/libtend_ffi.so (with the JVM bench's exports) and the
# uniffi-bindgen binary.
build_for_tests() {
  cargo build -q --workspace --all-features --all-targets
}
