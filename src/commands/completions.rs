//! `rtctl completions SHELL`: the registration script. At each Tab it runs
//! `COMPLETE=<shell> rtctl -- <words>` (clap_complete's `CompleteEnv`), so commands and flags
//! always match the installed binary; the values that come from the API are completed by
//! [`crate::complete`].

use crate::cli::completions::{CompletionsArgs, Shell};
use crate::error::CliError;
use crate::output::Printer;

/// The variable that switches the binary into completion mode.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The registration script for `shell`: what `rtctl completions SHELL` prints and
/// `completions/` holds.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell.name())
        .expect("every Shell is a clap_complete builtin");
    completer
        .write_registration(COMPLETE_VAR, "rtctl", "rtctl", "rtctl", &mut buf)
        .expect("writing to memory cannot fail");
    buf
}

pub(crate) fn run(args: CompletionsArgs, printer: &Printer) -> Result<(), CliError> {
    printer.bytes(&script(args.shell))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_has_a_registration_script_that_calls_rtctl() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Powershell,
            Shell::Elvish,
        ] {
            let text = String::from_utf8(script(shell)).unwrap();
            assert!(text.contains("rtctl"), "{text}");
            assert!(text.contains(COMPLETE_VAR), "{text}");
        }
    }
}
