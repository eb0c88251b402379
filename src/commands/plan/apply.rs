//! `rtctl apply`: make the account match a token file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Change, Plan, after_create, compute, create_request, render, to_json, update_request};
use crate::api::Client;
use crate::cli::plan::ApplyArgs;
use crate::commands::Context;
use crate::commands::bulk::Outcome;
use crate::commands::confirm::{Consent, consent};
use crate::error::CliError;
use crate::manifest::Manifest;
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

pub(crate) async fn run(ctx: &Context, args: ApplyArgs) -> Result<(), CliError> {
    let manifest = Manifest::load(&args.file)?;
    if let Some(path) = &args.values_out
        && path.exists()
    {
        return Err(already_exists(path));
    }
    let client = ctx.client()?;
    let current = client.list_all().await?;
    let plan = compute(&manifest.tokens, &current, args.prune)?;
    render(&ctx.printer, &plan, true)?;
    if plan.is_empty() {
        if ctx.printer.format == Format::Json {
            ctx.printer
                .json(&json!({"plan": to_json(&plan), "applied": [], "values": {}}))?;
        }
        return Ok(());
    }
    refuse_unallowed_replacements(&plan, args.allow_replace)?;
    if consent(ctx, args.yes, "apply the plan")? == Consent::Ask {
        ctx.printer.confirm("", "Apply these changes?")?;
    }
    // The values file is claimed before anything changes: new values must never be lost to a
    // file that turns out to exist or be unwritable.
    let mut values_file = match &args.values_out {
        Some(path) => Some(create_private(path)?),
        None => None,
    };

    let mut applied = Vec::new();
    for change in &plan.changes {
        applied.push(apply_one(&client, change, ctx).await);
    }

    let values: Vec<(String, String)> = applied
        .iter()
        .filter_map(|a| match &a.result {
            Ok(Some(value)) => Some((a.name.clone().unwrap_or_default(), value.clone())),
            _ => None,
        })
        .collect();
    let mut values_written = false;
    if let (Some(file), Some(path)) = (values_file.as_mut(), &args.values_out) {
        let text: String = values.iter().map(|(n, v)| format!("{n}={v}\n")).collect();
        match file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
        {
            Ok(()) => {
                values_written = true;
                ctx.printer.note(&format!(
                    "Wrote {} new value{} to {} (mode 0600).",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    path.display()
                ));
            }
            Err(e) => ctx.printer.warn(&format!(
                "could not write {}: {e}; the new values follow on stdout instead",
                path.display()
            )),
        }
    }
    if ctx.printer.format == Format::Json {
        let mut shown_values = Map::new();
        if !values_written {
            for (name, value) in &values {
                shown_values.insert(name.clone(), Value::String(value.clone()));
            }
        }
        let results: Vec<Value> = applied.iter().map(|a| a.to_json(true)).collect();
        ctx.printer
            .json(&json!({"plan": to_json(&plan), "applied": results, "values": shown_values}))?;
    } else if !values_written {
        for (name, value) in &values {
            ctx.printer.line(&format!("{name}={value}"))?;
        }
    }

    let total = applied.len();
    let failed = applied.iter().filter(|a| a.result.is_err()).count();
    if failed == 0 {
        ctx.printer.note(&format!(
            "Applied {total} change{}.",
            if total == 1 { "" } else { "s" }
        ));
        return Ok(());
    }
    for a in &applied {
        if let Err(e) = &a.result {
            ctx.printer.error(e);
        }
    }
    Err(CliError::failure(format!(
        "{failed} of {total} changes failed; the others were applied"
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

async fn apply_one(client: &Client, change: &Change, ctx: &Context) -> Applied {
    match change {
        Change::Create(desired) => {
            let result = create(client, desired, ctx).await;
            match result {
                Ok(created) => {
                    ctx.printer.note(&format!(
                        "Created \"{}\" ({}).",
                        desired.name,
                        created.token.id()
                    ));
                    let id = Some(created.token.id().to_string());
                    applied("create", &desired.name, id, Ok(Some(created.value)))
                }
                Err(e) => applied("create", &desired.name, None, Err(e.into())),
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
            applied("update", &desired.name, Some(id.clone()), result)
        }
        Change::Replace { id, desired, .. } => {
            // Create first: if that fails, the old token is still there and working.
            let created = match create(client, desired, ctx).await {
                Ok(created) => created,
                Err(e) => {
                    return applied("replace", &desired.name, Some(id.clone()), Err(e.into()));
                }
            };
            let new_id = created.token.id().to_string();
            match client.delete(id).await {
                Ok(_) => {
                    ctx.printer.note(&format!(
                        "Replaced \"{}\": {id} is deleted, {new_id} takes its place.",
                        desired.name
                    ));
                    applied(
                        "replace",
                        &desired.name,
                        Some(new_id),
                        Ok(Some(created.value)),
                    )
                }
                Err(e) => {
                    let error = CliError::failure(format!(
                        "created the replacement {new_id} for \"{}\" but could not delete the old {id}: {e}",
                        desired.name
                    ))
                    .with_hint(format!("delete it with rtctl tokens delete {id} --yes"));
                    // The new value must not be lost: report it with the failure.
                    ctx.printer
                        .line(&format!("{}={}", desired.name, created.value))
                        .ok();
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

/// Creates the token, then sets what a create cannot carry (the API creates tokens active, so
/// an inactive one is deactivated after). A failure there is a warning, not a failure: the
/// token exists, and its value must still be reported.
async fn create(
    client: &Client,
    desired: &crate::manifest::DesiredToken,
    ctx: &Context,
) -> Result<crate::api::types::WithValue, crate::api::ApiError> {
    let created = client.create(&create_request(desired)).await?;
    if let Some(request) = after_create(desired)
        && let Err(e) = client.update(created.token.id(), &request).await
    {
        ctx.printer.warn(&format!(
            "created \"{}\" but could not deactivate it: {e}; run rtctl tokens update {} --deactivate",
            desired.name,
            created.token.id()
        ));
    }
    Ok(created)
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
