//! `rtctl tokens rotate --overlap`: rotation without downtime. Runtype's regenerate kills the
//! old value at once, so instead a **successor** is created with every field of the old token
//! (and its name), its value delivered, and only then is the old token marked as retiring
//! (`NAME (retiring after … → ct_NEW)`): it keeps working until `rtctl tokens retire`.
//!
//! Creating is not safe to repeat, so the steps are ordered for a rerun to finish what an
//! interrupted run began, never to start a second rollover:
//! 1. the old token already marked: its successor is named in the mark; deliver its value;
//! 2. otherwise a successor may exist unmarked (the create's reply was lost, or the run
//!    stopped before marking): a later token with the same name, environment and fields is
//!    adopted; several are refused, naming them;
//! 3. otherwise create one; then deliver its value; then mark the old token.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::describe;
use super::rotate::{Made, deliver_each};
use crate::api::{ApiError, Client, ClientToken};
use crate::cli::tokens::RotateArgs;
use crate::commands::Context;
use crate::commands::bulk::Target;
use crate::commands::deliver::Shape;
use crate::error::CliError;
use crate::output::Progress;
use crate::token::{Field, TokenView, Values, retiring};

/// The grace period when `--grace` is not given.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// A finished rollover: the successor and its (current) value.
pub(crate) struct RolledOver {
    pub previous: String,
    pub successor: String,
    pub name: String,
    pub value: String,
    pub retire_after: Timestamp,
}

impl RolledOver {
    /// The JSON element of `rotate --overlap --json`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.successor,
            "previousId": self.previous,
            "name": self.name,
            "ok": true,
            "value": self.value,
            "retireAfter": self.retire_after.to_string(),
        })
    }
}

/// What `rotate --overlap --json` prints, for trying a `--jq` filter before acting.
pub(crate) fn sample() -> Value {
    json!([{
        "id": "ct_0000000000000001", "previousId": "ct_0000000000000000", "name": "Sample",
        "ok": true, "value": crate::commands::deliver::SAMPLE_VALUE,
        "retireAfter": "2026-01-01T00:00:00Z",
    }])
}

/// Rolls every target over, at most `--concurrency` at once, delivering each successor's
/// value as it is done.
pub(crate) async fn run(
    ctx: &Context,
    client: &Client,
    targets: &[Target],
    args: &RotateArgs,
    shape: Shape,
    grace: Duration,
) -> Result<(), CliError> {
    let now = ctx.clock.now();
    // One read of the account finds every unmarked successor an earlier run made; a token
    // whose create reply is lost reads it again.
    let account = client.list_all().await?;
    let account = &account;
    let roll_one = async |target: &Target, progress: &Progress| {
        let rolled = roll_over(client, account, &target.id, grace, now, progress).await?;
        Ok(Made {
            element: rolled.to_json(),
            id: rolled.successor,
            name: Some(rolled.name),
            value: rolled.value,
        })
    };
    let concurrency = usize::from(args.bulk.concurrency);
    let work = ("rolling over", "rolled over");
    deliver_each(ctx, targets, concurrency, shape, work, roll_one).await
}

/// The fields a successor copies: everything a create may carry.
fn copied_fields() -> impl Iterator<Item = Field> {
    Field::ALL
        .iter()
        .copied()
        .filter(|f| f.spec().on_create() && *f != Field::Name)
}

/// Whether `candidate` could be `old`'s successor: same name, environment and fields, and
/// made after it.
fn is_successor_of(candidate: &ClientToken, old: &ClientToken, name: &str) -> bool {
    candidate.id() != old.id()
        && candidate.name() == name
        && candidate.text(Field::CreatedAt) >= old.text(Field::CreatedAt)
        && copied_fields().all(|f| same_field(candidate, old, f))
}

/// The successor's field is the old one's, or the service's default where the old token has
/// none (a create cannot send null).
fn same_field(candidate: &ClientToken, old: &ClientToken, field: Field) -> bool {
    match (old.field(field), candidate.field(field)) {
        (None, Some(made)) => field.spec().initial.value().as_ref() == Some(made),
        (held, made) => held == made,
    }
}

/// Tokens of `all` that are the unmarked successor of another token in it: an `--all`
/// selection leaves them out, or a rerun would roll the successor over too.
pub(crate) fn unmarked_successors(all: &[ClientToken]) -> Vec<String> {
    all.iter()
        .filter(|t| {
            all.iter()
                .any(|old| old.retiring().is_none() && is_successor_of(t, old, old.name()))
        })
        .map(|t| t.id().to_string())
        .collect()
}

/// Rolls `old_id` over with `grace`, or finishes a rollover an earlier run began.
pub(crate) async fn roll_over(
    client: &Client,
    account: &[ClientToken],
    old_id: &str,
    grace: Duration,
    now: Timestamp,
    progress: &Progress,
) -> Result<RolledOver, CliError> {
    let old = client.get(old_id).await?;
    if let Some(mark) = old.retiring() {
        return finish_marked(client, &old, mark, progress).await;
    }
    let name = match old.text(Field::Name).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => {
            return Err(CliError::failure(format!(
                "{old_id} has no name, and a rollover keeps the name on the successor for plan, apply and export to match"
            ))
            .with_hint(format!("rtctl tokens update {old_id} --name NAME")));
        }
    };
    let successor = match successor_in(account, &old, &name)? {
        Some(found) => {
            progress.note(&format!(
                "Found {} \"{name}\", the successor an earlier run created; finishing that rollover.",
                found.id()
            ));
            found
        }
        None => create_successor(client, &old, &name).await?,
    };
    let successor_id = successor.id().to_string();
    // The same state as the old token (a successor is created active; a run may have
    // stopped before it was deactivated).
    if successor.is_active() != old.is_active() {
        let state = Values::new().with(Field::IsActive, Value::Bool(old.is_active()));
        client.update(&successor_id, &state).await?;
    }
    // Delivered before the old token is marked: a run stopped here is finished by the next.
    let value = client.value(&successor_id).await.map_err(|e| {
        CliError::failure(format!(
            "created {successor_id} to replace {old_id}, but reading its value failed: {e}"
        ))
        .with_hint(format!(
            "run the same command again: it finds {successor_id} and finishes the rollover"
        ))
    })?;
    let retire_after = retiring::round_up(
        now.checked_add(jiff::SignedDuration::try_from(grace).unwrap_or_default())
            .unwrap_or(now),
    );
    let marked = Values::new().with(
        Field::Name,
        Value::String(retiring::mark(&name, retire_after, &successor_id)),
    );
    client.update(old_id, &marked).await.map_err(|e| {
        CliError::failure(format!(
            "created {successor_id} to replace {old_id}, but marking {old_id} as retiring failed: {e}"
        ))
        .with_hint(format!(
            "run the same command again: it finds {successor_id} and marks {old_id}"
        ))
    })?;
    progress.note(&format!(
        "Rolled {} over to {successor_id}: the old value works until {} at least; then run rtctl tokens retire {old_id} (or --due).",
        describe(&old),
        retiring::minute(retire_after)
    ));
    Ok(RolledOver {
        previous: old_id.to_string(),
        successor: successor_id,
        name,
        value,
        retire_after,
    })
}

/// The old token is already marked: its rollover happened (perhaps in a run that was then
/// stopped); the successor named in the mark is delivered again.
async fn finish_marked(
    client: &Client,
    old: &ClientToken,
    mark: retiring::Retiring,
    progress: &Progress,
) -> Result<RolledOver, CliError> {
    let successor = client.get(&mark.successor).await.map_err(|e| match e {
        ApiError::Status { status: 404, .. } => CliError::failure(format!(
            "{} is retiring in favour of {}, which no longer exists",
            old.id(),
            mark.successor
        ))
        .with_hint(format!(
            "keep the old token by renaming it (rtctl tokens update {} --name NAME), then roll it over again",
            old.id()
        )),
        other => other.into(),
    })?;
    let value = client.value(successor.id()).await?;
    progress.note(&format!(
        "{} was already rolled over to {}; its value again:",
        old.id(),
        successor.id()
    ));
    Ok(RolledOver {
        previous: old.id().to_string(),
        successor: successor.id().to_string(),
        name: successor.name().to_string(),
        value,
        retire_after: mark.after,
    })
}

/// The unmarked successor an earlier run made, read from the account now.
async fn find_successor(
    client: &Client,
    old: &ClientToken,
    name: &str,
) -> Result<Option<ClientToken>, CliError> {
    successor_in(&client.list_all().await?, old, name)
}

/// The unmarked successor in `account`, if there is exactly one; several are refused.
fn successor_in(
    account: &[ClientToken],
    old: &ClientToken,
    name: &str,
) -> Result<Option<ClientToken>, CliError> {
    let mut found: Vec<ClientToken> = account
        .iter()
        .filter(|t| is_successor_of(t, old, name))
        .cloned()
        .collect();
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(CliError::failure(format!(
            "{} has several tokens that could be its successor ({}); rtctl will not pick one",
            old.id(),
            found.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint("delete all but one (rtctl tokens delete ID), then run the same command again")),
    }
}

/// Creates the successor: every field of the old token, the same name, the same state.
async fn create_successor(
    client: &Client,
    old: &ClientToken,
    name: &str,
) -> Result<ClientToken, CliError> {
    let mut request = Values::new().with(Field::Name, Value::String(name.to_string()));
    // A field the old token leaves unset is left out: the successor gets the service's
    // default (the API takes no null on create), as the old token would have.
    for field in copied_fields() {
        if let Some(value) = old.field(field) {
            request.set(field, value.clone());
        }
    }
    let created = match client.create(&request).await {
        Ok(created) => created.token,
        // The reply was lost: the successor may exist. Never create a second one blindly.
        Err(e) if e.outcome_unknown() => {
            let again =
                "run the same command again: it adopts a successor created late, or creates it";
            return match find_successor(client, old, name).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(CliError::from(e)
                    .with_hint(format!("no successor is visible yet; {again}"))),
                Err(list) => Err(CliError::failure(format!(
                    "the reply to creating {}'s successor was lost ({e}), and looking for it failed: {}",
                    old.id(),
                    list.message
                ))
                .with_hint(again)),
            };
        }
        Err(e) => return Err(e.into()),
    };
    Ok(created)
}
