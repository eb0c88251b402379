//! `rtctl origins list|add|remove|check` against the emulator, and a property test that
//! `origins check` agrees with the emulator's own admission in `POST /v1/client/init`.

use proptest::prelude::*;
use serde_json::json;

use crate::harness::Server;
use crate::prompts::answer_prompt;

fn origins_of(server: &Server, id: &str) -> Vec<String> {
    server.token(id).expect(200)["clientToken"]["allowedOrigins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

fn writes(server: &Server) -> usize {
    server
        .journal()
        .iter()
        .filter(|line| line.starts_with("PUT "))
        .count()
}

/// A token with the given origins and environment; returns its id.
fn token(server: &Server, origins: &[&str], environment: &str) -> String {
    server.create(
        "Origins test",
        json!({"allowedOrigins": origins, "environment": environment}),
    )
}

#[test]
fn list_prints_one_origin_per_line_or_a_table_with_kinds() {
    let server = Server::demo();
    let id = server.id_of("Legacy help widget");
    let piped = server.rtctl(&["origins", "list", &id]);
    assert_eq!(piped.expect(0).stdout, "example.org\n*.example.org\n");

    let table = server.rtctl(&["origins", "list", &id, "-o", "table"]);
    let lines: Vec<&str> = table.expect(0).stdout.lines().collect();
    assert!(
        lines[0].contains("ORIGIN") && lines[0].contains("KIND"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("example.org") && lines[1].ends_with("bare host"),
        "{lines:?}"
    );

    let id = server.id_of("Mobile app");
    let json = server
        .rtctl(&["origins", "list", &id, "--json"])
        .expect(0)
        .json();
    assert_eq!(json, json!([{"origin": "native", "kind": "native"}]));

    server
        .rtctl(&["origins", "list", "ct_0000000000000000"])
        .expect(5);
}

#[test]
fn add_normalises_writes_only_origins_and_is_idempotent() {
    let server = Server::empty();
    let id = token(&server, &["https://app.example.com"], "live");
    let before = server.token(&id).expect(200)["clientToken"].clone();

    let run = server.rtctl(&[
        "origins",
        "add",
        &id,
        "https://WWW.Example.com/",
        "https://App.Example.com",
    ]);
    run.expect(0);
    assert_eq!(
        run.stdout,
        "  https://app.example.com\n+ https://www.example.com\n"
    );
    assert!(
        run.stderr
            .contains("https://app.example.com is already allowed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("verified by reading it back"),
        "{}",
        run.stderr
    );
    let after = server.token(&id).expect(200)["clientToken"].clone();
    assert_eq!(
        origins_of(&server, &id),
        ["https://app.example.com", "https://www.example.com"]
    );
    for field in ["name", "flowIds", "environment", "isActive", "tokenHint"] {
        assert_eq!(before[field], after[field], "{field} is untouched");
    }

    let puts = writes(&server);
    let again = server.rtctl(&["origins", "add", &id, "https://www.example.com:443"]);
    again.expect(0);
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    assert!(
        again.stderr.contains("already allowed; nothing to add"),
        "{}",
        again.stderr
    );
    assert_eq!(writes(&server), puts, "a no-op writes nothing");

    let json = server
        .rtctl(&["origins", "add", &id, "https://docs.example.com", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["added"], json!(["https://docs.example.com"]));
    assert_eq!(json["after"].as_array().unwrap().len(), 3);
}

#[test]
fn a_bare_host_is_accepted_with_a_note() {
    let server = Server::empty();
    let id = token(&server, &["https://app.example.com"], "test");
    let run = server.rtctl(&["origins", "add", &id, "Example.org:8080"]);
    run.expect(0);
    assert!(
        run.stderr.contains("bare host") && run.stderr.contains("https://example.org"),
        "{}",
        run.stderr
    );
    assert!(origins_of(&server, &id).contains(&"example.org:8080".to_string()));
}

#[test]
fn dry_run_shows_the_difference_and_writes_nothing() {
    let server = Server::empty();
    let id = token(
        &server,
        &["https://a.example.com", "https://b.example.com"],
        "live",
    );
    let puts = writes(&server);
    let add = server.rtctl(&["origins", "add", &id, "https://c.example.com", "--dry-run"]);
    add.expect(0);
    assert_eq!(
        add.stdout,
        "  https://a.example.com\n  https://b.example.com\n+ https://c.example.com\n"
    );
    assert!(
        add.stderr.contains("Dry run: nothing was changed"),
        "{}",
        add.stderr
    );
    let remove = server.rtctl(&[
        "origins",
        "remove",
        &id,
        "https://A.example.com/",
        "--dry-run",
    ]);
    remove.expect(0);
    assert_eq!(
        remove.stdout,
        "- https://a.example.com\n  https://b.example.com\n"
    );
    let json = server
        .rtctl(&[
            "origins",
            "remove",
            &id,
            "https://a.example.com",
            "--dry-run",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(json["dryRun"], true);
    assert_eq!(json["changed"], false);
    assert_eq!(json["after"], json!(["https://b.example.com"]));
    assert_eq!(writes(&server), puts);
    assert_eq!(origins_of(&server, &id).len(), 2);
}

#[test]
fn remove_takes_origins_away_and_absent_ones_are_a_no_op() {
    let server = Server::empty();
    let id = token(
        &server,
        &[
            "https://a.example.com",
            "http://localhost:3000",
            "https://b.example.com",
        ],
        "test",
    );
    let run = server.rtctl(&[
        "origins",
        "remove",
        &id,
        "HTTP://LOCALHOST:3000",
        "https://nope.example.com",
    ]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("https://nope.example.com is not among the allowed origins"),
        "{}",
        run.stderr
    );
    assert_eq!(
        origins_of(&server, &id),
        ["https://a.example.com", "https://b.example.com"]
    );

    let puts = writes(&server);
    let noop = server.rtctl(&["origins", "remove", &id, "https://nope.example.com"]);
    noop.expect(0);
    assert_eq!(writes(&server), puts);
}

#[test]
fn the_last_origin_cannot_be_removed() {
    let server = Server::empty();
    let id = token(&server, &["https://a.example.com"], "test");
    for extra in [&[][..], &["--dry-run"][..], &["--yes"][..]] {
        let mut args = vec!["origins", "remove", id.as_str(), "https://a.example.com"];
        args.extend_from_slice(extra);
        let run = server.rtctl(&args);
        run.expect(2);
        assert!(
            run.stderr.contains("refusing to remove the last origin"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains(&format!("rtctl tokens update {id} --deactivate")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(origins_of(&server, &id), ["https://a.example.com"]);
}

#[test]
fn invalid_origins_are_refused_with_the_reason_before_any_request() {
    let server = Server::empty();
    let id = token(&server, &["https://a.example.com"], "test");
    let before = server.journal().len();
    for (input, reason) in [
        ("https://a.example.com/path", "no path"),
        ("https://a.example.com?x=1", "no query string"),
        ("https://a.example.com#top", "no fragment"),
        ("https://user:pw@a.example.com", "credentials"),
        ("https://a example.com", "spaces"),
        ("", "cannot be empty"),
        ("https://a.example.com:99999", "not a valid port"),
        ("https://a.*.example.com", "wildcard"),
    ] {
        for verb in ["add", "remove"] {
            let run = server.rtctl(&["origins", verb, &id, input]);
            run.expect(2);
            assert!(run.stderr.contains(reason), "{input:?}: {}", run.stderr);
        }
    }
    assert_eq!(server.journal().len(), before, "nothing reached the API");
}

#[test]
fn star_or_native_on_a_live_token_needs_a_yes() {
    let server = Server::empty();
    let live = token(&server, &["https://a.example.com"], "live");
    for origin in ["*", "native"] {
        let run = server.rtctl(&["origins", "add", &live, origin]);
        run.expect(2);
        assert!(
            run.stderr.contains("without confirmation"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    }
    assert_eq!(origins_of(&server, &live), ["https://a.example.com"]);
    let dry = server.rtctl(&["origins", "add", &live, "*", "--dry-run"]);
    dry.expect(0);

    let yes = server.rtctl(&["origins", "add", &live, "*", "--yes"]);
    yes.expect(0);
    assert!(
        yes.stderr.contains("warning"),
        "the API's security warning is shown: {}",
        yes.stderr
    );
    assert!(origins_of(&server, &live).contains(&"*".to_string()));

    // A test token is for testing: no question.
    let test = token(&server, &["https://a.example.com"], "test");
    server.rtctl(&["origins", "add", &test, "native"]).expect(0);

    // Removing from a live token breaks sites: it asks too.
    let run = server.rtctl(&["origins", "remove", &live, "*"]);
    run.expect(2);
    server
        .rtctl(&["origins", "remove", &live, "*", "--yes"])
        .expect(0);
}

#[test]
fn the_prompt_names_the_risk_and_no_changes_nothing() {
    let server = Server::empty();
    let live = token(&server, &["https://a.example.com"], "live");
    let (code, screen) = answer_prompt(&server, &["origins", "add", &live, "native"], "n");
    assert_eq!(code, 3, "{screen}");
    assert!(
        screen.contains("effectively no origin protection"),
        "{screen}"
    );
    assert!(screen.contains("live token"), "{screen}");
    assert_eq!(origins_of(&server, &live), ["https://a.example.com"]);

    let (code, screen) = answer_prompt(&server, &["origins", "add", &live, "*"], "y");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("lets any website use this token"),
        "{screen}"
    );
    assert!(origins_of(&server, &live).contains(&"*".to_string()));
}

#[test]
fn a_concurrent_change_is_detected_by_the_read_back() {
    let server = Server::empty();
    let id = token(&server, &["https://a.example.com"], "test");
    // Both of rtctl's reads of the token are slowed down; between its write and its read-back
    // another client replaces the origins.
    server.fault(json!({
        "method": "GET",
        "path": format!("/v1/client-tokens/{id}"),
        "delayMs": 1500,
        "count": 2,
    }));
    std::thread::scope(|scope| {
        let rtctl = scope.spawn(|| server.rtctl(&["origins", "add", &id, "https://b.example.com"]));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let written = server.tokens().iter().any(|t| {
                t["id"] == id.as_str() && t["allowedOrigins"].as_array().unwrap().len() == 2
            });
            if written {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "rtctl never wrote");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        server
            .api(
                reqwest::Method::PUT,
                &format!("/v1/client-tokens/{id}"),
                Some(json!({"allowedOrigins": ["https://other.example.com"]})),
            )
            .expect(200);
        let run = rtctl.join().unwrap();
        run.expect(1);
        assert!(
            run.stderr.contains("changed while rtctl was updating them"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("https://other.example.com"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("Updated"),
            "no success is claimed: {}",
            run.stderr
        );
    });
}

#[test]
fn check_names_the_admitting_entry_or_explains_the_miss() {
    let server = Server::empty();
    let live = token(
        &server,
        &[
            "https://example.com",
            "https://*.shop.example.com",
            "https://app.example.com:8443",
        ],
        "live",
    );
    let admitted = server.rtctl(&["origins", "check", &live, "https://eu.shop.example.com"]);
    admitted.expect(0);
    assert_eq!(
        admitted.stdout,
        "admitted: https://eu.shop.example.com matches 'https://*.shop.example.com' (wildcard)\n"
    );

    for (origin, reason) in [
        ("https://www.example.com", "is the apex domain"),
        ("https://app.example.com", "admits port 8443"),
        ("http://example.com", "is for https://"),
        ("https://shop.example.com", "not shop.example.com itself"),
        ("http://localhost:3000", "but this is a live token"),
        ("https://unrelated.org", "no allowed origin is close"),
        ("native", "only a 'native' entry"),
    ] {
        let run = server.rtctl(&["origins", "check", &live, origin]);
        run.expect(1);
        assert!(
            run.stdout.starts_with("not admitted: "),
            "{origin}: {}",
            run.stdout
        );
        assert!(run.stdout.contains(reason), "{origin}: {}", run.stdout);
        assert!(
            !run.stderr.contains("error:"),
            "an answer, not an error: {}",
            run.stderr
        );
    }
    let hint = server.rtctl(&["origins", "check", &live, "https://www.example.com"]);
    assert!(
        hint.stderr
            .contains(&format!("rtctl origins add {live} https://www.example.com")),
        "{}",
        hint.stderr
    );

    let test = token(&server, &["https://app.example.com"], "test");
    let local = server.rtctl(&["origins", "check", &test, "http://localhost:5173", "--json"]);
    let json = local.expect(0).json();
    assert_eq!(json["admitted"], true);
    assert_eq!(json["testLocalhost"], true);

    let url = server.rtctl(&[
        "origins",
        "check",
        &test,
        "https://APP.example.com/pricing?plan=pro#faq",
    ]);
    url.expect(0);
    assert!(
        url.stderr
            .contains("Checking the origin https://app.example.com"),
        "{}",
        url.stderr
    );

    server
        .rtctl(&["origins", "check", &test, "not an origin"])
        .expect(2);
    server
        .rtctl(&["origins", "check", "ct_0000000000000000", "https://a.com"])
        .expect(5);
}

// ---- the same rules on both sides -----------------------------------------------------------

fn entry_strategy() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["http", "https"]);
    let host = prop::sample::select(vec![
        "example.com",
        "www.example.com",
        "app.example.com",
        "a.b.example.com",
        "localhost",
        "127.0.0.1",
    ]);
    let base = prop::sample::select(vec!["example.com", "b.example.com", "example.org"]);
    let port = prop::sample::select(vec!["", ":80", ":443", ":3000", ":8443"]);
    prop_oneof![
        (scheme.clone(), host.clone(), port.clone()).prop_map(|(s, h, p)| format!("{s}://{h}{p}")),
        (scheme, base.clone(), port.clone()).prop_map(|(s, b, p)| format!("{s}://*.{b}{p}")),
        (host, port.clone()).prop_map(|(h, p)| format!("{h}{p}")),
        (base, port).prop_map(|(b, p)| format!("*.{b}{p}")),
        Just("*".to_string()),
        Just("native".to_string()),
    ]
}

fn origin_strategy() -> impl Strategy<Value = Option<String>> {
    let scheme = prop::sample::select(vec!["http", "https"]);
    let host = prop::sample::select(vec![
        "example.com",
        "www.example.com",
        "app.example.com",
        "x.b.example.com",
        "a.b.example.com",
        "example.org",
        "localhost",
        "127.0.0.1",
    ]);
    let port = prop::sample::select(vec!["", ":80", ":443", ":3000", ":8443"]);
    prop_oneof![
        6 => (scheme, host, port).prop_map(|(s, h, p)| Some(format!("{s}://{h}{p}"))),
        1 => Just(None),
    ]
}

fn init_status(server: &Server, value: &str, origin: Option<&str>) -> u16 {
    let url = format!("{}/v1/client/init", server.url);
    server.runtime.block_on(async {
        let mut request = crate::support::http()
            .post(url)
            .json(&json!({ "token": value }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn check_agrees_with_the_emulators_admission(
        entries in prop::collection::vec(entry_strategy(), 1..4),
        origin in origin_strategy(),
        live in any::<bool>(),
    ) {
        let server = SERVER.with(|s| s.clone());
        let environment = if live { "live" } else { "test" };
        let id = server.create("Property", json!({"allowedOrigins": entries, "environment": environment}));
        let value = server.value_of(&id);
        let status = init_status(&server, &value, origin.as_deref());
        prop_assert!(status == 200 || status == 403, "init answered {}", status);
        let probe = origin.clone().unwrap_or_else(|| "native".into());
        let check = server.rtctl(&["origins", "check", &id, &probe]);
        prop_assert_eq!(
            check.code == 0,
            status == 200,
            "entries {:?}, origin {:?}, {}: init {} but check said {}",
            entries, origin, environment, status, check.stdout
        );
        prop_assert!(check.code == 0 || check.code == 1, "{:?}", check);
    }
}

thread_local! {
    /// One emulator for all the cases of the property test (each case makes its own token).
    static SERVER: std::rc::Rc<Server> = std::rc::Rc::new(Server::empty());
}
