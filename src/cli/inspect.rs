//! `headroom inspect`.
use crate::error::{Error, Result};
pub fn run(_a: &super::InspectArgs) -> Result<super::ExitCode> {
    Err(Error::failure("inspect: not built yet"))
}
