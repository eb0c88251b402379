//! Tokens by surface (issue 21): `--surface` resolution on create, list, selections and token
//! files, the refusal of a token that could never chat on its surface, `surfaces list` through
//! the cursor, `origins traffic` after real widget inits, and the audit's traffic rules.

use insta::assert_snapshot;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Server, Transcript};

const SHOP: &str = "surf_5400000000000001";
const SHOP_DEV: &str = "surf_5400000000000002";
const DOCS: &str = "surf_5400000000000003";

/// A product "Shop" with a production chat (flow_1 and agent_1 enabled, flow_off disabled)
/// and a development chat, and a product "Docs" whose chat is also named "Chat".
fn surfaces(server: &Server) {
    for (id, product, name, environment) in [
        (SHOP, "Shop", "Chat", "production"),
        (SHOP_DEV, "Shop", "Chat (dev)", "development"),
        (DOCS, "Docs", "Chat", "production"),
    ] {
        server
            .api(
                Method::POST,
                "/__emulator/surfaces",
                Some(json!({
                    "id": id, "productName": product, "name": name, "environment": environment,
                    "items": [
                        {"id": "i1", "flowId": "flow_1"},
                        {"id": "i2", "agentId": "agent_1"},
                        {"id": "i3", "flowId": "flow_off", "enabled": false},
                    ],
                })),
            )
            .expect(201);
    }
}

/// A widget's init from `origin` (or none), as the browser sends it.
fn init(server: &Server, value: &str, origin: Option<&str>) -> u16 {
    let url = format!("{}/v1/client/init", server.url);
    let body = json!({ "token": value });
    let origin = origin.map(str::to_string);
    server.runtime.block_on(async move {
        let mut request = crate::support::http().post(url).json(&body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

/// `tokens create` of a token for https://shop.example.com on `surface`, with `extra` flags.
fn create_on<'a>(surface: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "tokens",
        "create",
        "--name",
        "W",
        "--origin",
        "https://shop.example.com",
        "--surface",
        surface,
    ];
    args.extend_from_slice(extra);
    args
}

fn surface_of(server: &Server, id: &str) -> Value {
    server.token(id).expect(200)["clientToken"]["productSurfaceId"].clone()
}

#[test]
fn surface_names_ids_clashes_and_unknowns_resolve_on_create() {
    let server = Server::empty();
    surfaces(&server);
    let mut transcript = Transcript::default();
    fn create(surface: &str) -> Vec<&str> {
        create_on(surface, &["--flow", "flow_1", "--json"])
    }

    for surface in ["Chat", "Nope"] {
        let args = create(surface);
        let run = server.rtctl(&args);
        transcript.add(&args, &run);
    }
    assert_snapshot!("surface_resolution", transcript.text());
    assert_eq!(server.rtctl(&create("Chat")).code, 2, "a clash");
    assert_eq!(server.rtctl(&create("Nope")).code, 5, "unknown");
    for (input, want) in [
        ("Shop/Chat", SHOP),
        ("docs/chat", DOCS),
        ("Chat (dev)", SHOP_DEV),
        (DOCS, DOCS),
    ] {
        let run = server.rtctl(&create(input));
        run.expect(0);
        let id = run.json()["id"].as_str().unwrap().to_string();
        assert_eq!(surface_of(&server, &id), want, "{input}");
    }
    assert!(
        !server
            .journal()
            .iter()
            .any(|l| l.starts_with("POST /v1/client-tokens") && l.contains(" 4")),
        "a refused resolution sends no create"
    );
}

#[test]
fn a_token_that_could_never_chat_on_its_surface_is_refused() {
    let server = Server::empty();
    surfaces(&server);
    let before = server.tokens().len();
    let mut transcript = Transcript::default();
    for extra in [
        &["--flow", "flow_off"][..],
        &["--agent", "agent_9", "--flow", "flow_9"],
    ] {
        let args = create_on("Shop/Chat", extra);
        let run = server.rtctl(&args);
        run.expect(2);
        transcript.add(&args, &run);
    }
    assert_snapshot!("surface_overlap_refused", transcript.text());
    assert_eq!(server.tokens().len(), before, "nothing was created");
    // An agent the surface exposes is enough.
    server
        .rtctl(&create_on("Shop/Chat", &["--agent", "agent_1"]))
        .expect(0);
}

#[test]
fn surface_filters_lists_selections_get_and_wide_lists() {
    let server = Server::empty();
    surfaces(&server);
    let shop = server.create("Shop widget", json!({"productSurfaceId": SHOP}));
    let dev = server.create(
        "Shop dev",
        json!({"productSurfaceId": SHOP_DEV, "environment": "test"}),
    );
    server.create("Loose", json!({}));
    let listed = server.rtctl(&["tokens", "list", "--surface", "Shop/Chat", "--json"]);
    let listed = listed.expect(0).json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [shop.as_str()]);
    let dry = server.rtctl(&[
        "tokens",
        "delete",
        "--all",
        "--surface",
        SHOP_DEV,
        "--dry-run",
    ]);
    dry.expect(0);
    assert!(
        dry.stdout.contains(&dev) && !dry.stdout.contains(&shop),
        "{dry:?}"
    );
    let needs_all = server.rtctl(&["tokens", "rotate", "--surface", "Chat (dev)", "--yes"]);
    assert_eq!(needs_all.code, 2, "{needs_all:?}");
    let get = server.rtctl(&["tokens", "get", &shop]);
    assert!(
        get.expect(0)
            .stdout
            .contains("product surface\tShop / Chat (surf_5400000000000001)"),
        "{get:?}"
    );
    let wide = server.rtctl(&["tokens", "list", "-o", "wide"]);
    let line = wide
        .stdout
        .lines()
        .find(|l| l.contains(&dev))
        .unwrap()
        .to_string();
    assert!(
        line.trim_end().ends_with("Shop / Chat (dev)"),
        "{}",
        wide.stdout
    );
    assert!(
        wide.stdout
            .lines()
            .next()
            .unwrap()
            .trim_end()
            .ends_with("SURFACE")
    );
}

#[test]
fn surfaces_list_pages_through_the_cursor_and_shows_tokens() {
    let server = Server::empty();
    for i in 0..130 {
        server
            .api(
                Method::POST,
                "/__emulator/surfaces",
                Some(json!({"id": format!("surf_many{i:03}"), "productName": "Many", "name": format!("Chat {i:03}"),
                            "status": if i == 7 { "paused" } else { "active" }})),
            )
            .expect(201);
    }
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(json!({"id": "surf_api", "productName": "Many", "name": "API", "type": "api"})),
        )
        .expect(201);
    let token = server.create("Bound", json!({"productSurfaceId": "surf_many007"}));
    let run = server.rtctl(&["surfaces", "list"]);
    run.expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 130, "every chat surface once, no API surface");
    let bound = lines.iter().find(|l| l.contains("surf_many007")).unwrap();
    assert_eq!(
        *bound,
        format!("Many\tChat 007\tsurf_many007\tpaused\t{token}")
    );
    let pages: Vec<String> = server
        .journal()
        .into_iter()
        .filter(|l| l.starts_with("GET /v1/surfaces"))
        .collect();
    assert_eq!(pages.len(), 2, "130 surfaces, 100 a page: {pages:?}");
    let json = server.rtctl(&["surfaces", "list", "--json"]);
    let paused = json
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "surf_many007")
        .unwrap()
        .clone();
    assert_eq!(paused["tokens"][0]["id"], token.as_str());
}

#[test]
fn traffic_reports_each_class_after_real_inits() {
    let server = Server::empty();
    surfaces(&server);
    let live = server.create(
        "Shop widget",
        json!({"environment": "live", "productSurfaceId": SHOP,
               "allowedOrigins": ["https://www.shop.example", "https://old.shop.example", "https://*.blog.shop.example"]}),
    );
    let other = server.create(
        "Shop partner",
        json!({"environment": "live", "productSurfaceId": SHOP, "allowedOrigins": ["https://partner.example"]}),
    );
    let value = server.value_of(&live);
    let partner = server.value_of(&other);
    assert_eq!(init(&server, &value, Some("https://www.shop.example")), 200);
    assert_eq!(
        init(&server, &value, Some("https://a.blog.shop.example")),
        200
    );
    assert_eq!(init(&server, &value, Some("https://shop.example")), 403);
    assert_eq!(init(&server, &value, Some("http://www.shop.example")), 403);
    assert_eq!(
        init(&server, &partner, Some("https://partner.example")),
        200
    );
    let names = [(live.as_str(), "[LIVE]"), (other.as_str(), "[PARTNER]")];
    let mut transcript = Transcript::naming(&names);
    for args in [
        vec!["origins", "traffic", &live, "-o", "table"],
        vec!["origins", "traffic", &live],
    ] {
        let run = server.rtctl(&args);
        run.expect(8);
        transcript.add(&args, &run);
    }
    assert_snapshot!("traffic_classes", transcript.text());
    let json = server.rtctl(&["origins", "traffic", "--surface", "Shop/Chat", "--json"]);
    assert_eq!(json.code, 8);
    let report = json.json();
    assert_eq!(report["surface"]["id"], SHOP);
    let mine = report["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == live.as_str())
        .unwrap()
        .clone();
    let origins = |key: &str| -> Vec<String> {
        mine[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["origin"].as_str().unwrap().to_string())
            .collect()
    };
    let mut refused = origins("refused");
    refused.sort();
    assert_eq!(refused, ["http://www.shop.example", "https://shop.example"]);
    assert_eq!(origins("admittedByOther"), ["https://partner.example"]);
    assert_eq!(mine["admittedByOther"][0]["admittedBy"], other.as_str());
    assert_eq!(mine["unseen"], json!(["https://old.shop.example"]));
    assert_eq!(
        mine["narrower"][0]["seen"],
        json!(["https://a.blog.shop.example"])
    );
    // The suggested commands keep the flags that chose the account, in JSON and in text.
    let url = server.url.as_str();
    let keeps = ["--api-url", url, "origins", "traffic", &live];
    let flagged = server.rtctl(&[&keeps[..], &["--json"]].concat());
    let fix = flagged.json()["tokens"][0]["refused"][0]["fix"].clone();
    let prefix = format!("rtctl --api-url {url} origins add {live} ");
    assert!(fix.as_str().unwrap().starts_with(&prefix), "{fix}");
    let text = server.rtctl(&[&keeps[..], &["-o", "table"]].concat());
    assert!(text.stdout.contains(&format!("fix: {prefix}")), "{text:?}");
    assert!(
        text.stdout
            .contains(&format!("rtctl --api-url {url} origins remove {live} ")),
        "{text:?}"
    );
    // Only the fixes: a name that mentions a command is shown as it is.
    server
        .rtctl(&[
            "tokens",
            "update",
            &live,
            "--name",
            "Shop (see rtctl tokens list)",
        ])
        .expect(0);
    let text = server.rtctl(&[&keeps[..], &["-o", "table"]].concat());
    assert!(
        text.stdout.contains("\"Shop (see rtctl tokens list)\""),
        "{text:?}"
    );
    // Fixed by the command it suggests: nothing refused, exit 0.
    server
        .rtctl(&[
            "origins",
            "add",
            &live,
            "https://shop.example",
            "http://www.shop.example",
        ])
        .expect(0);
    let after = server.rtctl(&["origins", "traffic", &live, "--json"]);
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(after.json()["tokens"][0]["refused"], json!([]));
    // No surface, no traffic.
    let loose = server.create("Loose", json!({}));
    let run = server.rtctl(&["origins", "traffic", &loose]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("traffic is recorded per surface"),
        "{run:?}"
    );
}

#[test]
fn audit_traffic_rules_positive_and_negative() {
    let server = Server::empty();
    surfaces(&server);
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(json!({"id": "surf_paused", "productName": "Shop", "name": "Old chat", "status": "paused"})),
        )
        .expect(201);
    let live = server.create(
        "Shop widget",
        json!({"environment": "live", "productSurfaceId": SHOP, "rateLimitPerMinute": 30,
               "allowedOrigins": ["https://www.shop.example", "https://old.shop.example"]}),
    );
    let clean = server.create(
        "Docs widget",
        json!({"environment": "live", "productSurfaceId": DOCS, "rateLimitPerMinute": 30,
               "allowedOrigins": ["https://docs.example"]}),
    );
    let paused = server.create("Paused", json!({"productSurfaceId": "surf_paused"}));
    let value = server.value_of(&live);
    init(&server, &value, Some("https://www.shop.example"));
    init(&server, &value, Some("https://shop.example"));
    init(
        &server,
        &server.value_of(&clean),
        Some("https://docs.example"),
    );
    let run = server.rtctl(&["audit", "--json"]);
    let findings = run.json()["findings"].as_array().unwrap().clone();
    let of = |id: &str, rule: &str| {
        findings
            .iter()
            .filter(|f| f["id"] == id && f["rule"] == rule)
            .count()
    };
    assert_eq!(of(&live, "refused-origin-seen"), 1, "{findings:#?}");
    assert_eq!(of(&live, "origin-unseen"), 1);
    assert_eq!(of(&paused, "surface-not-active"), 1);
    for rule in ["refused-origin-seen", "origin-unseen", "surface-not-active"] {
        assert_eq!(of(&clean, rule), 0, "{rule}: {findings:#?}");
    }
    assert_eq!(of(&live, "surface-not-active"), 0);
    let url = server.url.as_str();
    let flagged = server.rtctl(&["--api-url", url, "audit", "--json", "--fail-on", "never"]);
    let fixes = flagged.json()["findings"].clone();
    let prefix = format!("rtctl --api-url {url} ");
    assert!(
        fixes
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["fix"].as_str().unwrap().contains("rtctl ")
                || f["fix"].as_str().unwrap().contains(&prefix)),
        "{fixes:#?}"
    );
    // A token file's `surface = "…"` is audited on that surface, as apply would bind it; what
    // cannot be resolved is a warning, and the rest of the audit stands.
    let dir = tempfile::tempdir().unwrap();
    let file = |text: &str| {
        let path = dir.path().join("tokens.toml");
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let later = file(
        "[tokens.Later]\nenvironment = \"live\"\norigins = [\"https://later.shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Chat\"\n",
    );
    let run = server.rtctl(&["audit", "-f", &later, "--json", "--fail-on", "never"]);
    let findings = run.json()["findings"].as_array().unwrap().clone();
    let planned: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "(not created yet)")
        .map(|f| &f["rule"])
        .collect();
    assert!(planned.contains(&&json!("origin-unseen")), "{findings:#?}");
    assert!(
        planned.contains(&&json!("refused-origin-seen")),
        "{findings:#?}"
    );
    let unknown = file(
        "[tokens.Later]\nenvironment = \"live\"\norigins = [\"https://a.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Nope\"\n",
    );
    let run = server.rtctl(&["audit", "-f", &unknown, "--fail-on", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: the token file")
            && run.stderr.contains("line 5")
            && run.stderr.contains("Shop/Nope"),
        "{run:?}"
    );
    let later = file(
        "[tokens.Later]\nenvironment = \"live\"\norigins = [\"https://later.shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Chat\"\n",
    );
    server.fault(json!({"method": "GET", "path": "/v1/surfaces", "status": 403, "count": 0}));
    let surface_reads = |server: &Server| {
        let journal = server.journal();
        journal
            .iter()
            .filter(|l| l.starts_with("GET /v1/surfaces"))
            .count()
    };
    let before = surface_reads(&server);
    let run = server.rtctl(&["audit", "-f", &later, "--json", "--fail-on", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("warning: the surface rules were skipped, and the file's surface names were not resolved: could not read the surfaces"),
        "{run:?}"
    );
    assert_eq!(
        run.stderr.matches("could not read").count(),
        1,
        "once: {run:?}"
    );
    assert_eq!(
        surface_reads(&server) - before,
        1,
        "the surfaces are read once"
    );
    assert!(!run.json()["findings"].as_array().unwrap().is_empty());
    // Without any surface-bound token, the audit reads no surfaces at all.
    let plain = Server::empty();
    plain.create("Plain", json!({}));
    plain.rtctl(&["audit"]);
    assert!(!plain.journal().iter().any(|l| l.contains("/v1/surfaces")));
}

/// A gate must not turn green because the service was down: a surface list that answers 503
/// after every retry, or observed origins whose connection drops, fail the audit (exit 1)
/// whatever `--fail-on` says. Only a 403 (the key may not read them) skips the rules.
#[test]
fn audit_fails_when_what_its_rules_need_cannot_be_read() {
    let server = Server::empty();
    surfaces(&server);
    server.create(
        "Shop widget",
        json!({"environment": "live", "productSurfaceId": SHOP, "rateLimitPerMinute": 30,
               "allowedOrigins": ["https://www.shop.example"]}),
    );
    let audit = |server: &Server| server.rtctl(&["audit", "--fail-on", "never", "--retries", "1"]);
    audit(&server).expect(0);

    server.fault(json!({"method": "GET", "path": "/v1/surfaces", "status": 503, "count": 0}));
    let run = audit(&server);
    run.expect(1);
    assert!(
        run.stderr.contains("could not read the surfaces") && !run.stderr.contains("No findings"),
        "{run:?}"
    );
    server
        .api(Method::DELETE, "/__emulator/faults", None)
        .expect(200);

    let observed = "/v1/products/*/surfaces/*/observed-origins";
    server.fault(json!({"method": "GET", "path": observed, "drop": "before", "count": 0}));
    let run = audit(&server);
    run.expect(1);
    assert!(
        run.stderr
            .contains("could not read the observed origins of Shop / Chat"),
        "{run:?}"
    );
    server
        .api(Method::DELETE, "/__emulator/faults", None)
        .expect(200);

    // The key may not read them: the traffic rules are skipped with a warning, as documented.
    server.fault(json!({"method": "GET", "path": observed, "status": 403, "count": 0}));
    let run = audit(&server);
    run.expect(0);
    assert!(
        run.stderr
            .contains("warning: the traffic rules skipped Shop / Chat"),
        "{run:?}"
    );
}

#[test]
fn token_files_name_surfaces_and_are_refused_where_chat_could_never_work() {
    let server = Server::empty();
    surfaces(&server);
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(
                json!({"id": "surf_checkout", "productName": "Shop", "name": "Checkout",
                        "items": [{"id": "i1", "flowId": "flow_checkout"}]}),
            ),
        )
        .expect(201);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let good = write(
        "good.toml",
        "[tokens.W]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Chat\"\n",
    );
    server.rtctl(&["apply", "-f", &good, "--yes"]).expect(0);
    let id = server.id_of("W");
    assert_eq!(surface_of(&server, &id), SHOP);
    server
        .rtctl(&["plan", "-f", &good, "--expect-no-changes"])
        .expect(0);
    let exported = server.rtctl(&["export"]);
    assert!(
        exported
            .stdout
            .contains(&format!("product_surface_id = \"{SHOP}\"  # Shop / Chat")),
        "{exported:?}"
    );
    let mut transcript = Transcript::naming(&[(dir.path().to_str().unwrap(), "[DIR]")]);
    for (name, text) in [
        ("disagree.toml", format!("[tokens.W]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Docs/Chat\"\nproduct_surface_id = \"{SHOP}\"\n")),
        ("overlap.toml", "[tokens.N]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_off\"]\nsurface = \"Shop/Chat\"\n".to_string()),
        ("clash.toml", "[tokens.N]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Chat\"\n".to_string()),
        // Moved to another surface (a replacement: a new token) where its flow is not exposed.
        ("moved.toml", "[tokens.W]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Checkout\"\n".to_string()),
    ] {
        let path = write(name, &text);
        let args = ["apply", "-f", &path, "--allow-replace", "--yes"];
        let run = server.rtctl(&args);
        assert_eq!(run.code, 2, "{run:?}");
        transcript.add(&args, &run);
    }
    assert_snapshot!("token_file_surfaces", transcript.text());
    assert_eq!(server.tokens().len(), 1, "no refused file created anything");
    // A replacement is made from the file alone: the agent the file leaves out, which the
    // account's token has, does not make chat possible on the surface it moves to.
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(
                json!({"id": "surf_agents", "productName": "Shop", "name": "Agents",
                        "items": [{"id": "i1", "agentId": "agent_1"}]}),
            ),
        )
        .expect(201);
    server.create(
        "A",
        json!({"environment": "live", "productSurfaceId": SHOP, "allowedOrigins": ["https://shop.example"],
               "flowIds": ["flow_1"], "agentIds": ["agent_1"]}),
    );
    let moved = write(
        "moved-agent.toml",
        "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Agents\"\n",
    );
    let plan = ["plan", "-f", &moved];
    let apply = ["apply", "-f", &moved, "--allow-replace", "--yes"];
    for args in [&plan[..], &apply[..]] {
        let run = server.rtctl(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr
                .contains("chat on Shop / Agents could never work: the token runs flow_1"),
            "{run:?}"
        );
    }
    // A token the account already holds that way is not refused, however the file lists
    // its flows (as a set, as the plan compares them).
    server.create(
        "Raw",
        json!({"environment": "live", "productSurfaceId": "surf_agents",
               "allowedOrigins": ["https://shop.example"], "flowIds": ["flow_1"]}),
    );
    let raw = write(
        "raw.toml",
        "[tokens.Raw]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\", \"flow_1\"]\nproduct_surface_id = \"surf_agents\"\n",
    );
    let run = server.rtctl(&["plan", "-f", &raw, "--expect-no-changes"]);
    assert!(
        run.code == 0 && !run.stderr.contains("could never work"),
        "{run:?}"
    );
    // A surface that is not active is the plan's warning, in its JSON too.
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(
                json!({"id": "surf_paused", "productName": "Shop", "name": "Paused",
                        "status": "paused", "items": [{"id": "i1", "flowId": "flow_1"}]}),
            ),
        )
        .expect(201);
    let paused = write(
        "paused.toml",
        "[tokens.P]\nenvironment = \"live\"\norigins = [\"https://shop.example\"]\nflows = [\"flow_1\"]\nsurface = \"Shop/Paused\"\n",
    );
    let run = server.rtctl(&["plan", "-f", &paused, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let warnings = run.json()["warnings"].clone();
    assert_eq!(warnings.as_array().unwrap().len(), 1, "{warnings}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .ends_with("tokens.\"P\": Shop / Paused is paused: the widget is refused until the surface is active"),
        "{warnings}"
    );
}

#[test]
fn a_server_that_repeats_its_cursor_is_an_error_not_a_loop() {
    use axum::{Json, Router, routing::get};
    let server = Server::empty();
    let surfaces = |more: bool| {
        move || async move {
            Json(json!({
                "data": [{"id": "surf_x", "productId": "p", "productName": "P",
                          "name": "\u{1b}]0;pwned\u{7}Chat", "type": "chat", "status": "active"}],
                "pagination": {"hasMore": more, "nextCursor": if more { json!("same") } else { Value::Null }},
            }))
        }
    };
    let tokens = || async { Json(json!({"clientTokens": [], "pagination": {"hasMore": false}})) };
    for (more, code) in [(true, 1), (false, 0)] {
        let url = server.hostile(
            Router::new()
                .route("/v1/surfaces", get(surfaces(more)))
                .route("/v1/client-tokens", get(tokens)),
        );
        let run = server.rtctl_env(&["surfaces", "list"], &[("RUNTYPE_API_URL", &url)]);
        assert_eq!(run.code, code, "{run:?}");
        if more {
            assert!(run.stderr.contains("cursor repeats"), "{run:?}");
        } else {
            assert!(run.stdout.contains("Chat"), "{run:?}");
        }
        assert!(
            !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
            "nothing from the server steers the terminal: {run:?}"
        );
    }
}

/// A server that answers thousands of surfaces a page (for `limit=100`), or fresh cursors
/// without end, is refused: memory stays bounded, per page and in all.
#[test]
fn the_surface_list_is_bounded_per_page_and_in_all() {
    use axum::extract::Query;
    use axum::{Json, Router, routing::get};
    use std::collections::HashMap;
    let server = Server::empty();
    let page = |size: usize, cursor: &str| {
        let data: Vec<Value> = (0..size)
            .map(|i| {
                json!({"id": format!("surf_{cursor}_{i}"), "productId": "p", "productName": "P",
                       "name": "Chat", "type": "chat", "status": "active"})
            })
            .collect();
        json!({"data": data, "pagination": {"hasMore": true, "nextCursor": format!("{cursor}x")}})
    };
    let tokens = || async { Json(json!({"clientTokens": [], "pagination": {"hasMore": false}})) };
    let pages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for per_page in [5_000, 100] {
        let counter = pages.clone();
        counter.store(0, std::sync::atomic::Ordering::SeqCst);
        let url = server.hostile(
            Router::new()
                .route(
                    "/v1/surfaces",
                    get(move |query: Query<HashMap<String, String>>| {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let cursor = query.get("cursor").cloned().unwrap_or_default();
                        async move { Json(page(per_page, &cursor)) }
                    }),
                )
                .route("/v1/client-tokens", get(tokens)),
        );
        let run = server.rtctl_env(&["surfaces", "list"], &[("RUNTYPE_API_URL", &url)]);
        run.expect(1);
        let read = pages.load(std::sync::atomic::Ordering::SeqCst);
        if per_page > 100 {
            assert!(
                run.stderr
                    .contains("5000 surfaces for a page of at most 100"),
                "{run:?}"
            );
            assert_eq!(read, 1, "the first oversized page ends the read");
        } else {
            assert!(run.stderr.contains("past 10000 surfaces"), "{run:?}");
            assert!(read <= 101, "{read} pages read");
        }
    }
}

/// A server that pages on with nothing in its pages (empty, or items that are no surfaces)
/// under fresh cursors is refused after a bounded number of pages, by `surfaces list` and by
/// `audit` alike: before, the cap counted only surfaces kept, so both read without end.
#[test]
fn a_list_that_pages_on_with_nothing_ends() {
    use axum::extract::Query;
    use axum::{Json, Router, routing::get};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = Server::empty();
    let tokens = || async {
        Json(json!({"clientTokens": [{
            "id": "ct_00000000000000e1", "name": "Bound", "environment": "test",
            "isActive": true, "allowedOrigins": ["https://shop.example.com"], "flowIds": ["f"],
            "productSurfaceId": "surf_1",
        }], "pagination": {"hasMore": false}}))
    };
    for per_page in [0, 100] {
        for args in [vec!["surfaces", "list"], vec!["audit"]] {
            let pages = std::sync::Arc::new(AtomicUsize::new(0));
            let counter = pages.clone();
            let url = server.hostile(
                Router::new()
                    .route(
                        "/v1/surfaces",
                        get(move |query: Query<HashMap<String, String>>| {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let next = query
                                .get("cursor")
                                .and_then(|c| c.parse::<u64>().ok())
                                .unwrap_or(0)
                                + 1;
                            // Items without an id are no surfaces, and are not kept.
                            let data: Vec<Value> = (0..per_page)
                                .map(|i| json!({"name": format!("nothing {i}")}))
                                .collect();
                            // (It ends after 5,000 pages, so a run that does not stop
                            // fails the test rather than hanging it.)
                            let more = next <= 5_000;
                            async move {
                                Json(json!({"data": data,
                                    "pagination": {"nextCursor": next.to_string(), "hasMore": more}}))
                            }
                        }),
                    )
                    .route("/v1/client-tokens", get(tokens)),
            );
            let run = server.rtctl_env(&args, &[("RUNTYPE_API_URL", &url)]);
            let read = pages.load(Ordering::SeqCst);
            assert_eq!(run.code, 1, "{args:?}, {per_page} a page: {run:?}");
            assert!(read <= 1_000, "{args:?}: {read} pages read");
            let said = if per_page == 0 {
                "past 1000 pages"
            } else {
                "past 10000 surfaces"
            };
            assert!(run.stderr.contains(said), "{args:?}: {}", run.stderr);
        }
    }
}

#[test]
fn a_surface_name_from_the_server_never_steers_the_terminal_in_a_warning() {
    let server = Server::empty();
    server
        .api(
            Method::POST,
            "/__emulator/surfaces",
            Some(
                json!({"id": "surf_evil", "productName": "Ev\u{1b}]0;pwned\u{7}il",
                        "name": "Chat\u{1b}[31m", "status": "paused",
                        "items": [{"id": "i1", "flowId": "flow_1"}]}),
            ),
        )
        .expect(201);
    let run = server.rtctl(&create_on("surf_evil", &["--flow", "flow_1"]));
    run.expect(0);
    assert!(
        run.stderr
            .contains("warning: Ev\\u{1b}]0;pwned\\u{7}il / Chat\\u{1b}[31m is paused"),
        "{run:?}"
    );
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'));
}
