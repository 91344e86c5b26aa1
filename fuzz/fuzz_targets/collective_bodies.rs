#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tend_core::testing::collective_bodies(data);
});
