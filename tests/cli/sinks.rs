//! `--to-command`: new values handed to a program (a secret store's CLI) instead of stdout,
//! only once confirmed current; what a refusing sink leaves behind is undone where it can
//! be, a sink that hangs or is stopped is an unknown outcome, and nothing from a server
//! reaches a shell.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::{Run, Server};

const MARKETING: &str = "ct_0d3e00000000a001";
const STAGING: &str = "ct_0d3e00000000a003";

/// A stand-in secret store: a script that records, per token, the value it was given and
/// its environment, and then does what `SINK_MODE` says (`ok`, `fail`, `hang`, `kill`,
/// `fail-on` the token `SINK_FAIL_ID`, `gate`: wait for a line on the FIFO `gate`).
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("store");
        std::fs::write(
            &script,
            r#"#!/bin/sh
cat > "$SINK_DIR/$RTCTL_TOKEN_ID.value"
{
  echo "RTCTL_TOKEN_ID=$RTCTL_TOKEN_ID"
  echo "RTCTL_TOKEN_NAME=$RTCTL_TOKEN_NAME"
  echo "RTCTL_TOKEN_ENVIRONMENT=$RTCTL_TOKEN_ENVIRONMENT"
  echo "RTCTL_PREVIOUS_ID=${RTCTL_PREVIOUS_ID-unset}"
  echo "RUNTYPE_API_KEY=${RUNTYPE_API_KEY-unset}"
} > "$SINK_DIR/$RTCTL_TOKEN_ID.env"
case "$SINK_MODE" in
  fail) echo "could not store the secret" >&2; exit 1 ;;
  fail-on) if [ "$RTCTL_TOKEN_ID" = "$SINK_FAIL_ID" ]; then exit 3; fi ;;
  hang) touch "$SINK_DIR/started"; exec sleep 600 ;;
  kill) kill -9 $$ ;;
  gate) read go < "$SINK_DIR/gate" ;;
esac
echo "stored"
"#,
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Store { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self) -> String {
        self.path().join("store").display().to_string()
    }

    /// The variables a run needs for the store in `mode`.
    fn env(&self, mode: &str) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap()),
            ("SINK_DIR".into(), self.path().display().to_string()),
            ("SINK_MODE".into(), mode.into()),
        ]
    }

    /// What the store received for `id`, if anything.
    fn value(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.path().join(format!("{id}.value"))).ok()
    }

    fn environment(&self, id: &str) -> String {
        std::fs::read_to_string(self.path().join(format!("{id}.env"))).unwrap()
    }

    fn stored_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".value").map(str::to_string)
            })
            .collect();
        ids.sort();
        ids
    }
}

/// `rtctl ARGS --to-command STORE` in-process with the store in `mode`.
fn run(server: &Server, store: &Store, mode: &str, args: &[&str]) -> Run {
    let command = store.command();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--to-command", &command]);
    let env = store.env(mode);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    server.rtctl_env(&all, &env)
}

fn marketing_tokens(server: &Server) -> Vec<Value> {
    server.tokens_named("Marketing site widget")
}

#[test]
fn rotate_hands_the_confirmed_value_to_the_command_and_prints_the_id() {
    let server = Server::demo();
    let store = Store::new();
    let run = run(
        &server,
        &store,
        "ok",
        &["tokens", "rotate", STAGING, "--yes"],
    );
    run.expect(0);
    let current = server.value_of(STAGING);
    assert_eq!(
        store.value(STAGING).as_deref(),
        Some(current.as_str()),
        "exactly the value, no newline"
    );
    assert_eq!(run.stdout, format!("{STAGING}\n"));
    assert!(!run.stderr.contains(&current), "{}", run.stderr);
    // The store's own output reaches stderr, under its name.
    assert!(run.stderr.contains("store: stored"), "{}", run.stderr);
    let env = store.environment(STAGING);
    assert!(env.contains(&format!("RTCTL_TOKEN_ID={STAGING}")), "{env}");
    assert!(env.contains("RTCTL_TOKEN_NAME=Staging playground"), "{env}");
    assert!(env.contains("RTCTL_TOKEN_ENVIRONMENT=test"), "{env}");
    assert!(env.contains("RTCTL_PREVIOUS_ID=unset"), "{env}");
    assert!(
        env.contains("RUNTYPE_API_KEY=unset"),
        "the key stays with rtctl: {env}"
    );
}

#[test]
fn create_and_value_deliver_too_and_json_says_delivered_without_the_value() {
    let server = Server::demo();
    let store = Store::new();
    let run = run(
        &server,
        &store,
        "ok",
        &[
            "tokens",
            "create",
            "--name",
            "Sink site",
            "--origin",
            "https://sink.example.com",
            "--flow",
            "flow_support_01",
            "--json",
        ],
    );
    run.expect(0);
    let token = run.json();
    let id = token["id"].as_str().unwrap().to_string();
    assert_eq!(token["delivered"], true);
    let value = server.value_of(&id);
    assert_eq!(store.value(&id).as_deref(), Some(value.as_str()));
    assert!(!run.stdout.contains(&value), "{}", run.stdout);
    assert!(token["tokenValue"].as_str().unwrap().contains("****"));
    assert!(
        store
            .environment(&id)
            .contains("RTCTL_TOKEN_NAME=Sink site")
    );

    // `tokens value` delivers again (what every failure's hint names), any --jq goes.
    let again = Store::new();
    let run = run_value(&server, &again, &id, &["--json", "--jq", ".id"]);
    run.expect(0);
    assert_eq!(run.stdout, format!("{id}\n"));
    assert_eq!(again.value(&id).as_deref(), Some(value.as_str()));
}

fn run_value(server: &Server, store: &Store, id: &str, extra: &[&str]) -> Run {
    let mut args = vec!["tokens", "value", id];
    args.extend_from_slice(extra);
    run(server, store, "ok", &args)
}

#[test]
fn a_refused_create_is_undone() {
    let server = Server::demo();
    let store = Store::new();
    let before = server.tokens().len();
    let run = run(
        &server,
        &store,
        "fail",
        &[
            "tokens",
            "create",
            "--name",
            "Sink site",
            "--origin",
            "https://sink.example.com",
            "--flow",
            "flow_support_01",
        ],
    );
    run.expect(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("store: could not store the secret"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("exited with status 1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing changed"), "{}", run.stderr);
    assert_eq!(server.tokens().len(), before, "the new token was deleted");
}

#[test]
fn a_refused_plain_rotation_says_the_old_value_is_gone_and_how_to_deliver_again() {
    let server = Server::demo();
    let store = Store::new();
    let old = server.value_of(STAGING);
    let run = run(
        &server,
        &store,
        "fail",
        &["tokens", "rotate", STAGING, "--yes"],
    );
    run.expect(1);
    assert_eq!(run.stdout, "");
    let current = server.value_of(STAGING);
    assert_ne!(current, old, "a rotation cannot be undone");
    assert!(!run.stderr.contains(&current), "{}", run.stderr);
    assert!(
        run.stderr.contains("old value no longer works"),
        "{}",
        run.stderr
    );
    let hint = format!(
        "rtctl tokens value {STAGING} --to-command {}",
        shell_words::quote(&store.command())
    );
    assert!(run.stderr.contains(&hint), "{}", run.stderr);
    // The hint works as printed.
    let words = shell_words::split(&hint).unwrap();
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let env = store.env("ok");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    server.rtctl_env(&args, &env).expect(0);
    assert_eq!(store.value(STAGING).as_deref(), Some(current.as_str()));
}

#[test]
fn a_refused_overlap_leaves_the_account_as_it_was_and_the_same_run_is_safe_to_repeat() {
    let server = Server::demo();
    let store = Store::new();
    let before = server.token(MARKETING).expect(200)["clientToken"].clone();
    let old_value = server.value_of(MARKETING);
    let count = server.tokens().len();
    let args = ["tokens", "rotate", MARKETING, "--overlap", "--yes"];
    let refused = run(&server, &store, "fail", &args);
    refused.expect(1);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.contains("nothing changed"),
        "{}",
        refused.stderr
    );
    assert_eq!(server.tokens().len(), count, "the successor was deleted");
    let after = server.token(MARKETING).expect(200)["clientToken"].clone();
    assert_eq!(after["name"], before["name"], "no mark left");
    assert_eq!(server.value_of(MARKETING), old_value);

    let stored = Store::new();
    let run = run(&server, &stored, "ok", &args);
    run.expect(0);
    let line: Vec<&str> = run.stdout.trim_end().split('\t').collect();
    assert_eq!(line[0], MARKETING, "{}", run.stdout);
    let successor = line[1];
    assert_eq!(stored.value(successor), Some(server.value_of(successor)));
    let env = stored.environment(successor);
    assert!(
        env.contains(&format!("RTCTL_PREVIOUS_ID={MARKETING}")),
        "{env}"
    );
    assert!(
        env.contains("RTCTL_TOKEN_NAME=Marketing site widget"),
        "{env}"
    );
    assert_eq!(marketing_tokens(&server).len(), 2);
    assert_eq!(
        server.token(successor).expect(200)["clientToken"]["name"],
        "Marketing site widget"
    );
}

#[test]
fn a_sink_that_hangs_or_is_killed_is_an_unknown_outcome_and_nothing_is_undone() {
    let server = Server::demo();
    let store = Store::new();
    let args = [
        "tokens",
        "rotate",
        MARKETING,
        "--overlap",
        "--yes",
        "--to-timeout",
        "1",
    ];
    let run = run(&server, &store, "hang", &args);
    run.expect(1);
    assert!(
        run.stderr.contains("did not finish within 1s"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unknown"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was undone"), "{}", run.stderr);
    // The successor stays (the store may have it); the same command finishes the rollover
    // with that very successor.
    assert_eq!(marketing_tokens(&server).len(), 2);
    let stored = Store::new();
    let again = crate::sinks::run(&server, &stored, "ok", &args[..5]);
    again.expect(0);
    assert_eq!(marketing_tokens(&server).len(), 2, "no second successor");

    let killed = Store::new();
    let run = crate::sinks::run(
        &server,
        &killed,
        "kill",
        &["tokens", "rotate", STAGING, "--yes"],
    );
    run.expect(1);
    assert!(run.stderr.contains("killed by SIGKILL"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown"), "{}", run.stderr);
}

#[test]
fn ctrl_c_while_the_sink_runs_is_passed_on_and_exits_130() {
    let server = Server::demo();
    let store = Store::new();
    let signals = rtctl::signals::Signals::new();
    let raiser = signals.clone();
    let started = store.path().join("started");
    let watcher = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !started.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the sink never started"
            );
            std::thread::yield_now();
        }
        raiser.raise(rtctl::signals::Signal::Interrupt);
    });
    let command = store.command();
    let env = store.env("hang");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = server
        .invocation(
            &[
                "tokens",
                "rotate",
                STAGING,
                "--yes",
                "--to-command",
                &command,
            ],
            &env,
        )
        .world(move |w| w.signals = signals)
        .run();
    watcher.join().unwrap();
    run.expect(130);
    assert!(run.stderr.contains("Ctrl-C"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown"), "{}", run.stderr);
}

#[test]
fn the_command_is_checked_before_any_request_and_never_runs_through_a_shell() {
    let server = Server::demo();
    let path = std::env::var("PATH").unwrap();
    for (command, says) in [
        ("", "empty"),
        ("gh 'secret set", "cannot be split"),
        ("no-such-secret-store set X", "not found on PATH"),
    ] {
        server
            .control(reqwest::Method::DELETE, "/__emulator/requests", None)
            .expect(200);
        let run = server.rtctl_env(
            &[
                "tokens",
                "rotate",
                STAGING,
                "--yes",
                "--to-command",
                command,
            ],
            &[("PATH", &path)],
        );
        run.expect(2);
        assert!(run.stderr.contains(says), "{command:?}: {}", run.stderr);
        assert!(
            server.journal().is_empty(),
            "{command:?}: {:?}",
            server.journal()
        );
    }
    for args in [
        vec![
            "tokens",
            "rotate",
            STAGING,
            "--yes",
            "--format",
            "env",
            "--to-command",
            "true",
        ],
        vec![
            "apply",
            "-f",
            "x.toml",
            "--values-out",
            "v.env",
            "--to-command",
            "true",
        ],
    ] {
        server.rtctl_env(&args, &[("PATH", &path)]).expect(2);
    }

    // A hostile name is data to the command, never shell code; `$HOME` in CMD stays text.
    let dir = tempfile::tempdir().unwrap();
    let hostile = "x$(touch pwned)`touch pwned2`;touch pwned3";
    let id = server.create(hostile, json!({"environment": "test"}));
    let run = server
        .invocation(
            &[
                "tokens",
                "value",
                &id,
                "--to-command",
                r#"sh -c 'printf "%s|%s" "$RTCTL_TOKEN_NAME" "$0"' $HOME"#,
            ],
            &[("PATH", &path), ("HOME", "/nowhere")],
        )
        .world(|_| {})
        .run();
    run.expect(0);
    assert!(
        run.stderr.contains(&format!("sh: {hostile}|$HOME")),
        "{}",
        run.stderr
    );
    let leftovers: Vec<PathBuf> = ["pwned", "pwned2", "pwned3"]
        .iter()
        .map(|f| dir.path().join(f))
        .chain(["pwned", "pwned2", "pwned3"].iter().map(PathBuf::from))
        .filter(|p| p.exists())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_sinks_output_is_escaped_bounded_and_never_shows_the_value() {
    let server = Server::demo();
    let path = std::env::var("PATH").unwrap();
    let script = r#"sh -c 'v=$(cat); echo "got $v"; printf "\033]0;owned\007bell\n" >&2; i=0; while [ $i -lt 300 ]; do echo "line $i $v"; i=$((i+1)); done; head -c 20000 /dev/zero | tr "\0" x; echo "$v"'"#;
    let run = server.rtctl_env(
        &["tokens", "rotate", STAGING, "--yes", "--to-command", script],
        &[("PATH", &path)],
    );
    run.expect(0);
    let value = server.value_of(STAGING);
    assert!(
        !run.stderr.contains(&value),
        "the value leaked into the log"
    );
    assert!(run.stderr.contains("sh: got [value]"), "{}", run.stderr);
    assert!(
        run.stderr.contains(r"\u{1b}]0;owned\u{7}bell"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'));
    assert!(
        run.stderr.contains("more output not shown"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.lines().all(|l| l.chars().count() < 1100),
        "lines are cut"
    );
}

#[test]
fn a_sink_that_does_not_read_its_input_is_judged_by_its_exit_status() {
    let server = Server::demo();
    let path = std::env::var("PATH").unwrap();
    let run = server.rtctl_env(
        &["tokens", "rotate", STAGING, "--yes", "--to-command", "true"],
        &[("PATH", &path)],
    );
    run.expect(0);
    assert_eq!(run.stdout, format!("{STAGING}\n"));
    // A closed stdout is no failure once the value is delivered, and stops no bulk run.
    let run = server
        .invocation(
            &["tokens", "rotate", STAGING, "--yes", "--to-command", "true"],
            &[("PATH", &path)],
        )
        .closed_stdout()
        .run();
    run.expect(0);
    let run = server
        .invocation(
            &[
                "tokens",
                "rotate",
                "--all",
                "-e",
                "test",
                "--yes",
                "--concurrency",
                "1",
                "--to-command",
                "true",
            ],
            &[("PATH", &path)],
        )
        .closed_stdout()
        .run();
    run.expect(0);
    assert!(!run.stderr.contains("not started"), "{}", run.stderr);
}

#[test]
fn the_first_failed_delivery_stops_a_bulk_run_and_sinks_run_one_at_a_time() {
    let server = Server::empty();
    let ids: Vec<String> = (0..6)
        .map(|i| server.create(&format!("Site {i}"), json!({"environment": "test"})))
        .collect();
    // One at a time: a sink that finds another running fails.
    let store = Store::new();
    let lock = store.path().join("lock");
    let command = format!(
        "sh -c 'mkdir {0} || exit 9; cat > /dev/null; sleep 0.05; rmdir {0}'",
        lock.display()
    );
    let path = std::env::var("PATH").unwrap();
    let run = server.rtctl_env(
        &[
            "tokens",
            "rotate",
            "--all",
            "--yes",
            "--concurrency",
            "4",
            "--to-command",
            &command,
        ],
        &[("PATH", &path)],
    );
    run.expect(0);
    assert_eq!(run.stdout.lines().count(), 6, "{run:?}");

    // A refusal stops what has not started; what was in flight is finished and delivered.
    let store = Store::new();
    let env = {
        let mut env = store.env("fail-on");
        env.push(("SINK_FAIL_ID".into(), ids[4].clone()));
        env
    };
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let command = store.command();
    let run = server.rtctl_env(
        &[
            "tokens",
            "rotate",
            "--all",
            "--yes",
            "--concurrency",
            "1",
            "--to-command",
            &command,
        ],
        &env,
    );
    run.expect(1);
    let delivered: Vec<&str> = run.stdout.lines().collect();
    // Newest first: Site 5, then Site 4 (refused); the rest never started.
    assert_eq!(delivered, [ids[5].as_str()], "{run:?}");
    assert!(
        run.stderr.contains("not started (a delivery failed)"),
        "{}",
        run.stderr
    );
    assert_eq!(store.stored_ids().len(), 2, "{:?}", store.stored_ids());
}

#[test]
fn apply_delivers_each_new_token_before_making_the_next_and_undoes_a_refused_one() {
    let server = Server::empty();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.toml");
    std::fs::write(
        &file,
        r#"
[tokens."CI made x"]
environment = "test"
origins = ["https://x.example.com"]
flows = ["flow_new"]

[tokens."Second"]
environment = "test"
origins = ["https://y.example.com"]
flows = ["flow_new"]
"#,
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let store = Store::new();
    let run = run(&server, &store, "fail", &["apply", "-f", file, "--yes"]);
    run.expect(1);
    assert!(
        server.tokens().is_empty(),
        "the refused token was deleted: {:?}",
        server.tokens()
    );
    assert_eq!(store.stored_ids().len(), 1, "the second was never made");
    assert!(
        run.stderr
            .contains("not started after a value was not delivered"),
        "{}",
        run.stderr
    );

    let store = Store::new();
    let run = crate::sinks::run(&server, &store, "ok", &["apply", "-f", file, "--yes"]);
    run.expect(0);
    let ids: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(ids.len(), 2, "{}", run.stdout);
    for id in ids {
        assert_eq!(store.value(id), Some(server.value_of(id)));
    }
}

/// What a sink prints is relayed above the progress bar, as every other line on stderr: the
/// two never share a line of the terminal (the sinks wait until the bar shows).
#[test]
fn a_sinks_output_never_shares_a_line_with_the_progress_bar() {
    use std::io::Write;
    let server = Server::demo();
    let store = Store::new();
    let gate = store.path().join("gate");
    let made = std::process::Command::new("mkfifo")
        .arg(&gate)
        .status()
        .unwrap();
    assert!(made.success());
    let mut vars = crate::prompts::pty_env(&server);
    vars.extend(store.env("gate"));
    let command = store.command();
    let mut pty = crate::prompts::Pty::spawn(
        &vars,
        &[
            "tokens",
            "rotate",
            "--all",
            "--environment",
            "test",
            "--yes",
            "--to-command",
            &command,
        ],
        100,
    );
    pty.wait_for("rotating [", 0);
    // Open while the run lasts, so a line written for the second sink waits for it (read and
    // write: the open never waits for a reader, whatever the run does).
    let mut writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&gate)
        .unwrap();
    writer.write_all(b"go\ngo\n").unwrap();
    let (code, drawn) = pty.finish_drawn();
    drop(writer);
    assert_eq!(code, 0, "{drawn}");
    assert!(!drawn.contains("rotating"), "the bar is cleared: {drawn}");
    let relayed: Vec<&str> = drawn.lines().filter(|l| l.contains("stored")).collect();
    assert_eq!(relayed.len(), 2, "{drawn}");
    for line in relayed {
        assert_eq!(
            line.trim_end(),
            "store: stored",
            "a line of its own: {drawn}"
        );
    }
}
