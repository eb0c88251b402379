//! The emulator's records and their JSON shapes on the wire.
//!
//! A stored record serialises to exactly the API's client-token object (camelCase keys), so
//! the state file reads like the API and needs no second schema. The computed
//! `conversationCount` and the narrower object that regenerate returns are added or removed
//! when a response is built, never stored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A client token as the emulator keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: String,
    pub name: Option<String>,
    pub flow_ids: Vec<String>,
    pub agent_ids: Vec<String>,
    pub default_flow_id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub environment: String,
    pub pin_to_version: Option<String>,
    pub target_alias: Option<String>,
    pub target_version_id: Option<String>,
    pub product_surface_id: Option<String>,
    pub rate_limit_per_minute: Option<u64>,
    pub rate_limit_per_hour: Option<u64>,
    pub max_messages_per_session: Option<u64>,
    pub session_idle_timeout_minutes: Option<u64>,
    pub config: Map<String, Value>,
    pub is_active: bool,
    pub token_prefix: String,
    pub token_hint: Option<String>,
    /// `None` for legacy tokens created before values were stored.
    pub token_value: Option<String>,
    #[serde(with = "iso_millis::option")]
    pub last_used_at: Option<Timestamp>,
    #[serde(with = "iso_millis")]
    pub created_at: Timestamp,
    #[serde(with = "iso_millis")]
    pub updated_at: Timestamp,
}

/// A widget conversation recorded by `POST /v1/client/init` (or by the demo seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRecord {
    pub id: String,
    pub token_id: String,
    pub name: String,
    pub first_message: Option<String>,
    pub flow_id: Option<String>,
    pub origin: Option<String>,
    pub message_count: u64,
    #[serde(with = "iso_millis")]
    pub created_at: Timestamp,
    #[serde(with = "iso_millis")]
    pub updated_at: Timestamp,
}

/// Fields the regenerate endpoint leaves out of its narrower `clientToken`.
const NOT_IN_REGENERATE: &[&str] = &[
    "config",
    "rateLimitPerMinute",
    "rateLimitPerHour",
    "maxMessagesPerSession",
    "sessionIdleTimeoutMinutes",
    "lastUsedAt",
    "conversationCount",
];

impl TokenRecord {
    fn to_object(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            // A struct of strings, numbers and maps always serialises to an object.
            _ => unreachable!("a token record serialises to a JSON object"),
        }
    }

    /// The object as list returns it (no `conversationCount`, which only get computes).
    pub fn to_list_json(&self) -> Value {
        Value::Object(self.to_object())
    }

    /// The full object, as get, create and update return it.
    pub fn to_full_json(&self, conversation_count: usize) -> Value {
        let mut map = self.to_object();
        map.insert("conversationCount".into(), json!(conversation_count));
        Value::Object(map)
    }

    /// The narrower object regenerate returns: no config, limits, counts or `lastUsedAt`.
    pub fn to_regenerated_json(&self) -> Value {
        let mut map = self.to_object();
        for key in NOT_IN_REGENERATE {
            map.remove(*key);
        }
        Value::Object(map)
    }

    /// The `{"type": "security", …}` warnings for origins that weaken protection.
    pub fn security_warnings(&self) -> Vec<Value> {
        let mut warnings = Vec::new();
        if self.allowed_origins.iter().any(|o| o == "*") {
            warnings.push(json!({
                "type": "security",
                "message": "allowedOrigins includes '*': any website can use this token. Only use this for testing, never in production.",
            }));
        }
        if self
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case("native"))
        {
            warnings.push(json!({
                "type": "security",
                "message": "allowedOrigins includes 'native': requests without an Origin header are admitted, which gives effectively no origin protection.",
            }));
        }
        warnings
    }
}

impl ConversationRecord {
    /// A conversation as the conversations endpoint lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "createdAt": iso_millis::format(&self.created_at),
            "updatedAt": iso_millis::format(&self.updated_at),
            "name": self.name,
            "firstMessage": self.first_message,
            "flowId": self.flow_id,
            "origin": self.origin,
            "messageCount": self.message_count,
        })
    }
}

/// ISO-8601 timestamps with millisecond precision and a `Z`, as JavaScript's `toISOString`
/// writes them (and so as the real service does).
pub mod iso_millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(ts: &Timestamp) -> String {
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match ts {
                Some(ts) => super::serialize(ts, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}
