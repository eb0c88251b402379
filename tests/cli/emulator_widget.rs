//! What the chat widget needs of the emulator in a browser: CORS on `/v1/client/*` (and the
//! one refusal the page may not read), sessions, and the canned chat reply's event stream.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, Reply};

const PAGE: &str = "https://shop.example.com";

async fn widget(api: &Api, method: Method, path: &str, origin: &str, body: Option<Value>) -> Reply {
    widget_of("4.17.0", api, method, path, origin, body).await
}

/// A request as the widget of persona `version` sends it.
async fn widget_of(
    version: &str,
    api: &Api,
    method: Method,
    path: &str,
    origin: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = api
        .http
        .request(method, format!("{}{path}", api.url))
        .header("origin", origin)
        .header("x-persona-version", version);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

/// The widget's init with `value`, from the page.
async fn init(api: &Api, value: &str) -> Reply {
    let body = json!({ "token": value });
    widget(api, Method::POST, "/v1/client/init", PAGE, Some(body)).await
}

/// An empty chat message on the session an init answered with.
async fn message(api: &Api, session: &Value) -> Reply {
    let body = json!({"sessionId": session["sessionId"], "messages": []});
    widget(api, Method::POST, "/v1/client/chat", PAGE, Some(body)).await
}

async fn live_token(api: &Api) -> (String, String) {
    let body = api
        .create(json!({"environment": "live", "allowedOrigins": [PAGE], "sessionIdleTimeoutMinutes": 1}))
        .await;
    (
        body["clientToken"]["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn preflights_are_answered_for_the_widgets_routes_only() {
    let api = Api::empty().await;
    let response = api
        .http
        .request(Method::OPTIONS, format!("{}/v1/client/init", api.url))
        .header("origin", "https://anywhere.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-persona-version",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("https://anywhere.example")
    );
    assert_eq!(
        header("vary").as_deref(),
        Some("Origin, Access-Control-Request-Headers")
    );
    assert!(
        header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        header("access-control-allow-headers").as_deref(),
        Some("content-type,x-persona-version")
    );
    assert_eq!(header("access-control-allow-credentials"), None);
    // The admin API is for API keys, never for pages.
    let admin = widget(&api, Method::OPTIONS, "/v1/client-tokens", PAGE, None).await;
    assert_eq!(admin.header("access-control-allow-origin"), None);
    api.shutdown().await;
}

#[tokio::test]
async fn a_refused_origin_is_hidden_from_the_page_and_other_refusals_are_not() {
    let api = Api::empty().await;
    let (id, value) = live_token(&api).await;
    let init = |origin: &'static str, token: String| {
        let api = &api;
        async move {
            widget(
                api,
                Method::POST,
                "/v1/client/init",
                origin,
                Some(json!({"token": token})),
            )
            .await
        }
    };
    let admitted = init(PAGE, value.clone()).await;
    assert_eq!(admitted.status, 200);
    assert_eq!(admitted.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(admitted.header("vary"), Some("Origin"));
    let refused = init("https://evil.example", value.clone()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.header("access-control-allow-origin"),
        None,
        "the browser reports a CORS error"
    );
    assert_eq!(
        refused.header("vary"),
        Some("Origin"),
        "caches keep origins apart"
    );
    let unknown = init(PAGE, "ct_live_unknownunknownunknownunknown00".into()).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.header("access-control-allow-origin"),
        Some(PAGE),
        "the widget shows Invalid client token"
    );
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"isActive": false}),
    )
    .await
    .expect(200);
    let inactive = init(PAGE, value).await;
    assert_eq!(inactive.status, 403);
    assert_eq!(inactive.json()["error"], "Client token is inactive");
    assert_eq!(inactive.header("access-control-allow-origin"), Some(PAGE));
    api.shutdown().await;
}

#[tokio::test]
async fn chat_streams_the_canned_reply_and_sessions_expire_at_last_use_plus_the_idle_timeout() {
    let api = Api::empty().await;
    let (id, value) = live_token(&api).await;
    let session = widget(
        &api,
        Method::POST,
        "/v1/client/init",
        PAGE,
        Some(json!({"token": value})),
    )
    .await
    .expect(200);
    let session_id = session["sessionId"].as_str().unwrap().to_string();
    let expires: jiff::Timestamp = session["expiresAt"].as_str().unwrap().parse().unwrap();
    let left = expires.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_mins(4),
        "at least 5 minutes, whatever the token says: {left:?}"
    );
    let chat = |sid: String| {
        let api = &api;
        async move {
            widget(
                api,
                Method::POST,
                "/v1/client/chat",
                PAGE,
                Some(json!({"sessionId": sid, "messages": [{"id": "usr_1", "role": "user", "content": "hello there"}], "assistantMessageId": "ast_1"})),
            )
            .await
        }
    };
    let reply = chat(session_id.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(reply.header("access-control-allow-origin"), Some(PAGE));
    assert!(
        reply.text.contains("event: text_delta\ndata: {") && reply.text.contains("canned reply"),
        "{}",
        reply.text
    );
    assert!(reply.text.ends_with("\n\n") && reply.text.contains("event: execution_complete"));
    let conversations = api
        .get(&format!("/v1/client-tokens/{id}/conversations"))
        .await
        .expect(200);
    assert_eq!(conversations["conversations"][0]["messageCount"], 2);
    assert_eq!(
        conversations["conversations"][0]["firstMessage"],
        "hello there"
    );
    // Reloaded, the page sends its session back and goes on with the same conversation.
    let again = widget(
        &api,
        Method::POST,
        "/v1/client/init",
        PAGE,
        Some(json!({"token": value, "sessionId": session_id})),
    )
    .await
    .expect(200);
    assert_eq!(again["sessionId"], session_id.as_str());
    assert_eq!(again["conversationId"], session["conversationId"]);
    // A rotation leaves the open session alone; a new init with the old value fails.
    api.post(&format!("/v1/client-tokens/{id}/regenerate"), json!({}))
        .await
        .expect(200);
    assert_eq!(chat(session_id.clone()).await.status, 200);
    let old = widget(
        &api,
        Method::POST,
        "/v1/client/init",
        PAGE,
        Some(json!({"token": value})),
    )
    .await;
    assert_eq!(old.status, 401);
    // Each chat renews the session; idle past the timeout (5 minutes at least), it is over.
    api.advance_clock(4 * 60).await;
    assert_eq!(chat(session_id.clone()).await.status, 200);
    api.advance_clock(4 * 60).await;
    assert_eq!(
        chat(session_id.clone()).await.status,
        200,
        "renewed by the last chat"
    );
    api.advance_clock(5 * 60 + 1).await;
    let expired = chat(session_id.clone()).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        json!({"error": "Session not found or expired"})
    );
    assert_eq!(expired.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(chat("sess_unknown".into()).await.status, 401);
    // Feedback (the copy button) is accepted.
    let feedback = widget(
        &api,
        Method::POST,
        "/v1/client/feedback",
        PAGE,
        Some(json!({"sessionId": session_id, "messageId": "ast_1", "type": "copy"})),
    )
    .await;
    assert_eq!(feedback.status, 204);
    api.shutdown().await;
}

#[tokio::test]
async fn a_session_takes_the_tokens_message_limit_then_429() {
    let api = Api::empty().await;
    let body = api
        .create(json!({"allowedOrigins": [PAGE], "maxMessagesPerSession": 2}))
        .await;
    let value = body["token"].as_str().unwrap().to_string();
    let session = init(&api, &value).await.expect(200);
    let send = || message(&api, &session);
    assert_eq!(send().await.status, 200);
    assert_eq!(send().await.status, 200);
    let limited = send().await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.header("access-control-allow-origin"),
        Some(PAGE),
        "the widget reads it"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn an_open_session_outlives_deactivation_and_the_tokens_deletion() {
    let api = Api::empty().await;
    let body = api
        .create(json!({"allowedOrigins": [PAGE], "maxMessagesPerSession": 5, "sessionIdleTimeoutMinutes": 10}))
        .await;
    let id = body["clientToken"]["id"].as_str().unwrap().to_string();
    let value = body["token"].as_str().unwrap().to_string();
    let init = || init(&api, &value);
    let session = init().await.expect(200);
    let send = || message(&api, &session);
    assert_eq!(send().await.status, 200);
    // Deactivated: new inits are refused, the open session goes on.
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"isActive": false}),
    )
    .await
    .expect(200);
    assert_eq!(init().await.status, 403);
    assert_eq!(send().await.status, 200);
    // Deleted (an overlap's retirement deletes the old token): the same, on the limits the
    // token had when it went (lowered to 3 since the last message): the third is the last.
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"maxMessagesPerSession": 3}),
    )
    .await
    .expect(200);
    api.delete(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    assert_eq!(init().await.status, 401);
    assert_eq!(send().await.status, 200);
    assert_eq!(send().await.status, 429);
    // And it expires on the token's idle timeout (10 minutes, not the default 30).
    api.advance_clock(9 * 60).await;
    assert_eq!(send().await.status, 429, "still open, at its limit");
    api.advance_clock(10 * 60 + 1).await;
    assert_eq!(send().await.status, 401);
    api.shutdown().await;
}

#[tokio::test]
async fn chat_from_another_origin_than_the_sessions_is_refused_like_an_origin() {
    let api = Api::empty().await;
    let (_, value) = live_token(&api).await;
    let session = widget(
        &api,
        Method::POST,
        "/v1/client/init",
        PAGE,
        Some(json!({"token": value})),
    )
    .await
    .expect(200);
    let other = widget(
        &api,
        Method::POST,
        "/v1/client/chat",
        "https://evil.example",
        Some(json!({"sessionId": session["sessionId"], "messages": []})),
    )
    .await;
    assert_eq!(other.status, 403);
    assert_eq!(other.header("access-control-allow-origin"), None);
    api.shutdown().await;
}

/// The widget as of persona 4.21–4.24, at the HTTP level (the npm registry here serves only
/// 4.17.0, which the browser test runs): init asks for durable recovery and gets it refused;
/// a chat on an expired session gets the service's 401, and the widget initialises once
/// more, sending the session it had, and chats on the new one.
#[tokio::test]
async fn the_widget_of_persona_4_2x_asks_for_durable_recovery_and_re_initialises_once() {
    let api = Api::empty().await;
    let (_, value) = live_token(&api).await;
    let send = |path: &'static str, body: Value| {
        widget_of("4.24.0", &api, Method::POST, path, PAGE, Some(body))
    };
    let first = send(
        "/v1/client/init",
        json!({"token": value, "durableRecovery": true}),
    )
    .await
    .expect(200);
    assert_eq!(first["durableRecovery"], json!({"enabled": false}));
    let session = first["sessionId"].as_str().unwrap().to_string();
    let chat = |session: String| {
        send(
            "/v1/client/chat",
            json!({"sessionId": session, "messages": [{"role": "user", "content": "hi"}]}),
        )
    };
    assert_eq!(chat(session.clone()).await.status, 200);
    // A widget that does not ask gets no such key.
    let older = send("/v1/client/init", json!({"token": value}))
        .await
        .expect(200);
    assert!(older.get("durableRecovery").is_none(), "{older}");

    api.advance_clock(5 * 60 + 1).await;
    let expired = chat(session.clone()).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["error"], "Session not found or expired");
    // The one re-initialisation: it sends the expired session, and gets a new one.
    let again = send(
        "/v1/client/init",
        json!({"token": value, "sessionId": session, "durableRecovery": true}),
    )
    .await
    .expect(200);
    let renewed = again["sessionId"].as_str().unwrap().to_string();
    assert_ne!(renewed, session);
    assert_eq!(again["durableRecovery"]["enabled"], false);
    assert_eq!(chat(renewed).await.status, 200);
    api.shutdown().await;
}
