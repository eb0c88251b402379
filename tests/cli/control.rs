//! The emulator's control API from binary and in-process tests: raw records, the clock, the
//! catalogue, the whole journal. (An inherent `impl` of the harness's `Server`, kept apart.)

#![allow(dead_code)]
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Server;
use crate::support::Reply;

impl Server {
    /// A request to the control API (no key).
    pub fn control(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async move {
            let mut request = crate::support::http().request(method, url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            Reply {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                text: response.text().await.unwrap(),
            }
        })
    }

    /// Inserts a token record exactly as given; `fields` override a complete, valid record.
    pub fn insert_raw(&self, id: &str, fields: Value) {
        let mut record = json!({
            "id": id, "name": "Raw", "flowIds": ["f"], "agentIds": [], "defaultFlowId": null,
            "allowedOrigins": ["https://raw.example.com"], "environment": "live",
            "pinToVersion": "latest", "targetAlias": null, "targetVersionId": null,
            "productSurfaceId": null, "rateLimitPerMinute": 10, "rateLimitPerHour": 100,
            "maxMessagesPerSession": 100, "sessionIdleTimeoutMinutes": 30, "config": {},
            "isActive": true, "tokenPrefix": "ct_live_", "tokenHint": "abcd",
            "tokenValue": format!("ct_live_{:0>32}", id.len()), "lastUsedAt": null,
            "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
        });
        for (k, v) in fields.as_object().unwrap() {
            record[k] = v.clone();
        }
        self.control(Method::POST, "/__emulator/tokens", Some(record))
            .expect(201);
    }

    /// The account's tokens whose name starts with `prefix` (whatever rollover mark follows).
    pub fn tokens_named(&self, prefix: &str) -> Vec<Value> {
        self.tokens()
            .into_iter()
            .filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
            .collect()
    }

    /// Stops the emulator's clock at `at` (ISO-8601).
    pub fn set_clock(&self, at: &str) {
        self.control(
            Method::POST,
            "/__emulator/clock",
            Some(json!({ "now": at })),
        )
        .expect(200);
    }

    /// The status of the widget's `POST /v1/client/init` with `value`, from `origin`.
    pub fn init_status(&self, value: &str, origin: Option<&str>) -> u16 {
        let url = format!("{}/v1/client/init", self.url);
        self.runtime.block_on(async {
            let mut request = crate::support::http()
                .post(url)
                .json(&json!({ "token": value }));
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send().await.unwrap().status().as_u16()
        })
    }

    /// The journal's entries, whole.
    pub fn journal_entries(&self) -> Vec<Value> {
        self.control(Method::GET, "/__emulator/requests", None)
            .expect(200)["requests"]
            .as_array()
            .unwrap()
            .clone()
    }
}
