//! Command implementations, one folder or file per command group. Each leaf is
//! `async fn run(ctx, args) -> Result<(), CliError>`; this module only dispatches, and
//! [`crate::error`] maps the error to an exit code.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod emulator;
pub(crate) mod help;
pub(crate) mod origins;
pub(crate) mod plan;
pub(crate) mod surfaces;
pub(crate) mod tokens;

pub(crate) use crate::session::Context;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::session::{self, Globals};
use crate::world::World;

/// Runs a parsed command line in `world`. Errors are reported here, through the run's
/// printer; the caller only turns the result into an exit code.
pub(crate) async fn run(cli: Cli, world: &World) -> Result<(), CliError> {
    let global = &cli.global.session();
    match cli.command {
        Command::Emulator(args) => {
            // The emulator's own `-q` silences its request log, not its banner.
            let printer = session::printer(
                &Globals {
                    quiet: false,
                    ..global.clone()
                },
                world,
            );
            report(&printer, emulator::run(args, &printer, world).await)
        }
        Command::Completions(args) => {
            let printer = session::printer(global, world);
            report(&printer, completions::run(args, &printer))
        }
        Command::Help(args) => {
            let printer = session::printer(global, world);
            report(&printer, help::run(args, &printer))
        }
        Command::Tokens(command) => {
            with_context(global, world, async |ctx| tokens::run(ctx, command).await).await
        }
        Command::Plan(args) => {
            with_context(global, world, async |ctx| plan::run(ctx, args).await).await
        }
        Command::Apply(args) => {
            with_context(global, world, async |ctx| plan::apply::run(ctx, args).await).await
        }
        Command::Export(args) => {
            with_context(global, world, async |ctx| {
                plan::export::run(ctx, args).await
            })
            .await
        }
        Command::Doctor(args) => {
            with_context(global, world, async |ctx| doctor::run(ctx, args).await).await
        }
        Command::Audit(args) => {
            with_context(global, world, async |ctx| audit::run(ctx, args).await).await
        }
        Command::Surfaces(command) => {
            with_context(global, world, async |ctx| surfaces::run(ctx, command).await).await
        }
        Command::Origins(command) => {
            with_context(global, world, async |ctx| origins::run(ctx, command).await).await
        }
        // Refused before the local emulator starts (and seeds state) for nothing.
        Command::Auth(
            command @ (crate::cli::auth::AuthCommand::Login(_)
            | crate::cli::auth::AuthCommand::Logout(_)),
        ) if global.local => {
            let printer = session::printer(global, world);
            let verb = match command {
                crate::cli::auth::AuthCommand::Login(_) => "login",
                _ => "logout",
            };
            report(
                &printer,
                Err(CliError::usage(format!(
                    "--local needs no {verb}: it uses the local emulator's built-in key"
                ))),
            )
        }
        Command::Auth(command) => {
            with_context(global, world, async |ctx| auth::run(ctx, command).await).await
        }
    }
}

/// Reports the command's error (a silent one prints nothing); the caller then only picks
/// the exit code from it.
fn report(printer: &crate::output::Printer, result: Result<(), CliError>) -> Result<(), CliError> {
    result.inspect_err(|e| printer.error(e))
}

/// Builds the context, runs `command` in it, reports its error with the context's printer
/// (colour, quiet) and cleans up. A signal ends the command, unless it holds the signals
/// (work already sent must finish and be reported): then only a second signal does.
async fn with_context(
    global: &Globals,
    world: &World,
    command: impl AsyncFnOnce(&Context) -> Result<(), CliError>,
) -> Result<(), CliError> {
    // Building the context may wait (a config file that is a FIFO, another `--local` command
    // holding the state): a signal ends that wait too.
    let built = tokio::select! {
        built = Context::new(global, world) => built,
        signal = world.signals.first() => Err(CliError::interrupted(signal)),
    };
    let ctx = match built {
        Ok(ctx) => ctx,
        Err(e) => return report(&session::printer(global, world), Err(e)),
    };
    let result = tokio::select! {
        result = command(&ctx) => result,
        signal = ctx.signals.unheld() => Err(CliError::interrupted(signal)),
    };
    // A signal that arrived while the command worked without waiting (selecting among
    // thousands of tokens, printing) still ends the run with its code.
    let result = match (result, ctx.signals.received()) {
        (Ok(()), Some(signal)) => Err(CliError::interrupted(signal)),
        (Err(mut error), Some(signal)) if error.kind != crate::error::ErrorKind::Cancelled => {
            error.kind = crate::error::ErrorKind::Interrupted(signal);
            Err(error)
        }
        (result, _) => result,
    };
    let result = report(&ctx.printer, result);
    ctx.finish().await;
    result
}
