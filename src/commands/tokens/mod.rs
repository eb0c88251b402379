//! `rtctl tokens …`. Shared here: turning flags into a checked request, and rendering a
//! token as a row or (masked) JSON.

mod conversations;
mod create;
mod delete;
mod get;
mod list;
mod overlap;
mod retire;
mod rotate;
mod same_name;
mod snippet;
mod update;
mod value;

use serde_json::{Map, Value, json};

pub(crate) use create::show_warnings;
pub(crate) use rotate::confirm_current;

use super::Context;
use crate::api::ClientToken;
use crate::cli::fields::{FieldFlags, Given};
use crate::cli::tokens::TokensCommand;
use crate::error::CliError;
use crate::origin::{AllowedOrigin, OriginKind};
use crate::output::{self, Format, Printer};
use crate::token::rules::{self, Conflict, Violation};
use crate::token::{Field, Kind, TokenView, Values};

pub(crate) async fn run(ctx: &Context, command: TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::List(args) => list::run(ctx, args).await,
        TokensCommand::Create(mut args) => {
            read_config_files(&mut args.fields.0, ctx).await?;
            create::run(ctx, args).await
        }
        TokensCommand::Get(args) => get::run(ctx, args).await,
        TokensCommand::Update(mut args) => {
            read_config_files(&mut args.fields.0, ctx).await?;
            update::run(ctx, args).await
        }
        TokensCommand::Delete(args) => delete::run(ctx, args).await,
        TokensCommand::Rotate(args) => rotate::run(ctx, args).await,
        TokensCommand::Retire(args) => retire::run(ctx, args).await,
        TokensCommand::Value(args) => value::run(ctx, args).await,
        TokensCommand::Snippet(args) => snippet::run(ctx, args).await,
        TokensCommand::Conversations(args) => conversations::run(ctx, args).await,
    }
}

/// Checks every id (or whole value) before any request, naming the bad one.
pub(crate) fn check_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Result<(), CliError> {
    super::token_ref::check(ids)
}

/// The flag that sets `field`, for messages: `--rate-limit-per-minute`.
fn flag(field: Field) -> String {
    field
        .spec()
        .flag_name()
        .map_or_else(|| field.json().to_string(), |f| format!("--{f}"))
}

/// A field rule broken by a flag's value, worded for the command line.
pub(crate) fn flag_violation(v: Violation) -> CliError {
    let error = CliError::usage(format!("{} {}", flag(v.field), v.problem.describe()));
    match v.problem.hint() {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// A rule across fields broken by the flags, worded for the command line.
pub(crate) fn flag_conflict(c: Conflict) -> CliError {
    CliError::usage(match c {
        Conflict::NoFlowOrAgent => "a token needs at least one --flow or --agent",
        Conflict::AliasAndVersion => "--target-alias and --target-version-id exclude each other",
        Conflict::VersionNeedsOneAgent => "--target-version-id needs exactly one --agent",
    })
}

/// Turns the field flags into a request, checking everything the server would (origins,
/// ranges, `--config`) so a mistake costs no request and names its flag.
pub(crate) fn request_from(flags: &FieldFlags, ctx: &Context) -> Result<Values, CliError> {
    if let Some(fixed) = flags.fixed.first() {
        return Err(CliError::usage(format!(
            "--{fixed} is fixed at creation and cannot be updated"
        ))
        .with_hint("create a new token with the value you want (rtctl tokens create …)"));
    }
    let mut values = Values::new();
    for (field, given) in &flags.given {
        let value = match (field.spec().kind, given) {
            (Kind::Origins, Given::Many(items)) => {
                json!(normalize_origins(items, &ctx.printer, "--origin")?)
            }
            (Kind::Object, Given::One(source)) => Value::Object(inline_config(source)?),
            (_, Given::One(text)) => Value::String(text.clone()),
            (_, Given::Many(items)) => json!(items),
            (_, Given::Count(n)) => json!(n),
            (_, Given::Toggle(on)) => json!(on),
        };
        let value = rules::check_value(*field, &value).map_err(flag_violation)?;
        values.set(*field, value);
    }
    rules::check_request(&values).map_err(flag_conflict)?;
    Ok(values)
}

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

/// A 404 to a create or an update that named flows: the service answers "Referenced flow
/// not found" without saying which, so name the ones sent.
pub(crate) fn flow_not_found(error: crate::api::ApiError, request: &Values) -> CliError {
    let flows = request.strings(Field::FlowIds);
    let mut error = CliError::from(error);
    error.hint = Some(if flows.is_empty() {
        "a flow the token names does not exist in this account; check the flow ids in the Runtype dashboard".into()
    } else {
        format!(
            "one of the flows sent does not exist in this account ({}); check them in the Runtype dashboard",
            flows.join(", ")
        )
    });
    error
}

/// The most `--config` reads, from a file or stdin.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads every `--config @FILE` and `@-` (stdin) among the flags, before the command builds
/// its request: the reads are awaited (a FIFO or a pipe may keep them waiting, and a signal
/// must still end the run), and each flag then carries the JSON object read, inline.
async fn read_config_files(flags: &mut FieldFlags, ctx: &Context) -> Result<(), CliError> {
    for (field, given) in flags.given.iter_mut() {
        if let (Kind::Object, Given::One(source)) = (field.spec().kind, &*given)
            && let Some(path) = source.strip_prefix('@')
        {
            let config = read_config(path, ctx).await?;
            *given = Given::One(Value::Object(config).to_string());
        }
    }
    Ok(())
}

/// Reads `--config @FILE`, or `@-` for stdin. It must be a JSON object.
async fn read_config(path: &str, ctx: &Context) -> Result<Map<String, Value>, CliError> {
    let (text, origin) = match path {
        "-" => {
            let text = ctx
                .read_stdin(MAX_CONFIG_BYTES)
                .await
                .map_err(|e| CliError::usage(format!("--config @-: could not read stdin: {e}")))?
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "--config @-: stdin holds more than {MAX_CONFIG_BYTES} bytes"
                    ))
                })?;
            (text, "stdin".to_string())
        }
        path => {
            let text = crate::files::read_text(std::path::Path::new(path), MAX_CONFIG_BYTES)
                .await
                .map_err(|e| {
                    CliError::usage(format!("--config @{path}: could not read the file: {e}"))
                })?;
            (text, path.to_string())
        }
    };
    parse_config(&text, &origin)
}

/// `--config` given inline (files and stdin were read by [`read_config_files`]).
fn inline_config(source: &str) -> Result<Map<String, Value>, CliError> {
    if source.starts_with('@') {
        return Err(CliError::failure(format!(
            "--config {source} was not read before the request was made"
        )));
    }
    parse_config(source, "the argument")
}

fn parse_config(text: &str, origin: &str) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(
            CliError::usage(format!("--config: {origin} is JSON but not an object"))
                .with_hint("pass an object, for example --config '{\"welcomeMessage\": \"Hi!\"}'"),
        ),
        Err(e) => Err(CliError::usage(format!(
            "--config: {origin} is not valid JSON (line {} column {}: {e})",
            e.line(),
            e.column()
        ))),
    }
}

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
    catalogue: &crate::commands::surfaces::Catalogue,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_must_be_a_json_object() {
        assert!(parse_config(r#"{"a": 1}"#, "x").is_ok());
        assert!(
            parse_config("[1]", "x")
                .unwrap_err()
                .message
                .contains("not an object")
        );
        assert!(
            parse_config("{", "x")
                .unwrap_err()
                .message
                .contains("not valid JSON")
        );
    }
}
