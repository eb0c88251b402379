//! The emulator's records and their JSON shapes on the wire.
//!
//! A stored token is exactly the API's client-token object, so the state file reads like the
//! API and needs no second schema. The computed
//! `conversationCount` and the narrower object that regenerate returns are added or removed
//! when a response is built, never stored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use rtctl_model::token::{Field, TokenView};

/// A client token as the emulator keeps it: the API's object itself, so the state file reads
/// like the API and every field follows the one token description. Records inserted raw
/// through the control API may hold anything; reads of them are tolerant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct TokenRecord(Map<String, Value>);

impl TokenView for TokenRecord {
    fn field(&self, field: Field) -> Option<&Value> {
        self.0.get(field.json()).filter(|v| !v.is_null())
    }
}

/// A widget conversation recorded by `POST /v1/client/init` (or by the demo seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConversationRecord {
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
const NOT_IN_REGENERATE: &[Field] = &[
    Field::Config,
    Field::RateLimitPerMinute,
    Field::RateLimitPerHour,
    Field::MaxMessagesPerSession,
    Field::SessionIdleTimeoutMinutes,
    Field::LastUsedAt,
    Field::ConversationCount,
];

impl TokenRecord {
    /// A record holding exactly `object`.
    pub(super) fn from_object(object: Map<String, Value>) -> TokenRecord {
        TokenRecord(object)
    }

    pub(super) fn object(&self) -> &Map<String, Value> {
        &self.0
    }

    pub(super) fn set(&mut self, field: Field, value: Value) {
        self.0.insert(field.json().to_string(), value);
    }

    /// Sets a time field in the API's format.
    pub(super) fn set_time(&mut self, field: Field, at: Timestamp) {
        self.set(field, Value::String(iso_millis::format(&at)));
    }

    /// A time field; `None` when unset or unreadable.
    pub(super) fn time(&self, field: Field) -> Option<Timestamp> {
        self.text(field).and_then(|t| t.parse().ok())
    }

    /// The plain value; `None` for legacy tokens created before values were stored.
    pub(super) fn value(&self) -> Option<&str> {
        self.text(Field::TokenValue)
    }

    /// The object as list returns it (no `conversationCount`, which only get computes).
    pub(super) fn to_list_json(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The full object, as get, create and update return it.
    pub(super) fn to_full_json(&self, conversation_count: usize) -> Value {
        let mut map = self.0.clone();
        map.insert(
            Field::ConversationCount.json().into(),
            json!(conversation_count),
        );
        Value::Object(map)
    }

    /// The narrower object regenerate returns: no config, limits, counts or `lastUsedAt`.
    pub(super) fn to_regenerated_json(&self) -> Value {
        let mut map = self.0.clone();
        for field in NOT_IN_REGENERATE {
            map.remove(field.json());
        }
        Value::Object(map)
    }

    /// The `{"type": "security", …}` warnings for origins that weaken protection.
    pub(super) fn security_warnings(&self) -> Vec<Value> {
        let origins = self.origins();
        let mut warnings = Vec::new();
        if origins.contains(&"*") {
            warnings.push(json!({
                "type": "security",
                "message": "allowedOrigins includes '*': any website can use this token. Only use this for testing, never in production.",
            }));
        }
        if origins.iter().any(|o| o.eq_ignore_ascii_case("native")) {
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
    pub(super) fn to_json(&self) -> Value {
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

/// A widget session, from an init.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionRecord {
    pub id: String,
    pub token_id: String,
    pub conversation_id: String,
    /// The page origin the session was opened from (`None`: no Origin header).
    pub origin: Option<String>,
    #[serde(with = "iso_millis")]
    pub expires_at: Timestamp,
    /// Messages sent on it, against the token's `maxMessagesPerSession`.
    #[serde(default)]
    pub messages: u64,
    /// The token's limits (copied at open, each chat and the token's deletion), which a
    /// session outliving its token goes on with.
    #[serde(default)]
    pub limits: SessionLimits,
}

/// What a session takes from its token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionLimits {
    /// `maxMessagesPerSession` (`None`: no limit).
    pub max_messages: Option<u64>,
    /// How long the session lives after its last use, in minutes (`None`: the default).
    pub idle_minutes: Option<u64>,
}

impl SessionLimits {
    pub(super) fn of(token: &TokenRecord) -> SessionLimits {
        use rtctl_model::token::{Field, TokenView};
        SessionLimits {
            max_messages: token.count(Field::MaxMessagesPerSession),
            idle_minutes: token.count(Field::SessionIdleTimeoutMinutes),
        }
    }

    /// The token's idle timeout (30 minutes by default), at least 5 minutes: the widget
    /// treats a session within a minute of expiry as expired.
    pub(super) fn lifetime(&self) -> jiff::SignedDuration {
        let minutes = self.idle_minutes.unwrap_or(30).max(5);
        jiff::SignedDuration::from_mins(i64::try_from(minutes).unwrap_or(30))
    }
}

/// A product's surface: where its capabilities are exposed (a chat widget, an API, Slack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SurfaceRecord {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub name: String,
    /// `chat`, `api`, `slack`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `draft`, `active` or `paused`.
    pub status: String,
    /// `development` or `production`.
    pub environment: String,
    pub items: Vec<SurfaceItem>,
    #[serde(with = "iso_millis")]
    pub created_at: Timestamp,
    #[serde(with = "iso_millis")]
    pub updated_at: Timestamp,
}

/// A capability a surface exposes: one flow or one agent, enabled or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SurfaceItem {
    pub id: String,
    #[serde(default)]
    pub flow_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub exposed_name: Option<String>,
}

fn enabled() -> bool {
    true
}

/// One origin seen calling one surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Sighting {
    pub surface_id: String,
    pub origin: String,
    #[serde(with = "iso_millis")]
    pub first_seen_at: Timestamp,
    #[serde(with = "iso_millis")]
    pub last_seen_at: Timestamp,
}

/// ISO-8601 timestamps with millisecond precision and a `Z`, as JavaScript's `toISOString`
/// writes them (and so as the real service does).
pub(super) mod iso_millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn format(ts: &Timestamp) -> String {
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    pub(crate) fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(ts))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
