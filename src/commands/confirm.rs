//! Consent for destructive actions: ask on a terminal, accept `--yes`, and refuse, before any
//! request, when there is nobody to ask. The asking itself goes through the printer.

use super::Context;
use crate::error::CliError;

/// Whether a destructive action may go ahead without asking, or must ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consent {
    /// `--yes` was given.
    Given,
    /// A terminal is there: ask once the details are known.
    Ask,
}

/// Decides before any request is made. `verb` is the command ("rotate"); without `--yes` and
/// without a terminal the action is refused.
pub(crate) fn consent(ctx: &Context, yes: bool, verb: &str) -> Result<Consent, CliError> {
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
