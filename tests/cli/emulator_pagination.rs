//! List pagination: the legacy shape without `limit`, pages with `hasMore`, and the edges.

use serde_json::{Value, json};

use crate::support::Api;

async fn with_tokens(n: usize) -> Api {
    let api = Api::empty().await;
    for i in 0..n {
        api.create(json!({"name": format!("token {i:03}")})).await;
    }
    api
}

fn names(body: &Value) -> Vec<String> {
    body["clientTokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn without_limit_the_legacy_shape_has_no_pagination_key() {
    let api = with_tokens(3).await;
    let body = api.get("/v1/client-tokens").await.expect(200);
    assert_eq!(names(&body).len(), 3);
    assert!(body.get("pagination").is_none(), "{body}");
    let empty = Api::empty()
        .await
        .get("/v1/client-tokens")
        .await
        .expect(200);
    assert_eq!(empty, json!({"clientTokens": []}));
}

#[tokio::test]
async fn pages_walk_the_list_in_order_with_has_more() {
    let api = with_tokens(5).await;
    let all = names(&api.get("/v1/client-tokens").await.expect(200));
    let mut walked = Vec::new();
    let mut offset = 0;
    loop {
        let body = api
            .get(&format!("/v1/client-tokens?limit=2&offset={offset}"))
            .await
            .expect(200);
        let page = names(&body);
        assert_eq!(body["pagination"]["limit"], 2);
        assert_eq!(body["pagination"]["offset"], offset);
        walked.extend(page.clone());
        offset += page.len();
        if body["pagination"]["hasMore"] == false {
            break;
        }
    }
    assert_eq!(walked, all);
}

#[tokio::test]
async fn limit_one_and_two_hundred() {
    let api = with_tokens(3).await;
    let one = api.get("/v1/client-tokens?limit=1").await.expect(200);
    assert_eq!(names(&one).len(), 1);
    assert_eq!(
        one["pagination"],
        json!({"limit": 1, "offset": 0, "hasMore": true})
    );
    let max = api.get("/v1/client-tokens?limit=200").await.expect(200);
    assert_eq!(names(&max).len(), 3);
    assert_eq!(
        max["pagination"],
        json!({"limit": 200, "offset": 0, "hasMore": false})
    );
}

#[tokio::test]
async fn exactly_full_last_page_says_no_more() {
    let api = with_tokens(4).await;
    let body = api
        .get("/v1/client-tokens?limit=2&offset=2")
        .await
        .expect(200);
    assert_eq!(names(&body).len(), 2);
    assert_eq!(body["pagination"]["hasMore"], false);
}

#[tokio::test]
async fn offsets_past_the_end_give_an_empty_last_page() {
    let api = with_tokens(2).await;
    for offset in [2, 3, 1000, usize::MAX] {
        let body = api
            .get(&format!("/v1/client-tokens?limit=10&offset={offset}"))
            .await
            .expect(200);
        assert_eq!(body["clientTokens"], json!([]));
        assert_eq!(body["pagination"]["hasMore"], false);
    }
}

#[tokio::test]
async fn the_list_never_refuses_its_query() {
    // The document gives the list only 200, 401, 403 and 500: odd parameters are ignored or
    // clamped, never a 400.
    let api = with_tokens(3).await;
    for (query, returned, paged) in [
        ("limit=0", 3, false),
        ("limit=201", 3, true),
        ("limit=-1", 3, false),
        ("limit=abc", 3, false),
        ("limit=", 3, false),
        ("limit=1.5", 3, false),
        ("limit=2&offset=-1", 2, true),
        ("limit=2&offset=x", 2, true),
        ("limit=2&page=2", 2, true),
        ("limit=2&offset=1", 2, true),
    ] {
        let body = api
            .get(&format!("/v1/client-tokens?{query}"))
            .await
            .expect(200);
        assert_eq!(
            body["clientTokens"].as_array().unwrap().len(),
            returned,
            "{query}"
        );
        assert_eq!(body.get("pagination").is_some(), paged, "{query}");
    }
    let clamped = api.get("/v1/client-tokens?limit=201").await.expect(200);
    assert_eq!(clamped["pagination"]["limit"], 200);
}
