//! rtctl: administer Runtype client tokens, and emulate the Runtype API locally.
//!
//! The crate root is shared by the binary and the integration tests; the model and the
//! emulator are crates of their own (`rtctl-model`, `rtctl-emulator`), whose modules are
//! brought in below under their old names (`crate::token`, `crate::origin`…). Only
//! `output` writes to the terminal; everything else returns values or errors. A run takes
//! everything it needs from outside through a [`world::World`], so tests run commands
//! in-process with their output captured.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod cli;
mod commands;
mod complete;
mod credentials;
mod error;
pub mod help_topics;
mod jq;
mod ops;
mod output;
mod session;
mod settings;
pub mod signals;
mod sink;
pub mod tls;
mod token_file;
pub mod world;

// The crates rtctl is built from (see CONTRIBUTING.md): the model (what a token is and its
// rules) and the emulator (the API served locally). The emulator is re-exported so
// `rtctl::emulator::start` keeps working for code written against earlier versions.
pub use rtctl_emulator as emulator;
pub use rtctl_model::clock;
use rtctl_model::{duration, files, ids, origin, token, untrusted};

pub use cli::command;
pub use cli::completions::Shell;
pub use commands::completions::{COMPLETE_VAR, script as completion_script};
#[cfg(debug_assertions)]
pub use credentials::MockKeyring;
pub use credentials::{Keyring, KeyringError};
pub use jq::{CHILD_ARG as JQ_CHILD_ARG, child_main as jq_child_main};
pub use output::{Printer, Prompter, Stream, Streams, Terminal, stream};
pub use untrusted::for_terminal;

use std::ffi::OsString;

use clap::FromArgMatches;

use crate::world::World;

/// Runs rtctl with `args` (the program name first) in `world`, and returns the exit code.
/// Everything the run prints goes to the world's streams.
pub async fn run(args: impl IntoIterator<Item = OsString>, world: World) -> u8 {
    let matches = match cli::command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(e) => return usage_error(e, &world),
    };
    let parsed = match cli::Cli::from_arg_matches(&matches) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(e, &world),
    };
    if world.is_process {
        world.signals.forward_process_signals();
    }
    match commands::run(parsed, &world).await {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    }
}

/// A command line clap answered itself (help, version) or refused: printed as clap renders
/// it, by the printer, and ended with its exit code.
fn usage_error(error: clap::Error, world: &World) -> u8 {
    let options = output::PrinterOptions {
        no_color_env: world.var("NO_COLOR").is_some_and(|v| !v.is_empty()),
        ..output::PrinterOptions::default()
    };
    Printer::new(options, world.streams.clone()).command_line_error(&error);
    error::command_line_exit_code(&error)
}
