//! `rtctl tokens retire`: finishes a rollover `rotate --overlap` began, by deleting (or
//! deactivating) the old token. Only a token marked as retiring is retired, and only once its
//! successor exists: the old value is never killed before the new one could be deployed.

use futures_util::StreamExt;
use jiff::Timestamp;
use serde_json::Value;

use super::{check_ids, describe};
use crate::api::{ApiError, Client, ClientToken};
use crate::cli::tokens::RetireArgs;
use crate::commands::Context;
use crate::commands::bulk::{self, Outcome, Target};
use crate::commands::confirm::consent;
use crate::error::CliError;
use crate::output::Progress;
use crate::token::{Field, TokenView, Values};

use crate::commands::bulk::READS_AT_ONCE;

pub(crate) async fn run(ctx: &Context, args: RetireArgs) -> Result<(), CliError> {
    check_ids(&args.ids)?;
    let consent = consent(ctx, args.yes || args.dry_run, "retire")?;
    let client = ctx.client()?;
    let now = ctx.clock.now();
    let named = !args.ids.is_empty();
    let retiring = if named {
        named_tokens(&client, &args.ids).await?
    } else {
        client
            .list_all()
            .await?
            .into_iter()
            .filter(|t| t.retiring().is_some())
            // Deactivating what is already inactive would change nothing.
            .filter(|t| !args.deactivate || t.is_active())
            .collect()
    };
    let mut targets = select(ctx, &client, retiring, &args, named, now).await?;
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
    let outcomes = bulk::run_each(ctx, &targets, 4, "retiring", "retire", retire_one).await;
    bulk::report(ctx, outcomes, "retired", true)
}

/// The tokens named, each of which must be retiring.
async fn named_tokens(client: &Client, ids: &[String]) -> Result<Vec<ClientToken>, CliError> {
    let mut tokens: Vec<ClientToken> = Vec::new();
    for id in ids {
        if tokens.iter().any(|t| t.id() == id) {
            continue;
        }
        let token = client.get(id).await?;
        if token.retiring().is_none() {
            return Err(CliError::failure(format!(
                "{} is not retiring: only a token rolled over with rtctl tokens rotate --overlap is retired",
                describe(&token)
            ))
            .with_hint(format!(
                "roll it over with rtctl tokens rotate {id} --overlap, or delete it with rtctl tokens delete {id}"
            )));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// The retiring tokens to retire now: named ones, or those due or idle. Each needs its
/// successor to exist; one that does not is refused (named) or skipped with a warning.
async fn select(
    ctx: &Context,
    client: &Client,
    retiring: Vec<ClientToken>,
    args: &RetireArgs,
    named: bool,
    now: Timestamp,
) -> Result<Vec<Target>, CliError> {
    let with_successors: Vec<(ClientToken, Result<ClientToken, ApiError>)> =
        futures_util::stream::iter(retiring)
            .map(|token| async move {
                let successor = match token.retiring() {
                    Some(mark) => client.get(&mark.successor).await,
                    None => Err(ApiError::InvalidReply("not retiring".into())),
                };
                (token, successor)
            })
            .buffered(READS_AT_ONCE)
            .collect()
            .await;
    let mut targets = Vec::new();
    for (token, successor) in with_successors {
        let Some(mark) = token.retiring() else {
            continue;
        };
        let successor = match successor {
            Ok(successor) => successor,
            Err(e) => {
                let message = match &e {
                    ApiError::Status { status: 404, .. } => format!(
                        "{} is retiring in favour of {}, which does not exist: it is kept",
                        token.id(),
                        mark.successor
                    ),
                    other => format!(
                        "{}: reading its successor {} failed ({other}); it is kept",
                        token.id(),
                        mark.successor
                    ),
                };
                if named {
                    return Err(CliError::failure(message));
                }
                ctx.printer.warn(&message);
                continue;
            }
        };
        let due = args.due && now >= mark.after;
        let idle = args.idle.is_some_and(|idle| {
            // Counted from the later of its last use and the start of the rollover, so a
            // quiet site's old token is not retired minutes after rotating.
            let since = [
                token.text(Field::LastUsedAt),
                successor.text(Field::CreatedAt),
            ]
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
                token: Some(token),
            });
        }
    }
    Ok(targets)
}
