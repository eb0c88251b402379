//! rtctl against hostile servers, hostile input and signals: a new value is delivered and
//! current or the command fails; nothing from outside steers the terminal, the shell or the
//! path; every read is bounded; each smaller case gets its documented exit code.

use std::process::{Command, Stdio};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{BIN, Server};

const STAGING: &str = "ct_0d3e00000000a003";

/// A value that could not be delivered is named with the command that reads it back.
#[track_caller]
fn assert_names_value_command(run: &crate::harness::Run, id: &str) {
    assert!(
        run.stderr.contains(&format!("rtctl tokens value {id}")),
        "{}",
        run.stderr
    );
}

fn count(server: &Server, request: &str) -> usize {
    server.journal().iter().filter(|r| *r == request).count()
}

fn clear_journal(server: &Server) {
    server
        .control(Method::DELETE, "/__emulator/requests", None)
        .expect(200);
}

// --- A new value reaches its user, and is the live one ---------------------------------

#[test]
fn a_rotation_carried_out_late_is_never_reported_as_a_success() {
    let server = Server::demo();
    let regenerate = format!("/v1/client-tokens/{STAGING}/regenerate");
    let sent = || count(&server, &format!("POST {regenerate}"));
    // The regenerate times out on the client and is carried out later, after two of the
    // reads rtctl makes to learn its outcome: rtctl never sends a second one, and delivers the
    // value that one rotation made, confirmed current.
    server.fault(json!({"method": "POST", "path": regenerate, "lateAfter": 3}));
    let before = server.value_of(STAGING);
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", STAGING, "--yes", "--timeout", "1"]);
    run.expect(0);
    let current = server.value_of(STAGING);
    assert_ne!(current, before);
    assert_eq!(run.stdout, format!("{current}\n"), "{run:?}");
    assert_eq!(sent(), 1, "one regenerate only: {:?}", server.journal());

    // Carried out later than rtctl watches for (at most the request timeout): the outcome is
    // unknown, nothing is printed, and no second regenerate is sent.
    server.fault(json!({"method": "POST", "path": regenerate, "lateAfter": 1000}));
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", STAGING, "--yes", "--timeout", "1"]);
    run.expect(1);
    assert_eq!(run.stdout, "", "no value is printed: {run:?}");
    assert!(!run.stderr.contains(&current), "{}", run.stderr);
    assert!(run.stderr.contains("outcome is unknown"), "{}", run.stderr);
    assert!(
        run.stderr.contains("may still be carried out"),
        "{}",
        run.stderr
    );
    assert_names_value_command(&run, STAGING);
    assert_eq!(sent(), 1, "one regenerate only: {:?}", server.journal());
    assert_eq!(server.value_of(STAGING), current, "not carried out (yet)");
}

#[test]
fn sigterm_during_a_bulk_rotation_delivers_every_finished_value() {
    let server = Server::with(rtctl_emulator::Config {
        seed: rtctl_emulator::Seed::None,
        latency: std::time::Duration::from_millis(200),
        ..Default::default()
    });
    for i in 0..6 {
        server.create(&format!("Slow {i}"), json!({}));
    }
    let child = server.spawn(&[
        "tokens",
        "rotate",
        "--all",
        "--yes",
        "--json",
        "--concurrency",
        "1",
    ]);
    server.wait_for_requests(|j| j.iter().any(|r| r.ends_with("/regenerate")));
    crate::harness::signal(&child, "-TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    let results: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let results = results.as_array().unwrap();
    let rotated: Vec<&Value> = results.iter().filter(|r| r["ok"] == true).collect();
    assert!(!rotated.is_empty(), "{results:?} {stderr}");
    for r in &rotated {
        assert_eq!(r["value"], server.value_of(r["id"].as_str().unwrap()));
    }
    let regenerated = server.regenerations();
    assert_eq!(regenerated, rotated.len(), "every rotation is reported");
}

const TWO_NEW: &str = r#"
[tokens."First new"]
environment = "test"
origins = ["https://first.example.com"]
flows = ["flow_1"]

[tokens."Second new"]
environment = "test"
origins = ["https://second.example.com"]
flows = ["flow_1"]
"#;

#[test]
fn ctrl_c_during_apply_keeps_the_values_already_created() {
    for to_file in [false, true] {
        let server = Server::with(rtctl_emulator::Config {
            seed: rtctl_emulator::Seed::None,
            latency: std::time::Duration::from_millis(300),
            ..Default::default()
        });
        let file = server.home.path().join("tokens.toml");
        std::fs::write(&file, TWO_NEW).unwrap();
        let values = server.home.path().join("values.env");
        let mut args = vec!["apply", "-f", file.to_str().unwrap(), "--yes"];
        if to_file {
            args.extend(["--values-out", values.to_str().unwrap()]);
        }
        let child = server.spawn(&args);
        server.wait_for_requests(|j| j.iter().any(|r| r == "POST /v1/client-tokens"));
        crate::harness::signal(&child, "-INT");
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        let created = server.tokens();
        assert!(!created.is_empty());
        let delivered = if to_file {
            std::fs::read_to_string(&values).unwrap()
        } else {
            stdout.into_owned()
        };
        for token in &created {
            let value = server.value_of(token["id"].as_str().unwrap());
            assert!(delivered.contains(&value), "{delivered} {stderr}");
        }
    }
}

#[test]
fn a_failed_apply_leaves_no_values_file_and_the_rerun_works() {
    let server = Server::empty();
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, TWO_NEW).unwrap();
    let values = server.home.path().join("values.env");
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "status": 400, "count": 0}));
    let args = [
        "apply",
        "-f",
        file.to_str().unwrap(),
        "--yes",
        "--values-out",
        values.to_str().unwrap(),
    ];
    let run = server.rtctl(&args);
    assert_ne!(run.code, 0);
    assert!(!values.exists(), "{run:?}");
    server
        .control(Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    server.rtctl(&args).expect(0);
    let text = std::fs::read_to_string(&values).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn a_new_value_that_cannot_be_written_fails_the_command() {
    let server = Server::demo();
    let run = server
        .invocation(&["tokens", "rotate", STAGING, "--yes"], &[])
        .closed_stdout()
        .run();
    run.expect(1);
    assert_names_value_command(&run, STAGING);
    assert!(!run.stderr.contains(&server.value_of(STAGING)));

    let run = server
        .invocation(
            &[
                "tokens",
                "create",
                "--name",
                "Piped",
                "--origin",
                "https://p.example.com",
                "--flow",
                "flow_1",
            ],
            &[],
        )
        .closed_stdout()
        .run();
    run.expect(1);
    let id = server.id_of("Piped");
    assert_names_value_command(&run, &id);

    // A list into a closed pipe is a quiet success.
    server
        .invocation(&["tokens", "list"], &[])
        .closed_stdout()
        .run()
        .expect(0);
}

#[test]
fn jq_filters_are_checked_before_an_irreversible_action() {
    let server = Server::demo();
    let before = server.value_of(STAGING);
    for filter in [".value", "halt", ".[0].value | halt_error", "error(\"x\")"] {
        let run = server.rtctl(&["tokens", "rotate", STAGING, "--yes", "--jq", filter]);
        run.expect(7);
        assert!(
            run.stderr.contains("nothing was changed"),
            "{filter}: {run:?}"
        );
        assert_eq!(server.value_of(STAGING), before, "{filter} rotated");
    }
    // The usual filter works and prints the current value.
    let run = server.rtctl(&["tokens", "rotate", STAGING, "--yes", "--jq", ".[].value"]);
    run.expect(0);
    assert_eq!(run.stdout, format!("{}\n", server.value_of(STAGING)));

    // A filter that fails only on the real output: the action happened, exit 7, no secret.
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        STAGING,
        "--yes",
        "--jq",
        ".[] | if .value == \"ct_test_00000000000000000000000000SAMPLE\" then .value else error(.value) end",
    ]);
    run.expect(7);
    let current = server.value_of(STAGING);
    assert!(!run.stderr.contains(&current), "{}", run.stderr);
    assert!(run.stderr.contains("Rotated"), "{}", run.stderr);
    assert_names_value_command(&run, STAGING);
}

#[test]
fn the_same_id_twice_is_rotated_once() {
    let server = Server::demo();
    clear_journal(&server);
    let run = server.rtctl(&["tokens", "rotate", STAGING, STAGING, "--yes"]);
    run.expect(0);
    assert_eq!(
        count(
            &server,
            &format!("POST /v1/client-tokens/{STAGING}/regenerate")
        ),
        1
    );
    assert_eq!(run.stdout, format!("{}\n", server.value_of(STAGING)));
}

#[test]
fn duplicate_ids_from_the_server_fail_the_read_before_anything_is_deleted() {
    let server = Server::empty();
    let id = server.create("Twice", json!({}));
    let token = server.token(&id).expect(200)["clientToken"].clone();
    let page = json!({"clientTokens": [token, token], "pagination": {"hasMore": false}});
    let upstream = server.url.clone();
    let deletes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = deletes.clone();
    let hostile = server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens",
                get(move || {
                    let page = page.clone();
                    async move { axum::Json(page) }
                }),
            )
            .route(
                "/v1/client-tokens/{id}",
                axum::routing::delete(move || {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async { axum::Json(json!({"success": true})) }
                }),
            ),
    );
    let _ = upstream;
    let run = server.rtctl_env(
        &["tokens", "delete", "--all", "--yes"],
        &[("RUNTYPE_API_URL", &hostile)],
    );
    run.expect(1);
    assert!(run.stderr.contains("twice"), "{}", run.stderr);
    assert_eq!(
        deletes.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{run:?}"
    );
}

#[test]
fn origins_add_refuses_to_edit_a_list_it_could_not_read() {
    let server = Server::empty();
    let id = server.create("Odd", json!({}));
    let mut token = server.token(&id).expect(200);
    token["clientToken"]["allowedOrigins"] = json!("https://a.example.com");
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = writes.clone();
    let hostile = server.hostile(
        Router::new().route(
            "/v1/client-tokens/{id}",
            get(move || {
                let token = token.clone();
                async move { axum::Json(token) }
            })
            .put(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { StatusCode::OK }
            }),
        ),
    );
    let run = server.rtctl_env(
        &["origins", "add", &id, "https://b.example.com"],
        &[("RUNTYPE_API_URL", &hostile)],
    );
    run.expect(1);
    assert!(
        run.stderr.contains("no readable list of origins"),
        "{}",
        run.stderr
    );
    assert_eq!(writes.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn toml_values_json_cannot_hold_are_refused() {
    let server = Server::empty();
    for (value, what) in [
        ("2026-01-01T00:00:00Z", "datetime"),
        ("nan", "nan"),
        ("inf", "inf"),
    ] {
        let file = server.home.path().join("t.toml");
        std::fs::write(
            &file,
            format!(
                "[tokens.W]\nenvironment = \"test\"\norigins = [\"https://w.example.com\"]\nflows = [\"flow_1\"]\nconfig = {{ at = {value} }}\n"
            ),
        )
        .unwrap();
        for command in ["plan", "apply"] {
            let mut args = vec![command, "-f", file.to_str().unwrap()];
            if command == "apply" {
                args.push("--yes");
            }
            let run = server.rtctl(&args);
            run.expect(2);
            assert!(run.stderr.contains("config"), "{what}: {}", run.stderr);
        }
    }
    assert!(server.tokens().is_empty());
}

#[test]
fn a_config_too_deep_to_read_back_is_refused_and_deep_stored_configs_still_list() {
    let server = Server::empty();
    let deep = format!("{}1{}", "[".repeat(33), "]".repeat(33));
    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "Deep",
        "--origin",
        "https://d.example.com",
        "--flow",
        "flow_1",
        "--config",
        &format!("{{\"a\":{deep}}}"),
    ]);
    run.expect(2);
    assert!(server.tokens().is_empty());
    // The emulator refuses it too.
    let reply = server.api(
        Method::POST,
        "/v1/client-tokens",
        Some(json!({"name": "Deep", "allowedOrigins": ["https://d.example.com"], "flowIds": ["f"], "config": serde_json::from_str::<Value>(&format!("{{\"a\":{deep}}}")).unwrap()})),
    );
    assert_eq!(reply.status, 400, "{}", reply.text);

    // What the server may already hold (125 levels) is still read.
    // (120 levels: the list reply around it stays within what the suite's contract check
    // parses.)
    let held: Value =
        serde_json::from_str(&format!("{}1{}", "[".repeat(120), "]".repeat(120))).unwrap();
    server.insert_raw("ct_00000000000000d1", json!({"config": {"deep": held}}));
    server.rtctl(&["tokens", "list"]).expect(0);
    server.rtctl(&["export"]).expect(0);
}

#[test]
fn a_delete_whose_retry_finds_nothing_says_gone() {
    let server = Server::empty();
    let id = "ct_00000000000000e1";
    // The first attempt is lost (here: nothing existed); the retry gets 404.
    server.fault(
        json!({"method": "DELETE", "path": format!("/v1/client-tokens/{id}"), "drop": "before"}),
    );
    let run = server.rtctl(&["tokens", "delete", id, "--yes"]);
    run.expect(0);
    assert!(
        run.stderr.contains(
            "gone: deleted by the first attempt, whose reply was lost, or it never existed"
        ),
        "{}",
        run.stderr
    );
}

// --- Nothing from outside steers the terminal, the shell or the path -------------------

const HOSTILE_NAME: &str = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\rName\u{202e}txt";

#[test]
fn escape_sequences_from_the_server_never_reach_the_terminal() {
    let server = Server::empty();
    let id = "ct_00000000000000f1";
    server.insert_raw(
        id,
        json!({"name": HOSTILE_NAME, "allowedOrigins": ["https://a.example.com\u{1b}[31m"], "environment": "test"}),
    );
    let raw = |text: &str| {
        text.contains('\u{1b}')
            || text.contains('\r')
            || text.contains('\u{7}')
            || text.contains('\u{202e}')
    };
    for args in [
        vec!["tokens", "list"],
        vec!["tokens", "get", id],
        vec!["origins", "list", id],
        vec!["tokens", "delete", id],
        vec!["completions", "__complete", "token-id", ""],
    ] {
        let run = server.rtctl(&args);
        assert!(
            !raw(&run.stdout) && !raw(&run.stderr),
            "{args:?} passed raw control characters: {run:?}"
        );
    }
    // On a terminal, the table and the confirmation prompt too (rtctl's own colours aside).
    let raw = |text: &str| {
        [
            "\u{1b}]",
            "\u{1b}[2J",
            "\u{7}",
            "\r",
            "\u{202e}",
            "com\u{1b}",
        ]
        .iter()
        .any(|s| text.contains(s))
    };
    let run = server
        .invocation(&["tokens", "list"], &[])
        .terminal(100, &[])
        .run();
    assert!(!raw(&run.stdout) && !raw(&run.stderr), "{run:?}");
    let run = server
        .invocation(&["tokens", "delete", id], &[])
        .terminal(100, &["n"])
        .run();
    assert!(!raw(&run.stderr), "{run:?}");
    // A token file on a terminal is shown escaped; written to a file it is exact (TOML's own
    // escapes for control characters; a bidi override is a character TOML keeps as is).
    let bidi = "ct_00000000000000f2";
    server.insert_raw(bidi, json!({"name": "Shop\u{202e}gpj.exe"}));
    let run = server.invocation(&["export"], &[]).terminal(100, &[]).run();
    assert!(!raw(&run.stdout), "{run:?}");
    assert!(run.stdout.contains("Shop\\u{202e}gpj.exe"), "{run:?}");
    let piped = server.rtctl(&["export"]);
    assert!(piped.stdout.contains("Shop\u{202e}gpj.exe"), "{piped:?}");
    // JSON stays exact: the name round-trips.
    let run = server.rtctl(&["tokens", "get", id, "--json"]);
    assert_eq!(run.json()["name"], HOSTILE_NAME);
}

#[test]
fn ids_from_the_server_are_validated_before_any_request_uses_them() {
    let server = Server::empty();
    for bad in ["..", "", ".", "ct_0000000000000001/../x"] {
        let page = json!({"clientTokens": [{"id": bad, "name": "X", "allowedOrigins": [], "environment": "test", "isActive": true}], "pagination": {"hasMore": false}});
        let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = hits.clone();
        let hostile = server.hostile(
            Router::new()
                .route(
                    "/v1/client-tokens",
                    get(move || {
                        let page = page.clone();
                        async move { axum::Json(page) }
                    }),
                )
                .fallback(move |request: axum::extract::Request| {
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {}", request.method(), request.uri()));
                    async { StatusCode::NOT_FOUND.into_response() }
                }),
        );
        let run = server.rtctl_env(
            &["tokens", "delete", "--all", "--yes"],
            &[("RUNTYPE_API_URL", &hostile)],
        );
        assert_eq!(run.code, 1, "{bad:?}: {run:?}");
        assert!(run.stderr.contains("id"), "{}", run.stderr);
        assert!(
            hits.lock().unwrap().is_empty(),
            "{bad:?}: {:?}",
            hits.lock()
        );
    }
}

/// A server whose rotation of `STAGING` yields `value`, as read back too.
fn rotating_to(server: &Server, value: &str) -> String {
    let token = server.token(STAGING).expect(200)["clientToken"].clone();
    let (read, rotated) = (value.to_string(), value.to_string());
    server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens/{id}/token",
                get(move || {
                    let value = read.clone();
                    async move { axum::Json(json!({"token": value})) }
                }),
            )
            .route(
                "/v1/client-tokens/{id}/regenerate",
                axum::routing::post(move || {
                    let body = json!({"clientToken": token.clone(), "token": rotated.clone()});
                    async move { axum::Json(body) }
                }),
            ),
    )
}

#[test]
fn values_for_a_shell_are_quoted_and_control_characters_are_refused() {
    let server = Server::demo();
    let hostile_value = "ct_test_$(touch /tmp/pwned)abcdefghijklmnopqrstuv";
    let url = rotating_to(&server, hostile_value);
    let run = server.rtctl_env(
        &["tokens", "rotate", STAGING, "--yes", "--format", "env"],
        &[("RUNTYPE_API_URL", &url)],
    );
    run.expect(0);
    assert_eq!(
        run.stdout,
        format!("RUNTYPE_CLIENT_TOKEN='{hostile_value}'\n")
    );

    let url = rotating_to(&server, "ct_test_abc\nEVIL=1");
    for format in ["env", "value"] {
        let run = server.rtctl_env(
            &["tokens", "rotate", STAGING, "--yes", "--format", format],
            &[("RUNTYPE_API_URL", &url)],
        );
        run.expect(1);
        assert_eq!(run.stdout, "", "{format}");
        assert!(!run.stderr.contains("EVIL"), "{}", run.stderr);
        assert_names_value_command(&run, STAGING);
    }
}

#[test]
fn jq_cannot_read_the_environment_and_takes_arguments_instead() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "list", "--jq", "env"]);
    run.expect(2);
    assert!(!run.stderr.contains(&server.key) && !run.stdout.contains(&server.key));
    let run = server.rtctl(&["tokens", "list", "--jq", "$ENV"]);
    assert!(!run.stderr.contains(&server.key) && !run.stdout.contains(&server.key));
    let run = server.rtctl(&[
        "tokens",
        "list",
        "--jq-arg",
        "want=Mobile app",
        "--jq",
        ".[] | select(.name == $want) | .id",
    ]);
    run.expect(0);
    assert_eq!(run.stdout, "ct_0d3e00000000a004\n");
    server
        .rtctl(&["tokens", "list", "--jq-arg", "no-equals", "--jq", "."])
        .expect(2);
}

#[test]
fn redirects_are_refused() {
    let server = Server::empty();
    let elsewhere = server.hostile(
        Router::new().route(
            "/v1/client-tokens",
            get(|| async {
                axum::Json(json!({"clientTokens": [], "pagination": {"hasMore": false}}))
            })
            .post(|| async { axum::Json(json!({"clientToken": {}})) }),
        ),
    );
    let target = format!("{elsewhere}/v1/client-tokens");
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let redirecting = server.hostile(Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let target = target.clone();
        async move { (StatusCode::FOUND, [("location", target)]).into_response() }
    }));
    let run = server.rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_URL", &redirecting)]);
    run.expect(1);
    assert!(run.stderr.contains("redirect"), "{}", run.stderr);
    let run = server.rtctl_env(
        &[
            "tokens",
            "create",
            "--name",
            "R",
            "--origin",
            "https://r.example.com",
            "--flow",
            "f",
        ],
        &[("RUNTYPE_API_URL", &redirecting)],
    );
    run.expect(1);
    assert!(run.stderr.contains("redirect"), "{}", run.stderr);
    // Neither followed nor retried: one request each, and one for create's read of the
    // account (the same-name warning), which fails alike without stopping the create.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Asserts `origin` is refused from flags (`origins add`, `tokens create`), a token file and by
/// the emulator (as the service's rules would); returns what `origins add` said and the
/// emulator's refusal.
#[track_caller]
fn never_written(server: &Server, origin: &str) -> (String, String) {
    let added = server.rtctl(&["origins", "add", STAGING, origin]);
    added.expect(2);
    server
        .rtctl(&[
            "tokens", "create", "--name", "W", "--origin", origin, "--flow", "f",
        ])
        .expect(2);
    let file = server.home.path().join("w.toml");
    std::fs::write(
        &file,
        format!("[tokens.W]\nenvironment = \"test\"\norigins = [\"{origin}\"]\nflows = [\"f\"]\n"),
    )
    .unwrap();
    server
        .rtctl(&["plan", "-f", file.to_str().unwrap()])
        .expect(2);
    let reply = server.api(
        Method::PUT,
        &format!("/v1/client-tokens/{STAGING}"),
        Some(json!({"allowedOrigins": [origin]})),
    );
    assert_eq!(reply.status, 400, "{origin}: {}", reply.text);
    (added.stderr.clone(), reply.text)
}

#[test]
fn wildcards_over_public_suffixes_are_never_written() {
    let server = Server::demo();
    for origin in ["https://*.com", "https://*.co.uk", "https://*.github.io"] {
        let (said, _) = never_written(&server, origin);
        assert!(said.contains("public suffix"), "{said}");
    }
    for host in ["https://256.1.1.1", "https://-a.example.com"] {
        let run = server.rtctl(&["origins", "add", STAGING, host]);
        run.expect(2);
    }
}

/// Hosts a browser's URL parser reads as an IPv4 address written another way can never
/// match (the browser sends `127.0.0.1`): refused when written from flags, a token file and
/// the emulator alike, and removable where a token already holds one.
#[test]
fn ipv4_addresses_in_other_spellings_are_never_written() {
    let server = Server::demo();
    for origin in [
        "https://0x7f.1",
        "https://127.1",
        "https://0177.0.0.1",
        "https://2130706433",
        "http://0x7f000001:8080",
    ] {
        let (said, refusal) = never_written(&server, origin);
        assert!(
            said.contains("the IPv4 address 127.0.0.1"),
            "{origin}: {said}"
        );
        assert!(refusal.contains("127.0.0.1"), "{refusal}");
        let reply = server.api(
            Method::POST,
            "/v1/client-tokens",
            Some(json!({"name": "W", "allowedOrigins": [origin], "flowIds": ["f"]})),
        );
        assert_eq!(reply.status, 400, "{origin}: {}", reply.text);
    }
    // `origins check` and doctor take no such origin either: no browser sends it.
    server
        .rtctl(&["origins", "check", STAGING, "https://127.1"])
        .expect(2);
    // A token that already holds one: audit says so, and the fix it prints works.
    server.insert_raw(
        "ct_00000000000000c1",
        json!({"allowedOrigins": ["https://0x7f.1", "https://shop.example.com"]}),
    );
    let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
    let finding = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ipv4-spelling")
        .cloned()
        .unwrap_or_else(|| panic!("no ipv4-spelling finding: {}", run.stdout));
    assert_eq!(
        finding["fix"],
        "rtctl tokens update ct_00000000000000c1 --origin 'https://127.0.0.1' --origin 'https://shop.example.com'"
    );
    server
        .rtctl(&[
            "tokens",
            "update",
            "ct_00000000000000c1",
            "--origin",
            "https://127.0.0.1",
            "--origin",
            "https://shop.example.com",
            "--yes",
        ])
        .expect(0);
    let token = server.token("ct_00000000000000c1").expect(200);
    assert_eq!(
        token["clientToken"]["allowedOrigins"],
        json!(["https://127.0.0.1", "https://shop.example.com"])
    );
    // Removing the entry alone works too (the rule is about what is written).
    server.insert_raw(
        "ct_00000000000000c2",
        json!({"allowedOrigins": ["https://0x7f.1", "https://shop.example.com"]}),
    );
    server
        .rtctl(&[
            "origins",
            "remove",
            "ct_00000000000000c2",
            "https://0x7f.1",
            "--yes",
        ])
        .expect(0);
}

// --- Bounded everywhere ----------------------------------------------------------------

#[test]
fn endless_paging_is_an_error_not_a_hang() {
    let server = Server::demo();
    server
        .fault(json!({"method": "GET", "path": "/v1/client-tokens", "endless": true, "count": 0}));
    for args in [
        vec!["tokens", "list", "--all"],
        vec!["export"],
        vec!["tokens", "delete", "--all", "--yes"],
    ] {
        let run = server.rtctl(&args);
        run.expect(1);
        assert!(run.stderr.contains("same page again"), "{}", run.stderr);
    }
    assert_eq!(server.tokens().len(), 6, "nothing was deleted");
}

#[test]
fn a_list_that_never_ends_stops_at_the_page_cap() {
    let server = Server::empty();
    let hostile = server.hostile(Router::new().route(
        "/v1/client-tokens",
        get(
            |query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let offset: u64 = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
                let id = format!("ct_{offset:016x}");
                axum::Json(json!({"clientTokens": [{"id": id, "name": "P", "allowedOrigins": ["https://p.example.com"], "environment": "test", "isActive": true}], "pagination": {"hasMore": true}}))
            },
        ),
    ));
    let run = server.rtctl_env(
        &["tokens", "list", "--all", "--json"],
        &[("RUNTYPE_API_URL", &hostile)],
    );
    run.expect(1);
    assert!(run.stderr.contains("5000 pages"), "{}", run.stderr);
    // Streamed, and left unfinished: never a valid document that looks complete.
    assert!(serde_json::from_str::<Value>(&run.stdout).is_err());
}

#[test]
fn oversized_replies_and_inputs_are_refused() {
    let server = Server::demo();
    // Every list reply: a whole-list read that finds one oversized pages instead.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "padBytes": 17_000_000u64, "count": 0}));
    let run = server.rtctl(&["tokens", "list", "--retries", "0"]);
    run.expect(1);
    assert!(run.stderr.contains("MiB"), "{}", run.stderr);

    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "Z",
        "--origin",
        "https://z.example.com",
        "--flow",
        "f",
        "--config",
        "@/dev/zero",
    ]);
    run.expect(2);
    server.rtctl(&["plan", "-f", "/dev/zero"]).expect(2);
}

#[test]
fn jq_recursion_is_bounded() {
    let server = Server::demo();
    let run = server.binary(&["tokens", "list", "--jq", "def f: [f]; f"], &[], None);
    run.expect(7);
}

// --- Smaller cases: exit codes and messages --------------------------------------------

#[test]
fn smaller_cases_get_the_right_exit_code_and_message() {
    let server = Server::demo();
    let long = format!("ct_{}", "a".repeat(70_000));
    let run = server.rtctl(&["tokens", "get", &long]);
    run.expect(2);
    assert!(run.stderr.len() < 1_000, "a short message");

    for url in [
        format!("{}/?x=1", server.url),
        format!("{}/#frag", server.url),
    ] {
        server
            .rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_URL", &url)])
            .expect(2);
    }
    server
        .rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_KEY", "rt_\u{1}bad")])
        .expect(4);

    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "D",
        "--origin",
        "https://d.example.com",
        "--flow",
        "f",
        "--default-flow",
        "",
    ]);
    run.expect(2);

    // A 404 on the list itself points at the API URL; a 405 is no "try again".
    let missing = server.hostile(Router::new());
    let run = server.rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_URL", &missing)]);
    assert!(run.stderr.contains("API URL"), "{}", run.stderr);
    assert!(!run.stderr.contains("rtctl tokens list"), "{}", run.stderr);
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "status": 405}));
    let run = server.rtctl(&["tokens", "list"]);
    run.expect(1);
    assert!(!run.stderr.contains("try again"), "{}", run.stderr);

    // isActive that is not a boolean is shown as unknown, never as active.
    let id = server.id_of("Mobile app");
    let mut token = server.token(&id).expect(200);
    token["clientToken"]["isActive"] = json!("no");
    let hostile = server.hostile(Router::new().route(
        "/v1/client-tokens/{id}",
        get(move || {
            let token = token.clone();
            async move { axum::Json(token) }
        }),
    ));
    let run = server.rtctl_env(&["tokens", "get", &id], &[("RUNTYPE_API_URL", &hostile)]);
    assert!(run.stdout.contains("unknown"), "{}", run.stdout);
    // A mistyped value never advises a destructive rotate.
    let hostile = server.hostile(Router::new().route(
        "/v1/client-tokens/{id}/token",
        get(|| async { axum::Json(json!({"token": 42})) }),
    ));
    let run = server.rtctl_env(
        &["tokens", "value", "ct_00000000000000c2"],
        &[("RUNTYPE_API_URL", &hostile)],
    );
    run.expect(1);
    assert!(!run.stderr.contains("rotate"), "{}", run.stderr);
}

#[test]
fn ctrl_c_at_a_prompt_restores_the_terminal() {
    use crate::prompts::{Pty, pty_env};
    let server = Server::demo();
    let mut pty = Pty::spawn(&pty_env(&server), &["tokens", "rotate", STAGING], 100);
    pty.wait_for("[y/N]", 0);
    pty.type_text("\u{3}");
    let code = pty.wait_exit();
    assert_eq!(code, 130, "{}", pty.text());
    assert_ne!(pty.local_flags() & libc::ECHO, 0, "echo is back on");
    let (_, screen) = pty.finish();
    if screen.contains("\u{1b}[?25l") {
        assert!(screen.contains("\u{1b}[?25h"), "the cursor is shown again");
    }
    assert!(
        !server.journal().iter().any(|r| r.ends_with("/regenerate")),
        "nothing was rotated"
    );
}

#[test]
fn a_second_ctrl_c_forces_exit_while_work_is_in_flight() {
    let server = Server::empty();
    let (arrived, arrivals) = std::sync::mpsc::channel::<()>();
    let arrived = std::sync::Arc::new(std::sync::Mutex::new(arrived));
    let hostile = server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens",
                get(|| async {
                    axum::Json(json!({"clientTokens": [{"id": "ct_0000000000000001", "name": "Stuck", "allowedOrigins": ["https://s.example.com"], "environment": "test", "isActive": true}], "pagination": {"hasMore": false}}))
                }),
            )
            .route(
                "/v1/client-tokens/{id}",
                axum::routing::delete(move || {
                    let _ = arrived.lock().unwrap().send(());
                    std::future::pending::<StatusCode>()
                }),
            ),
    );
    let mut child = {
        let mut vars = server.home.env();
        vars.push(("RUNTYPE_API_URL".into(), hostile));
        vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
        Command::new(BIN)
            .args(["tokens", "delete", "--all", "--yes", "--timeout", "600"])
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    arrivals.recv().unwrap();
    // Two signals sent back to back may reach the process as one: keep pressing Ctrl-C, as
    // an impatient user does, until the run ends.
    let pid = child.id() as libc::pid_t;
    // Bounded far above what an exit takes, far below the request's own timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        // SAFETY: kill(2) on our own child's pid, which it stays until we reap it.
        unsafe { libc::kill(pid, libc::SIGINT) };
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a second Ctrl-C did not end the run");
        }
        std::thread::yield_now();
    };
    assert_eq!(status.code(), Some(130));
}

// --- The --local state file --------------------------------------------------------------

#[test]
fn local_state_leftovers_are_cleared_and_a_read_only_state_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = crate::harness::Home::new();
    home.rtctl(&["--local", "tokens", "list"], &[]).expect(0);
    let state = home.data_dir().join("local-state.json");
    let leftover = home.data_dir().join(".local-state.json.tmp-a1b2c3");
    std::fs::write(&leftover, "{").unwrap();
    home.rtctl(&["--local", "tokens", "list"], &[]).expect(0);
    assert!(!leftover.exists(), "an interrupted write's copy is removed");

    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&state).unwrap();
    let run = home.rtctl(
        &[
            "--local",
            "tokens",
            "create",
            "--name",
            "X",
            "--origin",
            "https://x.example.com",
            "--flow",
            "flow_support_01",
        ],
        &[],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("read-only"), "{}", run.stderr);
    assert_eq!(std::fs::read(&state).unwrap(), before, "left as it was");
}

#[test]
fn a_create_the_emulator_could_not_save_is_certainly_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let server = Server::with(rtctl_emulator::Config {
        state_file: Some(state_dir.join("state.json")),
        ..Default::default()
    });
    // The directory goes away under the running emulator: its next save fails.
    std::fs::remove_dir_all(&state_dir).unwrap();
    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "Unsaved",
        "--origin",
        "https://u.example.com",
        "--flow",
        "flow_1",
    ]);
    run.expect(1);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(!run.stderr.contains("may or may not"), "{}", run.stderr);
    assert!(server.tokens().iter().all(|t| t["name"] != "Unsaved"));
}

#[test]
fn a_credentials_file_open_to_its_group_says_exactly_who_can_do_what() {
    use std::os::unix::fs::PermissionsExt;
    let home = crate::harness::Home::new();
    let file = home.config_dir().join("credentials.toml");
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(&file, "[default]\napi_key = \"rt_test_x\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o620)).unwrap();
    let run = home.rtctl(&["auth", "status"], &[("RUNTYPE_API_KEY", "")]);
    run.expect(4);
    assert!(
        run.stderr
            .contains("its mode is 620, so its group can write it"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("other users"), "{}", run.stderr);
}

/// A server that lists `tokens` (one page) and gets each by its id, as given.
fn serving(server: &Server, tokens: Vec<Value>) -> String {
    let listed = tokens.clone();
    server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens",
                get(move || {
                    let listed = listed.clone();
                    async move {
                        axum::Json(
                            json!({"clientTokens": listed, "pagination": {"hasMore": false}}),
                        )
                    }
                }),
            )
            .route(
                "/v1/client-tokens/{id}",
                get(
                    move |axum::extract::Path(id): axum::extract::Path<String>| {
                        let found = tokens.iter().find(|t| t["id"] == id.as_str()).cloned();
                        async move { axum::Json(json!({"clientToken": found})) }
                    },
                ),
            ),
    )
}

/// A `tokenValue` in another shape than a string (a broken server's array, object or number)
/// is masked in `--json` like a string, never passed through with the value inside it.
#[test]
fn a_token_value_of_another_shape_is_masked_in_json() {
    let server = Server::empty();
    let secret = "ct_live_SECRETSECRETSECRETSECRETSECRET12";
    let token = |id: &str, value: Value| {
        json!({"id": id, "name": "Odd", "environment": "live", "isActive": true,
            "allowedOrigins": ["https://odd.example.com"], "flowIds": ["f"],
            "tokenPrefix": "ct_live_", "tokenHint": "ET12", "tokenValue": value})
    };
    let tokens = vec![
        token("ct_00000000000000a1", json!([secret])),
        token("ct_00000000000000a2", json!({"value": secret})),
        token("ct_00000000000000a3", json!(42)),
    ];
    let hostile = serving(&server, tokens);
    let env = [("RUNTYPE_API_URL", hostile.as_str())];
    let list = server.rtctl_env(&["tokens", "list", "--all", "--json"], &env);
    list.expect(0);
    assert!(!list.stdout.contains("SECRET"), "{}", list.stdout);
    for listed in list.json().as_array().unwrap() {
        assert_eq!(listed["tokenValue"], "ct_live_****ET12", "{listed}");
    }
    let jq = server.rtctl_env(&["tokens", "list", "--all", "--jq", ".[].tokenValue"], &env);
    jq.expect(0);
    assert!(!jq.stdout.contains("SECRET"), "{}", jq.stdout);
    for id in [
        "ct_00000000000000a1",
        "ct_00000000000000a2",
        "ct_00000000000000a3",
    ] {
        let got = server.rtctl_env(&["tokens", "get", id, "--json"], &env);
        got.expect(0);
        assert_eq!(
            got.json()["tokenValue"],
            "ct_live_****ET12",
            "{}",
            got.stdout
        );
    }
    // Asked for, it is shown as the server sent it.
    let revealed = server.rtctl_env(
        &["tokens", "get", "ct_00000000000000a1", "--json", "--reveal"],
        &env,
    );
    assert_eq!(revealed.json()["tokenValue"], json!([secret]));
}

/// A server that echoes the API key back (a 401 quoting the Authorization header, details and
/// a hint naming it, a redirect whose Location carries it, token names holding it) never
/// makes rtctl print it, on stdout or stderr, with or without `-v`.
#[test]
fn the_key_echoed_back_is_never_printed() {
    let server = Server::empty();
    let key = "rt_live_TOPSECRETkey0123456789abcdef";
    let echo = move |headers: axum::http::HeaderMap| {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        async move {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({
                    "error": format!("Invalid API key: {auth}"),
                    "hint": format!("the key {} is not known", auth.trim_start_matches("Bearer ")),
                    "details": [{"message": format!("got {auth}"), "path": "authorization"}],
                })),
            )
                .into_response()
        }
    };
    let rejecting = server.hostile(Router::new().fallback(echo));
    let redirecting = server.hostile(Router::new().fallback(move || async move {
        (
            StatusCode::FOUND,
            [(
                "location",
                format!("https://elsewhere.example/login?key={key}"),
            )],
        )
            .into_response()
    }));
    let named = server.hostile(Router::new().route(
        "/v1/client-tokens",
        get(move || async move {
            axum::Json(json!({"clientTokens": [{
                "id": "ct_00000000000000d1", "name": format!("Echo {key}"), "environment": "test",
                "isActive": true, "allowedOrigins": ["https://echo.example.com"],
                "flowIds": ["f"], "config": {"note": key},
            }], "pagination": {"hasMore": false}}))
        }),
    ));
    let mut seen = Vec::new();
    for (url, args, code) in [
        (&rejecting, vec!["tokens", "list"], 4),
        (
            &rejecting,
            vec!["-v", "tokens", "get", "ct_00000000000000d1"],
            4,
        ),
        (&redirecting, vec!["tokens", "list", "--retries", "0"], 1),
        (&named, vec!["tokens", "list"], 0),
        (&named, vec!["tokens", "list", "--json"], 0),
        (
            &named,
            vec!["-v", "tokens", "list", "--jq", ".[].config.note"],
            0,
        ),
    ] {
        let run = server.rtctl_env(
            &args,
            &[("RUNTYPE_API_URL", url.as_str()), ("RUNTYPE_API_KEY", key)],
        );
        assert_eq!(run.code, code, "{args:?}: {run:#?}");
        assert!(
            !run.stdout.contains("TOPSECRET") && !run.stderr.contains("TOPSECRET"),
            "{args:?} printed the key: {run:#?}"
        );
        seen.push(format!("{}{}", run.stdout, run.stderr));
    }
    // What was said is still said, with the key masked as `auth status` shows it.
    assert!(
        seen[0].contains("Invalid API key: Bearer rt_live_****cdef"),
        "{}",
        seen[0]
    );
    assert!(
        seen[2].contains("login?key=rt_live_****cdef"),
        "{}",
        seen[2]
    );
    assert!(seen[3].contains("Echo rt_live_****cdef"), "{}", seen[3]);
    // `auth token` prints the key because it was asked to.
    let token = server.rtctl_env(&["auth", "token"], &[("RUNTYPE_API_KEY", key)]);
    assert_eq!(token.stdout.trim(), key);
}

/// The key echoed back inside a long text is replaced before the text is laid out: a value
/// wrapped under its key (`tokens get`) or a cell cut to its column (`tokens list`) on a
/// narrow terminal never shows a piece of it, at any width.
#[test]
fn the_key_is_never_split_by_wrapping_or_cutting() {
    let server = Server::empty();
    let key = "rt_live_TOPSECRETkeyQWZXJVPLMNBGcdef";
    let token = json!({
        "id": "ct_00000000000000d2", "name": format!("{}{key}", "x".repeat(4)),
        "environment": "test", "isActive": true,
        "allowedOrigins": [format!("https://{}.example.com", "o".repeat(20))],
        "flowIds": ["f"], "config": {"welcomeMessage": format!("{} {key}", "w".repeat(41))},
    });
    let hostile = serving(&server, vec![token]);
    let secret = "TOPSECRETkeyQWZXJVPLMNBG";
    let pieces: Vec<&str> = (0..=secret.len() - 4)
        .map(|at| &secret[at..at + 4])
        .collect();
    for width in (40..=120).step_by(4) {
        for args in [
            vec!["tokens", "get", "ct_00000000000000d2"],
            vec!["tokens", "list"],
            vec!["tokens", "list", "--all"],
        ] {
            let run = server
                .invocation(
                    &args,
                    &[
                        ("RUNTYPE_API_URL", hostile.as_str()),
                        ("RUNTYPE_API_KEY", key),
                    ],
                )
                .terminal(width, &[])
                .run();
            run.expect(0);
            let shown = format!("{}{}", run.stdout, run.stderr);
            if let Some(piece) = pieces.iter().find(|p| shown.contains(**p)) {
                panic!("{args:?} at {width} columns shows {piece:?} of the key: {shown}");
            }
            if args[1] == "get" {
                // What was said is still said, with the key masked.
                assert!(shown.contains("rt_live_****cdef"), "{width}: {shown}");
            }
        }
    }
}

#[test]
fn a_proxy_in_the_environment_never_gets_a_loopback_request_or_its_key() {
    // A proxy that refuses connections: a request sent through it would fail the run. A
    // plain-http URL is a loopback emulator, and a proxy would read the key in clear text.
    let server = Server::demo();
    let proxy = crate::support::RefusedPort::new();
    let run = server.binary(
        &["tokens", "list", "--json"],
        &[
            ("HTTP_PROXY", &proxy.url),
            ("http_proxy", &proxy.url),
            ("ALL_PROXY", &proxy.url),
        ],
        None,
    );
    run.expect(0);
    assert!(run.stdout.contains("ct_"), "{}", run.stdout);
}
