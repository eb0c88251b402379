//! `rtctl export`: the account's tokens in the token-file format.

use super::describe_current;
use crate::cli::plan::ExportArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::manifest::to_toml;
use crate::token::TokenView;

pub(crate) async fn run(ctx: &Context, args: ExportArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let needle = args.name_contains.as_ref().map(|s| s.to_lowercase());
    let tokens: Vec<_> = client
        .list_all()
        .await?
        .into_iter()
        .filter(|t| {
            args.environment
                .as_ref()
                .is_none_or(|e| t.environment() == e)
        })
        .filter(|t| {
            needle
                .as_ref()
                .is_none_or(|n| t.name().to_lowercase().contains(n))
        })
        .collect();
    // The file names tokens, so two with one name cannot both be written.
    let mut names: Vec<&str> = tokens.iter().map(|t| t.name()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(CliError::usage(format!(
            "more than one token is named \"{}\": a token file names tokens, so names must be unique",
            pair[0]
        ))
        .with_hint("rename all but one with rtctl tokens update ID --name NEW-NAME"));
    }
    let described: Vec<_> = tokens.iter().map(describe_current).collect();
    let text = to_toml(&described).map_err(CliError::failure)?;
    ctx.printer.note(&format!(
        "Exported {} token{}.",
        described.len(),
        if described.len() == 1 { "" } else { "s" }
    ));
    ctx.printer.bytes(text.as_bytes())
}
