//! Prompts answered through a real pseudo-terminal: the binary runs on a pty (portable-pty),
//! so dialoguer sees a terminal exactly as it would for a person. A test types only once the
//! prompt is shown *and* the terminal has left echo mode, so no keystroke can be typed into a
//! line discipline that is about to be flushed.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::harness::{BIN, Server};

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
                rows: 50,
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

    /// Waits until the program has switched the terminal out of echo mode (it reads keys
    /// itself now), so typed input reaches it.
    pub fn wait_for_raw_mode(&mut self) {
        while self.local_flags() & libc::ECHO != 0 {
            if Instant::now() > self.deadline {
                panic!("the terminal never left echo mode: {}", self.text());
            }
            // The mode change is not an event a pty reports: look again shortly.
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(5)) {
                self.screen.extend(chunk);
            }
        }
    }

    pub fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the program to end, keeping the terminal open to inspect its modes.
    pub fn wait_exit(&mut self) -> i32 {
        self.child.wait().unwrap().exit_code() as i32
    }

    /// Waits for the program to end; returns its exit code and the whole screen.
    pub fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        // Collect what is left; the reader ends once the program and our end let go.
        drop(self.master);
        drop(self.writer);
        while let Ok(chunk) = self.output.recv_timeout(Duration::from_secs(5)) {
            self.screen.extend(chunk);
        }
        let text = String::from_utf8_lossy(&self.screen).replace('\r', "");
        (status.exit_code() as i32, text)
    }
}

/// Runs `rtctl ARGS` on a pty with only PATH and `vars` in its environment; for each
/// `(prompt, answer)` in turn, waits until `prompt` appears and the terminal reads keys, and
/// types `answer`. Returns the exit code and everything the terminal showed.
pub fn answer_prompts(
    vars: &[(String, String)],
    args: &[&str],
    exchanges: &[(&str, &str)],
) -> (i32, String) {
    let mut pty = Pty::spawn(vars, args, 120);
    let mut seen = 0;
    for (prompt, answer) in exchanges {
        seen = pty.wait_for(prompt, seen);
        pty.wait_for_raw_mode();
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
