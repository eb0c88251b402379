//! Request-body validation for create and update.
//!
//! The emulator is deliberately stricter than the real service where strictness catches
//! client bugs (runtype-api.md, "Emulator decisions"): an unknown field is a 400 naming the
//! field, numbers must be integers of at least 1, and names are 1-200 characters after
//! trimming. Each check names the field, so a failing test says what the client got wrong.

use serde_json::{Map, Value};

use super::api_error::ApiError;
use crate::origin::AllowedOrigin;

/// The fields create accepts.
pub const CREATE_FIELDS: &[&str] = &[
    "name",
    "allowedOrigins",
    "flowIds",
    "agentIds",
    "defaultFlowId",
    "environment",
    "config",
    "pinToVersion",
    "productSurfaceId",
    "rateLimitPerMinute",
    "rateLimitPerHour",
    "maxMessagesPerSession",
    "sessionIdleTimeoutMinutes",
    "targetAlias",
    "targetVersionId",
];

/// The fields update accepts; `environment` and `productSurfaceId` are fixed at creation.
pub const UPDATE_FIELDS: &[&str] = &[
    "name",
    "allowedOrigins",
    "flowIds",
    "agentIds",
    "defaultFlowId",
    "isActive",
    "config",
    "pinToVersion",
    "rateLimitPerMinute",
    "rateLimitPerHour",
    "maxMessagesPerSession",
    "sessionIdleTimeoutMinutes",
    "targetAlias",
    "targetVersionId",
];

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

const FIXED_AT_CREATION: &[&str] = &["environment", "productSurfaceId"];

/// A field that may be absent (`None`), sent as `null` (`Some(None)`) or set.
pub type Nullable<T> = Option<Option<T>>;

/// The fields of a create or update body, parsed and type-checked.
#[derive(Debug, Default)]
pub struct TokenFields {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub flow_ids: Option<Vec<String>>,
    pub agent_ids: Option<Vec<String>>,
    pub default_flow_id: Nullable<String>,
    pub environment: Option<String>,
    pub config: Option<Map<String, Value>>,
    pub pin_to_version: Nullable<String>,
    pub product_surface_id: Nullable<String>,
    pub rate_limit_per_minute: Nullable<u64>,
    pub rate_limit_per_hour: Nullable<u64>,
    pub max_messages_per_session: Nullable<u64>,
    pub session_idle_timeout_minutes: Nullable<u64>,
    pub target_alias: Nullable<String>,
    pub target_version_id: Nullable<String>,
    pub is_active: Option<bool>,
}

/// Parses a request body that must be a JSON object. An empty body is accepted as `{}` only
/// where `empty_ok` (regenerate takes no body).
pub fn parse_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(Map::new())
        } else {
            Err(ApiError::bad_request("Request body must be a JSON object"))
        };
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Invalid JSON in request body: {e}"
        ))),
    }
}

/// Rejects the first key that is not in `allowed`, naming it.
pub fn reject_unknown(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    for key in map.keys() {
        if FIXED_AT_CREATION.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Field '{key}' cannot be changed after the client token is created"
            ))
            .with_hint("Create a new client token to use a different value"));
        }
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!("Unknown field '{key}'"))
                .with_hint(format!("Allowed fields: {}", allowed.join(", "))));
        }
    }
    Ok(())
}

impl TokenFields {
    /// Type-checks every field of `map`; `allowed` says which keys this endpoint takes.
    pub fn parse(map: &Map<String, Value>, allowed: &[&str]) -> Result<TokenFields, ApiError> {
        reject_unknown(map, allowed)?;
        let mut f = TokenFields::default();
        for (key, value) in map {
            match key.as_str() {
                "name" => f.name = Some(name(value)?),
                "allowedOrigins" => f.allowed_origins = Some(origins(value)?),
                "flowIds" => f.flow_ids = Some(string_array(key, value)?),
                "agentIds" => f.agent_ids = Some(string_array(key, value)?),
                "defaultFlowId" => f.default_flow_id = Some(opt_string(key, value)?),
                "environment" => f.environment = Some(environment(value)?),
                "config" => f.config = Some(object(key, value)?),
                "pinToVersion" => f.pin_to_version = Some(opt_string(key, value)?),
                "productSurfaceId" => f.product_surface_id = Some(opt_string(key, value)?),
                "rateLimitPerMinute" => f.rate_limit_per_minute = Some(opt_count(key, value)?),
                "rateLimitPerHour" => f.rate_limit_per_hour = Some(opt_count(key, value)?),
                "maxMessagesPerSession" => {
                    f.max_messages_per_session = Some(opt_count(key, value)?)
                }
                "sessionIdleTimeoutMinutes" => {
                    f.session_idle_timeout_minutes = Some(opt_count(key, value)?)
                }
                "targetAlias" => f.target_alias = Some(opt_string(key, value)?),
                "targetVersionId" => f.target_version_id = Some(opt_string(key, value)?),
                "isActive" => {
                    f.is_active = Some(
                        value
                            .as_bool()
                            .ok_or_else(|| type_error(key, "a boolean"))?,
                    )
                }
                _ => unreachable!("reject_unknown let through an unknown field"),
            }
        }
        Ok(f)
    }
}

fn type_error(key: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("Field '{key}' must be {expected}"))
}

fn name(value: &Value) -> Result<String, ApiError> {
    let text = value
        .as_str()
        .ok_or_else(|| type_error("name", "a string"))?;
    let trimmed = text.trim();
    let length = trimmed.chars().count();
    if length == 0 || length > 200 {
        return Err(ApiError::bad_request(
            "Field 'name' must be 1-200 characters after trimming whitespace",
        ));
    }
    Ok(trimmed.to_string())
}

fn string_array(key: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| type_error(key, "an array of strings"))?;
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
            _ => Err(type_error(key, "an array of non-empty strings")),
        })
        .collect()
}

fn origins(value: &Value) -> Result<Vec<String>, ApiError> {
    let list = string_array("allowedOrigins", value)?;
    if list.is_empty() {
        return Err(ApiError::bad_request(
            "Field 'allowedOrigins' must contain at least one origin",
        )
        .with_hint("Deactivate or delete the client token instead of removing every origin"));
    }
    for entry in &list {
        if let Err(e) = AllowedOrigin::parse(entry) {
            let error =
                ApiError::bad_request(format!("Invalid origin '{entry}' in 'allowedOrigins': {e}"));
            return Err(error.with_hint(
                e.hint()
                    .unwrap_or("Use scheme://host[:port], https://*.example.com, * or native"),
            ));
        }
    }
    Ok(list)
}

fn opt_string(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if !s.trim().is_empty() => Ok(Some(s.clone())),
        _ => Err(type_error(key, "a non-empty string or null")),
    }
}

fn opt_count(key: &str, value: &Value) -> Result<Option<u64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        // JSON has one number type: `10.0` is the integer 10 to the JavaScript service, and
        // the official SDK types these fields as floats, so whole floats are accepted.
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) if v >= 1 => Ok(Some(v)),
            (None, Some(f)) if f >= 1.0 && f.fract() == 0.0 && f <= MAX_SAFE_INTEGER => {
                Ok(Some(f as u64))
            }
            _ => Err(type_error(key, "an integer of at least 1, or null")),
        },
        _ => Err(type_error(key, "an integer of at least 1, or null")),
    }
}

fn object(key: &str, value: &Value) -> Result<Map<String, Value>, ApiError> {
    value
        .as_object()
        .cloned()
        .ok_or_else(|| type_error(key, "a JSON object"))
}

fn environment(value: &Value) -> Result<String, ApiError> {
    match value.as_str() {
        Some(env @ ("test" | "live")) => Ok(env.to_string()),
        _ => Err(ApiError::bad_request(
            "Field 'environment' must be 'test' or 'live'",
        )),
    }
}

/// `pinToVersion` on create: only the two legacy widget-version modes.
pub fn check_pin_mode(pin: &Option<String>) -> Result<(), ApiError> {
    match pin.as_deref() {
        None | Some("latest" | "published") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "Field 'pinToVersion' must be 'latest' or 'published' (got '{other}')"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value, allowed: &[&str]) -> Result<TokenFields, ApiError> {
        TokenFields::parse(body.as_object().unwrap(), allowed)
    }

    #[test]
    fn names_the_unknown_field() {
        let err = parse(json!({"allowed_origins": []}), CREATE_FIELDS).unwrap_err();
        assert_eq!(err.error, "Unknown field 'allowed_origins'");
        let err = parse(json!({"environment": "live"}), UPDATE_FIELDS).unwrap_err();
        assert!(err.error.contains("cannot be changed"), "{}", err.error);
    }

    #[test]
    fn numbers_must_be_integers_of_at_least_one() {
        for bad in [json!(0), json!(-1), json!(1.5), json!("5")] {
            let err = parse(json!({"rateLimitPerMinute": bad}), CREATE_FIELDS).unwrap_err();
            assert!(err.error.contains("rateLimitPerMinute"));
        }
        let ok = parse(
            json!({"rateLimitPerHour": 1, "maxMessagesPerSession": null}),
            UPDATE_FIELDS,
        )
        .unwrap();
        assert_eq!(ok.rate_limit_per_hour, Some(Some(1)));
        assert_eq!(ok.max_messages_per_session, Some(None));
        let whole = parse(json!({"rateLimitPerMinute": 10.0}), CREATE_FIELDS).unwrap();
        assert_eq!(whole.rate_limit_per_minute, Some(Some(10)));
        assert!(parse(json!({"rateLimitPerMinute": 1e300}), CREATE_FIELDS).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            parse(json!({"name": "  a  "}), CREATE_FIELDS)
                .unwrap()
                .name
                .unwrap(),
            "a"
        );
        assert!(parse(json!({"name": "   "}), CREATE_FIELDS).is_err());
        assert!(parse(json!({"name": "x".repeat(201)}), CREATE_FIELDS).is_err());
        assert!(parse(json!({"name": "é".repeat(200)}), CREATE_FIELDS).is_ok());
    }

    #[test]
    fn origins_are_validated() {
        let err = parse(json!({"allowedOrigins": ["https://a.com/"]}), CREATE_FIELDS).unwrap_err();
        assert!(err.error.contains("https://a.com/"), "{}", err.error);
        assert!(err.hint.is_some());
        assert!(parse(json!({"allowedOrigins": []}), CREATE_FIELDS).is_err());
        assert!(
            parse(
                json!({"allowedOrigins": ["*", "native", "a.com:80"]}),
                CREATE_FIELDS
            )
            .is_ok()
        );
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(parse_object(b"[]", false).is_err());
        assert!(
            parse_object(b"{", false)
                .unwrap_err()
                .error
                .starts_with("Invalid JSON")
        );
        assert!(parse_object(b"", false).is_err());
        assert!(parse_object(b"", true).unwrap().is_empty());
    }
}
