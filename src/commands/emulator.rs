//! `rtctl emulator`: serve the local Runtype API until Ctrl-C (or SIGTERM).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::cli::emulator::EmulatorArgs;
use crate::emulator::{self, Config, Emulator, RequestEntry};
use crate::error::CliError;
use crate::output;

pub async fn run(args: EmulatorArgs) -> Result<(), CliError> {
    let log: Option<emulator::RequestLog> = if args.quiet {
        None
    } else {
        Some(Arc::new(|entry: &RequestEntry| {
            output::note(&log_line(entry))
        }))
    };
    let config = Config {
        api_keys: args.api_keys.clone(),
        read_only_keys: args.read_only_keys.clone(),
        state_file: args.state.clone(),
        seed: args.seed(),
        faults: args.faults.clone(),
        latency: Duration::from_millis(args.latency),
        request_log: log,
        when_locked: emulator::WhenLocked::Fail,
    };
    let emulator = Emulator::new(config)?;
    let addr = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        CliError::failure(format!("could not listen on {addr}: {e}"))
            .with_hint("choose another --port, or --port 0 for any free port")
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::failure(format!("could not read the listening address: {e}")))?;
    let url = match local {
        SocketAddr::V6(v6) => format!("http://[{}]:{}", v6.ip(), v6.port()),
        SocketAddr::V4(v4) => format!("http://{v4}"),
    };
    banner(&url, &emulator, &args);
    output::data_line(&url)
        .map_err(|e| CliError::failure(format!("could not write to stdout: {e}")))?;
    emulator::serve(listener, emulator, shutdown_signal()).await;
    output::note("emulator stopped");
    Ok(())
}

fn banner(url: &str, emulator: &Emulator, args: &EmulatorArgs) {
    output::note(&format!("Runtype API emulator listening on {url}"));
    for key in emulator.api_keys() {
        output::note(&format!("  API key:        {key}"));
    }
    for key in emulator.read_only_keys() {
        output::note(&format!("  read-only key:  {key}"));
    }
    match &args.state {
        Some(path) => output::note(&format!("  state:          {}", path.display())),
        None => {
            output::note("  state:          in memory (lost on exit; use --state FILE to keep it)")
        }
    }
    output::note(&format!(
        "Try: curl -H 'Authorization: Bearer {}' {url}/v1/client-tokens",
        emulator.api_keys()[0]
    ));
    output::note("Press Ctrl-C to stop.");
}

fn log_line(entry: &RequestEntry) -> String {
    let time = jiff::Timestamp::now().strftime("%H:%M:%S%.3f");
    let target = match &entry.query {
        Some(q) => format!("{}?{q}", entry.path),
        None => entry.path.clone(),
    };
    let status = entry.status.map_or("---".to_string(), |s| s.to_string());
    let millis = entry.duration.as_secs_f64() * 1000.0;
    let mut line = format!("{time} {} {target} {status} {millis:.1}ms", entry.method);
    if let Some(fault) = &entry.fault {
        line.push_str(&format!(" [{fault}]"));
    }
    line
}

/// Completes on Ctrl-C or, on Unix, SIGTERM: both mean "stop cleanly".
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}
