//! Rollovers that a scheduled job can run again and again, that two jobs at once agree on,
//! and whose marks rtctl checks before acting on them: a mark is only a claim in a name.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Server;

const MARKETING: &str = "ct_0d3e00000000a001";
const DOCS: &str = "ct_0d3e00000000a002";
const ORIGIN: Option<&str> = Some("https://www.example.com");

fn named(server: &Server, prefix: &str) -> Vec<Value> {
    server.tokens_named(prefix)
}

fn rename(server: &Server, id: &str, name: &str) {
    server
        .api(
            Method::PUT,
            &format!("/v1/client-tokens/{id}"),
            Some(json!({"name": name})),
        )
        .expect(200);
}

fn mark(id: &str) -> String {
    format!("X (retiring after 2020-01-01T00:00Z → {id})")
}

#[test]
fn rerunning_a_scheduled_overlap_rollover_starts_nothing_new() {
    let server = Server::demo();
    let live = |server: &Server| -> usize {
        server
            .tokens()
            .iter()
            .filter(|t| t["environment"] == "live")
            .count()
    };
    let before = live(&server);
    let args = [
        "tokens",
        "rotate",
        "--all",
        "-e",
        "live",
        "--active",
        "--overlap",
        "--yes",
    ];
    let first = server.rtctl(&args);
    first.expect(0);
    let rolled = first.stdout.lines().count();
    assert!(rolled > 0, "{first:?}");
    assert_eq!(live(&server), before + rolled);

    // The CI "re-run" button: every old token retiring, every successor rolling over.
    let again = server.rtctl(&args);
    again.expect(0);
    assert_eq!(again.stdout, "", "{again:?}");
    assert!(
        again.stderr.contains("already rolling over"),
        "{}",
        again.stderr
    );
    let third = server.rtctl(&args);
    third.expect(0);
    assert_eq!(
        live(&server),
        before + rolled,
        "exactly one successor per token"
    );

    // `tokens list` says which are which; --json stays as the server sent it.
    let list = server.rtctl(&["tokens", "list", "-e", "live"]);
    assert_eq!(
        list.stdout.matches("\trolling over\t").count(),
        rolled,
        "{}",
        list.stdout
    );
    assert_eq!(
        list.stdout.matches("\tretiring\t").count(),
        rolled,
        "{}",
        list.stdout
    );
    let json = server.rtctl(&["tokens", "list", "--json"]).json();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("status").is_none())
    );

    // Past the deadline (the server's clock), the successors are ordinary tokens again.
    server.set_clock("2099-01-01T00:00:00Z");
    let list = server.rtctl(&["tokens", "list", "-e", "live"]);
    assert_eq!(
        list.stdout.matches("\trolling over\t").count(),
        0,
        "{}",
        list.stdout
    );
}

#[test]
fn finishing_a_rollover_later_hands_out_the_value_in_use_not_a_retiring_one() {
    let server = Server::demo();
    let first = server.rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    first.expect(0);
    let successor = named(&server, "Marketing site widget")
        .into_iter()
        .find(|t| t["id"] != MARKETING)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A week later the successor was itself rolled over.
    let second = server.rtctl(&["tokens", "rotate", &successor, "--overlap", "--yes"]);
    second.expect(0);
    let in_use = second.stdout.trim().to_string();
    // Finishing by the first id follows the chain to the token in use.
    let run = server.rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    run.expect(0);
    assert_eq!(run.stdout.trim(), in_use, "{run:?}");
    assert_eq!(
        named(&server, "Marketing site widget").len(),
        3,
        "nothing new"
    );
}

#[test]
fn retire_follows_the_chain_and_refuses_one_that_goes_nowhere() {
    let server = Server::demo();
    // A token whose mark names itself, and two that name each other.
    rename(&server, MARKETING, &mark(MARKETING));
    let other = server.create("Pair", json!({}));
    rename(&server, DOCS, &mark(&other));
    rename(&server, &other, &mark(DOCS));
    let run = server.rtctl(&["tokens", "retire", "--due", "--yes"]);
    run.expect(0);
    for id in [MARKETING, DOCS, other.as_str()] {
        server.token(id).expect(200);
        assert!(
            run.stderr.contains(&format!("{id} ")),
            "{id}: {}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("comes back on itself"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Retired"), "{}", run.stderr);

    let named_run = server.rtctl(&["tokens", "retire", MARKETING, "--yes"]);
    named_run.expect(1);
    assert!(
        named_run
            .stderr
            .contains(&format!("{MARKETING} → {MARKETING}")),
        "the chain is named: {}",
        named_run.stderr
    );
    server.token(MARKETING).expect(200);

    // A successor of another environment, or one that does not exist, is no successor.
    let test_token = server.create("Elsewhere", json!({"environment": "test"}));
    rename(&server, MARKETING, &mark(&test_token));
    server
        .rtctl(&["tokens", "retire", MARKETING, "--yes"])
        .expect(1);
    rename(&server, MARKETING, &mark("ct_00000000deadbeef"));
    let run = server.rtctl(&["tokens", "retire", MARKETING, "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    server.token(MARKETING).expect(200);
}

#[test]
fn two_overlap_runs_at_once_agree_on_one_successor() {
    let server = Server::with(rtctl_emulator::Config {
        latency: std::time::Duration::from_millis(300),
        ..Default::default()
    });
    let args = ["tokens", "rotate", MARKETING, "--overlap", "--yes"];
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| server.rtctl(&args));
        let b = scope.spawn(|| server.rtctl(&args));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.expect(0);
    b.expect(0);
    let tokens = named(&server, "Marketing site widget");
    assert_eq!(tokens.len(), 2, "one successor: {tokens:#?}");
    let successor = tokens.iter().find(|t| t["id"] != MARKETING).unwrap();
    let value = server.value_of(successor["id"].as_str().unwrap());
    assert_eq!(a.stdout.trim(), value, "{a:?}");
    assert_eq!(b.stdout.trim(), value, "{b:?}");
    assert_eq!(successor["name"], "Marketing site widget");
    // plan and export see one token with the name.
    let export = server.rtctl(&["export"]);
    export.expect(0);
    assert!(
        export.stdout.contains("[tokens.\"Marketing site widget\"]"),
        "{}",
        export.stdout
    );
}

#[test]
fn a_server_clock_behind_ours_does_not_make_a_rerun_create_a_second_successor() {
    let server = Server::demo();
    server.set_clock("2020-01-01T00:00:00Z");
    // rtctl's own clock is the system's; the server's is years behind.
    let system = |w: &mut rtctl::world::World| w.clock = rtctl::clock::Clock::system();
    // Delivered, but the retiring mark fails: the rerun finishes with the same successor.
    server.fault(json!({"method": "PUT", "path": format!("/v1/client-tokens/{MARKETING}"), "status": 503, "count": 0, "skip": 1}));
    let first = server
        .invocation(
            &[
                "tokens",
                "rotate",
                MARKETING,
                "--overlap",
                "--yes",
                "--retries",
                "0",
            ],
            &[],
        )
        .world(system)
        .run();
    first.expect(1);
    server
        .control(Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    let again = server
        .invocation(&["tokens", "rotate", MARKETING, "--overlap", "--yes"], &[])
        .world(system)
        .run();
    again.expect(0);
    assert_eq!(named(&server, "Marketing site widget").len(), 2);
    assert_eq!(
        first.stdout, again.stdout,
        "the same value, delivered again"
    );
    // The deadline written into the mark is the server's time plus the grace.
    let old = server.token(MARKETING).expect(200)["clientToken"]["name"].clone();
    assert!(
        old.as_str()
            .unwrap()
            .contains("retiring after 2020-01-02T00:00Z"),
        "{old}"
    );
}

#[test]
fn a_twin_that_was_never_a_successor_is_not_adopted() {
    let server = Server::demo();
    let old = server.token(MARKETING).expect(200)["clientToken"].clone();
    // A later token with the same name and fields (a create repeated after a timeout).
    let mut body = json!({});
    for field in [
        "name",
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
        "productSurfaceId",
    ] {
        if !old[field].is_null() {
            body[field] = old[field].clone();
        }
    }
    let twin = server
        .api(Method::POST, "/v1/client-tokens", Some(body))
        .expect(201)["clientToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let twin_value = server.value_of(&twin);
    let run = server.rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    run.expect(0);
    assert!(!run.stderr.contains("Found"), "{}", run.stderr);
    assert_ne!(
        run.stdout.trim(),
        twin_value,
        "the twin's value is not handed out"
    );
    let marked = server.token(MARKETING).expect(200)["clientToken"]["name"].clone();
    assert!(!marked.as_str().unwrap().contains(&twin), "{marked}");
    assert_eq!(named(&server, "Marketing site widget").len(), 3);
}

#[test]
fn a_pending_rollover_is_left_alone_by_plan_export_and_rotate_all_and_finished_by_a_rerun() {
    let server = Server::demo();
    let export = server.rtctl(&["export"]);
    let file = server.home.path().join("tokens.toml");
    std::fs::write(&file, &export.stdout).unwrap();
    // Stopped after the successor was made: its value could not be read.
    server.fault(
        json!({"method": "GET", "path": "/v1/client-tokens/*/token", "status": 503, "count": 0}),
    );
    server
        .rtctl(&[
            "tokens",
            "rotate",
            MARKETING,
            "--overlap",
            "--yes",
            "--retries",
            "0",
        ])
        .expect(1);
    server
        .control(Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    let pending = named(&server, "Marketing site widget");
    assert_eq!(pending.len(), 2);
    assert!(
        pending
            .iter()
            .any(|t| t["name"].as_str().unwrap().contains("(rolling over: run "))
    );
    assert!(pending.iter().any(|t| {
        t["name"]
            .as_str()
            .unwrap()
            .contains("(successor of ct_0d3e00000000a001, run ")
    }));

    // Not exported, never pruned, listed as unmanageable.
    let export = server.rtctl(&["export"]);
    assert!(
        !export.stdout.contains("Marketing site widget"),
        "{}",
        export.stdout
    );
    assert!(
        export.stderr.contains("being rolled over"),
        "{}",
        export.stderr
    );
    let plan = server.rtctl(&["plan", "-f", file.to_str().unwrap(), "--prune", "--json"]);
    let plan = plan.json();
    // Nothing is pruned, and the name the rollover is moving is not created again.
    assert!(
        !plan["changes"].as_array().unwrap().iter().any(|c| c["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Marketing")),
        "{plan:#}"
    );
    assert!(
        plan["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("\"Marketing site widget\" is being rolled over")),
        "{plan:#}"
    );
    // A plain rotate --all skips both; an overlap rerun finishes the rollover.
    let dry = server.rtctl(&["tokens", "rotate", "--all", "-e", "live", "--dry-run"]);
    assert!(!dry.stdout.contains(MARKETING), "{}", dry.stdout);
    let finish = server.rtctl(&[
        "tokens",
        "rotate",
        "--all",
        "-e",
        "live",
        "--overlap",
        "--yes",
        "--name-contains",
        "Marketing",
    ]);
    finish.expect(0);
    let tokens = named(&server, "Marketing site widget");
    assert_eq!(tokens.len(), 2, "{tokens:#?}");
    let successor = tokens.iter().find(|t| t["id"] != MARKETING).unwrap();
    assert_eq!(successor["name"], "Marketing site widget");
    let value = server.value_of(successor["id"].as_str().unwrap());
    assert_eq!(server.init_status(&value, ORIGIN), 200);
}

#[test]
fn retire_due_follows_the_servers_clock() {
    let server = Server::demo();
    server.set_clock("2026-06-09T08:00:00Z");
    let system = |w: &mut rtctl::world::World| w.clock = rtctl::clock::Clock::system();
    server
        .invocation(
            &[
                "tokens",
                "rotate",
                MARKETING,
                "--overlap",
                "--grace",
                "1h",
                "--yes",
            ],
            &[],
        )
        .world(system)
        .run()
        .expect(0);
    let retire = || {
        server
            .invocation(&["tokens", "retire", "--due", "--yes"], &[])
            .world(system)
            .run()
    };
    // The machine's clock is years later, but the server's says the deadline is ahead.
    retire().expect(0);
    server.token(MARKETING).expect(200);
    server.set_clock("2026-06-09T09:00:01Z");
    let run = retire();
    run.expect(0);
    assert!(run.stderr.contains("Retired"), "{}", run.stderr);
    server.token(MARKETING).expect(404);
}

/// A stream that raises a signal at its first write, as if Ctrl-C arrived while the command
/// was busy without waiting on anything (selecting, printing).
struct SignalOnWrite(rtctl::signals::Signals, rtctl::signals::Signal);

impl std::io::Write for SignalOnWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.raise(self.1);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_signal_during_the_selection_ends_the_run_and_starts_nothing() {
    use rtctl::signals::Signal;
    let server = Server::demo();
    server
        .rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"])
        .expect(0);
    let values: Vec<String> = server
        .tokens()
        .iter()
        .map(|t| t["tokenValue"].to_string())
        .collect();
    // The note about what the selection skips is the first thing written: SIGTERM then.
    let run = server
        .invocation(&["tokens", "rotate", "--all", "--yes"], &[])
        .world(|w| {
            let stderr = SignalOnWrite(w.signals.clone(), Signal::Terminate);
            w.streams.stderr = rtctl::stream(stderr);
        })
        .run();
    assert_eq!(run.code, 143, "{run:?}");
    let after: Vec<String> = server
        .tokens()
        .iter()
        .map(|t| t["tokenValue"].to_string())
        .collect();
    assert_eq!(values, after, "nothing was rotated");

    // A dry run that finishes its work after the signal still exits with it.
    let run = server
        .invocation(&["tokens", "rotate", "--all", "--dry-run"], &[])
        .world(|w| {
            let stdout = SignalOnWrite(w.signals.clone(), Signal::Interrupt);
            w.streams.stdout = rtctl::stream(stdout);
        })
        .run();
    assert_eq!(run.code, 130, "{run:?}");
}

#[test]
fn a_run_that_starts_while_another_is_creating_waits_for_its_successor() {
    let server = Server::with(rtctl_emulator::Config {
        latency: std::time::Duration::from_millis(300),
        ..Default::default()
    });
    // A's create is slow, and a later write is rate-limited: B sees A's pending mark long
    // before A's successor exists, and its own writes are held up.
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "delayMs": 1000}));
    server.fault(json!({"method": "PUT", "path": "/v1/client-tokens/*", "status": 429, "retryAfter": "1", "skip": 1}));
    let args = ["tokens", "rotate", MARKETING, "--overlap", "--yes"];
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| server.rtctl(&args));
        // B starts once A has marked the old token as its own.
        server.wait_for_requests(|j| {
            j.iter()
                .any(|r| r == &format!("PUT /v1/client-tokens/{MARKETING}"))
        });
        let b = scope.spawn(|| server.rtctl(&args));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.expect(0);
    b.expect(0);
    let tokens = named(&server, "Marketing site widget");
    assert_eq!(tokens.len(), 2, "one successor: {tokens:#?}");
    let successor = tokens.iter().find(|t| t["id"] != MARKETING).unwrap();
    assert_eq!(successor["name"], "Marketing site widget");
    let value = server.value_of(successor["id"].as_str().unwrap());
    assert_eq!(a.stdout.trim(), value, "{a:?}");
    assert_eq!(b.stdout.trim(), value, "{b:?}");
    let old = server.token(MARKETING).expect(200)["clientToken"]["name"].clone();
    assert!(
        old.as_str()
            .unwrap()
            .ends_with(&format!("→ {})", successor["id"].as_str().unwrap())),
        "{old}"
    );
}

#[test]
fn a_rollover_stopped_before_the_successor_got_its_name_is_finished_by_the_scheduled_rerun() {
    let server = Server::demo();
    // The third write (naming the successor) fails for good: the old token is retiring, the
    // successor still tagged.
    server.fault(json!({"method": "PUT", "path": "/v1/client-tokens/*", "status": 400, "skip": 2}));
    let first = server.rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    first.expect(1);
    assert!(
        first.stderr.contains("run the same command again"),
        "{}",
        first.stderr
    );
    server
        .control(Method::DELETE, "/__emulator/faults", None)
        .expect(200);
    // Meanwhile, retiring the old token would leave a successor nothing can finish: refused.
    server.set_clock("2099-01-01T00:00:00Z");
    let retire = server.rtctl(&["tokens", "retire", "--due", "--yes"]);
    retire.expect(0);
    assert!(
        retire.stderr.contains("is not finished"),
        "{}",
        retire.stderr
    );
    server.token(MARKETING).expect(200);
    // The scheduled job finishes it.
    let again = server.rtctl(&[
        "tokens",
        "rotate",
        "--all",
        "-e",
        "live",
        "--overlap",
        "--yes",
        "--name-contains",
        "Marketing",
    ]);
    again.expect(0);
    assert_eq!(
        first.stdout,
        again.stdout.split('\t').nth(2).unwrap_or_default(),
        "{again:?}"
    );
    let tokens = named(&server, "Marketing site widget");
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens.iter().any(|t| t["name"] == "Marketing site widget"),
        "{tokens:#?}"
    );
    server
        .rtctl(&["tokens", "retire", "--due", "--yes"])
        .expect(0);
    server.token(MARKETING).expect(404);
}

#[test]
fn a_create_that_certainly_failed_gives_the_old_token_its_name_back() {
    let server = Server::demo();
    let before = server.token(MARKETING).expect(200)["clientToken"]["name"].clone();
    server.fault(json!({"method": "POST", "path": "/v1/client-tokens", "status": 422}));
    let run = server.rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("keeps its name"), "{}", run.stderr);
    assert_eq!(
        server.token(MARKETING).expect(200)["clientToken"]["name"],
        before
    );
    // A 429 on create means it was not made: tried again, and the rollover goes through.
    server.fault(
        json!({"method": "POST", "path": "/v1/client-tokens", "status": 429, "retryAfter": "0"}),
    );
    server
        .rtctl(&["tokens", "rotate", MARKETING, "--overlap", "--yes"])
        .expect(0);
    assert_eq!(named(&server, "Marketing site widget").len(), 2);

    // A name the marks cannot fit beside is refused before anything changes.
    let long = "L".repeat(250);
    rename(&server, DOCS, &long);
    let run = server.rtctl(&["tokens", "rotate", DOCS, "--overlap", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("shorten it first"), "{}", run.stderr);
    assert_eq!(server.token(DOCS).expect(200)["clientToken"]["name"], long);
}

#[test]
fn every_filter_a_refusal_suggests_works_as_suggested() {
    let server = Server::demo();
    for (args, bad) in [
        (vec!["tokens", "rotate", DOCS, "--yes"], ".name"),
        (
            vec!["tokens", "rotate", DOCS, "--overlap", "--yes"],
            ".[] | .name",
        ),
        (
            vec![
                "tokens",
                "create",
                "--name",
                "Jq",
                "--origin",
                "https://jq.example.com",
                "--flow",
                "flow_support_01",
            ],
            ".name",
        ),
    ] {
        let mut refused = args.clone();
        refused.extend(["--jq", bad]);
        let run = server.rtctl(&refused);
        run.expect(7);
        let hint = run
            .stderr
            .lines()
            .find(|l| l.starts_with("hint:"))
            .unwrap()
            .to_string();
        // Every `--jq FILTER` the hint names keeps the command working.
        let filters: Vec<String> = shell_words::split(&hint.replace(['(', ')', ','], " "))
            .unwrap()
            .windows(2)
            .filter(|w| w[0] == "--jq")
            .map(|w| w[1].clone())
            .collect();
        assert!(!filters.is_empty(), "{hint}");
        for filter in filters {
            let mut suggested = args.clone();
            suggested.extend(["--jq", &filter]);
            let run = server.rtctl(&suggested);
            assert_eq!(run.code, 0, "{filter}: {run:?}");
            assert!(!run.stdout.trim().is_empty(), "{filter}: {run:?}");
        }
    }
}
