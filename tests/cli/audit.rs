//! `rtctl audit`: every rule with a token that triggers it and one that does not, the exit
//! code against `--fail-on`, ignores from flags and the token file, the file's tokens audited
//! as apply would leave them, and SARIF that validates against the official schema with
//! locations on the right lines.

use serde_json::{Value, json};

use crate::harness::Server;

/// "Now" for every audit here: the raw records are created on 2026-01-01.
const NOW: &str = "2026-03-01T00:00:00Z";

fn server() -> Server {
    let server = Server::empty();
    server.set_clock(NOW);
    server
}

/// The rules the audit reports for one raw token with `fields` (over a live token with
/// limits of 20/500 and a recent last use: nothing to report by itself).
fn rules_for(fields: Value) -> Vec<String> {
    let server = server();
    let mut record = json!({
        "rateLimitPerMinute": 20, "rateLimitPerHour": 500,
        "lastUsedAt": "2026-02-27T00:00:00.000Z",
    });
    for (k, v) in fields.as_object().unwrap() {
        record[k] = v.clone();
    }
    server.insert_raw("ct_00000000000000b1", record);
    let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
    run.expect(0);
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn triggers(rule: &str, fields: Value) {
    let found = rules_for(fields.clone());
    assert!(
        found.iter().any(|r| r == rule),
        "{rule} not found for {fields}: {found:?}"
    );
}

#[track_caller]
fn spares(rule: &str, fields: Value) {
    let found = rules_for(fields.clone());
    assert!(
        !found.iter().any(|r| r == rule),
        "{rule} found for {fields}: {found:?}"
    );
}

#[test]
fn a_clean_token_has_no_findings() {
    assert_eq!(rules_for(json!({})), Vec::<String>::new());
}

#[test]
fn origin_rules() {
    triggers("live-any-origin", json!({"allowedOrigins": ["*"]}));
    spares(
        "live-any-origin",
        json!({"environment": "test", "allowedOrigins": ["*"]}),
    );

    triggers("live-native", json!({"allowedOrigins": ["native"]}));
    spares(
        "live-native",
        json!({"environment": "test", "allowedOrigins": ["native"]}),
    );

    triggers(
        "live-insecure-origin",
        json!({"allowedOrigins": ["http://shop.example.com"]}),
    );
    triggers(
        "live-insecure-origin",
        json!({"allowedOrigins": ["http://localhost:3000"]}),
    );
    spares(
        "live-insecure-origin",
        json!({"allowedOrigins": ["https://shop.example.com"]}),
    );
    spares(
        "live-insecure-origin",
        json!({"environment": "test", "allowedOrigins": ["http://localhost:3000"]}),
    );

    triggers(
        "legacy-bare-host",
        json!({"allowedOrigins": ["shop.example.com"]}),
    );
    spares(
        "legacy-bare-host",
        json!({"allowedOrigins": ["https://shop.example.com"]}),
    );

    triggers(
        "public-suffix-wildcard",
        json!({"environment": "test", "allowedOrigins": ["https://*.vercel.app"]}),
    );
    triggers(
        "public-suffix-wildcard",
        json!({"allowedOrigins": ["*.co.uk"]}),
    );
    spares(
        "public-suffix-wildcard",
        json!({"allowedOrigins": ["https://*.example.com"]}),
    );

    for held in [
        "https://0x7f.1",
        "http://127.1:8080",
        "https://2130706433",
        "0177.0.0.1",
    ] {
        triggers("ipv4-spelling", json!({"allowedOrigins": [held]}));
    }
    spares(
        "ipv4-spelling",
        json!({"environment": "test", "allowedOrigins": ["http://127.0.0.1:8080"]}),
    );

    triggers(
        "live-wildcard",
        json!({"allowedOrigins": ["https://*.example.com"]}),
    );
    spares(
        "live-wildcard",
        json!({"environment": "test", "allowedOrigins": ["https://*.example.com"]}),
    );

    triggers(
        "www-apex-mismatch",
        json!({"allowedOrigins": ["https://www.example.com"]}),
    );
    triggers(
        "www-apex-mismatch",
        json!({"allowedOrigins": ["https://example.com"]}),
    );
    spares(
        "www-apex-mismatch",
        json!({"allowedOrigins": ["https://www.example.com", "https://example.com"]}),
    );
    spares(
        "www-apex-mismatch",
        json!({"allowedOrigins": ["https://app.example.com"]}),
    );
}

#[test]
fn release_and_limit_rules() {
    let agents = json!({"agentIds": ["agent_1"], "flowIds": [], "pinToVersion": "latest"});
    triggers("live-agent-unpinned", agents.clone());
    let mut pinned = agents.clone();
    pinned["pinToVersion"] = json!("published");
    spares("live-agent-unpinned", pinned);
    let mut targeted = agents.clone();
    targeted["targetAlias"] = json!("production");
    spares("live-agent-unpinned", targeted);
    spares("live-agent-unpinned", json!({"pinToVersion": "latest"}));

    triggers(
        "live-default-limits",
        json!({"rateLimitPerMinute": 10, "rateLimitPerHour": 100}),
    );
    triggers(
        "live-default-limits",
        json!({"rateLimitPerMinute": null, "rateLimitPerHour": null}),
    );
    spares("live-default-limits", json!({}));
    spares(
        "live-default-limits",
        json!({"environment": "test", "rateLimitPerMinute": 10, "rateLimitPerHour": 100}),
    );
}

#[test]
fn lifecycle_rules() {
    triggers("dormant", json!({"lastUsedAt": "2025-10-01T00:00:00.000Z"}));
    triggers(
        "dormant",
        json!({"lastUsedAt": null, "createdAt": "2025-10-01T00:00:00.000Z"}),
    );
    spares("dormant", json!({}));
    spares("dormant", json!({"lastUsedAt": null}));

    triggers(
        "inactive-kept",
        json!({"isActive": false, "updatedAt": "2025-10-01T00:00:00.000Z"}),
    );
    spares(
        "inactive-kept",
        json!({"isActive": false, "updatedAt": "2026-02-20T00:00:00.000Z"}),
    );
    spares(
        "dormant",
        json!({"isActive": false, "lastUsedAt": "2025-10-01T00:00:00.000Z"}),
    );

    triggers("legacy-value", json!({"tokenValue": null}));
    spares("legacy-value", json!({}));

    triggers(
        "retiring-overdue",
        json!({"name": "W (retiring after 2026-02-01T00:00Z → ct_00000000000000ff)"}),
    );
    spares(
        "retiring-overdue",
        json!({"name": "W (retiring after 2026-04-01T00:00Z → ct_00000000000000ff)"}),
    );
}

#[test]
fn duplicate_names() {
    let server = server();
    let clean = |name: &str| json!({"name": name, "rateLimitPerMinute": 20, "rateLimitPerHour": 500, "lastUsedAt": "2026-02-27T00:00:00.000Z"});
    let duplicates = |server: &Server| {
        let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "duplicate-name")
            .count()
    };
    server.insert_raw("ct_00000000000000c1", clean("Widget"));
    server.insert_raw("ct_00000000000000c2", clean("Other"));
    assert_eq!(duplicates(&server), 0);
    server.insert_raw("ct_00000000000000c3", clean("Widget"));
    assert_eq!(duplicates(&server), 2, "each of the two is named");
}

#[test]
fn the_exit_code_follows_fail_on_and_ignores_apply() {
    let server = server();
    server.insert_raw(
        "ct_00000000000000d1",
        json!({"allowedOrigins": ["native"], "rateLimitPerMinute": 20, "rateLimitPerHour": 500, "lastUsedAt": "2026-02-27T00:00:00.000Z"}),
    );
    // A warning: fails only at --fail-on warning or below.
    server.rtctl(&["audit"]).expect(0);
    let run = server.rtctl(&["audit", "--fail-on", "warning"]);
    run.expect(8);
    assert!(
        run.stderr.contains("0 errors, 1 warning and 0 notes"),
        "{}",
        run.stderr
    );
    server.rtctl(&["audit", "--fail-on", "note"]).expect(8);
    server
        .rtctl(&["audit", "--fail-on", "warning", "--ignore", "live-native"])
        .expect(0);
    // Notes are below --fail-on warning: the failure counts what is at or above it only.
    server.insert_raw(
        "ct_00000000000000d3",
        json!({"name": "Wild", "allowedOrigins": ["https://*.example.com"], "rateLimitPerMinute": 20, "rateLimitPerHour": 500, "lastUsedAt": "2026-02-27T00:00:00.000Z"}),
    );
    let run = server.rtctl(&["audit", "--fail-on", "warning"]);
    run.expect(8);
    assert!(
        run.stderr
            .contains("error: the audit found 1 warning at or above --fail-on warning\n"),
        "{}",
        run.stderr
    );
    let run = server.rtctl(&["audit", "--fail-on", "note"]);
    assert!(
        run.stderr
            .contains("error: the audit found 1 warning and 1 note at or above --fail-on note\n"),
        "{}",
        run.stderr
    );
    server.insert_raw(
        "ct_00000000000000d2",
        json!({"name": "Any", "allowedOrigins": ["*"], "rateLimitPerMinute": 20, "rateLimitPerHour": 500, "lastUsedAt": "2026-02-27T00:00:00.000Z"}),
    );
    server.rtctl(&["audit"]).expect(8);
    server.rtctl(&["audit", "--fail-on", "never"]).expect(0);
    // Filters narrow what is audited.
    server.rtctl(&["audit", "--name-contains", "raw"]).expect(0);
    let run = server.rtctl(&["audit", "--ignore", "no-such-rule"]);
    run.expect(2);
    assert!(
        run.stderr.contains("live-any-origin"),
        "the rules are listed: {}",
        run.stderr
    );
}

const FILE: &str = r#"[audit]
fail_on = "warning"
ignore = ["live-default-limits"]

[tokens."Mobile app"]
environment = "live"
origins = ["native"]
flows = ["flow_1"]
audit = { ignore = ["live-native"] }

[tokens."Shop"]
environment = "live"
origins = ["https://shop.example.com", "*"]
flows = ["flow_1"]
"#;

#[test]
fn a_token_file_sets_the_policy_and_is_audited_as_apply_would_leave_it() {
    let server = server();
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, FILE).unwrap();
    server.create(
        "Mobile app",
        json!({"environment": "live", "allowedOrigins": ["native"]}),
    );
    // Shop is not created yet: the file's '*' is found before apply would write it.
    let run = server.rtctl(&["audit", "-f", file.to_str().unwrap(), "--json"]);
    run.expect(8);
    let findings = run.json()["findings"].as_array().unwrap().clone();
    let rules: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    assert!(rules.contains(&("Shop", "live-any-origin")), "{rules:?}");
    assert!(
        !rules.iter().any(|(_, r)| *r == "live-native"),
        "the token's ignore: {rules:?}"
    );
    assert!(
        !rules.iter().any(|(_, r)| *r == "live-default-limits"),
        "the file's ignore: {rules:?}"
    );
    // Flags override the file.
    server
        .rtctl(&["audit", "-f", file.to_str().unwrap(), "--fail-on", "never"])
        .expect(0);
}

#[test]
fn sarif_validates_against_the_schema_and_points_at_the_tokens_lines() {
    let server = server();
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, FILE).unwrap();
    // A token the file does not describe: at line 1, named by id.
    server.insert_raw(
        "ct_00000000000000e1",
        json!({"name": "Elsewhere", "allowedOrigins": ["*"]}),
    );
    let run = server.rtctl(&["audit", "-f", file.to_str().unwrap(), "--format", "sarif"]);
    run.expect(8);
    let log = run.json();
    validate_sarif(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let line_of = |name: &str, rule: &str| {
        results
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["message"]["text"].as_str().unwrap().contains(&format!("\"{name}\""))
            })
            .unwrap_or_else(|| panic!("no {rule} for {name}: {results:#?}"))["locations"][0]
            ["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        line_of("Shop", "live-any-origin"),
        11,
        "the [tokens.\"Shop\"] line"
    );
    assert_eq!(line_of("Elsewhere", "live-any-origin"), 1);
    let elsewhere = results
        .iter()
        .find(|r| r["message"]["text"].as_str().unwrap().contains("Elsewhere"))
        .unwrap();
    assert!(
        elsewhere["message"]["text"]
            .as_str()
            .unwrap()
            .contains("ct_00000000000000e1")
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        file.to_str().unwrap()
    );

    // SARIF needs a file, and is a format of its own.
    server.rtctl(&["audit", "--format", "sarif"]).expect(2);
    server
        .rtctl(&[
            "audit",
            "-f",
            file.to_str().unwrap(),
            "--format",
            "sarif",
            "--json",
        ])
        .expect(2);
}

/// A path with a space, a `#` and a `%` is one relative URI reference in SARIF: escaped, so no
/// part of it reads as a fragment or an escape.
#[test]
fn sarif_uris_are_escaped_paths() {
    let server = server();
    let dir = server.home.path().join("config #1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tokens 100%.toml"), FILE).unwrap();
    let file = dir.join("tokens 100%.toml");
    let run = server.rtctl(&["audit", "-f", file.to_str().unwrap(), "--format", "sarif"]);
    run.expect(8);
    let log = run.json();
    validate_sarif(&log);
    let uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        uri,
        format!(
            "{}/config%20%231/tokens%20100%25.toml",
            server.home.path().display()
        )
    );
    // The same file named with a doubled leading slash is the same path, not a network-path
    // reference (`//authority/…`).
    let doubled = format!("/{}", file.display());
    let run = server.rtctl(&["audit", "-f", &doubled, "--format", "sarif"]);
    run.expect(8);
    let again = &run.json()["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"];
    assert_eq!(again.as_str(), Some(uri.as_str()));
}

/// Validates `log` against the official SARIF 2.1.0 schema (vendored: tests fetch nothing).
fn validate_sarif(log: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/sarif-schema-2.1.0.json")).unwrap();
    let url = "https://rtctl.invalid/sarif-schema-2.1.0.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(log, index) {
        panic!("the SARIF log breaks the schema: {e:#}\n{log:#}");
    }
}

#[test]
fn the_demo_data_shows_what_audit_does() {
    let home = crate::harness::Home::new();
    let run = home.rtctl(&["--local", "audit", "--fail-on", "never", "--json"], &[]);
    run.expect(0);
    let summary = &run.json()["summary"];
    assert!(summary["warning"].as_u64().unwrap() >= 2, "{summary}");
    assert!(summary["note"].as_u64().unwrap() >= 2, "{summary}");
    // A live wildcard's fix lists the token's own sites: the ones its surface's traffic
    // shows it admitted, or else its own domain.
    let fix = |id: &str| {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "live-wildcard" && f["id"] == id)
            .map(|f| f["fix"].as_str().unwrap().to_string())
            .expect("a live-wildcard finding")
    };
    assert_eq!(
        fix("ct_0d3e00000000a002"),
        "list the sites that use it instead: rtctl --local origins add ct_0d3e00000000a002 https://docs.example.com https://api.example.com && rtctl --local origins remove ct_0d3e00000000a002 'https://*.example.com'"
    );
    // Without a surface, its own conversations name its sites (no placeholder, no pointer
    // at `origins traffic`, which needs a surface).
    let legacy = fix("ct_0d3e00000000a006");
    assert_eq!(
        legacy,
        "list the sites its latest conversations came from instead: rtctl --local origins add ct_0d3e00000000a006 https://help.example.org && rtctl --local origins remove ct_0d3e00000000a006 '*.example.org'"
    );
    // The fixes work as printed.
    for id in ["ct_0d3e00000000a002", "ct_0d3e00000000a006"] {
        for args in commands_in(&fix(id)).unwrap() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            home.rtctl(&[&args[..], &["--yes"]].concat(), &[]).expect(0);
        }
        let run = home.rtctl(&["--local", "audit", "--fail-on", "never", "--json"], &[]);
        assert!(
            !run.json()["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "live-wildcard" && f["id"] == id),
            "{}",
            run.stdout
        );
    }
}

/// A live wildcard whose sites neither traffic nor conversations show: the fix says so, with
/// no command to run as it stands (a placeholder run literally adds a junk origin).
#[test]
fn a_live_wildcard_with_no_known_sites_says_so() {
    let server = server();
    server.insert_raw(
        "ct_00000000000000b3",
        json!({"allowedOrigins": ["https://*.example.net"], "lastUsedAt": "2026-02-27T00:00:00.000Z"}),
    );
    let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
    run.expect(0);
    let findings = run.json()["findings"].as_array().unwrap().clone();
    let fix = findings
        .iter()
        .find(|f| f["rule"] == "live-wildcard")
        .map(|f| f["fix"].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        fix.starts_with("no traffic or conversation shows which sites use it"),
        "{fix}"
    );
    for placeholder in ["SITE", "DOMAIN", "origins traffic", " && "] {
        assert!(!fix.contains(placeholder), "{fix}");
    }
    // Its conversations are read once, and only its: no other token holds a wildcard.
    let reads: Vec<String> = server
        .journal()
        .into_iter()
        .filter(|r| r.contains("/conversations"))
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0].contains("ct_00000000000000b3"), "{reads:?}");
    // Conversations the key may not read leave the sites unknown; an unreadable answer
    // fails the audit, as every read it needs.
    let conversations = "/v1/client-tokens/*/conversations";
    server.fault(json!({"method": "GET", "path": conversations, "status": 403, "count": 1}));
    let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
    run.expect(0);
    assert!(
        run.stdout.contains("no traffic or conversation shows"),
        "{run:?}"
    );
    server.fault(json!({"method": "GET", "path": conversations, "status": 503, "count": 0}));
    let run = server.rtctl(&["audit", "--fail-on", "never", "--retries", "0"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("the audit could not read the conversations of ct_00000000000000b3"),
        "{}",
        run.stderr
    );
}

/// The commands a fix prints, as `rtctl` argument lists: from its first `rtctl`, without a
/// closing remark in parentheses, split at `&&`. `None` for a fix that is no command.
fn commands_in(fix: &str) -> Option<Vec<Vec<String>>> {
    let from = fix.find("rtctl ")?;
    let text = &fix[from..];
    let text = text.split(" (").next().unwrap();
    Some(
        text.split(" && ")
            .map(|command| {
                let words = shell_words::split(command).unwrap();
                assert_eq!(words[0], "rtctl", "{fix}");
                words[1..].to_vec()
            })
            .collect(),
    )
}

/// Every origin fix the audit prints for a token holding an IPv4 address spelt otherwise than
/// browsers send it works when run as printed (each from the state the audit saw), and its
/// finding is gone after: the service refuses a list that still holds such an entry, so
/// those fixes are one whole-list update. A wildcard over such an address is dropped, never
/// respelt into one that cannot match either; an address has no www twin.
#[test]
fn every_origin_fix_for_a_list_holding_an_ipv4_spelling_works_when_run() {
    let lists = [
        json!(["https://0x7f.1", "https://example.com"]),
        json!(["0x7f.1:3000", "https://shop.example.com"]),
        json!(["https://*.0x7f.1", "https://shop.example.com"]),
        json!(["native", "http://127.1:3000", "https://shop.example.com"]),
        json!(["*.example.org", "https://127.1", "https://*.vercel.app"]),
    ];
    let runnable = [
        "ipv4-spelling",
        "www-apex-mismatch",
        "legacy-bare-host",
        "live-native",
        "live-insecure-origin",
        "public-suffix-wildcard",
    ];
    let id = "ct_00000000000000b2";
    let audit = |server: &Server| -> Vec<Value> {
        let run = server.rtctl(&["audit", "--json", "--fail-on", "never"]);
        run.expect(0);
        run.json()["findings"].as_array().unwrap().clone()
    };
    let mut ran = Vec::new();
    for list in &lists {
        let fresh = || {
            let server = server();
            server.insert_raw(id, json!({"allowedOrigins": list}));
            server
        };
        let findings = audit(&fresh());
        for finding in &findings {
            let (rule, fix) = (
                finding["rule"].as_str().unwrap(),
                finding["fix"].as_str().unwrap(),
            );
            for never in [
                "SITE",
                "www.0x7f",
                "www.127.1",
                "*.127.0.0.1",
                "0x7f.1'",
                "127.1'",
            ] {
                assert!(!fix.contains(never), "{list}: {rule}: {fix}");
            }
            if !runnable.contains(&rule) {
                continue;
            }
            let server = fresh();
            for args in commands_in(fix).unwrap_or_else(|| panic!("{rule}: {fix}")) {
                let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
                args.push("--yes");
                let run = server.rtctl(&args);
                assert_eq!(run.code, 0, "{list}: {rule}: {fix}: {run:#?}");
            }
            assert!(
                !audit(&server).iter().any(|f| f["rule"] == rule),
                "{list}: {rule} is still found after {fix}"
            );
            ran.push(rule.to_string());
        }
    }
    ran.sort();
    ran.dedup();
    assert_eq!(ran.len(), runnable.len(), "every kind of fix ran: {ran:?}");
}
