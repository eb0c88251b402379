//! Everything rtctl shows: the only module that writes to the terminal.
//!
//! stdout carries data: tables, TSV, JSON, token values. stderr carries talk: notes,
//! warnings, hints, errors, prompts. The choice of format is made once (`Format`), from the
//! flags and whether stdout is a terminal: a table for people, tab-separated values without a
//! header for pipes, one JSON document for programs.
//!
//! One job a module: [`printer`] writes (and is the only part holding the streams); the
//! others build what it writes: [`table`] (laid out by [`fit`]), [`json`] (and [`jq`], the
//! `--jq` filter's results), [`prompt`], [`progress`]; [`cells`] words single values, and
//! [`redact`] keeps the run's secrets out of all of it.

mod ask;
mod cells;
mod fit;
mod jq;
mod json;
mod printer;
mod progress;
mod prompt;
mod redact;
mod table;

pub(crate) use cells::{last_chars, mask, relative_time, tsv_cell};
pub(crate) use fit::Fit;
pub(crate) use json::JsonArray;
pub(crate) use printer::{ColorChoice, Format, PrinterOptions, Style};
pub use printer::{Printer, Stream, Streams, Terminal, stream};
pub(crate) use progress::Progress;
pub use prompt::Prompter;
pub(crate) use prompt::TerminalPrompter;
