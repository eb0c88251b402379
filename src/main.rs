//! The rtctl binary: parse, run, map the error to an exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match rtctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Prints help/version (exit 0) or the usage error (exit 2).
        Err(e) => e.exit(),
    };
    match rtctl::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.reported && err.kind != rtctl::error::ErrorKind::PipeClosed {
                rtctl::output::error(&err);
            }
            ExitCode::from(err.exit_code())
        }
    }
}
