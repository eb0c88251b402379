//! `rtctl tokens retire`: finishes a rollover `rotate --overlap` began, by deleting (or
//! deactivating) the old token. Only a token marked as retiring is retired, and only when its
//! chain of marks reaches the token now in use (existing, not retiring, not itself, of the
//! same environment and product surface): a mark is only a claim in a name, and the old value
//! is never killed before a new one could be deployed. Deadlines and idle spans are judged by
//! the server's time (design, "Server time").

use jiff::Timestamp;
use serde_json::Value;

use crate::api::{Client, ClientToken};
use crate::cli::tokens::RetireArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::bulk::{self, Outcome, Target};
use crate::ops::confirm::consent;
use crate::ops::present::describe;
use crate::ops::token_ref;
use crate::output::Progress;
use crate::token::rollover::{self, RolloverView};
use crate::token::{Field, TokenView, Values};

pub(crate) async fn run(ctx: &Context, args: RetireArgs) -> Result<(), CliError> {
    token_ref::check(&args.ids)?;
    let consent = consent(ctx, args.yes || args.dry_run, "retire")?;
    let client = ctx.client()?;
    let ids = token_ref::resolve(ctx, &client, &args.ids).await?;
    let named = !ids.is_empty();
    // One read of the account: the retiring tokens, and every link of their chains.
    let account = client.list_all().await?;
    let now = ctx.now();
    let retiring: Vec<&ClientToken> = if named {
        named_tokens(&client, &account, &ids).await?
    } else {
        account
            .iter()
            .filter(|t| t.retiring().is_some())
            // Deactivating what is already inactive would change nothing.
            .filter(|t| !args.deactivate || t.is_active())
            .collect()
    };
    let mut targets = select(ctx, &account, retiring, &args, named, now)?;
    if targets.is_empty() {
        ctx.printer
            .note("No retiring tokens are due; nothing to retire.");
        return bulk::report(ctx, Vec::new(), "retired", true);
    }
    if args.dry_run {
        return bulk::preview(ctx, &client, &mut targets, "retire").await;
    }
    let consequence = if args.deactivate {
        "Their old values stop working at once (rtctl tokens update ID --activate undoes it); the successors are untouched."
    } else {
        "Their old values stop working at once, and deleting cannot be undone; the successors are untouched."
    };
    bulk::confirm(ctx, &client, consent, &mut targets, "retire", consequence).await?;
    let client = &client;
    let deactivate = args.deactivate;
    let retire_one = async |target: &Target, progress: &Progress| {
        let result = if deactivate {
            let request = Values::new().with(Field::IsActive, Value::Bool(false));
            client
                .update(&target.id, &request)
                .await
                .map(|_| "deactivated")
        } else {
            client.delete(&target.id).await.map(|_| "deleted")
        };
        if let (Ok(how), Some(token)) = (&result, &target.token) {
            progress.note(&format!("Retired {} ({how}).", describe(token)));
        }
        Outcome {
            action: "retire",
            id: Some(target.id.clone()),
            name: target.name(),
            result: result.map(|_| None).map_err(CliError::from),
        }
    };
    let outcomes = bulk::run_each(
        ctx,
        &targets,
        4,
        ("retiring", "retire"),
        &|| ctx.printer.stdout_closed().then_some("stdout was closed"),
        retire_one,
    )
    .await;
    bulk::report(ctx, outcomes, "retired", true)
}

/// The tokens named, each of which must be retiring.
async fn named_tokens<'a>(
    client: &Client,
    account: &'a [ClientToken],
    ids: &[String],
) -> Result<Vec<&'a ClientToken>, CliError> {
    let mut tokens: Vec<&ClientToken> = Vec::new();
    for id in ids {
        let Some(token) = account.iter().find(|t| t.id() == id) else {
            // Not in the list: the API says why (404, mostly).
            client.get(id).await?;
            return Err(CliError::failure(format!(
                "{id} exists but the token list does not show it; try again in a moment"
            )));
        };
        if token.retiring().is_none() {
            return Err(CliError::failure(format!(
                "{} is not retiring: only a token rolled over with rtctl tokens rotate --overlap is retired",
                describe(token)
            ))
            .with_hint(format!(
                "roll it over with rtctl tokens rotate {id} --overlap, or delete it with rtctl tokens delete {id}"
            )));
        }
        if !tokens.iter().any(|t| t.id() == id) {
            tokens.push(token);
        }
    }
    Ok(tokens)
}

/// The retiring tokens to retire now: named ones, or those due or idle. Each needs its chain
/// of marks to reach the token in use; one whose chain is broken is refused (named) or
/// skipped with a warning.
fn select(
    ctx: &Context,
    account: &[ClientToken],
    retiring: Vec<&ClientToken>,
    args: &RetireArgs,
    named: bool,
    now: Timestamp,
) -> Result<Vec<Target>, CliError> {
    let chains = rollover::Chains::of(account);
    let mut targets = Vec::new();
    for token in retiring {
        let Some(mark) = token.retiring() else {
            continue;
        };
        let refusal = match chains.follow(token) {
            Err(broken) => Some((
                format!("{} is retiring, but {broken}: it is kept", describe(token)),
                format!(
                    "to keep it in use, drop the mark from its name: rtctl tokens update {} --name NAME",
                    token.id()
                ),
            )),
            // Its rollover stopped before the successor got the name: finish that first.
            Ok(end) if end.successor_tag().is_some() => Some((
                format!(
                    "{} is retiring, but its successor {} is not finished (its value may not be deployed): it is kept",
                    describe(token),
                    end.id()
                ),
                format!(
                    "rtctl tokens rotate {} --overlap finishes the rollover",
                    token.id()
                ),
            )),
            Ok(_) => None,
        };
        if let Some((message, hint)) = refusal {
            if named {
                return Err(CliError::failure(message).with_hint(hint));
            }
            ctx.printer.warn(&format!("{message} ({hint})"));
            continue;
        }
        let due = args.due && now >= mark.after;
        let idle = args.idle.is_some_and(|idle| {
            // Counted from the later of its last use and the start of the rollover (the
            // successor's creation), so a quiet site's old token is not retired minutes after
            // rotating.
            let started = chains
                .get(&mark.successor)
                .and_then(|s| s.text(Field::CreatedAt));
            let since = [token.text(Field::LastUsedAt), started]
                .into_iter()
                .flatten()
                .filter_map(|t| t.parse::<Timestamp>().ok())
                .max();
            let idle = jiff::SignedDuration::try_from(idle).unwrap_or(jiff::SignedDuration::MAX);
            since.is_some_and(|since| now.duration_since(since) >= idle)
        });
        if named || due || idle {
            targets.push(Target {
                id: token.id().to_string(),
                token: Some(token.clone()),
            });
        }
    }
    Ok(targets)
}
