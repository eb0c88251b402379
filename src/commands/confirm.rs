//! Confirmation of destructive actions: ask on a terminal, accept `--yes`, and refuse, before
//! any request, when there is nobody to ask.

use dialoguer::console::Term;
use dialoguer::{Confirm, Password};

use super::Context;
use crate::error::{CliError, ErrorKind};

/// Whether a destructive action may go ahead without asking, must ask, or must not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--yes` was given.
    Given,
    /// A terminal is there: ask once the details are known.
    Ask,
}

/// Decides before any request is made. `verb` is the command ("rotate"), `flag` the flag that
/// skips the prompt.
pub fn consent(ctx: &Context, yes: bool, verb: &str) -> Result<Consent, CliError> {
    if yes {
        return Ok(Consent::Given);
    }
    if ctx.can_prompt {
        return Ok(Consent::Ask);
    }
    Err(CliError::usage(format!(
        "refusing to {verb} without confirmation: there is no terminal to ask on (or --no-input was given)"
    ))
    .with_hint(format!("pass --yes to {verb} without a prompt")))
}

/// Shows `details` on stderr and asks `question` (default no). A "no" is exit 3.
pub fn ask(details: &str, question: &str) -> Result<(), CliError> {
    let term = Term::stderr();
    let _ = term.write_line(details);
    let answer = Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on_opt(&term)
        .map_err(|e| CliError::failure(format!("could not read the answer: {e}")))?;
    match answer {
        Some(true) => Ok(()),
        _ => Err(CliError::new(
            ErrorKind::Cancelled,
            "cancelled; nothing was changed",
        )),
    }
}

/// Asks for a secret on the terminal without echoing it.
pub fn ask_secret(prompt: &str) -> Result<String, CliError> {
    Password::new()
        .with_prompt(prompt)
        .interact_on(&Term::stderr())
        .map_err(|e| CliError::failure(format!("could not read from the terminal: {e}")))
}
