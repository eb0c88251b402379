//! CORS on the widget's routes (`/v1/client/*`), so the chat widget on a page at another
//! origin (`http://localhost:3000` against `rtctl emulator`) works as it does against the
//! service, and fails as it does there.
//!
//! Emulator decisions, from Runtype's guide ("If you see CORS-related errors, the domain isn't
//! approved") and the widget's client (`@runtypelabs/persona` 4.17.0: every call is a `POST`
//! with `Content-Type: application/json` and `X-Persona-Version`, never with credentials, so
//! the browser always sends a preflight):
//! - A preflight (`OPTIONS`) is answered `204` for any origin: it carries no token, so the
//!   server cannot judge it. It allows `POST` and the headers the browser asks for.
//! - A reply carries `Access-Control-Allow-Origin: <the request's Origin>` and `Vary: Origin`,
//!   so the page reads it: a session, a canned chat reply, and the refusals the widget shows
//!   in its own words (an unknown or rotated value: "Invalid client token: …"; an inactive
//!   token: "Origin not allowed: Client token is inactive"; an expired session).
//! - Except one: the 403 for an origin the token does not admit goes without the header, so
//!   the browser reports a CORS error and the page sees only "Failed to fetch".
//!
//! No `Access-Control-Allow-Credentials`: the widget sends no cookies. The admin API
//! (`/v1/client-tokens…`) gets no CORS at all: an API key never belongs in a page.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Marks a reply the browser must not show the page.
#[derive(Debug, Clone, Copy)]
pub(super) struct Withheld;

/// The headers the widget sends, allowed when a preflight does not list its own.
const WIDGET_HEADERS: &str = "content-type, x-persona-version";

/// How long a browser may keep a preflight's answer.
const MAX_AGE_SECONDS: &str = "600";

/// Whether `path` is one of the widget's routes (not the admin `/v1/client-tokens`).
fn is_widget_route(path: &str) -> bool {
    path.starts_with("/v1/client/")
}

pub(super) async fn layer(request: Request, next: Next) -> Response {
    if !is_widget_route(request.uri().path()) {
        return next.run(request).await;
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    if request.method() == Method::OPTIONS {
        let asked = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let mut response = StatusCode::NO_CONTENT.into_response();
        // The answer depends on both, so no cache may give one origin's answer to another.
        response.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
        );
        if let Some(origin) = origin {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, OPTIONS"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                asked.unwrap_or(HeaderValue::from_static(WIDGET_HEADERS)),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE_SECONDS),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    // Whether the page may read a reply depends on its Origin, whatever that is.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin
        && response.extensions().get::<Withheld>().is_none()
    {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}
