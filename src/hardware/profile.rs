//! PLACEHOLDER until the hw branch lands.
use super::Machine;
use crate::error::{Error, Result};
pub fn resolve(_a: &str) -> Result<Vec<Machine>> {
    Err(Error::failure("hardware: not built yet"))
}
