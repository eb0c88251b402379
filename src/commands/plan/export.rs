//! `rtctl export`: the account's tokens in the token-file format. An export always plans
//! cleanly: tokens a file cannot name (no name, or a name shared with another token) are
//! left out and listed on stderr, and values are written as the account holds them.

use crate::cli::plan::ExportArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::ops::plan::{by_name, describe_current};
use crate::token::TokenView;
use crate::token_file::{EXPORTED_TOKEN_BYTES, MAX_FILE_BYTES, SUPPORTED_TOKENS, to_toml};

pub(crate) async fn run(ctx: &Context, args: ExportArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let (filters, all) =
        crate::ops::surfaces::with_all_tokens(&args.filters.selection(), &client).await?;
    let wanted = |t: &crate::api::ClientToken| filters.admits(t);
    // Uniqueness is the account's, not the selection's: plan matches names account-wide.
    let (named, unmanageable) = by_name(&all);
    let described: Vec<_> = named
        .values()
        .filter(|tokens| tokens.len() == 1)
        .map(|tokens| tokens[0])
        .filter(|t| wanted(t))
        .map(describe_current)
        .collect();
    let selected: std::collections::HashSet<&str> =
        all.iter().filter(|t| wanted(t)).map(|t| t.id()).collect();
    let left_out: Vec<String> = unmanageable
        .iter()
        .filter(|u| selected.contains(u.id.as_str()))
        .map(|u| format!("{} ({})", u.id, u.reason))
        .collect();
    // The surfaces' names go beside their ids, as comments; without them the file is as good.
    let catalogue = match described
        .iter()
        .any(|d| d.values.contains(crate::token::Field::ProductSurfaceId))
    {
        false => None,
        true => match crate::ops::surfaces::Catalogue::load(&client).await {
            Ok(catalogue) => Some(catalogue),
            Err(e) => {
                ctx.printer.debug(&format!(
                    "could not read the surfaces' names: {}",
                    e.message
                ));
                None
            }
        },
    };
    let label = |id: &str| catalogue.as_ref().and_then(|c| c.label(id));
    let text = to_toml(&described, &label).map_err(CliError::failure)?;
    // What plan cannot read is not written: the two limits are one.
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(CliError::failure(format!(
            "the export of {} tokens is {:.1} MiB, more than the {} a token file may be (rtctl supports {} tokens of {} bytes each on average): it would not plan",
            described.len(),
            text.len() as f64 / (1024.0 * 1024.0),
            crate::files::size(MAX_FILE_BYTES),
            SUPPORTED_TOKENS,
            EXPORTED_TOKEN_BYTES,
        ))
        .with_hint("export part of the account: --environment, --surface or another filter"));
    }
    ctx.printer.note(&format!(
        "Exported {} token{}.",
        described.len(),
        if described.len() == 1 { "" } else { "s" }
    ));
    if !left_out.is_empty() {
        ctx.printer.warn(&format!(
            "left out {} token{} a token file cannot name: {}; give each a unique name with rtctl tokens update ID --name NAME",
            left_out.len(),
            if left_out.len() == 1 { "" } else { "s" },
            left_out.join(", ")
        ));
    }
    // A file gets the exact bytes; a terminal sees names that could steer it escaped.
    if ctx.printer.terminal().stdout {
        let shown = crate::untrusted::for_terminal(&text, true);
        ctx.printer.bytes(shown.as_bytes())
    } else {
        ctx.printer.bytes(text.as_bytes())
    }
}
