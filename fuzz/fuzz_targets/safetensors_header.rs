//! Fuzz the safetensors header parser: the first 8 bytes are the header length, the rest the JSON
//! header and data, exactly as a file would hold them. Every error must be a one-line `BadInput`.
#![no_main]
use headroom::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.safetensors");
    if data.len() >= 8 {
        let mut len = [0u8; 8];
        len.copy_from_slice(&data[..8]);
        let n = u64::from_le_bytes(len).min((data.len() - 8) as u64) as usize;
        match headroom::model::safetensors::parse_header(path, &data[8..8 + n], data.len() as u64) {
            Ok(_) => {}
            Err(Error::BadInput { file, msg }) => {
                assert_eq!(file, "fuzz.safetensors");
                assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg}");
            }
            Err(e) => panic!("not a BadInput: {e:?}"),
        }
    }
});
