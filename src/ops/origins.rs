//! Editing a token's allowed origins as a user types them: each checked and normalised, and,
//! where the service refuses a partial edit, the one command that makes it.

use crate::error::CliError;
use crate::origin::{AllowedOrigin, OriginKind};
use crate::output::Printer;

/// Validates and normalises `--origin` values: scheme and host lowercased, a trailing slash
/// dropped; a bare host gets a note recommending the explicit form.
/// `label` names the input in errors (`--origin`, `origin`).
pub(crate) fn normalize_origins(
    inputs: &[String],
    printer: &Printer,
    label: &str,
) -> Result<Vec<String>, CliError> {
    let mut out: Vec<String> = Vec::new();
    for input in inputs {
        let origin = AllowedOrigin::normalize(input).map_err(|e| {
            let error = CliError::usage(format!("invalid {label} '{input}': {e}"));
            match e.hint() {
                Some(h) => error.with_hint(h),
                None => {
                    error.with_hint("use scheme://host[:port], https://*.example.com, * or native")
                }
            }
        })?;
        if origin.kind() == OriginKind::BareHost {
            printer.note(&format!(
                "note: '{origin}' is a bare host, admitting http and https; prefer the explicit https://{} form",
                origin.to_string().trim_start_matches("*.")
            ));
        }
        let text = origin.to_string();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    Ok(out)
}

/// The normalised spelling of a stored entry, for comparisons; an entry rtctl cannot parse
/// (stored by an older dashboard) compares as written.
pub(crate) fn normal_form(entry: &str) -> String {
    AllowedOrigin::normalize(entry).map_or_else(|_| entry.to_string(), |e| e.to_string())
}

/// An entry in single quotes, for a shell.
pub(crate) fn quoted(entry: &str) -> String {
    format!("'{}'", entry.replace('\'', "'\\''"))
}

/// The one command that makes an edit of token `id`'s origins (`add` these, `remove` these
/// as the list writes them) when `origins add` or `origins remove` cannot: the service
/// checks the whole list on every update, and refuses to keep an IPv4 address spelt
/// otherwise than browsers send it (`https://0x7f.1`) or a wildcard over a public suffix
/// (`https://*.vercel.app`), so while the list holds one no `origins add` goes through (nor
/// an `origins remove` that leaves one). The edit is then one `tokens update` with the whole
/// list: such addresses respelt as browsers send them, a wildcard over one dropped (it
/// matches nothing in any spelling), and a wildcard over a public suffix dropped, which the
/// command says. `None` when the usual commands work.
pub(crate) fn whole_list_edit(
    id: &str,
    current: &[String],
    add: &[String],
    remove: &[String],
) -> Option<String> {
    let removed = |entry: &str| remove.iter().any(|r| normal_form(r) == normal_form(entry));
    let refused = |entry: &AllowedOrigin| {
        entry.ipv4_spelling().is_some() || entry.wildcard_public_suffix().is_some()
    };
    let parsed: Vec<(&String, Option<AllowedOrigin>)> = current
        .iter()
        .map(|entry| (entry, AllowedOrigin::parse(entry).ok()))
        .collect();
    let blocking = parsed.iter().any(|(text, entry)| {
        entry.as_ref().is_some_and(refused) && (!add.is_empty() || !removed(text))
    });
    if !blocking {
        return None;
    }
    let mut list: Vec<String> = Vec::new();
    let mut dropped: Vec<&str> = Vec::new();
    let mut keep = |entry: String| {
        if !list.iter().any(|e| normal_form(e) == normal_form(&entry)) {
            list.push(entry);
        }
    };
    for (text, entry) in &parsed {
        match entry {
            _ if removed(text) => {}
            Some(entry) if entry.wildcard_public_suffix().is_some() => dropped.push(text),
            Some(entry) if refused(entry) => {
                if let Some(kept) = entry.as_kept() {
                    keep(kept.to_string());
                }
            }
            _ => keep(text.to_string()),
        }
    }
    for entry in add {
        keep(entry.clone());
    }
    if list.is_empty() {
        return Some(format!(
            "none of its origins can ever be kept: give it the sites that use it in one update (rtctl tokens update {id} with an --origin for each), or delete it (rtctl tokens delete {id})"
        ));
    }
    let flags: Vec<String> = list
        .iter()
        .map(|o| format!("--origin {}", quoted(o)))
        .collect();
    let mut command = format!("rtctl tokens update {id} {}", flags.join(" "));
    if !dropped.is_empty() {
        let dropped: Vec<String> = dropped.iter().map(|d| quoted(d)).collect();
        command.push_str(&format!(
            " (this drops {}: the service keeps no list holding a wildcard over a public suffix)",
            dropped.join(", ")
        ));
    }
    Some(command)
}
