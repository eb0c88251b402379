//! The eight client-token endpoints: shapes, status codes and error bodies.

use reqwest::Method;
use rtctl_emulator::Config;
use serde_json::{Value, json};

use crate::support::{Api, error_text};

const TOKEN_FIELDS: &[&str] = &[
    "id",
    "name",
    "flowIds",
    "agentIds",
    "defaultFlowId",
    "allowedOrigins",
    "environment",
    "pinToVersion",
    "targetAlias",
    "targetVersionId",
    "productSurfaceId",
    "rateLimitPerMinute",
    "rateLimitPerHour",
    "maxMessagesPerSession",
    "sessionIdleTimeoutMinutes",
    "config",
    "isActive",
    "tokenPrefix",
    "tokenHint",
    "tokenValue",
    "lastUsedAt",
    "createdAt",
    "updatedAt",
];

fn assert_token_shape(token: &Value) {
    for field in TOKEN_FIELDS {
        assert!(token.get(*field).is_some(), "missing {field} in {token}");
    }
    let id = token["id"].as_str().unwrap();
    assert!(id.starts_with("ct_") && id.len() == 19, "id {id}");
    assert!(token["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn create_returns_201_the_value_once_and_the_full_object() {
    let api = Api::empty().await;
    let reply = api
        .post(
            "/v1/client-tokens",
            json!({
                "name": "  Checkout  ",
                "allowedOrigins": ["https://shop.example.com"],
                "agentIds": ["agent_1"],
                "environment": "live",
                "rateLimitPerMinute": 5,
                "config": {"welcomeMessage": "Hello"},
                "targetVersionId": "ver_1",
            }),
        )
        .await;
    let body = reply.expect(201);
    let token = &body["clientToken"];
    assert_token_shape(token);
    assert_eq!(token["name"], "Checkout", "name is trimmed");
    assert_eq!(token["environment"], "live");
    assert_eq!(token["tokenPrefix"], "ct_live_");
    assert_eq!(token["conversationCount"], 0);
    assert_eq!(token["isActive"], true);
    let value = body["token"].as_str().unwrap();
    assert!(
        value.starts_with("ct_live_") && value.len() == 40,
        "{value}"
    );
    assert!(value[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(token["tokenHint"], &value[36..]);
    assert_eq!(body["warnings"], json!([]));
}

#[tokio::test]
async fn create_applies_the_published_defaults() {
    let api = Api::empty().await;
    let body = api.create(json!({})).await;
    let token = &body["clientToken"];
    assert_eq!(token["environment"], "live");
    assert!(body["token"].as_str().unwrap().starts_with("ct_live_"));
    for (field, default) in [
        ("rateLimitPerMinute", json!(10)),
        ("rateLimitPerHour", json!(100)),
        ("maxMessagesPerSession", json!(100)),
        ("sessionIdleTimeoutMinutes", json!(30)),
        ("pinToVersion", json!("latest")),
        ("config", json!({})),
        ("agentIds", json!([])),
    ] {
        assert_eq!(token[field], default, "{field}");
    }
    let test = api.create(json!({"environment": "test"})).await;
    assert!(test["token"].as_str().unwrap().starts_with("ct_test_"));
}

#[tokio::test]
async fn ranges_are_the_published_ones() {
    let api = Api::empty().await;
    for (field, top) in [
        ("rateLimitPerMinute", 1000),
        ("rateLimitPerHour", 10000),
        ("maxMessagesPerSession", 1000),
        ("sessionIdleTimeoutMinutes", 1440),
    ] {
        api.create(json!({ field: top })).await;
        let error = api
            .post(
                "/v1/client-tokens",
                json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"], field: top + 1}),
            )
            .await
            .expect(400);
        assert_eq!(error["details"][0]["code"], "OUT_OF_RANGE", "{field}");
        assert_eq!(error["details"][0]["path"], field);
        assert!(
            error["details"][0]["suggestion"]
                .as_str()
                .unwrap()
                .contains(&top.to_string())
        );
    }
    api.create(json!({"name": "x".repeat(255)})).await;
    let error = api
        .post(
            "/v1/client-tokens",
            json!({"name": "x".repeat(256), "allowedOrigins": ["https://a.com"], "flowIds": ["f"]}),
        )
        .await
        .expect(400);
    assert_eq!(error["details"][0]["path"], "name");
}

#[tokio::test]
async fn flows_must_exist_in_the_account() {
    let api = Api::empty().await;
    let reply = api
        .post(
            "/v1/client-tokens",
            json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["flow_missing"]}),
        )
        .await;
    assert_eq!(reply.expect(404)["error"], "Referenced flow not found");
    let created = api.create(json!({})).await;
    let path = format!(
        "/v1/client-tokens/{}",
        created["clientToken"]["id"].as_str().unwrap()
    );
    let reply = api.put(&path, json!({"flowIds": ["flow_missing"]})).await;
    assert_eq!(reply.expect(404)["error"], "Referenced flow not found");
    // The control API adds to the catalogue.
    api.raw(
        Method::POST,
        "/__emulator/catalogue",
        Some(json!({"flows": ["flow_missing"]})),
        None,
    )
    .await
    .expect(200);
    api.put(&path, json!({"flowIds": ["flow_missing"]}))
        .await
        .expect(200);
}

#[tokio::test]
async fn star_and_native_origins_bring_security_warnings() {
    let api = Api::empty().await;
    let body = api.create(json!({"allowedOrigins": ["*", "native"]})).await;
    let warnings = body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(
        warnings
            .iter()
            .all(|w| w["type"] == "security" && w["message"].is_string())
    );
    let id = body["clientToken"]["id"].as_str().unwrap();
    let updated = api
        .put(
            &format!("/v1/client-tokens/{id}"),
            json!({"allowedOrigins": ["native"]}),
        )
        .await
        .expect(200);
    assert_eq!(updated["warnings"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn create_validation_names_the_field() {
    let api = Api::empty().await;
    let base = json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("allowed_origins", json!(["https://a.com"])),
            "allowed_origins",
        ),
        (with("name", json!("   ")), "name"),
        (with("name", json!("x".repeat(256))), "name"),
        (with("allowedOrigins", json!([])), "allowedOrigins"),
        (
            with("allowedOrigins", json!(["https://a.com/path"])),
            "https://a.com/path",
        ),
        (with("flowIds", json!([])), "flowIds"),
        (with("rateLimitPerMinute", json!(0)), "rateLimitPerMinute"),
        (with("rateLimitPerHour", json!(2.5)), "rateLimitPerHour"),
        (
            with("maxMessagesPerSession", json!("10")),
            "maxMessagesPerSession",
        ),
        (with("environment", json!("prod")), "environment"),
        (with("pinToVersion", json!("ver_123")), "pinToVersion"),
        (with("isActive", json!(false)), "isActive"),
        (
            json!({"allowedOrigins": ["https://a.com"], "flowIds": ["f"]}),
            "name",
        ),
        (json!({"name": "n", "flowIds": ["f"]}), "allowedOrigins"),
    ];
    for (body, named) in cases {
        let reply = api.post("/v1/client-tokens", body.clone()).await;
        let error = reply.expect(400);
        let message = error_text(&error);
        assert!(message.contains(named), "{body} -> {message}");
        assert_eq!(error["error"], "Validation error", "{body}");
    }
    let both = with("targetAlias", json!("prod"));
    let mut both = both;
    both["agentIds"] = json!(["a"]);
    both["targetVersionId"] = json!("v");
    let error = api.post("/v1/client-tokens", both).await.expect(400);
    assert!(error_text(&error).contains("targetAlias"));
    let mut two_agents = with("agentIds", json!(["a", "b"]));
    two_agents["targetVersionId"] = json!("v");
    let error = api.post("/v1/client-tokens", two_agents).await.expect(400);
    assert!(error_text(&error).contains("exactly one"));
    assert!(api.tokens().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn malformed_bodies_get_400() {
    let api = Api::empty().await;
    for body in ["{", "[]", "", "null", "\"text\""] {
        let reply = api
            .send_bytes(Method::POST, "/v1/client-tokens", body)
            .await;
        let error = reply.expect(400);
        assert!(error["error"].is_string(), "{body:?}");
    }
}

#[tokio::test]
async fn get_includes_the_conversation_count_and_list_does_not() {
    let api = Api::demo().await;
    let id = api.id_of("Marketing site widget").await;
    let token = api
        .get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    assert_token_shape(&token["clientToken"]);
    assert_eq!(token["clientToken"]["conversationCount"], 2);
    let listed = api.tokens().await;
    assert!(listed.iter().all(|t| t.get("conversationCount").is_none()));
    listed.iter().for_each(assert_token_shape);
}

#[tokio::test]
async fn list_is_newest_first() {
    let api = Api::empty().await;
    for name in ["first", "second", "third"] {
        api.create(json!({"name": name})).await;
        // Times have millisecond precision: move the clock so the three differ.
        api.advance_clock(1).await;
    }
    let names: Vec<_> = api
        .tokens()
        .await
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("third"), json!("second"), json!("first")]);
}

#[tokio::test]
async fn update_is_partial_and_checks_the_result() {
    let api = Api::empty().await;
    let created = api
        .create(json!({"rateLimitPerMinute": 10, "config": {"theme": "dark"}}))
        .await;
    let id = created["clientToken"]["id"].as_str().unwrap();
    let path = format!("/v1/client-tokens/{id}");
    api.advance_clock(1).await; // a later updatedAt
    let body = api
        .put(
            &path,
            json!({"name": "Renamed", "isActive": false, "rateLimitPerHour": 100}),
        )
        .await
        .expect(200);
    let token = &body["clientToken"];
    assert_eq!(token["name"], "Renamed");
    assert_eq!(token["isActive"], false);
    assert_eq!(token["rateLimitPerHour"], 100);
    assert_eq!(token["rateLimitPerMinute"], 10, "untouched fields stay");
    assert_eq!(token["config"], json!({"theme": "dark"}));
    assert_eq!(token["allowedOrigins"], json!(["https://app.example.com"]));
    assert_eq!(body["warnings"], json!([]));
    assert_ne!(token["updatedAt"], created["clientToken"]["updatedAt"]);
    // null clears a nullable field
    let cleared = api
        .put(&path, json!({"rateLimitPerMinute": null}))
        .await
        .expect(200);
    assert_eq!(cleared["clientToken"]["rateLimitPerMinute"], Value::Null);
    // fields fixed at creation, and unknown ones
    for (body, named) in [
        (json!({"environment": "live"}), "environment"),
        (json!({"productSurfaceId": "ps_1"}), "productSurfaceId"),
        (
            json!({"allowed_origins": ["https://a.com"]}),
            "allowed_origins",
        ),
        (json!({"allowedOrigins": []}), "allowedOrigins"),
        (json!({"flowIds": []}), "flowIds"),
        (json!({"isActive": "no"}), "isActive"),
    ] {
        let error = api.put(&path, body.clone()).await.expect(400);
        assert!(error_text(&error).contains(named), "{body}: {error}");
    }
    assert_eq!(
        api.get(&path).await.expect(200)["clientToken"]["flowIds"],
        json!(["flow_1"])
    );
}

#[tokio::test]
async fn pin_to_version_echo_is_ignored_and_a_new_version_rejected() {
    let api = Api::demo().await;
    let id = api.id_of("Legacy help widget").await;
    let path = format!("/v1/client-tokens/{id}");
    let before = api.get(&path).await.expect(200)["clientToken"].clone();
    assert_eq!(before["pinToVersion"], "published");
    let echoed = api
        .put(&path, json!({"pinToVersion": "published", "name": "Help"}))
        .await
        .expect(200);
    assert_eq!(echoed["clientToken"]["name"], "Help");
    let error = api
        .put(&path, json!({"pinToVersion": "ver_42"}))
        .await
        .expect(400);
    assert!(error_text(&error).contains("pinToVersion"));
    let switched = api
        .put(&path, json!({"pinToVersion": "latest"}))
        .await
        .expect(200);
    assert_eq!(switched["clientToken"]["pinToVersion"], "latest");
}

#[tokio::test]
async fn delete_returns_the_message_and_the_token_is_gone() {
    let api = Api::empty().await;
    let id = api.create(json!({})).await["clientToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = api
        .delete(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    assert_eq!(body["success"], true);
    assert_eq!(
        body["message"],
        format!("Client token with ID '{id}' has been successfully deleted.")
    );
    api.get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(404);
    api.delete(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn value_endpoint_and_the_legacy_token() {
    let api = Api::demo().await;
    let id = api.id_of("Staging playground").await;
    let token = api
        .get(&format!("/v1/client-tokens/{id}"))
        .await
        .expect(200);
    let value = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200);
    assert_eq!(value["token"], token["clientToken"]["tokenValue"]);

    let legacy = api.id_of("Legacy help widget").await;
    let legacy_token = api
        .get(&format!("/v1/client-tokens/{legacy}"))
        .await
        .expect(200);
    assert_eq!(legacy_token["clientToken"]["tokenValue"], Value::Null);
    let error = api
        .get(&format!("/v1/client-tokens/{legacy}/token"))
        .await
        .expect(400);
    assert!(error["error"].is_string());
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("regenerate")
    );
    // the remedy works: regenerate, then the value is readable
    api.post(&format!("/v1/client-tokens/{legacy}/regenerate"), json!({}))
        .await
        .expect(200);
    api.get(&format!("/v1/client-tokens/{legacy}/token"))
        .await
        .expect(200);
}

#[tokio::test]
async fn regenerate_returns_the_narrower_object_and_a_new_value() {
    let api = Api::demo().await;
    let id = api.id_of("Marketing site widget").await;
    let old = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200)["token"]
        .clone();
    let reply = api
        .call(
            Method::POST,
            &format!("/v1/client-tokens/{id}/regenerate"),
            None,
        )
        .await;
    let body = reply.expect(200);
    let new = body["token"].as_str().unwrap();
    assert_ne!(json!(new), old);
    assert!(new.starts_with("ct_live_"));
    assert!(body["message"].is_string());
    let narrow = body["clientToken"].as_object().unwrap();
    for absent in [
        "config",
        "rateLimitPerMinute",
        "rateLimitPerHour",
        "maxMessagesPerSession",
        "sessionIdleTimeoutMinutes",
        "conversationCount",
        "lastUsedAt",
    ] {
        assert!(
            !narrow.contains_key(absent),
            "regenerate reply has {absent}"
        );
    }
    assert_eq!(narrow["id"], json!(id));
    assert_eq!(narrow["tokenHint"], json!(&new[36..]));
    let now = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200);
    assert_eq!(now["token"], json!(new));
    let error = api
        .post(
            &format!("/v1/client-tokens/{id}/regenerate"),
            json!({"reason": "x"}),
        )
        .await
        .expect(400);
    assert!(error["error"].as_str().unwrap().contains("reason"));
}

#[tokio::test]
async fn unknown_ids_get_404_and_malformed_ids_400_on_every_endpoint() {
    let api = Api::demo().await;
    // Well-formed but unknown: 404. Neither `ct_` and 16 hex digits nor a UUID: 400, before
    // any lookup. (`%2E%2E` is left out: the client's URL parser resolves it as `..`.)
    let cases = [
        ("ct_0000000000000000", 404, "Client token not found"),
        (
            "0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c",
            404,
            "Client token not found",
        ),
        ("..%2Fx", 400, "Invalid client token ID"),
        ("ct%3Fx", 400, "Invalid client token ID"),
        ("a%20b", 400, "Invalid client token ID"),
        ("ct_1", 400, "Invalid client token ID"),
    ];
    for (id, status, error) in cases {
        let base = format!("/v1/client-tokens/{id}");
        let replies = [
            api.get(&base).await,
            api.put(&base, json!({"name": "x"})).await,
            api.delete(&base).await,
            api.get(&format!("{base}/token")).await,
            api.post(&format!("{base}/regenerate"), json!({})).await,
            api.get(&format!("{base}/conversations")).await,
        ];
        for reply in replies {
            assert_eq!(reply.expect(status)["error"], error, "{id}");
        }
    }
    assert_eq!(api.tokens().await.len(), 6, "nothing changed");
}

#[tokio::test]
async fn auth_missing_bad_raw_and_read_only_keys() {
    let api = Api::with(Config {
        api_keys: vec!["rt_test_full".into()],
        read_only_keys: vec!["rt_test_reader".into()],
        ..Config::default()
    })
    .await;
    let missing = api.raw(Method::GET, "/v1/client-tokens", None, None).await;
    assert_eq!(missing.status, 401);
    assert!(
        missing
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(missing.json()["error"].is_string());
    let bad = api
        .raw(
            Method::GET,
            "/v1/client-tokens",
            None,
            Some("Bearer rt_test_wrong"),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let raw = api
        .raw(Method::GET, "/v1/client-tokens", None, Some("rt_test_full"))
        .await;
    assert_eq!(raw.status, 200, "a raw key without Bearer is accepted");
    let lower = api
        .raw(
            Method::GET,
            "/v1/client-tokens",
            None,
            Some("bearer rt_test_full"),
        )
        .await;
    assert_eq!(lower.status, 200);

    let reader = Some("Bearer rt_test_reader");
    let list = api
        .raw(Method::GET, "/v1/client-tokens", None, reader)
        .await;
    let id = list.expect(200)["clientTokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = format!("/v1/client-tokens/{id}");
    let body = json!({"name": "n", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]});
    let writes = [
        api.raw(Method::POST, "/v1/client-tokens", Some(body), reader)
            .await,
        api.raw(Method::PUT, &token, Some(json!({"name": "x"})), reader)
            .await,
        api.raw(Method::DELETE, &token, None, reader).await,
        api.raw(Method::POST, &format!("{token}/regenerate"), None, reader)
            .await,
    ];
    for reply in writes {
        let error = reply.expect(403);
        assert!(
            error["hint"]
                .as_str()
                .unwrap()
                .contains("CLIENT_TOKENS:WRITE")
        );
    }
    let value = api
        .raw(Method::GET, &format!("{token}/token"), None, reader)
        .await;
    assert!(
        value.status == 200 || value.status == 400,
        "reads are allowed"
    );
}

#[tokio::test]
async fn conversations_filter_by_flow_id_and_page() {
    let api = Api::demo().await;
    let id = api.id_of("Staging playground").await;
    let value = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        api.init(&value, Some("http://localhost:3000"))
            .await
            .expect(200);
    }
    let path = format!("/v1/client-tokens/{id}/conversations");
    let all = api.get(&path).await.expect(200);
    assert_eq!(all["conversations"].as_array().unwrap().len(), 4);
    assert_eq!(
        all["pagination"],
        json!({"limit": 20, "offset": 0, "hasMore": false})
    );
    for c in all["conversations"].as_array().unwrap() {
        for field in [
            "id",
            "createdAt",
            "updatedAt",
            "name",
            "firstMessage",
            "flowId",
            "origin",
            "messageCount",
        ] {
            assert!(c.get(field).is_some(), "conversation lacks {field}");
        }
    }
    let page = api
        .get(&format!("{path}?limit=1&offset=1"))
        .await
        .expect(200);
    assert_eq!(page["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(page["pagination"]["hasMore"], true);
    let filtered = api
        .get(&format!("{path}?flow_id=flow_support_01"))
        .await
        .expect(200);
    assert_eq!(filtered["conversations"].as_array().unwrap().len(), 4);
    let none = api
        .get(&format!("{path}?flow_id=flow_other"))
        .await
        .expect(200);
    assert_eq!(none["conversations"], json!([]));
    let camel = api
        .get(&format!("{path}?flowId=flow_support_01"))
        .await
        .expect(400);
    assert!(camel["error"].as_str().unwrap().contains("flowId"));
    api.get(&format!("{path}?limit=101")).await.expect(400);
    api.get(&format!("{path}?limit=100")).await.expect(200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let api = Api::demo().await;
    assert_eq!(
        api.get("/v1/nothing-here").await.expect(404)["error"],
        "Not found"
    );
    let reply = api.call(Method::PATCH, "/v1/client-tokens", None).await;
    assert_eq!(reply.expect(405)["error"], "Method not allowed");
}
