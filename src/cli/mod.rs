//! The command-line grammar (clap derive). Definitions only: behaviour lives in
//! `commands/`, one file per command group, mirroring this folder.

pub mod emulator;

use clap::{Parser, Subcommand};

/// Printed at the end of `rtctl --help`: scripts branch on these.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (an empty list and a no-op too)
  1    failure: server, network or unexpected reply
  2    usage error or invalid input
  3    cancelled at a prompt
  4    authentication or permission (no key, 401, 403)
  5    not found (404)
  130  interrupted";

/// Administer Runtype client tokens
#[derive(Debug, Parser)]
#[command(name = "rtctl", version, about, long_about = None, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Emulator(emulator::EmulatorArgs),
}
