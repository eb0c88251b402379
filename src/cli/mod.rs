//! The command-line grammar (clap derive). Definitions only: behaviour lives in
//! `commands/`, one file per command group, mirroring this folder.

pub mod auth;
pub mod emulator;
pub mod origins;
pub mod tokens;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Printed at the end of `rtctl --help`: scripts branch on these.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (an empty list and a no-op too)
  1    failure: server, network or unexpected reply
  2    usage error or invalid input
  3    cancelled at a prompt
  4    authentication or permission (no key, 401, 403)
  5    not found (404)
  130  interrupted";

/// Administer Runtype client tokens
///
/// Try it with no account: rtctl --local tokens list
///
/// Environment: RUNTYPE_API_KEY (the API key; overrides a stored login), RUNTYPE_API_URL (the
/// API's base URL), RTCTL_PROFILE (the profile), RTCTL_CONFIG_DIR (where config.toml lives),
/// RTCTL_DATA_DIR (where --local keeps its state), NO_COLOR (no colour on stderr).
#[derive(Debug, Parser)]
#[command(name = "rtctl", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    #[command(subcommand)]
    Origins(origins::OriginsCommand),
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    Emulator(emulator::EmulatorArgs),
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Use the profile NAME from config.toml [env: RTCTL_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Base URL of the Runtype API [env: RUNTYPE_API_URL] [default: https://api.runtype.com]
    #[arg(long, global = true, value_name = "URL", conflicts_with = "local")]
    pub api_url: Option<String>,

    /// Run against a local emulator with demo data, started for this command (no account
    /// needed; its state persists in the data directory)
    #[arg(long, global = true)]
    pub local: bool,

    /// Output format [default: table on a terminal, tsv otherwise]
    #[arg(long, short = 'o', global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Print JSON (same as --output json)
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// Filter the JSON output with a jq expression (implies --json)
    #[arg(long, global = true, value_name = "EXPR")]
    pub jq: Option<String>,

    /// Never prompt; commands that need confirmation then require --yes
    #[arg(long, global = true)]
    pub no_input: bool,

    /// Print only data and errors
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Log each HTTP request and reply on stderr (the API key is redacted)
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    /// When to colour stderr [default: auto]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorWhen>,

    /// Seconds to wait for each API reply [default: 30]
    #[arg(long, global = true, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Tsv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}
