//! `rtctl tokens get ID`.

use serde_json::Value;

use super::{check_ids, time_cell, token_json};
use crate::cli::tokens::GetArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::{self, Format};

pub async fn run(ctx: &Context, args: GetArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let token = ctx.client()?.get(&args.id).await?;
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        return printer.json(&token_json(&token, args.reveal));
    }
    let f = &token.fields;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let list = |v: &Option<Vec<String>>| v.as_deref().unwrap_or(&[]).join(", ");
    let number = |key: &str| match token.raw.get(key) {
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let value = match &f.token_value {
        Some(v) if args.reveal => v.clone(),
        Some(_) => output::mask(f.token_prefix.as_deref(), f.token_hint.as_deref()),
        None => format!(
            "(not stored: run rtctl tokens rotate {} for a readable value)",
            token.id()
        ),
    };
    let config = token
        .raw
        .get("config")
        .filter(|c| !c.is_null())
        .map(Value::to_string)
        .unwrap_or_default();
    let pairs = [
        ("id", token.id().to_string()),
        ("name", token.name().to_string()),
        ("environment", token.environment().to_string()),
        (
            "status",
            if token.is_active() {
                "active"
            } else {
                "inactive"
            }
            .to_string(),
        ),
        ("origins", token.origins().join(", ")),
        ("flows", list(&f.flow_ids)),
        ("agents", list(&f.agent_ids)),
        ("default flow", text(&f.default_flow_id)),
        ("value", value),
        ("rate limit/min", number("rateLimitPerMinute")),
        ("rate limit/hour", number("rateLimitPerHour")),
        ("max messages", number("maxMessagesPerSession")),
        ("idle timeout (min)", number("sessionIdleTimeoutMinutes")),
        ("target alias", number_or_text(&token.raw, "targetAlias")),
        (
            "target version",
            number_or_text(&token.raw, "targetVersionId"),
        ),
        ("pin to version", number_or_text(&token.raw, "pinToVersion")),
        (
            "product surface",
            number_or_text(&token.raw, "productSurfaceId"),
        ),
        ("conversations", number("conversationCount")),
        (
            "last used",
            time_cell(printer, f.last_used_at.as_deref(), "never"),
        ),
        ("created", time_cell(printer, f.created_at.as_deref(), "")),
        ("updated", time_cell(printer, f.updated_at.as_deref(), "")),
        ("config", config),
    ];
    printer.record(&pairs)
}

fn number_or_text(raw: &serde_json::Map<String, Value>, key: &str) -> String {
    match raw.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
