//! `rtctl tokens rotate ID… | --all …`: new values; the old ones stop working at once.
//! Each token is rotated exactly once (`crate::api::rotate`), whatever happens to the replies.

use super::describe;
use crate::api::Client;
use crate::api::rotate::{RotateError, Rotated};
use crate::cli::tokens::{RotateArgs, RotateFormat};
use crate::commands::Context;
use crate::commands::bulk::{self, Outcome, Target};
use crate::error::CliError;
use crate::output::{Format, Progress};
use crate::token::TokenView;

pub(super) async fn run(ctx: &Context, args: RotateArgs) -> Result<(), CliError> {
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
        return bulk::report(ctx, Vec::new(), "rotated", true);
    }
    if args.format == RotateFormat::Env && targets.len() != 1 {
        return Err(CliError::usage(format!(
            "--format env prints one variable, but the selection has {} tokens",
            targets.len()
        )));
    }
    bulk::confirm(
        ctx,
        &client,
        consent,
        &mut targets,
        "rotate",
        "The current value stops working immediately: every site using it breaks until it gets the new value.",
    )
    .await?;
    let client = &client;
    let rotate_one = async |target: &Target, progress: &Progress| {
        let result = rotate(client, &target.id, progress).await;
        match result {
            Ok((name, value)) => Outcome {
                action: "rotate",
                id: Some(target.id.clone()),
                name: name.or_else(|| target.name()),
                result: Ok(Some(value)),
            },
            Err(error) => Outcome {
                action: "rotate",
                id: Some(target.id.clone()),
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
        "rotate",
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
    bulk::report(ctx, outcomes, "rotated", true)
}

/// Rotates one token once, and returns its name (when known) and new value.
async fn rotate(
    client: &Client,
    id: &str,
    progress: &Progress,
) -> Result<(Option<String>, String), CliError> {
    match client.regenerate_exactly_once(id).await {
        Ok(Rotated::Replied(rotated)) => {
            progress.note(&format!(
                "Rotated {}. The previous value no longer works.",
                describe(&rotated.token)
            ));
            Ok((Some(rotated.token.name().to_string()), rotated.value))
        }
        Ok(Rotated::Observed { value, token }) => {
            progress.note(&format!(
                "Rotated {id} (the reply was lost, but its value changed: this is the new one). The previous value no longer works."
            ));
            Ok((token.map(|t| t.name().to_string()), value))
        }
        Err(RotateError::Api(e)) => Err(e.into()),
        Err(RotateError::LostLegacy(error)) => Err(CliError::failure(format!(
            "the reply to rotating {id} was lost ({error}); it is a legacy token without a readable value, so rtctl cannot tell whether it was rotated, and did not try again"
        ))
        .with_hint(format!(
            "run rtctl tokens get {id}: an updatedAt of just now means it was rotated (its new value was in the lost reply, so rotate it again to get one); otherwise rotate it again"
        ))),
        Err(RotateError::ProbeFailed { lost, probe }) => Err(CliError::failure(format!(
            "the reply to rotating {id} was lost ({lost}), and reading its value to find out whether it was rotated failed too: {probe}"
        ))
        .with_hint(format!(
            "run rtctl tokens value {id} and compare it with the value you had before rotating again"
        ))),
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
