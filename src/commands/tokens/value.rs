//! `rtctl tokens value ID`: the bare value and a newline, nothing else on stdout; with
//! `--to-command`, the value handed to the command and the id on stdout (delivering a value
//! again after a sink failed).

use serde_json::json;

use crate::api::ApiError;
use crate::cli::tokens::ValueArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::deliver::{Delivery, NewValue, ValueFormat};
use crate::ops::token_ref;
use crate::token::TokenView;

pub(super) async fn run(ctx: &Context, args: ValueArgs) -> Result<(), CliError> {
    token_ref::check([&args.id])?;
    let sink = ctx.sink(args.sink.to_command.as_deref(), args.sink.timeout())?;
    let client = ctx.client()?;
    let id = token_ref::resolve_one(ctx, &client, &args.id).await?;
    let value = match client.value(&id).await {
        Ok(value) => value,
        // A token created before values were stored: the remedy is a new value.
        Err(e @ ApiError::Status { status: 400, .. }) if !e.is_invalid_id() => {
            return Err(CliError::failure(format!("token {id} has no readable value: {e}"))
                .with_hint(format!(
                    "rtctl tokens rotate {id} issues a new value you can read (the old one stops working at once)"
                )));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(sink) = sink else {
        return ctx.printer.line(&value);
    };
    // A sink's environment names the token.
    let token = client.get(&id).await?;
    let delivery = Delivery::new(ctx, ValueFormat::Document, Some(&sink));
    let new = NewValue {
        id: &id,
        name: Some(token.name()),
        environment: token.environment(),
        previous: None,
        value: &value,
    };
    let element = json!({"id": id, "name": token.name(), "ok": true, "value": value});
    if let Err(undelivered) = delivery.value(&new, element).await {
        return Err(undelivered.error(&delivery, &id, ""));
    }
    delivery.finish()
}
