//! `rtctl tokens rotate ID… | --all …`: new values; the old ones stop working at once.
//!
//! Each token is rotated exactly once. Regenerating is not idempotent, so a lost reply is
//! never simply retried: rtctl reads the value before rotating, and after a lost reply reads
//! it again. Changed: the rotation happened, and the new value is the answer. Unchanged: it
//! did not, and trying again is safe. Unknowable (a legacy token has no readable value): rtctl
//! says so and stops, rather than risk rotating twice.

use super::bulk::{self, Target};
use super::{Outcome, describe, finish_bulk};
use crate::api::{ApiError, Client};
use crate::cli::tokens::{RotateArgs, RotateFormat};
use crate::commands::Context;
use crate::error::CliError;
use crate::output::{Format, Progress};

pub async fn run(ctx: &Context, args: RotateArgs) -> Result<(), CliError> {
    if args.format == RotateFormat::Env {
        if args.bulk.ids.len() > 1 {
            return Err(CliError::usage(
                "--format env prints one variable: give exactly one ID",
            ));
        }
        if !is_env_name(&args.env_var) {
            return Err(CliError::usage(format!(
                "--env-var '{}' is not a valid variable name (letters, digits and _, not starting with a digit)",
                args.env_var
            )));
        }
    }
    let (client, mut targets, consent) = bulk::start(ctx, &args.bulk, "rotate").await?;
    if targets.is_empty() {
        ctx.printer
            .note("No tokens match the selection; nothing to rotate.");
        return finish_bulk(ctx, Vec::new(), "rotated");
    }
    if args.format == RotateFormat::Env && targets.len() != 1 {
        return Err(CliError::usage(format!(
            "--format env prints one variable, but the selection has {} tokens",
            targets.len()
        )));
    }
    bulk::confirm(
        &client,
        consent,
        &mut targets,
        "rotate",
        "The current value stops working immediately: every site using it breaks until it gets the new value.",
    )
    .await?;
    let client = &client;
    let rotate_one = async |target: &Target, progress: &Progress| {
        let result = rotate_exactly_once(client, &target.id, progress).await;
        match result {
            Ok((name, value)) => Outcome {
                id: target.id.clone(),
                name: name.or_else(|| target.name()),
                result: Ok(Some(value)),
            },
            Err(error) => Outcome {
                id: target.id.clone(),
                name: target.name(),
                result: Err(error),
            },
        }
    };
    let outcomes = bulk::run_each(
        ctx,
        &targets,
        usize::from(args.bulk.concurrency),
        "rotating",
        rotate_one,
    )
    .await;
    let printer = &ctx.printer;
    if printer.format != Format::Json {
        for outcome in &outcomes {
            if let Ok(Some(value)) = &outcome.result {
                match args.format {
                    RotateFormat::Value => printer.line(value)?,
                    RotateFormat::Env => printer.line(&format!("{}={value}", args.env_var))?,
                }
            }
        }
    }
    finish_bulk(ctx, outcomes, "rotated")
}

/// Rotates one token once, and returns its name (when known) and new value.
async fn rotate_exactly_once(
    client: &Client,
    id: &str,
    progress: &Progress,
) -> Result<(Option<String>, String), CliError> {
    // The value before, to tell afterwards whether a rotation whose reply was lost happened.
    // A legacy token has none (400): rotating it is fine, but a lost reply is then final.
    let before = match client.value(id).await {
        Ok(value) => Some(value),
        Err(ApiError::Status { status: 400, .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut waited = std::time::Duration::ZERO;
    let mut retry = 0;
    loop {
        let error = match client.regenerate(id).await {
            Ok(rotated) => {
                progress.note(&format!(
                    "Rotated {}. The previous value no longer works.",
                    describe(&rotated.token)
                ));
                return Ok((rotated.token.fields.name.clone(), rotated.value));
            }
            Err(e) => e,
        };
        let lost_reply = error.outcome_unknown();
        let refused_for_now = !error.may_have_reached() || error.status() == Some(429);
        if lost_reply {
            let Some(old) = &before else {
                return Err(CliError::failure(format!(
                    "the reply to rotating {id} was lost ({error}); it is a legacy token without a readable value, so rtctl cannot tell whether it was rotated, and did not try again"
                ))
                .with_hint(format!(
                    "run rtctl tokens get {id}: an updatedAt of just now means it was rotated (its new value was in the lost reply, so rotate it again to get one); otherwise rotate it again"
                )));
            };
            let now = client.value(id).await.map_err(|e| {
                CliError::failure(format!(
                    "the reply to rotating {id} was lost ({error}), and reading its value to find out whether it was rotated failed too: {e}"
                ))
                .with_hint(format!(
                    "run rtctl tokens value {id} and compare it with the value you had before rotating again"
                ))
            })?;
            if &now != old {
                let name = client.get(id).await.ok().map(|t| t.name().to_string());
                progress.note(&format!(
                    "Rotated {id} (the reply was lost, but its value changed: this is the new one). The previous value no longer works."
                ));
                return Ok((name, now));
            }
            // Unchanged: the rotation did not happen, so trying again is safe.
        } else if !refused_for_now {
            return Err(error.into());
        }
        if retry >= client.retries()
            || !client
                .pause_before_retry(&format!("rotating {id}"), &error, retry, &mut waited)
                .await
        {
            return Err(error.into());
        }
        retry += 1;
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
