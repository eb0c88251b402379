//! `rtctl tokens conversations ID`.

use super::{check_ids, time_cell};
use crate::api::paging::{Conversations, Pager};
use crate::cli::tokens::ConversationsArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::Format;

const HEADERS: &[&str] = &["id", "name", "flow", "origin", "messages", "created"];
/// On a narrow terminal origins lose `https://`; CREATED goes, then FLOW and MESSAGES
/// before the origin (where the chat came from) is cut; then name, flow and origin are cut.
const FIT: crate::output::Fit = crate::output::Fit {
    drop: &[5, 2, 4],
    cut: &[1, 2, 3],
    origins: &[3],
};

pub(super) async fn run(ctx: &Context, mut args: ConversationsArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let client = ctx.client()?;
    args.id = crate::commands::token_ref::resolve_one(ctx, &client, &args.id).await?;
    let printer = &ctx.printer;
    let limit = (!args.all).then_some(args.limit);
    let mut json = (printer.format == Format::Json).then(|| printer.json_array());
    // Streamed page by page, in columns sized from the first.
    let mut table = printer.list_table(HEADERS, FIT);
    let mut shown: u64 = 0;
    let mut pages = Pager::new(
        &client,
        Conversations {
            token_id: &args.id,
            flow_id: args.flow.as_deref(),
        },
    );
    if args.all {
        pages = pages.whole();
    }
    loop {
        let size = limit.map_or(u64::MAX, |l| l - shown);
        let Some(page) = pages
            .next_sized(u32::try_from(size).unwrap_or(u32::MAX))
            .await?
        else {
            break;
        };
        let mut rows = Vec::new();
        for conversation in &page {
            shown += 1;
            match &mut json {
                Some(array) => array.push(&conversation.raw)?,
                None => rows.push(vec![
                    conversation.text("id"),
                    conversation.text("name"),
                    conversation.text("flowId"),
                    conversation.text("origin"),
                    conversation.text("messageCount"),
                    time_cell(
                        ctx,
                        conversation.raw.get("createdAt").and_then(|v| v.as_str()),
                        "",
                    ),
                ]),
            }
        }
        table.rows(&rows)?;
        if limit.is_some_and(|l| shown >= l) {
            break;
        }
    }
    if let Some(array) = json {
        array.finish()?;
    }
    if shown == 0 {
        printer.note("No conversations.");
    }
    Ok(())
}
