//! Fuzz the config.json -> hyperparameters mapping (and the JSON parser in front of it). Every error
//! must be one line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(e) = headroom::model::safetensors::config::hparams_from_config(&v, "config.json")
        {
            let s = e.to_string();
            assert!(s.starts_with("config.json: ") && !s.contains('\n'), "{s}");
        }
    }
});
