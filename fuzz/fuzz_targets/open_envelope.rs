#![no_main]

// Each input is tried as a whole envelope and as the plaintext inside one.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tend_core::testing::open_envelope(data);
    tend_core::testing::open_inner(data);
});
