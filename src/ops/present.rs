//! How a token is shown: its JSON with the value masked, a one-line description for notes
//! and prompts, its status, the cells of the tokens table, and the API's warnings. Every
//! command that shows a token shows it through here.

use serde_json::Value;

use crate::api::ClientToken;
use crate::api::types::Warning;
use crate::output::{self, Format, Printer};
use crate::session::Context;
use crate::token::{Field, TokenView};

/// The token as JSON, exactly as the server sent it but with the value masked unless
/// `reveal`.
pub(crate) fn token_json(token: &ClientToken, reveal: bool) -> Value {
    let mut raw = token.raw.clone();
    let key = Field::TokenValue.json();
    if !reveal && raw.get(key).is_some_and(is_a_value) {
        raw.insert(key.into(), Value::String(masked_value(token)));
    }
    Value::Object(raw)
}

/// Whether a `tokenValue` holds anything to mask: whatever shape it came in (a string, or an
/// array, an object, a number from a broken server, any of which may carry the value), all
/// but `null` is masked.
fn is_a_value(value: &Value) -> bool {
    !value.is_null()
}

/// A token as `list --json` writes it, serialised straight from the object received (no copy
/// of it per token): every field as the server sent it, the value masked unless revealed.
pub(crate) struct ListedToken<'a> {
    pub token: &'a ClientToken,
    pub reveal: bool,
}

impl serde::Serialize for ListedToken<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let key = Field::TokenValue.json();
        let raw = &self.token.raw;
        let mut map = serializer.serialize_map(Some(raw.len()))?;
        for (name, value) in raw {
            if name == key && !self.reveal && is_a_value(value) {
                map.serialize_entry(name, &masked_value(self.token))?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// The token's value as shown where it is not revealed: `ct_live_****a1b2`.
pub(crate) fn masked_value(token: &ClientToken) -> String {
    output::mask(token.text(Field::TokenPrefix), token.text(Field::TokenHint))
}

/// A short description for notes and prompts: `ct_… "Name" (live)`, or `ct_… (unnamed,
/// live)` for a token without a name.
pub(crate) fn describe(token: &ClientToken) -> String {
    match token.text(Field::Name).filter(|n| !n.is_empty()) {
        Some(name) => format!("{} \"{name}\" ({})", token.id(), token.environment()),
        None => format!("{} (unnamed, {})", token.id(), token.environment()),
    }
}

/// The name to show beside an id: `"Name"`, or `(unnamed)`.
pub(crate) fn quoted_name(token: &ClientToken) -> String {
    match token.text(Field::Name).filter(|n| !n.is_empty()) {
        Some(name) => format!("\"{name}\""),
        None => "(unnamed)".into(),
    }
}

/// A time for a table cell: relative for people, ISO-8601 (or empty) for pipes.
pub(crate) fn time_cell(ctx: &Context, iso: Option<&str>, missing: &str) -> String {
    let printer = &ctx.printer;
    match iso {
        None => {
            if printer.relative_times() {
                missing.to_string()
            } else {
                String::new()
            }
        }
        Some(t) if printer.relative_times() => output::relative_time(t, ctx.now()),
        Some(t) => t.to_string(),
    }
}

/// `active`, `retiring` (active, and rolled over to a successor), `pending` (a successor
/// whose value is not delivered yet) or `inactive`; `unknown` when the server sent something
/// that is neither (a token is never shown active on a guess).
pub(crate) fn status(token: &ClientToken) -> &'static str {
    use crate::token::rollover::RolloverView;
    match token.raw.get(Field::IsActive.json()) {
        Some(Value::Bool(true)) | None | Some(Value::Null) if token.retiring().is_some() => {
            "retiring"
        }
        Some(Value::Bool(true)) | None | Some(Value::Null) if token.successor_tag().is_some() => {
            "pending"
        }
        Some(Value::Bool(true)) | None | Some(Value::Null) => "active",
        Some(Value::Bool(false)) => "inactive",
        Some(_) => "unknown",
    }
}

/// [`status`], or `rolling over` for an active token that a retiring token names as its
/// successor, while that token's deadline has not passed (judged at the command's "now").
pub(crate) fn status_in(
    token: &ClientToken,
    successors: &crate::token::rollover::Successors,
    now: jiff::Timestamp,
) -> &'static str {
    match status(token) {
        "active" if successors.rolling_over(token, now).is_some() => "rolling over",
        other => other,
    }
}

/// `-o wide` adds the surface each token belongs to.
pub(crate) const LIST_HEADERS_WIDE: &[&str] = &[
    "id",
    "name",
    "env",
    "status",
    "origins",
    "last used",
    "created",
    "surface",
];

/// The columns of `tokens list`: the wide ones but the surface.
pub(crate) const LIST_HEADERS: &[&str] = match LIST_HEADERS_WIDE.split_last() {
    Some((_, rest)) => rest,
    None => &[],
};

/// The surface a token belongs to, as the dashboard names it (its id when the account's
/// surfaces do not include it); empty for a token of no surface.
pub(crate) fn surface_cell(
    catalogue: &crate::ops::surfaces::Catalogue,
    token: &ClientToken,
) -> String {
    match token.text(Field::ProductSurfaceId) {
        None => String::new(),
        Some(id) => catalogue.label(id).unwrap_or_else(|| id.to_string()),
    }
}

/// On a narrow terminal origins lose their schemes, CREATED goes, then LAST USED; then name
/// and origins are cut.
/// Ids, environments and states stay whole.
pub(crate) const LIST_FIT: crate::output::Fit = crate::output::Fit {
    drop: &[6, 5],
    cut: &[1, 4],
    origins: &[4],
};

/// A token as a row of `tokens list`; `successors` says which tokens are rolling over.
pub(crate) fn token_row(
    ctx: &Context,
    token: &ClientToken,
    successors: &crate::token::rollover::Successors,
) -> Vec<String> {
    // One origin a line in a table (no URL broken mid-way); commas in a pipe (one line a row).
    let separator = if ctx.printer.format == Format::Table {
        "\n"
    } else {
        ","
    };
    vec![
        token.id().to_string(),
        token.name().to_string(),
        token.environment().to_string(),
        status_in(token, successors, ctx.now()).to_string(),
        token.origins().join(separator),
        time_cell(ctx, token.text(Field::LastUsedAt), "never"),
        time_cell(ctx, token.text(Field::CreatedAt), ""),
    ]
}

/// The server's warnings, on stderr.
pub(crate) fn show_warnings(printer: &Printer, warnings: &[Warning]) {
    for warning in warnings {
        let message = warning.message.as_deref().unwrap_or("(no message)");
        match warning.kind.as_deref() {
            Some(kind) => printer.warn(&format!("{kind}: {message}")),
            None => printer.warn(message),
        }
    }
}
