//! The one place that writes to the terminal. stdout carries data (what a script captures);
//! stderr carries talk: banners, progress, warnings, hints, errors.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, Write};

use crate::error::CliError;

/// Writes one line of data to stdout and flushes it, so a reader sees it at once (a script
/// waiting for the emulator's URL, say). A closed pipe (`| head`) is not an error: the reader
/// has what it wanted.
pub fn data_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line of talk to stderr. Failing to write to stderr leaves nowhere to report
/// it, so errors are ignored.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Reports an error and its hint on stderr, in the form every command uses:
/// `error: …` then `hint: …`.
pub fn error(err: &CliError) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", err.message);
    if let Some(hint) = &err.hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}
