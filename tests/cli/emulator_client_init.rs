//! `POST /v1/client/init`: what a client token is for, end to end.

use serde_json::json;

use crate::support::Api;

async fn token_with(api: &Api, fields: serde_json::Value) -> (String, String) {
    let body = api.create(fields).await;
    (
        body["clientToken"]["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn an_allowed_origin_gets_a_session_and_a_recorded_conversation() {
    let api = Api::empty().await;
    let (id, value) = token_with(
        &api,
        json!({"allowedOrigins": ["https://*.example.com"], "config": {"welcomeMessage": "Hey"}}),
    )
    .await;
    let reply = api.init(&value, Some("https://shop.example.com")).await;
    let body = reply.expect(200);
    for field in ["sessionId", "expiresAt", "conversationId"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    assert_eq!(body["flow"]["id"], "flow_1");
    assert_eq!(body["config"]["welcomeMessage"], "Hey");
    let token = api
        .get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200)["clientToken"]
        .clone();
    assert_eq!(token["conversationCount"], 1);
    assert!(token["lastUsedAt"].is_string());
    let conversations = api
        .get(&format!("/v1/client-tokens/{id}/conversations"))
        .await
        .expect(200);
    assert_eq!(
        conversations["conversations"][0]["origin"],
        "https://shop.example.com"
    );
    assert_eq!(
        conversations["conversations"][0]["id"],
        body["conversationId"]
    );
}

#[tokio::test]
async fn origins_are_enforced_with_the_shared_rules() {
    let api = Api::empty().await;
    let (_, live) = token_with(
        &api,
        json!({"environment": "live", "allowedOrigins": ["https://*.example.com", "example.org"]}),
    )
    .await;
    for (origin, status) in [
        (Some("https://app.example.com"), 200),
        (Some("https://example.com"), 403),
        (Some("http://app.example.com"), 403),
        (Some("http://example.org"), 200),
        (Some("https://example.org"), 200),
        (Some("https://example.org:8443"), 403),
        (Some("http://localhost:3000"), 403),
        (None, 403),
    ] {
        let reply = api.init(&live, origin).await;
        assert_eq!(reply.status, status, "{origin:?}: {}", reply.text);
        if status == 403 {
            assert_eq!(reply.json()["error"], "Origin not allowed");
        }
    }
    let (_, test) = token_with(&api, json!({"environment": "test"})).await;
    api.init(&test, Some("http://localhost:5173"))
        .await
        .expect(200);
    api.init(&test, Some("http://127.0.0.1:8080"))
        .await
        .expect(200);
    api.init(&test, Some("https://evil.example.net"))
        .await
        .expect(403);
    let (_, native) = token_with(
        &api,
        json!({"environment": "live", "allowedOrigins": ["native"]}),
    )
    .await;
    api.init(&native, None).await.expect(200);
    api.init(&native, Some("https://app.example.com"))
        .await
        .expect(403);
}

#[tokio::test]
async fn rotated_deleted_unknown_and_inactive_tokens_are_refused() {
    let api = Api::empty().await;
    let origin = Some("https://app.example.com");
    let (id, old) = token_with(&api, json!({})).await;
    api.init(&old, origin).await.expect(200);
    let new = api
        .post(&format!("/v1/client-tokens/{id}/regenerate"), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.init(&old, origin).await.expect(401)["error"],
        "Invalid client token"
    );
    api.init(&new, origin).await.expect(200);
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"isActive": false}),
    )
    .await
    .expect(200);
    assert_eq!(
        api.init(&new, origin).await.expect(403)["error"],
        "Client token is inactive"
    );
    api.delete(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    api.init(&new, origin).await.expect(401);
    api.init("ct_live_nope", origin).await.expect(401);
}

#[tokio::test]
async fn flow_ids_must_belong_to_the_token() {
    let api = Api::empty().await;
    let (_, value) = token_with(
        &api,
        json!({"flowIds": ["flow_a", "flow_b"], "defaultFlowId": "flow_b"}),
    )
    .await;
    let post = |body: serde_json::Value| {
        api.http
            .post(format!("{}/v1/client/init", api.url))
            .header("origin", "https://app.example.com")
            .json(&body)
            .send()
    };
    let default = post(json!({"token": value})).await.unwrap();
    assert_eq!(
        default.json::<serde_json::Value>().await.unwrap()["flow"]["id"],
        "flow_b"
    );
    let chosen = post(json!({"token": value, "flowId": "flow_a"}))
        .await
        .unwrap();
    assert_eq!(
        chosen.json::<serde_json::Value>().await.unwrap()["flow"]["id"],
        "flow_a"
    );
    // A flow of the account that the token does not list: 400; one the account does not
    // have: 404.
    let other = post(json!({"token": value, "flowId": "flow_z"}))
        .await
        .unwrap();
    assert_eq!(other.status(), 400);
    let unknown = post(json!({"token": value, "flowId": "flow_missing"}))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let missing = post(json!({})).await.unwrap();
    assert_eq!(missing.status(), 400);
}
