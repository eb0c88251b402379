//! Work on many tokens at once (`rotate`, `delete`): pick them (ids, or `--all` narrowed by
//! filters), confirm once for all of them, then act with bounded concurrency, a progress bar
//! on a terminal, and a result per token. Ctrl-C stops starting new work; what was already
//! sent finishes and is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use super::{Outcome, check_ids, confirm_tokens};
use crate::api::{Client, ClientToken};
use crate::cli::tokens::{BulkArgs, SelectionArgs};
use crate::commands::Context;
use crate::commands::confirm::{Consent, consent};
use crate::error::{CliError, ErrorKind};

/// The first steps every bulk command takes, in the order that keeps refusals cheap: check
/// the ids, decide consent before any request, then read the key and select. Returns the
/// client, the targets and whether to ask before acting.
pub async fn start(
    ctx: &Context,
    args: &BulkArgs,
    verb: &str,
) -> Result<(Client, Vec<Target>, Consent), CliError> {
    check_ids(&args.ids)?;
    let consent = consent(ctx, args.yes, verb)?;
    let client = ctx.client()?;
    let targets = select(&client, &args.ids, &args.selection).await?;
    Ok((client, targets, consent))
}

/// Asks once about every target, when a terminal is there to ask on; reads the targets named
/// only by id first, so the question can show them.
pub async fn confirm(
    client: &Client,
    consent: Consent,
    targets: &mut [Target],
    verb: &str,
    consequence: &str,
) -> Result<(), CliError> {
    if consent != Consent::Ask {
        return Ok(());
    }
    read_all(client, targets).await?;
    let tokens: Vec<_> = targets.iter().filter_map(|t| t.token.as_ref()).collect();
    confirm_tokens(&tokens, verb, consequence)
}

/// A token to act on: its id, and the token itself when it has been read.
pub struct Target {
    pub id: String,
    pub token: Option<ClientToken>,
}

impl Target {
    pub fn name(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.name().to_string())
    }
}

/// The tokens named by `ids`, or with `--all` every token that passes the filters.
async fn select(
    client: &Client,
    ids: &[String],
    selection: &SelectionArgs,
) -> Result<Vec<Target>, CliError> {
    if !selection.all {
        return Ok(ids
            .iter()
            .map(|id| Target {
                id: id.clone(),
                token: None,
            })
            .collect());
    }
    let needle = selection.name_contains.as_ref().map(|s| s.to_lowercase());
    let wanted = |t: &ClientToken| {
        selection
            .environment
            .is_none_or(|e| t.environment() == e.as_str())
            && (!selection.inactive || !t.is_active())
            && needle
                .as_ref()
                .is_none_or(|n| t.name().to_lowercase().contains(n))
    };
    Ok(client
        .list_all()
        .await?
        .into_iter()
        .filter(|t| wanted(t))
        .map(|t| Target {
            id: t.id().to_string(),
            token: Some(t),
        })
        .collect())
}

/// Reads the targets that have not been read yet, to show them in the confirmation.
async fn read_all(client: &Client, targets: &mut [Target]) -> Result<(), CliError> {
    for target in targets.iter_mut().filter(|t| t.token.is_none()) {
        target.token = Some(client.get(&target.id).await?);
    }
    Ok(())
}

/// Runs `op` on every target, at most `concurrency` at once, and returns the outcomes in the
/// targets' order. After Ctrl-C no new work starts; unstarted targets come back as
/// interrupted.
pub async fn run_each<F>(
    ctx: &Context,
    targets: &[Target],
    concurrency: usize,
    doing: &str,
    op: F,
) -> Vec<Outcome>
where
    F: AsyncFn(&Target, &crate::output::Progress) -> Outcome,
{
    let progress = ctx.printer.progress(targets.len(), doing);
    let stop = Arc::new(AtomicBool::new(false));
    let mut outcomes: Vec<Option<Outcome>> = targets.iter().map(|_| None).collect();
    {
        let progress = &progress;
        let op = &op;
        let work = futures_util::stream::iter(targets.iter().enumerate())
            .map(|(index, target)| {
                let stop = Arc::clone(&stop);
                async move {
                    if stop.load(Ordering::SeqCst) {
                        return (index, None);
                    }
                    (index, Some(op(target, progress).await))
                }
            })
            .buffer_unordered(concurrency.max(1));
        let mut work = std::pin::pin!(work);
        let ctrl_c = tokio::signal::ctrl_c();
        let mut ctrl_c = std::pin::pin!(ctrl_c);
        let mut interrupted = false;
        loop {
            tokio::select! {
                next = work.next() => match next {
                    Some((index, outcome)) => {
                        progress.inc();
                        outcomes[index] = outcome;
                    }
                    None => break,
                },
                _ = &mut ctrl_c, if !interrupted => {
                    interrupted = true;
                    stop.store(true, Ordering::SeqCst);
                    progress.note("Interrupted: finishing the requests already sent, starting no more…");
                }
            }
        }
    }
    progress.finish();
    outcomes
        .into_iter()
        .zip(targets)
        .map(|(outcome, target)| {
            outcome.unwrap_or_else(|| Outcome {
                id: target.id.clone(),
                name: target.name(),
                result: Err(CliError::new(
                    ErrorKind::Interrupted,
                    format!("{}: not started (interrupted)", target.id),
                )),
            })
        })
        .collect()
}
