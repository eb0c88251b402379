//! The error replies the emulator sends: `{"error": …}` with an optional `hint`, `message`
//! or `code`, exactly as the contract describes them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub hint: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
    /// `WWW-Authenticate` value, sent with 401.
    pub authenticate: Option<&'static str>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            hint: None,
            message: None,
            code: None,
            authenticate: None,
        }
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
        Value::Object(map)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(value) = self.authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        response
    }
}
