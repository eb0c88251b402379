//! The one error type commands return, and the one place that maps errors to exit codes.

use std::fmt;

/// What kind of failure, which decides the exit code (documented in `rtctl --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Server, network or unexpected reply: exit 1.
    Failure,
    /// Usage error or invalid input: exit 2.
    Usage,
    /// Cancelled at a prompt: exit 3.
    Cancelled,
    /// No key, 401 or 403: exit 4.
    Auth,
    /// 404: exit 5.
    NotFound,
    /// Ctrl-C: exit 130.
    Interrupted,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failure => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Cancelled => 3,
            ErrorKind::Auth => 4,
            ErrorKind::NotFound => 5,
            ErrorKind::Interrupted => 130,
        }
    }
}

/// An error for the user: what happened, and the command or change that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn failure(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Failure, message)
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Usage, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<crate::emulator::StoreError> for CliError {
    fn from(e: crate::emulator::StoreError) -> CliError {
        let hint = e.hint();
        let error = CliError::failure(e.to_string());
        match hint {
            Some(h) => error.with_hint(h),
            None => error,
        }
    }
}
