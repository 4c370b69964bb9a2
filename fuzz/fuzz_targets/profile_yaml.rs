//! Fuzz the hardware-profile YAML loader and its validation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = headroom::hardware::profile::parse_profile(text, "fuzz.yaml");
    }
});
