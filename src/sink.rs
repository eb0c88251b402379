//! `--to-command CMD`: a new value handed to a program (a secret store's CLI) on its stdin,
//! instead of printed. The last mile of a CI rotation is where values get lost: a pipe into
//! `gh secret set` stores an empty secret when rtctl fails, so the value goes to the program
//! only once it is confirmed current, and the program's exit status says whether it took it.
//!
//! - CMD is split into words as a shell would (quotes, backslashes) but never run through a
//!   shell: no name or value from a server reaches one. The program is found before any API
//!   call, and runs with rtctl's environment without `RUNTYPE_API_KEY`, plus
//!   `RTCTL_TOKEN_ID`, `RTCTL_TOKEN_NAME`, `RTCTL_TOKEN_ENVIRONMENT` and, for a successor or
//!   a replacement, `RTCTL_PREVIOUS_ID`.
//! - Its stdin is exactly the value (no newline); its stdout and stderr go to rtctl's stderr,
//!   escaped, bounded, with the value redacted.
//! - It runs in a process group of its own, so a timeout stops all of it (`sh -c` and what
//!   that started): SIGTERM, then SIGKILL after a grace period. Ctrl-C and SIGTERM received
//!   meanwhile are forwarded the same way.
//! - One at a time, whatever the concurrency ([`Sink::deliver`] holds a lock).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::CliError;
use crate::output::Printer;
use crate::signals::{Signal, Signals};

/// The variable a sink never sees: the key belongs to the Runtype API alone.
const API_KEY_VAR: &str = "RUNTYPE_API_KEY";
/// The most characters of one output line shown; the rest of a longer line is dropped.
const MAX_LINE_CHARS: usize = 1000;
/// The most lines shown from each of a sink's streams; the rest is read and dropped.
const MAX_LINES: usize = 200;
/// `--to-timeout` when not given, in seconds.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// What is put in place of the value wherever a sink prints it.
const REDACTED: &str = "[value]";

/// The program and arguments of `--to-command`, checked, and how long it may take.
pub(crate) struct Sink {
    /// The words as given, for messages and the command that delivers again.
    words: Vec<String>,
    /// The program, found on `PATH` (or as a path).
    program: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
    /// From SIGTERM to SIGKILL, on a timeout or a signal.
    grace: Duration,
    /// Sinks run one at a time.
    lock: tokio::sync::Mutex<()>,
}

/// One value to hand over, and what the sink's environment says about its token.
pub(crate) struct Handoff<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub environment: &'a str,
    /// The token this one replaces (a successor, or apply's replacement).
    pub previous: Option<&'a str>,
    pub value: &'a str,
}

/// How a handoff ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The sink exited 0: it took the value.
    Delivered,
    /// The sink exited non-zero: it did not take the value ("gh exited with status 1").
    Refused(String),
    /// Whether the sink took the value cannot be known: it was stopped (a timeout, a signal)
    /// and may have stored it before. `signal` is the signal rtctl received, if any.
    Unknown { why: String, signal: Option<Signal> },
}

impl Sink {
    /// Checks `command` before anything else happens: it must split into words and name a
    /// program that exists. `env` is the run's environment.
    pub(crate) fn new(
        command: &str,
        timeout: Duration,
        grace: Duration,
        env: &BTreeMap<String, String>,
    ) -> Result<Sink, CliError> {
        let words = shell_words::split(command).map_err(|e| {
            CliError::usage(format!("--to-command cannot be split into words: {e}"))
                .with_hint("quote as in a shell: --to-command 'gh secret set WIDGET_TOKEN'")
        })?;
        let Some(first) = words.first() else {
            return Err(CliError::usage("--to-command is empty").with_hint(
                "name the program that stores the value: --to-command 'gh secret set WIDGET_TOKEN'",
            ));
        };
        let program = find_program(first, env.get("PATH").map(String::as_str)).ok_or_else(|| {
            CliError::usage(format!(
                "--to-command: the program '{first}' was not found{}",
                if first.contains('/') { "" } else { " on PATH" }
            ))
            .with_hint("install it, or give its path; the command runs without a shell, so shell syntax ($VAR, |, ~) is not understood: use sh -c '…' for that")
        })?;
        let env = env
            .iter()
            .filter(|(name, _)| {
                name.as_str() != API_KEY_VAR
                    && !name.starts_with("RTCTL_TOKEN_")
                    && name.as_str() != "RTCTL_PREVIOUS_ID"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Sink {
            words,
            program,
            env,
            timeout,
            grace,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The program's name, for messages: `gh`.
    pub(crate) fn name(&self) -> &str {
        let first = self.words.first().map(String::as_str).unwrap_or_default();
        Path::new(first)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(first)
    }

    /// The command as a shell would read it back, for a suggested command:
    /// `--to-command 'gh secret set X'` (and its `--to-timeout` when not the default).
    pub(crate) fn flag(&self) -> String {
        let command = shell_words::quote(&shell_words::join(&self.words)).into_owned();
        match self.timeout.as_secs() {
            DEFAULT_TIMEOUT_SECS => format!("--to-command {command}"),
            seconds => format!("--to-command {command} --to-timeout {seconds}"),
        }
    }

    /// Hands `handoff`'s value to the program and waits for its verdict. Its output is relayed
    /// to stderr through `printer` as it comes; a signal raised meanwhile in `signals` is
    /// forwarded to it.
    pub(crate) async fn deliver(
        &self,
        handoff: &Handoff<'_>,
        printer: &Printer,
        signals: &Signals,
    ) -> Outcome {
        let _one_at_a_time = self.lock.lock().await;
        // Signals that arrived before (the run is finishing work in flight) are not this
        // sink's to answer; only new ones are forwarded.
        let seen = signals.count();
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.words[1..])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RTCTL_TOKEN_ID", handoff.id)
            .env("RTCTL_TOKEN_NAME", handoff.name.unwrap_or_default())
            .env("RTCTL_TOKEN_ENVIRONMENT", handoff.environment)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(previous) = handoff.previous {
            command.env("RTCTL_PREVIOUS_ID", previous);
        }
        #[cfg(unix)]
        command.process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Outcome::Refused(format!("could not be started: {e}")),
        };
        let group = child.id();
        // The value, then end of input. A program that does not read it (EPIPE) is judged by
        // its exit status alone.
        let value = handoff.value.as_bytes().to_vec();
        let stdin = child.stdin.take().map(|mut stdin| {
            tokio::spawn(async move {
                let _ = stdin.write_all(&value).await;
                let _ = stdin.shutdown().await;
            })
        });
        let source = self.name().to_string();
        let relays: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let printer = printer.clone();
            let source = source.clone();
            let value = handoff.value.to_string();
            tokio::spawn(async move { relay(stream, &printer, &source, &value).await })
        })
        .collect();

        enum Stop {
            Timeout,
            Signal(Signal),
        }
        let waited = tokio::select! {
            status = child.wait() => Ok(status),
            () = tokio::time::sleep(self.timeout) => Err(Stop::Timeout),
            signal = signals.after(seen) => Err(Stop::Signal(signal)),
        };
        let outcome = match waited {
            Ok(Ok(status)) => judge(&source, status),
            Ok(Err(e)) => Outcome::Unknown {
                why: format!("{source} could not be waited for ({e})"),
                signal: None,
            },
            Err(stop) => {
                let (first, why, signal) = match stop {
                    Stop::Timeout => (
                        Signal::Terminate,
                        format!(
                            "{source} did not finish within {}s and was stopped",
                            self.timeout.as_secs()
                        ),
                        None,
                    ),
                    Stop::Signal(signal) => (
                        signal,
                        format!(
                            "{source} was stopped by {}, which rtctl passed on to it",
                            match signal {
                                Signal::Interrupt => "Ctrl-C",
                                Signal::Terminate => "SIGTERM",
                            }
                        ),
                        Some(signal),
                    ),
                };
                signal_group(group, Some(first));
                let status = match tokio::time::timeout(self.grace, child.wait()).await {
                    Ok(status) => status.ok(),
                    Err(_) => {
                        signal_group(group, None);
                        let _ = child.kill().await;
                        child.wait().await.ok()
                    }
                };
                match status {
                    // It finished well despite being asked to stop: it took the value.
                    Some(status) if status.success() => Outcome::Delivered,
                    _ => Outcome::Unknown { why, signal },
                }
            }
        };
        // The relays end when the group's last writer does; one that escaped the group could
        // hold a pipe open forever, so they get the grace period and no more.
        let relays = futures_util::future::join_all(relays);
        if tokio::time::timeout(self.grace, relays).await.is_err() {
            printer.debug(&format!(
                "stopped reading {source}'s output: something it started still holds it open"
            ));
        }
        if let Some(stdin) = stdin {
            stdin.abort();
        }
        outcome
    }
}

/// The verdict of a sink that exited by itself.
fn judge(source: &str, status: ExitStatus) -> Outcome {
    if status.success() {
        return Outcome::Delivered;
    }
    if let Some(code) = status.code() {
        return Outcome::Refused(format!("{source} exited with status {code}"));
    }
    Outcome::Unknown {
        why: format!("{source} was killed by {}", signal_name(status)),
        signal: None,
    }
}

#[cfg(unix)]
fn signal_name(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(9) => "SIGKILL".into(),
        Some(15) => "SIGTERM".into(),
        Some(2) => "SIGINT".into(),
        Some(n) => format!("signal {n}"),
        None => "a signal".into(),
    }
}

#[cfg(not(unix))]
fn signal_name(_: ExitStatus) -> String {
    "a signal".into()
}

/// Sends `signal` (SIGKILL for `None`) to the sink's whole process group.
#[cfg(unix)]
fn signal_group(group: Option<u32>, signal: Option<Signal>) {
    use rustix::process::{Pid, Signal as Sig, kill_process_group};
    let Some(pid) = group
        .and_then(|g| i32::try_from(g).ok())
        .and_then(Pid::from_raw)
    else {
        return;
    };
    let signal = match signal {
        Some(Signal::Interrupt) => Sig::INT,
        Some(Signal::Terminate) => Sig::TERM,
        None => Sig::KILL,
    };
    // The group may be gone already; nothing to do then.
    let _ = kill_process_group(pid, signal);
}

#[cfg(not(unix))]
fn signal_group(_: Option<u32>, _: Option<Signal>) {}

/// Relays a sink's stream to stderr a line at a time: escaped by the printer, at most
/// [`MAX_LINE_CHARS`] a line and [`MAX_LINES`] lines, the value redacted. Everything is read
/// to the end, so the sink never blocks on a full pipe.
async fn relay(mut stream: impl AsyncRead + Unpin, printer: &Printer, source: &str, value: &str) {
    let mut pending: Vec<u8> = Vec::new();
    let mut shown = 0usize;
    // Inside a line already cut: the rest of it is dropped.
    let mut cutting = false;
    let mut chunk = [0u8; 8192];
    // A line is redacted once enough of it is held that any value it shows is whole.
    let window = MAX_LINE_CHARS * 4 + value.len();
    let show = |line: &[u8], cut: bool, shown: &mut usize| {
        if *shown < MAX_LINES {
            let text = String::from_utf8_lossy(line).replace(value, REDACTED);
            let mut line: String = text.chars().take(MAX_LINE_CHARS).collect();
            if cut || line.len() < text.len() {
                line.push_str(" …");
            }
            printer.relay(source, &line);
        } else if *shown == MAX_LINES {
            printer.relay(source, "… (more output not shown)");
        }
        *shown += 1;
    };
    loop {
        let read = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &chunk[..read] {
            if byte == b'\n' {
                if !cutting {
                    show(&pending, false, &mut shown);
                }
                pending.clear();
                cutting = false;
                continue;
            }
            if cutting {
                continue;
            }
            pending.push(byte);
            if pending.len() >= window {
                show(&pending, true, &mut shown);
                pending.clear();
                cutting = true;
            }
        }
    }
    if !pending.is_empty() && !cutting {
        show(&pending, false, &mut shown);
    }
}

/// The program `name` names: a path when it holds a `/`, else the first executable file of
/// that name on `path`.
fn find_program(name: &str, path: Option<&str>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') || (cfg!(windows) && name.contains('\\')) {
        let path = PathBuf::from(name);
        return is_executable(&path).then_some(path);
    }
    let path = path?;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| candidates(&dir, name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    vec![dir.join(name)]
}

#[cfg(not(unix))]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    ["", ".exe", ".cmd", ".bat"]
        .iter()
        .map(|ext| dir.join(format!("{name}{ext}")))
        .collect()
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(path: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("PATH".to_string(), path.to_string()),
            ("RUNTYPE_API_KEY".to_string(), "rt_live_secret".to_string()),
            ("HOME".to_string(), "/home/x".to_string()),
        ])
    }

    #[test]
    fn commands_split_as_a_shell_would_and_are_checked_before_use() {
        let path = std::env::var("PATH").unwrap();
        let sink = Sink::new(
            r#"sh -c 'cat > "$OUT"' "a b" c\ d"#,
            Duration::from_secs(1),
            Duration::from_secs(1),
            &env(&path),
        )
        .unwrap();
        assert_eq!(sink.words, ["sh", "-c", "cat > \"$OUT\"", "a b", "c d"]);
        assert_eq!(sink.name(), "sh");
        assert!(sink.env.iter().all(|(k, _)| k != "RUNTYPE_API_KEY"));
        assert!(sink.env.iter().any(|(k, _)| k == "HOME"));
        // The suggested flag reads back, in a shell, as the same words.
        let flag = shell_words::split(&sink.flag()).unwrap();
        assert_eq!(flag[0], "--to-command");
        assert_eq!(shell_words::split(&flag[1]).unwrap(), sink.words);

        for (bad, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("gh 'unclosed", "cannot be split"),
            ("no-such-program-anywhere x", "was not found on PATH"),
            ("./no/such/file", "was not found"),
        ] {
            let e = Sink::new(
                bad,
                Duration::from_secs(1),
                Duration::from_secs(1),
                &env(&path),
            )
            .err()
            .unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            assert!(e.message.contains(says), "{bad:?}: {}", e.message);
        }
        // Not on an empty PATH either.
        assert!(
            Sink::new(
                "sh",
                Duration::from_secs(1),
                Duration::from_secs(1),
                &env("")
            )
            .is_err()
        );
    }
}
