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

/// Escape control characters (newlines included) so a message quoting hostile input (a tensor name
/// holding "\n", say) stays one line.
pub fn one_line(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars()
        .flat_map(|c| {
            let esc: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            esc
        })
        .collect()
}

impl Error {
    pub fn bad_input(file: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::BadInput {
            file: one_line(file.as_ref().display().to_string()),
            msg: one_line(msg.into()),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(one_line(msg.into()))
    }

    pub fn failure(msg: impl Into<String>) -> Self {
        Error::Failure(one_line(msg.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quoting_control_characters_stay_one_line() {
        let e = Error::bad_input("a\nb.gguf", "tensor 'x\ny\r\u{1b}[31m': bad");
        assert_eq!(
            e.to_string(),
            "a\\nb.gguf: tensor 'x\\ny\\r\\u{1b}[31m': bad"
        );
        assert_eq!(Error::usage("ok ✓").to_string(), "ok ✓");
        assert!(!Error::failure("a\nb").to_string().contains('\n'));
    }
}
