//! `rtctl origins list|add|remove|check` against the emulator, and a property test that
//! `origins check` agrees with the emulator's own admission in `POST /v1/client/init`.

use insta::assert_snapshot;
use proptest::prelude::*;
use serde_json::json;

use crate::harness::{Server, Transcript};
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
    piped.expect(0);
    assert_snapshot!("list_piped", piped.snapshot());

    let table = server.rtctl(&["origins", "list", &id, "-o", "table"]);
    table.expect(0);
    assert_snapshot!("list_table", table.snapshot());

    let id = server.id_of("Mobile app");
    let json = server
        .rtctl(&["origins", "list", &id, "--json"])
        .expect(0)
        .json();
    assert_eq!(json, json!([{"origin": "native", "kind": "native"}]));

    let unknown = server.rtctl(&["origins", "list", "ct_0000000000000000"]);
    unknown.expect(5);
    assert_snapshot!("list_unknown", unknown.snapshot());
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
    assert_snapshot!("add_normalised", run.snapshot());
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
    assert_snapshot!("add_already_allowed", again.snapshot());
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
    assert_snapshot!("add_bare_host", run.snapshot());
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
    assert_snapshot!("add_dry_run", add.snapshot());
    let remove = server.rtctl(&[
        "origins",
        "remove",
        &id,
        "https://A.example.com/",
        "--dry-run",
    ]);
    remove.expect(0);
    assert_snapshot!("remove_dry_run", remove.snapshot());
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
    assert_snapshot!("remove_some_absent", run.snapshot());
    assert_eq!(
        origins_of(&server, &id),
        ["https://a.example.com", "https://b.example.com"]
    );

    let puts = writes(&server);
    let noop = server.rtctl(&["origins", "remove", &id, "https://nope.example.com"]);
    noop.expect(0);
    assert_snapshot!("remove_all_absent", noop.snapshot());
    assert_eq!(writes(&server), puts);
}

#[test]
fn the_last_origin_cannot_be_removed() {
    let server = Server::empty();
    let id = token(&server, &["https://a.example.com"], "test");
    // The hint names this token, and neither --dry-run nor --yes changes the answer.
    let mut refusals = Transcript::naming(&[(&id, "[TOKEN]")]);
    for extra in [&[][..], &["--dry-run"][..], &["--yes"][..]] {
        let mut args = vec!["origins", "remove", id.as_str(), "https://a.example.com"];
        args.extend_from_slice(extra);
        let run = server.rtctl(&args);
        run.expect(2);
        refusals.add(&args, &run);
    }
    assert_snapshot!("remove_last_origin", refusals.text());
    assert_eq!(origins_of(&server, &id), ["https://a.example.com"]);
}

#[test]
fn invalid_origins_are_refused_with_the_reason_before_any_request() {
    let server = Server::empty();
    let id = token(&server, &["https://a.example.com"], "test");
    let before = server.journal().len();
    let mut refusals = Transcript::default();
    for input in [
        "https://a.example.com/path",
        "https://a.example.com?x=1",
        "https://a.example.com#top",
        "https://user:pw@a.example.com",
        "https://a example.com",
        "",
        "https://a.example.com:99999",
        "https://a.*.example.com",
    ] {
        for verb in ["add", "remove"] {
            let args = ["origins", verb, &id, input];
            let run = server.rtctl(&args);
            run.expect(2);
            refusals.add(&args, &run);
        }
    }
    assert_snapshot!("invalid_origins", refusals.text());
    assert_eq!(server.journal().len(), before, "nothing reached the API");
}

#[test]
fn star_or_native_on_a_live_token_needs_a_yes() {
    let server = Server::empty();
    let live = token(&server, &["https://a.example.com"], "live");
    let mut refusals = Transcript::default();
    for origin in ["*", "native"] {
        let args = ["origins", "add", &live, origin];
        let run = server.rtctl(&args);
        run.expect(2);
        refusals.add(&args, &run);
    }
    assert_snapshot!("add_risky_to_live_refused", refusals.text());
    assert_eq!(origins_of(&server, &live), ["https://a.example.com"]);
    let dry = server.rtctl(&["origins", "add", &live, "*", "--dry-run"]);
    dry.expect(0);
    assert_snapshot!("add_star_to_live_dry_run", dry.snapshot());

    // The API's security warning is shown.
    let yes = server.rtctl(&["origins", "add", &live, "*", "--yes"]);
    yes.expect(0);
    assert_snapshot!("add_star_to_live_yes", yes.snapshot());
    assert!(origins_of(&server, &live).contains(&"*".to_string()));

    // A test token is for testing: no question.
    let test = token(&server, &["https://a.example.com"], "test");
    server.rtctl(&["origins", "add", &test, "native"]).expect(0);

    // Removing from a live token breaks sites: it asks too.
    let run = server.rtctl(&["origins", "remove", &live, "*"]);
    run.expect(2);
    assert_snapshot!("remove_from_live_refused", run.snapshot());
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
        // The other client's origins are named, and no success is claimed.
        assert_snapshot!("add_raced_by_another_client", run.snapshot());
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
    assert_snapshot!("check_admitted_by_wildcard", admitted.snapshot());

    // Each miss is an answer on stdout, not an error, with the reason (and a hint naming the
    // token where adding an origin would help).
    let mut misses = Transcript::naming(&[(&live, "[LIVE]")]);
    for origin in [
        "https://www.example.com",
        "https://app.example.com",
        "http://example.com",
        "https://shop.example.com",
        "http://localhost:3000",
        "https://unrelated.org",
        "native",
    ] {
        let args = ["origins", "check", &live, origin];
        let run = server.rtctl(&args);
        run.expect(8);
        misses.add(&args, &run);
    }
    assert_snapshot!("check_not_admitted", misses.text());

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
    assert_snapshot!("check_a_url_checks_its_origin", url.snapshot());

    let invalid = server.rtctl(&["origins", "check", &test, "not an origin"]);
    invalid.expect(2);
    assert_snapshot!("check_not_an_origin", invalid.snapshot());
    let unknown = server.rtctl(&["origins", "check", "ct_0000000000000000", "https://a.com"]);
    unknown.expect(5);
    assert_snapshot!("check_unknown_token", unknown.snapshot());
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
        let status = server.init_status(&value, origin.as_deref());
        prop_assert!(status == 200 || status == 403, "init answered {}", status);
        let probe = origin.clone().unwrap_or_else(|| "native".into());
        let check = server.rtctl(&["origins", "check", &id, &probe]);
        prop_assert_eq!(
            check.code == 0,
            status == 200,
            "entries {:?}, origin {:?}, {}: init {} but check said {}",
            entries, origin, environment, status, check.stdout
        );
        prop_assert!(check.code == 0 || check.code == 8, "{:?}", check);
    }
}

thread_local! {
    /// One emulator for all the cases of the property test (each case makes its own token).
    static SERVER: std::rc::Rc<Server> = std::rc::Rc::new(Server::empty());
}

/// `origins check` on a token holding an IPv4 address spelt otherwise than browsers send it:
/// the fix it prints goes through (one whole-list update, since the service refuses any list
/// that still holds the entry) and the origin is admitted after. Asked about such a spelling
/// itself, it names the origin browsers send.
#[test]
fn check_on_a_list_holding_an_ipv4_spelling_prints_a_fix_that_works() {
    let server = Server::empty();
    for (id, held, asked) in [
        (
            "ct_00000000000000f1",
            ["https://0x7f.1", "https://a.example.com"],
            "https://127.0.0.1",
        ),
        (
            "ct_00000000000000f2",
            ["https://0x7f.1", "https://a.example.com"],
            "https://b.example.com",
        ),
        (
            "ct_00000000000000f3",
            ["https://*.127.1", "https://a.example.com"],
            "https://b.example.com",
        ),
    ] {
        server.insert_raw(id, json!({"allowedOrigins": held}));
        let run = server.rtctl(&["origins", "check", id, asked]);
        assert_eq!(run.code, 8, "{held:?} {asked}: {run:?}");
        let fix = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("hint: to allow it, run rtctl "))
            .unwrap_or_else(|| panic!("no fix: {}", run.stderr));
        assert!(fix.starts_with("tokens update"), "{fix}");
        let mut args = shell_words::split(fix).unwrap();
        args.push("--yes".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        server.rtctl(&args).expect(0);
        server.rtctl(&["origins", "check", id, asked]).expect(0);
    }
    // The spelling itself: no browser sends it, so the hint names what browsers do send.
    let id = token(&server, &["https://a.example.com"], "live");
    let run = server.rtctl(&["origins", "check", &id, "https://0x7f.1"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("hint: browsers send https://127.0.0.1 for it: check that origin"),
        "{}",
        run.stderr
    );
}
