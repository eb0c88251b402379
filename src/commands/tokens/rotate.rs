//! `rtctl tokens rotate ID… | --all …`: new values; the old ones stop working at once.
//! Each token is rotated exactly once (`crate::api::rotate`), whatever happens to the
//! replies, and a new value is printed only once it is confirmed to be the token's current
//! one, as soon as its token is done (`commands::deliver`).

use serde_json::json;

use super::describe;
use crate::api::Client;
use crate::api::rotate::{RotateError, Rotated};
use crate::cli::tokens::{RotateArgs, RotateFormat};
use crate::commands::Context;
use crate::commands::bulk::{self, Outcome, Target};
use crate::commands::deliver::{Delivery, Shape, sample_outcome};
use crate::error::CliError;
use crate::output::Progress;
use crate::token::TokenView;

pub(crate) async fn run(ctx: &Context, args: RotateArgs) -> Result<(), CliError> {
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
    // A filter that would fail on the output, or drop the values, is refused before acting.
    Delivery::new(ctx, Shape::Lines).check_filter(sample_outcome(), "rotate")?;
    let (client, mut targets, consent) = bulk::start(ctx, &args.bulk, "rotate").await?;
    if targets.is_empty() {
        ctx.printer
            .note("No tokens match the selection; nothing to rotate.");
        return Delivery::new(ctx, Shape::Lines).finish();
    }
    if args.format == RotateFormat::Env && targets.len() != 1 {
        return Err(CliError::usage(format!(
            "--format env prints one variable, but the selection has {} tokens",
            targets.len()
        )));
    }
    if args.bulk.dry_run {
        return bulk::preview(ctx, &client, &mut targets, "rotate").await;
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
    // The design's shapes: one token named by one ID gets the bare value; anything else
    // `ID<TAB>value` lines, so values pair with their tokens whatever the order.
    let shape = match args.format {
        RotateFormat::Env => Shape::Env(args.env_var.clone()),
        RotateFormat::Value if targets.len() == 1 && !args.bulk.selection.all => Shape::Bare,
        RotateFormat::Value => Shape::Lines,
    };
    let delivery = Delivery::new(ctx, shape);
    let client = &client;
    let delivery_ref = &delivery;
    let rotate_one = async |target: &Target, progress: &Progress| {
        let mut outcome = Outcome {
            action: "rotate",
            id: Some(target.id.clone()),
            name: target.name(),
            result: Ok(None),
        };
        match rotate(client, &target.id, progress).await {
            Ok((name, value)) => {
                outcome.name = name.or(outcome.name);
                let element =
                    json!({"id": target.id, "name": outcome.name, "ok": true, "value": value});
                outcome.result = delivery_ref
                    .value(&target.id, &value, element)
                    .map(|()| None);
            }
            Err(error) => {
                outcome.result = Err(error);
                // The array carries failures too; a second failure to print one changes
                // nothing about the exit code.
                let _ = delivery_ref.outcome(outcome.to_json(false));
            }
        }
        outcome
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
    let finished = delivery.finish();
    let reported = bulk::report(ctx, outcomes, "rotated", false);
    finished.and(reported)
}

/// Rotates one token once, confirms the new value is the token's current one, and returns
/// its name (when known) and the value.
async fn rotate(
    client: &Client,
    id: &str,
    progress: &Progress,
) -> Result<(Option<String>, String), CliError> {
    let (token, value, how) = match client.regenerate_exactly_once(id).await {
        Ok(Rotated::Replied(rotated)) => (Some(rotated.token), rotated.value, ""),
        Ok(Rotated::Observed { value, token }) => (
            token,
            value,
            " (the reply was lost, but its value changed: this is the new one)",
        ),
        Err(RotateError::Api(e)) => return Err(e.into()),
        Err(RotateError::LostLegacy(error)) => return Err(CliError::failure(format!(
            "the reply to rotating {id} was lost ({error}); it is a legacy token without a readable value, so rtctl cannot tell whether it was rotated, and did not try again"
        ))
        .with_hint(format!(
            "run rtctl tokens get {id}: an updatedAt of just now means it was rotated (its new value was in the lost reply, so rotate it again to get one); otherwise rotate it again"
        ))),
        Err(RotateError::ProbeFailed { lost, probe }) => return Err(CliError::failure(format!(
            "the reply to rotating {id} was lost ({lost}), and reading its value to find out whether it was rotated failed too: {probe}"
        ))
        .with_hint(format!(
            "run rtctl tokens value {id} and compare it with the value you had before rotating again"
        ))),
    };
    confirm_current(client, id, &value, "rotated").await?;
    let described = token.as_ref().map_or_else(|| id.to_string(), describe);
    progress.note(&format!(
        "Rotated {described}{how}. The previous value no longer works."
    ));
    Ok((token.map(|t| t.name().to_string()), value))
}

/// Checks that `value` is `id`'s current value, just after it was `made` ("rotated",
/// "created"). Another rotation may have happened since (an earlier attempt of this very
/// command, carried out late): then the value in hand is already dead, and printing it as a
/// success would break every site given it.
pub(crate) async fn confirm_current(
    client: &Client,
    id: &str,
    value: &str,
    made: &str,
) -> Result<(), CliError> {
    match client.value(id).await {
        Ok(current) if current == value => Ok(()),
        Ok(_) => Err(CliError::failure(format!(
            "{id} was {made}, but its current value is not the one the reply gave: it was rotated since (perhaps by an earlier attempt, carried out late); the outcome is unknown and no value is printed"
        ))
        .with_hint(format!("rtctl tokens value {id} reads the current value"))),
        Err(e) => Err(CliError::failure(format!(
            "{id} was {made}, but confirming that the new value is current failed ({e}); the value is not printed"
        ))
        .with_hint(format!("rtctl tokens value {id} reads the current value"))),
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
