//! `rtctl tokens delete ID… | --all …`.

use crate::cli::tokens::DeleteArgs;
use crate::commands::Context;
use crate::commands::bulk::{self, Outcome, Target};
use crate::error::CliError;
use crate::output::Progress;

pub(super) async fn run(ctx: &Context, args: DeleteArgs) -> Result<(), CliError> {
    let (client, mut targets, consent) = bulk::start(ctx, &args.bulk, "delete").await?;
    if targets.is_empty() {
        ctx.printer
            .note("No tokens match the selection; nothing to delete.");
        return bulk::report(ctx, Vec::new(), "deleted", true);
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
        let result = client
            .delete(&target.id)
            .await
            .map(|_| None)
            .map_err(CliError::from);
        if result.is_ok() {
            let label = target
                .name()
                .filter(|n| !n.is_empty())
                .map_or(String::new(), |n| format!(" \"{n}\""));
            progress.note(&format!("Deleted {}{label}.", target.id));
        }
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
        "deleting",
        "delete",
        delete_one,
    )
    .await;
    bulk::report(ctx, outcomes, "deleted", true)
}
