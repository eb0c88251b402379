//! Typed views of the API's JSON, decoded tolerantly.
//!
//! A client token is kept as the object the server sent, read field by field through the one
//! token description (`crate::token`): a field of an unexpected type costs that field, not
//! the whole token, and `--json` output passes on everything the server said, including
//! fields this version does not know. Request bodies are `crate::token::Values`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::token::{Field, TokenView};

/// A client token, exactly as received.
#[derive(Debug, Clone)]
pub(crate) struct ClientToken {
    pub raw: Map<String, Value>,
}

impl ClientToken {
    /// Decodes one token object; `None` when it is not an object with a string `id`.
    pub(crate) fn from_value(value: Value) -> Option<ClientToken> {
        let Value::Object(raw) = value else {
            return None;
        };
        if !raw.get("id").is_some_and(Value::is_string) {
            return None;
        }
        Some(ClientToken { raw })
    }
}

impl TokenView for ClientToken {
    fn field(&self, field: Field) -> Option<&Value> {
        self.raw.field(field)
    }
}

/// A server warning, shown on stderr.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct Warning {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
}

/// A conversation, kept as the raw object plus the fields tables show.
#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    pub raw: Map<String, Value>,
}

impl Conversation {
    pub(crate) fn text(&self, key: &str) -> String {
        match self.raw.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// The reply to create and regenerate: the token and its new plain value.
#[derive(Debug)]
pub(crate) struct WithValue {
    pub token: ClientToken,
    pub value: String,
    pub warnings: Vec<Warning>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::token::TokenView;

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
            !token.is_active(),
            "a mistyped field reads as not active, and the token survives"
        );
        assert_eq!(token.raw["futureField"], json!({"x": 1}));
        assert!(ClientToken::from_value(json!({"name": "no id"})).is_none());
        assert!(ClientToken::from_value(json!([1])).is_none());
    }
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// `Some` when the server said whether more follows.
    pub has_more: Option<bool>,
    /// Whether the reply carried `pagination` at all (a server that ignores `limit` does not).
    pub paginated: bool,
}

impl<T> Page<T> {
    /// A page of `items`, with what the reply's `pagination` says.
    pub(crate) fn new(items: Vec<T>, pagination: Option<&Value>) -> Page<T> {
        let pagination = pagination.and_then(Value::as_object);
        Page {
            items,
            has_more: pagination
                .and_then(|p| p.get("hasMore"))
                .and_then(Value::as_bool),
            paginated: pagination.is_some(),
        }
    }

    /// Whether another page follows this one, asked with `limit`.
    pub(crate) fn has_more_after(&self, limit: u32) -> bool {
        let received = self.items.len();
        self.paginated && received > 0 && self.has_more.unwrap_or(received == limit as usize)
    }
}
