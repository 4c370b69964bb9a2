//! Fuzz the model-spec YAML loader all the way to the tensor inventory. Every error must be one line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let r = headroom::model::spec::parse_spec(text, "fuzz.yaml")
            .and_then(|spec| headroom::model::spec::desc(&spec, "fuzz.yaml", "fuzz.yaml"));
        if let Err(e) = r {
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
        }
    }
});
