//! Prompts answered through a real pseudo-terminal: the binary runs on a pty (portable-pty),
//! so its prompts see a terminal exactly as they would for a person. A prompt sets the
//! terminal's modes and discards what was typed before it *before* it shows its text, so a
//! test types once the prompt's text has appeared, and nothing it types is lost.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::harness::{BIN, Server};

/// The rows of every pty: more than any test's output, so nothing scrolls away.
const PTY_ROWS: u16 = 50;

/// The environment of a run on a pty: the server's URL and key, a private home, a terminal.
pub fn pty_env(server: &Server) -> Vec<(String, String)> {
    let mut vars = server.home.env();
    vars.push(("RUNTYPE_API_URL".into(), server.url.clone()));
    vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
    vars.push(("TERM".into(), "xterm".into()));
    vars
}

/// Runs `rtctl ARGS` on a pty, waits for the `[y/N]` prompt, types `answer` and Enter (a
/// prompt waits for Enter), and returns the exit code and everything the terminal showed.
pub fn answer_prompt(server: &Server, args: &[&str], answer: &str) -> (i32, String) {
    answer_prompts(&pty_env(server), args, &[("[y/N]", &format!("{answer}\r"))])
}

/// A run of the binary on a pseudo-terminal of `cols` columns.
pub struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: mpsc::Receiver<Vec<u8>>,
    /// Everything the terminal showed so far.
    pub screen: Vec<u8>,
    deadline: Instant,
}

impl Pty {
    /// Starts `rtctl ARGS` with only PATH and `vars` in its environment.
    pub fn spawn(vars: &[(String, String)], args: &[&str], cols: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: PTY_ROWS,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal opens");
        let mut command = CommandBuilder::new(BIN);
        command.args(args);
        command.env_clear();
        command.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in vars {
            command.env(k, v);
        }
        let child = pair.slave.spawn_command(command).expect("rtctl runs");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, output) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            child,
            master: pair.master,
            writer,
            output,
            screen: Vec::new(),
            deadline: Instant::now() + Duration::from_secs(30),
        }
    }

    /// The terminal's text so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Waits until `text` appears after byte `from` of the screen; returns where it ends.
    pub fn wait_for(&mut self, text: &str, from: usize) -> usize {
        loop {
            let shown =
                String::from_utf8_lossy(&self.screen[from.min(self.screen.len())..]).into_owned();
            if let Some(at) = shown.find(text) {
                return from + at + text.len();
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.screen.extend(chunk),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "{text:?} did not appear; the terminal showed: {}",
                        self.text()
                    );
                }
            }
        }
    }

    /// The pty's local modes (`termios.c_lflag`).
    pub fn local_flags(&self) -> libc::tcflag_t {
        let fd = self
            .master
            .as_raw_fd()
            .expect("a unix pty has a descriptor");
        let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the struct for a valid descriptor, checked by its result.
        let ok = unsafe { libc::tcgetattr(fd, termios.as_mut_ptr()) } == 0;
        assert!(ok, "tcgetattr on the pty");
        // SAFETY: initialised by the successful call above.
        unsafe { termios.assume_init() }.c_lflag
    }

    pub fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// The program's process id, to send it signals.
    pub fn process_id(&self) -> u32 {
        self.child.process_id().expect("the child has a pid")
    }

    /// Waits for the program to end, keeping the terminal open to inspect its modes.
    /// (Bounded: a program still waiting at the deadline is killed and the test fails.)
    pub fn wait_exit(&mut self) -> i32 {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code() as i32;
            }
            if Instant::now() > self.deadline {
                let _ = self.child.kill();
                panic!("the program did not end: {}", self.text());
            }
            // An exit is not an event the pty reports: look again shortly, reading meanwhile.
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(10)) {
                self.screen.extend(chunk);
            }
        }
    }

    /// Waits for the program to end; returns its exit code and the screen's text as a
    /// terminal draws it (what was cleared or overwritten is gone).
    pub fn finish_drawn(self) -> (i32, String) {
        let cols = self.master.get_size().expect("the pty's size").cols;
        let (code, bytes) = self.collect();
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("a pty has a size");
        let mut parser = vt100::Parser::new(size(PTY_ROWS), size(cols), 0);
        parser.process(&bytes);
        (code, parser.screen().contents())
    }

    /// Waits for the program to end; returns its exit code and the whole screen.
    pub fn finish(self) -> (i32, String) {
        let (code, bytes) = self.collect();
        (code, String::from_utf8_lossy(&bytes).replace('\r', ""))
    }

    /// Waits for the program to end; returns its exit code and every byte it showed.
    fn collect(mut self) -> (i32, Vec<u8>) {
        let code = self.wait_exit();
        // Collect what is left; the reader ends once the program and our end let go.
        drop(self.master);
        drop(self.writer);
        while let Ok(chunk) = self.output.recv_timeout(Duration::from_secs(5)) {
            self.screen.extend(chunk);
        }
        (code, self.screen)
    }
}

/// Runs `rtctl ARGS` on a pty with only PATH and `vars` in its environment; for each
/// `(prompt, answer)` in turn, waits until `prompt` appears and types `answer`. Returns the
/// exit code and everything the terminal showed.
pub fn answer_prompts(
    vars: &[(String, String)],
    args: &[&str],
    exchanges: &[(&str, &str)],
) -> (i32, String) {
    let mut pty = Pty::spawn(vars, args, 120);
    let mut seen = 0;
    for (prompt, answer) in exchanges {
        seen = pty.wait_for(prompt, seen);
        pty.type_text(answer);
    }
    pty.finish()
}

/// Runs `rtctl ARGS` on a pty of `cols` columns and returns what the terminal showed.
fn on_terminal(server: &Server, args: &[&str], cols: u16) -> String {
    let (_, screen) = Pty::spawn(&pty_env(server), args, cols).finish();
    screen
}

#[test]
fn a_terminal_gets_a_table_with_relative_times_that_fits() {
    let server = Server::demo();
    let screen = on_terminal(&server, &["tokens", "list"], 120);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].contains("ID") && lines[0].contains("LAST USED"),
        "{screen}"
    );
    assert!(
        screen.contains("3 days ago") && screen.contains("never"),
        "{screen}"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 120), "{screen}");
    let id = server.id_of("Mobile app");
    assert!(screen.contains(&id), "ids are never wrapped: {screen}");
    let record = on_terminal(&server, &["tokens", "get", &id], 120);
    assert!(record.contains("value  ct_live_****"), "{record}");
    assert!(
        !record.contains("product surface"),
        "empty fields are hidden: {record}"
    );
}

#[test]
fn rotate_asks_naming_the_token_and_yes_rotates() {
    let server = Server::demo();
    let id = server.id_of("Marketing site widget");
    let old = server.value_of(&id);
    let (code, screen) = answer_prompt(&server, &["tokens", "rotate", &id], "y");
    assert_eq!(code, 0, "{screen}");
    for shown in [
        id.as_str(),
        "\"Marketing site widget\"",
        "live token",
        "https://www.example.com, https://example.com",
        "2 conversations",
        "stops working immediately",
    ] {
        assert!(screen.contains(shown), "prompt lacks {shown:?}: {screen}");
    }
    let new = server.value_of(&id);
    assert_ne!(new, old);
    assert!(screen.contains(&new), "the new value is printed: {screen}");
}

#[test]
fn answering_no_cancels_with_exit_3_and_changes_nothing() {
    let server = Server::demo();
    let id = server.id_of("Docs assistant");
    let old = server.value_of(&id);
    let (code, screen) = answer_prompt(&server, &["tokens", "rotate", &id], "n");
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("cancelled"), "{screen}");
    assert_eq!(server.value_of(&id), old);
    let (code, _) = answer_prompt(&server, &["tokens", "delete", &id], "n");
    assert_eq!(code, 3);
    server.token(&id).expect(200);
    let (code, screen) = answer_prompt(&server, &["tokens", "delete", &id], "y");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("cannot be undone"), "{screen}");
    server.token(&id).expect(404);
}

#[test]
fn a_selection_is_confirmed_once_listing_every_token() {
    let server = Server::demo();
    let (code, screen) = answer_prompt(
        &server,
        &["tokens", "rotate", "--all", "--environment", "test"],
        "n",
    );
    assert_eq!(code, 3, "{screen}");
    assert!(
        screen.contains("About to rotate 2 client tokens"),
        "{screen}"
    );
    for name in ["Staging playground", "Old checkout widget"] {
        assert!(screen.contains(name), "{name} is listed: {screen}");
    }
    assert_eq!(
        screen.matches("About to rotate").count(),
        1,
        "one question: {screen}"
    );
    let (code, screen) = answer_prompt(&server, &["tokens", "delete", "--all", "--inactive"], "y");
    assert_eq!(code, 0, "{screen}");
    assert!(!server.tokens().iter().any(|t| t["isActive"] == false));
}

/// A run of `rtctl auth login` on a pty of `cols` columns with no system keyring, so that
/// storing the key asks the plain-text question.
fn login_on_terminal(server: &Server, cols: u16) -> Pty {
    let mut vars = pty_env(server);
    vars.retain(|(k, _)| k != "RUNTYPE_API_KEY");
    vars.push(("RTCTL_TEST_KEYRING".into(), "none".into()));
    Pty::spawn(&vars, &["auth", "login"], cols)
}

fn credentials_file(server: &Server) -> std::path::PathBuf {
    server.home.config_dir().join("credentials.toml")
}

#[test]
fn a_confirmation_reads_a_line_and_only_y_or_yes_is_yes() {
    let server = Server::demo();
    let id = server.id_of("Staging playground");
    let rotations = || server.regenerations();
    // The last key does not win: `ny` is not yes, and neither is a stray word or Enter alone.
    for answer in ["ny", "yn", "yess", "", "n", " no "] {
        let (code, screen) = answer_prompt(&server, &["tokens", "rotate", &id], answer);
        assert_eq!(code, 3, "{answer:?} is no: {screen}");
        assert!(screen.contains("cancelled"), "{screen}");
        assert_eq!(rotations(), 0, "{answer:?} rotated: {screen}");
    }
    // The line is echoed as typed, and Backspace edits it.
    let (code, screen) = answer_prompt(&server, &["tokens", "rotate", &id], "n\u{7f}Y");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(rotations(), 1);
    for answer in ["YES", "y"] {
        let (code, screen) = answer_prompt(&server, &["tokens", "rotate", &id], answer);
        assert_eq!(code, 0, "{answer:?} is yes: {screen}");
    }
    assert_eq!(rotations(), 3);
    // Ctrl-D (the end of input) is no, and so is a `y` it cuts off without Enter.
    for keys in ["\u{4}", "y\u{4}\u{4}", "yes\u{4}\u{4}"] {
        let (code, screen) = answer_prompts(
            &pty_env(&server),
            &["tokens", "rotate", &id],
            &[("[y/N] ", keys)],
        );
        assert_eq!(code, 3, "{keys:?}: {screen}");
        assert_eq!(rotations(), 3, "{keys:?} rotated: {screen}");
    }
}

#[test]
fn keys_typed_before_a_question_do_not_answer_it() {
    let server = Server::demo();
    let mut pty = login_on_terminal(&server, 120);
    let seen = pty.wait_for("Paste your API key: ", 0);
    // The key and a `y` for the question to come, typed at once: the `y` is gone by the time
    // the question shows.
    pty.type_text(&format!("{}\ry\r", server.key));
    let seen = pty.wait_for("[y/N] ", seen);
    assert!(!credentials_file(&server).exists(), "{}", pty.text());
    pty.type_text("n\r");
    pty.wait_for("cancelled", seen);
    assert_eq!(pty.wait_exit(), 3, "{}", pty.text());
    assert!(!credentials_file(&server).exists());
}

#[test]
fn a_question_that_wraps_is_printed_once() {
    let server = Server::demo();
    for cols in [60, 100] {
        let mut pty = login_on_terminal(&server, cols);
        let seen = pty.wait_for("Paste your API key: ", 0);
        pty.type_text(&format!("{}\r", server.key));
        let seen = pty.wait_for("[y/N] ", seen);
        // Keys that change a tentative answer, and editing, redraw nothing.
        pty.type_text("n");
        pty.type_text("\u{7f}y");
        pty.type_text("\r");
        pty.wait_for("stored in", seen);
        assert_eq!(pty.wait_exit(), 0, "{}", pty.text());
        let screen = pty.text();
        let question = "Store the key in plain text";
        assert!(
            screen
                .lines()
                .any(|l| l.chars().count() > usize::from(cols)),
            "the question wraps at {cols} columns: {screen}"
        );
        assert_eq!(screen.matches(question).count(), 1, "{cols}: {screen}");
        assert!(credentials_file(&server).exists());
        std::fs::remove_file(credentials_file(&server)).unwrap();
    }
}

#[test]
fn an_empty_key_at_the_prompt_is_called_empty() {
    let server = Server::demo();
    for typed in ["\r", "   \r"] {
        let mut pty = login_on_terminal(&server, 100);
        pty.wait_for("Paste your API key: ", 0);
        pty.type_text(typed);
        assert_eq!(pty.wait_exit(), 2, "{}", pty.text());
        let (_, screen) = pty.finish();
        assert!(
            screen.contains("the API key is empty: nothing was pasted at the prompt"),
            "{screen}"
        );
        assert!(!screen.contains("whitespace"), "{screen}");
    }
}

#[test]
fn a_signal_at_the_hidden_key_prompt_always_turns_echo_back_on() {
    let server = Server::demo();
    // The run's own wait for a signal and the prompt's race; whichever wins, echo comes back.
    // (Before, it stayed off about one run in two.)
    for round in 0..12 {
        let mut pty = login_on_terminal(&server, 100);
        pty.wait_for("Paste your API key: ", 0);
        assert_eq!(pty.local_flags() & libc::ECHO, 0, "the key is hidden");
        let expected = if round == 0 {
            // SIGTERM, as a CI runner cancelling sends it.
            let pid = pty.process_id() as libc::pid_t;
            // SAFETY: kill(2) on the child this test started.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
            143
        } else {
            pty.type_text("\u{3}");
            130
        };
        assert_eq!(pty.wait_exit(), expected, "round {round}: {}", pty.text());
        assert_ne!(
            pty.local_flags() & libc::ECHO,
            0,
            "round {round}: echo is back on: {}",
            pty.text()
        );
    }
}

/// A prompt that never gets an answer: it raises a signal once it shows, and waits until it
/// is abandoned.
struct Unanswerable {
    signals: rtctl::signals::Signals,
    abandoned: std::sync::Mutex<Option<mpsc::Sender<()>>>,
    waiting: std::sync::Mutex<Option<mpsc::Receiver<()>>>,
    calls: std::sync::atomic::AtomicUsize,
}

impl Unanswerable {
    fn wait(&self) -> std::io::Result<()> {
        self.signals.raise(rtctl::signals::Signal::Interrupt);
        let waiting = self.waiting.lock().unwrap().take().unwrap();
        // Ends when `abandon` drops the sender.
        let _ = waiting.recv();
        Err(std::io::ErrorKind::Interrupted.into())
    }
}

impl rtctl::Prompter for Unanswerable {
    fn line(&self, _: &str) -> std::io::Result<Option<String>> {
        self.wait().map(|()| None)
    }

    fn secret(&self, _: &str) -> std::io::Result<String> {
        self.wait().map(|()| String::new())
    }

    fn abandon(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.abandoned.lock().unwrap().take();
    }
}

#[test]
fn a_prompt_ended_by_a_signal_is_abandoned_whoever_sees_the_signal_first() {
    let server = Server::demo();
    let id = server.id_of("Staging playground");
    for _ in 0..20 {
        let (tx, rx) = mpsc::channel();
        let signals = rtctl::signals::Signals::new();
        let prompter = std::sync::Arc::new(Unanswerable {
            signals: signals.clone(),
            abandoned: std::sync::Mutex::new(Some(tx)),
            waiting: std::sync::Mutex::new(Some(rx)),
            calls: Default::default(),
        });
        let shared = std::sync::Arc::clone(&prompter);
        let run = server
            .invocation(&["tokens", "rotate", &id], &[])
            .terminal(100, &[])
            .world(move |world| {
                world.signals = signals;
                world.streams.prompter = shared;
            })
            .run();
        assert_eq!(run.code, 130, "{}", run.stderr);
        assert_eq!(
            prompter.calls.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "abandoned once"
        );
    }
}

#[test]
fn a_progress_bar_never_shares_a_line_with_the_values_printed() {
    let server = Server::demo();
    let mut pty = Pty::spawn(
        &pty_env(&server),
        &[
            "tokens",
            "rotate",
            "--all",
            "--environment",
            "test",
            "--yes",
        ],
        100,
    );
    // The bar is drawn before the first token is done (its label shows), so without
    // clearing it the first value line would be written after it.
    pty.wait_for("rotating [", 0);
    let (code, drawn) = pty.finish_drawn();
    assert_eq!(code, 0, "{drawn}");
    assert!(!drawn.contains("rotating"), "the bar is cleared: {drawn}");
    for name in ["Staging playground", "Old checkout widget"] {
        let id = server.id_of(name);
        let value = server.value_of(&id);
        assert!(
            drawn
                .lines()
                .any(|l| l.starts_with(&id) && l.trim_end().ends_with(&value)),
            "{id}'s value has a line of its own: {drawn}"
        );
    }
}

/// Runs `rtctl ARGS` (an emulator) on a pty until it shows its banner's last line, stops it
/// with Ctrl-C, and returns its URL and every line the terminal showed.
fn emulator_on_terminal(server: &Server, args: &[&str], shown: &str) -> (String, Vec<String>) {
    let mut pty = Pty::spawn(&pty_env(server), args, 120);
    pty.wait_for(shown, 0);
    pty.type_text("\u{3}");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "Ctrl-C stops an emulator cleanly: {screen}");
    let url = regex_lite::Regex::new(r"http://127\.0\.0\.1:\d+")
        .unwrap()
        .find(&screen)
        .expect("the URL shows")
        .as_str()
        .to_string();
    let lines = screen
        .lines()
        .map(|l| console::strip_ansi_codes(l).trim().to_string());
    (url, lines.collect())
}

#[test]
fn an_emulator_on_a_terminal_shows_its_url_once_in_the_banner() {
    let server = Server::demo();
    let (url, lines) = emulator_on_terminal(
        &server,
        &["emulator", "--port", "0"],
        "Press Ctrl-C to stop.",
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("listening on {url}"))),
        "{lines:#?}"
    );
    assert!(
        !lines.contains(&url),
        "no second line with the URL alone: {lines:#?}"
    );
    // (Piped, stdout has the URL alone: tests/cli/emulator_binary.rs reads it there.)
}
