//! `rtctl plan`, `apply` and `export` against the emulator: plans of every kind, apply with
//! and without confirmation, the export → plan round trip, drift detection, bad files.

use std::path::PathBuf;

use insta::assert_snapshot;
use serde_json::{Value, json};

use crate::harness::{Server, Transcript};
use crate::prompts::answer_prompt;

fn write(server: &Server, name: &str, text: &str) -> PathBuf {
    let path = server.home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn p(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

/// The demo account, exported, with edits applied to the text.
fn edited_export(server: &Server, edit: impl Fn(String) -> String) -> PathBuf {
    let export = server.rtctl(&["export"]);
    export.expect(0);
    write(server, "tokens.toml", &edit(export.stdout))
}

fn by_name(server: &Server, name: &str) -> Option<Value> {
    server.tokens().into_iter().find(|t| t["name"] == name)
}

const NEW: &str = r#"
[tokens."New widget"]
environment = "test"
origins = ["https://New.Example.com/"]
flows = ["flow_new"]
rate_limit_per_minute = 5
config = { welcomeMessage = "Hello" }
"#;

#[test]
fn export_then_plan_shows_no_changes() {
    let server = Server::demo();
    let export = server.rtctl(&["export"]);
    export.expect(0);
    // Every token, and never a value.
    assert_snapshot!("export_all", export.snapshot());
    let file = write(&server, "all.toml", &export.stdout);
    let plan = server.rtctl(&["plan", "-f", p(&file), "--prune", "--expect-no-changes"]);
    plan.expect(0);
    assert_snapshot!("plan_no_changes", plan.snapshot());

    let live = server.rtctl(&[
        "export",
        "--environment",
        "live",
        "--name-contains",
        "WIDGET",
    ]);
    live.expect(0);
    assert_snapshot!("export_live_widgets", live.snapshot());
    let file = write(&server, "live.toml", &live.stdout);
    let plan = server
        .rtctl(&["plan", "-f", p(&file), "--json"])
        .expect(0)
        .json();
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0})
    );
    assert_eq!(plan["unmanaged"].as_array().unwrap().len(), 4);
}

#[test]
fn plans_create_update_replace_and_prune_field_by_field() {
    let server = Server::demo();
    let file = edited_export(&server, |text| {
        let text = text.replacen("rate_limit_per_hour = 200", "rate_limit_per_hour = 500", 1);
        let text = text.replace(
            "[tokens.\"Mobile app\"]\nenvironment = \"live\"",
            "[tokens.\"Mobile app\"]\nenvironment = \"test\"",
        );
        let start = text.find("[tokens.\"Old checkout widget\"]").unwrap();
        let end = text.find("[tokens.\"Staging playground\"]").unwrap();
        format!("{}{}{NEW}", &text[..start], &text[end..])
    });
    let plan = server.rtctl(&["plan", "-f", p(&file)]);
    plan.expect(0);
    let docs = server.id_of("Docs assistant");
    let mobile = server.id_of("Mobile app");
    // Field by field, each change under the token it belongs to; no colour in a pipe.
    assert_snapshot!(
        "plan_every_kind",
        plan.snapshot_naming(&[(&docs, "[DOCS]"), (&mobile, "[MOBILE]")])
    );

    let json = server
        .rtctl(&["plan", "-f", p(&file), "--prune", "--json"])
        .expect(0)
        .json();
    assert_eq!(
        json["summary"],
        json!({"create": 1, "update": 1, "replace": 1, "delete": 1})
    );
    let delete = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "delete")
        .unwrap();
    assert_eq!(delete["name"], "Old checkout widget");
    let update = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(
        update["changes"],
        json!([{"field": "rate_limit_per_hour", "from": 200, "to": 500}])
    );

    // Planning changes nothing.
    assert!(by_name(&server, "New widget").is_none());
    assert_eq!(
        by_name(&server, "Docs assistant").unwrap()["rateLimitPerHour"],
        200
    );
}

#[test]
fn apply_makes_the_account_match_and_prints_new_values_once() {
    let server = Server::demo();
    let file = edited_export(&server, |text| {
        let text = text.replacen("rate_limit_per_hour = 200", "rate_limit_per_hour = 500", 1);
        let start = text.find("[tokens.\"Old checkout widget\"]").unwrap();
        let end = text.find("[tokens.\"Staging playground\"]").unwrap();
        format!("{}{}{NEW}", &text[..start], &text[end..])
    });
    let run = server.rtctl(&["apply", "-f", p(&file), "--prune", "--yes"]);
    run.expect(0);
    let created = by_name(&server, "New widget").expect("created");
    let id = created["id"].as_str().unwrap();
    let value = server.value_of(id);
    assert_eq!(
        run.stdout,
        format!("{id}\tNew widget\t{value}\n"),
        "the new value, once, on stdout: ID, name, value"
    );
    assert_eq!(
        created["allowedOrigins"],
        json!(["https://new.example.com"])
    );
    assert_eq!(created["rateLimitPerMinute"], 5);
    assert_eq!(created["config"], json!({"welcomeMessage": "Hello"}));
    assert_eq!(
        by_name(&server, "Docs assistant").unwrap()["rateLimitPerHour"],
        500
    );
    assert!(by_name(&server, "Old checkout widget").is_none(), "pruned");
    assert_snapshot!("apply_prune_yes", run.snapshot());

    let again = server.rtctl(&["apply", "-f", p(&file), "--prune", "--yes"]);
    again.expect(0);
    assert_snapshot!("apply_again_no_changes", again.snapshot());
}

#[test]
fn apply_confirms_on_a_terminal_and_refuses_without_one() {
    let server = Server::demo();
    let file = write(&server, "new.toml", NEW);
    let refused = server.rtctl(&["apply", "-f", p(&file)]);
    refused.expect(2);
    // The plan is shown first.
    assert_snapshot!("apply_without_terminal_refused", refused.snapshot());
    assert!(by_name(&server, "New widget").is_none());

    let (code, screen) = answer_prompt(&server, &["apply", "-f", p(&file)], "n");
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("Apply these changes?"), "{screen}");
    assert!(by_name(&server, "New widget").is_none());

    let (code, screen) = answer_prompt(&server, &["apply", "-f", p(&file)], "y");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\tNew widget\tct_test_"), "{screen}");
    assert!(by_name(&server, "New widget").is_some());
}

#[test]
fn a_replacement_needs_allow_replace_and_values_can_go_to_a_private_file() {
    let server = Server::demo();
    let file = edited_export(&server, |text| {
        text.replace(
            "[tokens.\"Mobile app\"]\nenvironment = \"live\"",
            "[tokens.\"Mobile app\"]\nenvironment = \"test\"",
        )
    });
    let old = server.id_of("Mobile app");
    let refused = server.rtctl(&["apply", "-f", p(&file), "--yes"]);
    refused.expect(2);
    assert_snapshot!(
        "apply_replace_refused",
        refused.snapshot_naming(&[(&old, "[MOBILE]")])
    );
    server.token(&old).expect(200);

    let values = server.home.path().join("values.env");
    let run = server.rtctl(&[
        "apply",
        "-f",
        p(&file),
        "--yes",
        "--allow-replace",
        "--values-out",
        p(&values),
    ]);
    run.expect(0);
    // The values went to the file, not to stdout.
    assert_snapshot!(
        "apply_replace_values_out",
        run.snapshot_naming(&[(&old, "[MOBILE]")])
    );
    server.token(&old).expect(404);
    let new = by_name(&server, "Mobile app").unwrap();
    assert_eq!(new["environment"], "test");
    let text = std::fs::read_to_string(&values).unwrap();
    // A .env file: the name in upper snake case, the value as it may be sourced.
    assert_eq!(
        text,
        format!(
            "MOBILE_APP={}\n",
            server.value_of(new["id"].as_str().unwrap())
        )
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&values).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // An existing file is never overwritten, and nothing is applied.
    let file = write(&server, "new.toml", NEW);
    let run = server.rtctl(&["apply", "-f", p(&file), "--yes", "--values-out", p(&values)]);
    run.expect(2);
    assert_snapshot!("apply_values_out_exists", run.snapshot());
    assert!(by_name(&server, "New widget").is_none());
}

#[test]
fn drift_after_a_manual_change_is_detected() {
    let server = Server::demo();
    let export = server.rtctl(&["export"]);
    let file = write(&server, "tokens.toml", &export.stdout);
    server
        .rtctl(&["plan", "-f", p(&file), "--expect-no-changes"])
        .expect(0);

    let id = server.id_of("Staging playground");
    server
        .rtctl(&["tokens", "update", &id, "--rate-limit-per-minute", "99"])
        .expect(0);
    let drift = server.rtctl(&["plan", "-f", p(&file), "--expect-no-changes"]);
    drift.expect(6);
    assert_snapshot!("plan_drift", drift.snapshot_naming(&[(&id, "[STAGING]")]));

    // Applying the file puts it back; the check passes again.
    server.rtctl(&["apply", "-f", p(&file), "--yes"]).expect(0);
    server
        .rtctl(&["plan", "-f", p(&file), "--expect-no-changes"])
        .expect(0);
}

#[test]
fn invalid_files_name_the_file_line_and_key() {
    let server = Server::demo();
    // Each file's error names the file, the line and the key (or what is wrong there).
    let mut refusals = Transcript::default();
    for (name, text) in [
        (
            "bad-origin.toml",
            "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com/path\"]\nflows = [\"f\"]\n",
        ),
        (
            "bad-environment.toml",
            "[tokens.A]\nenvironment = \"staging\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\n",
        ),
        (
            "unknown-key.toml",
            "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\nrate_limit = 3\n",
        ),
        (
            "negative.toml",
            "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\nmax_messages_per_session = -1\n",
        ),
        ("not-toml.toml", "[tokens.A\n"),
    ] {
        let file = write(&server, name, text);
        for command in [&["plan"][..], &["apply", "--yes"][..]] {
            let mut args = command.to_vec();
            args.extend(["-f", p(&file)]);
            let run = server.rtctl(&args);
            run.expect(2);
            refusals.add(&args, &run);
        }
    }
    assert_snapshot!("invalid_token_files", refusals.text());
    let missing = server.rtctl(&["plan", "-f", "/nonexistent/tokens.toml"]);
    missing.expect(2);
    assert_snapshot!("plan_missing_file", missing.snapshot());
}

#[test]
fn a_duplicate_name_is_an_error_only_for_a_file_that_uses_it() {
    let server = Server::demo();
    server.create("Marketing site widget", json!({}));
    let file = write(&server, "new.toml", NEW);
    // The file does not name the shared name: the twins are listed, not fatal.
    let run = server.rtctl(&["plan", "-f", p(&file)]);
    run.expect(0);
    assert_snapshot!("plan_duplicate_names", run.snapshot());
    let export = server.rtctl(&["export"]);
    export.expect(0);
    assert_snapshot!("export_duplicate_names", export.snapshot());
    let uses = write(
        &server,
        "uses.toml",
        "[tokens.\"Marketing site widget\"]\nenvironment = \"live\"\norigins = [\"https://www.example.com\"]\nflows = [\"flow_support_01\"]\n",
    );
    let run = server.rtctl(&["plan", "-f", p(&uses)]);
    run.expect(2);
    assert_snapshot!("plan_uses_a_duplicate_name", run.snapshot());
}

#[test]
fn an_export_always_plans_the_two_limits_are_one() {
    // A file larger than the old 4 MiB limit (an export of 16,000 tokens is 4.4 MiB) plans.
    let server = Server::demo();
    let export = server.rtctl(&["export"]);
    let padding = "# padding\n".repeat(470_000);
    let file = write(
        &server,
        "big.toml",
        &format!("{}{padding}", export.expect(0).stdout),
    );
    assert!(std::fs::metadata(&file).unwrap().len() > 4_500_000);
    let run = server.rtctl(&["plan", "-f", p(&file), "--expect-no-changes"]);
    run.expect(0);

    // An account whose export plan could not read is not exported (11 tokens of 1 MB each,
    // beyond the supported account's 10 MiB).
    let server = Server::empty();
    for i in 0..11 {
        let body = json!({
            "id": format!("ct_{i:016x}"), "name": format!("Large {i}"), "environment": "test",
            "allowedOrigins": ["https://l.example.com"], "flowIds": ["flow_1"], "isActive": true,
            "config": {"note": "x".repeat(1_000_000)},
        });
        server
            .api(reqwest::Method::POST, "/__emulator/tokens", Some(body))
            .expect(201);
    }
    let run = server.rtctl(&["export"]);
    run.expect(1);
    assert_eq!(run.stdout, "", "nothing written");
    assert!(
        run.stderr
            .contains("the export of 11 tokens is 10.5 MiB, more than the 10 MiB a token file may be (rtctl supports 20000 tokens of 512 bytes each on average): it would not plan"),
        "{}",
        run.stderr
    );
    // Part of it still exports, and plans.
    let run = server.rtctl(&["export", "--name-contains", "Large 1"]);
    let file = write(&server, "part.toml", &run.expect(0).stdout);
    server
        .rtctl(&["plan", "-f", p(&file), "--expect-no-changes"])
        .expect(0);
}

/// A service holding `total` live tokens, all on one chat surface, and the origins seen
/// calling it (one refused by every token, one only the sixth token admits). Counts the
/// requests for the surface's details.
fn large_account(
    server: &Server,
    total: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::Router;
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let details = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = details.clone();
    let tokens = move || -> Vec<Value> {
        (0..total)
            .map(|i| {
                json!({
                    "id": format!("ct_{i:016x}"), "name": format!("Site {i:05}"),
                    "environment": "live", "isActive": true, "flowIds": ["flow_1"],
                    "allowedOrigins": [format!("https://site{i}.example.com")],
                    "productSurfaceId": "surf_1", "rateLimitPerMinute": 20,
                    "rateLimitPerHour": 500, "createdAt": "2026-12-01T00:00:00.000Z",
                    "lastUsedAt": "2026-12-01T00:00:00.000Z",
                })
            })
            .collect()
    };
    let surface = json!({
        "id": "surf_1", "productId": "prod_1", "productName": "Shop", "name": "Web chat",
        "type": "chat", "status": "active", "environment": "production",
    });
    let router = Router::new()
        .route(
            "/v1/client-tokens",
            get(move || async move { axum::Json(json!({ "clientTokens": tokens() })) }),
        )
        .route(
            "/v1/surfaces",
            get({
                let surface = surface.clone();
                move || async move { axum::Json(json!({"data": [surface], "pagination": {"hasMore": false}})) }
            }),
        )
        .route(
            "/v1/products/prod_1/surfaces/surf_1",
            get(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut details = surface.clone();
                details["items"] = json!([{"flowId": "flow_1", "enabled": true}]);
                axum::Json(details)
            }),
        )
        .route(
            "/v1/products/prod_1/surfaces/surf_1/observed-origins",
            get(|| async {
                axum::Json(json!({"windowDays": 7, "origins": [
                    {"origin": "https://evil.example", "allowed": false, "firstSeenAt": "2026-12-01T00:00:00.000Z", "lastSeenAt": "2026-12-01T00:00:00.000Z"},
                    {"origin": "https://site5.example.com", "allowed": true, "firstSeenAt": "2026-12-01T00:00:00.000Z", "lastSeenAt": "2026-12-01T00:00:00.000Z"},
                ]}))
            }),
        );
    (server.hostile(router), details)
}

/// Runs the binary against `url`, stdout and stderr into files (they are megabytes), and
/// fails the test if it is still running after a bound no quadratic pass over 20,000 tokens
/// could meet (each such pass took minutes), far above what the linear work takes.
fn within_bound(server: &Server, url: &str, args: &[&str], name: &str) -> (i32, String, String) {
    let out = server.home.path().join(format!("{name}.out"));
    let err = server.home.path().join(format!("{name}.err"));
    let mut vars = server.home.env();
    vars.push(("RUNTYPE_API_URL".into(), url.to_string()));
    vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
    let mut child = std::process::Command::new(crate::harness::BIN)
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let code = crate::harness::exit_within(&mut child, std::time::Duration::from_secs(240), name);
    let read = |path: &PathBuf| std::fs::read_to_string(path).unwrap();
    (code, read(&out), read(&err))
}

#[test]
fn the_supported_account_exports_plans_and_audits_without_quadratic_passes() {
    let server = Server::empty();
    let total = 20_000;
    let (url, details) = large_account(&server, total);
    let (code, export, err) = within_bound(&server, &url, &["export"], "export");
    assert_eq!(code, 0, "{err}");
    let file = write(&server, "all.toml", &export);
    let (code, _, err) = within_bound(
        &server,
        &url,
        &["plan", "-f", p(&file), "--expect-no-changes"],
        "plan",
    );
    assert_eq!(code, 0, "{err}");
    // Every token as the file leaves it, each judged against the surface's traffic: the
    // refused site on every token, the sixth token's site admitted by another on the rest.
    let (code, report, err) = within_bound(
        &server,
        &url,
        &["audit", "-f", p(&file), "--fail-on", "never", "--json"],
        "audit",
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&report).unwrap();
    let refused = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "refused-origin-seen")
        .count();
    assert_eq!(refused, total, "{err}");
    assert_eq!(report["summary"]["tokens"], total);
    // 20,000 new tokens on the surface: its details are read once, not once a token, and
    // their values-file keys are checked against each other without a search each. (No
    // terminal and no --yes: refused before anything is created.)
    let renamed = export.replace("[tokens.\"Site ", "[tokens.\"New site ");
    let new = write(&server, "new.toml", &renamed);
    let values = server.home.path().join("values.env");
    let (code, _, err) = within_bound(
        &server,
        &url,
        &["apply", "-f", p(&new), "--values-out", p(&values)],
        "apply",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Plan: 20000 to create"),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(
        err.contains("--yes"),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert_eq!(details.load(std::sync::atomic::Ordering::SeqCst), 1);
}
