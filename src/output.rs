//! The one place that writes to the terminal.
//!
//! stdout carries data: tables, TSV, JSON, token values. stderr carries talk: notes,
//! warnings, hints, errors, prompts. The choice of format is made once (`Format`), from the
//! flags and whether stdout is a terminal: a table for people, tab-separated values without a
//! header for pipes, one JSON document for programs.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

use crate::error::{CliError, ErrorKind};

/// How data is rendered on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
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

/// Whether stderr decorations use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Decides where and how to write; built once per run.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    jq: Option<String>,
    color: bool,
    /// Colour on stdout: allowed, and stdout is a terminal (never in a pipe).
    stdout_color: bool,
    quiet: bool,
    verbose: bool,
    stdout_tty: bool,
    stderr_tty: bool,
}

/// The choices that shape a [`Printer`].
pub struct PrinterOptions {
    /// `-o` (or `--json`); `None` picks a table on a terminal, TSV otherwise.
    pub format: Option<Format>,
    pub jq: Option<String>,
    pub color: ColorChoice,
    /// `NO_COLOR` is set (to anything non-empty).
    pub no_color_env: bool,
    pub quiet: bool,
    pub verbose: bool,
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
    pub fn new(options: PrinterOptions) -> Printer {
        let stdout_tty = io::stdout().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        let format = match (options.format, &options.jq) {
            (_, Some(_)) => Format::Json,
            (Some(f), None) => f,
            (None, None) if stdout_tty => Format::Table,
            (None, None) => Format::Tsv,
        };
        let color = match options.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_tty && !options.no_color_env,
        };
        let stdout_color = match options.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && !options.no_color_env,
        };
        Printer {
            format,
            jq: options.jq,
            color,
            stdout_color,
            quiet: options.quiet,
            verbose: options.verbose,
            stdout_tty,
            stderr_tty,
        }
    }

    /// Whether stdout is a terminal (tables, relative times, masked values).
    pub fn stdout_is_terminal(&self) -> bool {
        self.stdout_tty
    }

    /// Whether stderr is a terminal (prompts, progress).
    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_tty
    }

    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// Times as "3 days ago" for people, ISO-8601 for everything else.
    pub fn relative_times(&self) -> bool {
        self.format == Format::Table && self.stdout_tty
    }

    // ---- stdout -------------------------------------------------------------------------

    /// One line of data, as is (a token value, say).
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(write_error)
    }

    /// One JSON document, pretty-printed, or the results of `--jq` on it.
    pub fn json(&self, value: &Value) -> Result<(), CliError> {
        let mut out = io::stdout().lock();
        match &self.jq {
            Some(filter) => {
                for result in crate::jq::run(filter, value.clone())? {
                    // Like gh: a string result prints raw, so `--jq .id` is ready for $(…).
                    match result {
                        Value::String(s) => writeln!(out, "{s}"),
                        other => writeln!(out, "{}", to_pretty(&other)),
                    }
                    .map_err(write_error)?;
                }
            }
            None => writeln!(out, "{}", to_pretty(value)).map_err(write_error)?,
        }
        out.flush().map_err(write_error)
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
        let mut out = io::stdout().lock();
        if self.format == Format::Table {
            if rows.is_empty() {
                return Ok(());
            }
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::NOTHING)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_header(headers.iter().map(|h| h.to_uppercase()));
            for row in rows {
                table.add_row(row);
            }
            for (index, column) in table.column_iter_mut().enumerate() {
                if !wrap.contains(&index) {
                    column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
                }
            }
            // Fit the terminal, unless the whole columns leave the wrapping ones too little
            // room: then long lines read better than text shredded a few letters a line.
            if let Some(width) = terminal_width() {
                let fixed: usize = (0..headers.len())
                    .filter(|i| !wrap.contains(i))
                    .map(|i| column_width(headers, rows, i) + 2)
                    .sum();
                let room = usize::from(width).saturating_sub(fixed);
                if room >= MIN_WRAP_WIDTH * wrap.len().max(1) {
                    table.set_width(width);
                }
            }
            for line in table.lines() {
                writeln!(out, "{}", line.trim_end()).map_err(write_error)?;
            }
        } else {
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| tsv_cell(c)).collect();
                writeln!(out, "{}", cells.join("\t")).map_err(write_error)?;
            }
        }
        out.flush().map_err(write_error)
    }

    /// A single record as `key  value` lines (a table on a terminal, TSV in a pipe).
    pub fn record(&self, pairs: &[(&str, String)]) -> Result<(), CliError> {
        let rows: Vec<Vec<String>> = pairs
            .iter()
            .map(|(k, v)| vec![k.to_string(), v.clone()])
            .collect();
        if self.format == Format::Table {
            let mut out = io::stdout().lock();
            let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            // People read a record: empty fields are noise. Pipes keep every key.
            for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                writeln!(out, "{key:>width$}  {value}").map_err(write_error)?;
            }
            out.flush().map_err(write_error)
        } else {
            self.table(&["field", "value"], &rows, &[])
        }
    }

    /// Starts streaming a JSON array, for lists that arrive page by page.
    pub fn json_array(&self) -> JsonArray<'_> {
        JsonArray {
            printer: self,
            buffered: self.jq.as_ref().map(|_| Vec::new()),
            count: 0,
        }
    }

    // ---- stderr -------------------------------------------------------------------------

    fn paint(&self, text: &str, style: &str) -> String {
        if self.color {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `text` in the colour of `style`, when the stream it is meant for shows colour.
    pub fn style(&self, text: &str, style: Style, for_stderr: bool) -> String {
        let on = if for_stderr {
            self.color
        } else {
            self.stdout_color
        };
        if !on {
            return text.to_string();
        }
        let code = match style {
            Style::Added => "32",
            Style::Changed => "33",
            Style::Removed => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// A remark for people ("Created …"); silenced by `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            note(text);
        }
    }

    /// A warning; shown even with `--quiet`.
    pub fn warn(&self, text: &str) {
        note(&format!("{} {text}", self.paint("warning:", "1;33")));
    }

    /// A line of the `-v` log.
    pub fn debug(&self, text: &str) {
        if self.verbose {
            for line in text.lines() {
                note(&self.paint(line, "2"));
            }
        }
    }

    /// Reports an error and its hint, in the form every command uses.
    pub fn error(&self, err: &CliError) {
        if err.kind == ErrorKind::PipeClosed {
            return;
        }
        let mut stderr = io::stderr().lock();
        let _ = writeln!(stderr, "{} {}", self.paint("error:", "1;31"), err.message);
        if let Some(hint) = &err.hint {
            let _ = writeln!(stderr, "{} {hint}", self.paint("hint:", "1;36"));
        }
    }
}

/// Progress of work on many items: a bar on stderr when a person is watching (a terminal,
/// not `--quiet`, more than one item), nothing otherwise. Notes printed while it runs go
/// above the bar instead of through it.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl Printer {
    /// Starts a progress display for `len` items, labelled `message` ("rotating").
    pub fn progress(&self, len: usize, message: &str) -> Progress {
        let bar = (self.stderr_tty && !self.quiet && len > 1).then(|| {
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

    /// A note, printed above the bar.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) if !self.printer.quiet => bar.println(text),
            _ => self.printer.note(text),
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
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
}

impl JsonArray<'_> {
    pub fn push(&mut self, item: &Value) -> Result<(), CliError> {
        if let Some(items) = &mut self.buffered {
            items.push(item.clone());
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let separator = if self.count == 0 { "[\n" } else { ",\n" };
        let indented = to_pretty(item).replace('\n', "\n  ");
        write!(out, "{separator}  {indented}").map_err(write_error)?;
        self.count += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<(), CliError> {
        if let Some(items) = self.buffered {
            return self.printer.json(&Value::Array(items));
        }
        let mut out = io::stdout().lock();
        let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
        write!(out, "{end}")
            .and_then(|()| out.flush())
            .map_err(write_error)
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
fn tsv_cell(cell: &str) -> String {
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

fn terminal_width() -> Option<u16> {
    let (_, cols) = console::Term::stdout().size_checked()?;
    Some(cols)
}

/// A secret shown masked: the prefix and the last four characters (`ct_live_****a1b2`).
pub fn mask(prefix: Option<&str>, hint: Option<&str>) -> String {
    format!("{}****{}", prefix.unwrap_or(""), hint.unwrap_or(""))
}

/// "3 days ago" for an ISO-8601 time; the input unchanged if it does not parse.
pub fn relative_time(iso: &str, now: jiff::Timestamp) -> String {
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

// ---- free functions for code without a Printer (the emulator) ---------------------------

/// Writes one line of data to stdout and flushes it, so a reader sees it at once (a script
/// waiting for the emulator's URL, say). A closed pipe is not an error.
pub fn data_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes bytes to stdout as they are (a generated script). A closed pipe is not an error.
pub fn data_bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) => Err(write_error(e)),
        Ok(()) => Ok(()),
    }
}

/// Writes one line of talk to stderr. Failing to write to stderr leaves nowhere to report
/// it, so errors are ignored.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Reports an error without a Printer (before one could be built).
pub fn error(err: &CliError) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", err.message);
    if let Some(hint) = &err.hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
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
    fn tsv_cells_stay_on_one_line() {
        assert_eq!(tsv_cell("a\tb\nc"), "a b c");
    }
}
