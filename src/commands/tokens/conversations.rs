//! `rtctl tokens conversations ID`.

use super::{check_ids, time_cell};
use crate::cli::tokens::ConversationsArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::Format;

/// The API's largest conversations page.
const PAGE: u64 = 100;

const HEADERS: &[&str] = &["id", "name", "flow", "origin", "messages", "created"];
/// Name and origin may wrap on a narrow terminal; the rest stays whole.
const WRAP: &[usize] = &[1, 3];

pub async fn run(ctx: &Context, args: ConversationsArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let client = ctx.client()?;
    let printer = &ctx.printer;
    let limit = (!args.all).then_some(args.limit);
    let mut json = (printer.format == Format::Json).then(|| printer.json_array());
    let mut rows = Vec::new();
    let mut shown: u64 = 0;
    let mut offset: u64 = 0;
    loop {
        let size = limit.map_or(PAGE, |l| (l - shown).min(PAGE));
        let page = client
            .conversations(&args.id, args.flow.as_deref(), size as u32, offset)
            .await?;
        let received = page.conversations.len() as u64;
        for conversation in &page.conversations {
            shown += 1;
            match &mut json {
                Some(array) => array.push(&serde_json::Value::Object(conversation.raw.clone()))?,
                None => rows.push(vec![
                    conversation.text("id"),
                    conversation.text("name"),
                    conversation.text("flowId"),
                    conversation.text("origin"),
                    conversation.text("messageCount"),
                    time_cell(
                        printer,
                        conversation.raw.get("createdAt").and_then(|v| v.as_str()),
                        "",
                    ),
                ]),
            }
        }
        let more = page.has_more.unwrap_or(received == size);
        if !more || received == 0 || limit.is_some_and(|l| shown >= l) {
            break;
        }
        offset += received;
    }
    match json {
        Some(array) => array.finish()?,
        None => printer.table(HEADERS, &rows, WRAP)?,
    }
    if shown == 0 {
        printer.note("No conversations.");
    }
    Ok(())
}
