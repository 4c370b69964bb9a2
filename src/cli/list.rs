//! `headroom list`.
use crate::error::{Error, Result};
pub fn run(_a: &super::ListArgs) -> Result<super::ExitCode> {
    Err(Error::failure("list: not built yet"))
}
