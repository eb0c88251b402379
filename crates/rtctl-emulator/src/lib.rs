//! A local implementation of the Runtype client-token API (as its published OpenAPI document
//! describes it), for rtctl's tests, for `rtctl --local`, and for users testing their code
//! without touching production.
//!
//! Start it in-process with [`start`] (tests, `--local`) or serve a listener of your own with
//! [`serve`] (`rtctl emulator`).

mod api_error;
mod app;
mod chat;
mod cors;
mod faults;
mod guard;
pub use guard::HOST_NOT_ANSWERED;
mod ids;
mod journal;
mod model;
mod routes;
mod seed;
mod server;
mod state;
mod store;
mod surfaces;
mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

pub use rtctl_model::clock::Clock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{DropWhen, FaultSpec};
pub use guard::AllowedHost;
pub use journal::{Entry as RequestEntry, Exchange, Observer, RequestLog};
pub use seed::Seed;
pub use store::STATE_NOT_SAVED;
pub use store::{StoreError, WhenLocked, describe_holder};

/// The API key the emulator accepts when none is configured. It is public on purpose: the
/// emulator guards nothing, and scripts need a key they can write down.
pub const DEFAULT_API_KEY: &str = "rt_test_emulator";

/// The port `rtctl emulator` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 7878;

/// How an emulator is set up.
#[derive(Clone)]
pub struct Config {
    /// Keys with full access; empty means [`DEFAULT_API_KEY`].
    pub api_keys: Vec<String>,
    /// Keys that may read but get 403 on writes.
    pub read_only_keys: Vec<String>,
    /// Persist state here (JSON, replaced atomically, locked); `None` keeps it in memory.
    pub state_file: Option<PathBuf>,
    /// What a new state starts with.
    pub seed: Seed,
    /// Faults active from the start.
    pub faults: Vec<FaultSpec>,
    /// Added to every API request (not control requests).
    pub latency: Duration,
    /// Called once per request, for a log line.
    pub request_log: Option<RequestLog>,
    /// Shown every exchange with its bodies (the contract tests check them).
    pub observer: Option<Observer>,
    /// Whether to fail or wait when another process holds the state file.
    pub when_locked: WhenLocked,
    /// Who this emulator is, written into its state file's lock for others to name
    /// ("rtctl emulator (pid 4242)").
    pub holder: String,
    /// Where "now" comes from; the control API can set and move it.
    pub clock: Clock,
    /// How long in-flight requests get to finish once the emulator is told to stop.
    pub drain: Duration,
    /// Flows the account has, besides those of the seed (`--flow`).
    pub flows: Vec<String>,
    /// Agents the account has, besides those of the seed (`--agent`).
    pub agents: Vec<String>,
    /// Host names answered besides where it listens (`--allowed-host NAME[:PORT]`).
    pub allowed_hosts: Vec<AllowedHost>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            api_keys: Vec::new(),
            read_only_keys: Vec::new(),
            state_file: None,
            seed: Seed::Demo,
            faults: Vec::new(),
            latency: Duration::ZERO,
            request_log: None,
            observer: None,
            when_locked: WhenLocked::Fail,
            holder: store::describe_holder("an rtctl emulator"),
            clock: Clock::system(),
            drain: Duration::from_secs(5),
            flows: Vec::new(),
            agents: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// An emulator whose state is open (and, with a state file, locked), ready to serve.
pub struct Emulator {
    router: axum::Router,
    api_keys: Vec<String>,
    read_only_keys: Vec<String>,
    drain: Duration,
    /// Where it listens, told to the host check once it is served.
    listening: guard::Listening,
    allowed_hosts: Vec<AllowedHost>,
}

impl Emulator {
    /// Opens the state: loads or seeds it, and takes the state file's lock.
    pub fn new(config: Config) -> Result<Emulator, StoreError> {
        Emulator::open(config, &AtomicBool::new(false))
    }

    /// [`Emulator::new`], whose wait for another process's lock ends early once `stop` is set.
    fn open(config: Config, stop: &AtomicBool) -> Result<Emulator, StoreError> {
        let store = match &config.state_file {
            Some(path) => store::Store::open(
                path,
                config.seed,
                config.clock.now(),
                &config.holder,
                &config.when_locked,
                stop,
            )?,
            None => store::Store::in_memory(config.seed, config.clock.now()),
        };
        store.add_to_catalogue(&config.flows, &config.agents);
        let api_keys = if config.api_keys.is_empty() {
            vec![DEFAULT_API_KEY.to_string()]
        } else {
            config.api_keys
        };
        let fault_list = faults::Faults::new(config.latency);
        for spec in config.faults {
            fault_list.add(spec);
        }
        let app = app::App {
            store,
            faults: Arc::new(fault_list),
            journal: Arc::new(journal::Journal::new(config.request_log, config.observer)),
            keys: Arc::new(app::Keys {
                full: api_keys.clone(),
                read_only: config.read_only_keys.clone(),
            }),
            seed: config.seed,
            clock: config.clock,
            catalogue: Arc::new((config.flows, config.agents)),
            listening: guard::Listening::default(),
        };
        Ok(Emulator {
            listening: app.listening.clone(),
            router: routes::router(app),
            api_keys,
            read_only_keys: config.read_only_keys,
            drain: config.drain,
            allowed_hosts: config.allowed_hosts,
        })
    }

    /// The keys with full access.
    pub fn api_keys(&self) -> &[String] {
        &self.api_keys
    }

    /// The read-only keys.
    pub fn read_only_keys(&self) -> &[String] {
        &self.read_only_keys
    }
}

/// Serves `emulator` on `listener` until `shutdown` completes, then drains in-flight requests.
/// It answers only requests whose `Host` names where `listener` listens (or an allowed host).
pub async fn serve(listener: TcpListener, emulator: Emulator, shutdown: impl Future<Output = ()>) {
    if let Ok(addr) = listener.local_addr() {
        let _ = emulator
            .listening
            .set(guard::Hosts::new(addr, &emulator.allowed_hosts));
    }
    server::run(listener, emulator.router, shutdown, emulator.drain).await;
}

/// Why an in-process emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not listen on a loopback port: {0}")]
    Bind(#[from] std::io::Error),
}

/// An emulator running on a task of the current runtime, on an ephemeral loopback port.
pub struct RunningEmulator {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts an emulator on `127.0.0.1:0` in the current runtime.
///
/// The state is opened on a thread of its own: waiting for another process's lock
/// ([`WhenLocked::Wait`], `rtctl --local`) blocks, and the run must still notice a signal
/// meanwhile. Dropping the returned future (a signal ended the run) stops that wait at once.
pub async fn start(config: Config) -> Result<RunningEmulator, StartError> {
    /// Sets the flag when the waiting future is dropped, finished or not.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let (sender, opened) = oneshot::channel();
    let flag = stop.0.clone();
    std::thread::Builder::new()
        .name("rtctl-emulator-open".into())
        .spawn(move || {
            let _ = sender.send(Emulator::open(config, &flag));
        })?;
    let emulator = opened
        .await
        .map_err(|_| std::io::Error::other("opening the emulator's state stopped"))??;
    drop(stop);
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, emulator, async {
        let _ = stopped.await;
    }));
    Ok(RunningEmulator {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningEmulator {
    /// The base URL, e.g. `http://127.0.0.1:45678` (paths start with `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drains in-flight requests and releases the state file's lock.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
