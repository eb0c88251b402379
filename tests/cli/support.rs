//! Shared helpers: an in-process emulator with an HTTP client bound to it.

#![allow(dead_code)]

use reqwest::Method;
use reqwest::header::HeaderMap;
use rtctl_emulator::{self as emulator, Config, DEFAULT_API_KEY, RunningEmulator, Seed};
use serde_json::{Value, json};

/// An HTTP client for tests. reqwest is built with rustls but no provider of its own
/// (see `rtctl::tls`), so install ours first.
pub fn http() -> reqwest::Client {
    rtctl::tls::install_crypto_provider();
    reqwest::Client::new()
}

/// Everything an error body says: `error`, each detail's message, path and code, and `hint`,
/// for tests that check an error names what is wrong.
pub fn error_text(error: &Value) -> String {
    let mut parts = vec![error["error"].as_str().unwrap_or_default().to_string()];
    for detail in error["details"].as_array().into_iter().flatten() {
        for key in ["message", "path", "code", "suggestion"] {
            if let Some(text) = detail[key].as_str() {
                parts.push(text.to_string());
            }
        }
    }
    if let Some(hint) = error["hint"].as_str() {
        parts.push(hint.to_string());
    }
    parts.join(" | ")
}

/// The flows and agents the tests name, in every test emulator's catalogue (one that is not
/// there, such as `flow_missing`, gets the service's 404).
pub const TEST_FLOWS: &[&str] = &[
    "f",
    "flow_1",
    "flow_2",
    "flow_a",
    "flow_b",
    "flow_z",
    "flow_x",
    "flow_other",
    "flow_new",
    "flow_demo",
    "flow_123",
];
pub const TEST_AGENTS: &[&str] = &["a", "b", "agent_1", "agent_9"];

/// `config` as tests use it: the test catalogue added, and the contract observer installed.
pub fn test_config(mut config: Config, findings: &crate::contract::Findings) -> Config {
    config
        .flows
        .extend(TEST_FLOWS.iter().map(|f| f.to_string()));
    config
        .agents
        .extend(TEST_AGENTS.iter().map(|a| a.to_string()));
    if config.observer.is_none() {
        config.observer = Some(findings.observer());
    }
    config
}

impl Drop for Api {
    fn drop(&mut self) {
        self.findings.assert_none();
    }
}

/// A loopback port that refuses connections for as long as this lives: bound, never
/// listening, so no other test can take the number in the meantime.
pub struct RefusedPort {
    _socket: tokio::net::TcpSocket,
    pub url: String,
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("a loopback port");
        let url = format!("http://{}", socket.local_addr().unwrap());
        RefusedPort {
            _socket: socket,
            url,
        }
    }
}

/// A reply, kept whole so tests can look at status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body, showing the body when it differs.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.json()
    }
}

/// An emulator and a client that sends the emulator's key.
pub struct Api {
    pub url: String,
    pub key: String,
    pub http: reqwest::Client,
    emulator: Option<RunningEmulator>,
    findings: crate::contract::Findings,
}

impl Api {
    /// An emulator with the demo seed.
    pub async fn demo() -> Api {
        Api::with(Config::default()).await
    }

    /// An emulator that starts empty.
    pub async fn empty() -> Api {
        Api::with(Config {
            seed: Seed::None,
            ..Config::default()
        })
        .await
    }

    /// An emulator with `config`, every exchange checked against the published contract,
    /// and the flows and agents the tests name in its catalogue.
    pub async fn with(config: Config) -> Api {
        let key = config
            .api_keys
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_API_KEY.to_string());
        let findings = crate::contract::Findings::default();
        let config = test_config(config, &findings);
        let emulator = emulator::start(config).await.expect("emulator starts");
        Api {
            url: emulator.url(),
            key,
            http: http(),
            emulator: Some(emulator),
            findings,
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(e) = self.emulator.take() {
            e.shutdown().await;
        }
        self.findings.assert_none();
    }

    /// Sends a request with the API key as a Bearer token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {}", self.key);
        self.raw(method, path, body, Some(&auth)).await
    }

    /// Sends a request with exactly the given `Authorization` header (or none).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: Option<&str>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reaches the emulator");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("reply body"),
        }
    }

    pub async fn send_bytes(&self, method: Method, path: &str, body: &'static str) -> Reply {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the emulator");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a token with sensible defaults overridden by `fields`; returns the create reply.
    pub async fn create(&self, fields: Value) -> Value {
        let mut body = json!({
            "name": "Test widget",
            "allowedOrigins": ["https://app.example.com"],
            "flowIds": ["flow_1"],
        });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.post("/v1/client-tokens", body).await.expect(201)
    }

    /// Every token, by the legacy unpaginated list.
    pub async fn tokens(&self) -> Vec<Value> {
        self.get("/v1/client-tokens").await.expect(200)["clientTokens"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The id of the demo token with this name.
    pub async fn id_of(&self, name: &str) -> String {
        self.tokens()
            .await
            .into_iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no token named {name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Sets a fault through the control endpoint.
    pub async fn fault(&self, spec: Value) -> Value {
        self.raw(Method::POST, "/__emulator/faults", Some(spec), None)
            .await
            .expect(201)
    }

    /// Moves the emulator's clock forward.
    pub async fn advance_clock(&self, seconds: i64) {
        self.raw(
            Method::POST,
            "/__emulator/clock",
            Some(json!({ "advanceSeconds": seconds })),
            None,
        )
        .await
        .expect(200);
    }

    /// The request journal.
    pub async fn journal(&self) -> Vec<Value> {
        self.raw(Method::GET, "/__emulator/requests", None, None)
            .await
            .expect(200)["requests"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Calls the widget endpoint with an optional `Origin` header.
    pub async fn init(&self, token: &str, origin: Option<&str>) -> Reply {
        let mut request = self
            .http
            .post(format!("{}/v1/client/init", self.url))
            .json(&json!({ "token": token }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }
}
