//! Running rtctl against an emulator, in one harness with two ways in: in-process (most
//! tests: `rtctl::run` with a world of the test's making, its output captured) and the real
//! binary (a few end-to-end tests a command: argument parsing, signals, pipes, terminals).
//! Both return the same [`Run`], normalised the same way for snapshots. The emulator lives on
//! a runtime the test owns and is reached over loopback HTTP either way.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtctl::world::{Timeouts, World};
use rtctl::{Prompter, Terminal};
use rtctl_emulator::{self as emulator, Config, DEFAULT_API_KEY, RunningEmulator, Seed};
use serde_json::{Value, json};

use crate::support::Reply;

/// A buffer that many clones write to, for captured stdout and stderr.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stdout whose reader has gone: every write fails as a closed pipe does.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

/// Answers prompts from a script, and shows each question and answer on the run's stderr
/// as a terminal would.
pub struct Answers {
    answers: Mutex<VecDeque<String>>,
    stderr: Mutex<Option<Captured>>,
}

impl Answers {
    pub fn new(answers: &[&str]) -> Arc<Answers> {
        Arc::new(Answers {
            answers: Mutex::new(answers.iter().map(|a| a.to_string()).collect()),
            stderr: Mutex::new(None),
        })
    }

    fn next(&self, question: &str) -> std::io::Result<String> {
        self.answers.lock().unwrap().pop_front().ok_or_else(|| {
            std::io::Error::other(format!("the test gave no answer for {question:?}"))
        })
    }

    fn show(&self, line: String) {
        if let Some(stderr) = self.stderr.lock().unwrap().as_mut() {
            let _ = writeln!(stderr, "{line}");
        }
    }
}

impl Prompter for Answers {
    fn line(&self, question: &str) -> std::io::Result<Option<String>> {
        let answer = self.next(question)?;
        self.show(format!("{question}{answer}"));
        Ok(Some(answer))
    }

    fn secret(&self, prompt: &str) -> std::io::Result<String> {
        let answer = self.next(prompt)?;
        self.show(format!("{prompt}: [hidden]"));
        Ok(answer)
    }
}

/// A change a test makes to the world of a run.
type WorldChange<'a> = Box<dyn FnOnce(&mut World) + 'a>;

/// One in-process run, set up step by step: `invocation(args).stdin(..).terminal().run()`.
pub struct Invocation<'a> {
    args: Vec<String>,
    vars: Vec<(String, String)>,
    stdin: Option<String>,
    terminal: Terminal,
    answers: Arc<Answers>,
    runtime: Option<&'a tokio::runtime::Runtime>,
    world: Option<WorldChange<'a>>,
    closed_stdout: bool,
    merged: bool,
    /// The emulator's clock, so rtctl and the server agree on "now" when a test moves it.
    clock: Option<rtctl::clock::Clock>,
}

impl<'a> Invocation<'a> {
    pub fn new(args: &[&str], vars: Vec<(String, String)>) -> Invocation<'a> {
        Invocation {
            args: args.iter().map(|a| a.to_string()).collect(),
            vars,
            stdin: None,
            terminal: Terminal::default(),
            answers: Answers::new(&[]),
            runtime: None,
            world: None,
            closed_stdout: false,
            merged: false,
            clock: None,
        }
    }

    /// stdout and stderr into one text, in the order written, as a terminal shows them
    /// (the run's `stdout`; its `stderr` is empty).
    pub fn merged(mut self) -> Invocation<'a> {
        self.merged = true;
        self
    }

    /// As if stdout were a pipe whose reader has exited (`rtctl … | head -0`).
    pub fn closed_stdout(mut self) -> Invocation<'a> {
        self.closed_stdout = true;
        self
    }

    /// Sets (or, with an empty value, removes) an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Invocation<'a> {
        self.vars.retain(|(k, _)| k != name);
        if !value.is_empty() {
            self.vars.push((name.into(), value.into()));
        }
        self
    }

    pub fn stdin(mut self, text: &str) -> Invocation<'a> {
        self.stdin = Some(text.to_string());
        self
    }

    /// As if stdin, stdout and stderr were a terminal of `width` columns, answering prompts
    /// with `answers` in turn.
    pub fn terminal(mut self, width: u16, answers: &[&str]) -> Invocation<'a> {
        self.terminal = Terminal {
            stdin: true,
            stdout: true,
            stderr: true,
            width: Some(width),
        };
        self.answers = Answers::new(answers);
        self
    }

    /// Changes the world before the run (its clock, signals, timeouts…).
    pub fn world(mut self, change: impl FnOnce(&mut World) + 'a) -> Invocation<'a> {
        self.world = Some(Box::new(change));
        self
    }

    fn on(mut self, runtime: &'a tokio::runtime::Runtime) -> Invocation<'a> {
        self.runtime = Some(runtime);
        self
    }

    pub fn run(self) -> Run {
        let env: BTreeMap<String, String> = self.vars.into_iter().collect();
        let stdout = Captured::default();
        let stderr = if self.merged {
            stdout.clone()
        } else {
            Captured::default()
        };
        *self.answers.stderr.lock().unwrap() = Some(stderr.clone());
        let mut world = World::detached(
            env.clone(),
            if self.closed_stdout {
                rtctl::stream(ClosedPipe)
            } else {
                rtctl::stream(stdout.clone())
            },
            rtctl::stream(stderr.clone()),
            self.answers,
        );
        world.streams.terminal = self.terminal;
        if let Some(text) = self.stdin {
            world.stdin = Arc::new(Mutex::new(Box::new(std::io::Cursor::new(
                text.into_bytes(),
            ))));
        }
        if let Some(setting) = env.get("RTCTL_TEST_KEYRING") {
            world.keyring = Some(Arc::new(rtctl::MockKeyring::from_setting(setting)));
        }
        world.timeouts = Timeouts {
            keyring: Duration::from_millis(300),
            ..Timeouts::default()
        };
        if let Some(clock) = self.clock {
            world.clock = clock;
        }
        if let Some(change) = self.world {
            change(&mut world);
        }
        let args = std::iter::once("rtctl".to_string())
            .chain(self.args)
            .map(std::ffi::OsString::from);
        let code = match self.runtime {
            Some(runtime) => runtime.block_on(rtctl::run(args, world)),
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(rtctl::run(args, world)),
        };
        Run::new(
            i32::from(code),
            stdout.text(),
            if self.merged {
                String::new()
            } else {
                stderr.text()
            },
        )
    }
}

pub const BIN: &str = env!("CARGO_BIN_EXE_rtctl");

/// Sends `signal` (`-INT`, `-TERM`) to a child, as a terminal or a CI runner would.
pub fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit; fails the test (killing it) if it has not after `limit`, a bound
/// far above what exiting takes: for a test whose point is that the run ends at once.
pub fn exit_within(child: &mut std::process::Child, limit: Duration, what: &str) -> i32 {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: rtctl was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A finished run. Every hint it printed is checked on the way: hints start lower case,
    /// as the rest of a sentence after `hint:` (a name such as `RUNTYPE_API_KEY` may start
    /// one), so the rule holds wherever a test happens to see a hint.
    pub fn new(code: i32, stdout: String, stderr: String) -> Run {
        for line in stdout.lines().chain(stderr.lines()) {
            let line = console::strip_ansi_codes(line);
            if let Some(hint) = line.strip_prefix("hint: ") {
                let mut chars = hint.chars();
                let capitalised = chars.next().is_some_and(char::is_uppercase)
                    && chars.next().is_some_and(char::is_lowercase);
                assert!(!capitalised, "a hint starts with a capital: {line:?}");
            }
        }
        Run {
            code,
            stdout,
            stderr,
        }
    }

    /// stdout, stderr and exit code in one text, with ids, values, times and ports replaced
    /// by placeholders so snapshots are stable.
    pub fn snapshot(&self) -> String {
        self.snapshot_naming(&[])
    }

    /// The same, but first each literal text of `names` is replaced by its placeholder, for
    /// outputs where *which* id or path appears matters, not only that one does:
    /// `run.snapshot_naming(&[(&id, "[LIVE]")])`.
    pub fn snapshot_naming(&self, names: &[(&str, &str)]) -> String {
        let mut text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        for (literal, placeholder) in names {
            text = text.replace(literal, placeholder);
        }
        normalize(&text)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }
}

/// Several runs in one snapshot, each under the command line that made it, for tests that
/// try many inputs: `$ rtctl ARGS` and then the run's [`Run::snapshot`].
#[derive(Default)]
pub struct Transcript {
    text: String,
    names: Vec<(String, String)>,
}

impl Transcript {
    /// A transcript that names literal texts as [`Run::snapshot_naming`] does.
    pub fn naming(names: &[(&str, &str)]) -> Transcript {
        Transcript {
            text: String::new(),
            names: names
                .iter()
                .map(|(l, p)| (l.to_string(), p.to_string()))
                .collect(),
        }
    }

    pub fn add(&mut self, args: &[&str], run: &Run) {
        let quoted: Vec<String> = args
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains([' ', '"', '\'', '\\']) {
                    format!("{a:?}")
                } else {
                    a.to_string()
                }
            })
            .collect();
        let names: Vec<(&str, &str)> = self
            .names
            .iter()
            .map(|(l, p)| (l.as_str(), p.as_str()))
            .collect();
        let mut line = format!("$ rtctl {}\n", quoted.join(" "));
        for (literal, placeholder) in &names {
            line = line.replace(literal, placeholder);
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&normalize(&line));
        self.text.push_str(&run.snapshot_naming(&names));
    }

    /// The same for a run whose stdout is too long to show (a cut-off list of hundreds):
    /// its exit code and stderr, with stdout as `[not shown]`.
    pub fn add_without_stdout(&mut self, args: &[&str], run: &Run) {
        let shown = Run {
            code: run.code,
            stdout: "[not shown]\n".into(),
            stderr: run.stderr.clone(),
        };
        self.add(args, &shown);
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

pub fn normalize(text: &str) -> String {
    let rules = [
        (r"ct_(test|live)_[A-Za-z0-9]{32}", "ct_${1}_[VALUE]"),
        (r"ct_[0-9a-f]{16}", "[ID]"),
        (r"conv_[0-9a-f]{16}", "[CONV]"),
        (r"\*\*\*\*[A-Za-z0-9]{4}", "****[HINT]"),
        (
            r#""tokenHint": "[A-Za-z0-9]{4}""#,
            r#""tokenHint": "[HINT]""#,
        ),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"http://127\.0\.0\.1:\d+", "[URL]"),
        // The emulator a hint suggests for such a URL.
        (r"rtctl emulator --port \d+", "rtctl emulator --port [PORT]"),
        (r"fault f_[0-9a-f]{8}", "fault [FAULT]"),
        // Waits and round trips in `-v` logs.
        (r"\b\d+ ms\b", "[MS]"),
    ];
    // Homes and other scratch directories are `tempfile` directories: `$TMPDIR/.tmpXXXXXX`.
    let temp = std::env::temp_dir();
    let temp = regex_lite::escape(temp.to_str().unwrap().trim_end_matches('/'));
    let scratch = format!(r"{temp}/\.tmp[A-Za-z0-9]{{6}}");
    let mut out = regex_lite::Regex::new(&scratch)
        .unwrap()
        .replace_all(text, "[TMP]")
        .into_owned();
    for (pattern, replacement) in rules {
        out = regex_lite::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, replacement)
            .into_owned();
    }
    out
}

/// A private home for runs of the binary: config, data and the test keyring live in a
/// temporary directory, so no test reads or writes the developer's own files or keyring.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `RTCTL_CONFIG_DIR`: config.toml, credentials.toml.
    pub fn config_dir(&self) -> PathBuf {
        self.path().join("config")
    }

    /// `RTCTL_DATA_DIR`: the `--local` state.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// A file-backed test keyring (`RTCTL_TEST_KEYRING`).
    pub fn keyring_file(&self) -> PathBuf {
        self.path().join("keyring.json")
    }

    /// Writes `config.toml`.
    pub fn write_config(&self, text: &str) -> PathBuf {
        std::fs::create_dir_all(self.config_dir()).unwrap();
        let path = self.config_dir().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The variables that point rtctl at this home. The keyring is absent unless a test
    /// names one.
    pub fn env(&self) -> Vec<(String, String)> {
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("HOME".into(), s(self.path().to_path_buf())),
            ("RTCTL_CONFIG_DIR".into(), s(self.config_dir())),
            ("RTCTL_DATA_DIR".into(), s(self.data_dir())),
            ("RTCTL_TEST_KEYRING".into(), "none".into()),
        ]
    }

    /// The variables of a run in this home, with `env` added (an empty value unsets).
    fn vars(&self, env: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = self.env();
        for (k, v) in env {
            vars.retain(|(name, _)| name != k);
            if !v.is_empty() {
                vars.push((k.to_string(), v.to_string()));
            }
        }
        vars
    }

    /// Runs `rtctl ARGS` in-process in this home with nothing else in the environment but
    /// `env`.
    pub fn rtctl(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.invocation(args, env).run()
    }

    /// An in-process run to set up further.
    pub fn invocation(&self, args: &[&str], env: &[(&str, &str)]) -> Invocation<'static> {
        Invocation::new(args, self.vars(env))
    }

    /// Runs the real binary in this home (`input` on stdin, or /dev/null).
    pub fn binary(&self, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Run {
        run_rtctl(args, &self.vars(env), input)
    }
}

/// Runs the binary with a cleared environment (PATH, then `vars`) and `input` on stdin.
pub fn run_rtctl(args: &[&str], vars: &[(String, String)], input: Option<&str>) -> Run {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("rtctl runs");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
    }
    let output = child.wait_with_output().expect("rtctl finishes");
    Run::new(
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An emulator for binary tests, on a runtime of its own, and a private home for the runs.
pub struct Server {
    pub runtime: tokio::runtime::Runtime,
    /// The emulator's clock, which in-process runs share.
    clock: rtctl::clock::Clock,
    emulator: Option<RunningEmulator>,
    pub url: String,
    pub key: String,
    pub home: Home,
    findings: crate::contract::Findings,
}

impl Server {
    pub fn demo() -> Server {
        Server::with(Config::default())
    }

    pub fn empty() -> Server {
        Server::with(Config {
            seed: Seed::None,
            ..Config::default()
        })
    }

    pub fn with(config: Config) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let key = config
            .api_keys
            .first()
            .cloned()
            .unwrap_or(DEFAULT_API_KEY.to_string());
        let findings = crate::contract::Findings::default();
        let clock = config.clock.clone();
        let config = crate::support::test_config(config, &findings);
        let emulator = runtime.block_on(emulator::start(config)).unwrap();
        Server {
            clock,
            url: emulator.url(),
            emulator: Some(emulator),
            runtime,
            key,
            home: Home::new(),
            findings,
        }
    }

    /// Runs `rtctl ARGS` in-process with this server's URL and key in the environment, no
    /// stdin.
    pub fn rtctl(&self, args: &[&str]) -> Run {
        self.rtctl_env(args, &[])
    }

    /// Runs `rtctl ARGS` in-process with this server's URL and key; `env` adds or overrides
    /// variables (an empty value unsets).
    pub fn rtctl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.invocation(args, env).run()
    }

    /// The same, with `input` on stdin.
    pub fn rtctl_stdin(&self, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Run {
        let run = self.invocation(args, env);
        match input {
            Some(text) => run.stdin(text).run(),
            None => run.run(),
        }
    }

    fn vars<'a>(&'a self, env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("RUNTYPE_API_URL", self.url.as_str()),
            ("RUNTYPE_API_KEY", self.key.as_str()),
        ];
        vars.extend_from_slice(env);
        vars
    }

    /// An in-process run to set up further (stdin, a terminal, the world).
    pub fn invocation(&self, args: &[&str], env: &[(&str, &str)]) -> Invocation<'_> {
        let mut invocation =
            Invocation::new(args, self.home.vars(&self.vars(env))).on(&self.runtime);
        invocation.clock = Some(self.clock.clone());
        invocation
    }

    /// Runs the real binary with this server's URL and key (`input` on stdin, or /dev/null).
    pub fn binary(&self, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Run {
        self.home.binary(args, &self.vars(env), input)
    }

    /// Starts the real binary against this server with its output piped, for a test that
    /// signals it while it runs.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut vars = self.home.env();
        vars.push(("RUNTYPE_API_URL".into(), self.url.clone()));
        vars.push(("RUNTYPE_API_KEY".into(), self.key.clone()));
        Command::new(BIN)
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A direct API call, to set up or check state without going through rtctl.
    pub fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let url = format!("{}{path}", self.url);
        let key = self.key.clone();
        self.runtime.block_on(async move {
            let mut request = crate::support::http().request(method, url).bearer_auth(key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            Reply {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                text: response.text().await.unwrap(),
            }
        })
    }

    pub fn token(&self, id: &str) -> Reply {
        self.api(
            reqwest::Method::GET,
            &format!("/v1/client-tokens/{id}"),
            None,
        )
    }

    pub fn value_of(&self, id: &str) -> String {
        let reply = self.api(
            reqwest::Method::GET,
            &format!("/v1/client-tokens/{id}/token"),
            None,
        );
        reply.expect(200)["token"].as_str().unwrap().to_string()
    }

    pub fn tokens(&self) -> Vec<Value> {
        let reply = self.api(reqwest::Method::GET, "/v1/client-tokens", None);
        reply.expect(200)["clientTokens"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn id_of(&self, name: &str) -> String {
        self.tokens()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no token named {name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates a token directly; returns its id.
    pub fn create(&self, name: &str, extra: Value) -> String {
        let mut body = json!({"name": name, "allowedOrigins": ["https://app.example.com"], "flowIds": ["flow_1"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = self.api(reqwest::Method::POST, "/v1/client-tokens", Some(body));
        reply.expect(201)["clientToken"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn fault(&self, spec: Value) {
        let url = format!("{}/__emulator/faults", self.url);
        self.runtime.block_on(async move {
            let reply = crate::support::http()
                .post(url)
                .json(&spec)
                .send()
                .await
                .unwrap();
            let status = reply.status();
            assert_eq!(status, 201, "{spec}: {}", reply.text().await.unwrap());
        });
    }

    /// Waits until the journal satisfies `done` (the emulator records a request once it is
    /// answered). Fails after a generous bound rather than hanging the suite.
    pub fn wait_for_requests(&self, done: impl Fn(&[String]) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done(&self.journal()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the emulator never saw the requests: {:?}",
                self.journal()
            );
            std::thread::yield_now();
        }
    }

    /// How many rotations (`POST …/regenerate`) the emulator received.
    pub fn regenerations(&self) -> usize {
        self.journal()
            .iter()
            .filter(|r| r.ends_with("/regenerate"))
            .count()
    }

    /// Requests the emulator received, as `METHOD PATH` lines.
    pub fn journal(&self) -> Vec<String> {
        let url = format!("{}/__emulator/requests", self.url);
        let body: Value = self.runtime.block_on(async move {
            crate::support::http()
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["method"].as_str().unwrap(),
                    e["path"].as_str().unwrap()
                )
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            self.runtime.block_on(e.shutdown());
        }
        self.findings.assert_none();
    }
}
