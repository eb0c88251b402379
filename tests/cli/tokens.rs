//! `rtctl tokens …` run as a user would: the real binary against the emulator.

use insta::assert_snapshot;
use reqwest::Method;
use rtctl_emulator::Config;
use serde_json::{Value, json};

use crate::harness::{Server, Transcript};

// ---- list -------------------------------------------------------------------------------

#[test]
fn list_piped_is_tsv_without_header() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "list"]);
    run.expect(0);
    assert_snapshot!("list_tsv", run.snapshot());
    assert!(run.stdout.lines().all(|l| l.split('\t').count() == 7));
}

#[test]
fn list_json_is_one_array_with_values_masked() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "list", "--json"]);
    let tokens = run.expect(0).json();
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 6);
    for token in tokens {
        match &token["tokenValue"] {
            Value::Null => assert_eq!(token["name"], "Legacy help widget"),
            Value::String(v) => assert!(v.contains("****"), "unmasked value {v}"),
            other => panic!("{other}"),
        }
    }
    let revealed = server
        .rtctl(&["tokens", "list", "--json", "--reveal"])
        .json();
    let id = server.id_of("Mobile app");
    let mobile = revealed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(mobile["tokenValue"], json!(server.value_of(&id)));
}

#[test]
fn list_filters_and_limits() {
    let server = Server::demo();
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["tokens", "list", "--jq", ".[].name"];
        all.extend_from_slice(args);
        server
            .rtctl(&all)
            .expect(0)
            .stdout
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        names(&["--environment", "test"]),
        ["Staging playground", "Old checkout widget"]
    );
    assert_eq!(names(&["--inactive"]), ["Old checkout widget"]);
    assert_eq!(
        names(&["--environment", "live", "--active", "--limit", "2"]),
        ["Mobile app", "Docs assistant"]
    );
    let run = server.rtctl(&["tokens", "list", "--limit", "2"]);
    run.expect(0);
    assert_snapshot!("list_limit", run.snapshot());
    assert_eq!(
        server
            .rtctl(&["tokens", "list", "--all"])
            .stdout
            .lines()
            .count(),
        6
    );
    let mut refusals = Transcript::default();
    for args in [
        &["tokens", "list", "--all", "--limit", "3"][..],
        &["tokens", "list", "--limit", "0"],
        &["tokens", "list", "--active", "--inactive"],
    ] {
        let run = server.rtctl(args);
        run.expect(2);
        refusals.add(args, &run);
    }
    assert_snapshot!("list_usage_errors", refusals.text());
}

#[test]
fn a_whole_list_is_one_request_and_a_limited_one_pages() {
    let server = Server::empty();
    server.runtime.block_on(async {
        let http = crate::support::http();
        let posts = (0..205).map(|i| {
            http.post(format!("{}/v1/client-tokens", server.url))
                .bearer_auth(&server.key)
                .json(&json!({"name": format!("t{i:03}"), "allowedOrigins": ["https://a.com"], "flowIds": ["f"]}))
                .send()
        });
        for reply in futures_util::future::join_all(posts).await {
            assert_eq!(reply.unwrap().status(), 201);
        }
    });
    let list_requests = || {
        let requests = server.api(reqwest::Method::GET, "/__emulator/requests", None);
        server.api(reqwest::Method::DELETE, "/__emulator/requests", None);
        requests.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == "GET" && r["path"] == "/v1/client-tokens")
            .map(|r| r["query"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    list_requests();
    // The whole account: one request without `limit`, as the published document has it.
    let run = server.rtctl(&["tokens", "list", "--all", "--json"]);
    assert_eq!(run.expect(0).json().as_array().unwrap().len(), 205);
    assert_eq!(list_requests(), [""]);
    let run = server.rtctl(&["export"]);
    assert!(run.expect(0).stdout.contains("[tokens.t204]"));
    assert_eq!(list_requests(), [""]);
    // A limited read pages: the first page of 200, then the rest.
    let run = server.rtctl(&["tokens", "list", "--limit", "205", "--json"]);
    assert_eq!(run.expect(0).json().as_array().unwrap().len(), 205);
    assert_eq!(
        list_requests(),
        ["limit=200&offset=0", "limit=200&offset=200"]
    );
}

#[test]
fn empty_list_succeeds_quietly() {
    let server = Server::empty();
    let run = server.rtctl(&["tokens", "list"]);
    assert_snapshot!("list_empty", run.snapshot());
    assert_eq!(
        server.rtctl(&["tokens", "list", "--json"]).expect(0).stdout,
        "[]\n"
    );
}

#[test]
fn jq_filters_in_process_and_bad_filters_are_usage_errors() {
    let server = Server::demo();
    let run = server.rtctl(&[
        "tokens",
        "list",
        "--jq",
        "map(select(.isActive | not)) | length",
    ]);
    assert_eq!(run.expect(0).stdout, "1\n");
    let requests = server.journal().len();
    let run = server.rtctl(&["tokens", "list", "--jq", ".[ | nope"]);
    run.expect(2);
    assert_snapshot!("jq_invalid", run.snapshot());
    assert_eq!(
        server.journal().len(),
        requests,
        "no request for a broken filter"
    );
}

// ---- create -----------------------------------------------------------------------------

#[test]
fn create_prints_the_value_once_and_says_it_made_a_test_token() {
    let server = Server::empty();
    let run = server.rtctl(&[
        "tokens",
        "create",
        "--name",
        "Docs widget",
        "--origin",
        "HTTPS://Docs.Example.com/",
        "--flow",
        "flow_1",
    ]);
    assert_snapshot!("create_default_env", run.snapshot());
    let value = run.stdout.trim();
    let tokens = server.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0]["allowedOrigins"],
        json!(["https://docs.example.com"]),
        "normalised"
    );
    assert_eq!(tokens[0]["environment"], "test");
    assert_eq!(server.value_of(tokens[0]["id"].as_str().unwrap()), value);
}

#[test]
fn create_with_every_field_and_warnings_on_stderr() {
    let server = Server::empty();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("widget.json");
    std::fs::write(&config, r#"{"welcomeMessage": "Hi"}"#).unwrap();
    let config_arg = format!("@{}", config.display());
    let args = vec![
        "tokens",
        "create",
        "--name",
        "Everything",
        "--origin",
        "*",
        "--agent",
        "agent_1",
        "--environment",
        "live",
        "--rate-limit-per-minute",
        "5",
        "--rate-limit-per-hour",
        "50",
        "--max-messages-per-session",
        "20",
        "--session-idle-timeout-minutes",
        "15",
        "--config",
        &config_arg,
        "--target-version-id",
        "ver_1",
        "--product-surface-id",
        "ps_1",
        "--json",
    ];
    let run = server.rtctl(&args);
    // A live token that admits '*' needs consent, here without a terminal.
    run.expect(2);
    assert!(
        run.stderr.contains("refusing to allow * on a live token"),
        "{}",
        run.stderr
    );
    assert!(
        server.tokens().iter().all(|t| t["name"] != "Everything"),
        "nothing was created"
    );
    let mut with_yes = args.clone();
    with_yes.push("--yes");
    let run = server.rtctl(&with_yes);
    let body = run.expect(0).json();
    // A live value; the API's security warning about '*', and no note about a default
    // environment.
    assert_snapshot!("create_every_field_json", run.snapshot());
    // The token at the top, as get --json prints it, with its new value.
    let token = &body;
    assert!(
        token["tokenValue"]
            .as_str()
            .unwrap()
            .starts_with("ct_live_")
    );
    assert_eq!(token["rateLimitPerHour"], 50);
    assert_eq!(token["config"], json!({"welcomeMessage": "Hi"}));
    assert_eq!(token["targetVersionId"], "ver_1");
    assert_eq!(token["productSurfaceId"], "ps_1");
}

#[test]
fn create_rejects_bad_input_before_any_request() {
    let server = Server::empty();
    let base = [
        "tokens",
        "create",
        "--name",
        "x",
        "--origin",
        "https://a.com",
    ];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    // Each refusal names the flag or says what is wrong with it.
    let cases: Vec<Vec<&str>> = vec![
        base.to_vec(),
        vec![
            "tokens",
            "create",
            "--origin",
            "https://a.com",
            "--flow",
            "f",
        ],
        vec!["tokens", "create", "--name", "x", "--flow", "f"],
        with(&["--flow", "f", "--origin", "https://a.com/path"]),
        with(&["--flow", "f", "--origin", "https://a.com?q=1"]),
        with(&["--flow", "f", "--origin", ""]),
        with(&["--flow", "f", "--origin", "https://user@a.com"]),
        with(&["--flow", "f", "--rate-limit-per-minute", "0"]),
        with(&["--flow", "f", "--rate-limit-per-hour", "abc"]),
        with(&["--flow", "f", "--config", "{oops"]),
        with(&["--flow", "f", "--config", "[1]"]),
        with(&["--flow", "f", "--config", "@/nonexistent.json"]),
        with(&[
            "--agent",
            "a",
            "--target-alias",
            "p",
            "--target-version-id",
            "v",
        ]),
        with(&["--agent", "a", "--agent", "b", "--target-version-id", "v"]),
        with(&["--flow", "f", "--environment", "prod"]),
        vec![
            "tokens",
            "create",
            "--name",
            "",
            "--origin",
            "https://a.com",
            "--flow",
            "f",
        ],
    ];
    let mut refusals = Transcript::default();
    for args in cases {
        let run = server.rtctl(&args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        refusals.add(&args, &run);
    }
    assert_snapshot!("create_invalid_input", refusals.text());
    assert!(
        server.journal().is_empty(),
        "invalid input costs no request"
    );
}

// ---- get, value -------------------------------------------------------------------------

#[test]
fn get_shows_a_masked_record_and_json_passes_unknown_fields_through() {
    let server = Server::demo();
    let id = server.id_of("Marketing site widget");
    let run = server.rtctl(&["tokens", "get", &id]);
    assert_snapshot!("get_tsv", run.snapshot());
    let json = server.rtctl(&["tokens", "get", &id, "--json"]).json();
    assert!(json["tokenValue"].as_str().unwrap().contains("****"));
    assert_eq!(json["conversationCount"], 2);
    let revealed = server
        .rtctl(&["tokens", "get", &id, "--json", "--reveal"])
        .json();
    assert_eq!(revealed["tokenValue"], json!(server.value_of(&id)));
    let origins = server.rtctl(&["tokens", "get", &id, "--jq", ".allowedOrigins[]"]);
    assert_eq!(
        origins.stdout,
        "https://www.example.com\nhttps://example.com\n"
    );
}

#[test]
fn value_prints_only_the_value() {
    let server = Server::demo();
    let id = server.id_of("Docs assistant");
    let run = server.rtctl(&["tokens", "value", &id]);
    assert_eq!(run.expect(0).stdout, format!("{}\n", server.value_of(&id)));
    assert_eq!(run.stderr, "");
}

#[test]
fn value_of_a_legacy_token_points_at_rotate() {
    let server = Server::demo();
    let id = server.id_of("Legacy help widget");
    let run = server.rtctl(&["tokens", "value", &id]);
    assert_snapshot!("value_legacy", run.snapshot_naming(&[(&id, "[LEGACY]")]));
}

#[test]
fn unknown_ids_exit_5_and_invalid_ids_exit_2() {
    let server = Server::demo();
    let mut unknown = Transcript::default();
    for args in [
        vec!["tokens", "value", "ct_0000000000000000"],
        vec!["tokens", "update", "ct_0000000000000000", "--name", "x"],
        vec!["tokens", "delete", "ct_0000000000000000", "--yes"],
        vec!["tokens", "rotate", "ct_0000000000000000", "--yes"],
        vec!["tokens", "conversations", "ct_0000000000000000"],
    ] {
        let run = server.rtctl(&args);
        assert_eq!(run.code, 5, "{args:?}: {run:?}");
        unknown.add(&args, &run);
    }
    assert_snapshot!("unknown_ids", unknown.text());
    assert_snapshot!(
        "get_not_found",
        server
            .rtctl(&["tokens", "get", "ct_0000000000000000"])
            .snapshot()
    );
    // Ids are letters, digits, '_' and '-': anything else never reaches a path.
    let mut invalid = Transcript::default();
    for id in ["..", ".", "x/../../client-tokens"] {
        let args = ["tokens", "get", id];
        let run = server.rtctl(&args);
        run.expect(2);
        invalid.add(&args, &run);
    }
    assert_snapshot!("invalid_ids", invalid.text());
    assert!(server.journal().iter().all(|r| !r.contains("..")));
}

// ---- update -----------------------------------------------------------------------------

#[test]
fn update_changes_only_the_given_fields() {
    let server = Server::demo();
    let id = server.id_of("Staging playground");
    let before = server.token(&id).expect(200)["clientToken"].clone();
    let run = server.rtctl(&[
        "tokens",
        "update",
        &id,
        "--name",
        "Staging",
        "--deactivate",
        "--rate-limit-per-hour",
        "99",
    ]);
    assert_snapshot!("update", run.snapshot());
    let after = server.token(&id).expect(200)["clientToken"].clone();
    assert_eq!(after["name"], "Staging");
    assert_eq!(after["isActive"], false);
    assert_eq!(after["rateLimitPerHour"], 99);
    for same in ["allowedOrigins", "flowIds", "config", "rateLimitPerMinute"] {
        assert_eq!(after[same], before[same], "{same} changed");
    }
    let json = server
        .rtctl(&["tokens", "update", &id, "--activate", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["isActive"], true);
    let run = server.rtctl(&["tokens", "update", &id]);
    run.expect(2);
    assert_snapshot!("update_nothing", run.snapshot());
    let both = server.rtctl(&["tokens", "update", &id, "--activate", "--deactivate"]);
    both.expect(2);
    assert_snapshot!("update_activate_and_deactivate", both.snapshot());
}

// ---- delete, rotate ---------------------------------------------------------------------

#[test]
fn destructive_commands_refuse_without_a_terminal_before_any_request() {
    let server = Server::demo();
    let id = server.id_of("Mobile app");
    let before = server.value_of(&id);
    let journal_before = server.journal().len();
    for verb in ["rotate", "delete"] {
        let run = server.rtctl(&["tokens", verb, &id]);
        assert_snapshot!(format!("{verb}_refused"), run.snapshot());
        let run = server.rtctl(&["tokens", verb, &id, "--no-input"]);
        run.expect(2);
    }
    assert_eq!(
        server.journal().len(),
        journal_before,
        "not a single request"
    );
    assert_eq!(server.value_of(&id), before);
}

#[test]
fn delete_with_yes() {
    let server = Server::demo();
    let id = server.id_of("Old checkout widget");
    let run = server.rtctl(&["tokens", "delete", &id, "--yes"]);
    assert_snapshot!("delete_yes", run.snapshot());
    server.token(&id).expect(404);
}

#[test]
fn deleting_several_reports_each_and_fails_if_any_failed() {
    let server = Server::demo();
    let a = server.id_of("Old checkout widget");
    let b = server.id_of("Mobile app");
    let run = server.rtctl(&[
        "tokens",
        "delete",
        &a,
        "ct_0000000000000000",
        &b,
        "--yes",
        "--json",
        // One at a time, so the notes on stderr come in a fixed order for the snapshot.
        "--concurrency",
        "1",
    ]);
    run.expect(1);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 3);
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[1]["ok"], false);
    assert!(results[1]["error"].as_str().unwrap().contains("404"));
    assert_eq!(results[2]["ok"], true);
    assert_snapshot!(
        "delete_several_one_unknown",
        run.snapshot_naming(&[(&a, "[OLD]"), (&b, "[MOBILE]")])
    );
    server.token(&a).expect(404);
    server.token(&b).expect(404);
}

#[test]
fn rotate_prints_the_new_value_in_each_format() {
    let server = Server::demo();
    let id = server.id_of("Marketing site widget");
    let old = server.value_of(&id);
    let run = server.rtctl(&["tokens", "rotate", &id, "--yes"]);
    assert_snapshot!("rotate_yes", run.snapshot());
    let new = server.value_of(&id);
    assert_ne!(new, old);
    assert_eq!(run.stdout, format!("{new}\n"));

    let run = server.rtctl(&[
        "tokens",
        "rotate",
        &id,
        "--yes",
        "--format",
        "env",
        "--env-var",
        "WIDGET_TOKEN",
    ]);
    assert_eq!(
        run.expect(0).stdout,
        format!("WIDGET_TOKEN={}\n", server.value_of(&id))
    );

    let run = server.rtctl(&["tokens", "rotate", &id, "--yes", "--json"]);
    let results = run.expect(0).json();
    assert_eq!(
        results,
        json!([{"id": id, "name": "Marketing site widget", "ok": true, "value": server.value_of(&id)}])
    );

    let other = server.id_of("Docs assistant");
    server
        .rtctl(&["tokens", "rotate", &id, &other, "--yes", "--format", "env"])
        .expect(2);
    server
        .rtctl(&[
            "tokens",
            "rotate",
            &id,
            "--yes",
            "--format",
            "env",
            "--env-var",
            "1BAD",
        ])
        .expect(2);
}

// ---- conversations ----------------------------------------------------------------------

#[test]
fn conversations_filter_limit_and_json() {
    let server = Server::demo();
    let id = server.id_of("Marketing site widget");
    let run = server.rtctl(&["tokens", "conversations", &id]);
    assert_snapshot!("conversations_tsv", run.snapshot());
    assert_eq!(
        server
            .rtctl(&["tokens", "conversations", &id, "--limit", "1"])
            .stdout
            .lines()
            .count(),
        1
    );
    let none = server.rtctl(&[
        "tokens",
        "conversations",
        &id,
        "--flow",
        "flow_other",
        "--json",
    ]);
    assert_eq!(none.expect(0).stdout, "[]\n");
    let all = server
        .rtctl(&["tokens", "conversations", &id, "--all", "--json"])
        .expect(0)
        .json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let filtered = server.journal();
    assert!(filtered.iter().any(|r| r.ends_with("/conversations")));
}

// ---- authentication and failures --------------------------------------------------------

#[test]
fn a_missing_or_rejected_key_exits_4() {
    let server = Server::demo();
    let run = server.rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_KEY", "")]);
    assert_snapshot!("no_key", run.snapshot());
    let run = server.rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_KEY", "rt_test_wrong")]);
    assert_snapshot!("bad_key", run.snapshot());
    assert!(
        !run.stderr.contains("rt_test_wrong"),
        "the key is never printed"
    );
}

#[test]
fn a_read_only_key_can_read_but_writes_exit_4() {
    let server = Server::with(Config {
        read_only_keys: vec!["rt_test_reader".into()],
        ..Config::default()
    });
    let reader = [("RUNTYPE_API_KEY", "rt_test_reader")];
    server.rtctl_env(&["tokens", "list"], &reader).expect(0);
    let id = server.id_of("Mobile app");
    let mut refusals = Transcript::naming(&[(&id, "[MOBILE]")]);
    for args in [
        vec![
            "tokens",
            "create",
            "--name",
            "x",
            "--origin",
            "https://a.com",
            "--flow",
            "f",
        ],
        vec!["tokens", "update", &id, "--name", "x"],
        vec!["tokens", "rotate", &id, "--yes"],
        vec!["tokens", "delete", &id, "--yes"],
    ] {
        let run = server.rtctl_env(&args, &reader);
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        refusals.add(&args, &run);
    }
    assert_snapshot!("read_only_key_writes", refusals.text());
    server.token(&id).expect(200);
}

#[test]
fn server_errors_garbage_and_timeouts_exit_1() {
    // One attempt each (--retries 0): what a failure looks like. Retries are tested in faults.rs.
    let server = Server::demo();
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "status": 500}));
    let once = ["tokens", "list", "--retries", "0"];
    assert_snapshot!("server_500", server.rtctl(&once).snapshot());
    server.fault(
        json!({"method": "GET", "path": "/v1/client-tokens", "status": 502, "garbage": true}),
    );
    assert_snapshot!("proxy_html", server.rtctl(&once).snapshot());
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "garbage": true}));
    assert_snapshot!("garbage_200", server.rtctl(&once).snapshot());
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": 3000}));
    let run = server.rtctl(&["tokens", "list", "--timeout", "1", "--retries", "0"]);
    assert_snapshot!("timeout", run.snapshot());
}

#[test]
fn a_server_that_is_not_there_exits_1() {
    let closed = crate::support::RefusedPort::new();
    let url = closed.url.clone();
    let server = Server::empty();
    let run = server.rtctl_env(&["tokens", "list"], &[("RUNTYPE_API_URL", &url)]);
    run.expect(1);
    assert_snapshot!("connection_refused", run.snapshot());
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let server = Server::empty();
    let run = server.rtctl_env(
        &["tokens", "list"],
        &[("RUNTYPE_API_URL", "http://api.example.com")],
    );
    assert_snapshot!("plain_http_refused", run.snapshot());
}

#[test]
fn verbose_logs_requests_without_the_key() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "list", "-v"]);
    run.expect(0);
    assert_snapshot!("list_verbose", run.snapshot());
    assert!(!run.stderr.contains(&server.key));
    let _ = server.api(Method::GET, "/v1/client-tokens", None);
}

/// A name already held: the token is created (a name is no key), with a warning naming the
/// holder, from one whole-account read; a new name reads the list once and says nothing.
#[test]
fn create_warns_when_the_name_is_taken_after_one_read_of_the_account() {
    let server = crate::harness::Server::demo();
    let before = server.journal().len();
    let args = [
        "tokens",
        "create",
        "--name",
        "Docs assistant",
        "--origin",
        "https://docs.example.com",
        "--flow",
        "flow_support_01",
    ];
    let run = server.rtctl(&args);
    run.expect(0);
    assert!(
        run.stderr.contains(
            "warning: the account already has a token named \"Docs assistant\" (ct_0d3e00000000a002)"
        ),
        "{}",
        run.stderr
    );
    let reads: Vec<String> = server.journal()[before..]
        .iter()
        .filter(|r| r.starts_with("GET /v1/client-tokens") && !r.contains("/ct_"))
        .cloned()
        .collect();
    assert_eq!(reads.len(), 1, "one whole-account read: {reads:?}");
    assert_eq!(server.tokens_named("Docs assistant").len(), 2);

    let mut fresh = args;
    fresh[3] = "A name nobody has";
    let run = server.rtctl(&fresh);
    run.expect(0);
    assert!(!run.stderr.contains("already has"), "{}", run.stderr);

    // A failed read does not stop the create.
    server.fault(serde_json::json!({"method": "GET", "path": "/v1/client-tokens", "status": 500, "count": 1}));
    fresh[3] = "Made while the list fails";
    let mut no_retry = fresh.to_vec();
    no_retry.extend(["--retries", "0"]);
    server.rtctl(&no_retry).expect(0);
    assert_eq!(server.tokens_named("Made while the list fails").len(), 1);

    // A read told to wait (429, a minute) is not retried: the check is advice, and the
    // create never waits for it (with the usual retries, this run would take minutes).
    server.fault(serde_json::json!({"method": "GET", "path": "/v1/client-tokens", "status": 429, "retryAfter": "60", "count": 1}));
    let before = server.journal().len();
    fresh[3] = "Made while the list is throttled";
    let run = server.rtctl(&fresh);
    run.expect(0);
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    let reads = server.journal()[before..]
        .iter()
        .filter(|r| r.starts_with("GET /v1/client-tokens") && !r.contains("/ct_"))
        .count();
    assert_eq!(reads, 1, "tried once: {:?}", server.journal());
    assert_eq!(
        server
            .tokens_named("Made while the list is throttled")
            .len(),
        1
    );
    // A list that does not answer (held until a thousand more requests) never holds the new
    // value back once the token exists: the run waits for it only the world's advice
    // timeout, here none.
    server.fault(serde_json::json!({"method": "GET", "path": "/v1/client-tokens", "lateAfter": 1000, "count": 1}));
    fresh[3] = "Made while the list hangs";
    let mut verbose = fresh.to_vec();
    verbose.push("-v");
    let run = server
        .invocation(&verbose, &[])
        .world(|w| w.timeouts.advice = std::time::Duration::ZERO)
        .run();
    run.expect(0);
    assert!(run.stdout.starts_with("ct_test_"), "{}", run.stdout);
    assert!(!run.stderr.contains("already has"), "{}", run.stderr);
    // Given up at once, not after the request timeout.
    assert!(
        run.stderr.contains(
            "could not check whether the name is taken: the server did not answer within 0s"
        ),
        "{}",
        run.stderr
    );
}
