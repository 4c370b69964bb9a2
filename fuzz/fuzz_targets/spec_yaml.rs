//! Fuzz the model-spec YAML loader all the way to the tensor inventory.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = headroom::model::spec::parse_spec(text, "fuzz.yaml") {
            let _ = headroom::model::spec::desc(&spec, "fuzz.yaml", "fuzz.yaml");
        }
    }
});
