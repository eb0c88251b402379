//! Consent for destructive actions: ask on a terminal, accept `--yes`, and refuse, before any
//! request, when there is nobody to ask. The asking itself goes through the printer.

use crate::error::CliError;
use crate::session::Context;

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

/// What a change does to a live token that its owner must agree to, whatever the route
/// (`origins add/remove`, `tokens update`, `tokens create`): the one consent rule. `apply`
/// confirms its whole plan, which lists these among its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Risk {
    /// `*` (any website) or `native` (no Origin header) newly admitted.
    Widens(String),
    /// Origins taken away: sites there stop working at once.
    Removes(Vec<String>),
    /// Deactivated: every site using it stops.
    Deactivates,
}

impl Risk {
    fn detail(&self) -> String {
        match self {
            Risk::Widens(entry) if entry == "*" => "  * lets any website use this token (the Runtype guide: testing only, never in production).".into(),
            Risk::Widens(_) => "  native admits any request without an Origin header: effectively no origin protection.".into(),
            Risk::Removes(origins) => format!("  Sites at {} stop working at once.", origins.join(", ")),
            Risk::Deactivates => "  Deactivating it stops every site that uses it at once.".into(),
        }
    }

    /// What is being done, for the refusal: "allow * on a live token".
    fn action(&self) -> String {
        match self {
            Risk::Widens(entry) => format!("allow {entry} on a live token"),
            Risk::Removes(_) => "remove origins from a live token".into(),
            Risk::Deactivates => "deactivate a live token".into(),
        }
    }
}

/// The risks of a change to a token in `environment`: from `before` origins (empty for a new
/// token) to `after` (`None`: unchanged), and from active to `deactivate`. Entries compare
/// in their normalised spelling.
pub(crate) fn risks(
    environment: &str,
    before: &[String],
    after: Option<&[String]>,
    deactivate: bool,
) -> Vec<Risk> {
    use crate::origin::AllowedOrigin;
    if environment != "live" {
        return Vec::new();
    }
    let normal =
        |e: &String| AllowedOrigin::normalize(e).map_or_else(|_| e.clone(), |n| n.to_string());
    let before_set: Vec<String> = before.iter().map(normal).collect();
    let mut found = Vec::new();
    if let Some(after) = after {
        let after_set: Vec<String> = after.iter().map(normal).collect();
        for entry in &after_set {
            let wide = matches!(
                AllowedOrigin::parse(entry),
                Ok(AllowedOrigin::Any | AllowedOrigin::Native)
            );
            if wide && !before_set.contains(entry) && !found.contains(&Risk::Widens(entry.clone()))
            {
                found.push(Risk::Widens(entry.clone()));
            }
        }
        let removed: Vec<String> = before_set
            .iter()
            .filter(|e| !after_set.contains(e))
            .cloned()
            .collect();
        if !removed.is_empty() {
            found.push(Risk::Removes(removed));
        }
    }
    if deactivate {
        found.push(Risk::Deactivates);
    }
    found
}

/// Asks for consent to `risks` of a change to `subject` (`ct_… "Name" (live)`): nothing to
/// ask when there are none or `--yes` was given; a question on a terminal; otherwise a
/// refusal naming what needs `--yes`.
pub(crate) async fn consent_to(
    ctx: &Context,
    subject: &str,
    risks: &[Risk],
    yes: bool,
) -> Result<(), CliError> {
    if risks.is_empty() || yes {
        return Ok(());
    }
    let mut details = format!("{subject} is a live token.");
    for risk in risks {
        details.push('\n');
        details.push_str(&risk.detail());
    }
    let question = match risks {
        [Risk::Widens(entry)] => format!("Allow {entry}?"),
        [Risk::Removes(_)] => "Remove these origins?".to_string(),
        [Risk::Deactivates] => "Deactivate it?".to_string(),
        _ => "Make these changes?".to_string(),
    };
    if ctx.can_prompt {
        return ctx.printer.confirm(&details, &question).await;
    }
    let actions: Vec<String> = risks.iter().map(Risk::action).collect();
    Err(CliError::usage(format!(
        "refusing to {} without confirmation: there is no terminal to ask on (or --no-input was given)",
        actions.join(" and ")
    ))
    .with_hint("pass --yes to go ahead without a prompt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_live_tokens_widened_narrowed_or_deactivated_are_risky() {
        let before = owned(&["https://a.example.com", "https://b.example.com"]);
        let after = owned(&["https://a.example.com", "*", "native"]);
        assert_eq!(
            risks("live", &before, Some(&after), true),
            vec![
                Risk::Widens("*".into()),
                Risk::Widens("native".into()),
                Risk::Removes(owned(&["https://b.example.com"])),
                Risk::Deactivates,
            ]
        );
        assert!(risks("test", &before, Some(&after), true).is_empty());
        // Respelling an entry is no removal; keeping * is no widening.
        let kept = owned(&["https://A.example.com/", "https://b.example.com", "*"]);
        let with_star = owned(&["https://a.example.com", "https://b.example.com", "*"]);
        assert!(risks("live", &with_star, Some(&kept), false).is_empty());
        assert!(risks("live", &before, None, false).is_empty());
    }
}
