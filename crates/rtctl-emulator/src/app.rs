//! What every handler shares: the emulator's state and settings ([`App`]), the reply type, and
//! reading query parameters as the API does (unknown ones refused).

use std::sync::Arc;

use axum::extract::Query;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::api_error::ApiError;
use super::faults::Faults;
use super::journal::Journal;
use super::seed::Seed;
use super::store::Store;
use rtctl_model::clock::Clock;

/// The API keys the emulator accepts.
pub(super) struct Keys {
    pub full: Vec<String>,
    pub read_only: Vec<String>,
}

/// Everything a handler needs.
#[derive(Clone)]
pub(super) struct App {
    pub store: Store,
    pub faults: Arc<Faults>,
    pub journal: Arc<Journal>,
    pub keys: Arc<Keys>,
    pub seed: Seed,
    pub clock: Clock,
    /// The flows and agents added to every seed (`--flow`, `--agent`).
    pub catalogue: Arc<(Vec<String>, Vec<String>)>,
    /// Where the emulator listens, for the host check.
    pub listening: super::guard::Listening,
}

pub(super) type Reply = Result<Response, ApiError>;

pub(super) fn ok(body: Value) -> Reply {
    Ok(axum::Json(body).into_response())
}

/// The query string as pairs, rejecting parameters the endpoint does not take: a client that
/// sends `flowId` where the API wants `flow_id` learns it in tests, not in production.
pub(super) fn query(uri: &Uri, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
    for (i, (key, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            return Err(
                ApiError::bad_request(format!("Unknown query parameter '{key}'"))
                    .with_hint(format!("Allowed: {}", allowed.join(", "))),
            );
        }
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(ApiError::bad_request(format!(
                "Query parameter '{key}' is given more than once"
            )));
        }
    }
    Ok(pairs)
}

pub(super) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub(super) fn integer(
    pairs: &[(String, String)],
    key: &str,
    min: usize,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    let Some(text) = param(pairs, key) else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(n))
        }
        _ if max == usize::MAX => Err(ApiError::bad_request(format!(
            "Query parameter '{key}' must be an integer of at least {min} (got '{text}')"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "Query parameter '{key}' must be an integer from {min} to {max} (got '{text}')"
        ))),
    }
}
