//! `rtctl tokens rotate ID… | --all …`: new values; the old ones stop working at once.
//! Each token is rotated exactly once (`crate::api::rotate`), whatever happens to the
//! replies, and a new value is printed only once it is confirmed to be the token's current
//! one, as soon as its token is done (`commands::deliver`).

use serde_json::{Value, json};

use super::describe;
use super::overlap;
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
        ctx.own_format("--format env")?;
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
    let sample = if args.overlap {
        overlap::sample()
    } else {
        sample_outcome()
    };
    Delivery::new(ctx, Shape::Lines).check_filter(sample, "rotate")?;
    let (client, mut targets, consent) = bulk::start(ctx, &args.bulk, "rotate").await?;
    if args.bulk.selection.all {
        skip_rolled_over(ctx, &mut targets);
    }
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
    let consequence = if args.overlap {
        "Each gets a successor with the same fields; the old values keep working until you retire them (rtctl tokens retire)."
    } else {
        "The current value stops working immediately: every site using it breaks until it gets the new value."
    };
    bulk::confirm(ctx, &client, consent, &mut targets, "rotate", consequence).await?;
    // The design's shapes: one token named by one ID gets the bare value; anything else
    // `ID<TAB>value` lines (`PREVIOUS<TAB>NEW<TAB>value` for successors), so values pair
    // with their tokens whatever the order.
    let shape = match args.format {
        RotateFormat::Env => Shape::Env(args.env_var.clone()),
        RotateFormat::Value if targets.len() == 1 && !args.bulk.selection.all => Shape::Bare,
        RotateFormat::Value if args.overlap => Shape::Successors,
        RotateFormat::Value => Shape::Lines,
    };
    if args.overlap {
        let grace = args.grace.unwrap_or(overlap::DEFAULT_GRACE);
        return overlap::run(ctx, &client, &targets, &args, shape, grace).await;
    }
    let client = &client;
    let rotate_one = async |target: &Target, progress: &Progress| {
        let (name, value) = rotate(client, &target.id, progress).await?;
        let name = name.or(target.name());
        let element = json!({"id": target.id, "name": name, "ok": true, "value": value});
        Ok(Made {
            id: target.id.clone(),
            name,
            value,
            element,
        })
    };
    let concurrency = usize::from(args.bulk.concurrency);
    let work = ("rotating", "rotated");
    deliver_each(ctx, &targets, concurrency, shape, work, rotate_one).await
}

/// A new value one piece of work made: the token it belongs to and its JSON element.
pub(super) struct Made {
    pub id: String,
    pub name: Option<String>,
    pub value: String,
    pub element: Value,
}

/// Runs `make` on every target, at most `concurrency` at once, delivering each new value as
/// soon as it is made, then reports every outcome; a signal received meanwhile is the exit
/// code even when everything sent was finished. `work` is what is being done and done
/// ("rotating", "rotated").
pub(super) async fn deliver_each<F>(
    ctx: &Context,
    targets: &[Target],
    concurrency: usize,
    shape: Shape,
    (doing, done): (&str, &str),
    make: F,
) -> Result<(), CliError>
where
    F: AsyncFn(&Target, &Progress) -> Result<Made, CliError>,
{
    let delivery = Delivery::new(ctx, shape);
    let delivery_ref = &delivery;
    let make = &make;
    let one = async |target: &Target, progress: &Progress| {
        let mut outcome = Outcome {
            action: "rotate",
            id: Some(target.id.clone()),
            name: target.name(),
            result: Ok(None),
        };
        match make(target, progress).await {
            Ok(made) => {
                outcome.name = made.name;
                outcome.result = delivery_ref
                    .value(&made.id, &made.value, made.element)
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
    let outcomes = bulk::run_each(ctx, targets, concurrency, doing, "rotate", one).await;
    let finished = delivery.finish();
    let reported = bulk::report(ctx, outcomes, done, false);
    finished.and(reported)?;
    // Everything sent was finished, but the run was asked to stop: say so in the exit code.
    match ctx.signals.received() {
        Some(signal) => Err(CliError::interrupted(signal).reported()),
        None => Ok(()),
    }
}

/// An `--all` selection leaves out tokens already rolled over (retiring) and the successors
/// of a rollover still being finished: rotating them would start a chain.
fn skip_rolled_over(ctx: &Context, targets: &mut Vec<Target>) {
    let tokens: Vec<crate::api::ClientToken> =
        targets.iter().filter_map(|t| t.token.clone()).collect();
    let successors = overlap::unmarked_successors(&tokens);
    let before = targets.len();
    targets.retain(|t| {
        let retiring = t.token.as_ref().is_some_and(|t| t.retiring().is_some());
        !retiring && !successors.contains(&t.id)
    });
    let skipped = before - targets.len();
    if skipped > 0 {
        ctx.printer.note(&format!(
            "Skipping {skipped} token{} already rolled over (retiring, or a successor being finished).",
            if skipped == 1 { "" } else { "s" }
        ));
    }
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
