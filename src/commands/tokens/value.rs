//! `rtctl tokens value ID`: the bare value and a newline, nothing else on stdout.

use super::check_ids;
use crate::api::ApiError;
use crate::cli::tokens::ValueArgs;
use crate::commands::Context;
use crate::error::CliError;

pub(super) async fn run(ctx: &Context, args: ValueArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    match ctx.client()?.value(&args.id).await {
        Ok(value) => ctx.printer.line(&value),
        // A token created before values were stored: the remedy is a new value.
        Err(e @ ApiError::Status { status: 400, .. }) => Err(CliError::failure(format!(
            "token {} has no readable value: {e}",
            args.id
        ))
        .with_hint(format!(
            "rtctl tokens rotate {} issues a new value you can read (the old one stops working at once)",
            args.id
        ))),
        Err(e) => Err(e.into()),
    }
}
