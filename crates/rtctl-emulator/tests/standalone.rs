//! The emulator used as another project would use it: through its own crate, without rtctl's
//! command line, over loopback HTTP.

use rtctl_emulator::{Config, DEFAULT_API_KEY, FaultSpec, Seed};
use serde_json::{Value, json};

/// A plain HTTP client, as another project's tests would have.
fn http() -> reqwest::Client {
    // Only needed inside rtctl's workspace (see the dev-dependency); elsewhere a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn send(
    request: reqwest::RequestBuilder,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let request = request.bearer_auth(DEFAULT_API_KEY);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let reply = request.send().await.expect("the emulator answers");
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_project_creates_lists_and_deletes_tokens_against_its_own_emulator() {
    let emulator = rtctl_emulator::start(Config {
        seed: Seed::None,
        // A flow the account has, for the token to run.
        flows: vec!["flow_docs".into()],
        ..Config::default()
    })
    .await
    .expect("the emulator starts");
    let http = http();
    let tokens = format!("{}/v1/client-tokens", emulator.url());

    let (status, created) = send(
        http.post(&tokens),
        Some(json!({
            "name": "Docs widget",
            "flowIds": ["flow_docs"],
            "allowedOrigins": ["https://docs.example.com"],
            "environment": "test"
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["clientToken"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    assert!(
        created["token"]
            .as_str()
            .is_some_and(|v| v.starts_with("ct_test_")),
        "{created}"
    );

    let (status, listed) = send(http.get(&tokens), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["clientTokens"][0]["id"], json!(id), "{listed}");

    // A wrong key is refused as the service refuses it.
    let reply = http
        .get(&tokens)
        .bearer_auth("rt_test_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);

    let (status, _) = send(http.delete(format!("{tokens}/{id}")), None).await;
    assert_eq!(status, 200);
    let (_, listed) = send(http.get(&tokens), None).await;
    assert_eq!(listed["clientTokens"], json!([]), "{listed}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn faults_configured_at_start_fail_requests_as_asked() {
    let fault: FaultSpec = serde_json::from_value(json!({
        "method": "GET",
        "path": "/v1/client-tokens",
        "status": 503,
        "count": 1
    }))
    .expect("a fault");
    let emulator = rtctl_emulator::start(Config {
        faults: vec![fault],
        ..Config::default()
    })
    .await
    .expect("the emulator starts");
    let http = http();
    let tokens = format!("{}/v1/client-tokens", emulator.url());
    let (status, _) = send(http.get(&tokens), None).await;
    assert_eq!(status, 503, "the fault answers first");
    let (status, listed) = send(http.get(&tokens), None).await;
    assert_eq!(status, 200, "then the demo account: {listed}");
    assert_eq!(listed["clientTokens"].as_array().map(Vec::len), Some(6));
    emulator.shutdown().await;
}
