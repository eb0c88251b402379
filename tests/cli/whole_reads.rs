//! Whole-account reads (`--all`, export, plan, audit, bulk selections, completions) are one
//! request without `limit` where the service answers the whole list, and keep every guard
//! of a paged read: servers that page anyway, replies over the body bound, pages larger
//! than asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::harness::Server;

fn token(i: usize) -> Value {
    json!({
        "id": format!("ct_{i:016x}"),
        "name": format!("Token {i:04}"),
        "allowedOrigins": ["https://p.example.com"],
        "flowIds": ["flow_1"],
        "environment": "test",
        "isActive": true,
    })
}

/// How a hostile list server answers.
#[derive(Clone, Copy)]
struct Behaviour {
    total: usize,
    /// The unpaged reply holds only this many, with `hasMore: true` (a service that pages
    /// anyway); `None`: the whole list.
    unpaged_page: Option<usize>,
    /// Pages hold this many more than `limit`.
    oversize: usize,
    /// Whitespace put into the unpaged reply after this many tokens, streamed without a
    /// length: over the body bound part way.
    padded_after: Option<usize>,
    /// The unpaged reply lists every token twice.
    twice: bool,
    /// Pages start this many tokens before the offset asked for (they overlap).
    shifted: usize,
    /// The unpaged reply ends after this many tokens, mid-list, as a server that closes a
    /// body without a length (or a proxy cutting one) ends it: no error, just no more.
    ends_after: Option<usize>,
}

impl Behaviour {
    /// `total` tokens, the whole list in one reply, pages as asked.
    fn honest(total: usize) -> Behaviour {
        Behaviour {
            total,
            unpaged_page: None,
            oversize: 0,
            padded_after: None,
            twice: false,
            shifted: 0,
            ends_after: None,
        }
    }
}

/// Serves `behaviour`, recording each request's query.
fn list_server(server: &Server, behaviour: Behaviour) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let url = server.hostile(Router::new().route(
        "/v1/client-tokens",
        get(move |Query(query): Query<HashMap<String, String>>| {
            let log = log.clone();
            async move {
                let mut keys: Vec<_> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                keys.sort();
                log.lock().unwrap().push(keys.join("&"));
                let number = |k: &str| query.get(k).and_then(|v| v.parse::<usize>().ok());
                let Some(limit) = number("limit") else {
                    let shown = behaviour.unpaged_page.unwrap_or(behaviour.total);
                    let mut tokens: Vec<Value> = (0..shown).map(token).collect();
                    if behaviour.twice {
                        tokens.extend((0..shown).map(token));
                    }
                    if let Some(after) = behaviour.ends_after {
                        let head: Vec<String> = tokens[..after].iter().map(Value::to_string).collect();
                        let part: Result<String, std::io::Error> =
                            Ok(format!("{{\"clientTokens\": [{},", head.join(",")));
                        return Body::from_stream(futures_util::stream::iter([part])).into_response();
                    }
                    if let Some(after) = behaviour.padded_after {
                        let head: Vec<String> = tokens[..after].iter().map(Value::to_string).collect();
                        let tail: Vec<String> = tokens[after..].iter().map(Value::to_string).collect();
                        let parts: Vec<Result<String, std::io::Error>> = vec![
                            Ok(format!("{{\"clientTokens\": [{},", head.join(","))),
                            Ok(" ".repeat(17 * 1024 * 1024)),
                            Ok(format!("{}]}}", tail.join(","))),
                        ];
                        return Body::from_stream(futures_util::stream::iter(parts)).into_response();
                    }
                    let mut body = json!({ "clientTokens": tokens });
                    if behaviour.unpaged_page.is_some() {
                        body["pagination"] = json!({"hasMore": true});
                    }
                    return axum::Json(body).into_response();
                };
                let offset = number("offset").unwrap_or(0);
                let start = offset.saturating_sub(behaviour.shifted);
                let end = (start + limit + behaviour.oversize).min(behaviour.total);
                let tokens: Vec<Value> = (start.min(end)..end).map(token).collect();
                axum::Json(json!({
                    "clientTokens": tokens,
                    "pagination": {"limit": limit, "offset": offset, "hasMore": end < behaviour.total},
                }))
                .into_response()
            }
        }),
    ));
    (url, seen)
}

fn ids(run: &crate::harness::Run) -> Vec<String> {
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn expected(total: usize) -> Vec<String> {
    (0..total).map(|i| format!("ct_{i:016x}")).collect()
}

#[test]
fn a_whole_reply_that_says_has_more_is_paged_on_from_where_it_ended() {
    let server = Server::empty();
    let (url, seen) = list_server(
        &server,
        Behaviour {
            unpaged_page: Some(150),
            ..Behaviour::honest(450)
        },
    );
    let run = server.rtctl_env(
        &["tokens", "list", "--all", "--json"],
        &[("RUNTYPE_API_URL", &url)],
    );
    assert_eq!(ids(run.expect(0)), expected(450));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "", "the whole list first");
    assert_eq!(
        seen[1], "limit=200&offset=150",
        "then on from where it ended"
    );
    assert!(
        seen.contains(&"limit=200&offset=350".to_string()),
        "{seen:?}"
    );
}

#[test]
fn a_whole_reply_over_the_body_bound_restarts_as_a_paged_read() {
    // Found part way through a streamed reply: what was handed out is not handed out again.
    let server = Server::empty();
    let (url, seen) = list_server(
        &server,
        Behaviour {
            padded_after: Some(300),
            ..Behaviour::honest(700)
        },
    );
    let run = server.rtctl_env(
        &["tokens", "list", "--all", "--json"],
        &[("RUNTYPE_API_URL", &url)],
    );
    assert_eq!(
        ids(run.expect(0)),
        expected(700),
        "each token once, in order"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[..2], ["", "limit=200&offset=0"], "{seen:?}");

    // Said by its length before a byte is read: the emulator pads the reply.
    let server = Server::demo();
    server.fault(json!({"method": "GET", "path": "/v1/client-tokens", "padBytes": 17_000_000u64}));
    let run = server.rtctl(&["tokens", "list", "--all", "--json"]);
    assert_eq!(run.expect(0).json().as_array().unwrap().len(), 6);
}

#[test]
fn pages_holding_more_than_limit_fail_the_read_naming_it() {
    let server = Server::empty();
    let (url, _) = list_server(
        &server,
        Behaviour {
            unpaged_page: Some(100),
            oversize: 300,
            ..Behaviour::honest(1500)
        },
    );
    for args in [
        &["tokens", "list", "--all", "--json"][..],
        &["tokens", "list", "--limit", "250"],
        &["export"],
        &["audit"],
        &["tokens", "delete", "--all", "--yes"],
    ] {
        let run = server.rtctl_env(args, &[("RUNTYPE_API_URL", &url)]);
        run.expect(1);
        assert!(
            run.stderr
                .contains("the server sent 500: it does not honour `limit`"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_list_that_repeats_a_token_fails_the_read_naming_it() {
    // The one reply lists every token twice.
    let server = Server::empty();
    let (url, _) = list_server(
        &server,
        Behaviour {
            twice: true,
            ..Behaviour::honest(500)
        },
    );
    let first = "ct_0000000000000000";
    for args in [
        &["tokens", "list", "--all", "--json"][..],
        &["export"],
        &["audit"],
        &["tokens", "delete", "--all", "--yes"],
    ] {
        let run = server.rtctl_env(args, &[("RUNTYPE_API_URL", &url)]);
        run.expect(1);
        assert!(
            run.stderr
                .contains(&format!("the server listed {first} twice")),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("Exported"), "{args:?}: {}", run.stderr);
    }
    // A reply of 100 that says hasMore, then pages that start 50 early: the page after it
    // repeats tokens the reply handed out.
    let (url, _) = list_server(
        &server,
        Behaviour {
            unpaged_page: Some(100),
            shifted: 50,
            ..Behaviour::honest(500)
        },
    );
    let run = server.rtctl_env(
        &["tokens", "list", "--all", "--json"],
        &[("RUNTYPE_API_URL", &url)],
    );
    run.expect(1);
    assert!(
        run.stderr
            .contains(&format!("the server listed {} twice", expected(51)[50])),
        "{}",
        run.stderr
    );
}

#[test]
fn a_whole_reply_that_breaks_off_is_read_again_page_by_page() {
    // The connection breaks 500 bytes in: the read goes on page by page, each token once.
    let server = Server::demo();
    let all = ids(server
        .rtctl(&["tokens", "list", "--all", "--json"])
        .expect(0));
    server
        .fault(json!({"method": "GET", "path": "/v1/client-tokens", "cutAfter": 500, "count": 1}));
    let run = server.rtctl(&["tokens", "list", "--all", "--json"]);
    assert_eq!(ids(run.expect(0)), all, "{}", run.stderr);
    // And so is the first page after it, which is retried like any page.
    server
        .fault(json!({"method": "GET", "path": "/v1/client-tokens", "cutAfter": 500, "count": 2}));
    let run = server.rtctl(&["tokens", "list", "--all", "--json"]);
    assert_eq!(ids(run.expect(0)), all, "{}", run.stderr);

    // A body that ends part way without an error (no length said, a proxy cutting it).
    let empty = Server::empty();
    let (url, seen) = list_server(
        &empty,
        Behaviour {
            ends_after: Some(120),
            ..Behaviour::honest(450)
        },
    );
    let run = empty.rtctl_env(
        &["tokens", "list", "--all", "--json"],
        &[("RUNTYPE_API_URL", &url)],
    );
    assert_eq!(ids(run.expect(0)), expected(450), "{}", run.stderr);
    assert_eq!(seen.lock().unwrap()[..2], ["", "limit=200&offset=0"]);

    // Data arrived, so a reply that keeps breaking off is said as such: never "could not
    // reach" or "did not answer", nor a hint that the URL names a website.
    server
        .fault(json!({"method": "GET", "path": "/v1/client-tokens", "cutAfter": 500, "count": 0}));
    let run = server.rtctl(&["tokens", "list", "--all", "--json", "--retries", "0"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("/v1/client-tokens?limit=200&offset=0 broke off after 500 bytes"),
        "{}",
        run.stderr
    );
    for wrong in ["could not reach", "did not answer", "not a website"] {
        assert!(!run.stderr.contains(wrong), "{wrong}: {}", run.stderr);
    }
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}
