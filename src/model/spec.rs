//! PLACEHOLDER until the specs branch lands.
use crate::error::{Error, Result};
use crate::model::ModelDesc;
pub fn load(_id: &str) -> Result<ModelDesc> {
    Err(Error::failure("spec: not built yet"))
}
pub fn bundled_ids() -> Vec<&'static str> {
    crate::bundled::MODEL_SPECS
        .iter()
        .map(|(k, _)| *k)
        .collect()
}
