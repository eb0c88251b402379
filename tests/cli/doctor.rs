//! `rtctl doctor`: pages served from loopback test servers, checked against the emulator,
//! covering every verdict: healthy, not admitted, rotated, legacy, inactive, a test token on a
//! public site, a flow the token does not allow, another API, no embed, redirects, an
//! oversized page, bundles, and `--probe` agreeing with the local verdict.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use serde_json::{Value, json};

use crate::harness::Server;

const STAGING: &str = "ct_0d3e00000000a003";

/// Serves `html` at `/` (and `bundle` at `/app.js`), recording the headers of each request.
fn site(
    server: &Server,
    html: String,
    bundle: Option<String>,
) -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (on_page, on_bundle) = (seen.clone(), seen.clone());
    let bundle = bundle.unwrap_or_default();
    let url = server.hostile(
        Router::new()
            .route(
                "/",
                get(move |headers: HeaderMap| {
                    on_page.lock().unwrap().push(headers);
                    let html = html.clone();
                    async move { Html(html) }
                }),
            )
            .route(
                "/app.js",
                get(move |headers: HeaderMap| {
                    on_bundle.lock().unwrap().push(headers);
                    let bundle = bundle.clone();
                    async move { ([("content-type", "text/javascript")], bundle) }
                }),
            ),
    );
    (format!("{url}/"), seen)
}

fn tag(value: &str, extra: &str) -> String {
    format!(
        r#"<!doctype html><html><body><h1>Shop</h1>
<script src="https://cdn.jsdelivr.net/npm/@runtypelabs/persona/dist/install.global.js" data-runtype-token="{value}" {extra}></script>
</body></html>"#
    )
}

fn doctor(server: &Server, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let run = server.rtctl(&all);
    let json = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.code, json)
}

fn problems(page: &Value) -> Vec<String> {
    page["embeds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["problems"].as_array().unwrap().clone())
        .map(|p| p["problem"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_healthy_script_tag_and_no_key_to_the_page() {
    let server = Server::demo();
    let value = server.value_of(STAGING);
    let (url, seen) = site(
        &server,
        tag(&value, r#"data-flow-id="flow_support_01""#),
        None,
    );
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 0, "{report:#}");
    let embed = &report[0]["embeds"][0];
    assert_eq!(embed["tokenId"], STAGING);
    assert_eq!(embed["ok"], true);
    assert!(!report.to_string().contains(&value), "the value is masked");
    {
        let headers = seen.lock().unwrap();
        assert!(
            headers.iter().all(|h| !h.contains_key("authorization")),
            "no key to the page"
        );
        assert!(
            headers[0]["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("rtctl/")
        );
    }

    // On a terminal-less pipe the report is readable text too.
    let run = server.rtctl(&["doctor", &url]);
    run.expect(0);
    assert!(
        run.stdout.contains("ok: the widget can start here"),
        "{}",
        run.stdout
    );
}

#[test]
fn inline_configuration_on_an_origin_the_token_does_not_admit() {
    let server = Server::demo();
    let live = server.id_of("Marketing site widget");
    let value = server.value_of(&live);
    let page = format!(
        "<html><body><div id=root></div><script>window.siteAgentConfig = {{ clientToken: \"{value}\", flowId: 'flow_support_01' }};</script></body></html>"
    );
    let (url, _) = site(&server, page, None);
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 8, "{report:#}");
    let found = problems(&report[0]);
    assert!(
        found.iter().any(|p| p.contains("is not admitted")),
        "{found:?}"
    );
    let fix = &report[0]["embeds"][0]["problems"][0]["fix"];
    assert!(
        fix.as_str()
            .unwrap()
            .starts_with(&format!("rtctl origins add {live} http://127.0.0.1:")),
        "{fix}"
    );
    // The fix keeps the flag that chose the account.
    let (_, flagged) = doctor(&server, &[&url, "--api-url", &server.url]);
    let fix = &flagged[0]["embeds"][0]["problems"][0]["fix"];
    let prefix = format!("rtctl --api-url {} origins add {live} ", server.url);
    assert!(fix.as_str().unwrap().starts_with(&prefix), "{fix}");

    // --probe: the service refuses too, and the verdicts agree.
    let (code, report) = doctor(&server, &[&url, "--probe"]);
    assert_eq!(code, 8);
    let embed = &report[0]["embeds"][0];
    assert_eq!(embed["probe"]["status"], 403, "{embed:#}");
    assert_eq!(embed["notes"], json!([]), "no disagreement");
}

#[test]
fn a_rotated_value_points_at_the_current_one() {
    let server = Server::demo();
    let old = server.value_of(STAGING);
    server
        .rtctl(&["tokens", "rotate", STAGING, "--yes"])
        .expect(0);
    let (url, _) = site(
        &server,
        tag(&old, r#"data-flow-id="flow_support_01""#),
        None,
    );
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 8);
    let found = problems(&report[0]);
    assert!(
        found.iter().any(|p| p.contains("no token has this value")
            && p.contains(&format!(
                "probably rotated: deploy the current value of {STAGING}"
            ))),
        "{found:?}"
    );
    assert_eq!(
        report[0]["embeds"][0]["problems"][0]["fix"],
        format!("rtctl tokens value {STAGING}")
    );
    // The service agrees: the old value is unknown to it.
    let (_, report) = doctor(&server, &[&url, "--probe"]);
    assert_eq!(report[0]["embeds"][0]["probe"]["status"], 401);
}

#[test]
fn a_legacy_token_is_named_by_prefix_and_hint() {
    let server = Server::empty();
    let value = "ct_live_0000000000000000000000000000wxyz";
    server.insert_raw(
        "ct_00000000000000f1",
        json!({"tokenValue": null, "tokenPrefix": "ct_live_", "tokenHint": "wxyz"}),
    );
    let (url, _) = site(&server, tag(value, ""), None);
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 8);
    let found = problems(&report[0]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("possibly legacy token ct_00000000000000f1")),
        "{found:?}"
    );
}

#[test]
fn inactive_tokens_flows_other_apis_and_public_test_tokens() {
    let server = Server::demo();
    let value = server.value_of(STAGING);
    // A flow the token does not allow, and an API that is not this one.
    let (url, _) = site(
        &server,
        tag(
            &value,
            r#"data-flow-id="flow_other" data-api-url="https://api.elsewhere.example""#,
        ),
        None,
    );
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 8);
    let found = problems(&report[0]);
    assert!(
        found.iter().any(|p| p.contains("the flow flow_other")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("talks to https://api.elsewhere.example")),
        "{found:?}"
    );
    // The same API as rtctl's is fine.
    let (url, _) = site(
        &server,
        tag(&value, &format!(r#"data-api-url="{}""#, server.url)),
        None,
    );
    assert_eq!(doctor(&server, &[&url]).0, 0);

    // A test token on a public site: a built page, before deploying.
    let file = server.home.path().join("index.html");
    std::fs::write(&file, tag(&value, "")).unwrap();
    let (code, report) = doctor(
        &server,
        &[
            "--html",
            file.to_str().unwrap(),
            "--origin",
            "https://staging.example.com",
        ],
    );
    assert_eq!(code, 8);
    let found = problems(&report[0]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("test token on the public site")),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|p| p.contains("not admitted")),
        "admitted: {found:?}"
    );

    // Inactive.
    server
        .rtctl(&["tokens", "update", STAGING, "--deactivate"])
        .expect(0);
    let (url, _) = site(&server, tag(&value, ""), None);
    let (code, report) = doctor(&server, &[&url, "--probe"]);
    assert_eq!(code, 8);
    assert!(
        problems(&report[0])
            .iter()
            .any(|p| p.contains("is inactive"))
    );
    assert_eq!(report[0]["embeds"][0]["probe"]["status"], 403);
}

#[test]
fn several_embeds_none_bundles_redirects_and_oversized_pages() {
    let server = Server::demo();
    let staging = server.value_of(STAGING);
    let mobile = server.value_of(&server.id_of("Mobile app"));
    // Two embeds on one page.
    let page = format!(
        "{}<script>var other = \"{mobile}\";</script>",
        tag(&staging, "")
    );
    let (url, _) = site(&server, page, None);
    let (_, report) = doctor(&server, &[&url]);
    assert_eq!(
        report[0]["embeds"].as_array().unwrap().len(),
        2,
        "{report:#}"
    );

    // None: a problem, saying what was searched.
    let (url, _) = site(&server, "<html><body>No widget</body></html>".into(), None);
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 8);
    assert!(
        report[0]["problems"][0]
            .as_str()
            .unwrap()
            .contains("no widget embed found")
    );

    // A single-page app: the value is in its same-origin bundle.
    let (url, _) = site(
        &server,
        r#"<html><body><div id="app"></div><script src="/app.js"></script></body></html>"#.into(),
        Some(format!(
            "const widget = init({{clientToken: \"{staging}\"}});"
        )),
    );
    let (code, report) = doctor(&server, &[&url]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report[0]["embeds"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("/app.js")
    );

    // A redirect to another origin: the origin after it is the one checked.
    let (target, _) = site(&server, tag(&staging, ""), None);
    let to = target.clone();
    let redirecting = server.hostile(Router::new().route(
        "/",
        get(move || {
            let to = to.clone();
            async move { Redirect::to(&to) }
        }),
    ));
    let (code, report) = doctor(&server, &[&format!("{redirecting}/")]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        format!("{}/", report[0]["origin"].as_str().unwrap()),
        target
    );
    assert!(report[0]["notes"].to_string().contains("redirected"));

    // Too big to read: the page cannot be checked (exit 1), and says why.
    let huge = server.hostile(Router::new().route(
        "/",
        get(|| async { (StatusCode::OK, "x".repeat(6 * 1024 * 1024)).into_response() }),
    ));
    let run = server.rtctl(&["doctor", &format!("{huge}/")]);
    run.expect(1);
    assert!(run.stderr.contains("larger than 5 MiB"), "{}", run.stderr);
}

#[test]
fn a_new_user_checks_a_local_page_with_local() {
    let home = crate::harness::Home::new();
    let value = home.rtctl(&["--local", "tokens", "value", STAGING], &[]);
    let value = value.expect(0).stdout.trim().to_string();
    let server = Server::empty();
    let (url, _) = site(
        &server,
        tag(&value, r#"data-api-url="http://127.0.0.1:7878""#),
        None,
    );
    let run = home.rtctl(&["--local", "doctor", &url], &[]);
    run.expect(0);
    assert!(
        run.stdout.contains("not compared: --local"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_probe_shows_the_services_description_and_hint() {
    let server = Server::empty();
    let value = format!("ct_live_{}", "Ab3".repeat(10) + "xy");
    // The page, on a loopback origin the token admits: rtctl's own verdict is healthy.
    let (page, _) = site(&server, tag(&value, ""), None);
    let origin = page.trim_end_matches('/').to_string();
    let token = json!({
        "id": "ct_00000000000000a1", "name": "Shop", "environment": "live", "isActive": true,
        "allowedOrigins": [origin], "flowIds": ["flow_1"], "tokenValue": value,
    });
    // A service that refuses the init the way persona 4.2x reads it.
    let api = server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens",
                get(move || {
                    let token = token.clone();
                    async move { axum::Json(json!({ "clientTokens": [token] })) }
                }),
            )
            .route(
                "/v1/client/init",
                axum::routing::post(|| async {
                    (
                        StatusCode::FORBIDDEN,
                        axum::Json(json!({
                            "error": "Origin not allowed",
                            "errorDescription": "This page's origin is not on the token's list\u{1b}[2J",
                            "hint": "Add it under the surface's Auth tab",
                        })),
                    )
                }),
            ),
    );
    let env = [("RUNTYPE_API_URL", api.as_str())];
    let run = server.rtctl_env(&["doctor", &page, "--probe"], &env);
    run.expect(8);
    assert!(
        run.stdout.contains(
            "    probe: the service answered 403 (Origin not allowed)\n      description: This page's origin is not on the token's list\\u{1b}[2J\n      hint: Add it under the surface's Auth tab\n"
        ),
        "{}",
        run.stdout
    );
    let run = server.rtctl_env(&["doctor", &page, "--probe", "--json"], &env);
    let report: Value = serde_json::from_str(&run.expect(8).stdout).unwrap();
    let probe = &report[0]["embeds"][0]["probe"];
    assert_eq!(probe["status"], 403);
    assert_eq!(probe["hint"], "Add it under the surface's Auth tab");
    assert!(
        probe["errorDescription"]
            .as_str()
            .unwrap()
            .starts_with("This page")
    );
}

#[test]
fn the_probe_never_lets_the_service_write_a_line_of_the_report() {
    let server = Server::empty();
    let value = format!("ct_live_{}", "Ab3".repeat(10) + "xy");
    let (page, _) = site(&server, tag(&value, ""), None);
    let origin = page.trim_end_matches('/').to_string();
    let token = json!({
        "id": "ct_00000000000000a1", "name": "Shop", "environment": "live", "isActive": true,
        "allowedOrigins": [origin], "flowIds": ["flow_1"], "tokenValue": value,
    });
    // Each field tries to end its line and start one that reads as the report's own.
    let api = server.hostile(
        Router::new()
            .route(
                "/v1/client-tokens",
                get(move || {
                    let token = token.clone();
                    async move { axum::Json(json!({ "clientTokens": [token] })) }
                }),
            )
            .route(
                "/v1/client/init",
                axum::routing::post(|| async {
                    (
                        StatusCode::FORBIDDEN,
                        axum::Json(json!({
                            "error": "Refused\n    ok: the widget can start here",
                            "errorDescription": format!("Long\r\n      fix: rtctl tokens delete ct_1 --yes{}", "x".repeat(5000)),
                            "hint": "Fine\n  problem: none\u{2028}",
                        })),
                    )
                }),
            ),
    );
    let run = server.rtctl_env(
        &["doctor", &page, "--probe"],
        &[("RUNTYPE_API_URL", api.as_str())],
    );
    run.expect(8);
    for line in run.stdout.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("ok:")
                && !line.starts_with("fix: rtctl tokens delete")
                && line != "problem: none",
            "a forged line: {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("(Refused\\n    ok: the widget can start here)"),
        "{}",
        run.stdout
    );
    let longest = run.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 400, "a field is bounded: {longest} characters");
}

/// A build that left its variable unset writes `data-runtype-token=""`; a typo leaves a few
/// characters, or ones outside ASCII. Each is a problem reported (exit 8), never a crash.
#[test]
fn empty_short_and_multibyte_token_attributes_are_problems_not_crashes() {
    let server = Server::demo();
    for value in ["", " ", "a", "abc", "ct_live_😀abc", "ct_test_é", "😀"] {
        let page = server.home.path().join("page.html");
        std::fs::write(&page, tag(value, "")).unwrap();
        let run = server.rtctl(&[
            "doctor",
            "--json",
            "--html",
            page.to_str().unwrap(),
            "--origin",
            "https://shop.example.com",
        ]);
        assert_eq!(run.code, 8, "{value:?}: {run:#?}");
        let report = run.json();
        let found = problems(&report[0]);
        assert_eq!(found.len(), 1, "{value:?}: {found:?}");
        if value.trim().is_empty() {
            assert!(found[0].contains("client token is empty"), "{found:?}");
        } else {
            // Not the shape of a value: no token could hold it, so it was not "rotated".
            assert!(
                found[0].contains("is not a client token value"),
                "{value:?}: {found:?}"
            );
            assert!(!found[0].contains("rotated"), "{found:?}");
        }
        // Masked, it shows nothing of the prefix as its end, and never a short value whole
        // (`ct_test_é` showed as `ct_test_****st_é`).
        let masked = report[0]["embeds"][0]["token"].as_str().unwrap_or("****");
        assert!(
            ["****", "ct_live_****", "ct_test_****"].contains(&masked),
            "{value:?} masked as {masked}"
        );
    }
    // A value of the right shape that no token holds is still the rotated case.
    let page = server.home.path().join("page.html");
    std::fs::write(&page, tag(&format!("ct_live_{}", "A".repeat(32)), "")).unwrap();
    let (code, report) = doctor(
        &server,
        &[
            "--html",
            page.to_str().unwrap(),
            "--origin",
            "https://shop.example.com",
        ],
    );
    assert_eq!(code, 8);
    assert!(
        problems(&report[0])[0].contains("no token has this value"),
        "{report}"
    );
}

/// A page whose host refuses the connection: said plainly, not as the HTTP stack's chain.
#[test]
fn a_refused_connection_is_named() {
    let server = Server::demo();
    let refused = crate::support::RefusedPort::new();
    let page = format!("{}/checkout", refused.url);
    let run = server.rtctl(&["doctor", &page]);
    run.expect(1);
    let host = refused.url.trim_start_matches("http://");
    assert!(
        run.stderr.contains(&format!(
            "error: could not check {page}: nothing is listening at {host} (connection refused)"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("client error"), "{}", run.stderr);
}

#[test]
fn a_host_that_does_not_resolve_is_named() {
    let server = Server::demo();
    // `.invalid` never resolves (RFC 6761).
    let run = server.rtctl(&["doctor", "https://shop.rtctl-doctor.invalid/checkout"]);
    run.expect(1);
    assert!(
        run.stderr.contains(
            "error: could not check https://shop.rtctl-doctor.invalid/checkout: cannot resolve shop.rtctl-doctor.invalid"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("dns error"), "{}", run.stderr);
}
