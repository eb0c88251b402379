//! The one description of a client token.
//!
//! Every field of the API's client-token object is written down once, in [`Field::spec`]:
//! its JSON key, its key in a token file, its command-line flag, which requests may carry it,
//! what its values look like (which decides how they are checked, compared and shown) and
//! its label in `tokens get`. The request builders, `get`'s record, the token file (parse and
//! export), plan's comparison, apply's update and the emulator's validation all walk this
//! table, so adding a field is one entry here, and a `match` on [`Field`] that forgets one
//! does not compile.
//!
//! Values are JSON values keyed by field ([`Values`]), checked by the rules in [`rules`],
//! which the flags, the token file and the emulator share.

pub mod marks;
pub mod rollover;
pub mod rules;
pub mod selection;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What the values of a field look like. Decides how they are checked, compared and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An identifier the server assigns.
    Id,
    /// A name: text, trimmed, 1 to `max` characters.
    Name { max: usize },
    /// A reference to something else in the account (a flow, an agent version, a surface).
    Ref,
    /// A list of references; the order does not change what a token may run. An update that
    /// sends the list must send at least `update_min` entries.
    Refs { update_min: usize },
    /// `allowedOrigins`: origin entries, compared in normalised form, at least one.
    Origins,
    /// One word of a fixed set.
    Choice(&'static [&'static str]),
    /// A whole number from `min` to `max`.
    Count { min: u64, max: u64 },
    /// A JSON object (the widget configuration).
    Object,
    /// True or false.
    Flag,
    /// The token's secret value.
    Secret,
    /// Text the server writes (prefix, hint).
    Text,
    /// An ISO-8601 time the server keeps.
    Time,
    /// A number the server computes.
    Number,
}

/// How two values of a field compare in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Equal as JSON.
    Exact,
    /// Equal as sets of strings.
    Set,
    /// Equal as sets of normalised origin entries.
    Origins,
}

/// Which requests may carry a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Only the server writes it.
    Never,
    /// Fixed at creation: create may set it, update may not.
    Create,
    /// Only update may set it (a new token is active).
    Update,
    /// Create and update.
    Both,
}

/// How `tokens get` shows a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// As text; lists joined with ", ", objects as compact JSON.
    Plain,
    /// `active` or `inactive`.
    Status,
    /// Masked unless revealed.
    Secret,
    /// Relative for people, ISO-8601 for pipes; `missing` when unset.
    Time { missing: &'static str },
    /// Not a line of its own.
    Hidden,
}

/// The command-line form of a field on `create` and `update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// No flag.
    None,
    /// `--long VALUE`.
    Value {
        long: &'static str,
        short: Option<char>,
        value_name: &'static str,
        help: &'static str,
    },
    /// `--long VALUE`, repeatable: the values make a list.
    Repeated {
        long: &'static str,
        value_name: &'static str,
        help: &'static str,
    },
    /// `--on` sets true, `--off` false (update only).
    Toggle {
        on: &'static str,
        on_help: &'static str,
        off: &'static str,
        off_help: &'static str,
    },
}

/// What a new token holds in a field the create request left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    /// `null`.
    Null,
    Text(&'static str),
    Count(u64),
    Flag(bool),
    /// `[]`.
    EmptyList,
    /// `{}`.
    EmptyObject,
    /// The server assigns it (id, value, times).
    Assigned,
}

impl Initial {
    /// The value, for all but [`Initial::Assigned`].
    pub fn value(self) -> Option<Value> {
        Some(match self {
            Initial::Null => Value::Null,
            Initial::Text(text) => Value::String(text.to_string()),
            Initial::Count(n) => Value::from(n),
            Initial::Flag(b) => Value::Bool(b),
            Initial::EmptyList => Value::Array(Vec::new()),
            Initial::EmptyObject => Value::Object(Map::new()),
            Initial::Assigned => return None,
        })
    }
}

/// Everything rtctl knows about one field.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The key in the API's JSON.
    pub json: &'static str,
    /// The key in a token file; `None` when a file cannot set it.
    pub file: Option<&'static str>,
    pub flag: Flag,
    /// The label in `tokens get`.
    pub label: &'static str,
    pub show: Show,
    pub kind: Kind,
    pub write: Write,
    /// Whether the field may be `null` (in a reply, and when an update clears it).
    pub nullable: bool,
    /// Whether a create request must carry it.
    pub required: bool,
    /// What the server stores when a create request leaves it out.
    pub initial: Initial,
}

impl Spec {
    /// How a plan compares the field.
    pub fn compare(&self) -> Compare {
        match self.kind {
            Kind::Refs { .. } => Compare::Set,
            Kind::Origins => Compare::Origins,
            _ => Compare::Exact,
        }
    }

    /// Whether a create request may carry the field.
    pub fn on_create(&self) -> bool {
        matches!(self.write, Write::Create | Write::Both)
    }

    /// Whether an update request may carry the field.
    pub fn on_update(&self) -> bool {
        matches!(self.write, Write::Update | Write::Both)
    }

    /// The words a choice field takes (empty for other kinds).
    pub fn choices(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Choice(words) => words,
            _ => &[],
        }
    }

    /// The long flag that sets the field, for messages (`--rate-limit-per-minute`).
    pub fn flag_name(&self) -> Option<&'static str> {
        match self.flag {
            Flag::Value { long, .. } | Flag::Repeated { long, .. } => Some(long),
            Flag::Toggle { on, .. } => Some(on),
            Flag::None => None,
        }
    }
}

/// Declares the fields once: the enum, the list of all of them, and each one's spec.
macro_rules! fields {
    ($($(#[$doc:meta])* $variant:ident => $spec:expr,)*) => {
        /// A field of the client-token object, in the order `tokens get` shows them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $($(#[$doc])* $variant,)*
        }

        impl Field {
            /// Every field, in display order.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The field's description.
            pub fn spec(self) -> &'static Spec {
                match self {
                    $(Field::$variant => {
                        const SPEC: Spec = $spec;
                        &SPEC
                    })*
                }
            }
        }
    };
}

const ENVIRONMENTS: &[&str] = &["test", "live"];
const PIN_MODES: &[&str] = &["latest", "published"];

fields! {
    /// `ct_…` or a UUID.
    Id => Spec {
        json: "id", file: None, flag: Flag::None, label: "id", show: Show::Plain,
        kind: Kind::Id, write: Write::Never, nullable: false,
        required: false, initial: Initial::Assigned,
    },
    Name => Spec {
        json: "name", file: None,
        flag: Flag::Value { long: "name", short: None, value_name: "NAME", help: "Name of the token" },
        label: "name", show: Show::Plain, kind: Kind::Name { max: 255 }, write: Write::Both,
        nullable: true,
        required: true, initial: Initial::Null,
    },
    /// `test` or `live`; fixed at creation.
    Environment => Spec {
        json: "environment", file: Some("environment"),
        flag: Flag::Value {
            long: "environment", short: Some('e'), value_name: "ENV",
            help: "test (for building; admits localhost) or live (for production)",
        },
        label: "environment", show: Show::Plain, kind: Kind::Choice(ENVIRONMENTS),
        write: Write::Create, nullable: false,
        required: false, initial: Initial::Text("live"),
    },
    IsActive => Spec {
        json: "isActive", file: Some("active"),
        flag: Flag::Toggle {
            on: "activate", on_help: "Let the token be used again",
            off: "deactivate", off_help: "Stop the token from being used, without deleting it",
        },
        label: "status", show: Show::Status, kind: Kind::Flag, write: Write::Update,
        nullable: false,
        required: false, initial: Initial::Flag(true),
    },
    AllowedOrigins => Spec {
        json: "allowedOrigins", file: Some("origins"),
        flag: Flag::Repeated {
            long: "origin", value_name: "ORIGIN",
            help: "An origin allowed to use the token: https://app.example.com, https://*.example.com, * or native (repeatable)",
        },
        label: "origins", show: Show::Plain, kind: Kind::Origins, write: Write::Both,
        nullable: false,
        required: true, initial: Initial::EmptyList,
    },
    FlowIds => Spec {
        json: "flowIds", file: Some("flows"),
        flag: Flag::Repeated { long: "flow", value_name: "ID", help: "A flow the token may run (repeatable)" },
        label: "flows", show: Show::Plain, kind: Kind::Refs { update_min: 1 }, write: Write::Both,
        nullable: false,
        required: false, initial: Initial::EmptyList,
    },
    AgentIds => Spec {
        json: "agentIds", file: Some("agents"),
        flag: Flag::Repeated { long: "agent", value_name: "ID", help: "An agent the token may run (repeatable)" },
        label: "agents", show: Show::Plain, kind: Kind::Refs { update_min: 0 }, write: Write::Both,
        nullable: false,
        required: false, initial: Initial::EmptyList,
    },
    DefaultFlowId => Spec {
        json: "defaultFlowId", file: Some("default_flow"),
        flag: Flag::Value { long: "default-flow", short: None, value_name: "ID", help: "The flow used when the widget names none" },
        label: "default flow", show: Show::Plain, kind: Kind::Ref, write: Write::Both,
        nullable: true,
        required: false, initial: Initial::Null,
    },
    /// The plain value; `null` for tokens created before values were stored.
    TokenValue => Spec {
        json: "tokenValue", file: None, flag: Flag::None, label: "value", show: Show::Secret,
        kind: Kind::Secret, write: Write::Never, nullable: true,
        required: false, initial: Initial::Assigned,
    },
    RateLimitPerMinute => Spec {
        json: "rateLimitPerMinute", file: Some("rate_limit_per_minute"),
        flag: Flag::Value { long: "rate-limit-per-minute", short: None, value_name: "N", help: "Requests allowed per minute" },
        label: "rate limit/min", show: Show::Plain, kind: Kind::Count { min: 1, max: 1000 },
        write: Write::Both, nullable: true,
        required: false, initial: Initial::Count(10),
    },
    RateLimitPerHour => Spec {
        json: "rateLimitPerHour", file: Some("rate_limit_per_hour"),
        flag: Flag::Value { long: "rate-limit-per-hour", short: None, value_name: "N", help: "Requests allowed per hour" },
        label: "rate limit/hour", show: Show::Plain, kind: Kind::Count { min: 1, max: 10000 },
        write: Write::Both, nullable: true,
        required: false, initial: Initial::Count(100),
    },
    MaxMessagesPerSession => Spec {
        json: "maxMessagesPerSession", file: Some("max_messages_per_session"),
        flag: Flag::Value { long: "max-messages-per-session", short: None, value_name: "N", help: "Messages allowed in one session" },
        label: "max messages", show: Show::Plain, kind: Kind::Count { min: 1, max: 1000 },
        write: Write::Both, nullable: true,
        required: false, initial: Initial::Count(100),
    },
    SessionIdleTimeoutMinutes => Spec {
        json: "sessionIdleTimeoutMinutes", file: Some("session_idle_timeout_minutes"),
        flag: Flag::Value { long: "session-idle-timeout-minutes", short: None, value_name: "N", help: "Minutes of inactivity before a session ends" },
        label: "idle timeout (min)", show: Show::Plain, kind: Kind::Count { min: 1, max: 1440 },
        write: Write::Both, nullable: true,
        required: false, initial: Initial::Count(30),
    },
    /// A release alias, re-resolved on every admission; excludes `targetVersionId`.
    TargetAlias => Spec {
        json: "targetAlias", file: Some("target_alias"),
        flag: Flag::Value { long: "target-alias", short: None, value_name: "ALIAS", help: "Release alias the token follows" },
        label: "target alias", show: Show::Plain, kind: Kind::Ref, write: Write::Both,
        nullable: true,
        required: false, initial: Initial::Null,
    },
    /// An exact agent version; needs exactly one agent.
    TargetVersionId => Spec {
        json: "targetVersionId", file: Some("target_version_id"),
        flag: Flag::Value { long: "target-version-id", short: None, value_name: "ID", help: "Exact agent version (needs exactly one --agent)" },
        label: "target version", show: Show::Plain, kind: Kind::Ref, write: Write::Both,
        nullable: true,
        required: false, initial: Initial::Null,
    },
    /// The legacy widget-version mode.
    PinToVersion => Spec {
        json: "pinToVersion", file: Some("pin_to_version"),
        flag: Flag::Value { long: "pin-to-version", short: None, value_name: "MODE", help: "Legacy widget-version mode" },
        label: "pin to version", show: Show::Plain, kind: Kind::Choice(PIN_MODES),
        write: Write::Both, nullable: true,
        required: false, initial: Initial::Text("latest"),
    },
    /// The product surface the token is scoped to; fixed at creation.
    ProductSurfaceId => Spec {
        json: "productSurfaceId", file: Some("product_surface_id"),
        flag: Flag::Value { long: "product-surface-id", short: None, value_name: "ID", help: "Product surface the token belongs to (fixed at creation)" },
        label: "product surface", show: Show::Plain, kind: Kind::Ref, write: Write::Create,
        nullable: true,
        required: false, initial: Initial::Null,
    },
    ConversationCount => Spec {
        json: "conversationCount", file: None, flag: Flag::None, label: "conversations",
        show: Show::Plain, kind: Kind::Number, write: Write::Never, nullable: true,
        required: false, initial: Initial::Assigned,
    },
    LastUsedAt => Spec {
        json: "lastUsedAt", file: None, flag: Flag::None, label: "last used",
        show: Show::Time { missing: "never" }, kind: Kind::Time, write: Write::Never,
        nullable: true,
        required: false, initial: Initial::Null,
    },
    CreatedAt => Spec {
        json: "createdAt", file: None, flag: Flag::None, label: "created",
        show: Show::Time { missing: "" }, kind: Kind::Time, write: Write::Never, nullable: false,
        required: false, initial: Initial::Assigned,
    },
    UpdatedAt => Spec {
        json: "updatedAt", file: None, flag: Flag::None, label: "updated",
        show: Show::Time { missing: "" }, kind: Kind::Time, write: Write::Never, nullable: false,
        required: false, initial: Initial::Assigned,
    },
    /// The widget configuration (theme, welcome message, placeholder, …).
    Config => Spec {
        json: "config", file: Some("config"),
        flag: Flag::Value { long: "config", short: None, value_name: "JSON|@FILE", help: "Widget configuration: a JSON object, or @FILE to read one from a file" },
        label: "config", show: Show::Plain, kind: Kind::Object, write: Write::Both, nullable: false,
        required: false, initial: Initial::EmptyObject,
    },
    /// `ct_live_` or `ct_test_`.
    TokenPrefix => Spec {
        json: "tokenPrefix", file: None, flag: Flag::None, label: "prefix", show: Show::Hidden,
        kind: Kind::Text, write: Write::Never, nullable: false,
        required: false, initial: Initial::Assigned,
    },
    /// A short, non-secret hint of the current value.
    TokenHint => Spec {
        json: "tokenHint", file: None, flag: Flag::None, label: "hint", show: Show::Hidden,
        kind: Kind::Text, write: Write::Never, nullable: true,
        required: false, initial: Initial::Assigned,
    },
}

impl Field {
    /// The field whose JSON key is `key`.
    pub fn from_json(key: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.spec().json == key)
    }

    /// The field whose token-file key is `key`.
    pub fn from_file(key: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.spec().file == Some(key))
    }

    /// The field's JSON key.
    pub fn json(self) -> &'static str {
        self.spec().json
    }

    /// The fields a token file may set, in file order.
    pub fn in_file() -> impl Iterator<Item = Field> {
        Field::ALL
            .iter()
            .copied()
            .filter(|f| f.spec().file.is_some())
    }
}

/// Field values, keyed by field: a request body, a token file's wishes, a plan's target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values(BTreeMap<Field, Value>);

impl Values {
    pub fn new() -> Values {
        Values::default()
    }

    pub fn set(&mut self, field: Field, value: Value) {
        self.0.insert(field, value);
    }

    pub fn with(mut self, field: Field, value: Value) -> Values {
        self.set(field, value);
        self
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.0.get(&field)
    }

    pub fn contains(&self, field: Field) -> bool {
        self.0.contains_key(&field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }

    /// The values of the fields `keep` accepts.
    pub fn only(&self, keep: impl Fn(Field) -> bool) -> Values {
        Values(
            self.0
                .iter()
                .filter(|(f, _)| keep(**f))
                .map(|(f, v)| (*f, v.clone()))
                .collect(),
        )
    }

    /// The text of a field, when it is a string.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// The strings of a list field (empty when unset or not a list).
    pub fn strings(&self, field: Field) -> Vec<&str> {
        strings(self.get(field))
    }

    /// The JSON object of a request body, in the API's keys.
    pub fn to_object(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(f, v)| (f.json().to_string(), v.clone()))
            .collect()
    }
}

/// The strings of a JSON list; anything that is not a string is skipped.
fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Typed, tolerant reads of a client-token object, field by field: a field of an
/// unexpected type reads as missing, and costs that field, not the whole token.
pub trait TokenView {
    /// The field's value, `None` when absent or `null`.
    fn field(&self, field: Field) -> Option<&Value>;

    /// The field as text, when it is a string.
    fn text(&self, field: Field) -> Option<&str> {
        self.field(field).and_then(Value::as_str)
    }

    /// The field's strings, when it is a list (empty otherwise).
    fn strings(&self, field: Field) -> Vec<&str> {
        strings(self.field(field))
    }

    /// Whether the field is a list of strings and nothing else.
    fn is_string_list(&self, field: Field) -> bool {
        self.field(field)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().all(Value::is_string))
    }

    /// The field as a whole number.
    fn count(&self, field: Field) -> Option<u64> {
        self.field(field).and_then(Value::as_u64)
    }

    fn id(&self) -> &str {
        self.text(Field::Id).unwrap_or_default()
    }

    /// The name, or "" for a token without one.
    fn name(&self) -> &str {
        self.text(Field::Name).unwrap_or_default()
    }

    fn environment(&self) -> &str {
        self.text(Field::Environment).unwrap_or("unknown")
    }

    fn origins(&self) -> Vec<&str> {
        self.strings(Field::AllowedOrigins)
    }

    /// Whether the token is active; a token that does not say is taken to be, one that says
    /// something other than true or false is not.
    fn is_active(&self) -> bool {
        match self.field(Field::IsActive) {
            None => true,
            Some(value) => value.as_bool() == Some(true),
        }
    }

    /// The rollover mark in the name, when the token is being replaced by a successor.
    fn retiring(&self) -> Option<marks::Retiring> {
        marks::parse(self.name())
    }
}

impl TokenView for Map<String, Value> {
    fn field(&self, field: Field) -> Option<&Value> {
        self.get(field.json()).filter(|v| !v.is_null())
    }
}

impl TokenView for Values {
    fn field(&self, field: Field) -> Option<&Value> {
        self.get(field).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_key_names_one_field() {
        let mut json_keys: Vec<_> = Field::ALL.iter().map(|f| f.json()).collect();
        let mut file_keys: Vec<_> = Field::ALL.iter().filter_map(|f| f.spec().file).collect();
        let (jn, fn_) = (json_keys.len(), file_keys.len());
        json_keys.sort_unstable();
        json_keys.dedup();
        file_keys.sort_unstable();
        file_keys.dedup();
        assert_eq!((json_keys.len(), file_keys.len()), (jn, fn_));
        for field in Field::ALL {
            assert_eq!(Field::from_json(field.json()), Some(*field));
        }
        assert_eq!(Field::from_file("origins"), Some(Field::AllowedOrigins));
    }

    #[test]
    fn values_become_request_bodies_in_api_keys() {
        let values = Values::new()
            .with(Field::Name, json!("n"))
            .with(Field::RateLimitPerMinute, json!(5));
        assert_eq!(
            Value::Object(values.to_object()),
            json!({"name": "n", "rateLimitPerMinute": 5})
        );
    }

    #[test]
    fn views_tolerate_missing_null_and_mistyped_fields() {
        let token = json!({"id": "ct_1", "name": null, "environment": "staging", "isActive": "yes", "allowedOrigins": ["a", 3]});
        let token = token.as_object().unwrap();
        assert_eq!(token.id(), "ct_1");
        assert_eq!(token.name(), "");
        assert_eq!(token.environment(), "staging");
        assert!(
            !token.is_active(),
            "a mistyped state is not taken for active"
        );
        assert_eq!(token.origins(), ["a"]);
    }
}
