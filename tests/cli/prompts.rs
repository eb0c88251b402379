//! Confirmation prompts answered through a real pseudo-terminal. `script` (util-linux, part
//! of every Debian and most Linux systems) runs rtctl on a pty and forwards our stdin to it,
//! so dialoguer sees a terminal exactly as it would for a person.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::{BIN, Server};

/// `rtctl ARGS` as a shell command line for script(1); test arguments hold no quotes.
pub fn shell_command(args: &[&str]) -> String {
    std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The environment of a run on a pty: the server's URL and key, a private home, a terminal.
pub fn pty_env(server: &Server) -> Vec<(String, String)> {
    let mut vars = server.home.env();
    vars.push(("RUNTYPE_API_URL".into(), server.url.clone()));
    vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
    vars.push(("TERM".into(), "xterm".into()));
    vars
}

/// Runs `rtctl ARGS` on a pty, waits for the `[y/N]` prompt, types `answer`, and returns the
/// exit code and everything the terminal showed.
pub fn answer_prompt(server: &Server, args: &[&str], answer: &str) -> (i32, String) {
    answer_prompts(&pty_env(server), args, &[("[y/N]", answer)])
}

/// Runs `rtctl ARGS` on a pty with only PATH and `vars` in its environment; for each
/// `(prompt, answer)` in turn, waits until `prompt` appears and types `answer`. Returns the
/// exit code and everything the terminal showed.
pub fn answer_prompts(
    vars: &[(String, String)],
    args: &[&str],
    exchanges: &[(&str, &str)],
) -> (i32, String) {
    let command = shell_command(args);
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) from util-linux is installed");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Vec::new();
    let mut answered_up_to = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    for (prompt, answer) in exchanges {
        loop {
            let text = String::from_utf8_lossy(&screen[answered_up_to..]).into_owned();
            if let Some(at) = text.find(prompt) {
                answered_up_to += at + prompt.len();
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => screen.extend(chunk),
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "the prompt {prompt:?} did not appear; the terminal showed: {}",
                        String::from_utf8_lossy(&screen)
                    );
                }
            }
        }
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(answer.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(child.stdin.take());
    reader.join().unwrap();
    screen.extend(rx.try_iter().flatten());
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&screen).into_owned(),
    )
}

/// Runs `rtctl ARGS` on a pty of `cols` columns and returns what the terminal showed.
fn on_terminal(server: &Server, args: &[&str], cols: u16) -> String {
    let command = shell_command(args);
    let output = Command::new("script")
        .args([
            "-qec",
            &format!("stty cols {cols} rows 50; {command}"),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(pty_env(server))
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux is installed");
    String::from_utf8_lossy(&output.stdout).replace('\r', "")
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
    assert_eq!(screen.matches("[y/N]").count(), 1, "one question: {screen}");
    let (code, screen) = answer_prompt(&server, &["tokens", "delete", "--all", "--inactive"], "y");
    assert_eq!(code, 0, "{screen}");
    assert!(!server.tokens().iter().any(|t| t["isActive"] == false));
}
