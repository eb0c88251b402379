//! The emulator's state behind a lock, and its optional persistence to `--state FILE`.
//!
//! Requests mutate the in-memory state under a `std::sync::Mutex` held only for the
//! mutation itself, never across I/O. Persistence happens afterwards: a writer takes the file
//! lock, snapshots the newest state and replaces the file atomically (temporary file, fsync,
//! rename). A reply is sent only once the state that contains its change is on disk, and
//! writers that queue behind a newer snapshot skip their own, so bursts coalesce.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::api_error::ApiError;
use super::seed::{self, Seed};
use super::state::{STATE_FORMAT, State};
use rtctl_model::files::write_atomically;

/// Why the emulator could not open its state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the state file {path} is in use by {holder}")]
    Locked { path: PathBuf, holder: String },
    #[error("gave up after {waited:?} waiting for the state file {path}, in use by {holder}")]
    LockTimeout {
        path: PathBuf,
        holder: String,
        waited: std::time::Duration,
    },
    #[error("stopped waiting for the state file {path}")]
    Abandoned { path: PathBuf },
    #[error("the state file {path} exists and is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("the state file {path} is read-only")]
    ReadOnly { path: PathBuf },
    #[error("could not read the state file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the state file {path} is not valid emulator state: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("could not write the state file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl StoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Locked { .. } => {
                Some("stop the other emulator, or give this one another --state FILE".into())
            }
            StoreError::LockTimeout { .. } => Some(
                "stop what holds it (an rtctl emulator --state on this file, say), or point rtctl at that emulator with --api-url instead of --local".into(),
            ),
            StoreError::NotAFile { .. } => {
                Some("give --state the path of a file (it is created when missing)".into())
            }
            StoreError::ReadOnly { path } => Some(format!(
                "make it writable (chmod u+w {}), or use another state file: the emulator writes every change",
                path.display()
            )),
            StoreError::Corrupt { path, .. } => Some(format!(
                "move {} aside (or delete it) to start from a fresh seed",
                path.display()
            )),
            _ => None,
        }
    }
}

struct Versioned {
    state: State,
    /// Bumped on every change; persistence compares it to what is on disk.
    version: u64,
}

struct Persistence {
    path: PathBuf,
    /// Held for the emulator's lifetime: the OS releases it if the process dies.
    _lock: File,
    /// The version last written; the async mutex serialises writers (not readers).
    written: tokio::sync::Mutex<u64>,
}

/// Shared, cheaply clonable handle on the emulator's state.
#[derive(Clone)]
pub(super) struct Store {
    inner: Arc<Mutex<Versioned>>,
    persistence: Option<Arc<Persistence>>,
}

impl Store {
    /// An in-memory store, seeded as of `now`.
    pub(super) fn in_memory(seed: Seed, now: jiff::Timestamp) -> Store {
        Store::from_state(seed::state(seed, now), None)
    }

    /// A store persisted to `path`: loads it if it exists, or seeds and writes it. Fails when
    /// the file is not emulator state, and, unless `when_locked` says to wait, when another
    /// emulator holds the file's lock.
    ///
    /// A wait for the lock ends early, with [`StoreError::Abandoned`], once `stop` is set:
    /// the caller stopped waiting (a signal ended its run).
    pub(super) fn open(
        path: &Path,
        seed: Seed,
        now: jiff::Timestamp,
        holder: &str,
        when_locked: &WhenLocked,
        stop: &AtomicBool,
    ) -> Result<Store, StoreError> {
        // Checked before the lock file is created beside it: `--state /dev/null` must leave
        // nothing behind in /dev.
        match fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return Err(StoreError::NotAFile {
                    path: path.to_path_buf(),
                });
            }
            // Replacing a read-only file would succeed (rename needs only the directory), and
            // silently undo what its owner meant.
            Ok(meta) if meta.permissions().readonly() => {
                return Err(StoreError::ReadOnly {
                    path: path.to_path_buf(),
                });
            }
            _ => {}
        }
        let lock = acquire_lock(path, holder, when_locked, stop)?;
        rtctl_model::files::remove_leftovers(path);
        let (state, fresh) = match fs::read(path) {
            Ok(bytes) => (parse_state(path, &bytes)?, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (seed::state(seed, now), true),
            Err(source) => {
                return Err(StoreError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if fresh {
            write_atomically(path, &serialize(&state)).map_err(|source| StoreError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let persistence = Persistence {
            path: path.to_path_buf(),
            _lock: lock,
            written: tokio::sync::Mutex::new(0),
        };
        Ok(Store::from_state(state, Some(Arc::new(persistence))))
    }

    fn from_state(state: State, persistence: Option<Arc<Persistence>>) -> Store {
        Store {
            inner: Arc::new(Mutex::new(Versioned { state, version: 0 })),
            persistence,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Versioned> {
        // Operations validate before they mutate, so a panic under the lock cannot leave a
        // half-applied change behind: keep serving rather than fail every later request.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds flows and agents to the catalogue (`--flow`, `--agent`), without a write of its
    /// own: the next change persists them.
    pub(super) fn add_to_catalogue(&self, flows: &[String], agents: &[String]) {
        let mut guard = self.lock();
        guard.state.catalogue().add(flows, agents);
    }

    /// Runs `f` on the state; nothing is written.
    pub(super) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock().state)
    }

    /// Runs `f` on the state and, if it succeeds, persists the result before returning.
    pub(super) async fn write<R>(
        &self,
        f: impl FnOnce(&mut State) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let (result, version, before) = {
            let mut guard = self.lock();
            // With a file, keep what was there: a change that cannot be saved is undone, so
            // the reply "not saved" means nothing changed.
            let before = self.persistence.is_some().then(|| guard.state.clone());
            let result = f(&mut guard.state)?;
            guard.version += 1;
            (result, guard.version, before)
        };
        if let Err(e) = self.persist(version).await {
            let mut guard = self.lock();
            if let (Some(before), true) = (before, guard.version == version) {
                guard.state = before;
                guard.version += 1;
            }
            return Err(e);
        }
        Ok(result)
    }

    /// Replaces the whole state (the control endpoint's reset).
    pub(super) async fn replace(&self, state: State) -> Result<(), ApiError> {
        self.write(|s| {
            *s = state;
            Ok(())
        })
        .await
    }

    async fn persist(&self, version: u64) -> Result<(), ApiError> {
        let Some(p) = &self.persistence else {
            return Ok(());
        };
        let mut written = p.written.lock().await;
        if *written >= version {
            return Ok(()); // a newer snapshot, which includes this change, is already on disk
        }
        let (bytes, snapshot_version) = {
            let guard = self.lock();
            (serialize(&guard.state), guard.version)
        };
        let path = p.path.clone();
        let outcome = tokio::task::spawn_blocking(move || write_atomically(&path, &bytes)).await;
        match outcome {
            Ok(Ok(())) => {
                *written = snapshot_version;
                Ok(())
            }
            Ok(Err(e)) => Err(save_failed(&p.path, &e.to_string())),
            Err(e) => Err(save_failed(&p.path, &e.to_string())),
        }
    }
}

/// The code of the reply to a change that could not be saved, and so was undone.
pub const STATE_NOT_SAVED: &str = "STATE_NOT_SAVED";

fn save_failed(path: &Path, detail: &str) -> ApiError {
    let mut error = ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "The emulator could not save its state to {}: {detail}; nothing was changed",
            path.display()
        ),
    );
    error.code = Some(STATE_NOT_SAVED.into());
    error
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// What to do when another process holds the state file's lock.
#[derive(Clone, Default)]
pub enum WhenLocked {
    /// Give up at once with [`StoreError::Locked`]: a second server on one state is a mistake.
    #[default]
    Fail,
    /// Call the function with who holds the lock (to tell the user why nothing happens), then
    /// wait for it, at most `timeout`. Short commands (`rtctl --local`) queue this way, so
    /// concurrent writers never lose each other's changes: each loads the state only once the
    /// previous one has saved and left.
    Wait {
        notify: Arc<dyn Fn(&str) + Send + Sync>,
        timeout: std::time::Duration,
    },
}

/// Who this process is, written into the lock file it holds so that a process waiting for
/// it can say who it waits for.
pub fn describe_holder(what: &str) -> String {
    format!("{what} (pid {})", std::process::id())
}

/// Who holds the lock, as the holder wrote it (bounded: a lock file is a line).
fn read_holder(lock_path: &Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    let _ = File::open(lock_path).map(|f| f.take(256).read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() {
        "another rtctl process".to_string()
    } else {
        rtctl_model::untrusted::for_terminal(text, false).into_owned()
    }
}

fn acquire_lock(
    path: &Path,
    holder: &str,
    when_locked: &WhenLocked,
    stop: &AtomicBool,
) -> Result<File, StoreError> {
    let lock_path = lock_path(path);
    let mut file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Write {
            path: lock_path.clone(),
            source,
        })?;
    let locked = match (file.try_lock(), when_locked) {
        (Ok(()), _) => Ok(()),
        (Err(fs::TryLockError::WouldBlock), WhenLocked::Fail) => Err(StoreError::Locked {
            path: path.to_path_buf(),
            holder: read_holder(&lock_path),
        }),
        (Err(fs::TryLockError::WouldBlock), WhenLocked::Wait { notify, timeout }) => {
            notify(&read_holder(&lock_path));
            wait_for_lock(&file, *timeout, stop).map_err(|e| match e {
                Waited::Failed(source) => StoreError::Write {
                    path: lock_path.clone(),
                    source,
                },
                Waited::TimedOut => StoreError::LockTimeout {
                    path: path.to_path_buf(),
                    holder: read_holder(&lock_path),
                    waited: *timeout,
                },
                Waited::Stopped => StoreError::Abandoned {
                    path: path.to_path_buf(),
                },
            })
        }
        (Err(fs::TryLockError::Error(source)), _) => Err(StoreError::Write {
            path: lock_path.clone(),
            source,
        }),
    };
    locked?;
    // Say who holds it now; a failure to say so costs only the waiter's message.
    use std::io::{Seek, Write};
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(std::io::SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{holder}"));
    Ok(file)
}

/// Why a wait for the lock ended without it.
enum Waited {
    TimedOut,
    /// The caller stopped waiting.
    Stopped,
    Failed(io::Error),
}

/// Takes the lock once it is free; gives up after `timeout`, or as soon as `stop` is set.
/// The lock has no waiting call with a deadline, so this looks again every few milliseconds.
fn wait_for_lock(
    file: &File,
    timeout: std::time::Duration,
    stop: &AtomicBool,
) -> Result<(), Waited> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(Waited::Stopped);
        }
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(Waited::TimedOut),
            Err(fs::TryLockError::Error(e)) => return Err(Waited::Failed(e)),
        }
    }
}

fn parse_state(path: &Path, bytes: &[u8]) -> Result<State, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let state: State = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("line {} column {}: {e}", e.line(), e.column())))?;
    if state.format != STATE_FORMAT {
        return Err(corrupt(format!("its \"format\" is not \"{STATE_FORMAT}\"")));
    }
    Ok(state)
}

fn serialize(state: &State) -> Vec<u8> {
    // Serialising plain data to memory cannot fail.
    let mut bytes = serde_json::to_vec_pretty(state).expect("state serialises");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let _first = open(
            &path,
            "the first (pid 1)",
            &WhenLocked::Fail,
            &AtomicBool::new(false),
        )
        .unwrap();
        let second = Store::open(
            &path,
            Seed::Demo,
            jiff::Timestamp::now(),
            "the first (pid 1)",
            &WhenLocked::Fail,
            &AtomicBool::new(false),
        )
        .err()
        .unwrap();
        assert!(matches!(second, StoreError::Locked { .. }), "{second}");
        assert!(second.hint().unwrap().contains("--state"));
    }

    #[test]
    fn a_directory_is_refused_and_nothing_is_created_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        fs::create_dir(&path).unwrap();
        let err = Store::open(
            &path,
            Seed::Demo,
            jiff::Timestamp::now(),
            "the first (pid 1)",
            &WhenLocked::Fail,
            &AtomicBool::new(false),
        )
        .err()
        .unwrap();
        assert!(matches!(err, StoreError::NotAFile { .. }), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_position_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{\n  \"clientTokens\": [oops]\n}").unwrap();
        let err = Store::open(
            &path,
            Seed::Demo,
            jiff::Timestamp::now(),
            "the first (pid 1)",
            &WhenLocked::Fail,
            &AtomicBool::new(false),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\n  \"clientTokens\": [oops]\n}"
        );
    }

    /// Opens `path` as `holder`, waiting as `when_locked` says until `stop` is set.
    fn open(
        path: &Path,
        holder: &str,
        when_locked: &WhenLocked,
        stop: &AtomicBool,
    ) -> Result<Store, StoreError> {
        Store::open(
            path,
            Seed::Demo,
            jiff::Timestamp::now(),
            holder,
            when_locked,
            stop,
        )
    }

    /// `path` opened by "the first (pid 1)", and how a second open waits for it (at most
    /// `timeout`), telling the receiver whom it waits for.
    fn held(
        path: &Path,
        timeout: std::time::Duration,
    ) -> (Store, WhenLocked, std::sync::mpsc::Receiver<String>) {
        let first = open(
            path,
            "the first (pid 1)",
            &WhenLocked::Fail,
            &AtomicBool::new(false),
        )
        .unwrap();
        let (told, waited) = std::sync::mpsc::channel();
        let when_locked = WhenLocked::Wait {
            notify: Arc::new(move |holder: &str| {
                let _ = told.send(holder.to_string());
            }),
            timeout,
        };
        (first, when_locked, waited)
    }

    #[test]
    fn a_waiting_open_proceeds_once_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (first, when_locked, waited) = held(&path, std::time::Duration::from_secs(60));
        let second = std::thread::spawn({
            let path = path.clone();
            move || open(&path, "the second", &when_locked, &AtomicBool::new(false)).is_ok()
        });
        // The second open found the lock taken, knows who holds it, and is waiting.
        assert_eq!(waited.recv().unwrap(), "the first (pid 1)");
        drop(first);
        assert!(second.join().unwrap());
    }

    #[test]
    fn a_waiting_open_stops_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // Longer than any test: only `stop` can end this wait.
        let (_first, when_locked, waited) = held(&path, std::time::Duration::from_secs(3600));
        let stop = Arc::new(AtomicBool::new(false));
        let second = std::thread::spawn({
            let (path, stop) = (path.clone(), stop.clone());
            move || open(&path, "the second", &when_locked, &stop).err()
        });
        waited.recv().unwrap();
        stop.store(true, Ordering::SeqCst);
        let error = second.join().unwrap().unwrap();
        assert!(matches!(error, StoreError::Abandoned { .. }), "{error}");
    }
}
