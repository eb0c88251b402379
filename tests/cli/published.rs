//! What the published contract means for rtctl's users: ranges refused before any request,
//! the error envelope shown whole, referenced flows, unnamed tokens, who the key belongs to,
//! rtctl's own identity on the wire.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use insta::assert_snapshot;
use serde_json::json;

use crate::harness::Server;

const CREATE: &[&str] = &[
    "tokens",
    "create",
    "--name",
    "W",
    "--origin",
    "https://w.example.com",
    "--flow",
    "f",
];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    [CREATE, extra].concat()
}

#[test]
fn ranges_are_refused_before_any_request_naming_the_range() {
    let server = Server::empty();
    for (flag, value) in [
        ("--rate-limit-per-minute", "1001"),
        ("--rate-limit-per-hour", "10001"),
        ("--max-messages-per-session", "0"),
        ("--session-idle-timeout-minutes", "1441"),
    ] {
        let run = server.rtctl(&with(&[flag, value]));
        run.expect(2);
        assert!(run.stderr.contains(flag), "{}", run.stderr);
        assert!(run.stderr.contains("from 1 to"), "{}", run.stderr);
    }
    let long = "x".repeat(256);
    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        &long,
        "--origin",
        "https://w.example.com",
        "--flow",
        "f",
    ]);
    run.expect(2);
    assert_snapshot!("name_too_long", run.snapshot());
    assert!(server.journal().is_empty(), "no request was made");
    // The top of each range is fine.
    server
        .rtctl(&with(&[
            "--rate-limit-per-hour",
            "10000",
            "--session-idle-timeout-minutes",
            "1440",
        ]))
        .expect(0);
}

#[test]
fn the_environment_is_always_sent_and_test_is_rtctls_default() {
    let server = Server::empty();
    let run = server.rtctl(CREATE);
    run.expect(0);
    assert!(
        run.stderr.contains("creating a test token"),
        "{}",
        run.stderr
    );
    let token = &server.tokens()[0];
    assert_eq!(token["environment"], "test");
    // What rtctl leaves out, the server defaults.
    assert_eq!(token["rateLimitPerMinute"], 10);
    assert_eq!(token["pinToVersion"], "latest");
}

#[test]
fn a_validation_envelope_is_shown_detail_by_detail() {
    let server = Server::empty();
    let hostile = server.hostile(Router::new().route(
        "/v1/client-tokens",
        post(|| async {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "error": "Validation error",
                    "details": [
                        {"message": "Origin is not allowed here", "code": "INVALID_ORIGIN", "path": "allowedOrigins.0", "suggestion": "Use an https origin"},
                        {"message": "Too many flows", "code": "TOO_BIG", "path": "flowIds"},
                    ],
                })),
            )
        }),
    ));
    let run = server.rtctl_env(CREATE, &[("RUNTYPE_API_URL", &hostile)]);
    run.expect(2);
    assert_snapshot!("validation_envelope", run.snapshot());
}

#[test]
fn a_flow_the_account_lacks_is_named_with_the_flows_sent() {
    let server = Server::empty();
    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "W",
        "--origin",
        "https://w.example.com",
        "--flow",
        "f",
        "--flow",
        "flow_missing",
    ]);
    run.expect(5);
    assert_snapshot!("create_flow_missing", run.snapshot());
    let id = server.create("Existing", json!({}));
    let run = server.rtctl(&["tokens", "update", &id, "--flow", "flow_missing"]);
    run.expect(5);
    assert!(run.stderr.contains("flow_missing"), "{}", run.stderr);
    assert!(
        run.stderr.contains("does not exist in this account"),
        "{}",
        run.stderr
    );
    // An update of a token that is gone says so, not "flow".
    server.api(
        reqwest::Method::DELETE,
        &format!("/v1/client-tokens/{id}"),
        None,
    );
    let run = server.rtctl(&["tokens", "update", &id, "--flow", "f"]);
    run.expect(5);
    assert!(
        run.stderr.contains("Client token not found"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("does not exist in this account"),
        "{}",
        run.stderr
    );
}

#[test]
fn unnamed_tokens_are_listed_shown_and_never_managed_by_a_file() {
    let server = Server::empty();
    server.create("Named", json!({}));
    server.insert_raw("ct_00000000000000aa", json!({"name": null}));
    let list = server.rtctl(&["tokens", "list"]);
    list.expect(0);
    assert!(
        list.stdout.contains("ct_00000000000000aa\t\t"),
        "{}",
        list.stdout
    );
    server
        .rtctl(&["tokens", "get", "ct_00000000000000aa"])
        .expect(0);
    let export = server.rtctl(&["export"]);
    export.expect(0);
    assert_snapshot!("export_leaves_out_unnamed", export.snapshot());
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, &export.stdout).unwrap();
    let file = file.to_str().unwrap();
    let plan = server.rtctl(&["plan", "-f", file, "--prune", "--expect-no-changes"]);
    plan.expect(0);
    assert_snapshot!("plan_lists_unmanageable", plan.snapshot());
    let json = server
        .rtctl(&["plan", "-f", file, "--json"])
        .expect(0)
        .json();
    assert_eq!(json["unmanageable"][0]["id"], "ct_00000000000000aa");
    assert_eq!(json["unmanageable"][0]["reason"], "no name");
    server
        .rtctl(&["apply", "-f", file, "--prune", "--yes"])
        .expect(0);
    assert_eq!(server.tokens().len(), 2, "prune never deletes it");
    let rotate = server.rtctl(&["tokens", "rotate", "ct_00000000000000aa", "--yes"]);
    rotate.expect(0);
    assert!(
        rotate.stderr.contains("(unnamed, live)"),
        "{}",
        rotate.stderr
    );
}

#[test]
fn a_shared_name_blocks_only_a_file_that_uses_it() {
    let server = Server::empty();
    server.create("Twin", json!({}));
    server.create("Twin", json!({}));
    server.create("Solo", json!({}));
    let export = server.rtctl(&["export"]);
    export.expect(0);
    assert!(export.stdout.contains("[tokens.Solo]"), "{}", export.stdout);
    assert!(!export.stdout.contains("Twin"), "{}", export.stdout);
    assert!(
        export.stderr.contains("a name shared with another token"),
        "{}",
        export.stderr
    );
    let file = server.home.path().join("solo.toml");
    std::fs::write(&file, &export.stdout).unwrap();
    server
        .rtctl(&["plan", "-f", file.to_str().unwrap(), "--expect-no-changes"])
        .expect(0);
    let twin = server.home.path().join("twin.toml");
    std::fs::write(
        &twin,
        "[tokens.Twin]\nenvironment = \"live\"\norigins = [\"https://app.example.com\"]\nflows = [\"f\"]\n",
    )
    .unwrap();
    let run = server.rtctl(&["plan", "-f", twin.to_str().unwrap()]);
    run.expect(2);
    assert!(
        run.stderr.contains("2 tokens named \"Twin\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_keeps_what_the_account_holds_but_writes_nothing_new_that_breaks_a_rule() {
    let server = Server::empty();
    // Values the API would no longer accept, held by an older token.
    server.insert_raw(
        "ct_00000000000000bb",
        json!({"name": "Old", "rateLimitPerHour": 50000, "allowedOrigins": ["https://old.example.com/"]}),
    );
    let export = server.rtctl(&["export"]);
    export.expect(0);
    let file = server.home.path().join("old.toml");
    std::fs::write(&file, &export.stdout).unwrap();
    let path = file.to_str().unwrap();
    let plan = server.rtctl(&["plan", "-f", path, "--expect-no-changes"]);
    plan.expect(0);
    let home = server.home.path().to_str().unwrap();
    assert_snapshot!(
        "plan_keeps_the_past",
        plan.snapshot().replace(home, "[HOME]")
    );
    // Changing such a value to another that breaks the rule is refused; into range is fine.
    std::fs::write(&file, export.stdout.replace("50000", "60000")).unwrap();
    let run = server.rtctl(&["plan", "-f", path]);
    run.expect(2);
    assert!(run.stderr.contains("rate_limit_per_hour"), "{}", run.stderr);
    std::fs::write(&file, export.stdout.replace("50000", "5000")).unwrap();
    let run = server.rtctl(&["plan", "-f", path]);
    run.expect(0);
    assert!(
        run.stdout.contains("rate_limit_per_hour: 50000 → 5000"),
        "{}",
        run.stdout
    );
    // A new token with such a value is refused.
    let new = export.stdout.replace("[tokens.Old]", "[tokens.New]");
    std::fs::write(&file, new).unwrap();
    server.rtctl(&["plan", "-f", path]).expect(2);
}

#[test]
fn auth_status_names_the_organisation_and_the_email_only_on_a_terminal() {
    let server = Server::demo();
    let piped = server.rtctl(&["auth", "status"]);
    piped.expect(0);
    assert!(
        piped
            .stdout
            .contains("organisation\tEmulator organisation (org_emulator)"),
        "{}",
        piped.stdout
    );
    assert!(
        !piped.stdout.contains("developer@example.com"),
        "{}",
        piped.stdout
    );
    let terminal = server
        .invocation(&["auth", "status"], &[])
        .terminal(120, &[])
        .run();
    assert!(
        terminal.stdout.contains("developer@example.com"),
        "{}",
        terminal.stdout
    );
    let json = server.rtctl(&["auth", "status", "--json"]).expect(0).json();
    assert_eq!(json["organisation"]["name"], "Emulator organisation");
    assert_eq!(json["email"], "developer@example.com");
}

#[test]
fn rtctl_says_who_it_is_and_nothing_else() {
    let server = Server::demo();
    server.rtctl(&["tokens", "list"]).expect(0);
    server.rtctl(&["auth", "status"]).expect(0);
    let agent = format!("rtctl/{}", env!("CARGO_PKG_VERSION"));
    let entries = server.journal_entries();
    assert!(!entries.is_empty());
    for entry in entries {
        assert_eq!(entry["userAgent"], agent.as_str(), "{entry}");
    }
}

#[test]
fn ids_follow_one_rule_for_users_and_servers() {
    let server = Server::empty();
    let long = "a".repeat(70_000);
    let run = server.rtctl(&["tokens", "get", &long]);
    run.expect(2);
    assert!(
        run.stderr.len() < 300,
        "a short message: {}",
        run.stderr.len()
    );
    for bad in ["x/../../client-tokens", "a.b", "ct_1\u{1b}[2J"] {
        server.rtctl(&["tokens", "get", bad]).expect(2);
    }
    assert!(server.journal().is_empty());
}
