//! Command implementations, one file per command group. Each returns `Result<(), CliError>`;
//! `main` maps the error to an exit code.

pub mod emulator;

use crate::cli::{Cli, Command};
use crate::error::CliError;

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
        }
    })
}
