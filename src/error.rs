//! Errors and exit codes. Every failure a user can see is one line: what went wrong, in which file and
//! at which field or byte offset, and what to do next.
//!
//! Exit codes: 0 success; 1 `--check` asked and the model does not fit; 2 bad usage or bad input;
//! 3 any other failure.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed or unsupported input file (model, profile, spec). Exit 2.
    #[error("{file}: {msg}")]
    BadInput { file: String, msg: String },
    /// A bad command line or an impossible workload. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// Anything else (GPU failure, I/O failure writing output...). Exit 3.
    #[error("{0}")]
    Failure(String),
}

impl Error {
    pub fn bad_input(file: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::BadInput {
            file: file.as_ref().display().to_string(),
            msg: msg.into(),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn failure(msg: impl Into<String>) -> Self {
        Error::Failure(msg.into())
    }

    /// Process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. } | Error::Usage(_) => 2,
            Error::Failure(_) => 3,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
