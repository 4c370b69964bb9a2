//! Fuzz the hardware-profile YAML loader and its validation. Every error must be one line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = headroom::hardware::profile::parse_profile(text, "fuzz.yaml") {
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
        }
    }
});
