//! The contract test: every reply the emulator gives anywhere in this suite is checked against
//! the response schema of its operation and status in the published OpenAPI document
//! (`openapi/runtype-client-tokens.json`), and every request body rtctl sends against the
//! request schema. Emulators started by the harness carry an observer that does this, and
//! fail the test that started them when anything breaks the document.

use std::sync::{Arc, Mutex, OnceLock};

use rtctl_emulator::{Exchange, Observer};
use serde_json::{Value, json};

use crate::schema::{Document, segment};

/// The document, compiled once for the whole suite.
fn contract() -> &'static Mutex<Document> {
    static CONTRACT: OnceLock<Mutex<Document>> = OnceLock::new();
    CONTRACT.get_or_init(|| Mutex::new(Document::load()))
}

impl Document {
    /// What is wrong with one exchange, by the document; `None` when nothing is.
    pub fn check(&self, exchange: &Exchange<'_>) -> Vec<String> {
        let entry = exchange.entry;
        // A fault shapes a reply on purpose (a 429, a proxy's HTML, a dropped connection).
        if entry.fault.is_some() {
            return Vec::new();
        }
        // The widget's routes are held to what the widget reads too (their event streams).
        let mut problems = if WIDGET_ROUTES.contains(&entry.path.as_str()) {
            widget_problems(exchange)
        } else {
            Vec::new()
        };
        let Some(template) = self.template(&entry.path) else {
            return problems; // not an operation of the document (an unknown route)
        };
        let method = entry.method.to_lowercase();
        let operation = &self.doc["paths"][&template][&method];
        if operation.is_null() {
            return problems; // a method the path does not have: the 405 is the router's
        }
        let what = format!("{} {}", entry.method, entry.path);
        let base = format!("/paths/{}/{method}", segment(&template));
        if let Some(status) = entry.status {
            problems.extend(self.reply_problems(
                &entry.method,
                &entry.path,
                status,
                exchange.response_type,
                exchange.response_body,
                true,
            ));
        }
        let from_rtctl = entry
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("rtctl/"));
        if from_rtctl && !exchange.request_body.is_empty() && !operation["requestBody"].is_null() {
            let pointer = format!("{base}/requestBody/content/application~1json/schema");
            match serde_json::from_slice::<Value>(exchange.request_body) {
                Ok(body) => {
                    if let Err(e) = self.validate(&pointer, &body) {
                        problems.push(format!(
                            "rtctl's request {what} breaks the document:\n{e}\n{body}"
                        ));
                    }
                }
                Err(e) => problems.push(format!("rtctl sent {what} a body that is not JSON: {e}")),
            }
        }
        problems
    }
}

/// The widget's routes. Their exchanges are checked against the chat widget's own contract
/// (`@runtypelabs/persona` 4.17.0, what the widget sends and parses), and, where the
/// document describes the route (`/v1/client/chat`, added with its `x-rtctl-source`), against
/// the document too.
const WIDGET_ROUTES: &[&str] = &["/v1/client/chat", "/v1/client/feedback"];

/// What is wrong with an exchange on a widget route, by the widget's contract: a preflight is
/// a 204; a chat reply is an event stream of `event: T` / `data: {"type": T, …}` frames with
/// no `id:` lines (they would switch the widget to reconnect cursors); feedback is a 204; an
/// error is a JSON `{"error": …}` of a status the widget handles.
fn widget_problems(exchange: &Exchange<'_>) -> Vec<String> {
    let entry = exchange.entry;
    let what = format!("{} {}", entry.method, entry.path);
    let Some(status) = entry.status else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let body = String::from_utf8_lossy(exchange.response_body);
    match (entry.method.as_str(), status) {
        ("OPTIONS", 204) => {}
        ("POST", 204) if entry.path.ends_with("/feedback") => {}
        ("POST", 200) if entry.path.ends_with("/chat") => {
            if !exchange
                .response_type
                .is_some_and(|t| t.starts_with("text/event-stream"))
            {
                problems.push(format!("{what} answered 200 without text/event-stream"));
            }
            for frame in body.split_terminator("\n\n") {
                let mut lines = frame.lines();
                let event = lines.next().and_then(|l| l.strip_prefix("event: "));
                let data = lines
                    .next()
                    .and_then(|l| l.strip_prefix("data: "))
                    .and_then(|d| serde_json::from_str::<Value>(d).ok());
                match (event, data) {
                    (Some(event), Some(data))
                        if data["type"] == event && lines.next().is_none() => {}
                    _ => problems.push(format!(
                        "{what} sent a frame the widget cannot read: {frame:?}"
                    )),
                }
            }
        }
        ("POST", 400 | 401 | 403 | 404 | 429) => {
            let error = serde_json::from_slice::<Value>(exchange.response_body).ok();
            if !error.as_ref().is_some_and(|e| e["error"].is_string()) {
                problems.push(format!(
                    "{what} answered {status} without a JSON error: {body}"
                ));
            }
        }
        _ => problems.push(format!(
            "{what} answered {status}, which the widget does not expect"
        )),
    }
    problems
}

/// What an emulator's observer found wrong, shared with the test that started it.
#[derive(Clone, Default)]
pub struct Findings(Arc<Mutex<Vec<String>>>);

impl Findings {
    /// An observer that checks every exchange and records what breaks the document.
    pub fn observer(&self) -> Observer {
        let findings = self.clone();
        Arc::new(move |exchange: &Exchange<'_>| {
            let problems = contract()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .check(exchange);
            findings.0.lock().unwrap().extend(problems);
        })
    }

    /// Fails the test when anything broke the document (unless it is failing already).
    pub fn assert_none(&self) {
        let found = self.0.lock().unwrap();
        if !found.is_empty() && !std::thread::panicking() {
            panic!(
                "the emulator or rtctl broke the published contract:\n{}",
                found.join("\n\n")
            );
        }
    }
}

/// Validates `value` against the response schema of `method path` for `status`.
fn check_reply(method: &str, template: &str, status: u16, value: &Value) -> Result<(), String> {
    let pointer = format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        segment(template)
    );
    contract().lock().unwrap().validate(&pointer, value)
}

#[tokio::test]
async fn a_reply_that_breaks_one_field_fails_the_contract() {
    let api = crate::support::Api::demo().await;
    let id = api.id_of("Marketing site widget").await;
    let mut reply = api
        .get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    let template = "/v1/client-tokens/{id}";
    check_reply("get", template, 200, &reply).expect("the emulator's reply keeps the contract");
    reply["clientToken"]["isActive"] = json!("yes");
    let error = check_reply("get", template, 200, &reply).unwrap_err();
    assert!(error.contains("isActive"), "{error}");
    let mut listed = api.get("/v1/client-tokens?limit=2").await.expect(200);
    check_reply("get", "/v1/client-tokens", 200, &listed).unwrap();
    listed["pagination"]
        .as_object_mut()
        .unwrap()
        .remove("hasMore");
    assert!(check_reply("get", "/v1/client-tokens", 200, &listed).is_err());
    let error = json!({"error": "Validation error", "details": [{"code": "OUT_OF_RANGE"}]});
    assert!(
        check_reply("post", "/v1/client-tokens", 400, &error).is_err(),
        "a detail needs its message"
    );
}

#[test]
fn the_widget_fields_of_persona_4_2x_are_in_the_contract() {
    let init = "/v1/client/init";
    let reply = json!({
        "sessionId": "sess_1", "expiresAt": "2026-01-01T00:00:00.000Z", "conversationId": "conv_1",
        "conversationRevision": "1", "config": {"placeholder": "…", "welcomeMessage": null},
        "durableRecovery": {"enabled": false},
    });
    check_reply("post", init, 200, &reply).unwrap();
    let mut broken = reply.clone();
    broken["durableRecovery"] = json!({"join": {}});
    let error = check_reply("post", init, 200, &broken).unwrap_err();
    assert!(error.contains("enabled"), "{error}");
    broken["durableRecovery"] = json!(true);
    assert!(check_reply("post", init, 200, &broken).is_err());
    // The chat's refusals, with the error fields the widget reads.
    let chat = "/v1/client/chat";
    let expired = json!({"error": "Session not found or expired", "errorDescription": "The session ended", "hint": "Reload"});
    check_reply("post", chat, 401, &expired).unwrap();
    assert!(
        check_reply(
            "post",
            chat,
            401,
            &json!({"error": "x", "errorDescription": 1})
        )
        .is_err()
    );
    assert!(check_reply("post", chat, 401, &json!({"error": "x", "hint": []})).is_err());
    // Each addition says where it came from.
    let contract = contract().lock().unwrap();
    let doc = &contract.doc;
    for pointer in [
        "/paths/~1v1~1client~1chat/post",
        "/paths/~1v1~1client~1chat/post/responses/401",
        "/paths/~1v1~1client~1init/post/requestBody/content/application~1json/schema/properties/durableRecovery",
        "/paths/~1v1~1client~1init/post/responses/200/content/application~1json/schema/properties/durableRecovery",
        "/components/schemas/Error/properties/errorDescription",
        "/components/schemas/Error/properties/hint",
    ] {
        let source = doc
            .pointer(pointer)
            .and_then(|v| v["x-rtctl-source"].as_str());
        assert!(
            source.is_some_and(|s| s.contains("persona") || s.contains("reference")),
            "{pointer}"
        );
    }
}

#[test]
fn an_undocumented_status_is_a_finding() {
    let contract = contract().lock().unwrap();
    let entry = rtctl_emulator::RequestEntry {
        method: "GET".into(),
        path: "/v1/client-tokens".into(),
        query: None,
        user_agent: None,
        status: Some(400),
        fault: None,
        duration: std::time::Duration::ZERO,
    };
    let problems = contract.check(&Exchange {
        entry: &entry,
        request_body: b"",
        response_body: br#"{"error": "Unknown query parameter"}"#,
        response_type: Some("application/json"),
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("does not list"), "{problems:?}");
}

#[test]
fn a_widget_reply_the_widget_could_not_read_is_a_finding() {
    let entry = |method: &str, path: &str, status: u16| rtctl_emulator::RequestEntry {
        method: method.into(),
        path: path.into(),
        query: None,
        user_agent: None,
        status: Some(status),
        fault: None,
        duration: std::time::Duration::ZERO,
    };
    let check = |entry: &rtctl_emulator::RequestEntry, body: &str, kind: &str| {
        widget_problems(&Exchange {
            entry,
            request_body: b"",
            response_body: body.as_bytes(),
            response_type: Some(kind),
        })
    };
    let chat = entry("POST", "/v1/client/chat", 200);
    let good = "event: text_delta\ndata: {\"type\":\"text_delta\",\"delta\":\"hi\"}\n\n";
    assert!(check(&chat, good, "text/event-stream; charset=utf-8").is_empty());
    assert_eq!(
        check(&chat, good, "application/json").len(),
        1,
        "not a stream"
    );
    let with_id = "id: 1\nevent: ping\ndata: {\"type\":\"ping\"}\n\n";
    assert_eq!(
        check(&chat, with_id, "text/event-stream").len(),
        1,
        "an id: line"
    );
    let mismatched = "event: ping\ndata: {\"type\":\"text_delta\"}\n\n";
    assert_eq!(check(&chat, mismatched, "text/event-stream").len(), 1);
    let expired = entry("POST", "/v1/client/chat", 401);
    assert!(
        check(
            &expired,
            r#"{"error":"Session not found or expired"}"#,
            "application/json"
        )
        .is_empty()
    );
    assert_eq!(check(&expired, "nope", "text/plain").len(), 1);
    assert_eq!(
        check(
            &entry("POST", "/v1/client/chat", 500),
            "{}",
            "application/json"
        )
        .len(),
        1
    );
}
