//! Fuzz the config.json -> hyperparameters mapping (and the JSON parser in front of it).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = headroom::model::safetensors::config::hparams_from_config(&v, "config.json");
    }
});
