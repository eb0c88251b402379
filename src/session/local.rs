//! `--local`: an emulator started inside this run, on an ephemeral loopback port, over a
//! state file in the data directory. No account, no login: it accepts its own built-in key.
//!
//! Several `--local` commands may run at once (a script in two terminals, `xargs -P`). Each
//! takes the state file's lock for its whole run and waits for it when another holds it, so
//! every command loads the state only after the previous one saved: no write is lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::emulator::{self, RunningEmulator, Seed, WhenLocked};
use crate::error::CliError;
use crate::output::Printer;
use crate::settings::{Dirs, ENV_DATA_DIR};

/// The state file's name inside the data directory.
pub(crate) const STATE_FILE: &str = "local-state.json";

/// The running local emulator and where its state lives.
pub(crate) struct LocalApi {
    emulator: RunningEmulator,
    state_file: PathBuf,
}

impl LocalApi {
    /// Starts the emulator over `DATA_DIR/local-state.json`, seeding demo data on first use.
    pub(crate) async fn start(
        dirs: &Dirs,
        printer: &Printer,
        clock: Clock,
        lock_timeout: std::time::Duration,
    ) -> Result<LocalApi, CliError> {
        let data_dir = dirs.data.clone().ok_or_else(|| {
            CliError::failure("--local needs a data directory, and there is no home directory")
                .with_hint(format!(
                    "set {ENV_DATA_DIR} to a directory for the local state"
                ))
        })?;
        create_dir(&data_dir)?;
        let state_file = data_dir.join(STATE_FILE);
        let first_use = !state_file.exists();
        let waiting = {
            let printer = printer.clone();
            let path = state_file.clone();
            WhenLocked::Wait {
                notify: Arc::new(move |holder: &str| {
                    printer.note(&format!(
                        "Waiting for {holder}, which is using {} (at most {} s)…",
                        path.display(),
                        lock_timeout.as_secs()
                    ));
                }),
                timeout: lock_timeout,
            }
        };
        let config = emulator::Config {
            state_file: Some(state_file.clone()),
            seed: Seed::Demo,
            when_locked: waiting,
            holder: emulator::describe_holder("another rtctl --local command"),
            clock,
            ..emulator::Config::default()
        };
        let running = emulator::start(config).await.map_err(|e| match e {
            emulator::StartError::Store(store) => CliError::from(store),
            emulator::StartError::Bind(io) => {
                CliError::failure(format!("could not start the local emulator: {io}"))
            }
        })?;
        if first_use {
            printer.note(&format!(
                "Started a local Runtype API with demo data; it keeps its state in {}",
                state_file.display()
            ));
        }
        printer.debug(&format!("local emulator at {}", running.url()));
        Ok(LocalApi {
            emulator: running,
            state_file,
        })
    }

    pub(crate) fn url(&self) -> String {
        self.emulator.url()
    }

    pub(crate) fn state_file(&self) -> &Path {
        &self.state_file
    }

    pub(crate) async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}

fn create_dir(dir: &Path) -> Result<(), CliError> {
    crate::files::create_private_dir(dir).map_err(|e| {
        CliError::failure(format!(
            "could not create the data directory {}: {e}",
            dir.display()
        ))
        .with_hint(format!("set {ENV_DATA_DIR} to a directory you can write"))
    })
}
