//! Rotation without downtime: `tokens rotate --overlap` makes a successor and marks the old
//! token as retiring; `tokens retire` finishes the rollover. Every interruption is finished
//! by running the same command again, with exactly one successor in the end.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Server;

const MARKETING: &str = "ct_0d3e00000000a001";
const ORIGIN: Option<&str> = Some("https://www.example.com");

fn rollover(server: &Server, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["tokens", "rotate", MARKETING, "--overlap", "--yes"];
    args.extend_from_slice(extra);
    server.rtctl(&args)
}

/// Tokens named like the Marketing widget, whatever their mark.
fn marketing_tokens(server: &Server) -> Vec<Value> {
    server.tokens_named("Marketing site widget")
}

fn successor_of(server: &Server) -> String {
    let old = server.token(MARKETING).expect(200)["clientToken"].clone();
    let name = old["name"].as_str().unwrap();
    let at = name.rfind("→ ").expect("marked as retiring");
    name[at + "→ ".len()..name.len() - 1].to_string()
}

fn clear_faults(server: &Server) {
    server
        .control(Method::DELETE, "/__emulator/faults", None)
        .expect(200);
}

#[test]
fn a_rollover_keeps_both_values_working_until_the_old_is_retired() {
    let server = Server::demo();
    server.set_clock("2026-06-09T08:00:00Z");
    let export = server.rtctl(&["export"]);
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, &export.stdout).unwrap();
    let old_value = server.value_of(MARKETING);
    let before = server.token(MARKETING).expect(200)["clientToken"].clone();

    let run = rollover(&server, &["--grace", "36h", "--json"]);
    run.expect(0);
    let element = &run.json()[0];
    let successor = element["id"].as_str().unwrap().to_string();
    assert_eq!(element["previousId"], MARKETING);
    assert_eq!(element["name"], "Marketing site widget");
    assert_eq!(element["retireAfter"], "2026-06-10T20:00:00Z");
    let new_value = element["value"].as_str().unwrap().to_string();
    assert_eq!(server.value_of(&successor), new_value);

    // Every field copied; the old one marked, both working.
    let copy = server.token(&successor).expect(200)["clientToken"].clone();
    for field in [
        "environment",
        "allowedOrigins",
        "flowIds",
        "agentIds",
        "defaultFlowId",
        "rateLimitPerMinute",
        "rateLimitPerHour",
        "maxMessagesPerSession",
        "sessionIdleTimeoutMinutes",
        "config",
        "targetAlias",
        "targetVersionId",
        "productSurfaceId",
        "isActive",
    ] {
        assert_eq!(copy[field], before[field], "{field}");
    }
    assert_eq!(copy["name"], "Marketing site widget");
    // Unset on the old token, the service's default on the successor (a create takes no null).
    assert_eq!(before["pinToVersion"], Value::Null);
    assert_eq!(copy["pinToVersion"], "latest");
    assert_eq!(
        server.token(MARKETING).expect(200)["clientToken"]["name"],
        format!("Marketing site widget (retiring after 2026-06-10T20:00Z → {successor})")
    );
    assert_eq!(
        server.value_of(MARKETING),
        old_value,
        "the old value lives on"
    );
    assert_eq!(server.init_status(&old_value, ORIGIN), 200);
    assert_eq!(server.init_status(&new_value, ORIGIN), 200);

    // The token file still matches: the successor carries the name, the old one is left out.
    let plan = server.rtctl(&["plan", "-f", file.to_str().unwrap(), "--expect-no-changes"]);
    plan.expect(0);
    assert!(plan.stdout.contains("retiring"), "{plan:?}");

    // Shown as retiring; not due yet.
    let list = server.rtctl(&["tokens", "list"]);
    assert!(list.stdout.contains(&format!("{MARKETING}\t")));
    assert!(list.stdout.contains("\tretiring\t"), "{}", list.stdout);
    let run = server.rtctl(&["tokens", "retire", "--due", "--yes"]);
    run.expect(0);
    server.token(MARKETING).expect(200);

    // Past the deadline, a scheduled retire deletes it; the old value is refused after.
    server.set_clock("2026-06-10T20:00:01Z");
    let run = server.rtctl(&["tokens", "retire", "--due", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("Retired"), "{}", run.stderr);
    server.token(MARKETING).expect(404);
    assert_eq!(server.init_status(&old_value, ORIGIN), 401);
    assert_eq!(server.init_status(&new_value, ORIGIN), 200);
}

#[test]
fn idle_counts_from_the_later_of_last_use_and_the_rollover() {
    let server = Server::demo();
    server.set_clock("2026-06-09T08:00:00Z");
    let old_value = server.value_of(MARKETING);
    rollover(&server, &["--grace", "7d"]).expect(0);
    // Unused for an hour since the rollover began: not idle for 2h yet.
    server.set_clock("2026-06-09T09:00:00Z");
    let run = server.rtctl(&["tokens", "retire", "--idle", "2h", "--yes"]);
    run.expect(0);
    server.token(MARKETING).expect(200);
    // Used at 09:00 (the widget's init), then quiet until 10:30: 90 minutes idle.
    assert_eq!(server.init_status(&old_value, ORIGIN), 200);
    server.set_clock("2026-06-09T10:30:00Z");
    server
        .rtctl(&["tokens", "retire", "--idle", "2h", "--yes"])
        .expect(0);
    server.token(MARKETING).expect(200);
    // At 11:00 it has been idle for 2h: deactivated, so the step can be undone.
    server.set_clock("2026-06-09T11:00:00Z");
    let run = server.rtctl(&["tokens", "retire", "--idle", "2h", "--deactivate", "--yes"]);
    run.expect(0);
    let old = server.token(MARKETING).expect(200)["clientToken"].clone();
    assert_eq!(old["isActive"], false);
    assert_eq!(server.init_status(&old_value, ORIGIN), 403);
}

#[test]
fn retire_refuses_what_is_not_retiring_and_asks_like_delete() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "retire", MARKETING, "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("is not retiring"), "{}", run.stderr);
    rollover(&server, &[]).expect(0);
    // No terminal, no --yes: refused before anything changes.
    server.rtctl(&["tokens", "retire", MARKETING]).expect(2);
    let run = server
        .invocation(&["tokens", "retire", MARKETING], &[])
        .terminal(120, &["n"])
        .run();
    run.expect(3);
    assert!(run.stderr.contains("Retire 1 token?"), "{}", run.stderr);
    server.token(MARKETING).expect(200);
    // Never before its successor exists.
    let successor = successor_of(&server);
    server
        .api(
            Method::DELETE,
            &format!("/v1/client-tokens/{successor}"),
            None,
        )
        .expect(200);
    let run = server.rtctl(&["tokens", "retire", MARKETING, "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    server.token(MARKETING).expect(200);
}

#[test]
fn an_unnamed_token_cannot_be_rolled_over() {
    let server = Server::empty();
    server.insert_raw("ct_00000000000000a7", json!({"name": null}));
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        "ct_00000000000000a7",
        "--overlap",
        "--yes",
    ]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("rtctl tokens update ct_00000000000000a7 --name NAME"),
        "{}",
        run.stderr
    );
    assert_eq!(server.tokens().len(), 1, "nothing was created");
}

#[test]
fn several_tokens_print_previous_new_and_value_and_all_skips_the_retiring() {
    let server = Server::demo();
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        MARKETING,
        "ct_0d3e00000000a002",
        "--overlap",
        "--yes",
    ]);
    run.expect(0);
    for line in run.stdout.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(server.value_of(parts[1]), parts[2]);
        assert!(
            server.token(parts[0]).expect(200)["clientToken"]["name"]
                .as_str()
                .unwrap()
                .contains(&format!("→ {})", parts[1]))
        );
    }
    // rotate --all leaves the retiring tokens alone; delete --all lists them as retiring.
    let run = server.rtctl(&["tokens", "rotate", "--all", "-e", "live", "--dry-run"]);
    run.expect(0);
    assert!(!run.stdout.contains(MARKETING), "{}", run.stdout);
    // Nor the successors still rolling over: a rerun of a scheduled job starts nothing.
    assert!(
        run.stderr
            .contains("Skipping 4 tokens already rolling over"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("rolling over from").count(),
        2,
        "{}",
        run.stderr
    );
    let run = server
        .invocation(&["tokens", "delete", "--all", "-e", "live"], &[])
        .terminal(200, &["n"])
        .run();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(MARKETING))
        .unwrap()
        .to_string();
    assert!(line.contains("retiring"), "{line}");
}

#[test]
fn a_lost_create_reply_is_resolved_without_a_second_successor() {
    let server = Server::demo();
    // The successor is created but its reply is lost: rtctl finds it in the list.
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "drop": "after"}));
    let run = rollover(&server, &[]);
    run.expect(0);
    assert_eq!(marketing_tokens(&server).len(), 2);
    assert_eq!(
        run.stdout,
        format!("{}\n", server.value_of(&successor_of(&server)))
    );
}

#[test]
fn every_interruption_is_finished_by_running_the_same_command_again() {
    let successor_value = "/v1/client-tokens/*/token";
    let cases: Vec<(&str, Value)> = vec![
        // The create's reply lost, and the list that would find the successor fails too.
        (
            "create lost, list failing",
            json!([
                {"method": "POST", "path": "/v1/client-tokens", "drop": "after"},
                {"method": "GET", "path": "/v1/client-tokens", "status": 503, "count": 0},
            ]),
        ),
        // Created, but its value could not be read: nothing delivered, nothing marked.
        (
            "value unreadable",
            json!([{"method": "GET", "path": successor_value, "status": 503, "count": 0}]),
        ),
        // The old token could not be marked as being rolled over: nothing was created.
        (
            "pending mark failing",
            json!([{"method": "PUT", "path": format!("/v1/client-tokens/{MARKETING}"), "status": 503, "count": 0}]),
        ),
        // Created and delivered, but the old token could not be marked as retiring.
        (
            "mark failing",
            json!([{"method": "PUT", "path": format!("/v1/client-tokens/{MARKETING}"), "status": 503, "count": 0, "skip": 1}]),
        ),
        // Marked as retiring, but the successor could not be given the name.
        (
            "naming failing",
            json!([{"method": "PUT", "path": "/v1/client-tokens/*", "status": 503, "count": 0, "skip": 2}]),
        ),
    ];
    for (what, faults) in cases {
        let server = Server::demo();
        let old_value = server.value_of(MARKETING);
        for fault in faults.as_array().unwrap() {
            server.fault(fault.clone());
        }
        let first = rollover(&server, &["--retries", "0"]);
        assert_eq!(first.code, 1, "{what}: {first:?}");
        assert!(
            first.stderr.contains("run the same command again"),
            "{what}: {}",
            first.stderr
        );
        clear_faults(&server);
        let again = rollover(&server, &[]);
        again.expect(0);
        let tokens = marketing_tokens(&server);
        assert_eq!(
            tokens.len(),
            2,
            "{what}: exactly one successor: {tokens:#?}"
        );
        let successor = successor_of(&server);
        assert_eq!(
            again.stdout,
            format!("{}\n", server.value_of(&successor)),
            "{what}"
        );
        assert_eq!(
            server.value_of(MARKETING),
            old_value,
            "{what}: the old value lives"
        );
        // And once more: the same successor, delivered again, nothing new.
        let third = rollover(&server, &[]);
        third.expect(0);
        assert_eq!(third.stdout, again.stdout, "{what}");
        assert_eq!(marketing_tokens(&server).len(), 2, "{what}");
    }
}

#[test]
fn sigterm_mid_rollover_finishes_what_was_sent_and_a_rerun_adds_nothing() {
    let server = Server::with(rtctl_emulator::Config {
        latency: std::time::Duration::from_millis(150),
        ..Default::default()
    });
    let child = server.spawn(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    server.wait_for_requests(|j| j.iter().any(|r| r == "POST /v1/client-tokens"));
    crate::harness::signal(&child, "-TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    let rerun = rollover(&server, &[]);
    rerun.expect(0);
    assert_eq!(marketing_tokens(&server).len(), 2);
    let value = server.value_of(&successor_of(&server));
    assert_eq!(rerun.stdout, format!("{value}\n"));
    // Whatever the first run printed was that same value.
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.is_empty() || printed == format!("{value}\n"),
        "{printed}"
    );
}

#[test]
fn a_new_user_rolls_over_lists_and_retires_with_local() {
    let home = crate::harness::Home::new();
    let local = |args: &[&str]| {
        let mut all = vec!["--local"];
        all.extend_from_slice(args);
        home.rtctl(&all, &[])
    };
    let run = local(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    run.expect(0);
    assert!(run.stdout.starts_with("ct_live_"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("rtctl --local tokens retire {MARKETING}")),
        "{}",
        run.stderr
    );
    let list = local(&["tokens", "list", "--json"]);
    let tokens = list.expect(0).json();
    let marked = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["name"]
                .as_str()
                .unwrap()
                .starts_with("Marketing site widget")
        })
        .count();
    assert_eq!(marked, 2);
    local(&["tokens", "retire", MARKETING, "--yes"]).expect(0);
    local(&["tokens", "get", MARKETING]).expect(5);
}
