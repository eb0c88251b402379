//! `rtctl apply`: make the account match a token file.
//!
//! New values (creates, replacements) are delivered the moment each is confirmed current: a
//! `ID<TAB>NAME<TAB>value` line on stdout, or a `NAME=value` line appended (and synced) to the
//! `--values-out` file, whose keys are the names in upper snake case. A signal lets the change
//! in flight finish, delivers its value, and starts no other; a values file that received
//! nothing is removed, so a rerun can claim it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{Change, Plan, after_create, create_request, render, to_json, update_request};
use crate::api::Client;
use crate::cli::plan::ApplyArgs;
use crate::commands::Context;
use crate::commands::bulk::Outcome;
use crate::commands::confirm::{Consent, consent};
use crate::commands::deliver::env_value;
use crate::commands::tokens::confirm_current;
use crate::error::{CliError, ErrorKind};
use crate::manifest::{DesiredToken, Manifest};
use crate::output::Format;
use crate::token::TokenView;

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
enum Sink {
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
}

impl Sink {
    /// Delivers one new value, or says why it could not be.
    fn deliver(
        &mut self,
        ctx: &Context,
        id: &str,
        name: &str,
        value: &str,
    ) -> Result<(), CliError> {
        let undeliverable = |why: &str| crate::commands::deliver::undeliverable(id, why);
        if value.chars().any(char::is_control) {
            return Err(undeliverable(
                "the server sent a value with control characters, which rtctl does not print",
            ));
        }
        match self {
            Sink::Stdout => ctx
                .printer
                .line(&format!(
                    "{id}\t{}\t{value}",
                    name.replace(['\t', '\n'], " ")
                ))
                .map_err(|e| match e.kind {
                    ErrorKind::PipeClosed => undeliverable("stdout was closed"),
                    _ => undeliverable(&e.message),
                }),
            Sink::Json(values) => {
                values.insert(name.to_string(), Value::String(value.to_string()));
                Ok(())
            }
            Sink::File {
                path,
                file,
                written,
            } => {
                let Some(quoted) = env_value(value) else {
                    return Err(undeliverable(
                        "the value holds a quote, which no env file can carry safely",
                    ));
                };
                file.write_all(format!("{}={quoted}\n", env_key(name)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| {
                        undeliverable(&format!("could not write {}: {e}", path.display()))
                    })?;
                *written += 1;
                Ok(())
            }
        }
    }
}

pub(crate) async fn run(ctx: &Context, args: ApplyArgs) -> Result<(), CliError> {
    let mut manifest = Manifest::load(&args.file)?;
    if let Some(path) = &args.values_out
        && path.exists()
    {
        return Err(already_exists(path));
    }
    let client = ctx.client()?;
    let plan = super::plan_for(ctx, &client, &mut manifest, &args.file, args.prune).await?;
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
    // The values file is claimed before anything changes: new values must never be lost to a
    // file that turns out to exist or be unwritable.
    let mut sink = match &args.values_out {
        Some(path) => Sink::File {
            path: path.clone(),
            file: create_private(path)?,
            written: 0,
        },
        None if ctx.printer.format == Format::Json => Sink::Json(Map::new()),
        None => Sink::Stdout,
    };

    let mut applied = Vec::new();
    let mut not_started = 0;
    for change in &plan.changes {
        if ctx.signals.received().is_some() || ctx.printer.stdout_closed() {
            not_started += 1;
            continue;
        }
        let _hold = ctx.signals.hold();
        applied.push(apply_one(&client, change, ctx, &mut sink).await);
    }

    let total = plan.changes.len();
    if let Sink::File { path, written, .. } = &sink {
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
    if let Sink::Json(values) = &sink {
        let results: Vec<Value> = applied.iter().map(|a| a.to_json(true)).collect();
        ctx.printer
            .json(&json!({"plan": to_json(&plan), "applied": results, "values": values}))?;
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
    Err(CliError::failure(format!(
        "{} of {total} changes failed or were not started; the others were applied",
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

/// A token name as an env-file key: upper snake case (`Docs widget` → `DOCS_WIDGET`).
fn env_key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_uppercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_matches('_').to_string();
    match key.chars().next() {
        None => "TOKEN".into(),
        Some(c) if c.is_ascii_digit() => format!("_{key}"),
        Some(_) => key,
    }
}

/// Two new values whose names make one env key would overwrite each other in the file:
/// refused before anything changes.
fn refuse_colliding_keys(plan: &Plan) -> Result<(), CliError> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for change in &plan.changes {
        let desired = match change {
            Change::Create(desired) | Change::Replace { desired, .. } => desired,
            _ => continue,
        };
        let key = env_key(&desired.name);
        if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(CliError::usage(format!(
                "\"{other}\" and \"{}\" would both be {key} in --values-out",
                desired.name
            ))
            .with_hint("rename one of them in the token file"));
        }
        seen.push((key, &desired.name));
    }
    Ok(())
}

async fn apply_one(client: &Client, change: &Change, ctx: &Context, sink: &mut Sink) -> Applied {
    match change {
        Change::Create(desired) => match create(client, desired, ctx).await {
            Ok((id, value)) => {
                ctx.printer
                    .note(&format!("Created \"{}\" ({id}).", desired.name));
                let delivered = sink.deliver(ctx, &id, &desired.name, &value);
                applied("create", &desired.name, Some(id), delivered.map(|()| None))
            }
            Err(e) => applied("create", &desired.name, None, Err(e)),
        },
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
            applied("update", &desired.name, Some(id.clone()), result)
        }
        Change::Replace { id, desired, .. } => {
            // Create first: if that fails, the old token is still there and working.
            let (new_id, value) = match create(client, desired, ctx).await {
                Ok(created) => created,
                Err(e) => return applied("replace", &desired.name, Some(id.clone()), Err(e)),
            };
            // The new value is delivered before the old token goes.
            let delivered = sink.deliver(ctx, &new_id, &desired.name, &value);
            if let Err(e) = delivered {
                let e = e.with_hint(format!(
                    "rtctl tokens value {new_id} reads it back; the old {id} was left in place"
                ));
                return applied("replace", &desired.name, Some(new_id), Err(e));
            }
            match client.delete(id).await {
                Ok(_) => {
                    ctx.printer.note(&format!(
                        "Replaced \"{}\": {id} is deleted, {new_id} takes its place.",
                        desired.name
                    ));
                    applied("replace", &desired.name, Some(new_id), Ok(None))
                }
                Err(e) => {
                    let error = CliError::failure(format!(
                        "created the replacement {new_id} for \"{}\" but could not delete the old {id}: {e}",
                        desired.name
                    ))
                    .with_hint(format!("delete it with rtctl tokens delete {id} --yes"));
                    applied("replace", &desired.name, Some(new_id), Err(error))
                }
            }
        }
        Change::Delete { id, name, .. } => {
            let result = client.delete(id).await;
            if result.is_ok() {
                ctx.printer.note(&format!("Deleted \"{name}\" ({id})."));
            }
            let result = result.map(|_| None).map_err(CliError::from);
            applied("delete", name, Some(id.clone()), result)
        }
    }
}

/// Creates the token, sets what a create cannot carry (the API creates tokens active, so
/// an inactive one is deactivated after), and confirms the value is current. A failure to
/// deactivate is a warning: the token exists, and its value must still be delivered.
async fn create(
    client: &Client,
    desired: &DesiredToken,
    ctx: &Context,
) -> Result<(String, String), CliError> {
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
    Ok((id, created.value))
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
        assert_eq!(env_key("  a--b  "), "A_B");
        assert_eq!(env_key("3rd site"), "_3RD_SITE");
        assert_eq!(env_key("ü"), "TOKEN");
    }
}
