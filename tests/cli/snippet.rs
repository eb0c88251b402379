//! `rtctl tokens snippet`: the widget's embed code for a token, against the emulator.

use insta::assert_snapshot;

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
