//! rtctl under the emulator's fault switches: retries, lost replies, garbage, slowness, a
//! missing server, a failing page, and bulk work that partly fails or is interrupted. Each
//! test checks the message, the exit code and what the emulator holds afterwards.

use std::process::Command;
use std::time::Duration;

use insta::assert_snapshot;
use rtctl_emulator::{Config, Seed};

use serde_json::{Value, json};

use crate::harness::{Server, Transcript};

fn count(server: &Server, line: &str) -> usize {
    server
        .journal()
        .iter()
        .filter(|l| l.starts_with(line))
        .count()
}

fn clear_journal(server: &Server) {
    server
        .api(reqwest::Method::DELETE, "/__emulator/requests", None)
        .expect(200);
}

#[test]
fn rate_limits_and_unavailability_are_retried_until_success() {
    let server = Server::demo();
    clear_journal(&server);
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "status": 429, "retryAfterMs": 50, "count": 2}));
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "status": 503}));
    let run = server.rtctl(&["tokens", "list", "-v"]);
    run.expect(0);
    // Three retries logged, then the list; the waits are [MS] in the snapshot.
    assert_snapshot!("list_retried_verbose", run.snapshot());
    assert_eq!(
        count(&server, "GET /v1/client-tokens"),
        4,
        "three failures, then the list"
    );
    assert_eq!(
        run.stderr.matches("in 50 ms (retry").count(),
        2,
        "the server's retry-after-ms is honoured: {}",
        run.stderr
    );

    // A wait over a second is announced even without -v.
    server.fault(
        json!({"method": "GET", "path": "/v1/client-tokens", "status": 429, "retryAfter": "2"}),
    );
    let run = server.rtctl(&["tokens", "list"]);
    run.expect(0);
    assert_snapshot!("list_long_wait_announced", run.snapshot());

    // --retries 0 gives up at once; the error says what to do.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "status": 429, "count": 2}));
    let run = server.rtctl(&["tokens", "list", "--retries", "0"]);
    run.expect(1);
    assert_snapshot!("list_rate_limited_no_retries", run.snapshot());
}

#[test]
fn a_create_that_may_have_reached_the_server_is_never_retried() {
    let server = Server::empty();
    let create = [
        "tokens",
        "create",
        "--name",
        "Widget",
        "--origin",
        "https://a.example.com",
        "--flow",
        "flow_1",
    ];
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "status": 500}));
    clear_journal(&server);
    let run = server.rtctl(&create);
    run.expect(1);
    assert_snapshot!("create_500_not_retried", run.snapshot());
    assert_eq!(count(&server, "POST /v1/client-tokens"), 1);
    assert!(server.tokens().is_empty());

    // The server created it, but the reply was lost: still one request, and one token.
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "drop": "after"}));
    clear_journal(&server);
    let run = server.rtctl(&create);
    run.expect(1);
    assert_snapshot!("create_reply_lost_not_retried", run.snapshot());
    assert_eq!(count(&server, "POST /v1/client-tokens"), 1);
    assert_eq!(server.tokens().len(), 1);
}

#[test]
fn a_lost_rotation_reply_is_recovered_without_rotating_twice() {
    let server = Server::demo();
    let id = server.id_of("Docs assistant");
    let old = server.value_of(&id);
    server.fault(json!({"method": "POST", "path": format!("/v1/client-tokens/{id}/regenerate"), "drop": "after"}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", &id, "--yes"]);
    run.expect(0);
    let new = server.value_of(&id);
    assert_ne!(new, old);
    assert_eq!(
        run.stdout,
        format!("{new}\n"),
        "the value the server holds is reported"
    );
    assert_snapshot!(
        "rotate_reply_lost_recovered",
        run.snapshot_naming(&[(&id, "[DOCS]")])
    );
    assert_eq!(
        count(&server, &format!("POST /v1/client-tokens/{id}/regenerate")),
        1,
        "exactly one rotation"
    );

    // Refused before acting (503): the value is unchanged, so rotating again is safe.
    let before = server.value_of(&id);
    server.fault(json!({"method": "POST", "path": format!("/v1/client-tokens/{id}/regenerate"), "status": 503, "retryAfterMs": 10}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", &id, "--yes", "--json"]);
    run.expect(0);
    let json = run.json();
    assert_eq!(json[0]["ok"], true);
    assert_eq!(json[0]["value"], server.value_of(&id));
    assert_ne!(server.value_of(&id), before);
    assert_eq!(
        count(&server, &format!("POST /v1/client-tokens/{id}/regenerate")),
        2
    );
}

#[test]
fn a_lost_rotation_of_a_legacy_token_is_reported_not_repeated() {
    let server = Server::demo();
    let id = server.id_of("Legacy help widget");
    server.fault(json!({"method": "POST", "path": format!("/v1/client-tokens/{id}/regenerate"), "drop": "after"}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", &id, "--yes"]);
    run.expect(1);
    assert_snapshot!(
        "rotate_legacy_reply_lost",
        run.snapshot_naming(&[(&id, "[LEGACY]")])
    );
    assert_eq!(
        count(&server, &format!("POST /v1/client-tokens/{id}/regenerate")),
        1
    );
}

#[test]
fn garbage_is_an_error_and_not_retried() {
    let server = Server::demo();
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "garbage": true}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "list"]);
    run.expect(1);
    assert_snapshot!("list_garbage_not_retried", run.snapshot());
    assert_eq!(
        count(&server, "GET /v1/client-tokens"),
        1,
        "a 200 with garbage is not transient"
    );
}

#[test]
fn a_server_slower_than_the_timeout() {
    let server = Server::demo();
    server
        .fault(json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": 2500, "count": 0}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "list", "--timeout", "1", "--retries", "1"]);
    run.expect(1);
    assert_snapshot!("list_timeout_after_a_retry", run.snapshot());
    assert_eq!(
        count(&server, "GET /v1/client-tokens"),
        2,
        "the first try and one retry"
    );

    server
        .api(reqwest::Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": 2500}));
    let run = server.rtctl(&["tokens", "list", "--timeout", "1"]);
    run.expect(0);
    // A retry got the list.
    assert_snapshot!("list_after_one_slow_reply", run.snapshot());
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let closed = crate::support::RefusedPort::new();
    let url = closed.url.clone();
    let server = Server::empty();
    let run = server.rtctl_env(
        &["tokens", "list", "-v", "--retries", "2"],
        &[("RUNTYPE_API_URL", &url)],
    );
    run.expect(1);
    assert_snapshot!("list_connection_refused_verbose", run.snapshot());
    // A create that never connected cannot have created anything: it is retried too.
    let run = server.rtctl_env(
        &[
            "tokens",
            "create",
            "--name",
            "W",
            "--origin",
            "https://a.example.com",
            "--flow",
            "f",
            "-v",
            "--retries",
            "1",
        ],
        &[("RUNTYPE_API_URL", &url)],
    );
    run.expect(1);
    assert_snapshot!("create_connection_refused_verbose", run.snapshot());
}

#[test]
fn a_list_that_fails_part_way_fails_the_list() {
    let server = Server::empty();
    for i in 0..210 {
        server.create(&format!("Token {i}"), json!({}));
    }
    let whole = server.tokens();
    let body_size = serde_json::to_vec(&json!({ "clientTokens": whole }))
        .unwrap()
        .len();
    // The whole list's one reply breaks off half way.
    let cut = json!({"method": "GET", "path": "/v1/client-tokens", "cutAfter": body_size / 2, "count": 0});
    server.fault(cut);
    let mut failures = Transcript::default();
    for format in ["--json", "-otsv"] {
        let args = ["tokens", "list", "--all", format, "--retries", "1"];
        let run = server.rtctl(&args);
        run.expect(1);
        if format == "--json" {
            assert!(
                serde_json::from_str::<Value>(&run.stdout).is_err(),
                "a cut-off list is never a valid JSON document"
            );
            // The tokens that arrived were printed before the reply broke off: the output
            // starts before the body has all arrived.
            let shown = run.stdout.matches("\"id\": ").count();
            assert!((50..210).contains(&shown), "{shown} of 210 shown: {run:?}");
        } else {
            // A table reads the whole list before it prints (for rollovers' status).
            assert_eq!(run.stdout, "", "nothing from a failed read");
        }
        failures.add_without_stdout(&args, &run);
    }
    // Bulk selections read the whole list before acting: a broken one means nothing is
    // touched.
    let args = ["tokens", "delete", "--all", "--yes", "--retries", "0"];
    let run = server.rtctl(&args);
    run.expect(1);
    failures.add(&args, &run);
    // A paged read whose second page fails fails too.
    server
        .api(reqwest::Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    server.fault(
        json!({"method": "GET", "path": "/v1/client-tokens", "status": 500, "skip": 1, "count": 0}),
    );
    let args = [
        "tokens",
        "list",
        "--limit",
        "300",
        "--json",
        "--retries",
        "1",
    ];
    let run = server.rtctl(&args);
    run.expect(1);
    assert_eq!(
        run.stdout.matches("\"id\": ").count(),
        200,
        "the first page"
    );
    failures.add_without_stdout(&args, &run);
    assert_snapshot!("list_fails_part_way", failures.text());
    assert_eq!(count(&server, "DELETE"), 0);
    server
        .api(reqwest::Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    assert_eq!(server.tokens().len(), 210);
}

#[test]
fn a_delete_whose_reply_was_lost_counts_as_done() {
    let server = Server::demo();
    let id = server.id_of("Old checkout widget");
    server.fault(
        json!({"method": "DELETE", "path": format!("/v1/client-tokens/{id}"), "drop": "after"}),
    );
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "delete", &id, "--yes"]);
    run.expect(0);
    assert_snapshot!(
        "delete_reply_lost_counts_as_done",
        run.snapshot_naming(&[(&id, "[OLD]")])
    );
    server.token(&id).expect(404);
    assert_eq!(
        count(&server, "DELETE"),
        2,
        "the unanswered one and the retry that found it gone"
    );

    // A plain 404 is still an error: the token was never there.
    let run = server.rtctl(&["tokens", "delete", "ct_00000000000000ff", "--yes"]);
    run.expect(5);
    assert_snapshot!("delete_unknown", run.snapshot());
}

#[test]
fn bulk_rotation_of_a_selection_reports_each_and_fails_if_any_failed() {
    let server = Server::demo();
    let tests: Vec<String> = server
        .tokens()
        .iter()
        .filter(|t| t["environment"] == "test")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tests.len(), 2);
    let broken = &tests[0];
    server.fault(json!({"method": "POST", "path": format!("/v1/client-tokens/{broken}/regenerate"), "status": 403, "count": 0}));
    let before: Vec<String> = tests.iter().map(|id| server.value_of(id)).collect();
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        "--all",
        "--environment",
        "test",
        "--yes",
        "--json",
        // One at a time, so the notes on stderr come in a fixed order for the snapshot.
        "--concurrency",
        "1",
    ]);
    run.expect(1);
    let results = run.json();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (result, id) in results.iter().zip(&tests) {
        assert_eq!(
            result["id"],
            id.as_str(),
            "results follow the selection's order"
        );
    }
    assert_eq!(results[0]["ok"], false);
    assert!(
        results[0]["error"].as_str().unwrap().contains("403"),
        "{results:?}"
    );
    assert_eq!(results[1]["ok"], true);
    assert_eq!(results[1]["value"], server.value_of(&tests[1]));
    assert_eq!(
        server.value_of(&tests[0]),
        before[0],
        "the failed one is untouched"
    );
    assert_ne!(
        server.value_of(&tests[1]),
        before[1],
        "the rest still completed"
    );
    assert_snapshot!(
        "rotate_selection_partly_fails",
        run.snapshot_naming(&[(&tests[0], "[BROKEN]"), (&tests[1], "[OTHER]")])
    );

    // Filters narrow --all; an empty selection is a no-op.
    let run = server.rtctl(&[
        "tokens",
        "delete",
        "--all",
        "--inactive",
        "--name-contains",
        "CHECKOUT",
        "--yes",
        "--json",
    ]);
    run.expect(0);
    assert_eq!(run.json().as_array().unwrap().len(), 1);
    assert!(
        !server
            .tokens()
            .iter()
            .any(|t| t["name"] == "Old checkout widget")
    );
    let run = server.rtctl(&["tokens", "delete", "--all", "--inactive", "--yes"]);
    run.expect(0);
    assert_snapshot!("delete_empty_selection", run.snapshot());

    // Filters need --all, and ids exclude it; without a terminal, a selection needs --yes
    // before anything is read.
    let mut refusals = Transcript::naming(&[(&tests[1], "[OTHER]")]);
    for args in [
        &["tokens", "rotate", "--environment", "test", "--yes"][..],
        &["tokens", "rotate", "--all", &tests[1], "--yes"],
        &["tokens", "rotate", "--all"],
    ] {
        let run = server.rtctl(args);
        run.expect(2);
        refusals.add(args, &run);
    }
    assert_snapshot!("selection_refusals", refusals.text());
}

#[test]
fn every_token_is_done_at_any_concurrency() {
    let server = Server::empty();
    for i in 0..12 {
        server.create(&format!("Bulk {i}"), json!({}));
    }
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        "--all",
        "--yes",
        "--concurrency",
        "8",
        "--json",
    ]);
    run.expect(0);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 12);
    for result in results.as_array().unwrap() {
        assert_eq!(
            result["value"],
            server.value_of(result["id"].as_str().unwrap())
        );
    }
    let zero = server.rtctl(&["tokens", "rotate", "--all", "--yes", "--concurrency", "0"]);
    zero.expect(2);
    assert_snapshot!("rotate_concurrency_zero", zero.snapshot());
}

#[test]
fn ctrl_c_stops_starting_new_work_and_reports_what_was_done() {
    let server = Server::with(Config {
        seed: Seed::None,
        latency: Duration::from_millis(300),
        ..Config::default()
    });
    for i in 0..6 {
        server.create(&format!("Slow {i}"), json!({}));
    }
    let child = server.spawn(&[
        "tokens",
        "delete",
        "--all",
        "--yes",
        "--concurrency",
        "1",
        "--json",
    ]);
    // Once the first delete has been answered (the handlers are installed before the first
    // request), Ctrl-C.
    server.wait_for_requests(|journal| journal.iter().any(|r| r.starts_with("DELETE")));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let results: Value = serde_json::from_slice(&output.stdout).expect("a full JSON report");
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 6);
    let done = results.iter().filter(|r| r["ok"] == true).count();
    assert!((1..6).contains(&done), "{results:?}");
    assert_eq!(
        server.tokens().len(),
        6 - done,
        "the report matches the server"
    );
    assert!(
        stderr.contains("not started (interrupted)") || stderr.contains("were not started"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{done} of 6 tokens were deleted")),
        "{stderr}"
    );
}

/// The lines of an error report (from `error:` on), without its `caused by:` lines.
fn error_report(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("error:"))
        .filter(|l| !l.starts_with("caused by: "))
        .collect()
}

/// Under `-v` an error shows what caused it, a `caused by:` line each, escaped and with the
/// key redacted like every line; without `-v` the report is as it always was.
#[test]
fn verbose_errors_show_their_causes() {
    let key = "rt_live_causes_0123456789";
    // A stopped server, at a URL that carries the key (so the client's own error does).
    let closed = crate::support::RefusedPort::new();
    let url = format!("{}/{key}", closed.url);
    let server = Server::empty();
    let env = [("RUNTYPE_API_URL", url.as_str()), ("RUNTYPE_API_KEY", key)];
    let args = ["tokens", "get", "ct_0123456789abcdef", "--retries", "0"];
    let plain = server.rtctl_env(&args, &env);
    plain.expect(1);
    assert!(!plain.stderr.contains("caused by"), "{}", plain.stderr);
    let verbose = server.rtctl_env(&[&args[..], &["-v"]].concat(), &env);
    verbose.expect(1);
    let causes: Vec<&str> = verbose
        .stderr
        .lines()
        .filter(|l| l.starts_with("caused by: "))
        .collect();
    assert!(causes.len() >= 2, "{}", verbose.stderr);
    assert!(
        causes.last().unwrap().to_lowercase().contains("refused"),
        "the last cause is the root: {causes:?}"
    );
    assert!(
        causes.iter().any(|c| c.contains("rt_live_****6789")),
        "the client's error names the URL, key redacted: {causes:?}"
    );
    assert!(!verbose.stderr.contains(key), "{}", verbose.stderr);
    assert_eq!(error_report(&verbose.stderr), error_report(&plain.stderr));

    // A hostile server whose reply breaks off: the causes come from the HTTP client, and the
    // report is the same without them.
    let hostile = server.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                          content-length: 4096\r\n\r\n{\"id\": \"ct_0123456789abcdef\", ",
                    )
                    .await;
            }
        });
        url
    });
    let env = [("RUNTYPE_API_URL", hostile.as_str())];
    let plain = server.rtctl_env(&args, &env);
    plain.expect(1);
    assert!(plain.stderr.contains("broke off"), "{}", plain.stderr);
    assert!(!plain.stderr.contains("caused by"), "{}", plain.stderr);
    let verbose = server.rtctl_env(&[&args[..], &["-v"]].concat(), &env);
    verbose.expect(1);
    assert!(
        verbose.stderr.lines().any(|l| l.starts_with("caused by: ")),
        "{}",
        verbose.stderr
    );
    assert_eq!(error_report(&verbose.stderr), error_report(&plain.stderr));
}
