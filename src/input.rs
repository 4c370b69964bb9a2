//! Reading small user-supplied text files (spec and profile YAML, config.json) with a size cap, so a
//! huge or endless file (`--hardware /dev/zero`, a sparse 100 GB `config.json`) fails in bounded memory
//! instead of being read whole.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Largest YAML spec, hardware profile or `config.json` read (real ones are a few KiB).
pub const MAX_TEXT_FILE_BYTES: u64 = 4 << 20;

/// Read at most `max` bytes of `path`; a longer file is a `BadInput` naming it.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
    let mut buf = Vec::new();
    f.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
    if buf.len() as u64 > max {
        return Err(Error::bad_input(
            path,
            format!(
                "file is larger than the {max}-byte limit for this kind of file; is it the right file?"
            ),
        ));
    }
    Ok(buf)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text_capped(path: &Path, max: u64) -> Result<String> {
    String::from_utf8(read_capped(path, max)?).map_err(|e| {
        Error::bad_input(
            path,
            format!("byte {}: not UTF-8 text", e.utf8_error().valid_up_to()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ten.yaml");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_capped(&p, 10).unwrap().len(), 10);
        let e = read_capped(&p, 9).unwrap_err().to_string();
        assert!(e.contains("ten.yaml") && e.contains("9-byte limit"), "{e}");
        std::fs::write(&p, [0xff, 0x41]).unwrap();
        let e = read_text_capped(&p, 10).unwrap_err().to_string();
        assert!(e.contains("byte 0: not UTF-8"), "{e}");
        let e = read_capped(&dir.path().join("none.yaml"), 10).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
