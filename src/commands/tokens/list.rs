//! `rtctl tokens list`: pages through the API and renders as pages arrive.

use super::{LIST_FIT, LIST_HEADERS, LIST_HEADERS_WIDE, ListedToken, surface_cell, token_row};
use crate::api::ClientToken;
use crate::cli::tokens::ListArgs;
use crate::commands::Context;
use crate::commands::surfaces;
use crate::error::CliError;
use crate::output::Format;

pub(super) async fn run(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let printer = &ctx.printer;
    let limit = (!args.all).then_some(args.limit);

    let mut json = (printer.format == Format::Json).then(|| printer.json_array());
    // Tables, TSV and JSON all stream page by page (a table's columns come from its first).
    let surfaces_wanted = printer.is_wide() && printer.format == Format::Table;
    let headers = if surfaces_wanted {
        LIST_HEADERS_WIDE
    } else {
        LIST_HEADERS
    };
    let mut table = printer.list_table(headers, LIST_FIT);
    let mut shown: u64 = 0;
    let mut cut_short = false;
    // The whole list is read ahead, a window of pages in flight; a limited one page by page.
    let mut pages = if args.all {
        client.all_tokens()
    } else {
        client.tokens()
    };
    // Resolving --surface and reading the first page go at once; so does reading the
    // surfaces' names for `-o wide`.
    let (filters, catalogue, first) = tokio::try_join!(
        surfaces::resolved(&args.filters, &client),
        async {
            match surfaces_wanted {
                true => surfaces::Catalogue::load(&client).await.map(Some),
                false => Ok(None),
            }
        },
        async { pages.next().await.map_err(CliError::from) },
    )?;
    let wanted = |t: &ClientToken| filters.admits(t);
    let mut first = Some(first);
    loop {
        let page = match first.take() {
            Some(page) => page,
            None => pages.next().await?,
        };
        let Some(page) = page else { break };
        let mut rows = Vec::new();
        let received = page.len();
        for (index, token) in page.iter().enumerate() {
            if limit.is_some_and(|l| shown >= l) {
                cut_short = index < received || !pages.is_finished();
                break;
            }
            if !wanted(token) {
                continue;
            }
            shown += 1;
            match &mut json {
                Some(array) => array.push(&ListedToken {
                    token,
                    reveal: args.reveal,
                })?,
                None => {
                    let mut row = token_row(ctx, token);
                    if let Some(catalogue) = &catalogue {
                        row.push(surface_cell(catalogue, token));
                    }
                    rows.push(row)
                }
            }
        }
        if !rows.is_empty() {
            table.rows(&rows)?;
        }
        if cut_short {
            break;
        }
        if limit.is_some_and(|l| shown >= l) && !pages.is_finished() {
            cut_short = true; // the limit filled exactly at a page's end, and more pages follow
            break;
        }
    }
    if let Some(array) = json {
        array.finish()?;
    }
    if shown == 0 {
        printer.note("No client tokens match.");
    } else if cut_short {
        printer.note(&format!(
            "Showing the first {shown}; more exist: use --all (or --limit N) to see them."
        ));
    }
    Ok(())
}
