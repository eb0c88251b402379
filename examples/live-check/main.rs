//! `scripts/live-check`: measures the emulator against the real Runtype service. See
//! CONTRIBUTING.md ("The live check") and `check.rs`.
//!
//! ```sh
//! RTCTL_LIVE_API_URL=https://api.runtype.com RTCTL_LIVE_API_KEY=… scripts/live-check [--write]
//! ```

// The modules are shared with the integration suite, which reaches into them.
#![allow(unreachable_pub)]

#[path = "../../tests/cli/schema.rs"]
mod schema;

mod check;

use std::io::Write;
use std::time::Duration;

use clap::Parser;

/// Compare the emulator with the live Runtype service
///
/// Reads RTCTL_LIVE_API_URL and RTCTL_LIVE_API_KEY. Sends the same requests to the live
/// service and to a fresh emulator seeded with what the live account returned, checks every
/// reply against the contract file, and prints every difference. Exit 0: none; 8: some;
/// 1: the check could not run; 2: bad arguments; 4: the key was rejected; 130/143:
/// interrupted (after cleanup).
#[derive(Debug, Parser)]
#[command(name = "live-check", verbatim_doc_comment)]
struct Args {
    /// Also run the self-cleaning write scenario on a throwaway test token
    #[arg(long)]
    write: bool,

    /// Print the differences as JSON instead of a table
    #[arg(long)]
    json: bool,

    /// Also write the JSON report to FILE
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,

    /// The flow the test token runs (--write; default: the first one an account token names)
    #[arg(long, value_name = "ID", conflicts_with = "agent")]
    flow: Option<String>,

    /// The agent the test token runs, instead of a flow
    #[arg(long, value_name = "ID")]
    agent: Option<String>,

    /// Seconds to wait for each reply
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

fn main() -> std::process::ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            // Bad arguments are a usage error (2), as in rtctl; --help and --version are not.
            return std::process::ExitCode::from(if e.use_stderr() { check::USAGE } else { 0 });
        }
    };
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(live_url), Some(live_key)) = (var("RTCTL_LIVE_API_URL"), var("RTCTL_LIVE_API_KEY"))
    else {
        let _ = writeln!(
            std::io::stderr(),
            "live-check: error: set RTCTL_LIVE_API_URL and RTCTL_LIVE_API_KEY (the service and a key for it)"
        );
        return std::process::ExitCode::from(check::FAILED);
    };
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    let options = check::Options {
        live_url,
        live_key,
        write: args.write,
        json: args.json,
        report: args.report,
        flow: args.flow,
        agent: args.agent,
        run_id: random.iter().map(|b| format!("{b:02x}")).collect(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let code = runtime.block_on(async {
        let signals = rtctl::signals::Signals::new();
        signals.forward_process_signals();
        check::run(
            &options,
            &signals,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )
        .await
    });
    std::process::ExitCode::from(code)
}
