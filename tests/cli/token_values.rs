//! A leaked value names its token: wherever an id is taken, a whole value is resolved to the
//! token that holds it, said on stderr, and never echoed back whole.

use serde_json::json;

use crate::harness::Server;

const STAGING: &str = "ct_0d3e00000000a003";

#[test]
fn a_value_stands_for_its_token_wherever_an_id_is_taken() {
    let server = Server::demo();
    let value = server.value_of(STAGING);
    let by_value = server.rtctl(&["tokens", "get", &value, "--json"]);
    by_value.expect(0);
    assert_eq!(by_value.json()["id"], STAGING);
    assert!(
        by_value.stderr.contains(&format!(
            "is the value of {STAGING} \"Staging playground\" (test)"
        )),
        "{}",
        by_value.stderr
    );
    assert!(
        !by_value.stderr.contains(&value),
        "never echoed whole: {}",
        by_value.stderr
    );

    for args in [
        vec!["origins", "list", value.as_str()],
        vec!["origins", "check", value.as_str(), "http://localhost:3000"],
        vec!["tokens", "conversations", value.as_str()],
        vec!["tokens", "value", value.as_str()],
    ] {
        let run = server.rtctl(&args);
        run.expect(0);
        assert!(run.stderr.contains(STAGING), "{args:?}: {}", run.stderr);
    }

    // The leak runbook: rotate what the leaked value names; the value then names nothing.
    let run = server.rtctl(&["tokens", "rotate", &value, "--yes"]);
    run.expect(0);
    assert_eq!(run.stdout.trim(), server.value_of(STAGING));
    let gone = server.rtctl(&["tokens", "get", &value]);
    gone.expect(5);
    assert!(gone.stderr.contains("already rotated?"), "{}", gone.stderr);
    assert!(!gone.stderr.contains(&value), "{}", gone.stderr);
    let hint = &value[value.len() - 4..];
    assert!(
        gone.stderr.contains(&format!("ct_test_****{hint}")),
        "{}",
        gone.stderr
    );
}

#[test]
fn masked_values_and_malformed_ids_are_usage_errors_that_say_what_ids_look_like() {
    let server = Server::demo();
    let masked = server.rtctl(&["tokens", "rotate", "ct_live_****abcd", "--yes"]);
    masked.expect(2);
    assert!(masked.stderr.contains("masked value"), "{}", masked.stderr);
    assert!(masked.stderr.contains("hint:"), "{}", masked.stderr);
    let malformed = server.rtctl(&["tokens", "get", "ct_live_not!a value"]);
    malformed.expect(2);
    assert!(!malformed.stderr.contains("not!a"), "{}", malformed.stderr);
    assert!(
        malformed.stderr.contains("an id looks like"),
        "{}",
        malformed.stderr
    );
    assert!(
        server.journal().is_empty(),
        "no request: {:?}",
        server.journal()
    );
}

#[test]
fn a_legacy_token_that_might_hold_the_value_is_named_but_never_acted_on() {
    let server = Server::empty();
    server.insert_raw(
        "ct_00000000000000f1",
        json!({"tokenValue": null, "tokenPrefix": "ct_live_", "tokenHint": "wxyz"}),
    );
    let run = server.rtctl(&[
        "tokens",
        "delete",
        "ct_live_SomeLeakedValueEndingInwxyz",
        "--yes",
    ]);
    run.expect(5);
    assert!(
        run.stderr.contains("possibly ct_00000000000000f1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("SomeLeaked"), "{}", run.stderr);
    server.token("ct_00000000000000f1").expect(200);
}

#[test]
fn a_value_named_twice_is_acted_on_once_and_never_echoed() {
    let server = Server::demo();
    let value = server.value_of(STAGING);
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        &value,
        STAGING,
        &value,
        "--yes",
        "--dry-run",
    ]);
    run.expect(0);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("{STAGING} is named more than once")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&value), "{}", run.stderr);
}

#[test]
fn an_id_the_service_calls_invalid_gets_the_shapes_hint() {
    let server = Server::demo();
    for args in [
        &["tokens", "get", "ct_nothex"][..],
        &["tokens", "value", "ct_nothex"],
        &["tokens", "rotate", "ct_nothex", "--yes"],
    ] {
        let run = server.rtctl(args);
        run.expect(2);
        assert!(
            run.stderr.contains("Invalid client token ID"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("hint: an id looks like"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
