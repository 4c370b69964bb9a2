//! Fuzz the GGUF header reader and the hyperparameter extraction on arbitrary bytes. Beyond "no
//! panic, no OOM, no timeout", every error must be a one-line `BadInput` naming the file.
#![no_main]
use headroom::Error;
use libfuzzer_sys::fuzz_target;

fn check<T>(r: &headroom::Result<T>) {
    match r {
        Ok(_) => {}
        Err(Error::BadInput { file, msg }) => {
            assert_eq!(file, "fuzz.gguf");
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg}");
        }
        Err(e) => panic!("not a BadInput: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let r = headroom::model::gguf::read_header(data, "fuzz.gguf");
    check(&r);
    if let Ok(h) = r {
        let _ = h.check_data_bounds(data.len() as u64, "fuzz.gguf");
        check(&headroom::model::gguf::hparams::hparams_from_gguf(
            &h,
            "fuzz.gguf",
        ));
    }
});
