//! Every fault switch, through the control endpoint, and the request journal.

use std::time::{Duration, Instant};

use reqwest::Method;
use rtctl_emulator::{Config, FaultSpec};
use serde_json::{Value, json};

use crate::support::Api;

#[tokio::test]
async fn status_faults_answer_without_acting_and_carry_retry_headers() {
    let api = Api::empty().await;
    api.fault(json!({
        "method": "POST", "path": "/v1/client-tokens", "status": 429, "count": 2,
        "retryAfter": "3", "retryAfterMs": 2500, "rateLimitReset": 1_900_000_000u64,
        "code": "SLOW_MODE_HOURLY_LIMIT_EXCEEDED",
    }))
    .await;
    let body = json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]});
    for _ in 0..2 {
        let reply = api.post("/v1/client-tokens", body.clone()).await;
        let error = reply.expect(429);
        assert_eq!(error["error"], "Rate limit exceeded");
        assert_eq!(error["code"], "SLOW_MODE_HOURLY_LIMIT_EXCEEDED");
        assert_eq!(reply.header("retry-after"), Some("3"));
        assert_eq!(reply.header("retry-after-ms"), Some("2500"));
        assert_eq!(reply.header("x-ratelimit-reset"), Some("1900000000"));
    }
    assert!(api.tokens().await.is_empty(), "a status fault does not act");
    api.post("/v1/client-tokens", body).await.expect(201);
    assert_eq!(
        api.tokens().await.len(),
        1,
        "the fault was used up after two requests"
    );
}

#[tokio::test]
async fn faults_match_method_and_path_patterns() {
    let api = Api::demo().await;
    let id = api.id_of("Docs assistant").await;
    api.fault(json!({"method": "GET", "path": "/v1/client-tokens/*/token", "status": 503, "retryAfter": "Wed, 21 Oct 2026 07:28:00 GMT"}))
        .await;
    api.get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    api.post(&format!("/v1/client-tokens/{id}/regenerate"), json!({}))
        .await
        .expect(200);
    let reply = api.get(&format!("/v1/client-tokens/{id}/token")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.header("retry-after"),
        Some("Wed, 21 Oct 2026 07:28:00 GMT")
    );
    api.get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200);

    api.fault(json!({"path": "/v1/**", "status": 500, "count": 0}))
        .await;
    for path in [
        "/v1/client-tokens",
        &format!("/v1/client-tokens/{id}/conversations"),
    ] {
        assert_eq!(
            api.get(path).await.expect(500)["error"],
            "Internal server error"
        );
    }
    let listed = api
        .raw(Method::GET, "/__emulator/faults", None, None)
        .await
        .expect(200);
    let faults = listed["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!(
        faults[0]["remaining"],
        json!(null),
        "count 0 lasts until cleared"
    );
    let cleared = api
        .raw(Method::DELETE, "/__emulator/faults", None, None)
        .await
        .expect(200);
    assert_eq!(cleared["cleared"], 1);
    api.get("/v1/client-tokens").await.expect(200);
}

#[tokio::test]
async fn delay_faults_hold_the_reply() {
    let api = Api::demo().await;
    api.fault(json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": 300}))
        .await;
    let started = Instant::now();
    api.get("/v1/client-tokens").await.expect(200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    api.get("/v1/client-tokens").await.expect(200);
    let journal = api.journal().await;
    assert!(
        journal[0]["fault"]
            .as_str()
            .unwrap()
            .contains("delay 300ms")
    );
    assert!(
        journal[1].get("fault").is_none(),
        "used up after one request"
    );
}

#[tokio::test]
async fn a_delayed_request_does_not_block_others() {
    let api = Api::demo().await;
    api.fault(json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": 2000}))
        .await;
    let finished = std::sync::Mutex::new(Vec::new());
    let slow = async {
        api.get("/v1/client-tokens").await.expect(200);
        finished.lock().unwrap().push("slow");
    };
    let fast = async {
        // Sent once the slow one is being held (the fault is used up by then).
        while !api.get("/__emulator/faults").await.json()["faults"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            tokio::task::yield_now().await;
        }
        api.get("/v1/client-tokens?limit=1").await.expect(200);
        finished.lock().unwrap().push("fast");
    };
    tokio::join!(slow, fast);
    assert_eq!(*finished.lock().unwrap(), ["fast", "slow"]);
}

#[tokio::test]
async fn drop_after_acts_then_closes_without_a_reply() {
    let api = Api::demo().await;
    let id = api.id_of("Marketing site widget").await;
    let before = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200)["token"]
        .clone();
    api.fault(json!({"method": "POST", "path": "/v1/client-tokens/*/regenerate", "drop": "after"}))
        .await;
    let result = api
        .http
        .post(format!("{}/v1/client-tokens/{id}/regenerate", api.url))
        .bearer_auth(&api.key)
        .send()
        .await;
    let error = result.expect_err("the connection closes without a reply");
    assert!(!error.is_status(), "{error}");
    let after = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200)["token"]
        .clone();
    assert_ne!(
        before, after,
        "the server rotated before dropping the reply"
    );
    let journal = api.journal().await;
    let dropped = journal
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("/regenerate"))
        .unwrap();
    assert_eq!(dropped["status"], json!(null));
    assert!(
        dropped["fault"].as_str().unwrap().contains("drop after"),
        "{dropped}"
    );
}

#[tokio::test]
async fn drop_before_closes_without_acting() {
    let api = Api::empty().await;
    api.fault(json!({"method": "POST", "path": "/v1/client-tokens", "drop": "before"}))
        .await;
    let result = api
        .http
        .post(format!("{}/v1/client-tokens", api.url))
        .bearer_auth(&api.key)
        .json(&json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]}))
        .send()
        .await;
    assert!(result.is_err());
    assert!(api.tokens().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn garbage_bodies_with_and_without_a_status() {
    let api = Api::empty().await;
    api.fault(
        json!({"method": "GET", "path": "/v1/client-tokens", "status": 502, "garbage": true}),
    )
    .await;
    let reply = api.get("/v1/client-tokens").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert!(reply.text.starts_with("<html>"));
    assert!(serde_json::from_str::<serde_json::Value>(&reply.text).is_err());

    api.fault(json!({"method": "POST", "path": "/v1/client-tokens", "garbage": true}))
        .await;
    let reply = api
        .post(
            "/v1/client-tokens",
            json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]}),
        )
        .await;
    assert_eq!(
        reply.status, 201,
        "without a status, the server acts and keeps its status"
    );
    assert!(reply.text.starts_with("<html>"));
    assert_eq!(api.tokens().await.len(), 1);
}

#[tokio::test]
async fn invalid_fault_specs_are_refused() {
    let api = Api::demo().await;
    for spec in [
        json!({"path": "/v1/client-tokens"}),
        json!({"path": "v1/client-tokens", "status": 500}),
        json!({"path": "/x", "status": 99}),
        json!({"path": "/x", "drop": "after", "status": 500}),
        json!({"path": "/x", "drop": "sometimes"}),
        json!({"path": "/x", "status": 500, "colour": "red"}),
        json!({"method": "G E T", "path": "/x", "status": 500}),
    ] {
        let reply = api
            .raw(Method::POST, "/__emulator/faults", Some(spec.clone()), None)
            .await;
        assert!(
            reply.expect(400)["error"]
                .as_str()
                .unwrap()
                .starts_with("Invalid fault"),
            "{spec}"
        );
    }
}

#[tokio::test]
async fn faults_and_latency_from_the_config() {
    let api = Api::with(Config {
        faults: vec![
            FaultSpec::parse_compact("GET /v1/client-tokens status=503 retry-after=1").unwrap(),
        ],
        latency: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    let finished = std::sync::Mutex::new(Vec::new());
    let started = Instant::now();
    let slow = async {
        let reply = api.get("/v1/client-tokens").await;
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("retry-after"), Some("1"));
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "latency applies to every request"
        );
        finished.lock().unwrap().push("api");
    };
    let control = async {
        api.raw(Method::GET, "/__emulator/faults", None, None)
            .await
            .expect(200);
        finished.lock().unwrap().push("control");
    };
    tokio::join!(slow, control);
    assert_eq!(
        *finished.lock().unwrap(),
        ["control", "api"],
        "but not to control requests"
    );
}

#[tokio::test]
async fn the_journal_records_api_requests_without_secrets() {
    let api = Api::demo().await;
    api.get("/v1/client-tokens?limit=2").await.expect(200);
    api.raw(Method::GET, "/v1/client-tokens", None, None).await;
    let journal = api.journal().await;
    assert_eq!(
        journal.len(),
        2,
        "control requests are not journalled: {journal:?}"
    );
    assert_eq!(journal[0]["method"], "GET");
    assert_eq!(journal[0]["query"], "limit=2");
    assert_eq!(journal[0]["status"], 200);
    assert_eq!(journal[1]["status"], 401);
    assert!(!serde_json::to_string(&journal).unwrap().contains(&api.key));
    api.raw(Method::DELETE, "/__emulator/requests", None, None)
        .await
        .expect(200);
    assert!(api.journal().await.is_empty());
}

#[tokio::test]
async fn reset_restores_a_seed() {
    let api = Api::demo().await;
    let reply = api
        .raw(
            Method::POST,
            "/__emulator/reset",
            Some(json!({"seed": "none"})),
            None,
        )
        .await;
    assert_eq!(reply.expect(200)["clientTokens"], 0);
    assert!(api.tokens().await.is_empty());
    // No body: the configured seed. (Content-Type is needed all the same: no web page can
    // send it across origins without a preflight.)
    let reply = api
        .http
        .post(format!("{}/__emulator/reset", api.url))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let reply = crate::support::Reply {
        status: reply.status().as_u16(),
        headers: reply.headers().clone(),
        text: reply.text().await.unwrap(),
    };
    assert_eq!(
        reply.expect(200)["clientTokens"],
        6,
        "the configured seed by default"
    );
    let bad = api
        .raw(
            Method::POST,
            "/__emulator/reset",
            Some(json!({"seed": "lots"})),
            None,
        )
        .await;
    bad.expect(400);
}

/// A page the user's browser opens can send the emulator requests: a `text/plain` POST needs
/// no preflight. The control API refuses anything a page sends (an Origin header, a
/// Sec-Fetch-Site other than none, a POST without Content-Type: application/json), so no page
/// wipes the tokens, inserts one, or sets faults and the clock; the widget's routes keep
/// answering any origin.
#[tokio::test]
async fn web_pages_cannot_drive_the_control_api() {
    let api = Api::demo().await;
    let send = |method: Method, path: &str, headers: &[(&str, &str)], body: &str| {
        let mut request = api
            .http
            .request(method, format!("{}{path}", api.url))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let evil = ("origin", "https://evil.example");
    let json = ("content-type", "application/json");
    let text = ("content-type", "text/plain");
    /// A request: method, path, headers, body.
    type Sent<'a> = (Method, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let refused: Vec<Sent> = vec![
        (
            Method::POST,
            "/__emulator/reset",
            vec![evil, text],
            r#"{"seed":"none"}"#,
        ),
        (
            Method::POST,
            "/__emulator/reset",
            vec![evil, json],
            r#"{"seed":"none"}"#,
        ),
        (
            Method::POST,
            "/__emulator/reset",
            vec![text],
            r#"{"seed":"none"}"#,
        ),
        (Method::POST, "/__emulator/reset", vec![], ""),
        (
            Method::POST,
            "/__emulator/tokens",
            vec![evil, text],
            r#"{"id":"ct_00000000000000f1","allowedOrigins":["*"],"environment":"live","tokenValue":"ct_live_x"}"#,
        ),
        (
            Method::POST,
            "/__emulator/faults",
            vec![json, ("sec-fetch-site", "cross-site")],
            r#"{"method":"GET","path":"/v1/client-tokens","status":500,"count":0}"#,
        ),
        (
            Method::POST,
            "/__emulator/clock",
            vec![("origin", "null"), json],
            r#"{"advanceSeconds":86400}"#,
        ),
        (Method::DELETE, "/__emulator/requests", vec![evil], ""),
        (
            Method::GET,
            "/__emulator/requests",
            vec![("sec-fetch-site", "same-site")],
            "",
        ),
    ];
    for (method, path, headers, body) in refused {
        let reply = send(method.clone(), path, &headers, body).await.unwrap();
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap();
        assert_eq!(status, 403, "{method} {path} {headers:?}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("refused"),
            "{text}"
        );
    }
    assert_eq!(api.tokens().await.len(), 6, "nothing was reset or inserted");
    assert!(
        api.get("/__emulator/faults").await.json()["faults"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A tool (curl, the harness) still drives it; a URL typed in the address bar still reads.
    let reply = send(
        Method::GET,
        "/__emulator/requests",
        &[("sec-fetch-site", "none")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 200);
    // The widget's routes answer any origin, as before.
    let value = api
        .create(json!({"environment": "test", "allowedOrigins": ["https://shop.example.com"]}))
        .await["clientToken"]["tokenValue"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.init(&value, Some("https://shop.example.com"))
            .await
            .status,
        200
    );
}
