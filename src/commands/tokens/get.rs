//! `rtctl tokens get ID`: the token as a record, field by field in the order and with the
//! labels of the token description.

use serde_json::Value;

use crate::cli::tokens::GetArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::present::{masked_value, status, time_cell, token_json};
use crate::ops::token_ref::check_ids;
use crate::output::Format;
use crate::token::{Field, Show, TokenView};

pub(super) async fn run(ctx: &Context, args: GetArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let client = ctx.client()?;
    let id = crate::ops::token_ref::resolve_one(ctx, &client, &args.id).await?;
    let token = client.get(&id).await?;
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        return printer.json(&token_json(&token, args.reveal));
    }
    // The surface as the dashboard names it. Its id alone still says what it is, so a
    // key that may not list surfaces costs the name, not the command.
    let surface = match token.text(Field::ProductSurfaceId) {
        None => None,
        Some(id) => match crate::ops::surfaces::Catalogue::load(&client).await {
            Ok(catalogue) => catalogue.label(id).map(|label| format!("{label} ({id})")),
            Err(e) => {
                printer.debug(&format!("could not read the surface's name: {}", e.message));
                None
            }
        },
    };
    let mut pairs = Vec::new();
    for field in Field::ALL.iter().copied() {
        let spec = field.spec();
        let shown = match spec.show {
            Show::Hidden => continue,
            Show::Plain if field == Field::ProductSurfaceId && surface.is_some() => {
                surface.clone().unwrap_or_default()
            }
            Show::Plain => plain(token.field(field)),
            Show::Status => match token.retiring() {
                Some(mark) => format!(
                    "{} after {} (its successor is {})",
                    match status(&token) {
                        "retiring" => "retiring",
                        other =>
                            if other == "inactive" {
                                "inactive, retiring"
                            } else {
                                other
                            },
                    },
                    crate::token::marks::minute(mark.after),
                    mark.successor
                ),
                None => status(&token).to_string(),
            },
            Show::Time { missing } => time_cell(ctx, token.text(field), missing),
            Show::Secret => match token.field(field) {
                Some(Value::String(value)) if args.reveal => value.clone(),
                Some(Value::String(_)) => masked_value(&token),
                None => format!(
                    "(not stored: run rtctl tokens rotate {} for a readable value)",
                    token.id()
                ),
                // Not a string: nothing says the value is lost, so no rotation is advised.
                Some(_) => format!(
                    "(unreadable in this reply: rtctl tokens value {} asks for it)",
                    token.id()
                ),
            },
        };
        pairs.push((spec.label, shown));
    }
    printer.record(&pairs)
}

/// A value for a record: text as is, lists joined, anything else as compact JSON.
fn plain(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}
