//! `rtctl tokens list`: pages through the API; JSON is written as pages arrive, a table
//! once the whole list (and so every rollover's mark) has been read.

use crate::api::ClientToken;
use crate::cli::tokens::ListArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::present::{
    LIST_FIT, LIST_HEADERS, LIST_HEADERS_WIDE, ListedToken, surface_cell, token_row,
};
use crate::ops::surfaces;
use crate::output::Format;
use crate::token::rollover::Successors;

pub(super) async fn run(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let printer = &ctx.printer;
    let limit = (!args.all).then_some(args.limit);
    let json = printer.format == Format::Json;

    let mut array = json.then(|| printer.json_array());
    let surfaces_wanted = printer.is_wide() && printer.format == Format::Table;
    let headers = if surfaces_wanted {
        LIST_HEADERS_WIDE
    } else {
        LIST_HEADERS
    };
    let mut table = printer.list_table(headers, LIST_FIT);
    let mut shown: u64 = 0;
    let mut cut_short = false;
    // JSON streams as pages arrive, and a limited list reads no further than it shows. A
    // table's STATUS says which tokens are rolling over, which only their predecessors
    // (older, so listed later) tell: tables read the whole list, keeping only the rows shown
    // and the marks of the rest.
    let mut pages = if args.all || !json {
        client.all_tokens()
    } else {
        client.tokens()
    };
    // Resolving --surface and reading the first page go at once; so does reading the
    // surfaces' names for `-o wide`.
    let selection = args.filters.selection();
    let (filters, catalogue, first) = tokio::try_join!(
        surfaces::resolved(&selection, &client),
        async {
            match surfaces_wanted {
                true => surfaces::Catalogue::load(&client).await.map(Some),
                false => Ok(None),
            }
        },
        async { pages.next().await.map_err(CliError::from) },
    )?;
    let wanted = |t: &ClientToken| filters.admits(t);
    let mut successors = Successors::default();
    let mut kept: Vec<ClientToken> = Vec::new();
    let mut first = Some(first);
    loop {
        let page = match first.take() {
            Some(page) => page,
            None => pages.next().await?,
        };
        let Some(page) = page else { break };
        let received = page.len();
        // JSON is written a page at a time: one write, not one a token.
        let mut listed = Vec::new();
        for (index, token) in page.into_iter().enumerate() {
            if !json {
                // Only a table's STATUS column needs the marks.
                successors.note(&token);
            }
            if !wanted(&token) {
                continue;
            }
            if limit.is_some_and(|l| shown >= l) {
                cut_short = true;
                if json {
                    cut_short = index < received || !pages.is_finished();
                    break;
                }
                continue;
            }
            shown += 1;
            match json {
                true => listed.push(token),
                false => kept.push(token),
            }
        }
        if let Some(array) = &mut array {
            array.push_all(listed.iter().map(|token| ListedToken {
                token,
                reveal: args.reveal,
            }))?;
        }
        if json && cut_short {
            break;
        }
        if json && limit.is_some_and(|l| shown >= l) && !pages.is_finished() {
            cut_short = true; // the limit filled exactly at a page's end, and more pages follow
            break;
        }
    }
    if let Some(array) = array {
        array.finish()?;
    } else if !kept.is_empty() {
        let rows: Vec<Vec<String>> = kept
            .iter()
            .map(|token| {
                let mut row = token_row(ctx, token, &successors);
                if let Some(catalogue) = &catalogue {
                    row.push(surface_cell(catalogue, token));
                }
                row
            })
            .collect();
        table.rows(&rows)?;
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
