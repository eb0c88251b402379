//! rtctl: administer Runtype client tokens, and emulate the Runtype API locally.
//!
//! The crate root is shared by the binary, the integration tests and the emulator. Only
//! `output` writes to the terminal; everything else returns values or errors. A run takes
//! everything it needs from outside through a [`world::World`], so tests run commands
//! in-process with their output captured.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod cli;
pub mod clock;
mod commands;
mod credentials;
mod duration;
pub mod emulator;
mod error;
mod files;
pub mod help_topics;
mod jq;
mod manifest;
mod origin;
mod output;
mod settings;
pub mod signals;
mod sink;
mod text;
pub mod tls;
mod token;
pub mod world;

pub use cli::command;
pub use cli::completions::Shell;
pub use commands::completions::{COMPLETE_VAR, script as completion_script};
#[cfg(debug_assertions)]
pub use credentials::MockKeyring;
pub use credentials::{Keyring, KeyringError};
pub use jq::{CHILD_ARG as JQ_CHILD_ARG, child_main as jq_child_main};
pub use output::{Printer, Prompter, Stream, Streams, Terminal, stream};
pub use text::for_terminal;

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

/// Help and version go to stdout (exit 0), usage errors to stderr (exit 2), as clap renders
/// them, in colour when the stream is a terminal.
fn usage_error(error: clap::Error, world: &World) -> u8 {
    let terminal = world.streams.terminal;
    let (stream, colour) = if error.use_stderr() {
        (&world.streams.stderr, terminal.stderr)
    } else {
        (&world.streams.stdout, terminal.stdout)
    };
    let no_color = world.var("NO_COLOR").is_some_and(|v| !v.is_empty());
    let rendered = error.render();
    let text = if colour && !no_color {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    let mut out = stream.lock().unwrap_or_else(|p| p.into_inner());
    let _ = std::io::Write::write_all(&mut **out, text.as_bytes());
    let _ = std::io::Write::flush(&mut **out);
    u8::try_from(error.exit_code()).unwrap_or(2)
}
