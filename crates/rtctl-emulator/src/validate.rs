//! Request-body validation for create and update, by the token rules rtctl shares with its
//! flags and token files (`rtctl_model::token::rules`), worded as the API words its errors.
//!
//! The emulator is deliberately stricter than the real service where strictness catches
//! client bugs (runtype-api.md, "Emulator decisions"): an unknown field is a 400 naming the
//! field. Each check names the field, so a failing test says what the client got wrong.

use serde_json::{Map, Value};

use super::api_error::{ApiError, Detail};
use super::model::TokenRecord;
use rtctl_model::token::rules::{self, Conflict, Violation};
use rtctl_model::token::{Field, Values, Write};

/// Which request a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Create,
    Update,
}

impl Op {
    fn allows(self, field: Field) -> bool {
        match self {
            Op::Create => field.spec().on_create(),
            Op::Update => field.spec().on_update(),
        }
    }

    /// The JSON keys this request takes, for the hint after an unknown one.
    fn keys(self) -> Vec<&'static str> {
        Field::ALL
            .iter()
            .filter(|f| self.allows(**f))
            .map(|f| f.json())
            .collect()
    }
}

/// The fields of a create or update body, each checked by the token rules. On update, a
/// `pinToVersion` equal to the stored one is accepted and ignored, so a read-modify-write
/// client can save other fields of a token pinned to an agent version.
pub(super) fn token_body(
    map: &Map<String, Value>,
    op: Op,
    stored: Option<&TokenRecord>,
) -> Result<Values, ApiError> {
    let mut values = Values::new();
    for (key, value) in map {
        let field = match Field::from_json(key) {
            Some(field) if op.allows(field) => field,
            Some(field) if op == Op::Update && field.spec().write == Write::Create => {
                return Err(ApiError::validation(Detail {
                    message: format!(
                        "Field '{key}' cannot be changed after the client token is created"
                    ),
                    code: "IMMUTABLE_FIELD",
                    path: Some(key.clone()),
                    suggestion: Some("Create a new client token to use a different value".into()),
                }));
            }
            _ => {
                return Err(ApiError::validation(Detail {
                    message: format!("Unknown field '{key}'"),
                    code: "UNKNOWN_FIELD",
                    path: Some(key.clone()),
                    suggestion: Some(format!("Allowed fields: {}", op.keys().join(", "))),
                }));
            }
        };
        if field == Field::PinToVersion
            && stored.is_some_and(|t| t.object().get(key) == Some(value))
        {
            continue;
        }
        let checked = match op {
            Op::Create => rules::check_value(field, value),
            Op::Update => rules::check_update_value(field, value),
        };
        values.set(field, checked.map_err(violation)?);
    }
    Ok(values)
}

/// A value that breaks its field's rule, as a 400.
pub(super) fn violation(v: Violation) -> ApiError {
    ApiError::validation(Detail {
        message: format!("Field '{}' {}", v.field.json(), v.problem.describe()),
        code: v.problem.code(),
        path: Some(v.path()),
        suggestion: v.problem.suggestion(),
    })
}

/// A rule across fields that the token as stored would break, as a 400.
pub(super) fn conflict(c: Conflict) -> ApiError {
    let (message, suggestion) = match c {
        Conflict::NoFlowOrAgent => (
            "A client token needs at least one id in 'flowIds' or 'agentIds'",
            Some("Send flowIds or agentIds with at least one id"),
        ),
        Conflict::AliasAndVersion => (
            "'targetVersionId' and 'targetAlias' cannot both be set",
            Some("Follow a release alias or pin an exact version, not both"),
        ),
        Conflict::VersionNeedsOneAgent => {
            ("'targetVersionId' needs exactly one id in 'agentIds'", None)
        }
    };
    ApiError::validation(Detail {
        message: message.into(),
        code: "CONFLICTING_FIELDS",
        path: Some(c.field().json().into()),
        suggestion: suggestion.map(str::to_string),
    })
}

/// A field create requires, missing.
pub(super) fn missing(field: Field) -> ApiError {
    ApiError::validation(Detail {
        message: format!("Field '{}' is required", field.json()),
        code: "MISSING_REQUIRED_FIELD",
        path: Some(field.json().into()),
        suggestion: match field {
            Field::AllowedOrigins => {
                Some("Pass at least one origin, for example [\"https://app.example.com\"]".into())
            }
            _ => None,
        },
    })
}

/// Parses a request body that must be a JSON object. An empty body is accepted as `{}` only
/// where `empty_ok` (regenerate takes no body).
pub(super) fn parse_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
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

/// Rejects the first key that is not in `allowed`, naming it (bodies other than a token's).
pub(super) fn reject_unknown(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!("Unknown field '{key}'"))
                .with_hint(format!("Allowed fields: {}", allowed.join(", "))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value, op: Op) -> Result<Values, ApiError> {
        token_body(body.as_object().unwrap(), op, None)
    }

    #[test]
    fn names_the_unknown_or_fixed_field() {
        let err = parse(json!({"allowed_origins": []}), Op::Create).unwrap_err();
        assert_eq!(err.error, "Validation error");
        assert_eq!(err.details[0].message, "Unknown field 'allowed_origins'");
        assert_eq!(err.details[0].code, "UNKNOWN_FIELD");
        let err = parse(json!({"environment": "live"}), Op::Update).unwrap_err();
        assert_eq!(err.details[0].code, "IMMUTABLE_FIELD");
        let err = parse(json!({"isActive": false}), Op::Create).unwrap_err();
        assert_eq!(err.details[0].path.as_deref(), Some("isActive"));
        let err = parse(json!({"flowIds": []}), Op::Update).unwrap_err();
        assert_eq!(err.details[0].code, "TOO_FEW_ITEMS");
    }

    #[test]
    fn values_are_checked_by_the_token_rules() {
        for bad in [json!(0), json!(-1), json!(1.5), json!("5"), json!(1001)] {
            let err = parse(json!({"rateLimitPerMinute": bad}), Op::Create).unwrap_err();
            assert_eq!(err.details[0].path.as_deref(), Some("rateLimitPerMinute"));
        }
        let ok = parse(
            json!({"rateLimitPerHour": 1, "maxMessagesPerSession": null, "name": " a "}),
            Op::Update,
        )
        .unwrap();
        assert_eq!(ok.get(Field::RateLimitPerHour), Some(&json!(1)));
        assert_eq!(ok.get(Field::MaxMessagesPerSession), Some(&Value::Null));
        assert_eq!(ok.get(Field::Name), Some(&json!("a")));
        let err = parse(
            json!({"allowedOrigins": ["https://a.com", "https://a.com/"]}),
            Op::Create,
        )
        .unwrap_err();
        let detail = &err.details[0];
        assert!(detail.message.contains("https://a.com/"), "{detail:?}");
        assert_eq!(detail.path.as_deref(), Some("allowedOrigins.1"));
        assert_eq!(detail.code, "INVALID_ORIGIN");
        assert!(detail.suggestion.is_some());
    }

    #[test]
    fn an_echoed_pin_is_ignored_on_update() {
        let stored = TokenRecord::from_object(
            json!({"id": "ct_1", "pinToVersion": "agentver_7"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let body = json!({"pinToVersion": "agentver_7", "name": "x"});
        let values = token_body(body.as_object().unwrap(), Op::Update, Some(&stored)).unwrap();
        assert!(!values.contains(Field::PinToVersion));
        let body = json!({"pinToVersion": "agentver_8"});
        assert!(token_body(body.as_object().unwrap(), Op::Update, Some(&stored)).is_err());
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
