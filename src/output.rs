//! The one place that writes to the terminal.
//!
//! stdout carries data: tables, TSV, JSON, token values. stderr carries talk: notes,
//! warnings, hints, errors, prompts. The choice of format is made once (`Format`), from the
//! flags and whether stdout is a terminal: a table for people, tab-separated values without a
//! header for pipes, one JSON document for programs.
//!
//! The printer holds its streams and the facts about the terminal instead of reaching for the
//! process's: the binary gives it the real ones, tests give it buffers and say what a
//! terminal would be, so command handlers run in-process with their output captured.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{CliError, ErrorKind};

mod fit;
mod redact;
pub(crate) use fit::Fit;
mod prompt;
pub use prompt::Prompter;
pub(crate) use prompt::TerminalPrompter;

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
    wide: bool,
    /// Global flags that choose the account (`--local`, `--profile P`, `--api-url U`), put
    /// into every `rtctl …` command a message suggests, so the suggestion works as given.
    command_flags: Option<String>,
    jq: Option<crate::jq::Program>,
    color: bool,
    /// Colour on stdout: allowed, and stdout is a terminal (never in a pipe).
    stdout_color: bool,
    quiet: bool,
    verbose: bool,
    terminal: Terminal,
    stdout: Stream,
    /// Set once a write to stdout found it closed: work that makes new values stops.
    stdout_closed: Arc<std::sync::atomic::AtomicBool>,
    stderr: Stream,
    prompter: Arc<dyn Prompter>,
    /// What ends a prompt early.
    signals: crate::signals::Signals,
    /// The progress bar drawn on stderr now, if any: a line of data for the same terminal
    /// clears it first, so the two never share a line.
    bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
    /// Secrets the run knows (its API key), replaced in everything printed.
    redactions: redact::Redactions,
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
    fn shown<'t>(&self, text: &'t str, keep_newlines: bool) -> std::borrow::Cow<'t, str> {
        match self.redactions.text(text) {
            std::borrow::Cow::Borrowed(text) => crate::text::for_terminal(text, keep_newlines),
            std::borrow::Cow::Owned(text) => crate::text::for_terminal(&text, keep_newlines)
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
        let text = crate::text::for_terminal(text, true);
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

    /// One JSON document, pretty-printed, or the results of `--jq` on it.
    pub fn json(&self, value: &Value) -> Result<(), CliError> {
        let text = match &self.jq {
            Some(program) => {
                let mut text = String::new();
                let results = crate::jq::run(program, value).map_err(|f| f.error())?;
                for result in results {
                    // Like gh: a string result prints raw, so `--jq .id` is ready for $(…);
                    // escaped only where a terminal would obey what it holds.
                    match result {
                        Value::String(s) if self.terminal.stdout => {
                            text.push_str(&crate::text::for_terminal(&s, true))
                        }
                        Value::String(s) => text.push_str(&s),
                        other => text.push_str(&to_pretty(&other)),
                    }
                    text.push('\n');
                }
                text
            }
            None => format!("{}\n", to_pretty(value)),
        };
        self.bytes(text.as_bytes())
    }

    /// Rows for people (a table that fits the terminal) or for pipes (tab-separated, no
    /// header, nothing truncated). On a terminal only the columns in `wrap` may wrap: ids,
    /// states and times stay whole, so they can be read and copied.
    pub fn table(
        &self,
        headers: &[&str],
        rows: &[Vec<String>],
        wrap: &[usize],
    ) -> Result<(), CliError> {
        let mut text = String::new();
        if self.format == Format::Table {
            if rows.is_empty() {
                return Ok(());
            }
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::NOTHING)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_header(headers.iter().map(|h| h.to_uppercase()));
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|c| self.shown(c, true).into_owned())
                        .collect()
                })
                .collect();
            for row in &rows {
                table.add_row(row);
            }
            for (index, column) in table.column_iter_mut().enumerate() {
                if !wrap.contains(&index) {
                    column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
                }
            }
            // Fit the terminal, unless the whole columns leave the wrapping ones too little
            // room: then long lines read better than text shredded a few letters a line.
            if let Some(width) = self.terminal.width {
                let fixed: usize = (0..headers.len())
                    .filter(|i| !wrap.contains(i))
                    .map(|i| column_width(headers, &rows, i) + 2)
                    .sum();
                let room = usize::from(width).saturating_sub(fixed);
                if room >= MIN_WRAP_WIDTH * wrap.len().max(1) {
                    table.set_width(width);
                }
            }
            for line in table.lines() {
                text.push_str(line.trim_end());
                text.push('\n');
            }
        } else {
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| self.shown(&tsv_cell(c), false).into_owned())
                    .collect();
                text.push_str(&cells.join("\t"));
                text.push('\n');
            }
        }
        self.bytes(text.as_bytes())
    }

    /// A list's table that streams: call [`ListTable::rows`] with each page. On a terminal
    /// its layout comes from the first page and fits the width as `fit` says (unless
    /// `-o wide`); in a pipe it is TSV.
    pub fn list_table<'a>(&'a self, headers: &'a [&'a str], fit: Fit) -> ListTable<'a> {
        ListTable {
            printer: self,
            headers,
            fit,
            layout: None,
        }
    }

    /// A single record as `key  value` lines (a table on a terminal, TSV in a pipe). On a
    /// terminal a long value wraps under itself, not back to the first column.
    pub fn record(&self, pairs: &[(&str, String)]) -> Result<(), CliError> {
        if self.format == Format::Table {
            let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let room = self
                .terminal
                .width
                .filter(|_| !self.wide)
                .map(|w| usize::from(w).saturating_sub(width + 2))
                .filter(|&room| room >= MIN_WRAP_WIDTH);
            let indent = " ".repeat(width + 2);
            // People read a record: empty fields are noise. Pipes keep every key.
            let mut text = String::new();
            for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                let value = self.shown(value, false);
                let lines = match room {
                    Some(room) => fit::wrap(&value, room),
                    None => vec![value.into_owned()],
                };
                for (index, line) in lines.iter().enumerate() {
                    match index {
                        0 => text.push_str(&format!("{key:>width$}  {line}\n")),
                        _ => text.push_str(&format!("{indent}{line}\n")),
                    }
                }
            }
            self.bytes(text.as_bytes())
        } else {
            let rows: Vec<Vec<String>> = pairs
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.clone()])
                .collect();
            self.table(&["field", "value"], &rows, &[])
        }
    }

    /// Starts streaming a JSON array, for lists that arrive page by page.
    pub fn json_array(&self) -> JsonArray<'_> {
        JsonArray {
            printer: self,
            buffered: self.jq.as_ref().map(|_| Vec::new()),
            count: 0,
            scratch: Vec::new(),
        }
    }

    // ---- stderr -------------------------------------------------------------------------

    /// `text` in `style`, when the stream it is meant for shows colour.
    fn paint(&self, text: &str, style: console::Style, on: bool) -> String {
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
        let text = crate::text::for_terminal(text, true);
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
    fn talk(&self, line: &str) {
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

    /// The progress bar on stderr now, if any.
    fn drawn_bar(&self) -> Option<indicatif::ProgressBar> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
            self.talk(&crate::text::for_terminal(text, true));
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
            crate::text::for_terminal(text, true)
        ));
    }

    /// A line another program printed (a `--to-command` sink), on stderr under its name,
    /// escaped like everything from outside. Shown even with `--quiet`: it may say why a
    /// delivery failed.
    pub(crate) fn relay(&self, source: &str, line: &str) {
        let line = self.redactions.text(line);
        let line = crate::text::for_terminal(&line, false);
        let source = crate::text::for_terminal(source, false);
        let label = self.paint(
            &format!("{source}:"),
            console::Style::new().dim(),
            self.color,
        );
        self.stderr_line(&format!("{label} {line}"));
    }

    /// A line of the `-v` log.
    pub fn debug(&self, text: &str) {
        if self.verbose {
            for line in text.lines() {
                let line = crate::text::for_terminal(line, false);
                self.talk(&self.paint(&line, console::Style::new().dim(), self.color));
            }
        }
    }

    /// Reports an error and its hint, in the form every command uses.
    pub fn error(&self, err: &CliError) {
        if err.kind == ErrorKind::PipeClosed {
            return;
        }
        let escape = |text: &str| crate::text::for_terminal(text, true).into_owned();
        let label = self.paint("error:", console::Style::new().red().bold(), self.color);
        self.talk(&format!("{label} {}", escape(&err.message)));
        for detail in &err.details {
            self.talk(&format!("  {}", escape(detail)));
        }
        if let Some(hint) = &err.hint {
            let label = self.paint("hint:", console::Style::new().cyan().bold(), self.color);
            self.talk(&format!("{label} {}", escape(hint)));
        }
    }

    // ---- prompts ------------------------------------------------------------------------

    /// Runs a blocking prompt on a thread of its own, so that a signal ends the wait. A
    /// prompt given up unanswered (a signal, here or wherever the run is waiting for one) is
    /// abandoned: the terminal is put back as it was.
    async fn prompt<T: Send + 'static>(
        &self,
        ask: impl FnOnce(&dyn Prompter) -> io::Result<T> + Send + 'static,
    ) -> Result<io::Result<T>, CliError> {
        let prompter = Arc::clone(&self.prompter);
        let unanswered = Unanswered(Some(Arc::clone(&self.prompter)));
        let (tx, rx) = tokio::sync::oneshot::channel();
        // A plain thread, not the runtime's blocking pool: a prompt abandoned after a signal
        // must not hold up the process's exit.
        std::thread::spawn(move || {
            let _ = tx.send(ask(prompter.as_ref()));
        });
        tokio::select! {
            answer = rx => {
                unanswered.answered();
                Ok(answer.unwrap_or_else(|_| Err(io::Error::other("the prompt ended"))))
            }
            signal = self.signals.first() => Err(CliError::interrupted(signal).reported()),
        }
    }

    /// Shows `details` on stderr and asks `question` (default no), answered by a line: `y`
    /// or `yes` goes ahead, anything else is a "no", exit 3.
    pub async fn confirm(&self, details: &str, question: &str) -> Result<(), CliError> {
        if !details.is_empty() {
            self.talk(&crate::text::for_terminal(details, true));
        }
        let question = format!(
            "{} [y/N] ",
            crate::text::for_terminal(&self.redactions.text(question), false)
        );
        match self.prompt(move |p| p.line(&question)).await? {
            Ok(answer) if prompt::is_yes(answer.as_deref()) => Ok(()),
            Ok(_) => Err(CliError::new(
                ErrorKind::Cancelled,
                "cancelled; nothing was changed",
            )),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                Err(CliError::interrupted(crate::signals::Signal::Interrupt).reported())
            }
            Err(e) => Err(CliError::failure(format!("could not read the answer: {e}"))),
        }
    }

    /// Asks for a secret on the terminal without echoing it.
    pub async fn secret(&self, prompt: &str) -> Result<String, CliError> {
        let prompt = prompt.to_string();
        self.prompt(move |p| p.secret(&prompt))
            .await?
            .map_err(|e| CliError::failure(format!("could not read from the terminal: {e}")))
    }
}

/// A prompt in progress: dropped before its answer arrived, it abandons the prompt. Drop is
/// what every way of giving up has in common (a signal seen by the prompt, or by the run's
/// own wait, which drops the whole command).
struct Unanswered(Option<Arc<dyn Prompter>>);

impl Unanswered {
    fn answered(mut self) {
        self.0 = None;
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(prompter) = self.0.take() {
            prompter.abandon();
        }
    }
}

/// A table printed page by page; see [`Printer::list_table`].
pub struct ListTable<'a> {
    printer: &'a Printer,
    headers: &'a [&'a str],
    fit: Fit,
    layout: Option<fit::Layout>,
}

impl ListTable<'_> {
    /// Prints `rows` (the header first, with the first rows that arrive).
    pub fn rows(&mut self, rows: &[Vec<String>]) -> Result<(), CliError> {
        let printer = self.printer;
        if printer.format != Format::Table {
            return printer.table(self.headers, rows, &[]);
        }
        if rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| printer.shown(c, true).into_owned())
                    .collect()
            })
            .collect();
        let first = self.layout.is_none();
        let width = printer.terminal.width.filter(|_| !printer.wide);
        let layout = self.layout.get_or_insert_with(|| {
            fit::Layout::new(self.headers, &rows, width.map(usize::from), self.fit)
        });
        let text = layout.render(first.then_some(self.headers), &rows);
        printer.bytes(text.as_bytes())
    }
}

/// Progress of work on many items: a bar on stderr when a person is watching (a terminal,
/// not `--quiet`, more than one item), nothing otherwise. While it shows, whatever the
/// printer writes to the terminal (notes, errors, and data when stdout is the terminal too)
/// goes above the bar: the bar is cleared for the line and drawn again below it.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl Printer {
    /// Starts a progress display for `len` items, labelled `message` ("rotating").
    pub fn progress(&self, len: usize, message: &str) -> Progress {
        let bar = (self.terminal.stderr && !self.quiet && len > 1).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(len as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(message.to_string());
            *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
            bar
        });
        Progress {
            bar,
            printer: self.clone(),
        }
    }
}

impl Progress {
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// A note, printed above the bar (as everything the printer writes while it shows).
    pub fn note(&self, text: &str) {
        self.printer.note(text);
    }

    /// Removes the bar (as dropping it does, on every way out).
    pub fn finish(self) {}
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            self.printer
                .bar
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            bar.finish_and_clear();
        }
    }
}

/// A JSON array written item by item, so a long list is never held in memory whole. With
/// `--jq` the filter needs the whole document, so items are buffered instead.
pub struct JsonArray<'a> {
    printer: &'a Printer,
    buffered: Option<Vec<Value>>,
    count: usize,
    /// The bytes of one write, kept between writes: a list's pages are written into the same
    /// buffer rather than each growing a new one.
    scratch: Vec<u8>,
}

impl JsonArray<'_> {
    /// Adds an element: written at once, laid out exactly as the whole array pretty-printed
    /// would be (serialised straight into place, with no copy of it as a `Value`), or kept for
    /// the `--jq` filter.
    pub fn push(&mut self, item: &impl serde::Serialize) -> Result<(), CliError> {
        self.push_all(std::iter::once(item))
    }

    /// Adds several elements in one write (a page of a list: one write a page, not one an
    /// element).
    pub fn push_all<T: serde::Serialize>(
        &mut self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<(), CliError> {
        let failed = |e: serde_json::Error| CliError::failure(format!("could not write JSON: {e}"));
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        for item in items {
            if let Some(buffered) = &mut self.buffered {
                buffered.push(serde_json::to_value(&item).map_err(failed)?);
                continue;
            }
            out.extend_from_slice(if self.count == 0 { b"[\n  " } else { b",\n  " });
            let mut serializer =
                serde_json::Serializer::with_formatter(&mut out, Nested::default());
            item.serialize(&mut serializer).map_err(failed)?;
            self.count += 1;
        }
        let written = match out.is_empty() {
            true => Ok(()),
            false => self.printer.bytes(&out),
        };
        self.scratch = out;
        written
    }

    pub fn finish(self) -> Result<(), CliError> {
        if let Some(items) = self.buffered {
            return self.printer.json(&Value::Array(items));
        }
        let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
        self.printer.bytes(end.as_bytes())
    }
}

/// serde_json's pretty layout one level in, for an element of a streamed array: what
/// `PrettyFormatter` does, starting at the array's indentation rather than at none.
struct Nested {
    indent: usize,
    has_value: bool,
}

impl Default for Nested {
    fn default() -> Nested {
        Nested {
            indent: 1,
            has_value: false,
        }
    }
}

impl Nested {
    fn newline<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.indent {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.newline(writer)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// The narrowest a wrapping column may get before wrapping stops helping.
const MIN_WRAP_WIDTH: usize = 14;

fn column_width(headers: &[&str], rows: &[Vec<String>], index: usize) -> usize {
    let cell = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    rows.iter()
        .filter_map(|row| row.get(index))
        .map(|c| cell(c))
        .chain(headers.get(index).map(|h| h.len()))
        .max()
        .unwrap_or(0)
}

fn to_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A cell for TSV: tabs and line breaks would split it, so they become spaces.
pub(crate) fn tsv_cell(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The last `n` characters of `text` (all of it when shorter): what a masked secret shows.
pub(crate) fn last_chars(text: &str, n: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    &text[start..]
}

/// A secret shown masked: the prefix and the last four characters (`ct_live_****a1b2`).
pub(crate) fn mask(prefix: Option<&str>, hint: Option<&str>) -> String {
    format!("{}****{}", prefix.unwrap_or(""), hint.unwrap_or(""))
}

/// "3 days ago" for an ISO-8601 time; the input unchanged if it does not parse.
pub(crate) fn relative_time(iso: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = iso.parse::<jiff::Timestamp>() else {
        return iso.to_string();
    };
    let seconds = now.as_second() - then.as_second();
    if seconds < 0 {
        return "in the future".into();
    }
    let (amount, unit) = match seconds {
        0..=59 => return "just now".into(),
        60..=3_599 => (seconds / 60, "minute"),
        3_600..=86_399 => (seconds / 3_600, "hour"),
        86_400..=2_591_999 => (seconds / 86_400, "day"),
        2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let ago = |iso| relative_time(iso, now);
        assert_eq!(ago("2026-11-23T11:59:30Z"), "just now");
        assert_eq!(ago("2026-11-23T11:59:00.000Z"), "1 minute ago");
        assert_eq!(ago("2026-11-23T09:00:00Z"), "3 hours ago");
        assert_eq!(ago("2026-11-20T12:00:00Z"), "3 days ago");
        assert_eq!(ago("2026-08-23T12:00:00Z"), "3 months ago");
        assert_eq!(ago("2024-11-23T12:00:00Z"), "2 years ago");
        assert_eq!(ago("2026-11-24T12:00:00Z"), "in the future");
        assert_eq!(ago("yesterday"), "yesterday");
    }

    #[test]
    fn masking_keeps_prefix_and_hint() {
        assert_eq!(mask(Some("ct_live_"), Some("a1b2")), "ct_live_****a1b2");
        assert_eq!(mask(None, None), "****");
    }

    #[test]
    fn a_streamed_element_reads_as_the_whole_array_pretty_printed() {
        let items = [
            serde_json::json!({"a": 1, "b": [1, {"c": []}, {}], "d": {"e": null, "f": "x\ny"}}),
            serde_json::json!([]),
            serde_json::json!("text"),
            serde_json::json!({"deep": [[[1, 2], []], {"k": {"l": [true]}}]}),
        ];
        let mut streamed: Vec<u8> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            streamed.extend_from_slice(if i == 0 { b"[\n  " } else { b",\n  " });
            let mut serializer =
                serde_json::Serializer::with_formatter(&mut streamed, Nested::default());
            serde::Serialize::serialize(item, &mut serializer).unwrap();
        }
        streamed.extend_from_slice(b"\n]");
        let whole = serde_json::to_string_pretty(&serde_json::Value::from(items.to_vec())).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), whole);
    }

    #[test]
    fn last_chars_are_whole_characters() {
        assert_eq!(last_chars("ct_live_abcd1234", 4), "1234");
        assert_eq!(last_chars("ab", 4), "ab");
        assert_eq!(last_chars("xx😀é", 2), "😀é");
    }

    #[test]
    fn tsv_cells_stay_on_one_line() {
        assert_eq!(tsv_cell("a\tb\nc"), "a b c");
    }
}
