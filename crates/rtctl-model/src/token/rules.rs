//! The rules a client token's fields obey, written once and used by the command-line flags,
//! the token file and the emulator. A rule says *what* is wrong in a structured form
//! ([`Problem`], [`Conflict`]); each caller words it for its own audience (`--name`, a line
//! of a token file, an API error body), so the rules stay one while the messages fit.

use serde_json::Value;

use super::{Field, Kind, TokenView, Values};
use crate::origin::{AllowedOrigin, OriginError};

/// The deepest a widget configuration may nest: far more than any theme needs, and little
/// enough that every client can read the account back (JSON parsers stop near 128).
pub(crate) const MAX_OBJECT_DEPTH: usize = 32;

/// How many levels of arrays and objects `value` is (a scalar is 0).
fn depth(value: &Value) -> usize {
    // Iterative, so a hostile value cannot overflow the stack here.
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level);
        stack.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// The largest integer a JavaScript number holds exactly (2^53 - 1): the service is
/// JavaScript, so a whole float up to this is the same integer to it.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The value has the wrong JSON type; `expected` reads "a string", "an array of strings"…
    Type { expected: &'static str },
    /// Text (or an id in a list) that is empty or only spaces.
    Empty,
    /// A name longer than `max` characters (after trimming), or empty.
    Length { max: usize },
    /// Not one of the allowed words.
    NotOneOf {
        allowed: &'static [&'static str],
        got: String,
    },
    /// A number outside `min..=max`, or not a whole number.
    OutOfRange { min: u64, max: u64, got: String },
    /// An origin list with no entry.
    NoOrigins,
    /// A list an update sends with fewer than `min` entries.
    TooFew { min: usize },
    /// An entry that is not a valid origin.
    Origin {
        index: usize,
        entry: String,
        error: OriginError,
    },
    /// A wildcard over a public suffix: it admits every site under the suffix.
    PublicSuffixWildcard {
        index: usize,
        entry: String,
        suffix: String,
    },
    /// A host a browser reads as an IPv4 address written another way (`https://0x7f.1`):
    /// browsers send the dotted `address`, so the entry never matches.
    Ipv4Spelling {
        index: usize,
        entry: String,
        address: String,
    },
    /// An object nested deeper than `max` levels.
    TooDeep { max: usize },
    /// `null` for a field that cannot be null.
    Null,
    /// A field only the server writes.
    ReadOnly,
}

impl Problem {
    /// The stable validation code of the published error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Type { .. } | Problem::Null => "INVALID_TYPE",
            Problem::TooDeep { .. } => "TOO_DEEP",
            Problem::Empty => "EMPTY_VALUE",
            Problem::Length { .. } => "INVALID_LENGTH",
            Problem::NotOneOf { .. } => "INVALID_ENUM",
            Problem::OutOfRange { .. } => "OUT_OF_RANGE",
            Problem::NoOrigins | Problem::TooFew { .. } => "TOO_FEW_ITEMS",
            Problem::Origin { .. } | Problem::Ipv4Spelling { .. } => "INVALID_ORIGIN",
            Problem::PublicSuffixWildcard { .. } => "PUBLIC_SUFFIX_WILDCARD",
            Problem::ReadOnly => "READ_ONLY_FIELD",
        }
    }

    /// The problem as the end of a sentence whose subject is the field: "must be …".
    pub fn describe(&self) -> String {
        match self {
            Problem::Type { expected } => format!("must be {expected}"),
            Problem::Empty => "cannot be empty".into(),
            Problem::Length { max } => {
                format!("must be 1-{max} characters, not counting surrounding spaces")
            }
            Problem::NotOneOf { allowed, got } => {
                format!("must be {} (got '{got}')", one_of(allowed))
            }
            Problem::OutOfRange { min, max, got } if *max == u64::MAX => {
                format!("must be a whole number of at least {min} (got {got})")
            }
            Problem::OutOfRange { min, max, got } => {
                format!("must be a whole number from {min} to {max} (got {got})")
            }
            Problem::NoOrigins => "must contain at least one origin".into(),
            Problem::TooFew { min } => format!("must contain at least {min} when it is sent"),
            Problem::Origin { entry, error, .. } => {
                format!("has an invalid origin '{entry}': {error}")
            }
            Problem::PublicSuffixWildcard { entry, suffix, .. } => format!(
                "has '{entry}', a wildcard over the public suffix {suffix}: it would admit every site under {suffix}"
            ),
            Problem::Ipv4Spelling { entry, address, .. } => format!(
                "has '{entry}', whose host browsers read as the IPv4 address {address}: they send {address}, so it would never match"
            ),
            Problem::TooDeep { max } => format!("nests more than {max} levels deep"),
            Problem::Null => "cannot be null".into(),
            Problem::ReadOnly => "is set by the server and cannot be written".into(),
        }
    }

    /// The allowed values or range, worded as rtctl's hint (the envelope's `suggestion`
    /// starts capitalised, as the service's do).
    pub fn hint(&self) -> Option<String> {
        self.suggestion().map(|s| crate::untrusted::as_hint(&s))
    }

    /// The allowed values or range, for the envelope's `suggestion`.
    pub fn suggestion(&self) -> Option<String> {
        match self {
            Problem::NotOneOf { allowed, .. } => Some(format!("Use {}", one_of(allowed))),
            Problem::OutOfRange { min, max, .. } if *max != u64::MAX => {
                Some(format!("Use a whole number from {min} to {max}"))
            }
            Problem::Origin { error, .. } => error.hint().map(str::to_string).or_else(|| {
                Some("Use scheme://host[:port], https://*.example.com, * or native".into())
            }),
            Problem::PublicSuffixWildcard { .. } => Some(
                "Name the sites themselves, or a wildcard under a domain you own (https://*.example.com)"
                    .into(),
            ),
            Problem::NoOrigins => Some(
                "Deactivate or delete the client token instead of removing every origin".into(),
            ),
            Problem::Ipv4Spelling { address, .. } => Some(format!(
                "Write the address as browsers send it: {address}"
            )),
            _ => None,
        }
    }
}

/// `'a' or 'b'`, `'a', 'b' or 'c'`.
fn one_of(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// A value that breaks a rule of its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: Field,
    pub problem: Problem,
}

impl Violation {
    /// The dotted JSON path of the offending value (`allowedOrigins.1`).
    pub fn path(&self) -> String {
        match &self.problem {
            Problem::Origin { index, .. }
            | Problem::PublicSuffixWildcard { index, .. }
            | Problem::Ipv4Spelling { index, .. } => {
                format!("{}.{index}", self.field.json())
            }
            _ => self.field.json().to_string(),
        }
    }
}

/// Checks one value of `field` as a request would carry it, and returns it in the form to
/// send or store: names trimmed, whole floats as integers.
pub fn check_value(field: Field, value: &Value) -> Result<Value, Violation> {
    let spec = field.spec();
    let fail = |problem| Err(Violation { field, problem });
    if value.is_null() {
        return if spec.nullable && !matches!(spec.kind, Kind::Name { .. }) {
            Ok(Value::Null)
        } else {
            fail(Problem::Null)
        };
    }
    match spec.kind {
        Kind::Name { max } => {
            let Some(text) = value.as_str() else {
                return fail(Problem::Type {
                    expected: "a string",
                });
            };
            let trimmed = text.trim();
            let length = trimmed.chars().count();
            if length == 0 || length > max {
                return fail(Problem::Length { max });
            }
            Ok(Value::String(trimmed.to_string()))
        }
        Kind::Ref => match value.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(value.clone()),
            Some(_) => fail(Problem::Empty),
            None => fail(Problem::Type {
                expected: "a string",
            }),
        },
        Kind::Refs { .. } => {
            let items = string_list(value).map_err(|problem| Violation { field, problem })?;
            if items.iter().any(|s| s.trim().is_empty()) {
                return fail(Problem::Empty);
            }
            Ok(value.clone())
        }
        Kind::Origins => {
            let items = string_list(value).map_err(|problem| Violation { field, problem })?;
            if items.is_empty() {
                return fail(Problem::NoOrigins);
            }
            for (index, entry) in items.into_iter().enumerate() {
                if let Err(problem) = check_origin(index, entry) {
                    return fail(problem);
                }
            }
            Ok(value.clone())
        }
        Kind::Choice(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => Ok(value.clone()),
            Some(s) => fail(Problem::NotOneOf {
                allowed,
                got: s.to_string(),
            }),
            None => fail(Problem::Type {
                expected: "a string",
            }),
        },
        Kind::Count { min, max } => {
            let whole = match value {
                Value::Number(n) => n.as_u64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_SAFE_INTEGER)
                        .map(|f| f as u64)
                }),
                _ => {
                    return fail(Problem::Type {
                        expected: "a whole number",
                    });
                }
            };
            match whole {
                Some(n) if (min..=max).contains(&n) => Ok(Value::from(n)),
                _ => fail(Problem::OutOfRange {
                    min,
                    max,
                    got: value.to_string(),
                }),
            }
        }
        Kind::Object => match value {
            Value::Object(_) if depth(value) > MAX_OBJECT_DEPTH => fail(Problem::TooDeep {
                max: MAX_OBJECT_DEPTH,
            }),
            Value::Object(_) => Ok(value.clone()),
            _ => fail(Problem::Type {
                expected: "a JSON object",
            }),
        },
        Kind::Flag => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => fail(Problem::Type {
                expected: "a boolean",
            }),
        },
        Kind::Id | Kind::Secret | Kind::Text | Kind::Time | Kind::Number => fail(Problem::ReadOnly),
    }
}

/// The rule for one origin entry that is to be written: valid, no wildcard over a public
/// suffix (`https://*.com`, `https://*.co.uk`, `https://*.vercel.app`), and no IPv4 address
/// spelt otherwise than browsers send it (`https://0x7f.1`, `https://127.1`).
pub fn check_origin(index: usize, entry: &str) -> Result<(), Problem> {
    let parsed = AllowedOrigin::parse(entry).map_err(|error| Problem::Origin {
        index,
        entry: entry.to_string(),
        error,
    })?;
    if let Some(address) = parsed.ipv4_spelling() {
        return Err(Problem::Ipv4Spelling {
            index,
            entry: entry.to_string(),
            address: address.to_string(),
        });
    }
    match parsed.wildcard_public_suffix() {
        Some(suffix) => Err(Problem::PublicSuffixWildcard {
            index,
            entry: entry.to_string(),
            suffix: suffix.to_string(),
        }),
        None => Ok(()),
    }
}

/// [`check_value`] for an update, which must send some lists with a minimum of entries.
pub fn check_update_value(field: Field, value: &Value) -> Result<Value, Violation> {
    let value = check_value(field, value)?;
    if let Kind::Refs { update_min } = field.spec().kind
        && value
            .as_array()
            .is_some_and(|items| items.len() < update_min)
    {
        return Err(Violation {
            field,
            problem: Problem::TooFew { min: update_min },
        });
    }
    Ok(value)
}

/// Checks a whole number given as text (a flag's value) against `field`'s range.
pub fn parse_count(field: Field, text: &str) -> Result<u64, Violation> {
    let Kind::Count { min, max } = field.spec().kind else {
        return Err(Violation {
            field,
            problem: Problem::Type {
                expected: "a whole number",
            },
        });
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Violation {
            field,
            problem: Problem::OutOfRange {
                min,
                max,
                got: text.to_string(),
            },
        }),
    }
}

fn string_list(value: &Value) -> Result<Vec<&str>, Problem> {
    let expected = Problem::Type {
        expected: "an array of strings",
    };
    let items = value.as_array().ok_or_else(|| expected.clone())?;
    items
        .iter()
        .map(|item| item.as_str().ok_or_else(|| expected.clone()))
        .collect()
}

/// A rule across fields that a token, as it would be stored, breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Neither a flow nor an agent: the widget would have nothing to run.
    NoFlowOrAgent,
    /// `targetAlias` and `targetVersionId` together.
    AliasAndVersion,
    /// `targetVersionId` without exactly one agent.
    VersionNeedsOneAgent,
}

impl Conflict {
    /// The field the conflict is reported on.
    pub fn field(self) -> Field {
        match self {
            Conflict::NoFlowOrAgent => Field::FlowIds,
            Conflict::AliasAndVersion => Field::TargetAlias,
            Conflict::VersionNeedsOneAgent => Field::TargetVersionId,
        }
    }
}

/// The rules across fields, on a token as it would be stored after a change.
pub fn check_token(token: &impl TokenView) -> Result<(), Conflict> {
    if token.strings(Field::FlowIds).is_empty() && token.strings(Field::AgentIds).is_empty() {
        return Err(Conflict::NoFlowOrAgent);
    }
    if token.field(Field::TargetVersionId).is_some() {
        if token.field(Field::TargetAlias).is_some() {
            return Err(Conflict::AliasAndVersion);
        }
        if token.strings(Field::AgentIds).len() != 1 {
            return Err(Conflict::VersionNeedsOneAgent);
        }
    }
    Ok(())
}

/// The rules across fields that a partial request breaks whatever the token holds: fields
/// that exclude each other, sent together.
pub fn check_request(request: &Values) -> Result<(), Conflict> {
    let sent = |field| request.get(field).is_some_and(|v| !v.is_null());
    if sent(Field::TargetAlias) && sent(Field::TargetVersionId) {
        return Err(Conflict::AliasAndVersion);
    }
    if sent(Field::TargetVersionId)
        && request.contains(Field::AgentIds)
        && request.strings(Field::AgentIds).len() != 1
    {
        return Err(Conflict::VersionNeedsOneAgent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(field: Field, value: Value) -> Result<Value, Problem> {
        check_value(field, &value).map_err(|v| v.problem)
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check(Field::Name, json!("  a  ")), Ok(json!("a")));
        assert!(check(Field::Name, json!("   ")).is_err());
        assert!(check(Field::Name, json!("x".repeat(256))).is_err());
        assert!(check(Field::Name, json!("é".repeat(255))).is_ok());
        assert_eq!(check(Field::Name, json!(null)), Err(Problem::Null));
    }

    #[test]
    fn counts_are_whole_numbers_in_range() {
        for bad in [json!(0), json!(-1), json!(1.5), json!(1e300)] {
            let problem = check(Field::RateLimitPerMinute, bad).unwrap_err();
            assert!(matches!(problem, Problem::OutOfRange { .. }), "{problem:?}");
        }
        assert!(matches!(
            check(Field::RateLimitPerMinute, json!("5")),
            Err(Problem::Type { .. })
        ));
        assert_eq!(check(Field::RateLimitPerMinute, json!(10.0)), Ok(json!(10)));
        assert!(check(Field::RateLimitPerMinute, json!(1000)).is_ok());
        assert!(check(Field::RateLimitPerMinute, json!(1001)).is_err());
        assert!(check(Field::RateLimitPerHour, json!(10000)).is_ok());
        assert!(check(Field::SessionIdleTimeoutMinutes, json!(1441)).is_err());
        assert_eq!(check(Field::RateLimitPerHour, json!(null)), Ok(json!(null)));
        assert_eq!(parse_count(Field::MaxMessagesPerSession, "7"), Ok(7));
        assert!(parse_count(Field::MaxMessagesPerSession, "0").is_err());
    }

    #[test]
    fn origins_choices_and_read_only_fields() {
        assert!(check(Field::AllowedOrigins, json!(["*", "native", "a.com:80"])).is_ok());
        assert_eq!(
            check(Field::AllowedOrigins, json!([])),
            Err(Problem::NoOrigins)
        );
        let problem = check(Field::AllowedOrigins, json!(["https://a.com/"])).unwrap_err();
        assert!(problem.describe().contains("https://a.com/"));
        assert!(problem.suggestion().is_some());
        let problem = check(Field::PinToVersion, json!("v1")).unwrap_err();
        assert_eq!(
            problem.describe(),
            "must be 'latest' or 'published' (got 'v1')"
        );
        assert_eq!(check(Field::Id, json!("x")), Err(Problem::ReadOnly));
        assert_eq!(
            check(Field::FlowIds, json!(["a", " "])),
            Err(Problem::Empty)
        );
        assert!(
            check(Field::FlowIds, json!([])).is_ok(),
            "create may send none"
        );
        assert_eq!(
            check_update_value(Field::FlowIds, &json!([])).map_err(|v| v.problem),
            Err(Problem::TooFew { min: 1 })
        );
        assert!(check_update_value(Field::AgentIds, &json!([])).is_ok());
    }

    #[test]
    fn configs_nest_at_most_32_levels() {
        let nested = |n: usize| (1..n).fold(json!({"leaf": 1}), |inner, _| json!({ "a": inner }));
        assert!(check(Field::Config, nested(32)).is_ok());
        assert_eq!(
            check(Field::Config, nested(33)),
            Err(Problem::TooDeep { max: 32 })
        );
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({"a": [1, {"b": 2}]})), 3);
    }

    #[test]
    fn tokens_need_something_to_run_and_one_target() {
        let base = Values::new().with(Field::AgentIds, json!(["a"]));
        assert_eq!(check_token(&base), Ok(()));
        assert_eq!(check_token(&Values::new()), Err(Conflict::NoFlowOrAgent));
        let both = base
            .clone()
            .with(Field::TargetAlias, json!("prod"))
            .with(Field::TargetVersionId, json!("v"));
        assert_eq!(check_token(&both), Err(Conflict::AliasAndVersion));
        let two = Values::new()
            .with(Field::AgentIds, json!(["a", "b"]))
            .with(Field::TargetVersionId, json!("v"));
        assert_eq!(check_token(&two), Err(Conflict::VersionNeedsOneAgent));
    }
}
