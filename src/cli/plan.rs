//! `rtctl plan`, `rtctl apply`, `rtctl export`: client tokens described in a file.

use std::path::PathBuf;

use clap::Args;

/// Show how the account's tokens differ from a token file
///
/// Matches tokens by name and prints what `apply` would create, update (field by field),
/// replace (a change to environment or product surface, which deletes the token and issues
/// a new value) or, with --prune, delete. Keys left out of the file are not managed. Coloured
/// on a terminal; --json for machines. With --expect-no-changes, exits 6 when the account has
/// drifted from the file (and 0 when it matches), for CI drift checks.
///
/// Examples:
///   rtctl plan -f tokens.toml
///   rtctl plan -f tokens.toml --prune --json
///   rtctl plan -f tokens.toml --expect-no-changes    # in CI: exit 6 on drift
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct PlanArgs {
    /// The token file (TOML)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,

    /// Also plan to delete the account's tokens that the file does not name
    #[arg(long)]
    pub prune: bool,

    /// Exit 6 if anything would change (and 0 if nothing would)
    #[arg(long)]
    pub expect_no_changes: bool,
}

/// Make the account's tokens match a token file
///
/// Shows the plan, asks on a terminal (refuses without one unless --yes), then creates,
/// updates and, with --prune, deletes. A replacement (a change to environment or product
/// surface: the token is recreated and gets a new value) needs --allow-replace. Each new
/// token's value is delivered before the next change: printed once as an ID<TAB>NAME<TAB>value
/// line (the name as in the file, tabs and line breaks as spaces), written to --values-out as
/// KEY=value (KEY: the name upper-cased, every run of characters other than A-Z0-9 turned
/// into _), or handed to --to-command, which then decides (a refused value deletes that token
/// and stops the apply).
///
/// Examples:
///   rtctl apply -f tokens.toml
///   rtctl apply -f tokens.toml --yes --values-out new-values.env
///   rtctl apply -f tokens.toml --yes --to-command 'sh -c "gh secret set \"WIDGET_$RTCTL_TOKEN_ID\""'
///   rtctl apply -f tokens.toml --prune --allow-replace --yes --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ApplyArgs {
    /// The token file (TOML)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,

    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Also delete the account's tokens that the file does not name
    #[arg(long)]
    pub prune: bool,

    /// Allow replacing tokens (delete and recreate, which issues new values)
    #[arg(long)]
    pub allow_replace: bool,

    /// Write the new tokens' values to FILE (created new, mode 0600) as KEY=value lines
    /// instead of stdout
    #[arg(long, value_name = "FILE", conflicts_with = "to_command")]
    pub values_out: Option<PathBuf>,

    #[command(flatten)]
    pub sink: super::tokens::SinkArgs,
}

/// Print the account's tokens as a token file
///
/// Writes TOML to stdout in the format plan and apply read; planning the exported file shows
/// no changes. Token values are never exported.
///
/// Examples:
///   rtctl export > tokens.toml
///   rtctl export --environment live --name-contains widget > live-widgets.toml
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub filters: super::tokens::Filters,
}
