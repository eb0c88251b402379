//! The rtctl binary: parse, run, map the error to an exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    // With COMPLETE=<shell> set, answer the shell's completion request and exit; otherwise
    // this only looks at one variable.
    clap_complete::CompleteEnv::with_factory(rtctl::cli::command)
        .var(rtctl::commands::completions::COMPLETE_VAR)
        .completer("rtctl")
        .complete();
    // Prints help/version (exit 0) or the usage error (exit 2).
    let matches = rtctl::cli::command().get_matches();
    let cli = rtctl::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
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
