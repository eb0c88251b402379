//! `rtctl tokens …`. Shared by its subcommands here: turning the field flags into a checked
//! request, and a bulk command's ids or `--all` selection into what it acts on. How a token
//! is shown is [`crate::ops::present`]'s.

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

use super::Context;
use crate::cli::fields::{FieldFlags, Given};
use crate::cli::tokens::{BulkArgs, TokensCommand};
use crate::error::CliError;
use crate::ops::origins::normalize_origins;
use crate::token::rules::{self, Conflict, Violation};
use crate::token::{Field, Kind, Values};

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

/// The tokens a bulk command acts on: the ids, or with `--all` the filters' selection.
/// Filters without `--all` are a usage error that says which way to go (`verb` is the
/// command's).
fn bulk_request<'a>(
    args: &'a BulkArgs,
    verb: &str,
) -> Result<crate::ops::bulk::Request<'a>, CliError> {
    let filters = args.selection.filters.given();
    if !filters.is_empty() && !args.selection.all {
        let hint = match args.ids.is_empty() {
            true => format!(
                "add --all to {verb} every token that matches (see which with rtctl tokens list {filters})"
            ),
            false => format!(
                "to {verb} the ids named, drop {filters}; to select, drop the ids and add --all"
            ),
        };
        return Err(CliError::usage(format!(
            "{filters} selects tokens only with --all, which was not given"
        ))
        .with_hint(hint));
    }
    Ok(crate::ops::bulk::Request {
        ids: &args.ids,
        all: args
            .selection
            .all
            .then(|| args.selection.filters.selection()),
        // A dry run changes nothing, so it needs no consent.
        consented: args.yes || args.dry_run,
    })
}

/// The flag that sets `field`, for messages: `--rate-limit-per-minute`.
fn flag(field: Field) -> String {
    field
        .spec()
        .flag_name()
        .map_or_else(|| field.json().to_string(), |f| format!("--{f}"))
}

/// A field rule broken by a flag's value, worded for the command line.
fn flag_violation(v: Violation) -> CliError {
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
