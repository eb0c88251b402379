//! `rtctl audit`: the account's client tokens against a security policy.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::tokens::Filters;

/// Check the account's client tokens against a security policy
///
/// Reads every token (one paged read) and reports findings: a stable rule id, a severity
/// (error, warning, note), the token, what is wrong and the command that fixes it. With
/// -f tokens.toml, the file's tokens are audited as they would be after `rtctl apply`, its
/// [audit] section sets the defaults of --fail-on, --ignore and --dormant, and
/// `[tokens."NAME".audit] ignore = [...]` silences a rule for one token. Exits 8 when a
/// finding reaches --fail-on (default error). --format sarif prints SARIF 2.1.0 for code
/// scanning, its results pointing at the tokens' tables in the file (so it needs -f).
///
/// Examples:
///   rtctl audit
///   rtctl audit -e live --fail-on warning
///   rtctl audit -f tokens.toml --format sarif > rtctl.sarif
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub filters: Filters,

    /// A token file: audit its tokens as they would be after apply, and locate findings in it
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// An active token unused for longer than this is dormant (30d, 12w) [default: 90d]
    #[arg(long, value_parser = crate::duration::parse, value_name = "DURATION")]
    pub dormant: Option<Duration>,

    /// Exit 8 when a finding is at least this severe [default: error]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,

    /// Leave out the findings of RULE (repeatable; replaces the file's list)
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,

    /// How to print the findings: the usual output (table, TSV, --json) or SARIF 2.1.0
    #[arg(long, value_enum, default_value_t = AuditFormat::Report, value_name = "FORMAT")]
    pub format: AuditFormat,
}

/// The severity from which findings fail the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Error,
    Warning,
    Note,
    /// Never exit 8: report only
    Never,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuditFormat {
    /// A report grouped by token on a terminal, TSV in a pipe, JSON with --json
    Report,
    /// SARIF 2.1.0, for code scanning (needs -f)
    Sarif,
}
