//! The printer: the one place that writes to the terminal. Data goes to stdout (a line, a
//! document's bytes), talk to stderr (notes, warnings, `-v` lines, errors), each line through
//! the run's redactions, and escaped where it came from outside. Tables, JSON, prompts and
//! progress are built on top of it in their own modules, and write through it.
//!
//! The printer holds its streams and the facts about the terminal instead of reaching for the
//! process's: the binary gives it the real ones, tests give it buffers and say what a
//! terminal would be, so command handlers run in-process with their output captured.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::error::{CliError, ErrorKind};

use super::Prompter;
use super::redact;

/// How data is rendered on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Table,
    /// A table with every column whole, however wide
    // (the printer's format is then `Table`, with `wide` set)
    Wide,
    Tsv,
    Json,
}

/// Colours for the parts of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Added,
    Changed,
    Removed,
}

/// Whether decorations use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A stream to write to, shared by every clone of a printer.
pub type Stream = Arc<Mutex<Box<dyn Write + Send>>>;

/// Wraps a writer as a [`Stream`].
pub fn stream(writer: impl Write + Send + 'static) -> Stream {
    Arc::new(Mutex::new(Box::new(writer)))
}

/// What is known about the terminal: which standard streams are one, and how wide it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Columns, when stdout is a terminal that says.
    pub width: Option<u16>,
}

/// Decides where and how to write; built once per run.
#[derive(Clone)]
pub struct Printer {
    pub format: Format,
    /// `-o wide`: tables keep every column whole.
    pub(super) wide: bool,
    /// Global flags that choose the account (`--local`, `--profile P`, `--api-url U`), put
    /// into every `rtctl …` command a message suggests, so the suggestion works as given.
    command_flags: Option<String>,
    pub(super) jq: Option<crate::jq::Program>,
    color: bool,
    /// Colour on stdout: allowed, and stdout is a terminal (never in a pipe).
    stdout_color: bool,
    pub(super) quiet: bool,
    verbose: bool,
    pub(super) terminal: Terminal,
    stdout: Stream,
    /// Set once a write to stdout found it closed: work that makes new values stops.
    stdout_closed: Arc<std::sync::atomic::AtomicBool>,
    stderr: Stream,
    pub(super) prompter: Arc<dyn Prompter>,
    /// What ends a prompt early.
    pub(super) signals: crate::signals::Signals,
    /// The progress bar drawn on stderr now, if any: a line of data for the same terminal
    /// clears it first, so the two never share a line.
    pub(super) bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
    /// Secrets the run knows (its API key), replaced in everything printed.
    pub(super) redactions: redact::Redactions,
}

/// The choices that shape a [`Printer`].
pub struct PrinterOptions {
    /// `-o` (or `--json`); `None` picks a table on a terminal, TSV otherwise.
    pub format: Option<Format>,
    pub jq: Option<crate::jq::Program>,
    pub color: ColorChoice,
    /// `NO_COLOR` is set (to anything non-empty).
    pub no_color_env: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Default for PrinterOptions {
    fn default() -> PrinterOptions {
        PrinterOptions {
            format: None,
            jq: None,
            color: ColorChoice::Auto,
            no_color_env: false,
            quiet: false,
            verbose: false,
        }
    }
}

/// Where a printer writes, and what it knows of the terminal.
#[derive(Clone)]
pub struct Streams {
    pub stdout: Stream,
    pub stderr: Stream,
    pub terminal: Terminal,
    pub prompter: Arc<dyn Prompter>,
}

/// Writing to stdout failed: a closed pipe ends the run quietly (exit 0), anything else is
/// reported.
fn write_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError::new(ErrorKind::PipeClosed, "stdout was closed")
    } else {
        CliError::failure(format!("could not write to stdout: {e}"))
    }
}

impl Printer {
    pub fn new(options: PrinterOptions, streams: Streams) -> Printer {
        let terminal = streams.terminal;
        let wide = options.format == Some(Format::Wide);
        let format = match (options.format, &options.jq) {
            (_, Some(_)) => Format::Json,
            (Some(Format::Wide), None) => Format::Table,
            (Some(f), None) => f,
            (None, None) if terminal.stdout => Format::Table,
            (None, None) => Format::Tsv,
        };
        let allowed = |tty: bool| match options.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !options.no_color_env,
        };
        Printer {
            format,
            wide,
            command_flags: None,
            jq: options.jq,
            color: allowed(terminal.stderr),
            stdout_color: allowed(terminal.stdout),
            quiet: options.quiet,
            verbose: options.verbose,
            terminal,
            stdout: streams.stdout,
            stdout_closed: Arc::default(),
            stderr: streams.stderr,
            prompter: streams.prompter,
            signals: crate::signals::Signals::new(),
            bar: Arc::default(),
            redactions: redact::Redactions::default(),
        }
    }

    /// From now on `secret` (the run's API key, once known) is printed as `shown`, on stdout
    /// and stderr, by this printer and every clone of it: a server that echoes the key back
    /// (in an error, a hint, a redirect, a token's name) cannot make rtctl print it.
    pub(crate) fn redact(&self, secret: &str, shown: &str) {
        self.redactions.add(secret, shown);
    }

    /// `text` as the terminal may see it: every known secret replaced first, then escaped
    /// (line breaks kept where `keep_newlines`). Whatever is laid out (cut to a column,
    /// wrapped under a key) goes through here before its layout, so no cut or line break
    /// can split a secret into halves that no longer match it.
    pub(super) fn shown<'t>(
        &self,
        text: &'t str,
        keep_newlines: bool,
    ) -> std::borrow::Cow<'t, str> {
        match self.redactions.text(text) {
            std::borrow::Cow::Borrowed(text) => crate::untrusted::for_terminal(text, keep_newlines),
            std::borrow::Cow::Owned(text) => crate::untrusted::for_terminal(&text, keep_newlines)
                .into_owned()
                .into(),
        }
    }

    fn out(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        self.stdout.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        self.stderr.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signals that end a prompt early (the run's).
    pub fn with_signals(mut self, signals: crate::signals::Signals) -> Printer {
        self.signals = signals;
        self
    }

    /// The `--jq` filter in effect, if any.
    pub fn jq(&self) -> Option<&crate::jq::Program> {
        self.jq.as_ref()
    }

    /// What is known about the terminal.
    pub fn terminal(&self) -> Terminal {
        self.terminal
    }

    /// Whether stderr is a terminal (prompts, progress).
    pub fn stderr_is_terminal(&self) -> bool {
        self.terminal.stderr
    }

    /// Whether `-o wide` asked for every column, whole.
    pub fn is_wide(&self) -> bool {
        self.wide
    }

    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// Times as "3 days ago" for people, ISO-8601 for everything else.
    pub fn relative_times(&self) -> bool {
        self.format == Format::Table && self.terminal.stdout
    }

    // ---- stdout -------------------------------------------------------------------------

    /// One line of data, as is (a token value, say).
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        let text = crate::untrusted::for_terminal(text, true);
        self.bytes(format!("{text}\n").as_bytes())
    }

    /// A line already made safe (escaped, and coloured by [`Printer::style`]).
    pub(crate) fn styled_line(&self, text: &str) -> Result<(), CliError> {
        self.bytes(format!("{text}\n").as_bytes())
    }

    /// A note already made safe (escaped, and coloured by [`Printer::style`]).
    pub(crate) fn styled_note(&self, text: &str) {
        if !self.quiet {
            self.talk(text);
        }
    }

    /// Whether a write found stdout closed (`| head` is done reading).
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Bytes of data as they are (a generated script, a token file).
    pub fn bytes(&self, bytes: &[u8]) -> Result<(), CliError> {
        let bytes = self.redactions.bytes(bytes);
        let write = || {
            let mut out = self.out();
            out.write_all(&bytes).and_then(|()| out.flush())
        };
        // A bar on the terminal stdout shows too steps aside for the line, and is drawn
        // again below it.
        let bar = self.terminal.stdout.then(|| self.drawn_bar()).flatten();
        let written = match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        if written
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        {
            self.stdout_closed
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        written.map_err(write_error)
    }

    // ---- stderr -------------------------------------------------------------------------

    /// `text` in `style`, when the stream it is meant for shows colour.
    pub(super) fn paint(&self, text: &str, style: console::Style, on: bool) -> String {
        if on {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    /// `text`, escaped for a terminal, in the colour of `style` when the stream it is meant
    /// for shows colour. Print the result with [`Printer::styled_line`] or
    /// [`Printer::styled_note`], which do not escape again.
    pub fn style(&self, text: &str, style: Style, for_stderr: bool) -> String {
        let text = crate::untrusted::for_terminal(text, true);
        let text = text.as_ref();
        let on = if for_stderr {
            self.color
        } else {
            self.stdout_color
        };
        let colour = match style {
            Style::Added => console::Style::new().green(),
            Style::Changed => console::Style::new().yellow(),
            Style::Removed => console::Style::new().red(),
        };
        self.paint(text, colour, on)
    }

    /// Writes one line of talk to stderr. Failing to write to stderr leaves nowhere to report
    /// it, so errors are ignored.
    /// (Callers escape what came from outside before adding colour of their own.)
    pub(super) fn talk(&self, line: &str) {
        let line = self.redactions.text(line);
        let line = self.keep_command_flags(&line);
        self.stderr_line(&line);
    }

    /// Writes one line to stderr (already redacted and escaped), above the progress bar when
    /// one is drawn: every write to stderr goes through here, so none shares the bar's line.
    fn stderr_line(&self, line: &str) {
        let write = || {
            let mut err = self.err();
            let _ = writeln!(err, "{line}").and_then(|()| err.flush());
        };
        // Above the progress bar, not through it.
        match self.drawn_bar() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Sets the global flags suggested commands must keep (see `command_flags`).
    pub fn with_command_flags(mut self, flags: Option<String>) -> Printer {
        self.command_flags = flags.filter(|f| !f.is_empty());
        self
    }

    /// A suggested command in a report (an audit's, a doctor's or `origins traffic`'s fix),
    /// with the command flags kept as in hints, so it works as printed in every format.
    pub fn command(&self, text: &str) -> String {
        self.keep_command_flags(text).into_owned()
    }

    /// `line` with the command flags put into each `rtctl SUBCOMMAND` it suggests.
    fn keep_command_flags<'t>(&self, line: &'t str) -> std::borrow::Cow<'t, str> {
        let Some(flags) = &self.command_flags else {
            return line.into();
        };
        let mut out = line.to_string();
        for sub in [
            "tokens", "origins", "surfaces", "auth", "plan", "apply", "export", "audit", "doctor",
        ] {
            out = out.replace(&format!("rtctl {sub} "), &format!("rtctl {flags} {sub} "));
        }
        out.into()
    }

    /// A remark for people ("Created …"); silenced by `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.talk(&crate::untrusted::for_terminal(text, true));
        }
    }

    /// A warning; shown even with `--quiet`. Escaped like notes and errors: warnings name
    /// things the server sent (a surface's name, a token's), which must not steer the terminal.
    pub fn warn(&self, text: &str) {
        let label = self.paint(
            "warning:",
            console::Style::new().yellow().bold(),
            self.color,
        );
        self.talk(&format!(
            "{label} {}",
            crate::untrusted::for_terminal(text, true)
        ));
    }

    /// A line another program printed (a `--to-command` sink), on stderr under its name,
    /// escaped like everything from outside. Shown even with `--quiet`: it may say why a
    /// delivery failed.
    pub(crate) fn relay(&self, source: &str, line: &str) {
        let line = self.redactions.text(line);
        let line = crate::untrusted::for_terminal(&line, false);
        let source = crate::untrusted::for_terminal(source, false);
        let label = self.paint(
            &format!("{source}:"),
            console::Style::new().dim(),
            self.color,
        );
        self.stderr_line(&format!("{label} {line}"));
    }

    /// What clap says of the command line, as it renders it: help and version on stdout, a
    /// usage error on stderr, in colour where that stream shows colour. (Written before any
    /// flag is known, so nothing here depends on one.)
    pub(crate) fn command_line_error(&self, error: &clap::Error) {
        let rendered = error.render();
        let (stream, colour) = match error.use_stderr() {
            true => (&self.stderr, self.color),
            false => (&self.stdout, self.stdout_color),
        };
        let text = match colour {
            true => rendered.ansi().to_string(),
            false => rendered.to_string(),
        };
        let mut out = stream.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    /// A line of the `-v` log.
    pub fn debug(&self, text: &str) {
        if self.verbose {
            for line in text.lines() {
                let line = crate::untrusted::for_terminal(line, false);
                self.talk(&self.paint(&line, console::Style::new().dim(), self.color));
            }
        }
    }

    /// Reports an error and its hint, in the form every command uses; under `-v` with what
    /// caused it, a `caused by:` line each. A silent error prints nothing.
    pub fn error(&self, err: &CliError) {
        if err.kind == ErrorKind::PipeClosed || err.is_silent() {
            return;
        }
        let escape = |text: &str| crate::untrusted::for_terminal(text, true).into_owned();
        let label = self.paint("error:", console::Style::new().red().bold(), self.color);
        self.talk(&format!("{label} {}", escape(&err.message)));
        for detail in &err.details {
            self.talk(&format!("  {}", escape(detail)));
        }
        if self.verbose {
            for cause in err.causes() {
                self.talk(&format!("caused by: {}", escape(&cause)));
            }
        }
        if let Some(hint) = &err.hint {
            let label = self.paint("hint:", console::Style::new().cyan().bold(), self.color);
            self.talk(&format!("{label} {}", escape(hint)));
        }
    }
}
