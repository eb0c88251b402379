//! `rtctl tokens rotate ID… | --all …`: new values; the old ones stop working at once.
//! Each token is rotated exactly once (`crate::api::rotate`), whatever happens to the
//! replies, and a new value is delivered only once it is confirmed to be the token's current
//! one, as soon as its token is done (`ops::deliver`): printed, or handed to a
//! `--to-command` sink. A failed delivery starts no more work.

use serde_json::json;

use super::overlap;
use crate::api::Client;
use crate::api::rotate::{RotateError, Rotated};
use crate::cli::tokens::{RotateArgs, RotateFormat};
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::bulk::{self, Target};
use crate::ops::deliver::{
    Delivery, NewValue, ValueFormat, confirm_current, deliver_each, sample_outcome,
};
use crate::ops::present::describe;
use crate::output::Progress;
use crate::token::TokenView;
use crate::token::rollover::{RolloverView, Successors};

pub(crate) async fn run(ctx: &Context, args: RotateArgs) -> Result<(), CliError> {
    let sink = ctx.sink(args.sink.to_command.as_deref(), args.sink.timeout())?;
    if args.format == RotateFormat::Env {
        ctx.own_format("--format env")?;
        if sink.is_some() {
            return Err(CliError::usage(
                "--to-command hands values to a command: it cannot be combined with --format env",
            ));
        }
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
    Delivery::new(ctx, ValueFormat::Lines, sink.as_ref()).check_filter(sample, "rotate")?;
    let started = bulk::start(ctx, super::bulk_request(&args.bulk, "rotate")?, "rotate").await?;
    let (client, mut targets, consent) = (started.client, started.targets, started.consent);
    if let Some(successors) = &started.successors {
        skip_rolled_over(ctx, successors, &mut targets, args.overlap);
    }
    if targets.is_empty() {
        ctx.printer
            .note("No tokens match the selection; nothing to rotate.");
        return Delivery::new(ctx, ValueFormat::Lines, sink.as_ref()).finish();
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
        RotateFormat::Env => ValueFormat::Env(args.env_var.clone()),
        RotateFormat::Value if args.overlap && sink.is_some() => ValueFormat::Successors,
        RotateFormat::Value if targets.len() == 1 && !args.bulk.selection.all => ValueFormat::Bare,
        RotateFormat::Value if args.overlap => ValueFormat::Successors,
        RotateFormat::Value => ValueFormat::Lines,
    };
    let delivery = Delivery::new(ctx, shape, sink.as_ref());
    let concurrency = usize::from(args.bulk.concurrency);
    if args.overlap {
        let grace = args.grace.unwrap_or(overlap::DEFAULT_GRACE);
        return overlap::run(ctx, &client, &targets, concurrency, delivery, grace).await;
    }
    let client = &client;
    let rotate_one = async |target: &Target, progress: &Progress, delivery: &Delivery<'_>| {
        let (token, value) = rotate(client, &target.id, progress).await?;
        let token = match token.or_else(|| target.token.clone()) {
            Some(token) => Some(token),
            // A sink's environment names the token: read it when nothing else did.
            None if delivery.has_sink() => client.get(&target.id).await.ok(),
            None => None,
        };
        let name = token.as_ref().map(|t| t.name().to_string());
        let environment = token
            .as_ref()
            .map_or("unknown", |t| t.environment())
            .to_string();
        let element = json!({"id": target.id, "name": name, "ok": true, "value": value});
        let new = NewValue {
            id: &target.id,
            name: name.as_deref(),
            environment: &environment,
            previous: None,
            value: &value,
        };
        delivery.value(&new, element).await.map_err(|undelivered| {
            undelivered.error(
                delivery,
                &target.id,
                "; it was rotated, so its old value no longer works",
            )
        })?;
        Ok(name)
    };
    deliver_each(
        ctx,
        &targets,
        concurrency,
        delivery,
        ("rotating", "rotated"),
        rotate_one,
    )
    .await
}

/// An `--all` selection leaves out rollovers already started (design: re-running a scheduled
/// job finishes rollovers and starts none): retiring tokens, successors still rolling over
/// (their predecessor's deadline has not passed), and tokens of an unfinished rollover:
/// pending ones and tagged successors. With `--overlap`, unfinished rollovers are finished
/// instead: a pending token is rolled over (its run's successor adopted), and a retiring one
/// whose successor never got the name is finished. A note names each token left out, with
/// the token it belongs with.
fn skip_rolled_over(
    ctx: &Context,
    successors: &Successors,
    targets: &mut Vec<Target>,
    overlap: bool,
) {
    let now = ctx.now();
    let mut notes: Vec<String> = Vec::new();
    targets.retain(|target| {
        let Some(token) = &target.token else {
            return true;
        };
        let why = if let Some(mark) = token.retiring() {
            if overlap && successors.is_tagged(&mark.successor) {
                return true;
            }
            format!("retiring in favour of {}", mark.successor)
        } else if let Some((predecessor, until)) = successors.rolling_over(token, now) {
            format!(
                "rolling over from {predecessor} until {}",
                crate::token::marks::minute(until)
            )
        } else if let Some(tag) = token.successor_tag() {
            format!(
                "the successor of {} being made (rtctl tokens rotate {} --overlap finishes it)",
                tag.predecessor, tag.predecessor
            )
        } else if let (Some(pending), false) = (token.pending(), overlap) {
            format!("being rolled over (run {})", pending.run)
        } else {
            return true;
        };
        notes.push(format!("{}: {why}", describe(token)));
        false
    });
    if !notes.is_empty() {
        ctx.printer.note(&format!(
            "Skipping {} token{} already rolling over:\n  {}",
            notes.len(),
            if notes.len() == 1 { "" } else { "s" },
            notes.join("\n  ")
        ));
    }
}

/// Rotates one token once, confirms the new value is the token's current one, and returns
/// the token (when known) and the value.
async fn rotate(
    client: &Client,
    id: &str,
    progress: &Progress,
) -> Result<(Option<crate::api::ClientToken>, String), CliError> {
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
            "the reply to rotating {id} was lost ({lost}), and reading its value to find out whether it was rotated failed too: {probe}; the rotation's outcome is unknown and no value is printed"
        ))
        .with_hint(format!(
            "check with rtctl tokens value {id} before rotating again: a new value means the rotation happened"
        ))),
        Err(RotateError::Unknown { lost }) => return Err(CliError::failure(format!(
            "the reply to rotating {id} was lost ({lost}), and its value had not changed when rtctl stopped watching: the rotation's outcome is unknown, it may still be carried out; no value is printed"
        ))
        .with_hint(format!(
            "check with rtctl tokens value {id}: a new value means the rotation happened; rotate again only if it has not"
        ))),
    };
    confirm_current(client, id, &value, "rotated").await?;
    let described = token.as_ref().map_or_else(|| id.to_string(), describe);
    progress.note(&format!(
        "Rotated {described}{how}. The previous value no longer works: update your embed with the new value (rtctl tokens snippet {id} prints it)."
    ));
    Ok((token, value))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
