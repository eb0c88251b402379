//! Products, surfaces and observed origins in the emulator: the document's shapes (checked by
//! the contract observer on every reply), cursor paging and filters, and sightings recorded
//! from the widget's inits.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Api;

const STORE: &str = "prod_0d3e00000000b001";
const STORE_CHAT: &str = "surf_0d3e00000000c001";

async fn observed(api: &Api, product: &str, surface: &str) -> Vec<Value> {
    api.get(&format!(
        "/v1/products/{product}/surfaces/{surface}/observed-origins"
    ))
    .await
    .expect(200)["origins"]
        .as_array()
        .unwrap()
        .clone()
}

fn seen<'a>(origins: &'a [Value], origin: &str) -> Option<&'a Value> {
    origins.iter().find(|o| o["origin"] == origin)
}

#[tokio::test]
async fn the_demo_has_a_product_with_a_development_and_a_production_chat_surface() {
    let api = Api::demo().await;
    let body = api
        .get("/v1/surfaces?type=chat&productId=prod_0d3e00000000b001")
        .await
        .expect(200);
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Web chat") && names.contains(&"Web chat (dev)"),
        "{names:?}"
    );
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["type"] == "chat")
    );
    let details = api
        .get(&format!("/v1/products/{STORE}/surfaces/{STORE_CHAT}"))
        .await
        .expect(200);
    assert_eq!(details["environment"], "production");
    assert_eq!(details["status"], "active");
    let flows: Vec<&Value> = details["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["flowId"])
        .collect();
    assert!(flows.contains(&&json!("flow_support_01")), "{details}");
    let token = api
        .get("/v1/client-tokens/ct_0d3e00000000a001")
        .await
        .expect(200);
    assert_eq!(token["clientToken"]["productSurfaceId"], STORE_CHAT);
    // Out of the box, a refused site is calling the store's production chat.
    let origins = observed(&api, STORE, STORE_CHAT).await;
    assert_eq!(
        seen(&origins, "https://shop.example.com").unwrap()["allowed"],
        false
    );
    assert_eq!(
        seen(&origins, "https://www.example.com").unwrap()["allowed"],
        true
    );
    api.shutdown().await;
}

#[tokio::test]
async fn the_list_pages_by_cursor_and_filters() {
    let api = Api::empty().await;
    for i in 0..7 {
        let status = if i % 3 == 0 { "paused" } else { "active" };
        api.raw(
            Method::POST,
            "/__emulator/surfaces",
            Some(json!({"productName": "Many", "name": format!("Chat {i}"), "status": status})),
            None,
        )
        .await
        .expect(201);
    }
    let mut cursor: Option<String> = None;
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/surfaces?limit=3&cursor={c}"),
            None => "/v1/surfaces?limit=3".to_string(),
        };
        let body = api.get(&path).await.expect(200);
        pages += 1;
        for s in body["data"].as_array().unwrap() {
            names.push(s["name"].as_str().unwrap().to_string());
        }
        assert_eq!(body["pagination"]["hasPrev"], cursor.is_some());
        match body["pagination"]["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(body["pagination"]["hasMore"], true);
                cursor = Some(next.to_string());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "every surface once: {names:?}");
    let paused = api.get("/v1/surfaces?status=paused").await.expect(200);
    assert_eq!(paused["data"].as_array().unwrap().len(), 3);
    for bad in [
        "/v1/surfaces?status=gone",
        "/v1/surfaces?cursor=nope",
        "/v1/surfaces?limit=0",
        "/v1/surfaces?page=2",
    ] {
        assert_eq!(api.get(bad).await.status, 400, "{bad}");
    }
    assert_eq!(
        api.get(&format!("/v1/products/prod_x/surfaces/{STORE_CHAT}"))
            .await
            .status,
        404
    );
    assert_eq!(
        api.get("/v1/products/prod_x/surfaces/surf_x/observed-origins")
            .await
            .status,
        404
    );
    api.shutdown().await;
}

#[tokio::test]
async fn inits_of_a_surface_token_are_sightings_admitted_or_not() {
    let api = Api::empty().await;
    let surface = api
        .raw(
            Method::POST,
            "/__emulator/surfaces",
            Some(json!({"productName": "Shop", "name": "Web chat", "items": [{"id": "i1", "flowId": "flow_1"}]})),
            None,
        )
        .await
        .expect(201);
    let (product, surface_id) = (
        surface["productId"].as_str().unwrap().to_string(),
        surface["id"].as_str().unwrap().to_string(),
    );
    let created = api
        .create(json!({"environment": "live", "productSurfaceId": surface_id, "allowedOrigins": ["https://shop.example.com"]}))
        .await;
    let value = created["token"].as_str().unwrap().to_string();
    api.init(&value, Some("https://shop.example.com"))
        .await
        .expect(200);
    assert_eq!(
        api.init(&value, Some("https://www.shop.example.com"))
            .await
            .status,
        403
    );
    api.init(&value, None).await;
    // A token of no surface leaves no trace here.
    let other = api.create(json!({"environment": "live"})).await;
    api.init(
        other["token"].as_str().unwrap(),
        Some("https://app.example.com"),
    )
    .await
    .expect(200);
    let origins = observed(&api, &product, &surface_id).await;
    assert_eq!(origins.len(), 3, "{origins:?}");
    assert_eq!(
        seen(&origins, "https://shop.example.com").unwrap()["allowed"],
        true
    );
    assert_eq!(
        seen(&origins, "https://www.shop.example.com").unwrap()["allowed"],
        false
    );
    assert_eq!(seen(&origins, "native").unwrap()["allowed"], false);
    // `allowed` follows the tokens as they are now.
    let id = created["clientToken"]["id"].as_str().unwrap();
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"allowedOrigins": ["https://shop.example.com", "https://www.shop.example.com"]}),
    )
    .await
    .expect(200);
    let origins = observed(&api, &product, &surface_id).await;
    assert_eq!(
        seen(&origins, "https://www.shop.example.com").unwrap()["allowed"],
        true
    );
    // Seven days on, the window is empty; a new sighting starts it again.
    api.advance_clock(7 * 86_400 + 60).await;
    assert!(observed(&api, &product, &surface_id).await.is_empty());
    api.init(&value, Some("https://shop.example.com"))
        .await
        .expect(200);
    let origins = observed(&api, &product, &surface_id).await;
    assert_eq!(origins.len(), 1);
    assert_eq!(origins[0]["firstSeenAt"], origins[0]["lastSeenAt"]);
    api.shutdown().await;
}

#[tokio::test]
async fn a_token_of_a_paused_surface_cannot_start_a_chat() {
    let api = Api::empty().await;
    let surface = api
        .raw(
            Method::POST,
            "/__emulator/surfaces",
            Some(json!({"productName": "Shop", "name": "Paused chat", "status": "paused"})),
            None,
        )
        .await
        .expect(201);
    let created = api.create(json!({"productSurfaceId": surface["id"]})).await;
    let reply = api
        .init(
            created["token"].as_str().unwrap(),
            Some("https://app.example.com"),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"], "Chat surface is not active");
    api.shutdown().await;
}
