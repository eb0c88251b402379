//! Every command once through the real binary, end to end: argument parsing, the process's
//! environment and streams, exit codes. Behaviour in depth is tested in-process; these make
//! sure the binary runs the same code.

use insta::assert_snapshot;

use crate::harness::{Server, Transcript};

#[test]
fn every_command_runs_end_to_end() {
    let server = Server::demo();
    let mobile = server.id_of("Mobile app");
    let staging = server.id_of("Staging playground");
    let mut transcript = Transcript::default();
    let mut run = |args: &[&str], code: i32| {
        let run = server.binary(args, &[], None);
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        transcript.add(args, &run);
    };
    run(&["tokens", "list"], 0);
    run(&["tokens", "get", &mobile], 0);
    run(
        &["tokens", "update", &mobile, "--rate-limit-per-hour", "300"],
        0,
    );
    run(&["tokens", "value", &staging], 0);
    run(&["tokens", "conversations", &staging], 0);
    run(&["origins", "list", &staging], 0);
    run(&["origins", "add", &staging, "https://new.example.com"], 0);
    run(
        &["origins", "remove", &staging, "https://new.example.com"],
        0,
    );
    run(
        &[
            "origins",
            "check",
            &staging,
            "https://staging.example.com/page",
        ],
        0,
    );
    run(
        &[
            "origins",
            "check",
            &staging,
            "https://elsewhere.example.com",
        ],
        8,
    );
    run(&["auth", "status"], 0);
    run(&["tokens", "rotate", &staging, "--yes"], 0);
    run(
        &[
            "tokens",
            "create",
            "--name",
            "E2E",
            "--origin",
            "https://e2e.example.com",
            "--flow",
            "f",
        ],
        0,
    );
    let e2e = server.id_of("E2E");
    run(&["tokens", "delete", &e2e, "--yes"], 0);
    run(&["tokens", "delete", &e2e], 2);
    run(&["tokens", "frobnicate"], 2);
    run(&["--version"], 0);
    assert_snapshot!("every_command", transcript.text());
}

#[test]
fn declarative_commands_run_end_to_end() {
    let server = Server::demo();
    let export = server.binary(&["export"], &[], None);
    assert_eq!(export.code, 0, "{export:?}");
    let file = server.home.path().join("tokens.toml");
    std::fs::write(
        &file,
        export
            .stdout
            .replace("rate_limit_per_hour = 200", "rate_limit_per_hour = 250"),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let plan = server.binary(&["plan", "-f", file, "--expect-no-changes"], &[], None);
    assert_eq!(plan.code, 6, "{plan:?}");
    let apply = server.binary(&["apply", "-f", file, "--yes"], &[], None);
    assert_eq!(apply.code, 0, "{apply:?}");
    let again = server.binary(&["plan", "-f", file, "--expect-no-changes"], &[], None);
    assert_eq!(again.code, 0, "{again:?}");
    let completions = server.binary(&["completions", "bash"], &[], None);
    assert_eq!(completions.code, 0);
    assert!(completions.stdout.contains("COMPLETE"), "{completions:?}");
}

#[test]
fn auth_runs_end_to_end_with_the_stand_in_keyring() {
    let server = Server::demo();
    let ring = server.home.keyring_file();
    let ring = ring.to_str().unwrap();
    let vars = [("RUNTYPE_API_KEY", ""), ("RTCTL_TEST_KEYRING", ring)];
    let login = server.binary(
        &["auth", "login", "--with-key"],
        &vars,
        Some(&format!("{}\n", server.key)),
    );
    assert_eq!(login.code, 0, "{login:?}");
    let token = server.binary(&["auth", "token"], &vars, None);
    assert_eq!(token.stdout.trim(), server.key);
    let logout = server.binary(&["auth", "logout"], &vars, None);
    assert_eq!(logout.code, 0, "{logout:?}");
    let after = server.binary(&["tokens", "list"], &vars, None);
    assert_eq!(after.code, 4, "{after:?}");
}
