//! What a run of rtctl sees of the world outside it: the environment, the standard streams
//! and whether they are a terminal, stdin, the prompter, the keyring, the clock, signals, and
//! how long to wait on slow things. The binary takes the process's ([`World::process`]);
//! tests build one of their own, so a command runs in-process against captured output.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::credentials::Keyring;
use crate::output::{self, Prompter, Stream, Streams, Terminal, TerminalPrompter};
use crate::signals::Signals;

/// How long to wait on things that can hang, settable so tests need not wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One keyring call (a locked or absent keyring must not hang a CI job).
    pub keyring: Duration,
    /// The `--local` state file held by another process.
    pub local_lock: Duration,
    /// In-flight requests once an emulator is told to stop.
    pub drain: Duration,
    /// A `--to-command` sink told to stop (a timeout, a signal), before it is killed.
    pub sink_grace: Duration,
    /// A read that only advises (whether `tokens create`'s name is taken), once the work it
    /// advises on is done: the new value is never held back longer for it.
    pub advice: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            keyring: Duration::from_secs(3),
            local_lock: Duration::from_secs(10),
            drain: Duration::from_secs(5),
            sink_grace: Duration::from_secs(5),
            advice: Duration::from_secs(2),
        }
    }
}

/// stdin, shared and read at most once by whoever needs it (`--config @-`, `--with-key`).
pub type Stdin = Arc<Mutex<Box<dyn Read + Send>>>;

/// Everything a run takes from outside.
#[derive(Clone)]
pub struct World {
    /// The environment variables (a copy: nothing reads the process's own).
    pub env: BTreeMap<String, String>,
    pub streams: Streams,
    pub stdin: Stdin,
    /// The keyring to use instead of the system's (tests).
    pub keyring: Option<Arc<dyn Keyring>>,
    pub clock: Clock,
    pub signals: Signals,
    pub timeouts: Timeouts,
    /// Whether this is the real process: then its signals are forwarded to [`Signals`].
    pub is_process: bool,
}

impl World {
    /// The process's world: its environment, streams, terminal and keyring.
    pub fn process() -> World {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let stdout_tty = std::io::stdout().is_terminal();
        let terminal = Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: stdout_tty,
            stderr: std::io::stderr().is_terminal(),
            width: stdout_tty
                .then(|| console::Term::stdout().size_checked().map(|(_, cols)| cols))
                .flatten(),
        };
        let keyring = test_keyring(&env);
        World {
            streams: Streams {
                stdout: output::stream(std::io::stdout()),
                stderr: output::stream(std::io::stderr()),
                terminal,
                prompter: Arc::new(TerminalPrompter::default()),
            },
            stdin: Arc::new(Mutex::new(Box::new(std::io::stdin()))),
            keyring,
            clock: Clock::system(),
            signals: Signals::new(),
            timeouts: Timeouts::default(),
            is_process: true,
            env,
        }
    }

    /// A world with the given environment, writing to `stdout` and `stderr`, with nothing on
    /// stdin and no terminal.
    pub fn detached(
        env: BTreeMap<String, String>,
        stdout: Stream,
        stderr: Stream,
        prompter: Arc<dyn Prompter>,
    ) -> World {
        World {
            env,
            streams: Streams {
                stdout,
                stderr,
                terminal: Terminal::default(),
                prompter,
            },
            stdin: Arc::new(Mutex::new(Box::new(std::io::empty()))),
            keyring: None,
            clock: Clock::system(),
            signals: Signals::new(),
            timeouts: Timeouts::default(),
            is_process: false,
        }
    }

    /// Looks up an environment variable.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
}

/// Debug builds let the binary's end-to-end tests swap the system keyring for a stand-in
/// (`RTCTL_TEST_KEYRING`: `none`, `broken`, `hang`, or a JSON file); release builds have no
/// such switch, so a released rtctl always means the system keyring when it says so.
#[cfg(debug_assertions)]
fn test_keyring(env: &BTreeMap<String, String>) -> Option<Arc<dyn Keyring>> {
    let setting = env.get(crate::credentials::ENV_TEST_KEYRING)?;
    Some(Arc::new(crate::credentials::MockKeyring::from_setting(
        setting,
    )))
}

#[cfg(not(debug_assertions))]
fn test_keyring(_env: &BTreeMap<String, String>) -> Option<Arc<dyn Keyring>> {
    None
}
