//! `rtctl tokens rotate --overlap`: rotation without downtime. Runtype's regenerate kills the
//! old value at once, so instead a **successor** is created with every field of the old token,
//! its value delivered, and only then is the old token marked as retiring (`NAME (retiring
//! after … → ct_NEW)`) and the successor given the name: the old value keeps working until
//! `rtctl tokens retire`.
//!
//! Creating is not safe to repeat and the API has no lock, so the steps leave marks
//! ([`crate::token::marks`]) that let a rerun finish what an interrupted run began, and let
//! two runs at once agree on one successor:
//! 1. The old token already retiring: its rollover happened; the token at the end of its
//!    chain of marks is delivered again.
//! 2. Otherwise the run marks the old token *pending*, naming itself (`NAME (rolling over:
//!    run R)`), unless another run's mark is there and that run's successor exists: then that
//!    successor is the one (adopted, delivered, finished).
//! 3. It creates the successor tagged with the old token and the run (`NAME (successor of
//!    ct_OLD, run R)`): only a tagged token is ever adopted, never a look-alike.
//! 4. It reads the old token again: still its own mark, it owns the rollover; another run's,
//!    it deletes its successor and defers (back to 2).
//! 5. It delivers the successor's value; a sink that refuses it undoes the run: the successor
//!    is deleted and the old token's name restored.
//! 6. It marks the old token retiring, then gives the successor the name.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::api::{ApiError, Client, ClientToken};
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::bulk::Target;
use crate::ops::deliver::deliver_each;
use crate::ops::deliver::{Delivery, NewValue, Undelivered};
use crate::output::Progress;
use crate::token::rollover::{self, RolloverView};
use crate::token::{Field, TokenView, Values, marks};

/// The grace period when `--grace` is not given.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// How often a run starts over after another run took a rollover from it.
const ATTEMPTS: usize = 5;

/// The first wait before reading again what another run is doing.
const CLAIM_WAIT: Duration = Duration::from_millis(250);

/// What came of marking the old token as this run's.
enum Claim {
    /// The old token carries this run's mark.
    Held,
    /// It changed since it was read: look again.
    Changed,
    /// The write did not land (or may not have): look again.
    Failed(ApiError),
}

/// What became of another run's rollover while this one waited.
enum Awaited {
    /// Its successor exists.
    Found(ClientToken),
    /// The old token changed (finished, taken over): look again.
    Changed,
    /// Nothing appeared within the request timeout: that run stopped.
    Nothing,
}

/// Why no successor came of a create.
enum Created {
    /// The server refused it: nothing was made.
    Refused(CliError),
    /// The reply was lost, and no successor is visible: one may still appear.
    Unknown(CliError),
}

/// An element of what `rotate --overlap --json` prints, for trying a `--jq` filter before
/// acting.
pub(crate) fn sample() -> Value {
    element(
        crate::ops::deliver::SAMPLE_ID,
        "ct_0000000000000001",
        "Sample",
        crate::ops::deliver::SAMPLE_VALUE,
        Timestamp::UNIX_EPOCH,
    )
}

/// The JSON element of one rollover.
fn element(previous: &str, successor: &str, name: &str, value: &str, after: Timestamp) -> Value {
    json!({
        "id": successor,
        "previousId": previous,
        "name": name,
        "ok": true,
        "value": value,
        "retireAfter": after.to_string(),
    })
}

/// Rolls every target over, at most `concurrency` at once, delivering each successor's value
/// as it is done.
pub(crate) async fn run(
    ctx: &Context,
    client: &Client,
    targets: &[Target],
    concurrency: usize,
    delivery: Delivery<'_>,
    grace: Duration,
) -> Result<(), CliError> {
    let run = marks::new_run();
    ctx.printer
        .debug(&format!("this run's rollover marks name it run {run}"));
    let run = &run;
    let account = tokio::sync::OnceCell::new();
    let account = &account;
    let roll_one = async |target: &Target, progress: &Progress, delivery: &Delivery<'_>| {
        let rollover = Rollover {
            ctx,
            client,
            run,
            grace,
            progress,
            delivery,
            account,
        };
        rollover.roll(&target.id).await.map(Some)
    };
    let work = ("rolling over", "rolled over");
    deliver_each(ctx, targets, concurrency, delivery, work, roll_one).await
}

/// One token's rollover, by one run.
struct Rollover<'r, 'd> {
    ctx: &'r Context,
    client: &'r Client,
    /// This run's id, in the marks it writes.
    run: &'r str,
    grace: Duration,
    progress: &'r Progress,
    delivery: &'r Delivery<'d>,
    /// The whole account, read once when a rollover needs its chains of marks.
    account: &'r tokio::sync::OnceCell<Vec<ClientToken>>,
}

/// Whose successor is being delivered: one this run made may be undone; one another run
/// made is that run's (or, if it stopped, the next run's) to finish.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Maker {
    ThisRun,
    AnotherRun,
}

impl Rollover<'_, '_> {
    /// Rolls `old_id` over, or finishes a rollover an earlier or another run began. Returns
    /// the name the successor carries.
    async fn roll(&self, old_id: &str) -> Result<String, CliError> {
        let client = self.client;
        // Why the last attempt to mark the old token did not land, if that is what failed.
        let mut unmarked: Option<ApiError> = None;
        for _ in 0..ATTEMPTS {
            let old = client.get(old_id).await?;
            if old.retiring().is_some() {
                return self.finish_marked(&old).await;
            }
            if let Some(tag) = old.successor_tag() {
                self.orphan(&old, &tag).await?;
                continue;
            }
            let base = old.base_name();
            self.check_name(&old, &base)?;
            if let Some(pending) = old.pending().filter(|p| p.run != self.run) {
                // Another run's rollover: its successor, once made, is the one. It may not
                // be made yet (a slow create): wait for it, for as long as a request may take.
                match self.await_successor(&old, &pending.run).await? {
                    Awaited::Found(successor) => {
                        self.progress.note(&format!(
                            "Found {}, the successor run {} created for {old_id}; finishing that rollover.",
                            successor.id(),
                            pending.run
                        ));
                        return self
                            .complete(&old, &base, successor, Maker::AnotherRun)
                            .await;
                    }
                    Awaited::Changed => continue,
                    // That run stopped before making one: this run takes over.
                    Awaited::Nothing => {}
                }
            }
            if old.pending().is_none_or(|p| p.run != self.run) {
                match self.claim(&old, &base).await? {
                    Claim::Held => {}
                    Claim::Changed => continue,
                    Claim::Failed(e) => {
                        unmarked = Some(e);
                        continue;
                    }
                }
            }
            let successor = match self.create(&old, &base).await {
                Ok(successor) => successor,
                Err(error) => return Err(self.release(&old, &base, error).await),
            };
            // Still the owner? Another run that marked the old token since owns the rollover.
            let now = client.get(old_id).await?;
            if now.pending().is_some_and(|p| p.run == self.run) {
                return self.complete(&old, &base, successor, Maker::ThisRun).await;
            }
            self.progress.note(&format!(
                "Another run took over the rollover of {old_id}; deleting {} and following it.",
                successor.id()
            ));
            self.delete(successor.id()).await.map_err(|e| {
                CliError::failure(format!(
                    "another run took over the rollover of {old_id}, and deleting this run's successor {} failed: {e}",
                    successor.id()
                ))
                .with_hint(format!("delete it with rtctl tokens delete {} --yes", successor.id()))
            })?;
        }
        Err(match unmarked {
            Some(e) => CliError::failure(format!(
                "marking {old_id} as being rolled over failed: {e}; nothing was created"
            ))
            .with_hint("run the same command again"),
            None => CliError::failure(format!(
                "other runs kept taking over the rollover of {old_id}; nothing was delivered"
            ))
            .with_hint("run the command again once the other runs are done"),
        })
    }

    /// A name a rollover can carry: marks are written into it, within the API's 255
    /// characters, and a name cut to fit could not be given back whole.
    fn check_name(&self, old: &ClientToken, base: &str) -> Result<(), CliError> {
        let id = old.id();
        if base.is_empty() {
            return Err(CliError::failure(format!(
                "{id} has no name, and a rollover keeps the name on the successor for plan, apply and export to match"
            ))
            .with_hint(format!("rtctl tokens update {id} --name NAME")));
        }
        let room = marks::room_for_rollover(id);
        if base.chars().count() > room {
            return Err(CliError::failure(format!(
                "the name of {id} is {} characters long; a rollover writes its marks into the name, which leaves room for {room}",
                base.chars().count()
            ))
            .with_hint(format!("shorten it first: rtctl tokens update {id} --name NAME")));
        }
        Ok(())
    }

    /// Marks the old token as being rolled over by this run, read again just before so the
    /// mark never lands on what another run wrote meanwhile.
    async fn claim(&self, old: &ClientToken, base: &str) -> Result<Claim, CliError> {
        let id = old.id();
        let now = self.client.get(id).await?;
        if now.name() != old.name() {
            return Ok(Claim::Changed);
        }
        let request =
            Values::new().with(Field::Name, Value::String(marks::pending(base, self.run)));
        match self.client.update_once(id, &request).await {
            Ok(()) => Ok(Claim::Held),
            // Not done, or perhaps done: read again and decide again.
            Err(e) if e.is_transient() => {
                self.ctx
                    .printer
                    .debug(&format!("marking {id}: {e}; reading it again"));
                tokio::time::sleep(CLAIM_WAIT).await;
                Ok(Claim::Failed(e))
            }
            Err(e) => Err(CliError::failure(format!(
                "marking {id} as being rolled over failed: {e}; nothing was created"
            ))
            .with_hint("run the same command again")),
        }
    }

    /// Waits, for at most the request timeout, for the successor `run` makes for `old`.
    async fn await_successor(&self, old: &ClientToken, run: &str) -> Result<Awaited, CliError> {
        let deadline = tokio::time::Instant::now() + self.client.timeout();
        let mut wait = CLAIM_WAIT;
        loop {
            if let Some(successor) = self.tagged(old, run).await? {
                return Ok(Awaited::Found(successor));
            }
            if tokio::time::Instant::now() + wait > deadline {
                return Ok(Awaited::Nothing);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(4));
            if self.client.get(old.id()).await?.name() != old.name() {
                return Ok(Awaited::Changed);
            }
        }
    }

    /// A token named by id that is itself a successor being made: its predecessor finishes
    /// it; one whose predecessor is gone is given its name back, and rolled over as any.
    async fn orphan(&self, token: &ClientToken, tag: &marks::Successor) -> Result<(), CliError> {
        let id = token.id();
        match self.client.get(&tag.predecessor).await {
            Err(ApiError::Status { status: 404, .. }) => {
                self.rename(id, &tag.base).await?;
                self.progress.note(&format!(
                    "{id} was the successor of {}, which no longer exists: it is named \"{}\" again.",
                    tag.predecessor, tag.base
                ));
                Ok(())
            }
            Err(e) => Err(e.into()),
            Ok(_) => Err(CliError::failure(format!(
                "{id} is the successor a rollover of {} is making, not a token to roll over",
                tag.predecessor
            ))
            .with_hint(format!(
                "rtctl tokens rotate {} --overlap finishes that rollover",
                tag.predecessor
            ))),
        }
    }

    /// The successor `run` made for `old`, if it exists: a token tagged with both, of the
    /// same environment and product surface (one read of the account).
    async fn tagged(&self, old: &ClientToken, run: &str) -> Result<Option<ClientToken>, CliError> {
        let account = self.client.list_all().await?;
        let same = |t: &ClientToken, field: Field| t.text(field) == old.text(field);
        let mut found: Vec<ClientToken> = account
            .into_iter()
            .filter(|t| {
                t.successor_tag()
                    .is_some_and(|tag| tag.predecessor == old.id() && tag.run == run)
                    && same(t, Field::Environment)
                    && same(t, Field::ProductSurfaceId)
            })
            .collect();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            _ => Err(CliError::failure(format!(
                "{} has several successors tagged by run {run} ({}); rtctl will not pick one",
                old.id(),
                found.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ")
            ))
            .with_hint("delete all but one (rtctl tokens delete ID --yes), then run the same command again")),
        }
    }

    /// Creates the successor: every field a create carries, copied from the old token, its
    /// state, and the tag naming the old token and this run.
    async fn create(&self, old: &ClientToken, base: &str) -> Result<ClientToken, Created> {
        let tagged = marks::successor(base, old.id(), self.run);
        let mut request = Values::new().with(Field::Name, Value::String(tagged));
        // A field the old token leaves unset is left out: the successor gets the service's
        // default (the API takes no null on create), as the old token would have.
        for field in Field::ALL
            .iter()
            .copied()
            .filter(|f| f.spec().on_create() && *f != Field::Name)
        {
            if let Some(value) = old.field(field) {
                request.set(field, value.clone());
            }
        }
        match self.client.create(&request).await {
            Ok(created) => Ok(created.token),
            // The reply was lost: the successor may exist. Never create a second one blindly:
            // look for this run's tag.
            Err(e) if e.outcome_unknown() => match self.tagged(old, self.run).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(Created::Unknown(CliError::from(e).with_hint(
                    "no successor is visible yet; run the same command again: it adopts one created late, or creates it",
                ))),
                Err(list) => Err(Created::Unknown(CliError::failure(format!(
                    "the reply to creating {}'s successor was lost ({e}), and looking for it failed: {}",
                    old.id(),
                    list.message
                ))
                .with_hint("run the same command again: it adopts a successor created late, or creates it"))),
            },
            Err(e) => Err(Created::Refused(e.into())),
        }
    }

    /// A create that failed: when it certainly made nothing, the old token's name is given
    /// back (if it still carries this run's mark), so the account is as it was.
    async fn release(&self, old: &ClientToken, base: &str, failed: Created) -> CliError {
        let error = match failed {
            Created::Unknown(error) => return error,
            Created::Refused(error) => error,
        };
        let id = old.id();
        match self.restore(old, base).await {
            Ok(true) => CliError {
                message: format!(
                    "creating the successor of {id} failed: {}; {id} keeps its name and stays the token in use",
                    error.message
                ),
                ..error
            },
            Ok(false) => error,
            Err(e) => CliError {
                message: format!(
                    "creating the successor of {id} failed: {}, and giving {id} its name back failed too ({e}): its name still says it is being rolled over",
                    error.message
                ),
                hint: Some("run the same command again".into()),
                ..error
            },
        }
    }

    /// Gives the old token its name back, if it still carries this run's pending mark (and
    /// not another run's, which must stay). Whether it did.
    async fn restore(&self, old: &ClientToken, base: &str) -> Result<bool, ApiError> {
        let now = self.client.get(old.id()).await?;
        if now.pending().is_none_or(|p| p.run != self.run) {
            return Ok(false);
        }
        self.rename(old.id(), base).await.map(|()| true)
    }

    /// Delivers the successor's value, then marks the old token retiring and names the
    /// successor. A refused delivery of a successor this run made undoes the run.
    async fn complete(
        &self,
        old: &ClientToken,
        base: &str,
        successor: ClientToken,
        maker: Maker,
    ) -> Result<String, CliError> {
        let (client, old_id, id) = (self.client, old.id(), successor.id().to_string());
        let again = format!(
            "run the same command again: it finds {id} and finishes the rollover of {old_id}"
        );
        // The same state as the old token (a successor is created active).
        if successor.is_active() != old.is_active() {
            let state = Values::new().with(Field::IsActive, Value::Bool(old.is_active()));
            client.update(&id, &state).await.map_err(|e| {
                CliError::from(e)
                    .about(&format!("giving the successor {id} the old token's state"))
                    .with_hint(again.clone())
            })?;
        }
        let value = client.value(&id).await.map_err(|e| {
            CliError::failure(format!(
                "created {id} to replace {old_id}, but reading its value failed: {e}"
            ))
            .with_hint(again.clone())
        })?;
        let retire_after = marks::round_up(
            self.ctx
                .now()
                .checked_add(jiff::SignedDuration::try_from(self.grace).unwrap_or_default())
                .unwrap_or_else(|_| self.ctx.now()),
        );
        let new = NewValue {
            id: &id,
            name: Some(base),
            environment: old.environment(),
            previous: Some(old_id),
            value: &value,
        };
        let shown = element(old_id, &id, base, &value, retire_after);
        if let Err(undelivered) = self.delivery.value(&new, shown).await {
            return Err(match maker {
                Maker::ThisRun if undelivered.may_undo() => {
                    self.undo(old, base, &id, undelivered).await
                }
                _ => self.not_delivered(old_id, &id, undelivered),
            });
        }
        // Delivered: only now is the old token retiring, and the successor its heir.
        let marked = marks::mark(base, retire_after, &id);
        self.rename(old_id, &marked).await.map_err(|e| {
            CliError::failure(format!(
                "delivered the value of {id}, the successor of {old_id}, but marking {old_id} as retiring failed: {e}"
            ))
            .with_hint(again.clone())
        })?;
        self.rename(&id, base).await.map_err(|e| match e {
            ApiError::Status { status: 404, .. } => CliError::failure(format!(
                "delivered the value of {id}, but {id} was deleted meanwhile (by another run?): that value no longer works"
            ))
            .with_hint(format!("run the same command again: it follows {old_id}'s mark")),
            e => CliError::failure(format!(
                "delivered the value of {id} and marked {old_id} as retiring, but naming {id} \"{base}\" failed: {e}"
            ))
            .with_hint(again.clone()),
        })?;
        self.progress.note(&format!(
            "Rolled {old_id} \"{base}\" ({}) over to {id}: the old value works until {} at least. Deploy the successor's embed (rtctl tokens snippet {id} prints it), then run rtctl tokens retire {old_id} (or --due) once pages use it.",
            old.environment(),
            marks::minute(retire_after)
        ));
        Ok(base.to_string())
    }

    /// The old token is already retiring: its rollover happened (perhaps in a run that was
    /// then stopped). The token its chain of marks ends at is delivered again.
    async fn finish_marked(&self, old: &ClientToken) -> Result<String, CliError> {
        let old_id = old.id();
        // One read of the account serves every rollover this run finishes.
        let account = self
            .account
            .get_or_try_init(|| self.client.list_all())
            .await?;
        let chains = rollover::Chains::of(account);
        // The old token as this read has it (its chain starts there).
        let start = chains.get(old_id).unwrap_or(old);
        let end = chains.follow(start).map_err(|broken| {
            CliError::failure(format!("{old_id} is retiring, but {broken}; nothing was delivered"))
                .with_hint(format!(
                    "to keep {old_id}, drop the mark from its name (rtctl tokens update {old_id} --name NAME), then roll it over again"
                ))
        })?;
        let mark = old
            .retiring()
            .map(|m| m.after)
            .unwrap_or_else(|| self.ctx.now());
        let (id, base) = (end.id().to_string(), end.base_name());
        let value = self.client.value(&id).await?;
        let new = NewValue {
            id: &id,
            name: Some(&base),
            environment: end.environment(),
            previous: Some(old_id),
            value: &value,
        };
        let shown = element(old_id, &id, &base, &value, mark);
        if let Err(undelivered) = self.delivery.value(&new, shown).await {
            return Err(self.not_delivered(old_id, &id, undelivered));
        }
        // Stopped between the mark and the name: the name is the last step.
        if end.successor_tag().is_some() {
            self.rename(&id, &base).await?;
        }
        self.progress.note(&format!(
            "{old_id} was already rolled over to {id}; delivered its value again."
        ));
        Ok(base)
    }

    /// A refused delivery of this run's successor: deleted, and the old token's name restored,
    /// so the account is as it was. Only while the old token still carries this run's mark:
    /// otherwise another run has taken the rollover over (or finished it), and what it uses
    /// stays.
    async fn undo(
        &self,
        old: &ClientToken,
        base: &str,
        id: &str,
        undelivered: Undelivered,
    ) -> CliError {
        let old_id = old.id();
        let why = undelivered.why().to_string();
        match self.client.get(old_id).await {
            Ok(now) if now.pending().is_some_and(|p| p.run == self.run) => {}
            Ok(_) => {
                return CliError::failure(format!(
                    "the value of {id}, the successor of {old_id}, was not delivered ({why}); another run has taken the rollover over meanwhile, so nothing was undone"
                ))
                .with_hint("run the same command again: it follows that run's rollover");
            }
            Err(e) => {
                return CliError::failure(format!(
                    "the value of {id}, the successor of {old_id}, was not delivered ({why}), and reading {old_id} to undo the rollover failed ({e}): nothing was undone"
                ))
                .with_hint(format!(
                    "run the same command again: it adopts {id} and delivers its value (or delete it with rtctl tokens delete {id} --yes)"
                ));
            }
        }
        if let Err(e) = self.delete(id).await {
            // The old token keeps its pending mark: a rerun adopts this successor.
            return CliError::failure(format!(
                "the value of {id}, the successor of {old_id}, was not delivered ({why}), and deleting {id} failed ({e}): the account changed, and {old_id}'s name still says it is being rolled over"
            ))
            .with_hint(format!(
                "run the same command again: it adopts {id} and delivers its value (or delete it with rtctl tokens delete {id} --yes, then run the same command again)"
            ));
        }
        if let Err(e) = self.rename(old_id, base).await {
            return CliError::failure(format!(
                "the value of {id} was not delivered ({why}); rtctl deleted it, but restoring {old_id}'s name failed ({e}): its name still says it is being rolled over"
            ))
            .with_hint(format!(
                "run the same command again, or rtctl tokens update {old_id} --name '{}'",
                base.replace('\'', r"'\''")
            ));
        }
        CliError::failure(format!(
            "the value of {old_id}'s successor was not delivered ({why}); rtctl deleted the successor {id}, so nothing changed: {old_id} \"{base}\" is still the token in use"
        ))
        .with_hint("fix what the command needs, then run the same rtctl command again")
    }

    /// A delivery that failed where nothing may be undone: the successor stays, and a rerun
    /// finishes the rollover.
    fn not_delivered(&self, old_id: &str, id: &str, undelivered: Undelivered) -> CliError {
        match undelivered {
            Undelivered::Unprinted(error) => error.with_hint(format!(
                "run the same command again: it finds {id} and prints its value (or read it with rtctl tokens value {id})"
            )),
            Undelivered::Refused { why } => CliError::failure(format!(
                "the value of {id}, the successor of {old_id}, was not delivered: {why}"
            ))
            .with_hint(format!(
                "fix what the command needs, then run the same rtctl command again: it delivers {id}'s value and finishes the rollover"
            )),
            Undelivered::Unknown { why, signal } => CliError::new(
                signal.map_or(crate::error::ErrorKind::Failure, crate::error::ErrorKind::Interrupted),
                format!(
                    "whether the value of {id}, the successor of {old_id}, was delivered is unknown ({why}); nothing was undone, and {old_id} is not retiring yet"
                ),
            )
            .with_hint(format!(
                "check where it should be stored, then run the same rtctl command again: it delivers {id}'s value again and finishes the rollover"
            )),
        }
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), ApiError> {
        let request = Values::new().with(Field::Name, Value::String(name.to_string()));
        self.client.update(id, &request).await.map(|_| ())
    }

    /// Deletes a successor; already gone is as good.
    async fn delete(&self, id: &str) -> Result<(), ApiError> {
        match self.client.delete(id).await {
            Ok(_) | Err(ApiError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
