//! Tables on stdout: for people, columns that fit the terminal ([`super::fit`] lays them
//! out); for pipes, tab-separated values without a header, nothing cut.

use crate::error::CliError;

use super::fit::{self, Fit};
use super::{Format, Printer, tsv_cell};

impl Printer {
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
            let rows = self.escaped(rows);
            let width = self.terminal.width.map(usize::from);
            let layout = fit::Layout::wrapping(headers, &rows, width, wrap);
            text = layout.render(Some(headers), &rows);
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
                .filter(|&room| room >= fit::MIN_WRAP_WIDTH);
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
        let rows = printer.escaped(rows);
        let first = self.layout.is_none();
        let width = printer.terminal.width.filter(|_| !printer.wide);
        let layout = self.layout.get_or_insert_with(|| {
            fit::Layout::new(self.headers, &rows, width.map(usize::from), self.fit)
        });
        let text = layout.render(first.then_some(self.headers), &rows);
        printer.bytes(text.as_bytes())
    }
}

impl Printer {
    /// Cells as a terminal may show them, before any layout: secrets redacted, what came
    /// from outside escaped, line breaks kept.
    fn escaped(&self, rows: &[Vec<String>]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|row| {
                row.iter()
                    .map(|cell| self.shown(cell, true).into_owned())
                    .collect()
            })
            .collect()
    }
}
