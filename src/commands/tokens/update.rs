//! `rtctl tokens update ID`: a partial update of the fields given.

use serde_json::json;

use super::request_from;
use crate::cli::tokens::UpdateArgs;
use crate::error::CliError;
use crate::ops::confirm;
use crate::ops::present::show_warnings;
use crate::ops::present::{describe, token_json};
use crate::ops::token_ref::check_ids;
use crate::output::Format;
use crate::session::Context;
use crate::token::{Field, TokenView};

pub(super) async fn run(ctx: &Context, mut args: UpdateArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let printer = &ctx.printer;
    let request = request_from(&args.fields.0, ctx)?;
    if request.is_empty() {
        return Err(
            CliError::usage("nothing to update: give at least one field to change")
                .with_hint("see rtctl tokens update --help"),
        );
    }
    let client = ctx.client()?;
    args.id = crate::ops::token_ref::resolve_one(ctx, &client, &args.id).await?;
    if args.dry_run {
        return preview(ctx, &client.get(&args.id).await?, &request);
    }
    let deactivate = request.get(Field::IsActive) == Some(&serde_json::Value::Bool(false));
    if !args.yes && (request.contains(Field::AllowedOrigins) || deactivate) {
        // Whether this is risky depends on the token as it is: read it first.
        let current = client.get(&args.id).await?;
        let before: Vec<String> = current.origins().iter().map(|o| o.to_string()).collect();
        let after: Option<Vec<String>> = request.contains(Field::AllowedOrigins).then(|| {
            request
                .strings(Field::AllowedOrigins)
                .into_iter()
                .map(str::to_string)
                .collect()
        });
        let risks = confirm::risks(
            current.environment(),
            &before,
            after.as_deref(),
            deactivate && current.is_active(),
        );
        confirm::consent_to(ctx, &describe(&current), &risks, false).await?;
    }
    let (token, warnings) = match client.update(&args.id, &request).await {
        Ok(updated) => updated,
        // "Client token or referenced flow not found": the token itself tells which.
        Err(e) if e.status() == Some(404) && request.contains(Field::FlowIds) => {
            return Err(match client.get(&args.id).await {
                Ok(_) => super::flow_not_found(e, &request),
                Err(gone) => gone.into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    show_warnings(printer, &warnings);
    printer.note(&format!("Updated {}.", describe(&token)));
    if printer.format == Format::Json {
        // The token as `get --json` prints it; the server's warnings went to stderr.
        printer.json(&token_json(&token, false))?;
    }
    Ok(())
}

/// `--dry-run`: each field given, as the token holds it and as it would be.
fn preview(
    ctx: &Context,
    token: &crate::api::ClientToken,
    request: &crate::token::Values,
) -> Result<(), CliError> {
    let printer = &ctx.printer;
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (field, value) in request.iter() {
        let key = field.json();
        let held = token
            .raw
            .get(key)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if printer.format != Format::Json {
            let mark = if held == *value { " " } else { "~" };
            printer.line(&format!("{mark} {}: {held} -> {value}", field.spec().label))?;
        }
        before.insert(key.into(), held);
        after.insert(key.into(), value.clone());
    }
    if printer.format == Format::Json {
        printer
            .json(&json!({"id": token.id(), "dryRun": true, "before": before, "after": after}))?;
    }
    printer.note(&format!("Dry run: {} was not changed.", describe(token)));
    Ok(())
}
