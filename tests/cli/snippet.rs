//! `rtctl tokens snippet`: the widget's embed code for a token, against the emulator.

use insta::assert_snapshot;
use serde_json::json;

use crate::harness::{Server, Transcript};

const STAGING: &str = "ct_0d3e00000000a003";
const DOCS: &str = "ct_0d3e00000000a002";
const LEGACY: &str = "ct_0d3e00000000a006";

#[test]
fn each_format_embeds_the_current_value_the_api_url_and_the_flow() {
    let server = Server::demo();
    let mut formats = Transcript::default();
    for args in [
        &["tokens", "snippet", STAGING][..],
        &["tokens", "snippet", DOCS, "--format", "esm"],
        &["tokens", "snippet", DOCS, "--format", "react"],
        &["tokens", "snippet", STAGING, "--flow", "flow_sales_02"],
        &[
            "tokens",
            "snippet",
            DOCS,
            "--widget-url",
            "https://cdn.runtype.com/persona/4.24.0/install.global.js",
        ],
    ] {
        let run = server.rtctl(args);
        run.expect(0);
        formats.add(args, &run);
    }
    assert_snapshot!("snippet_formats", formats.text());
    // The value is the token's current one: after a rotation, the new one.
    let before = server.value_of(DOCS);
    let first = server.rtctl(&["tokens", "snippet", DOCS]);
    assert!(
        first
            .stdout
            .contains(&format!("data-runtype-token=\"{before}\""))
    );
    server.rtctl(&["tokens", "rotate", DOCS, "--yes"]).expect(0);
    let after = server.value_of(DOCS);
    assert_ne!(before, after);
    let second = server.rtctl(&["tokens", "snippet", DOCS]);
    assert!(
        second
            .stdout
            .contains(&format!("data-runtype-token=\"{after}\""))
    );
    assert!(
        second
            .stdout
            .contains(&format!("data-api-url=\"{}\"", server.url))
    );
}

#[test]
fn snippets_that_cannot_be_made_say_why() {
    let server = Server::demo();
    let mut refusals = Transcript::default();
    for (args, code) in [
        (&["tokens", "snippet", STAGING, "--json"][..], 2),
        (
            &[
                "tokens",
                "snippet",
                STAGING,
                "--format",
                "esm",
                "--widget-url",
                "https://x.example/i.js",
            ],
            2,
        ),
        (
            &[
                "tokens",
                "snippet",
                STAGING,
                "--widget-url",
                "javascript:alert(1)",
            ],
            2,
        ),
        (&["tokens", "snippet", STAGING, "--flow", "flow_other"], 2),
        (&["tokens", "snippet", STAGING, "--format", "vue"], 2),
        (&["tokens", "snippet", "ct_00000000000000ff"], 5),
        (&["tokens", "snippet", LEGACY], 1),
    ] {
        let run = server.rtctl(args);
        run.expect(code);
        assert_eq!(run.stdout, "", "{args:?}");
        refusals.add(args, &run);
    }
    assert_snapshot!("snippet_refusals", refusals.text());
}

#[test]
fn an_id_the_service_calls_invalid_is_a_usage_error_whichever_reply_comes_first() {
    let server = Server::demo();
    // The token's own reply held back, so the value's 400 comes first.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens/*", "delayMs": 300}));
    let run = server.rtctl(&["tokens", "snippet", "abc"]);
    run.expect(2);
    assert!(
        run.stderr.contains("Invalid client token ID"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("no readable value"), "{}", run.stderr);
    assert!(!run.stderr.contains("tokens rotate"), "{}", run.stderr);
    // And when the token's reply comes first.
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens/*/token", "delayMs": 300}));
    server.rtctl(&["tokens", "snippet", "abc"]).expect(2);
}

#[test]
fn a_value_that_could_steer_a_terminal_is_not_written_and_states_get_a_note() {
    let server = Server::demo();
    // A whole record (the contract checks every reply), with a value that reverses text.
    let mut body = server.token(STAGING).expect(200)["clientToken"].clone();
    body.as_object_mut().unwrap().remove("conversationCount");
    body["id"] = json!("ct_00000000000000aa");
    body["name"] = json!("Odd");
    body["tokenValue"] = json!("ct_test_abc\u{202e}fedcba");
    server
        .api(reqwest::Method::POST, "/__emulator/tokens", Some(body))
        .expect(201);
    let run = server.rtctl(&["tokens", "snippet", "ct_00000000000000aa"]);
    run.expect(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("bidirectional"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{202e}'), "{}", run.stderr);

    // An inactive token's embed is refused by the widget until it is activated.
    server
        .rtctl(&["tokens", "update", DOCS, "--deactivate", "--yes"])
        .expect(0);
    let run = server.rtctl(&["tokens", "snippet", DOCS]);
    run.expect(0);
    assert!(
        run.stderr.contains(&format!(
            "{DOCS} is inactive: the widget refuses this embed"
        )),
        "{}",
        run.stderr
    );
    // A retiring token's embed stops working when it is retired: embed the successor's.
    server
        .rtctl(&["tokens", "update", DOCS, "--activate"])
        .expect(0);
    server
        .rtctl(&["tokens", "rotate", DOCS, "--overlap", "--yes"])
        .expect(0);
    let run = server.rtctl(&["tokens", "snippet", DOCS]);
    run.expect(0);
    assert!(
        run.stderr
            .contains(&format!("{DOCS} is retiring (rolled over to ct_"))
            && run
                .stderr
                .contains("embed the successor's instead: rtctl tokens snippet ct_"),
        "{}",
        run.stderr
    );
}
