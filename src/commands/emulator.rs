//! `rtctl emulator`: serve the local Runtype API until Ctrl-C (or SIGTERM).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::cli::emulator::EmulatorArgs;
use crate::emulator::{self, Config, Emulator, RequestEntry};
use crate::error::CliError;
use crate::output::Printer;
use crate::world::World;

pub(crate) async fn run(
    args: EmulatorArgs,
    printer: &Printer,
    world: &World,
) -> Result<(), CliError> {
    let log: Option<emulator::RequestLog> = if args.quiet {
        None
    } else {
        let printer = printer.clone();
        let clock = world.clock.clone();
        Some(Arc::new(move |entry: &RequestEntry| {
            printer.note(&log_line(entry, clock.now()))
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
        observer: None,
        when_locked: emulator::WhenLocked::Fail,
        holder: emulator::describe_holder("rtctl emulator"),
        clock: world.clock.clone(),
        drain: world.timeouts.drain,
        flows: args.flows.clone(),
        agents: args.agents.clone(),
        allowed_hosts: args.allowed_hosts.clone(),
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
    banner(printer, &url, &emulator, &args);
    if !local.ip().is_loopback() {
        printer.warn(&format!(
            "listening on {}, beyond this machine: anyone who can reach it can use the emulator, and its keys are not secret (--host 127.0.0.1 keeps it local)",
            local.ip()
        ));
    }
    // The URL is for a script waiting to read it (stdout a file or a pipe); a person at the
    // terminal has just read it in the banner. A closed pipe does not stop the emulator.
    let terminal = printer.terminal();
    if !(terminal.stdout && terminal.stderr) {
        match printer.line(&url) {
            Err(e) if e.kind != crate::error::ErrorKind::PipeClosed => return Err(e),
            _ => {}
        }
    }
    let signals = world.signals.clone();
    emulator::serve(listener, emulator, async move {
        signals.first().await;
    })
    .await;
    printer.note("emulator stopped");
    Ok(())
}

fn banner(printer: &Printer, url: &str, emulator: &Emulator, args: &EmulatorArgs) {
    printer.note(&format!("Runtype API emulator listening on {url}"));
    for key in emulator.api_keys() {
        printer.note(&format!("  API key:        {key}"));
    }
    for key in emulator.read_only_keys() {
        printer.note(&format!("  read-only key:  {key}"));
    }
    for host in &args.allowed_hosts {
        printer.note(&format!("  also answers:   {host}"));
    }
    match &args.state {
        Some(path) => printer.note(&format!("  state:          {}", path.display())),
        None => {
            printer.note("  state:          in memory (lost on exit; use --state FILE to keep it)")
        }
    }
    printer.note(&format!(
        "Try: curl -H 'Authorization: Bearer {}' {url}/v1/client-tokens",
        emulator.api_keys()[0]
    ));
    printer.note("Press Ctrl-C to stop.");
}

fn log_line(entry: &RequestEntry, now: jiff::Timestamp) -> String {
    let time = now.strftime("%H:%M:%S%.3f");
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
