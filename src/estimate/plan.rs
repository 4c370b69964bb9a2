//! PLACEHOLDER until the estimate branch lands.
use super::{Plan, Workload};
use crate::error::{Error, Result};
use crate::hardware::Machine;
use crate::model::ModelDesc;
pub fn plan(_m: &ModelDesc, _h: &Machine, _w: &Workload) -> Result<Plan> {
    Err(Error::failure("plan: not built yet"))
}
