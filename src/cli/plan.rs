//! `headroom plan`.
use crate::error::{Error, Result};
pub fn run(_a: &super::PlanArgs, _quiet: bool) -> Result<super::ExitCode> {
    Err(Error::failure("plan: not built yet"))
}
