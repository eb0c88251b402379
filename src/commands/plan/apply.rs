//! `rtctl apply`: make the account match a token file.
//!
//! New values (creates, replacements) are delivered the moment each is confirmed current, and
//! each before the next change is made: an `ID<TAB>NAME<TAB>value` line on stdout (the name as
//! in the token file, escaped as in TSV), a `KEY=value` line appended (and synced) to the
//! `--values-out` file (KEY: the name upper-cased, every run of characters other than `A-Z0-9`
//! turned into `_`), or handed to a `--to-command` sink, which then decides: a sink that
//! refuses a value deletes that new token (a replacement's original stays) and stops the
//! apply. A signal lets the change in flight finish, delivers its value, and starts no other;
//! a values file that received nothing is removed, so a rerun can claim it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::plan_for;
use super::{render, to_json};
use crate::api::{Client, ClientToken};
use crate::cli::plan::ApplyArgs;
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};
use crate::ops::bulk::Outcome;
use crate::ops::confirm::{Consent, consent};
use crate::ops::deliver::confirm_current;
use crate::ops::deliver::{Undelivered, env_value, undeliverable};
use crate::ops::plan::{Change, Plan, after_create, create_request, update_request};
use crate::output::Format;
use crate::sink::{Handoff, Sink};
use crate::token::TokenView;
use crate::token_file::{FileToken, TokenFile};

/// What happened to one change: a bulk outcome, whose name is always known.
type Applied = Outcome;

fn applied(
    action: &'static str,
    name: &str,
    id: Option<String>,
    result: Result<Option<String>, CliError>,
) -> Applied {
    Outcome {
        action,
        id,
        name: Some(name.to_string()),
        result,
    }
}

/// Where new values go.
enum NewValues<'s> {
    /// `ID<TAB>NAME<TAB>value` lines on stdout.
    Stdout,
    /// Collected into the one JSON document printed at the end.
    Json(Map<String, Value>),
    /// `KEY=value` lines in a new private file.
    File {
        path: PathBuf,
        file: File,
        written: usize,
    },
    /// Handed to `--to-command`; stdout lists the ids (unless the output is JSON).
    Command { sink: &'s Sink, json: bool },
}

impl NewValues<'_> {
    /// Delivers one new value, or says why it did not reach anyone.
    async fn deliver(
        &mut self,
        ctx: &Context,
        token: &ClientToken,
        name: &str,
        previous: Option<&str>,
        value: &str,
    ) -> Result<(), Undelivered> {
        let id = token.id();
        let unprinted = |why: &str| Undelivered::Unprinted(undeliverable(id, why));
        if value.chars().any(char::is_control) {
            return Err(unprinted(
                "the server sent a value with control characters, which rtctl does not pass on",
            ));
        }
        match self {
            NewValues::Stdout => ctx
                .printer
                .line(&format!("{id}\t{}\t{value}", crate::output::tsv_cell(name)))
                .map_err(|e| match e.kind {
                    ErrorKind::PipeClosed => unprinted("stdout was closed"),
                    _ => unprinted(&e.message),
                }),
            NewValues::Json(values) => {
                values.insert(name.to_string(), Value::String(value.to_string()));
                Ok(())
            }
            NewValues::File {
                path,
                file,
                written,
            } => {
                let Some(quoted) = env_value(value) else {
                    return Err(unprinted(
                        "the value holds a quote, which no env file can carry safely",
                    ));
                };
                file.write_all(format!("{}={quoted}\n", env_key(name)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| unprinted(&format!("could not write {}: {e}", path.display())))?;
                *written += 1;
                Ok(())
            }
            NewValues::Command { sink, json } => {
                let handoff = Handoff {
                    id,
                    name: Some(name),
                    environment: token.environment(),
                    previous,
                    value,
                };
                match sink.deliver(&handoff, &ctx.printer, &ctx.signals).await {
                    crate::sink::Outcome::Delivered => {
                        if !*json {
                            // Delivered is delivered: a closed stdout changes nothing.
                            let _ = ctx.printer.line(id);
                        }
                        Ok(())
                    }
                    crate::sink::Outcome::Refused(why) => Err(Undelivered::Refused { why }),
                    crate::sink::Outcome::Unknown { why, signal } => {
                        Err(Undelivered::Unknown { why, signal })
                    }
                }
            }
        }
    }

    /// The command that delivers `id`'s value again.
    fn redeliver(&self, id: &str) -> String {
        match self {
            NewValues::Command { sink, .. } => format!("rtctl tokens value {id} {}", sink.flag()),
            _ => format!("rtctl tokens value {id}"),
        }
    }
}

pub(crate) async fn run(ctx: &Context, args: ApplyArgs) -> Result<(), CliError> {
    let mut token_file = TokenFile::read(&args.file).await?;
    let sink = ctx.sink(args.sink.to_command.as_deref(), args.sink.timeout())?;
    if let Some(path) = &args.values_out
        && path.exists()
    {
        return Err(already_exists(path));
    }
    let client = ctx.client()?;
    let plan = plan_for(ctx, &client, &mut token_file, &args.file, args.prune).await?;
    render(&ctx.printer, &plan, true)?;
    if plan.is_empty() {
        if ctx.printer.format == Format::Json {
            ctx.printer
                .json(&json!({"plan": to_json(&plan), "applied": [], "values": {}}))?;
        }
        return Ok(());
    }
    refuse_unallowed_replacements(&plan, args.allow_replace)?;
    if args.values_out.is_some() {
        refuse_colliding_keys(&plan)?;
    }
    if consent(ctx, args.yes, "apply the plan")? == Consent::Ask {
        ctx.printer.confirm("", "Apply these changes?").await?;
    }
    let json = ctx.printer.format == Format::Json;
    // The values file is claimed before anything changes: new values must never be lost to a
    // file that turns out to exist or be unwritable.
    let mut values = match (&args.values_out, &sink) {
        (Some(path), _) => NewValues::File {
            path: path.clone(),
            file: create_private(path)?,
            written: 0,
        },
        (None, Some(sink)) => NewValues::Command { sink, json },
        (None, None) if json => NewValues::Json(Map::new()),
        (None, None) => NewValues::Stdout,
    };

    let mut applied = Vec::new();
    let mut not_started = 0;
    let mut halted = false;
    for change in &plan.changes {
        if halted || ctx.signals.received().is_some() || ctx.printer.stdout_closed() {
            not_started += 1;
            continue;
        }
        let _hold = ctx.signals.hold();
        let (outcome, stop) = apply_one(&client, change, ctx, &mut values).await;
        halted = stop;
        applied.push(outcome);
    }

    let total = plan.changes.len();
    if let NewValues::File { path, written, .. } = &values {
        if *written == 0 {
            // Nothing went into it: leave no empty file for a rerun to trip over.
            let _ = std::fs::remove_file(path);
        } else {
            ctx.printer.note(&format!(
                "Wrote {written} new value{} to {} (mode 0600).",
                if *written == 1 { "" } else { "s" },
                path.display()
            ));
        }
    }
    if json {
        let delivered = matches!(values, NewValues::Command { .. });
        let results: Vec<Value> = applied
            .iter()
            .map(|a| {
                let mut result = a.to_json(true);
                if delivered && a.result.is_ok() && matches!(a.action, "create" | "replace") {
                    result["delivered"] = Value::Bool(true);
                }
                result
            })
            .collect();
        let printed = match &values {
            NewValues::Json(printed) => printed.clone(),
            _ => Map::new(),
        };
        ctx.printer
            .json(&json!({"plan": to_json(&plan), "applied": results, "values": printed}))?;
    }

    let failed = applied.iter().filter(|a| a.result.is_err()).count();
    for a in &applied {
        if let Err(e) = &a.result {
            ctx.printer.error(e);
        }
    }
    if let Some(signal) = ctx.signals.received().filter(|_| not_started > 0) {
        return Err(CliError::new(
            ErrorKind::Interrupted(signal),
            format!(
                "interrupted: {} of {total} changes were applied, {failed} failed, {not_started} were not started",
                applied.len() - failed
            ),
        ));
    }
    if failed == 0 && not_started == 0 {
        ctx.printer.note(&format!(
            "Applied {total} change{}.",
            if total == 1 { "" } else { "s" }
        ));
        return Ok(());
    }
    let stopped = if halted && not_started > 0 {
        format!("; {not_started} were not started after a value was not delivered")
    } else {
        String::new()
    };
    Err(CliError::failure(format!(
        "{} of {total} changes failed or were not started; the others were applied{stopped}",
        failed + not_started
    ))
    .with_hint(format!(
        "run rtctl plan -f {} to see what is left",
        args.file.display()
    )))
}

fn refuse_unallowed_replacements(plan: &Plan, allowed: bool) -> Result<(), CliError> {
    let replaced: Vec<String> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Replace { desired, .. } => Some(format!("\"{}\"", desired.name)),
            _ => None,
        })
        .collect();
    if replaced.is_empty() || allowed {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "the plan replaces {}: the token is deleted and recreated, and sites using its value stop working",
        replaced.join(", ")
    ))
    .with_hint("pass --allow-replace to go ahead, or change the file back"))
}

/// A token name as an env-file key (design, "apply's values"): upper-cased, every run of
/// characters other than `A-Z0-9` turned into one `_` (`CI made x` → `CI_MADE_X`).
fn env_key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            key.push(c);
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key
}

/// Two new values whose names make one env key would overwrite each other in the file:
/// refused before anything changes.
fn refuse_colliding_keys(plan: &Plan) -> Result<(), CliError> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for change in &plan.changes {
        let desired = match change {
            Change::Create(desired) | Change::Replace { desired, .. } => desired,
            _ => continue,
        };
        let key = env_key(&desired.name);
        if let Some(other) = seen.get(&key) {
            return Err(CliError::usage(format!(
                "\"{other}\" and \"{}\" would both be {key} in --values-out",
                desired.name
            ))
            .with_hint("rename one of them in the token file"));
        }
        seen.insert(key, &desired.name);
    }
    Ok(())
}

/// Applies one change; the flag says whether to stop: a new value did not reach its user.
async fn apply_one(
    client: &Client,
    change: &Change,
    ctx: &Context,
    values: &mut NewValues<'_>,
) -> (Applied, bool) {
    match change {
        Change::Create(desired) => {
            let (token, value) = match create(client, desired, ctx).await {
                Ok(created) => created,
                Err(e) => return (applied("create", &desired.name, None, Err(e)), false),
            };
            let id = token.id().to_string();
            ctx.printer
                .note(&format!("Created \"{}\" ({id}).", desired.name));
            match values
                .deliver(ctx, &token, &desired.name, None, &value)
                .await
            {
                Ok(()) => (applied("create", &desired.name, Some(id), Ok(None)), false),
                Err(undelivered) => {
                    let error =
                        undelivered_error(client, values, &id, None, &desired.name, undelivered)
                            .await;
                    (applied("create", &desired.name, Some(id), Err(error)), true)
                }
            }
        }
        Change::Update {
            id,
            desired,
            changes,
        } => {
            let result = client.update(id, &update_request(changes)).await;
            if result.is_ok() {
                ctx.printer
                    .note(&format!("Updated \"{}\" ({id}).", desired.name));
            }
            let result = result.map(|_| None).map_err(CliError::from);
            (
                applied("update", &desired.name, Some(id.clone()), result),
                false,
            )
        }
        Change::Replace { id, desired, .. } => {
            // Create first: if that fails, the old token is still there and working.
            let (token, value) = match create(client, desired, ctx).await {
                Ok(created) => created,
                Err(e) => {
                    return (
                        applied("replace", &desired.name, Some(id.clone()), Err(e)),
                        false,
                    );
                }
            };
            let new_id = token.id().to_string();
            // The new value is delivered before the old token goes.
            if let Err(undelivered) = values
                .deliver(ctx, &token, &desired.name, Some(id), &value)
                .await
            {
                let error = undelivered_error(
                    client,
                    values,
                    &new_id,
                    Some(id),
                    &desired.name,
                    undelivered,
                )
                .await;
                return (
                    applied("replace", &desired.name, Some(new_id), Err(error)),
                    true,
                );
            }
            match client.delete(id).await {
                Ok(_) => {
                    ctx.printer.note(&format!(
                        "Replaced \"{}\": {id} is deleted, {new_id} takes its place.",
                        desired.name
                    ));
                    (
                        applied("replace", &desired.name, Some(new_id), Ok(None)),
                        false,
                    )
                }
                Err(e) => {
                    let error = CliError::failure(format!(
                        "created the replacement {new_id} for \"{}\" but could not delete the old {id}: {e}",
                        desired.name
                    ))
                    .with_hint(format!("delete it with rtctl tokens delete {id} --yes"));
                    (
                        applied("replace", &desired.name, Some(new_id), Err(error)),
                        false,
                    )
                }
            }
        }
        Change::Delete { id, name, .. } => {
            let result = client.delete(id).await;
            if result.is_ok() {
                ctx.printer.note(&format!("Deleted \"{name}\" ({id})."));
            }
            let result = result.map(|_| None).map_err(CliError::from);
            (applied("delete", name, Some(id.clone()), result), false)
        }
    }
}

/// The error for a new token `id` whose value did not reach its user (`replacing`: the token
/// it was to replace, which stays). A sink that refused it: the new token is deleted, as
/// nobody has its value. Otherwise it stays, and the error says how to deliver it again.
async fn undelivered_error(
    client: &Client,
    values: &NewValues<'_>,
    id: &str,
    replacing: Option<&str>,
    name: &str,
    undelivered: Undelivered,
) -> CliError {
    let kept = replacing.map_or(String::new(), |old| {
        format!("; the old {old} was left in place")
    });
    let why = undelivered.why().to_string();
    match undelivered {
        Undelivered::Refused { .. } => match client.delete(id).await {
            Ok(_) => CliError::failure(format!(
                "\"{name}\": the value of the new token {id} was not delivered ({why}); rtctl deleted {id}{kept}"
            ))
            .with_hint("fix what the command needs, then run the same apply again"),
            Err(e) => CliError::failure(format!(
                "\"{name}\": the value of the new token {id} was not delivered ({why}), and deleting {id} failed ({e}): the account changed{kept}"
            ))
            .with_hint(format!(
                "delete it with rtctl tokens delete {id} --yes, or deliver its value with {}",
                values.redeliver(id)
            )),
        },
        Undelivered::Unknown { signal, .. } => CliError::new(
            signal.map_or(ErrorKind::Failure, ErrorKind::Interrupted),
            format!(
                "\"{name}\": whether the value of the new token {id} was delivered is unknown ({why}); nothing was undone{kept}"
            ),
        )
        .with_hint(format!(
            "check where it should be stored; deliver it again with {}",
            values.redeliver(id)
        )),
        Undelivered::Unprinted(error) => {
            let hint = format!(
                "rtctl tokens value {id} reads it back{}",
                replacing.map_or(String::new(), |old| format!("; the old {old} was left in place"))
            );
            error.with_hint(hint)
        }
    }
}

/// Creates the token, sets what a create cannot carry (the API creates tokens active, so
/// an inactive one is deactivated after), and confirms the value is current. A failure to
/// deactivate is a warning: the token exists, and its value must still be delivered.
async fn create(
    client: &Client,
    desired: &FileToken,
    ctx: &Context,
) -> Result<(ClientToken, String), CliError> {
    let created = client
        .create(&create_request(desired))
        .await
        .map_err(CliError::from)?;
    let id = created.token.id().to_string();
    if let Some(request) = after_create(desired)
        && let Err(e) = client.update(&id, &request).await
    {
        ctx.printer.warn(&format!(
            "created \"{}\" but could not deactivate it: {e}; run rtctl tokens update {id} --deactivate",
            desired.name
        ));
    }
    confirm_current(client, &id, &created.value, "created").await?;
    Ok((created.token, created.value))
}

/// Creates `path` new, readable only by the user.
fn create_private(path: &Path) -> Result<File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            already_exists(path)
        } else {
            CliError::usage(format!("cannot use --values-out {}: {e}", path.display()))
        }
    })
}

fn already_exists(path: &Path) -> CliError {
    CliError::usage(format!(
        "cannot use --values-out {}: it already exists, and new values are only ever written to a new file",
        path.display()
    ))
    .with_hint("choose another name, or move the old file away")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_env_keys() {
        assert_eq!(env_key("Docs widget"), "DOCS_WIDGET");
        assert_eq!(env_key("CI made x"), "CI_MADE_X");
        assert_eq!(env_key("  a--b  "), "_A_B_");
        assert_eq!(env_key("3rd site"), "3RD_SITE");
        assert_eq!(env_key("shop.example.com (EU)"), "SHOP_EXAMPLE_COM_EU_");
        assert_eq!(env_key("ü"), "_");
    }
}
