//! Command implementations, one folder or file per command group. Each leaf is
//! `async fn run(ctx, args) -> Result<(), CliError>`; `main` maps the error to an exit code.

pub mod auth;
pub mod completions;
pub mod confirm;
pub mod emulator;
pub mod local;
pub mod origins;
pub mod plan;
pub mod tokens;

use std::io::IsTerminal;
use std::sync::Arc;

use crate::api::{ApiKey, Client, ClientOptions};
use crate::cli::{Cli, ColorWhen, Command, GlobalArgs, OutputFormat};
use crate::credentials::{self, Account, Credentials, KeySource, ResolvedKey};
use crate::error::CliError;
use crate::output::{ColorChoice, Format, Printer, PrinterOptions};
use crate::settings::{self, ConfigFile, Dirs, Flags, Settings};

/// Reads the process environment; everything below takes the lookup as a parameter.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// What every command gets: where to write, how to reach the API, whether it may ask.
pub struct Context {
    pub printer: Printer,
    pub settings: Settings,
    /// `--no-input`, or stdin/stderr not a terminal: prompts are impossible.
    pub can_prompt: bool,
    pub credentials: Credentials,
    /// `--local`: the emulator this run started, which `settings.api_url` points at.
    pub local: Option<local::LocalApi>,
    /// `--retries`: how often a failed request may be tried again.
    pub retries: u32,
    env: fn(&str) -> Option<String>,
}

impl Context {
    async fn new(global: &GlobalArgs) -> Result<Context, CliError> {
        let env = process_env;
        let dirs = Dirs::from_env(&env);
        let config = match dirs.config_file() {
            Some(path) => ConfigFile::load(&path)?,
            None => None,
        };
        let flags = Flags {
            profile: global.profile.clone(),
            api_url: global.api_url.clone(),
            output: match (global.json, global.output) {
                (true, _) => Some(Format::Json),
                (false, Some(OutputFormat::Table)) => Some(Format::Table),
                (false, Some(OutputFormat::Tsv)) => Some(Format::Tsv),
                (false, Some(OutputFormat::Json)) => Some(Format::Json),
                (false, None) => None,
            },
            color: global.color.map(|c| match c {
                ColorWhen::Auto => ColorChoice::Auto,
                ColorWhen::Always => ColorChoice::Always,
                ColorWhen::Never => ColorChoice::Never,
            }),
            timeout: global.timeout,
        };
        // `--local` talks to its own emulator: a RUNTYPE_API_URL exported for the real
        // service must neither redirect nor reject it.
        let local_env = |name: &str| (name != settings::ENV_API_URL).then(|| env(name)).flatten();
        let mut settings = if global.local {
            Settings::resolve(&flags, &local_env, config.as_ref(), dirs)?
        } else {
            Settings::resolve(&flags, &env, config.as_ref(), dirs)?
        };
        let printer = Printer::new(PrinterOptions {
            format: settings.output,
            jq: global.jq.clone(),
            color: settings.color,
            no_color_env: env("NO_COLOR").is_some_and(|v| !v.is_empty()),
            quiet: global.quiet,
            verbose: global.verbose,
        });
        if let Some(filter) = &global.jq {
            crate::jq::check(filter)?; // a broken filter is a usage error before any request
        }
        let local = if global.local {
            let api = local::LocalApi::start(&settings.dirs, &printer).await?;
            settings.api_url = api.url();
            Some(api)
        } else {
            None
        };
        let can_prompt =
            !global.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let credentials = Credentials::new(&env, settings.dirs.config.as_deref());
        Ok(Context {
            printer,
            settings,
            can_prompt,
            credentials,
            local,
            retries: global.retries,
            env,
        })
    }

    /// Looks up an environment variable.
    pub fn env(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The profile and API URL a stored key belongs to.
    pub fn account(&self) -> Account {
        Account {
            profile: self.settings.profile.clone(),
            api_url: self.settings.api_url.clone(),
        }
    }

    /// The API key and where it came from, or `None` (with the keyring's trouble, if any).
    pub fn find_key(
        &self,
    ) -> Result<(Option<ResolvedKey>, Option<credentials::KeyringError>), CliError> {
        if self.local.is_some() {
            let key = ApiKey::new(crate::emulator::DEFAULT_API_KEY);
            let source = KeySource::Local;
            return Ok((Some(ResolvedKey { key, source }), None));
        }
        self.credentials.resolve(&self.env, &self.account())
    }

    /// The API key; exit 4, saying how to provide one, when there is none.
    pub fn require_key(&self) -> Result<ResolvedKey, CliError> {
        match self.find_key()? {
            (Some(resolved), trouble) => {
                if let Some(trouble) = trouble {
                    self.printer
                        .debug(&format!("skipped the system keyring: {trouble}"));
                }
                Ok(resolved)
            }
            (None, trouble) => Err(credentials::no_key_error(&self.account(), trouble.as_ref())),
        }
    }

    /// An API client with the resolved key; fails with exit 4 when there is none.
    pub fn client(&self) -> Result<Client, CliError> {
        let resolved = self.require_key()?;
        self.printer.debug(&format!(
            "using the API key {} from the {}",
            resolved.key.masked(),
            resolved.source.as_str()
        ));
        self.client_with(resolved.key)
    }

    /// An API client with a given key (`auth login` checks a key before storing it).
    pub fn client_with(&self, key: ApiKey) -> Result<Client, CliError> {
        let printer = self.printer.clone();
        let log: Option<crate::api::HttpLog> = self
            .printer
            .is_verbose()
            .then(|| Arc::new(move |line: &str| printer.debug(line)) as crate::api::HttpLog);
        let printer = self.printer.clone();
        let notify: crate::api::HttpLog = Arc::new(move |line: &str| printer.note(line));
        Client::new(ClientOptions {
            base_url: self.settings.api_url.clone(),
            key,
            timeout: self.settings.timeout,
            retries: self.retries,
            log,
            notify: Some(notify),
        })
        .map_err(CliError::from)
    }

    /// Stops the `--local` emulator, if one was started, once its last reply is saved.
    async fn finish(self) {
        if let Some(local) = self.local {
            local.shutdown().await;
        }
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
            Command::Completions(args) => completions::run(args),
            Command::Tokens(command) => {
                with_context(&cli.global, async |ctx| tokens::run(ctx, command).await).await
            }
            Command::Plan(args) => {
                with_context(&cli.global, async |ctx| plan::run(ctx, args).await).await
            }
            Command::Apply(args) => {
                with_context(&cli.global, async |ctx| plan::apply::run(ctx, args).await).await
            }
            Command::Export(args) => {
                with_context(&cli.global, async |ctx| plan::export::run(ctx, args).await).await
            }
            Command::Origins(command) => {
                with_context(&cli.global, async |ctx| origins::run(ctx, command).await).await
            }
            Command::Auth(command) => {
                with_context(&cli.global, async |ctx| auth::run(ctx, command).await).await
            }
        }
    })
}

/// Builds the context, runs `command` in it, reports its error with the context's printer
/// (colour, quiet) and cleans up.
async fn with_context(
    global: &GlobalArgs,
    command: impl AsyncFnOnce(&Context) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let ctx = Context::new(global).await?;
    let result = command(&ctx).await;
    if let Err(e) = &result
        && !e.reported
    {
        ctx.printer.error(e);
    }
    ctx.finish().await;
    result.map_err(CliError::reported)
}
