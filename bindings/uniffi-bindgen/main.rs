//! Generates the Kotlin and Swift bindings from the built library
//! (library mode): `bindings/ffi/generate.sh` runs it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
