//! The error replies the emulator sends, in the published envelope: `{"error": …}`, with
//! `details` (`[{message, code, path, suggestion}]`) for validation errors, and the older
//! `hint`, `message` or `code` where the service still sends them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// An error reply. Boxed: handlers return it in every `Result`, and most results succeed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ApiError(Box<ErrorReply>);

impl std::ops::Deref for ApiError {
    type Target = ErrorReply;

    fn deref(&self) -> &ErrorReply {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorReply {
        &mut self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct ErrorReply {
    pub status: StatusCode,
    pub error: String,
    pub hint: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
    /// `WWW-Authenticate` value, sent with 401.
    pub authenticate: Option<&'static str>,
    /// What was wrong with the request, one entry a problem.
    pub details: Vec<Detail>,
    /// Sent without CORS headers, so a browser hides it from the page (an origin the token
    /// does not admit: what Runtype's guide says users see as a CORS error).
    pub withhold_cors: bool,
}

/// One validation problem of the published envelope.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Detail {
    pub message: String,
    /// A stable code: `MISSING_REQUIRED_FIELD`, `INVALID_ENUM`, `OUT_OF_RANGE`…
    pub code: &'static str,
    /// The dotted JSON path of the offending field.
    pub path: Option<String>,
    pub suggestion: Option<String>,
}

impl Detail {
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("message".into(), Value::String(self.message.clone()));
        map.insert("code".into(), Value::String(self.code.into()));
        if let Some(path) = &self.path {
            map.insert("path".into(), Value::String(path.clone()));
        }
        if let Some(suggestion) = &self.suggestion {
            map.insert("suggestion".into(), Value::String(suggestion.clone()));
        }
        Value::Object(map)
    }
}

impl ApiError {
    pub(super) fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorReply {
            status,
            error: error.into(),
            hint: None,
            message: None,
            code: None,
            authenticate: None,
            details: Vec::new(),
            withhold_cors: false,
        }))
    }

    /// A 400 `{"error": "Validation error", "details": [detail]}`.
    pub(super) fn validation(detail: Detail) -> ApiError {
        let mut error = ApiError::bad_request("Validation error");
        error.details.push(detail);
        error
    }

    pub(super) fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    pub(super) fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Client token not found")
    }

    pub(super) fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    /// The same error, hidden from the page by the browser (see [`ErrorReply::withhold_cors`]).
    pub(super) fn without_cors(mut self) -> ApiError {
        self.withhold_cors = true;
        self
    }

    pub(super) fn with_message(mut self, message: impl Into<String>) -> ApiError {
        self.message = Some(message.into());
        self
    }

    pub(super) fn body(&self) -> Value {
        let mut map = Map::new();
        map.insert("error".into(), Value::String(self.error.clone()));
        for (key, value) in [
            ("hint", &self.hint),
            ("message", &self.message),
            ("code", &self.code),
        ] {
            if let Some(v) = value {
                map.insert(key.into(), Value::String(v.clone()));
            }
        }
        if !self.details.is_empty() {
            let details = self.details.iter().map(Detail::to_json).collect();
            map.insert("details".into(), Value::Array(details));
        }
        Value::Object(map)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.withhold_cors {
            response.extensions_mut().insert(super::cors::Withheld);
        }
        if let Some(value) = self.authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        response
    }
}
