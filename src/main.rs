//! The rtctl binary: answer a shell's completion request, or run with the process's world.
//! Nothing else lives here.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `rtctl __jq`: the child that runs a --jq filter where its recursion cannot hurt us.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == rtctl::JQ_CHILD_ARG)
    {
        return ExitCode::from(rtctl::jq_child_main());
    }
    // With COMPLETE=<shell> set, answer the shell's completion request and exit; otherwise
    // this only looks at one variable.
    clap_complete::CompleteEnv::with_factory(rtctl::command)
        .var(rtctl::COMPLETE_VAR)
        .completer("rtctl")
        .complete();
    // One single-threaded runtime, built only now: start-up does no work before it is needed.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let stderr = rtctl::world::World::process().streams.stderr;
            let mut stderr = stderr.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(stderr, "error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(rtctl::run(
        std::env::args_os(),
        rtctl::world::World::process(),
    ));
    ExitCode::from(code)
}
