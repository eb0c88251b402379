//! `rtctl tokens delete ID…`.

use super::{Outcome, check_ids, confirm_on_terminal, finish_bulk};
use crate::cli::tokens::DeleteArgs;
use crate::commands::Context;
use crate::commands::confirm::{Consent, consent};
use crate::error::CliError;

pub async fn run(ctx: &Context, args: DeleteArgs) -> Result<(), CliError> {
    check_ids(&args.ids)?;
    let consent = consent(ctx, args.yes, "delete")?;
    let client = ctx.client()?;
    let mut names = vec![None; args.ids.len()];
    if consent == Consent::Ask {
        let tokens = confirm_on_terminal(
            &client,
            &args.ids,
            "delete",
            "Deleting cannot be undone: sites using these tokens stop working at once.",
        )
        .await?;
        names = tokens.iter().map(|t| Some(t.name().to_string())).collect();
    }
    let mut outcomes = Vec::new();
    for (id, name) in args.ids.iter().zip(names) {
        let result: Result<Option<String>, CliError> = client
            .delete(id)
            .await
            .map(|_| None)
            .map_err(CliError::from);
        if result.is_ok() {
            let label = name.as_ref().map_or(String::new(), |n| format!(" \"{n}\""));
            ctx.printer.note(&format!("Deleted {id}{label}."));
        }
        outcomes.push(Outcome {
            id: id.clone(),
            name,
            result,
        });
    }
    finish_bulk(ctx, outcomes, "deleted")
}
