//! The session every command runs in ([`Context`]): where to write, how to reach the API,
//! whether it may ask, and the world it was given (environment, stdin, clock, signals). Built
//! once per run from the global options and a [`World`], never from the process directly.
//!
//! It sits below the commands and the command-line grammar: both the commands and the
//! completers (which run at a Tab, before any command) build one from plain [`Globals`].

pub(crate) mod local;

use std::io::Read;
use std::sync::Arc;

use crate::api::{ApiKey, Client, ClientOptions, HttpLog};
use crate::clock::Clock;
use crate::credentials::{self, Account, Credentials, KeySource, ResolvedKey};
use crate::error::CliError;
use crate::output::{ColorChoice, Format, Printer, PrinterOptions};
use crate::settings::{self, ConfigFile, Dirs, Flags, Settings};
use crate::signals::Signals;
use crate::world::{Stdin, World};
use local::LocalApi;

/// The global options of a run, as the command line gave them (`--profile`, `--local`,
/// `-o`…): what a session is built from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    pub profile: Option<String>,
    pub api_url: Option<String>,
    pub local: bool,
    pub output: Option<Format>,
    pub json: bool,
    pub jq: Option<String>,
    pub jq_args: Vec<(String, String)>,
    pub no_input: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub color: Option<ColorChoice>,
    pub timeout: Option<u64>,
    pub retries: u32,
}

pub(crate) struct Context {
    pub printer: Printer,
    pub settings: Settings,
    /// `--no-input`, or stdin/stderr not a terminal: prompts are impossible.
    pub can_prompt: bool,
    pub credentials: Credentials,
    /// `--local`: the emulator this run started, which `settings.api_url` points at.
    pub local: Option<LocalApi>,
    /// `--retries`: how often a failed request may be tried again.
    pub retries: u32,
    clock: Clock,
    pub signals: Signals,
    /// `-o`, `--json` or `--jq` was given: a command's own `--format` cannot be combined.
    pub output_flag: bool,
    /// The `Date` of the first API reply, which every client of the run records.
    server_date: crate::api::ServerDate,
    /// The command's one "now", fixed the first time it is asked for.
    now: std::sync::OnceLock<jiff::Timestamp>,
    /// How long a `--to-command` sink told to stop gets before it is killed.
    sink_grace: std::time::Duration,
    /// How long finished work still waits for a read that only advises on it.
    pub advice_grace: std::time::Duration,
    env: std::collections::BTreeMap<String, String>,
    stdin: Stdin,
}

/// The global flags that choose the account, as a suggested command must repeat them:
/// `rtctl --local tokens list`, not `rtctl tokens list` (which would use the real account).
fn command_flags(global: &Globals) -> Option<String> {
    let quoted = crate::untrusted::shell_word;
    let mut flags = Vec::new();
    if global.local {
        flags.push("--local".to_string());
    }
    if let Some(profile) = &global.profile {
        flags.push(format!("--profile {}", quoted(profile)));
    }
    if let Some(url) = &global.api_url {
        flags.push(format!("--api-url {}", quoted(url)));
    }
    (!flags.is_empty()).then(|| flags.join(" "))
}

/// The printer for a run, before (or without) a context: errors in building the context, and
/// commands that need no API (`emulator`, `completions`).
pub(crate) fn printer(global: &Globals, world: &World) -> Printer {
    Printer::new(
        PrinterOptions {
            format: format_flag(global),
            jq: jq_program(global, world),
            color: global.color.unwrap_or(ColorChoice::Auto),
            no_color_env: world.var("NO_COLOR").is_some_and(|v| !v.is_empty()),
            quiet: global.quiet,
            verbose: global.verbose,
        },
        world.streams.clone(),
    )
    .with_signals(world.signals.clone())
    .with_command_flags(command_flags(global))
}

/// `--jq` and its `--jq-arg`s; run in a child process in the binary (see `crate::jq`).
fn jq_program(global: &Globals, world: &World) -> Option<crate::jq::Program> {
    global.jq.as_ref().map(|code| crate::jq::Program {
        code: code.clone(),
        args: global.jq_args.clone(),
        isolated: world.is_process,
    })
}

fn format_flag(global: &Globals) -> Option<Format> {
    if global.json {
        Some(Format::Json)
    } else {
        global.output
    }
}

impl Context {
    /// Refuses a command's own `--format` (`rotate --format env`, `audit --format sarif`)
    /// together with `-o`, `--json` or `--jq` (design: exit 2).
    pub(crate) fn own_format(&self, flag: &str) -> Result<(), CliError> {
        if self.output_flag {
            return Err(CliError::usage(format!(
                "{flag} cannot be combined with -o, --json or --jq"
            ))
            .with_hint("choose one way to format the output"));
        }
        Ok(())
    }

    pub(crate) async fn new(global: &Globals, world: &World) -> Result<Context, CliError> {
        let env = |name: &str| world.var(name);
        let dirs = Dirs::from_env(&env);
        let config = match dirs.config_file() {
            Some(path) => ConfigFile::load(&path).await?,
            None => None,
        };
        let flags = Flags {
            profile: global.profile.clone(),
            api_url: global.api_url.clone(),
            output: format_flag(global),
            color: global.color,
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
        let printer = Printer::new(
            PrinterOptions {
                format: settings.output,
                jq: jq_program(global, world),
                color: settings.color,
                no_color_env: env("NO_COLOR").is_some_and(|v| !v.is_empty()),
                quiet: global.quiet,
                verbose: global.verbose,
            },
            world.streams.clone(),
        )
        .with_signals(world.signals.clone())
        .with_command_flags(command_flags(global));
        if let Some(program) = printer.jq() {
            crate::jq::check(program)?; // a broken filter is a usage error before any request
        }
        let local = if global.local {
            let api = LocalApi::start(
                &settings.dirs,
                &printer,
                world.clock.clone(),
                world.timeouts.local_lock,
            )
            .await?;
            settings.api_url = api.url();
            Some(api)
        } else {
            None
        };
        let terminal = world.streams.terminal;
        let can_prompt = !global.no_input && terminal.stdin && terminal.stderr;
        let credentials = Credentials::new(
            &env,
            settings.dirs.config.as_deref(),
            world.keyring.clone(),
            world.timeouts.keyring,
        );
        Ok(Context {
            printer,
            settings,
            can_prompt,
            credentials,
            local,
            retries: global.retries,
            clock: world.clock.clone(),
            signals: world.signals.clone(),
            output_flag: format_flag(global).is_some() || global.jq.is_some(),
            server_date: Default::default(),
            now: std::sync::OnceLock::new(),
            sink_grace: world.timeouts.sink_grace,
            advice_grace: world.timeouts.advice,
            env: world.env.clone(),
            stdin: world.stdin.clone(),
        })
    }

    /// The command's "now" (design, "Server time"): the `Date` of the first API reply, so
    /// deadlines, idle and dormant spans and new marks follow the service's clock, not a CI
    /// runner's; the local clock when no reply carried one (said under `-v`). Fixed the first
    /// time it is asked for, so one command judges every token against the same instant: ask
    /// after the command's first request.
    pub(crate) fn now(&self) -> jiff::Timestamp {
        *self.now.get_or_init(|| match self.server_date.get() {
            Some(date) => *date,
            None => {
                self.printer.debug(
                    "no reply has carried the server's Date yet: using this machine's clock as now",
                );
                self.clock.now()
            }
        })
    }

    /// The `--to-command` sink for `command`, given `timeout` a value, checked before any
    /// request (exit 2 when it cannot run); `None` without one.
    pub(crate) fn sink(
        &self,
        command: Option<&str>,
        timeout: std::time::Duration,
    ) -> Result<Option<crate::sink::Sink>, CliError> {
        command
            .map(|command| crate::sink::Sink::new(command, timeout, self.sink_grace, &self.env))
            .transpose()
    }

    /// Looks up an environment variable of the run.
    pub(crate) fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    /// The run's environment as a lookup function.
    pub(crate) fn env_fn(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name| self.env(name)
    }

    /// Reads stdin, at most `limit` bytes; `Ok(None)` when it holds more. The read waits for
    /// whatever feeds stdin, so it runs off the runtime's thread: a signal still ends the run.
    pub(crate) async fn read_stdin(&self, limit: u64) -> std::io::Result<Option<String>> {
        let stdin = self.stdin.clone();
        crate::files::off_thread(move || {
            let mut stdin = stdin.lock().unwrap_or_else(|p| p.into_inner());
            let mut text = String::new();
            (&mut *stdin).take(limit + 1).read_to_string(&mut text)?;
            Ok((text.len() as u64 <= limit).then_some(text))
        })
        .await
    }

    /// Whether stdin is a terminal (a person would be typing into it).
    pub(crate) fn stdin_is_terminal(&self) -> bool {
        self.printer.terminal().stdin
    }

    /// The profile and API URL a stored key belongs to.
    pub(crate) fn account(&self) -> Account {
        Account {
            profile: self.settings.profile.clone(),
            api_url: self.settings.api_url.clone(),
        }
    }

    /// The API key and where it came from, or `None` (with the keyring's trouble, if any).
    pub(crate) fn find_key(
        &self,
    ) -> Result<(Option<ResolvedKey>, Option<credentials::KeyringError>), CliError> {
        if self.local.is_some() {
            let key = ApiKey::new(crate::emulator::DEFAULT_API_KEY);
            let source = KeySource::Local;
            return Ok((Some(ResolvedKey { key, source }), None));
        }
        self.credentials.resolve(&self.env_fn(), &self.account())
    }

    /// The API key; exit 4, saying how to provide one, when there is none (or it cannot be
    /// one: a key with a control character or a space would be refused by any server, and
    /// an HTTP header cannot even carry some of them).
    pub(crate) fn require_key(&self) -> Result<ResolvedKey, CliError> {
        match self.find_key()? {
            (Some(resolved), _)
                if resolved
                    .key
                    .expose()
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace()) =>
            {
                Err(CliError::new(
                    crate::error::ErrorKind::Auth,
                    format!(
                        "the API key {} holds a control character or a space, so it cannot be an API key",
                        resolved.source.place()
                    ),
                )
                .with_hint("set RUNTYPE_API_KEY to the key alone, or run rtctl auth login"))
            }
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
    pub(crate) fn client(&self) -> Result<Client, CliError> {
        let resolved = self.require_key()?;
        self.printer.debug(&format!(
            "using the API key {} {}",
            resolved.key.masked(),
            resolved.source.place()
        ));
        self.client_with(resolved.key)
    }

    /// An API client with a given key (`auth login` checks a key before storing it). From
    /// here on the printer knows the key, and never prints it.
    pub(crate) fn client_with(&self, key: ApiKey) -> Result<Client, CliError> {
        self.printer.redact(key.expose(), &key.masked());
        let printer = self.printer.clone();
        let log: Option<HttpLog> = self
            .printer
            .is_verbose()
            .then(|| Arc::new(move |line: &str| printer.debug(line)) as HttpLog);
        let printer = self.printer.clone();
        let notify: HttpLog = Arc::new(move |line: &str| printer.note(line));
        Client::new(ClientOptions {
            base_url: self.settings.api_url.clone(),
            key,
            timeout: self.settings.timeout,
            retries: self.retries,
            log,
            notify: Some(notify),
            server_date: self.server_date.clone(),
        })
        .map_err(CliError::from)
    }

    /// Stops the `--local` emulator, if one was started, once its last reply is saved.
    pub(crate) async fn finish(self) {
        if let Some(local) = self.local {
            local.shutdown().await;
        }
    }
}
