//! `rtctl tokens delete ID… | --all …`.

use crate::api::Deleted;
use crate::cli::tokens::DeleteArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::bulk::{self, Outcome, Target};
use crate::output::Progress;

pub(super) async fn run(ctx: &Context, args: DeleteArgs) -> Result<(), CliError> {
    let started = bulk::start(ctx, super::bulk_request(&args.bulk, "delete")?, "delete").await?;
    let (client, mut targets, consent) = (started.client, started.targets, started.consent);
    if targets.is_empty() {
        ctx.printer
            .note("No tokens match the selection; nothing to delete.");
        return bulk::report(ctx, Vec::new(), "deleted", true);
    }
    if args.bulk.dry_run {
        return bulk::preview(ctx, &client, &mut targets, "delete").await;
    }
    bulk::confirm(
        ctx,
        &client,
        consent,
        &mut targets,
        "delete",
        "Deleting cannot be undone: sites using these tokens stop working at once.",
    )
    .await?;
    let delete_one = async |target: &Target, progress: &Progress| {
        let deleted = client.delete(&target.id).await;
        let label = target
            .name()
            .filter(|n| !n.is_empty())
            .map_or(String::new(), |n| format!(" \"{n}\""));
        match &deleted {
            Ok(Deleted::Now) => progress.note(&format!("Deleted {}{label}.", target.id)),
            Ok(Deleted::GoneOnRetry) => progress.note(&format!(
                "{}{label} is gone: deleted by the first attempt, whose reply was lost, or it never existed.",
                target.id
            )),
            Err(_) => {}
        }
        let result = deleted.map(|_| None).map_err(CliError::from);
        Outcome {
            action: "delete",
            id: Some(target.id.clone()),
            name: target.name(),
            result,
        }
    };
    let outcomes = bulk::run_each(
        ctx,
        &targets,
        usize::from(args.bulk.concurrency),
        ("deleting", "delete"),
        &|| ctx.printer.stdout_closed().then_some("stdout was closed"),
        delete_one,
    )
    .await;
    bulk::report(ctx, outcomes, "deleted", true)
}
