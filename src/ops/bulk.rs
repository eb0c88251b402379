//! Work on many things at once, and what came of each: pick tokens (ids, or `--all`
//! narrowed by filters), confirm once for all of them, act with bounded concurrency and a
//! progress bar on a terminal, then report every outcome the same way (`rotate`, `delete`
//! and `apply`). A first signal stops new work from starting; what was already sent finishes
//! and is reported.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::confirm::{Consent, consent};
use super::token_ref::check_ids;
use crate::api::{Client, ClientToken};
use crate::error::{CliError, ErrorKind};
use crate::output::{Format, Progress};
use crate::session::Context;
use crate::token::rollover::Successors;
use crate::token::selection::Selection;
use crate::token::{Field, TokenView};

/// How [`run_each`] reports work a signal kept from starting.
const NOT_STARTED: &str = "not started (interrupted)";

/// What came of one piece of work.
pub(crate) struct Outcome {
    /// What was done: `rotate`, `create`, `update`…
    pub action: &'static str,
    /// The token's id, when there is one.
    pub id: Option<String>,
    pub name: Option<String>,
    /// A new value, when the work made one.
    pub result: Result<Option<String>, CliError>,
}

impl Outcome {
    /// `{id, name, ok, value | error}` (and `action` where asked), the shape of bulk results
    /// in `--json`.
    pub(crate) fn to_json(&self, with_action: bool) -> Value {
        let mut map = Map::new();
        if with_action {
            map.insert("action".into(), Value::String(self.action.into()));
        }
        map.insert(
            "id".into(),
            self.id.clone().map_or(Value::Null, Value::String),
        );
        map.insert(
            "name".into(),
            self.name.clone().map_or(Value::Null, Value::String),
        );
        map.insert("ok".into(), Value::Bool(self.result.is_ok()));
        match &self.result {
            Ok(Some(value)) if !with_action => {
                map.insert("value".into(), Value::String(value.clone()));
            }
            Ok(_) => {}
            Err(e) => {
                map.insert("error".into(), Value::String(e.message.clone()));
                if !e.details.is_empty() {
                    map.insert("details".into(), Value::from(e.details.clone()));
                }
            }
        }
        Value::Object(map)
    }
}

/// Reports outcomes: the JSON array with `--json` (unless `json` is false: the caller prints
/// its own document), then the failures on stderr. One outcome: its own error (and exit
/// code). Several: exit 1 if any failed. `verb` is the past participle ("rotated").
pub(crate) fn report(
    ctx: &Context,
    outcomes: Vec<Outcome>,
    verb: &str,
    json: bool,
) -> Result<(), CliError> {
    let printer = &ctx.printer;
    if json && printer.format == Format::Json {
        printer.json(&Value::Array(
            outcomes.iter().map(|o| o.to_json(false)).collect(),
        ))?;
    }
    let total = outcomes.len();
    let (not_started, mut failures): (Vec<CliError>, Vec<CliError>) = outcomes
        .into_iter()
        .filter_map(|o| {
            let id = o.id;
            o.result.err().map(|e| match id {
                // Among several, each error names its token.
                Some(id) if total > 1 && !e.message.starts_with(&id) => e.about(&id),
                _ => e,
            })
        })
        .partition(|e| {
            matches!(e.kind, ErrorKind::Interrupted(_)) && e.message.ends_with(NOT_STARTED)
        });
    if let Some(first) = not_started.first() {
        for e in &failures {
            printer.error(e);
        }
        let done = total - not_started.len() - failures.len();
        let were = |n: usize| if n == 1 { "was" } else { "were" };
        return Err(CliError::new(
            first.kind,
            format!(
                "interrupted: {done} of {total} tokens {} {verb}, {} failed, {} {} not started",
                were(done),
                failures.len(),
                not_started.len(),
                were(not_started.len())
            ),
        ));
    }
    match failures.len() {
        0 => Ok(()),
        1 if total == 1 => Err(failures.remove(0)),
        failed => {
            for e in &failures {
                printer.error(e);
            }
            Err(CliError::failure(format!(
                "{failed} of {total} tokens could not be {verb}"
            )))
        }
    }
}

/// A token to act on: its id, and the token itself when it has been read.
pub(crate) struct Target {
    pub id: String,
    pub token: Option<ClientToken>,
}

impl Target {
    pub(crate) fn name(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.name().to_string())
    }
}

/// What [`start`] found: whom to act on, and how.
pub(crate) struct Started {
    pub client: Client,
    pub targets: Vec<Target>,
    /// Whether to ask before acting.
    pub consent: Consent,
    /// With `--all`: the successors the account's retiring tokens name, read from the same
    /// whole-account list the selection came from.
    pub successors: Option<Successors>,
}

/// What a bulk command acts on: the ids named, or with `--all` every token `all` admits.
pub(crate) struct Request<'a> {
    pub ids: &'a [String],
    /// `Some` with `--all`: the selection every token acted on passes.
    pub all: Option<Selection>,
    /// Consent given (`--yes`), or nothing to consent to (`--dry-run`).
    pub consented: bool,
}

/// The first steps every bulk command takes, in the order that keeps refusals cheap: check
/// the ids, decide consent before any request, then read the key and select.
pub(crate) async fn start(
    ctx: &Context,
    request: Request<'_>,
    verb: &str,
) -> Result<Started, CliError> {
    check_ids(request.ids)?;
    let consent = consent(ctx, request.consented, verb)?;
    let client = ctx.client()?;
    // Named twice (by id, or once by value), acted on once: a second rotation would kill the
    // first one's value.
    let mut ids: Vec<String> = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    for id in super::token_ref::resolve(ctx, &client, request.ids).await? {
        if named.insert(id.clone()) {
            ids.push(id);
        } else {
            ctx.printer.note(&format!(
                "{id} is named more than once; it is {verb}d once."
            ));
        }
    }
    let (targets, successors) = select(&client, &ids, request.all.as_ref()).await?;
    Ok(Started {
        client,
        targets,
        consent,
        successors,
    })
}

/// Asks once about every target, when a terminal is there to ask on; reads the targets named
/// only by id first, so the question can show them.
pub(crate) async fn confirm(
    ctx: &Context,
    client: &Client,
    consent: Consent,
    targets: &mut [Target],
    verb: &str,
    consequence: &str,
) -> Result<(), CliError> {
    if consent != Consent::Ask {
        return Ok(());
    }
    read_unread(client, targets).await?;
    let tokens: Vec<_> = targets.iter().filter_map(|t| t.token.as_ref()).collect();
    confirm_tokens(ctx, &tokens, verb, consequence).await
}

/// Asks on the terminal about `tokens`, listing each: name, environment, state, origins and
/// conversations, then the consequence.
async fn confirm_tokens(
    ctx: &Context,
    tokens: &[&ClientToken],
    action: &str,
    consequence: &str,
) -> Result<(), CliError> {
    let mut details = describe_selection(tokens, &format!("About to {action}"));
    details.push_str(&format!("\n{consequence}"));
    let question = format!(
        "{}{} {} token{}?",
        action[..1].to_uppercase(),
        &action[1..],
        tokens.len(),
        if tokens.len() == 1 { "" } else { "s" }
    );
    ctx.printer.confirm(&details, &question).await
}

/// `LEAD N client tokens:` and a line for each token.
fn describe_selection(tokens: &[&ClientToken], lead: &str) -> String {
    let mut details = format!(
        "{lead} {} client token{}:",
        tokens.len(),
        if tokens.len() == 1 { "" } else { "s" }
    );
    for t in tokens {
        let count = t.count(Field::ConversationCount);
        let conversations = count.map_or(String::new(), |c| {
            format!(", {c} conversation{}", if c == 1 { "" } else { "s" })
        });
        let origins = t.origins();
        details.push_str(&format!(
            "\n  {} {}  {} token, {}{conversations}, origins: {}",
            t.id(),
            super::present::quoted_name(t),
            t.environment(),
            super::present::status(t),
            if origins.is_empty() {
                "(none)".to_string()
            } else {
                origins.join(", ")
            },
        ));
    }
    details
}

/// `--dry-run`: reads the targets and shows what would be acted on (with `--json`, an array
/// of `{id, name, environment, action}`); changes nothing.
pub(crate) async fn preview(
    ctx: &Context,
    client: &Client,
    targets: &mut [Target],
    action: &'static str,
) -> Result<(), CliError> {
    read_unread(client, targets).await?;
    let tokens: Vec<&ClientToken> = targets.iter().filter_map(|t| t.token.as_ref()).collect();
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&Value::Array(
            tokens
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "id": t.id(), "name": t.name(), "environment": t.environment(),
                        "action": action,
                    })
                })
                .collect(),
        ))?;
    } else {
        for t in &tokens {
            ctx.printer.line(&format!("{}\t{}", t.id(), t.name()))?;
        }
    }
    ctx.printer
        .note(&describe_selection(&tokens, &format!("Would {action}")));
    ctx.printer.note("Dry run: nothing was changed.");
    Ok(())
}

/// How many tokens are read at once when a bulk command needs them one by one.
pub(crate) const READS_AT_ONCE: usize = 8;

/// Reads the targets named only by id, at most [`READS_AT_ONCE`] at a time, in order.
async fn read_unread(client: &Client, targets: &mut [Target]) -> Result<(), CliError> {
    let unread: Vec<(usize, String)> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.token.is_none())
        .map(|(i, t)| (i, t.id.clone()))
        .collect();
    let read: Vec<(usize, Result<ClientToken, crate::api::ApiError>)> =
        futures_util::stream::iter(unread)
            .map(|(i, id)| async move { (i, client.get(&id).await) })
            .buffered(READS_AT_ONCE)
            .collect()
            .await;
    for (i, token) in read {
        targets[i].token = Some(token?);
    }
    Ok(())
}

/// The tokens named by `ids`, or with `--all` every token that passes the filters (and the
/// successors the account's retiring tokens name).
async fn select(
    client: &Client,
    ids: &[String],
    all: Option<&Selection>,
) -> Result<(Vec<Target>, Option<Successors>), CliError> {
    let Some(selection) = all else {
        let targets = ids
            .iter()
            .map(|id| Target {
                id: id.clone(),
                token: None,
            })
            .collect();
        return Ok((targets, None));
    };
    let (filters, all) = super::surfaces::with_all_tokens(selection, client).await?;
    let successors = Successors::of(all.iter());
    let mut targets: Vec<Target> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for token in all.into_iter().filter(|t| filters.admits(t)) {
        // Ids from the server obey the rule ids from users do: `..` or an empty id in a
        // path would send the key to another endpoint.
        if let Err(why) = crate::ids::check_id(token.id()) {
            return Err(CliError::failure(format!(
                "the server listed a token whose id cannot be one ({why}); refusing to act on the selection"
            ))
            .with_hint("name the tokens by id instead of --all, or report the reply to Runtype"));
        }
        if !seen.insert(token.id().to_string()) {
            continue; // listed twice: acted on once
        }
        targets.push(Target {
            id: token.id().to_string(),
            token: Some(token),
        });
    }
    Ok((targets, Some(successors)))
}

/// Runs `op` on every target, at most `concurrency` at once, and returns the outcomes in the
/// targets' order. After a signal, or once `halted` gives a reason (a delivery failed, stdout
/// was closed), no new work starts; unstarted targets come back as interrupted, or not
/// started for that reason. While it runs, a first signal is this function's to handle.
pub(crate) async fn run_each<F>(
    ctx: &Context,
    targets: &[Target],
    concurrency: usize,
    (doing, action): (&str, &'static str),
    halted: &dyn Fn() -> Option<&'static str>,
    op: F,
) -> Vec<Outcome>
where
    F: AsyncFn(&Target, &Progress) -> Outcome,
{
    let _hold = ctx.signals.hold();
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
                    // Stopped, a delivery failed, or stdout is closed: new work would make
                    // values nobody gets.
                    if stop.load(Ordering::SeqCst)
                        || ctx.signals.received().is_some()
                        || halted().is_some()
                    {
                        return (index, None);
                    }
                    (index, Some(op(target, progress).await))
                }
            })
            .buffer_unordered(concurrency.max(1));
        let mut work = std::pin::pin!(work);
        let signal = ctx.signals.first();
        let mut signal = std::pin::pin!(signal);
        let mut interrupted = None;
        loop {
            tokio::select! {
                next = work.next() => match next {
                    Some((index, outcome)) => {
                        progress.inc();
                        outcomes[index] = outcome;
                    }
                    None => break,
                },
                received = &mut signal, if interrupted.is_none() => {
                    interrupted = Some(received);
                    stop.store(true, Ordering::SeqCst);
                    progress.note("Interrupted: finishing the requests already sent, starting no more…");
                }
            }
        }
    }
    progress.finish();
    let signal = ctx.signals.received();
    outcomes
        .into_iter()
        .zip(targets)
        .map(|(outcome, target)| {
            outcome.unwrap_or_else(|| Outcome {
                action,
                id: Some(target.id.clone()),
                name: target.name(),
                result: Err(match signal {
                    Some(signal) => CliError::new(
                        ErrorKind::Interrupted(signal),
                        format!("{}: {NOT_STARTED}", target.id),
                    ),
                    None => CliError::failure(format!(
                        "{}: not started ({})",
                        target.id,
                        halted().unwrap_or("stopped")
                    )),
                }),
            })
        })
        .collect()
}
