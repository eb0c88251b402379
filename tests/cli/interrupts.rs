//! Waits that only another program can end: a FIFO whose writer has not come (`plan -f
//! <(envsubst < tokens.toml)`), another `--local` command holding the state. Ctrl-C and
//! SIGTERM end the run at once (130, 143), and a FIFO that is written still works.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{BIN, Home, Server, exit_within, signal};

/// Far above what ending a run takes; a run that ignores the signal never ends at all.
const BOUND: Duration = Duration::from_secs(60);

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Whether a thread of process `pid` is blocked opening a FIFO for want of a writer: the
/// kernel function it sleeps in (`wait_for_partner`, `fifo_open` on older kernels), or, where
/// that is hidden, the system call it is in (`openat`).
#[cfg(target_os = "linux")]
fn waits_for_a_writer(pid: u32) -> bool {
    let openat = if cfg!(target_arch = "x86_64") {
        "257"
    } else {
        "56"
    };
    any_thread(pid, |read| {
        let wchan = read("wchan");
        wchan.contains("partner")
            || wchan.contains("fifo")
            || (wchan == "0" && read("syscall").split(' ').next() == Some(openat))
    })
}

/// Whether a thread of process `pid` is as `looks` says, given a reader of its files in
/// `/proc/PID/task/TID/` (`wchan`, `syscall`).
#[cfg(target_os = "linux")]
fn any_thread(pid: u32, looks: impl Fn(&dyn Fn(&str) -> String) -> bool) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let read = |name: &str| std::fs::read_to_string(task.path().join(name)).unwrap_or_default();
        looks(&read)
    })
}

/// Waits until `child` is blocked in `open()` on a FIFO (no writer has come).
#[cfg(target_os = "linux")]
fn until_blocked_in_open(child: &mut Child) {
    let deadline = std::time::Instant::now() + BOUND;
    while !waits_for_a_writer(child.id()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "rtctl ended before it opened the FIFO"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "rtctl never opened the FIFO"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A token file, a doctor page and `--config @FILE` that are FIFOs nobody writes: rtctl waits
/// in `open()`, and Ctrl-C or SIGTERM ends it there (it used to catch both and wait on, until
/// a SIGKILL).
#[cfg(target_os = "linux")]
#[test]
fn a_signal_ends_a_wait_for_a_fifos_writer() {
    let server = Server::demo();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("input");
    mkfifo(&fifo);
    let path = fifo.to_str().unwrap();
    let config = format!("@{path}");
    let runs: [(&[&str], &str, i32); 5] = [
        (&["plan", "-f", path], "-TERM", 143),
        (&["apply", "-f", path, "--yes"], "-INT", 130),
        (&["audit", "-f", path], "-INT", 130),
        (
            &[
                "doctor",
                "--html",
                path,
                "--origin",
                "https://shop.example.com",
            ],
            "-TERM",
            143,
        ),
        (
            &[
                "tokens",
                "update",
                "ct_0d3e00000000a003",
                "--config",
                &config,
            ],
            "-INT",
            130,
        ),
    ];
    for (args, sent, code) in runs {
        let mut child = server.spawn(args);
        until_blocked_in_open(&mut child);
        signal(&child, sent);
        assert_eq!(
            exit_within(&mut child, BOUND, &args.join(" ")),
            code,
            "{args:?}"
        );
    }
}

/// A page that takes seconds to parse (4.6 MB of 270,000 script tags, within the limit):
/// SIGTERM during the parse ends the run at once (143); the parse ran where no signal was
/// seen, and the run ended 8 when it was done.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_ends_doctor_while_it_parses_a_page() {
    let server = Server::demo();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("page.html");
    mkfifo(&fifo);
    let mut child = server.spawn(&[
        "doctor",
        "--html",
        fifo.to_str().unwrap(),
        "--origin",
        "https://shop.example.com",
    ]);
    until_blocked_in_open(&mut child);
    // Written whole and closed: rtctl has read all but the pipe's last buffer, and parses
    // right after.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer
        .write_all("<script></script>\n".repeat(270_000).as_bytes())
        .unwrap();
    drop(writer);
    signal(&child, "-TERM");
    assert_eq!(exit_within(&mut child, BOUND, "doctor --html"), 143);
}

/// `config.toml` as a FIFO (a config a tool renders on demand): read whole when it is
/// written, and while nobody writes it, Ctrl-C or SIGTERM ends the wait (130, 143).
#[cfg(target_os = "linux")]
#[test]
fn a_config_file_that_is_a_fifo_is_read_and_a_signal_ends_its_wait() {
    let server = Server::demo();
    std::fs::create_dir_all(server.home.config_dir()).unwrap();
    let fifo = server.home.config_dir().join("config.toml");
    mkfifo(&fifo);
    for (sent, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = server.spawn(&["tokens", "list"]);
        until_blocked_in_open(&mut child);
        signal(&child, sent);
        assert_eq!(exit_within(&mut child, BOUND, "config.toml FIFO"), code);
    }
    let writer = std::thread::spawn(move || {
        let mut writer = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        writer
            .write_all(b"[profiles.default]\noutput = \"json\"\n")
            .unwrap();
    });
    let run = server.binary(&["tokens", "list"], &[], None);
    writer.join().unwrap();
    run.expect(0);
    assert!(run.json().is_array(), "the config's output = json: {run:?}");
}

/// Whether a thread of process `pid` is blocked in `read()` on its stdin (the system call
/// it is in, and its first argument, descriptor 0).
#[cfg(target_os = "linux")]
fn reads_stdin(pid: u32) -> bool {
    let read_call = if cfg!(target_arch = "x86_64") {
        "0"
    } else {
        "63"
    };
    any_thread(pid, |read| {
        let call = read("syscall");
        let mut fields = call.split(' ');
        fields.next() == Some(read_call) && fields.next() == Some("0x0")
    })
}

/// `--config @-` and `auth login --with-key` read stdin to its end; from a pipe whose writer
/// stays open, Ctrl-C or SIGTERM ends the wait (130, 143), with nothing written.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_ends_a_wait_for_stdin_that_never_closes() {
    let server = Server::demo();
    let runs: [(&[&str], &str, i32); 4] = [
        (
            &["tokens", "update", "ct_0d3e00000000a003", "--config", "@-"],
            "-INT",
            130,
        ),
        (
            &["tokens", "update", "ct_0d3e00000000a003", "--config", "@-"],
            "-TERM",
            143,
        ),
        (&["auth", "login", "--with-key"], "-INT", 130),
        (&["auth", "login", "--with-key"], "-TERM", 143),
    ];
    for (args, sent, code) in runs {
        let mut child = Command::new(BIN)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(server.home.env())
            .env("RUNTYPE_API_URL", &server.url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Part of an input, and then nothing more: the writer stays open.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"{\"welcomeMessage\": ").unwrap();
        let deadline = std::time::Instant::now() + BOUND;
        while !reads_stdin(child.id()) {
            assert!(child.try_wait().unwrap().is_none(), "{args:?} ended early");
            assert!(
                std::time::Instant::now() < deadline,
                "{args:?} never read stdin"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        signal(&child, sent);
        assert_eq!(
            exit_within(&mut child, BOUND, &args.join(" ")),
            code,
            "{args:?}"
        );
        drop(stdin);
    }
    assert!(
        !server.home.config_dir().join("credentials.toml").exists(),
        "no key was stored"
    );
    assert!(
        !server.journal().iter().any(|r| r.starts_with("PUT ")),
        "no update was sent"
    );
}

/// The same while the writer has opened the FIFO but not yet written: rtctl waits in
/// `read()`, and a signal ends that wait too.
#[cfg(unix)]
#[test]
fn a_signal_ends_a_wait_for_a_fifos_data() {
    let server = Server::demo();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("tokens.toml");
    mkfifo(&fifo);
    let mut child = server.spawn(&["plan", "-f", fifo.to_str().unwrap()]);
    // Opening for writing waits for rtctl's read end: once open, rtctl is past open().
    let writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    signal(&child, "-TERM");
    assert_eq!(exit_within(&mut child, BOUND, "plan -f FIFO"), 143);
    drop(writer);
}

/// Refusing no FIFO: a token file, a page and a config fed through FIFOs (what
/// `<(envsubst < tokens.toml)` hands rtctl) are read whole.
#[cfg(unix)]
#[test]
fn fifos_still_work() {
    let server = Server::demo();
    let dir = tempfile::tempdir().unwrap();
    let feed = |name: &str, text: String| {
        let fifo = dir.path().join(name);
        mkfifo(&fifo);
        let writer_path = fifo.clone();
        std::thread::spawn(move || {
            let mut writer = std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        });
        fifo.to_string_lossy().into_owned()
    };
    let exported = server.rtctl(&["export"]);
    exported.expect(0);
    let file = feed("tokens.toml", exported.stdout.clone());
    server
        .rtctl(&["plan", "-f", &file, "--expect-no-changes"])
        .expect(0);
    let config = feed("config.json", r#"{"welcomeMessage": "From a FIFO"}"#.into());
    server
        .rtctl(&[
            "tokens",
            "update",
            "ct_0d3e00000000a003",
            "--config",
            &format!("@{config}"),
        ])
        .expect(0);
    let token = server.token("ct_0d3e00000000a003").expect(200);
    assert_eq!(
        token["clientToken"]["config"]["welcomeMessage"],
        "From a FIFO"
    );
    // Through a shell's process substitution, as the README's recipe does it.
    let mut vars = server.home.env();
    vars.push(("RUNTYPE_API_URL".into(), server.url.clone()));
    vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
    let exported_file = dir.path().join("exported.toml");
    std::fs::write(&exported_file, server.rtctl(&["export"]).stdout).unwrap();
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" plan -f <(cat "$1") --expect-no-changes"#)
        .arg(BIN)
        .arg(&exported_file)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Another `--local` command holds the state: this one says so and waits. Ctrl-C ends the
/// wait at once (130), SIGTERM too (143), never "gave up after 10s" (exit 1).
#[cfg(unix)]
#[test]
fn a_signal_ends_a_wait_for_another_local_command() {
    let home = Home::new();
    home.rtctl(&["--local", "tokens", "list"], &[]).expect(0);
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(home.data_dir().join("local-state.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    for (sent, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = Command::new(BIN)
            .args(["--local", "tokens", "list"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(home.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        while !said.contains("Waiting for") {
            let mut line = String::new();
            let read = stderr.read_line(&mut line).unwrap();
            assert!(read > 0, "rtctl ended without waiting: {said}");
            said.push_str(&line);
        }
        signal(&child, sent);
        let exit = exit_within(&mut child, BOUND, "--local waiting for the lock");
        stderr.read_to_string(&mut said).unwrap();
        assert_eq!(exit, code, "{said}");
        assert!(!said.contains("gave up"), "{said}");
    }
    drop(lock);
    home.rtctl(&["--local", "tokens", "list"], &[]).expect(0);
}
