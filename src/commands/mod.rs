//! Command implementations, one folder or file per command group. Each leaf is
//! `async fn run(ctx, args) -> Result<(), CliError>`; `main` maps the error to an exit code.

pub mod confirm;
pub mod emulator;
pub mod tokens;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{Client, ClientOptions};
use crate::cli::{Cli, ColorWhen, Command, GlobalArgs, OutputFormat};
use crate::error::CliError;
use crate::output::{ColorChoice, Format, Printer, PrinterOptions};
use crate::settings::Settings;

/// What every command gets: where to write, how to reach the API, whether it may ask.
pub struct Context {
    pub printer: Printer,
    pub settings: Settings,
    /// `--no-input`, or stdin/stderr not a terminal: prompts are impossible.
    pub can_prompt: bool,
}

impl Context {
    fn new(global: &GlobalArgs) -> Result<Context, CliError> {
        let env = |name: &str| std::env::var(name).ok();
        let format = match (global.json, global.output) {
            (true, _) => Some(Format::Json),
            (false, Some(OutputFormat::Table)) => Some(Format::Table),
            (false, Some(OutputFormat::Tsv)) => Some(Format::Tsv),
            (false, Some(OutputFormat::Json)) => Some(Format::Json),
            (false, None) => None,
        };
        let printer = Printer::new(PrinterOptions {
            format,
            jq: global.jq.clone(),
            color: match global.color {
                ColorWhen::Auto => ColorChoice::Auto,
                ColorWhen::Always => ColorChoice::Always,
                ColorWhen::Never => ColorChoice::Never,
            },
            no_color_env: env("NO_COLOR").is_some_and(|v| !v.is_empty()),
            quiet: global.quiet,
            verbose: global.verbose,
        });
        if let Some(filter) = &global.jq {
            crate::jq::check(filter)?; // a broken filter is a usage error before any request
        }
        let settings = Settings::resolve(
            global.api_url.as_deref(),
            Duration::from_secs(global.timeout),
            &env,
        )?;
        let can_prompt =
            !global.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Ok(Context {
            printer,
            settings,
            can_prompt,
        })
    }

    /// An API client; fails with exit 4 when there is no key.
    pub fn client(&self) -> Result<Client, CliError> {
        let key = self.settings.require_key()?.clone();
        let printer = self.printer.clone();
        let log: Option<crate::api::HttpLog> = self
            .printer
            .is_verbose()
            .then(|| Arc::new(move |line: &str| printer.debug(line)) as crate::api::HttpLog);
        Client::new(ClientOptions {
            base_url: self.settings.api_url.clone(),
            key,
            timeout: self.settings.timeout,
            log,
        })
        .map_err(CliError::from)
    }
}

/// Runs a parsed command line on a single-threaded runtime, built only now that parsing
/// succeeded (start-up does no work before it knows what to do).
pub fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(async {
        match cli.command {
            Command::Emulator(args) => emulator::run(args).await,
            Command::Tokens(command) => {
                let ctx = Context::new(&cli.global)?;
                let result = tokens::run(&ctx, command).await;
                if let Err(e) = &result {
                    ctx.printer.error(e);
                    return Err(e.clone().reported());
                }
                result
            }
        }
    })
}
