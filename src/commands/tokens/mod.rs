//! `rtctl tokens …`. Shared here: turning flags into a validated request, and rendering a
//! token as a row, a record or (masked) JSON.

mod bulk;
mod conversations;
mod create;
mod delete;
mod get;
mod list;
mod rotate;
mod update;
mod value;

use std::io::Read;

use serde_json::{Map, Value};

pub use create::show_warnings;

use super::Context;
use crate::api::{ClientToken, TokenRequest, check_id};
use crate::cli::tokens::{PinMode, TokenFieldArgs, TokensCommand};
use crate::error::{CliError, ErrorKind};
use crate::origin::{AllowedOrigin, OriginKind};
use crate::output::{self, Printer};

pub async fn run(ctx: &Context, command: TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::List(args) => list::run(ctx, args).await,
        TokensCommand::Create(args) => create::run(ctx, args).await,
        TokensCommand::Get(args) => get::run(ctx, args).await,
        TokensCommand::Update(args) => update::run(ctx, args).await,
        TokensCommand::Delete(args) => delete::run(ctx, args).await,
        TokensCommand::Rotate(args) => rotate::run(ctx, args).await,
        TokensCommand::Value(args) => value::run(ctx, args).await,
        TokensCommand::Conversations(args) => conversations::run(ctx, args).await,
    }
}

/// Checks every id before any request, naming the bad one.
pub fn check_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Result<(), CliError> {
    for id in ids {
        check_id(id).map_err(|e| CliError::usage(format!("invalid token id: {e}")))?;
    }
    Ok(())
}

/// Turns the shared field flags into a request, validating everything the server would
/// (origins, `--config`) so a mistake costs no request and names its flag.
pub fn request_from(fields: &TokenFieldArgs, printer: &Printer) -> Result<TokenRequest, CliError> {
    let origins = if fields.origins.is_empty() {
        None
    } else {
        Some(normalize_origins(&fields.origins, printer, "--origin")?)
    };
    let nonempty = |flag: &str, items: &[String]| -> Result<Option<Vec<String>>, CliError> {
        if let Some(blank) = items.iter().find(|s| s.trim().is_empty()) {
            return Err(CliError::usage(format!(
                "--{flag} cannot be empty (got {blank:?})"
            )));
        }
        Ok((!items.is_empty()).then(|| items.to_vec()))
    };
    if let Some(name) = &fields.name {
        let length = name.trim().chars().count();
        if length == 0 || length > 200 {
            return Err(CliError::usage(
                "--name must be 1-200 characters (not counting surrounding spaces)",
            ));
        }
    }
    Ok(TokenRequest {
        name: fields.name.as_ref().map(|n| n.trim().to_string()),
        allowed_origins: origins,
        flow_ids: nonempty("flow", &fields.flows)?,
        agent_ids: nonempty("agent", &fields.agents)?,
        default_flow_id: fields.default_flow.clone(),
        config: fields.config.as_deref().map(read_config).transpose()?,
        pin_to_version: fields.pin_to_version.map(|p| match p {
            PinMode::Latest => "latest".to_string(),
            PinMode::Published => "published".to_string(),
        }),
        rate_limit_per_minute: fields.rate_limit_per_minute,
        rate_limit_per_hour: fields.rate_limit_per_hour,
        max_messages_per_session: fields.max_messages_per_session,
        session_idle_timeout_minutes: fields.session_idle_timeout_minutes,
        target_alias: fields.target_alias.clone(),
        target_version_id: fields.target_version_id.clone(),
        ..TokenRequest::default()
    })
}

/// Validates and normalises `--origin` values: scheme and host lowercased, a trailing slash
/// dropped; a bare host gets a note recommending the explicit form.
/// `label` names the input in errors (`--origin`, `origin`).
pub fn normalize_origins(
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

/// Reads `--config`: inline JSON, `@FILE`, or `@-` for stdin. It must be a JSON object.
fn read_config(source: &str) -> Result<Map<String, Value>, CliError> {
    let (text, origin) = match source.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::usage(format!("--config @-: could not read stdin: {e}")))?;
            (text, "stdin".to_string())
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("--config @{path}: could not read the file: {e}"))
            })?;
            (text, path.to_string())
        }
        None => (source.to_string(), "the argument".to_string()),
    };
    match serde_json::from_str::<Value>(&text) {
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
pub fn token_json(token: &ClientToken, reveal: bool) -> Value {
    let mut raw = token.raw.clone();
    if !reveal && raw.get("tokenValue").is_some_and(Value::is_string) {
        let masked = output::mask(
            token.fields.token_prefix.as_deref(),
            token.fields.token_hint.as_deref(),
        );
        raw.insert("tokenValue".into(), Value::String(masked));
    }
    Value::Object(raw)
}

/// A short description for notes and prompts: `ct_… "Name" (live)`.
pub fn describe(token: &ClientToken) -> String {
    format!(
        "{} \"{}\" ({})",
        token.id(),
        token.name(),
        token.environment()
    )
}

/// A time for a table cell: relative for people, ISO-8601 (or empty) for pipes.
pub fn time_cell(printer: &Printer, iso: Option<&str>, missing: &str) -> String {
    match iso {
        None => {
            if printer.relative_times() {
                missing.to_string()
            } else {
                String::new()
            }
        }
        Some(t) if printer.relative_times() => output::relative_time(t, jiff::Timestamp::now()),
        Some(t) => t.to_string(),
    }
}

pub const LIST_HEADERS: &[&str] = &[
    "id",
    "name",
    "env",
    "status",
    "origins",
    "last used",
    "created",
];
/// Name and origins may wrap on a narrow terminal; ids, states and times stay whole.
pub const LIST_WRAP: &[usize] = &[1, 4];

/// A token as a row of `tokens list`.
pub fn token_row(printer: &Printer, token: &ClientToken) -> Vec<String> {
    // One origin a line in a table (no URL broken mid-way); commas in a pipe (one line a row).
    let separator = if printer.format == crate::output::Format::Table {
        "\n"
    } else {
        ","
    };
    vec![
        token.id().to_string(),
        token.name().to_string(),
        token.environment().to_string(),
        if token.is_active() {
            "active"
        } else {
            "inactive"
        }
        .to_string(),
        token.origins().join(separator),
        time_cell(printer, token.fields.last_used_at.as_deref(), "never"),
        time_cell(printer, token.fields.created_at.as_deref(), ""),
    ]
}

/// The outcome of a destructive action on one of several tokens.
pub struct Outcome {
    pub id: String,
    pub name: Option<String>,
    pub result: Result<Option<String>, CliError>,
}

impl Outcome {
    /// `{id, name, ok, value | error}`, the shape of bulk results in `--json`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert(
            "name".into(),
            self.name.clone().map_or(Value::Null, Value::String),
        );
        map.insert("ok".into(), Value::Bool(self.result.is_ok()));
        match &self.result {
            Ok(Some(value)) => {
                map.insert("value".into(), Value::String(value.clone()));
            }
            Ok(None) => {}
            Err(e) => {
                map.insert("error".into(), Value::String(e.message.clone()));
            }
        }
        Value::Object(map)
    }
}

/// Asks on the terminal about `tokens`, listing each: name, environment, state, origins and
/// conversations, then the consequence. Run only after [`super::confirm::consent`] said `Ask`.
pub fn confirm_tokens(
    tokens: &[&ClientToken],
    action: &str,
    consequence: &str,
) -> Result<(), CliError> {
    let mut details = format!(
        "About to {action} {} client token{}:",
        tokens.len(),
        if tokens.len() == 1 { "" } else { "s" }
    );
    for t in tokens {
        let conversations = t
            .fields
            .conversation_count
            .map_or("unknown number of".to_string(), |c| c.to_string());
        details.push_str(&format!(
            "\n  {} \"{}\"  {} token, {}\n    origins: {}\n    {conversations} conversation{}",
            t.id(),
            t.name(),
            t.environment(),
            if t.is_active() { "active" } else { "inactive" },
            if t.origins().is_empty() {
                "(none)".to_string()
            } else {
                t.origins().join(", ")
            },
            if t.fields.conversation_count == Some(1) {
                ""
            } else {
                "s"
            },
        ));
    }
    details.push_str(&format!("\n{consequence}"));
    let question = format!("{}{}?", action[..1].to_uppercase(), &action[1..]);
    super::confirm::ask(&details, &question)
}

/// Reports per-token outcomes: the JSON array with `--json`, then the failures on stderr.
/// One token: its own error (and exit code). Several: exit 1 if any failed.
pub fn finish_bulk(ctx: &Context, outcomes: Vec<Outcome>, verb: &str) -> Result<(), CliError> {
    let printer = &ctx.printer;
    if printer.format == crate::output::Format::Json {
        printer.json(&Value::Array(
            outcomes.iter().map(Outcome::to_json).collect(),
        ))?;
    }
    let total = outcomes.len();
    let (not_started, failures): (Vec<CliError>, Vec<CliError>) = outcomes
        .into_iter()
        .filter_map(|o| o.result.err())
        .partition(|e| e.kind == ErrorKind::Interrupted);
    let mut failures = failures;
    if !not_started.is_empty() {
        for e in &failures {
            printer.error(e);
        }
        let done = total - not_started.len() - failures.len();
        return Err(CliError::new(
            ErrorKind::Interrupted,
            format!(
                "interrupted: {done} of {total} tokens were {verb}, {} failed, {} were not started",
                failures.len(),
                not_started.len()
            ),
        ));
    }
    match failures.len() {
        0 => Ok(()),
        1 if total == 1 => Err(failures.remove(0)),
        failed => {
            for e in &failures {
                printer.error(e);
            }
            Err(CliError::failure(format!(
                "{failed} of {total} tokens could not be {verb}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_must_be_a_json_object() {
        assert!(read_config(r#"{"a": 1}"#).is_ok());
        assert!(
            read_config("[1]")
                .unwrap_err()
                .message
                .contains("not an object")
        );
        assert!(
            read_config("{")
                .unwrap_err()
                .message
                .contains("not valid JSON")
        );
        assert!(
            read_config("@/nonexistent/file.json")
                .unwrap_err()
                .message
                .contains("could not read")
        );
    }
}
