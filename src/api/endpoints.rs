//! The client-token endpoints, one method each: the request as the API takes it, and the
//! reply read into rtctl's types. Requests go through [`Client::send`] (retried as it is safe
//! to); the HTTP itself is [`super::client`]'s.

use reqwest::Method;
use serde_json::{Map, Value};

use super::client::{Client, Streamed};
use super::error::ApiError;
use super::retry::GONE_ON_RETRY;
use super::types::{ClientToken, Conversation, Page, Warning, WithValue};
use crate::token::Values;

/// The service's answer to a widget's init (`rtctl doctor --probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitAnswer {
    pub status: u16,
    /// What a refusal said: `error`, and the `errorDescription` and `hint` the service may
    /// add (the widget reads them as of persona 4.2x).
    pub error: Option<String>,
    pub description: Option<String>,
    pub hint: Option<String>,
}

/// How a delete ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deleted {
    Now,
    /// Gone when a retry came: deleted by the attempt whose reply was lost, or never there.
    GoneOnRetry,
}

fn json_body(request: &Values) -> Vec<u8> {
    // A JSON object always serialises.
    serde_json::to_vec(&request.to_object()).unwrap_or_default()
}

fn token(value: Option<Value>) -> Result<ClientToken, ApiError> {
    value.and_then(ClientToken::from_value).ok_or_else(|| {
        ApiError::InvalidReply("the reply has no \"clientToken\" object with an id".into())
    })
}

fn token_list(value: Option<Value>, key: &str) -> Result<Vec<ClientToken>, ApiError> {
    let Some(Value::Array(items)) = value else {
        return Err(ApiError::InvalidReply(format!(
            "the reply has no \"{key}\" array"
        )));
    };
    items.into_iter().map(|item| token(Some(item))).collect()
}

fn warnings(value: Option<&Value>) -> Vec<Warning> {
    value
        .and_then(|v| serde_json::from_value::<Vec<Warning>>(v.clone()).ok())
        .unwrap_or_default()
}

fn with_value(reply: Map<String, Value>) -> Result<WithValue, ApiError> {
    let value = match reply.get("token") {
        Some(Value::String(v)) => v.clone(),
        _ => {
            return Err(ApiError::InvalidReply(
                "the reply has no \"token\" value".into(),
            ));
        }
    };
    let warnings = warnings(reply.get("warnings"));
    let token = token(reply.get("clientToken").cloned())?;
    Ok(WithValue {
        token,
        value,
        warnings,
    })
}

impl Client {
    /// One page of the token list. A server that ignores `limit` answers the whole list
    /// without `pagination`; the page says so, and the pager stops there.
    pub(crate) async fn token_page(
        &self,
        limit: u32,
        offset: u64,
    ) -> Result<Page<ClientToken>, ApiError> {
        let url = format!("{}/v1/client-tokens", self.base());
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        let mut reply = self
            .send(Method::GET, url, &query, None)
            .await
            .map_err(|e| self.list_missing(e))?;
        let tokens = token_list(reply.remove("clientTokens"), "clientTokens")?;
        Ok(Page::new(tokens, reply.get("pagination")))
    }

    /// `GET {path}` without `limit`: the whole list in one reply, under `key`, read as it
    /// arrives (see [`Streamed`]). Retried like any GET until its reply starts.
    pub(crate) async fn stream_list(
        &self,
        path: &str,
        key: &'static str,
    ) -> Result<Streamed<'_>, ApiError> {
        let url = format!("{}{path}", self.base());
        let (response, started) = self
            .retrying(
                &Method::GET,
                &url,
                || self.start(&Method::GET, &url, &[], None),
                || unreachable!("only a DELETE is found gone"),
            )
            .await
            .map_err(|e| self.list_missing(e))?;
        Ok(Streamed::new(self, response, started, key))
    }

    /// A 404 for the list itself: not a missing token, a URL that is not the API.
    fn list_missing(&self, error: ApiError) -> ApiError {
        match error {
            ApiError::Status { status: 404, .. } => {
                ApiError::InvalidReply(format!("{} has no /v1/client-tokens (404)", self.base()))
            }
            other => other,
        }
    }

    /// `POST /v1/client/init` as the widget sends it from a page at `origin` (`rtctl doctor
    /// --probe`): no API key, the client token is the credential. The status, and the
    /// service's message when it refused.
    pub(crate) async fn widget_init(
        &self,
        value: &str,
        flow: Option<&str>,
        origin: &str,
    ) -> Result<InitAnswer, ApiError> {
        let url = format!("{}/v1/client/init", self.base());
        let mut body = serde_json::json!({ "token": value });
        if let Some(flow) = flow {
            body["flowId"] = Value::String(flow.to_string());
        }
        self.log(|| format!("> POST {url} (Origin: {origin})"));
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::ORIGIN, origin)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(&url, e))?;
        let status = response.status().as_u16();
        let bytes = self.read_body(&url, response).await?;
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(InitAnswer {
            status,
            error: text("error"),
            description: text("errorDescription"),
            hint: text("hint"),
        })
    }

    /// `GET /v1/users/profile`: who the key belongs to.
    pub(crate) async fn profile(&self) -> Result<Map<String, Value>, ApiError> {
        let url = format!("{}/v1/users/profile", self.base());
        self.send(Method::GET, url, &[], None).await
    }

    pub(crate) async fn get(&self, id: &str) -> Result<ClientToken, ApiError> {
        let mut reply = self
            .send(Method::GET, self.token_path(id, ""), &[], None)
            .await?;
        token(reply.remove("clientToken"))
    }

    pub(crate) async fn create(&self, request: &Values) -> Result<WithValue, ApiError> {
        let url = format!("{}/v1/client-tokens", self.base());
        let reply = self
            .send(Method::POST, url, &[], Some(json_body(request)))
            .await?;
        with_value(reply)
    }

    pub(crate) async fn update(
        &self,
        id: &str,
        request: &Values,
    ) -> Result<(ClientToken, Vec<Warning>), ApiError> {
        let mut reply = self
            .send(
                Method::PUT,
                self.token_path(id, ""),
                &[],
                Some(json_body(request)),
            )
            .await?;
        let warnings = warnings(reply.get("warnings"));
        Ok((token(reply.remove("clientToken"))?, warnings))
    }

    /// One attempt at an update, never repeated: a write that must land right after the read
    /// it was decided on (a rollover's mark), where a retry seconds later could overwrite
    /// what another run wrote meanwhile. The caller reads again before trying again.
    pub(crate) async fn update_once(&self, id: &str, request: &Values) -> Result<(), ApiError> {
        self.send_once(
            &Method::PUT,
            &self.token_path(id, ""),
            &[],
            Some(json_body(request)),
        )
        .await
        .map(|_| ())
    }

    /// Deletes the token. A retry that finds it gone, after an attempt whose reply was
    /// lost, is `GoneOnRetry`: deleted by that attempt, or it never existed.
    pub(crate) async fn delete(&self, id: &str) -> Result<Deleted, ApiError> {
        let reply = self
            .send(Method::DELETE, self.token_path(id, ""), &[], None)
            .await?;
        Ok(if reply.contains_key(GONE_ON_RETRY) {
            Deleted::GoneOnRetry
        } else {
            Deleted::Now
        })
    }

    pub(crate) async fn value(&self, id: &str) -> Result<String, ApiError> {
        let reply = self
            .send(Method::GET, self.token_path(id, "/token"), &[], None)
            .await?;
        match reply.get("token") {
            Some(Value::String(value)) => Ok(value.clone()),
            _ => Err(ApiError::InvalidReply(
                "the reply has no \"token\" string".into(),
            )),
        }
    }

    pub(crate) async fn regenerate(&self, id: &str) -> Result<WithValue, ApiError> {
        let reply = self
            .send(Method::POST, self.token_path(id, "/regenerate"), &[], None)
            .await?;
        with_value(reply)
    }

    /// One page of a token's conversations, optionally of one flow.
    pub(crate) async fn conversation_page(
        &self,
        id: &str,
        flow_id: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Conversation>, ApiError> {
        let mut query = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        if let Some(flow) = flow_id {
            query.push(("flow_id", flow.to_string()));
        }
        let mut reply = self
            .send(
                Method::GET,
                self.token_path(id, "/conversations"),
                &query,
                None,
            )
            .await?;
        let Some(Value::Array(items)) = reply.remove("conversations") else {
            return Err(ApiError::InvalidReply(
                "the reply has no \"conversations\" array".into(),
            ));
        };
        let conversations = items
            .into_iter()
            .map(|item| match item {
                Value::Object(raw) => Ok(Conversation { raw }),
                _ => Err(ApiError::InvalidReply(
                    "a conversation is not a JSON object".into(),
                )),
            })
            .collect::<Result<_, _>>()?;
        // Conversations are always paged, whether or not the reply says so.
        let mut page = Page::new(conversations, reply.get("pagination"));
        page.paginated = true;
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod decoding_never_panics {
        use super::*;
        use crate::api::client::error_reply;
        use crate::api::error::{describe_body, server_wait};
        use proptest::prelude::*;
        use reqwest::StatusCode;
        use std::time::SystemTime;

        /// Any JSON value, nested a few levels, with the keys replies use mixed in so the
        /// decoders get past their first checks.
        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                let key = prop_oneof![
                    Just("id".to_string()),
                    Just("clientToken".to_string()),
                    Just("clientTokens".to_string()),
                    Just("token".to_string()),
                    Just("warnings".to_string()),
                    Just("pagination".to_string()),
                    Just("hasMore".to_string()),
                    Just("allowedOrigins".to_string()),
                    Just("isActive".to_string()),
                    "[a-z]{1,6}",
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map(key, inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn arbitrary_bodies(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300), html in any::<bool>()) {
                let status = StatusCode::from_u16(status).unwrap();
                let content_type = html.then_some("text/html");
                let error = error_reply(status, content_type, &body, None);
                let _ = error.to_string();
                let _ = describe_body(content_type, &body);
            }

            #[test]
            fn arbitrary_json(value in json()) {
                let _ = ClientToken::from_value(value.clone());
                let _ = token(Some(value.clone()));
                let _ = token_list(Some(value.clone()), "clientTokens");
                let _ = warnings(Some(&value));
                if let Value::Object(map) = value.clone() {
                    let _ = with_value(map.clone());
                    let bytes = serde_json::to_vec(&map).unwrap();
                    let _ = error_reply(StatusCode::BAD_REQUEST, None, &bytes, None);
                    if let Some(token) = ClientToken::from_value(Value::Object(map)) {
                        use crate::token::TokenView;
                        let _ = (token.name(), token.environment(), token.origins(), token.is_active());
                    }
                }
            }

            #[test]
            fn arbitrary_retry_headers(ms in "\\PC{0,12}", after in "\\PC{0,40}", reset in "\\PC{0,12}") {
                let mut headers = reqwest::header::HeaderMap::new();
                for (name, value) in [("retry-after-ms", ms), ("retry-after", after), ("x-ratelimit-reset", reset)] {
                    if let Ok(v) = reqwest::header::HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
                let _ = server_wait(&headers, SystemTime::now());
            }
        }
    }
}
