//! headroom: will this model fit on this machine, and how fast will it decode?
//!
//! The flow: [`model`] reads a model into a tensor inventory, [`hardware`] resolves a machine,
//! [`estimate`] (pure) turns (model, machine, workload) into a plan, [`measure`] runs a real decode to
//! check it. The shells ([`cli`], [`tui`]) only call these; core never imports a shell.

pub mod bundled;
pub mod cli;
pub mod error;
pub mod estimate;
pub mod hardware;
pub mod input;
pub mod measure;
pub mod model;
pub mod suggest;
pub mod tui;
pub mod units;

pub use error::{Error, Result};
