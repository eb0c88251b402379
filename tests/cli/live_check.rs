//! `scripts/live-check` (`examples/live-check`), run in-process against emulators standing in
//! for the live service: one that keeps the contract (no differences), ones made to drift on
//! purpose (each difference named), and interruptions and failures part way through the
//! write scenario (no test token left behind).

#[path = "../../examples/live-check/check.rs"]
mod check;

use rtctl::signals::{Signal, Signals};
use rtctl_emulator::Config;
use serde_json::{Value, json};

use crate::harness::Server;

/// What one run printed, and its exit code.
struct Checked {
    code: u8,
    out: String,
    talk: String,
}

fn options(server: &Server, write: bool) -> check::Options {
    check::Options {
        live_url: server.url.clone(),
        live_key: server.key.clone(),
        write,
        json: false,
        report: None,
        flow: None,
        agent: None,
        run_id: "0a1b2c3d".into(),
        timeout: std::time::Duration::from_secs(30),
    }
}

/// Runs the check against `server` as the live service; `during` runs beside it (to raise
/// a signal at the right moment).
fn live_check(
    server: &Server,
    options: &check::Options,
    during: impl AsyncFnOnce(&Signals),
) -> Checked {
    let signals = Signals::new();
    let (mut out, mut talk) = (Vec::new(), Vec::new());
    let code = server.runtime.block_on(async {
        let (code, ()) = tokio::join!(
            check::run(options, &signals, &mut out, &mut talk),
            during(&signals)
        );
        code
    });
    Checked {
        code,
        out: String::from_utf8(out).unwrap(),
        talk: String::from_utf8(talk).unwrap(),
    }
}

async fn nothing(_: &Signals) {}

/// The test tokens a run left on the live service.
fn left_behind(server: &Server) -> Vec<Value> {
    server
        .tokens()
        .into_iter()
        .filter(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(check::NAME_PREFIX))
        })
        .collect()
}

/// Waits (without a clock) until the emulator has answered a request `done` accepts.
async fn answered(server: &Server, done: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let journal: Value = crate::support::http()
            .get(format!("{}/__emulator/requests", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if journal["requests"].as_array().unwrap().iter().any(&done) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never answered: {journal}"
        );
        tokio::task::yield_now().await;
    }
}

#[test]
fn against_an_emulator_nothing_differs_and_nothing_is_left() {
    let server = Server::demo();
    let values: Vec<String> = server
        .tokens()
        .iter()
        .filter_map(|t| t["tokenValue"].as_str().map(str::to_string))
        .collect();
    let report = server.home.path().join("report.json");
    let mut read_only = options(&server, false);
    read_only.report = Some(report.clone());
    let run = live_check(&server, &read_only, nothing);
    assert_eq!(run.code, check::SAME, "{}{}", run.out, run.talk);
    assert_eq!(run.out, "", "no table without differences");
    assert!(run.talk.contains("0 differences in "), "{}", run.talk);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["differences"], json!([]));
    assert!(written["requests"].as_u64().unwrap() >= 9, "{written}");

    let mut write = options(&server, true);
    write.json = true;
    let run = live_check(&server, &write, nothing);
    assert_eq!(run.code, check::SAME, "{}{}", run.out, run.talk);
    let printed: Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(printed["differences"], json!([]));
    assert!(printed["requests"].as_u64().unwrap() >= 19, "{printed}");
    assert!(left_behind(&server).is_empty());
    assert_eq!(server.tokens().len(), 6, "the account as it was");
    // Token values and the key are never printed.
    for secret in values.iter().chain([&server.key]) {
        assert!(!run.out.contains(secret.as_str()) && !run.talk.contains(secret.as_str()));
    }
}

#[test]
fn each_planted_difference_is_named() {
    let server = Server::demo();
    // A field left out of a token's reply, and a status changed.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens/*", "omit": "clientToken.tokenHint", "count": 0}));
    server.fault(json!({"method": "GET", "path": "/v1/surfaces", "status": 503, "count": 0}));
    let run = live_check(&server, &options(&server, false), nothing);
    assert_eq!(run.code, check::DIFFERENT, "{}{}", run.out, run.talk);
    let rows: Vec<Vec<&str>> = run
        .out
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["STEP", "AT", "KIND", "LIVE", "EMULATOR"]);
    let has = |row: &[&str]| rows.iter().any(|r| r == row);
    assert!(
        has(&[
            "GET /v1/client-tokens/{id}",
            "clientToken.tokenHint",
            "only-emulator",
            "(absent)",
            "string"
        ]),
        "{}",
        run.out
    );
    assert!(
        has(&[
            "GET /v1/client-tokens/{id}",
            "reply",
            "contract",
            "breaks the document: at '/clientToken': missing properties 'tokenHint'"
        ]),
        "{}",
        run.out
    );
    assert!(
        has(&[
            "GET /v1/surfaces?limit=20",
            "status",
            "status",
            "503",
            "200"
        ]),
        "{}",
        run.out
    );
    assert!(run.talk.contains("differences in "), "{}", run.talk);

    // The same as JSON.
    let mut json_options = options(&server, false);
    json_options.json = true;
    let run = live_check(&server, &json_options, nothing);
    assert_eq!(run.code, check::DIFFERENT);
    let report: Value = serde_json::from_str(&run.out).unwrap();
    let differences = report["differences"].as_array().unwrap();
    assert!(differences.contains(&json!({
        "step": "GET /v1/client-tokens/{id}", "at": "clientToken.tokenHint", "kind": "only-emulator",
        "live": "(absent)", "emulator": "string",
    })), "{report:#}");
    assert!(differences.contains(&json!({
        "step": "GET /v1/surfaces?limit=20", "at": "status", "kind": "status", "live": "503", "emulator": "200",
    })), "{report:#}");
}

#[test]
fn an_interrupted_write_scenario_cleans_up_before_it_exits() {
    let server = Server::demo();
    // The update is held unanswered: the scenario cannot finish before the signal comes.
    server.fault(json!({"method": "PUT", "path": "/v1/client-tokens/*", "lateAfter": 1}));
    for signal in [Signal::Interrupt, Signal::Terminate] {
        let run = live_check(
            &server,
            &options(&server, true),
            async |signals: &Signals| {
                answered(&server, |r| {
                    r["method"] == "POST" && r["path"] == "/v1/client-tokens" && r["status"] == 201
                })
                .await;
                signals.raise(signal);
            },
        );
        assert_eq!(run.code, signal.exit_code(), "{}{}", run.out, run.talk);
        assert!(
            run.talk.contains("interrupted; cleaning up"),
            "{}",
            run.talk
        );
        assert_eq!(run.out, "", "no report");
        assert!(
            left_behind(&server).is_empty(),
            "{:?}",
            left_behind(&server)
        );
        server.fault(json!({"method": "PUT", "path": "/v1/client-tokens/*", "lateAfter": 1}));
    }
    assert_eq!(server.tokens().len(), 6);
}

#[test]
fn a_failed_write_scenario_cleans_up_even_a_token_whose_reply_was_lost() {
    let server = Server::demo();
    // The rotation's connection drops: the check cannot go on.
    server.fault(
        json!({"method": "POST", "path": "/v1/client-tokens/*/regenerate", "drop": "before"}),
    );
    let run = live_check(&server, &options(&server, true), nothing);
    assert_eq!(run.code, check::FAILED, "{}{}", run.out, run.talk);
    assert!(
        run.talk.contains("regenerate on the live service"),
        "{}",
        run.talk
    );
    assert!(left_behind(&server).is_empty());
    // The create happens but its reply is lost: found by its name, and deleted.
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "drop": "after"}));
    let run = live_check(&server, &options(&server, true), nothing);
    assert_eq!(run.code, check::FAILED, "{}{}", run.out, run.talk);
    assert!(
        left_behind(&server).is_empty(),
        "{:?}",
        left_behind(&server)
    );
    assert_eq!(server.tokens().len(), 6);
}

#[test]
fn a_rejected_key_is_exit_4() {
    let server = Server::with(Config {
        read_only_keys: vec!["rt_test_reader".into()],
        ..Config::default()
    });
    let mut wrong = options(&server, false);
    wrong.live_key = "rt_test_wrong".into();
    let run = live_check(&server, &wrong, nothing);
    assert_eq!(run.code, check::KEY_REJECTED, "{}", run.talk);
    assert!(run.talk.contains("rejected the key: 401"), "{}", run.talk);
    assert!(
        !run.talk.contains("rt_test_wrong"),
        "the key is never printed"
    );
    // A key that may read but not write: the read-only check runs, --write is refused.
    let mut reader = options(&server, true);
    reader.live_key = "rt_test_reader".into();
    let run = live_check(&server, &reader, nothing);
    assert_eq!(run.code, check::KEY_REJECTED, "{}", run.talk);
    assert!(run.talk.contains("may write client tokens"), "{}", run.talk);
    assert!(left_behind(&server).is_empty());
    reader.write = false;
    assert_eq!(live_check(&server, &reader, nothing).code, check::SAME);
}

/// Waits (without a clock) until every fault set on `server` has been taken: a `lateAfter`
/// fault is taken when its request arrives and is held.
async fn faults_taken(server: &Server) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let faults: Value = crate::support::http()
            .get(format!("{}/__emulator/faults", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if faults["faults"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never taken: {faults}"
        );
        tokio::task::yield_now().await;
    }
}

/// `n` API requests to `server`: what lets a `lateAfter` fault carry its request out.
async fn requests(server: &Server, n: usize) {
    for _ in 0..n {
        crate::support::http()
            .get(format!("{}/v1/users/profile", server.url))
            .bearer_auth(&server.key)
            .send()
            .await
            .unwrap();
    }
}

#[test]
fn a_signal_while_the_create_is_held_lets_it_finish_and_deletes_what_it_made() {
    let server = Server::demo();
    // The create is held unanswered until three more requests arrive, then carried out
    // with its connection closed: the reply never comes, the token does.
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "lateAfter": 3}));
    let run = live_check(
        &server,
        &options(&server, true),
        async |signals: &Signals| {
            faults_taken(&server).await;
            signals.raise(Signal::Interrupt);
            // Someone else's requests: the service carries the create out meanwhile.
            requests(&server, 3).await;
        },
    );
    assert_eq!(run.code, 130, "{}{}", run.out, run.talk);
    assert!(
        run.talk.contains("interrupted; cleaning up"),
        "{}",
        run.talk
    );
    assert_eq!(run.out, "", "no report");
    // Nothing is left, however many requests come later.
    server.runtime.block_on(requests(&server, 3));
    assert!(
        left_behind(&server).is_empty(),
        "{:?}",
        left_behind(&server)
    );
    assert_eq!(server.tokens().len(), 6);
}

#[test]
fn a_second_signal_while_the_create_is_held_names_what_to_look_for() {
    let server = Server::demo();
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "lateAfter": 3}));
    let run = live_check(
        &server,
        &options(&server, true),
        async |signals: &Signals| {
            faults_taken(&server).await;
            signals.raise(Signal::Terminate);
            signals.raise(Signal::Terminate);
        },
    );
    assert_eq!(run.code, 143, "{}{}", run.out, run.talk);
    assert!(
        run.talk
            .contains("look for tokens named rtctl-live-check-0a1b2c3d"),
        "{}",
        run.talk
    );
    // As it says: the create is carried out later, under that name.
    server.runtime.block_on(requests(&server, 3));
    let left = left_behind(&server);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["name"], "rtctl-live-check-0a1b2c3d");
}

#[test]
fn server_text_is_escaped_before_a_terminal_sees_it() {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    let server = Server::empty();
    let url = server.hostile(Router::new().route(
        "/v1/users/profile",
        get(|| async {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "bad key\u{1b}[2J\nlive-check: ok \u{202e}drowssap"})),
            )
        }),
    ));
    let mut hostile = options(&server, false);
    hostile.live_url = url;
    let run = live_check(&server, &hostile, nothing);
    assert_eq!(run.code, check::KEY_REJECTED, "{}", run.talk);
    assert!(
        run.talk
            .contains("rejected the key: 401 bad key\\u{1b}[2J\\nlive-check: ok \\u{202e}drowssap"),
        "{}",
        run.talk
    );
    assert!(!run.talk.contains('\u{1b}') && !run.talk.contains('\u{202e}'));
    assert!(!run.talk.lines().any(|l| l.starts_with("live-check: ok")));
}

#[test]
fn drift_in_the_token_object_conversations_and_observed_origins_is_named() {
    let server = Server::demo();
    // The emulator is seeded with what the live service listed: the token object's shape
    // shows only against a token the emulator made itself.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "omit": "clientTokens.*.targetAlias", "count": 0}));
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens/*", "omit": "clientToken.targetAlias", "count": 0}));
    // Conversations and observed origins are seeded into the emulator and shown as it shows
    // its own: a field the live service dropped from them shows too.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens/*/conversations", "omit": "conversations.*.firstMessage", "count": 0}));
    server.fault(json!({"method": "GET", "path": "/v1/products/*/surfaces/*/observed-origins", "omit": "origins.*.allowed", "count": 0}));
    let mut json_options = options(&server, false);
    json_options.json = true;
    let run = live_check(&server, &json_options, nothing);
    assert_eq!(run.code, check::DIFFERENT, "{}{}", run.out, run.talk);
    let report: Value = serde_json::from_str(&run.out).unwrap();
    let differences = report["differences"].as_array().unwrap();
    let has = |step: &str, at: &str, kind: &str| {
        differences
            .iter()
            .any(|d| d["step"] == step && d["at"] == at && d["kind"] == kind)
    };
    assert!(
        has(
            "GET /v1/client-tokens/{id} (against a token the emulator made)",
            "clientToken.targetAlias",
            "only-emulator"
        ),
        "{report:#}"
    );
    assert!(
        has(
            "GET /v1/client-tokens (against a token the emulator made)",
            "clientTokens.*.targetAlias",
            "only-emulator"
        ),
        "{report:#}"
    );
    assert!(
        has(
            "GET /v1/client-tokens/{id}/conversations?limit=5",
            "conversations.0.firstMessage",
            "only-emulator"
        ),
        "{report:#}"
    );
    assert!(
        has(
            "GET /v1/products/{product}/surfaces/{surface}/observed-origins",
            "origins.0.allowed",
            "only-emulator"
        ),
        "{report:#}"
    );
}

#[test]
fn a_live_service_still_rate_limiting_means_the_check_could_not_run() {
    let server = Server::demo();
    server.fault(json!({"method": "GET", "path": "/v1/surfaces", "status": 429, "retryAfter": "0", "count": 0}));
    let run = live_check(&server, &options(&server, false), nothing);
    assert_eq!(run.code, check::FAILED, "{}{}", run.out, run.talk);
    assert!(
        run.talk.contains(
            "GET /v1/surfaces?limit=20 on the live service: still rate-limited (429) after 3 tries"
        ),
        "{}",
        run.talk
    );
    assert_eq!(run.out, "", "no report of differences");
}

/// `target/debug/examples/live-check`, which `cargo test` builds beside the suite.
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|p| p.parent()).unwrap();
    debug.join("examples").join("live-check")
}

#[test]
fn bad_arguments_are_a_usage_error() {
    let output = std::process::Command::new(example_binary())
        .arg("--no-such-flag")
        .env("RTCTL_LIVE_API_URL", "http://127.0.0.1:9")
        .env("RTCTL_LIVE_API_KEY", "rt_test_x")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(i32::from(check::USAGE)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_script_interrupted_while_it_builds_exits_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    // A cargo that says it has started, then builds for ever.
    let marker = dir.path().join("building");
    let cargo = dir.path().join("cargo");
    std::fs::write(
        &cargo,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/live-check");
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let _ = std::fs::remove_file(&marker);
        let mut child = std::process::Command::new("bash")
            .arg(script)
            .env("PATH", &path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Waits for the marker (never on a clock): the build has started.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !marker.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the build never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        crate::harness::signal(&child, signal);
        let exit = crate::harness::exit_within(
            &mut child,
            std::time::Duration::from_secs(30),
            "scripts/live-check",
        );
        assert_eq!(exit, code, "{signal}");
    }
}
