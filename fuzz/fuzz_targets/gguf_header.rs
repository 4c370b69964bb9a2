//! Fuzz the GGUF header reader and the hyperparameter extraction on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = headroom::model::gguf::read_header(data, "fuzz.gguf") {
        let _ = headroom::model::gguf::hparams::hparams_from_gguf(&h, "fuzz.gguf");
    }
});
