//! Typed views of the API's JSON, decoded tolerantly, and typed request bodies.
//!
//! Replies: every field is optional (servers may send `null` or leave fields out) and unknown
//! fields are ignored by the typed view. The raw JSON object is kept beside it, so `--json`
//! output passes on everything the server said, including fields this version does not know.
//!
//! Requests: only the fields the user set are sent (`skip_serializing_if`), in the API's
//! camelCase, so an update is partial by construction.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A client token: the typed fields rtctl uses, and the object exactly as received.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub fields: TokenFields,
    pub raw: Map<String, Value>,
}

/// The fields rtctl reads. Everything but `id` may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenFields {
    pub id: String,
    pub name: Option<String>,
    pub flow_ids: Option<Vec<String>>,
    pub agent_ids: Option<Vec<String>>,
    pub default_flow_id: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    /// `test` or `live` today; kept as a string because the set may grow.
    pub environment: Option<String>,
    pub is_active: Option<bool>,
    pub token_prefix: Option<String>,
    pub token_hint: Option<String>,
    pub token_value: Option<String>,
    pub last_used_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub conversation_count: Option<u64>,
}

impl ClientToken {
    /// Decodes one token object; `None` when it is not an object with a string `id`.
    pub fn from_value(value: Value) -> Option<ClientToken> {
        let Value::Object(raw) = value else {
            return None;
        };
        if !raw.get("id").is_some_and(Value::is_string) {
            return None;
        }
        let fields = lenient_fields(&raw);
        Some(ClientToken { fields, raw })
    }

    pub fn id(&self) -> &str {
        &self.fields.id
    }

    pub fn name(&self) -> &str {
        self.fields.name.as_deref().unwrap_or("")
    }

    pub fn environment(&self) -> &str {
        self.fields.environment.as_deref().unwrap_or("unknown")
    }

    pub fn origins(&self) -> &[String] {
        self.fields.allowed_origins.as_deref().unwrap_or(&[])
    }

    pub fn is_active(&self) -> bool {
        self.fields.is_active.unwrap_or(true)
    }
}

/// Decodes field by field, so one field of an unexpected type (a future server sending a
/// number where a string was) costs that field, not the whole token.
fn lenient_fields(raw: &Map<String, Value>) -> TokenFields {
    fn get<T: serde::de::DeserializeOwned>(raw: &Map<String, Value>, key: &str) -> Option<T> {
        raw.get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
    TokenFields {
        id: get(raw, "id").unwrap_or_default(),
        name: get(raw, "name"),
        flow_ids: get(raw, "flowIds"),
        agent_ids: get(raw, "agentIds"),
        default_flow_id: get(raw, "defaultFlowId"),
        allowed_origins: get(raw, "allowedOrigins"),
        environment: get(raw, "environment"),
        is_active: get(raw, "isActive"),
        token_prefix: get(raw, "tokenPrefix"),
        token_hint: get(raw, "tokenHint"),
        token_value: get(raw, "tokenValue"),
        last_used_at: get(raw, "lastUsedAt"),
        created_at: get(raw, "createdAt"),
        updated_at: get(raw, "updatedAt"),
        conversation_count: get(raw, "conversationCount"),
    }
}

/// A server warning, shown on stderr.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Warning {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
}

/// One page of the token list.
#[derive(Debug)]
pub struct TokenPage {
    pub tokens: Vec<ClientToken>,
    /// `Some` when the server said whether more follows.
    pub has_more: Option<bool>,
    /// Whether the reply carried `pagination` at all (a server that ignores `limit` does not).
    pub paginated: bool,
}

impl TokenPage {
    /// Whether another page follows this one, which held `received` of the `asked` tokens. A
    /// server that ignored `limit` sent everything; otherwise follow `hasMore`, or, where a
    /// deployment omits it, stop at the first short page.
    pub fn has_more_after(&self, received: usize, asked: u32) -> bool {
        self.paginated && received > 0 && self.has_more.unwrap_or(received == asked as usize)
    }
}

/// A conversation, kept as the raw object plus the fields tables show.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub raw: Map<String, Value>,
}

impl Conversation {
    pub fn text(&self, key: &str) -> String {
        match self.raw.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// One page of conversations.
#[derive(Debug)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub has_more: Option<bool>,
}

/// The reply to create and regenerate: the token and its new plain value.
#[derive(Debug)]
pub struct WithValue {
    pub token: ClientToken,
    pub value: String,
    pub warnings: Vec<Warning>,
    /// The whole reply, for `--json`.
    pub raw: Map<String, Value>,
}

/// The body of `POST /v1/client-tokens` and `PUT /v1/client-tokens/{id}`: only what is set is
/// sent. `environment` and `productSurfaceId` exist only on create.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_flow_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_to_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_surface_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_hour: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_messages_per_session: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_idle_timeout_minutes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

impl TokenRequest {
    /// Whether the request would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == TokenRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decoding_tolerates_missing_null_unknown_and_mistyped_fields() {
        let token = ClientToken::from_value(json!({
            "id": "ct_1",
            "name": null,
            "environment": "staging",
            "isActive": "yes",
            "futureField": {"x": 1},
        }))
        .unwrap();
        assert_eq!(token.id(), "ct_1");
        assert_eq!(token.name(), "");
        assert_eq!(token.environment(), "staging");
        assert!(
            token.is_active(),
            "a mistyped field falls back, the token survives"
        );
        assert_eq!(token.raw["futureField"], json!({"x": 1}));
        assert!(ClientToken::from_value(json!({"name": "no id"})).is_none());
        assert!(ClientToken::from_value(json!([1])).is_none());
    }

    #[test]
    fn requests_send_only_what_is_set_in_camel_case() {
        let request = TokenRequest {
            name: Some("n".into()),
            rate_limit_per_minute: Some(5),
            ..TokenRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"name": "n", "rateLimitPerMinute": 5})
        );
        assert!(TokenRequest::default().is_empty());
    }
}
