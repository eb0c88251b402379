//! The command-line grammar (clap derive). Definitions only: behaviour lives in
//! `commands/`, one file per command group, mirroring this folder.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod emulator;
pub(crate) mod fields;
pub(crate) mod help;
pub(crate) mod origins;
pub(crate) mod plan;
pub(crate) mod surfaces;
pub(crate) mod tokens;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::output::{ColorChoice, Format};

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
#[command(
    name = "rtctl",
    version,
    about,
    verbatim_doc_comment,
    disable_help_subcommand = true
)]
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
    Help(help::HelpArgs),
}

/// The command tree as the binary uses it: the derive definitions, plus the environment
/// section on every command that calls the API, and the help topics and exit codes at the end
/// of `rtctl --help` (all from [`crate::help_topics`]). A subcommand's `-h` shows its own
/// options and one line pointing at the global ones; its `--help` shows them all. Completions,
/// man pages, the book's reference and the help tests are all generated from this.
pub fn command() -> clap::Command {
    use crate::help_topics::{ENVIRONMENT, EXIT_CODES, topics_help};
    let exit_codes = EXIT_CODES.help_section("Exit codes");
    let root = Cli::command()
        .after_help(format!("{}\n\n{exit_codes}", topics_help()))
        .after_long_help(format!(
            "{}\n\n{}\n\n{exit_codes}",
            ENVIRONMENT.help_section("Environment"),
            topics_help()
        ));
    let root = with_environment(root, true);
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide_short_help(true))
        .collect();
    without_globals_in_short_help(root, &globals)
}

/// The one line a subcommand's `-h` shows instead of the global options.
pub(crate) const GLOBAL_OPTIONS_POINTER: &str =
    "Global options (--local, --profile, --json, --jq, -o, -q, -v, …): --help lists them all.";

/// Gives every subcommand its own copy of the global options, hidden from its `-h` (clap then
/// propagates nothing over them), and the line that points at them instead.
fn without_globals_in_short_help(command: clap::Command, globals: &[clap::Arg]) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| {
            // A subcommand may define its own (the emulator's `-q`): that one stays.
            let missing: Vec<clap::Arg> = globals
                .iter()
                .filter(|g| !sub.get_arguments().any(|a| a.get_id() == g.get_id()))
                .cloned()
                .collect();
            let sub = sub.args(missing).after_help(GLOBAL_OPTIONS_POINTER);
            without_globals_in_short_help(sub, globals)
        })
    })
}

fn with_environment(command: clap::Command, is_root: bool) -> clap::Command {
    let reads_api = !matches!(command.get_name(), "emulator" | "completions" | "help");
    let command = if !is_root && reads_api {
        command.after_long_help(crate::help_topics::ENVIRONMENT.help_section("Environment"))
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

/// Completes `--surface` with the account's chat surfaces (see [`crate::complete`]).
fn surface_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::complete::surface_names)
}

/// Completes a token id from the API, each described by its name (see [`crate::complete`]).
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
