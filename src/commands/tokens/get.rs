//! `rtctl tokens get ID`: the token as a record, field by field in the order and with the
//! labels of the token description.

use serde_json::Value;

use super::{check_ids, masked_value, status, time_cell, token_json};
use crate::cli::tokens::GetArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::Format;
use crate::token::{Field, Show, TokenView};

pub(super) async fn run(ctx: &Context, args: GetArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let token = ctx.client()?.get(&args.id).await?;
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        return printer.json(&token_json(&token, args.reveal));
    }
    let mut pairs = Vec::new();
    for field in Field::ALL.iter().copied() {
        let spec = field.spec();
        let shown = match spec.show {
            Show::Hidden => continue,
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
                    crate::token::retiring::minute(mark.after),
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
