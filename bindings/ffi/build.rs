//! Link flags for the phone library that must survive a `RUSTFLAGS`
//! override (`.cargo/config.toml`'s target rustflags do not).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    // Google Play requires 16 KB-aligned LOAD segments on 64-bit Android
    // (Android 15); NDKs before r28 link with 4 KB unless told. arm64 Linux,
    // the stand-in .ci/arm64-tests checks, gets the same.
    let wide = matches!(arch.as_str(), "aarch64" | "x86_64");
    if (os == "android" && wide) || (os == "linux" && arch == "aarch64") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
    }
    // Relative relocations packed in Android's own format (read from API
    // 23; minSdk is 26): recent NDKs pass it themselves, older ones would
    // ship 1.3 MB of unpacked relocations.
    if os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android");
    }
}
