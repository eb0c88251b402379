//! `rtctl tokens list`: pages through the API and renders as pages arrive.

use super::{LIST_HEADERS, LIST_WRAP, token_json, token_row};
use crate::api::ClientToken;
use crate::cli::tokens::ListArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::Format;

/// The page size asked of the API: its maximum, so a list costs as few requests as possible.
const PAGE: u32 = 200;

pub async fn run(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let printer = &ctx.printer;
    let limit = (!args.all).then_some(args.limit);
    let wanted = |t: &ClientToken| {
        args.environment
            .is_none_or(|e| t.environment() == e.as_str())
            && (!args.active || t.is_active())
            && (!args.inactive || !t.is_active())
    };

    let mut json = (printer.format == Format::Json).then(|| printer.json_array());
    // A table needs every row to size its columns; TSV and JSON stream page by page.
    let mut table_rows = Vec::new();
    let mut shown: u64 = 0;
    let mut offset: u64 = 0;
    let mut cut_short = false;
    loop {
        let page = client.list_page(PAGE, offset).await?;
        let received = page.tokens.len();
        let mut rows = Vec::new();
        let mut limit_reached = false;
        for (index, token) in page.tokens.iter().enumerate() {
            if limit.is_some_and(|l| shown >= l) {
                cut_short = index < received || page.has_more.unwrap_or(true);
                limit_reached = true;
                break;
            }
            if !wanted(token) {
                continue;
            }
            shown += 1;
            match &mut json {
                Some(array) => array.push(&token_json(token, args.reveal))?,
                None => rows.push(token_row(printer, token)),
            }
        }
        if printer.format == Format::Table {
            table_rows.extend(rows);
        } else if !rows.is_empty() {
            printer.table(LIST_HEADERS, &rows, LIST_WRAP)?;
        }
        if limit_reached || !page.has_more_after(received, PAGE) {
            break;
        }
        offset += received as u64;
        if limit.is_some_and(|l| shown >= l) {
            cut_short = true; // the limit filled exactly at a page's end, and more pages follow
            break;
        }
    }
    if let Some(array) = json {
        array.finish()?;
    } else if printer.format == Format::Table {
        printer.table(LIST_HEADERS, &table_rows, LIST_WRAP)?;
    }
    if shown == 0 {
        printer.note("No client tokens match.");
    } else if cut_short {
        printer.note(&format!(
            "Showing the first {shown}; use --all to see every token."
        ));
    }
    Ok(())
}
