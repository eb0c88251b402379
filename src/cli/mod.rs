//! The command-line grammar (clap derive). Definitions only: behaviour lives in
//! `commands/`, one file per command group, mirroring this folder.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod emulator;
pub(crate) mod fields;
pub(crate) mod origins;
pub(crate) mod plan;
pub(crate) mod surfaces;
pub(crate) mod tokens;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::output::{ColorChoice, Format};

/// Printed at the end of `rtctl --help`: scripts branch on these.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (an empty list and a no-op too)
  1    failure: server, network or unexpected reply
  2    usage error or invalid input (a malformed token id too)
  3    cancelled at a prompt
  4    authentication or permission (no key, 401, 403)
  5    not found (404): a well-formed id that names no token
  6    drift: plan --expect-no-changes found changes
  7    the --jq filter failed (halt_error included)
  8    a check found problems (audit at --fail-on; origins check: not admitted)
  130  interrupted (Ctrl-C; 143 for SIGTERM)";

/// Administer Runtype client tokens
///
/// rtctl manages the public, origin-restricted client tokens with which websites embed a
/// Runtype chat widget: list, create, rotate and delete them, and edit and check the origins
/// they admit. It ships with a local emulator of the Runtype API.
///
/// Examples:
///   rtctl --local tokens list          # try it with no account
///   rtctl auth login                   # store an API key in the system keyring
///   rtctl tokens list --json --jq '.[].id'
///   rtctl origins check ct_0123456789abcdef https://www.example.com
#[derive(Debug, Parser)]
#[command(name = "rtctl", version, about, verbatim_doc_comment)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    #[command(subcommand)]
    Origins(origins::OriginsCommand),
    #[command(subcommand)]
    Surfaces(surfaces::SurfacesCommand),
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    Plan(plan::PlanArgs),
    Apply(plan::ApplyArgs),
    Export(plan::ExportArgs),
    Audit(audit::AuditArgs),
    Doctor(doctor::DoctorArgs),
    Emulator(emulator::EmulatorArgs),
    Completions(completions::CompletionsArgs),
}

/// The environment variables every command that calls the API reads.
pub(crate) const API_ENVIRONMENT_HELP: &str = "\
Environment:
  RUNTYPE_API_KEY   the API key; takes precedence over a stored login
  RUNTYPE_API_URL   the API's base URL (default https://api.runtype.com)
  RTCTL_PROFILE     the profile in config.toml to use (default: default)
  RTCTL_CONFIG_DIR  where config.toml and credentials.toml live
  RTCTL_DATA_DIR    where --local keeps its state
  NO_COLOR          no colour on stderr";

/// The command tree as the binary uses it: the derive definitions, plus the environment
/// section on every command that calls the API and the exit codes at the end of `--help`.
/// Completions, man pages and the help tests are all generated from this.
pub fn command() -> clap::Command {
    let root = Cli::command()
        .after_help(EXIT_CODES_HELP)
        .after_long_help(format!("{API_ENVIRONMENT_HELP}\n\n{EXIT_CODES_HELP}"));
    with_environment(root, true)
}

fn with_environment(command: clap::Command, is_root: bool) -> clap::Command {
    let reads_api = !matches!(command.get_name(), "emulator" | "completions" | "help");
    let command = if !is_root && reads_api {
        command.after_long_help(API_ENVIRONMENT_HELP)
    } else {
        command
    };
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| with_environment(sub, false))
    })
}

/// `NAME=VALUE` for `--jq-arg`.
fn jq_arg(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| "expected NAME=VALUE".into())
}

/// A count of at least 1 (`--limit`), said so plainly.
fn at_least_one(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number of at least 1".into()),
    }
}

/// Completes a token id from the API (see `commands::completions`).
fn surface_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::complete::surface_names)
}

fn id_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::complete::token_ids)
}

/// Flags every command takes, shown under their own heading so a command's own flags come
/// first in its help.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Use the profile NAME from config.toml [env: RTCTL_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Base URL of the Runtype API [env: RUNTYPE_API_URL] [default: the profile's api_url, else
    /// https://api.runtype.com]
    #[arg(long, global = true, value_name = "URL", conflicts_with = "local")]
    pub api_url: Option<String>,

    /// Run against a local emulator with demo data, started for this command (no account
    /// needed; its state persists in the data directory)
    #[arg(long, global = true)]
    pub local: bool,

    /// Output format [default: table on a terminal, tsv otherwise]
    #[arg(long, short = 'o', global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Print JSON (same as --output json)
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// Filter the JSON output with a jq expression (implies --json)
    #[arg(long, global = true, value_name = "EXPR")]
    pub jq: Option<String>,

    /// A variable for the --jq filter, as $NAME (repeatable)
    #[arg(long = "jq-arg", global = true, value_name = "NAME=VALUE", value_parser = jq_arg, requires = "jq")]
    pub jq_args: Vec<(String, String)>,

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
    pub color: Option<ColorChoice>,

    /// Seconds to wait for each API reply [default: 30]
    #[arg(long, global = true, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,

    /// Times to retry a failed request that is safe to repeat (reads, updates, deletes; a
    /// create never once it may have reached the server)
    #[arg(long, global = true, value_name = "N", default_value_t = crate::api::retry::DEFAULT_RETRIES,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
}

impl GlobalArgs {
    /// The options a session is built from.
    pub(crate) fn session(&self) -> crate::session::Globals {
        let GlobalArgs {
            profile,
            api_url,
            local,
            output,
            json,
            jq,
            jq_args,
            no_input,
            quiet,
            verbose,
            color,
            timeout,
            retries,
        } = self.clone();
        crate::session::Globals {
            profile,
            api_url,
            local,
            output,
            json,
            jq,
            jq_args,
            no_input,
            quiet,
            verbose,
            color,
            timeout,
            retries,
        }
    }
}
