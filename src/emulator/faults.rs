//! Fault injection: make the next N requests that match a method and path fail in a chosen
//! way, so rtctl's tests (and users' CI scripts) can meet rate limits, outages, lost replies
//! and broken proxies on demand.
//!
//! A fault is set with `POST /__emulator/faults` (JSON) or `rtctl emulator --fault SPEC`
//! (the compact form `METHOD PATH key=value…`); both describe the same [`FaultSpec`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::api_error::ApiError;
use super::ids;

/// When a dropped connection is closed relative to the server's own work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DropWhen {
    /// Close without acting: the request never took effect.
    Before,
    /// Act (and persist), then close without replying: the client cannot tell it worked.
    After,
}

/// What a fault does to the requests it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method to match, or `*` for any.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path to match; `*` matches one segment, a final `**` any remainder.
    pub path: String,
    /// How many matching requests to affect; 0 means every one until the fault is cleared.
    #[serde(default = "one")]
    pub count: u32,
    /// Let this many matching requests through untouched first (fail page 2, not page 1).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
    /// Answer with this status (and a JSON error body) without acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` header value: seconds or an HTTP date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// `retry-after-ms` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// `x-ratelimit-reset` header value (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_reset: Option<u64>,
    /// `code` in the error body, as 429 replies sometimes carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Wait this long before handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Close the connection without a reply, before or after acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropWhen>,
    /// Reply with an HTML body (as a proxy would) instead of JSON. With `status`, the server
    /// does not act; without, it acts and its real reply's body is replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub garbage: bool,
    /// Carry the request out late: hold it unanswered, and act on it only when this many
    /// more API requests have arrived (just before the last of them is handled); then close
    /// its connection without a reply. What a client sees when a request it gave up on is
    /// still carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_after: Option<u32>,
    /// On the token list: answer the first page whatever the offset, with `hasMore: true`
    /// (the whole list too, as if the service paged it), so a client that follows
    /// `hasMore` never ends.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub endless: bool,
    /// Append this many bytes of whitespace to the reply (still valid JSON): an oversized
    /// body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_bytes: Option<u64>,
    /// Send only this many bytes of the reply's body, then break the connection: a reply
    /// lost part way (a proxy timing out mid-transfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_after: Option<u64>,
    /// Remove this key from the reply's JSON body, as a dotted path (`*` for each element
    /// of an array; a final `*` for all of them): `clientToken.tokenHint`,
    /// `clientTokens.*.lastUsedAt`, `conversations.*`. A service that drifted from the
    /// contract, for `scripts/live-check` to find.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omit: Option<String>,
}

fn any_method() -> String {
    "*".to_string()
}

fn one() -> u32 {
    1
}

/// A fault as stored: its spec, id and how many more requests it will affect.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests still to affect; `None` for a fault with `count` 0.
    pub remaining: Option<u32>,
    /// Matching requests still to let through before the fault applies.
    #[serde(skip_serializing_if = "is_zero")]
    pub skip_left: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl FaultSpec {
    /// Checks the spec makes sense: it does something, and its parts do not conflict.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("path '{}' must start with '/'", self.path));
        }
        if self.method != "*" && Method::from_bytes(self.method.as_bytes()).is_err() {
            return Err(format!("'{}' is not an HTTP method", self.method));
        }
        if let Some(status) = self.status
            && !(200..=599).contains(&status)
        {
            return Err(format!("status {status} is not between 200 and 599"));
        }
        if self.drop.is_some() && (self.status.is_some() || self.garbage) {
            return Err("drop cannot be combined with status or garbage".into());
        }
        if self.late_after.is_some()
            && (self.status.is_some() || self.garbage || self.drop.is_some())
        {
            return Err("lateAfter cannot be combined with status, garbage or drop".into());
        }
        if self.cut_after.is_some()
            && (self.drop.is_some() || self.late_after.is_some() || self.garbage)
        {
            return Err("cutAfter cannot be combined with drop, lateAfter or garbage".into());
        }
        if self.late_after == Some(0) {
            return Err("lateAfter must be at least 1".into());
        }
        if self.pad_bytes.is_some_and(|n| n > MAX_PAD_BYTES) {
            return Err(format!("padBytes is at most {MAX_PAD_BYTES}"));
        }
        let acts = self.status.is_some()
            || self.delay_ms.is_some()
            || self.drop.is_some()
            || self.garbage
            || self.late_after.is_some()
            || self.endless
            || self.pad_bytes.is_some()
            || self.cut_after.is_some()
            || self.omit.is_some();
        if self
            .omit
            .as_deref()
            .is_some_and(|path| path.is_empty() || path.split('.').any(str::is_empty))
        {
            return Err("omit is a dotted path of keys, such as clientToken.tokenHint".into());
        }
        if !acts {
            return Err(
                "a fault needs at least one of status, delayMs, drop, garbage, lateAfter, endless, padBytes, cutAfter or omit"
                    .into(),
            );
        }
        Ok(())
    }

    /// Parses the compact flag form: `METHOD PATH [key=value]…`, for example
    /// `"POST /v1/client-tokens/*/regenerate drop=after"` or
    /// `"GET /v1/client-tokens status=429 retry-after=2 count=2"`.
    pub fn parse_compact(text: &str) -> Result<FaultSpec, String> {
        let mut words = text.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err("expected 'METHOD PATH [key=value]…'".into());
        };
        let mut spec = FaultSpec {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            count: 1,
            skip: 0,
            status: None,
            retry_after: None,
            retry_after_ms: None,
            rate_limit_reset: None,
            code: None,
            delay_ms: None,
            drop: None,
            garbage: false,
            late_after: None,
            endless: false,
            pad_bytes: None,
            cut_after: None,
            omit: None,
        };
        for word in words {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key}={v}: expected a whole number"))
            };
            match key {
                "skip" => {
                    spec.skip = u32::try_from(number(value)?)
                        .map_err(|_| format!("skip={value} is too large"))?
                }
                "count" => {
                    spec.count = u32::try_from(number(value)?)
                        .map_err(|_| format!("count={value} is too large"))?
                }
                "status" => {
                    spec.status = Some(
                        u16::try_from(number(value)?)
                            .map_err(|_| format!("status={value} is not a status"))?,
                    )
                }
                "retry-after" => spec.retry_after = Some(value.to_string()),
                "retry-after-ms" => spec.retry_after_ms = Some(number(value)?),
                "ratelimit-reset" => spec.rate_limit_reset = Some(number(value)?),
                "code" => spec.code = Some(value.to_string()),
                "delay-ms" => spec.delay_ms = Some(number(value)?),
                "drop" => {
                    spec.drop = Some(match value {
                        "before" => DropWhen::Before,
                        "after" | "" => DropWhen::After,
                        other => return Err(format!("drop={other}: expected before or after")),
                    })
                }
                "garbage" => spec.garbage = matches!(value, "" | "true"),
                "late" => {
                    spec.late_after = Some(
                        u32::try_from(number(value)?)
                            .map_err(|_| format!("late={value} is too large"))?,
                    )
                }
                "endless" => spec.endless = matches!(value, "" | "true"),
                "pad" => spec.pad_bytes = Some(number(value)?),
                "cut" => spec.cut_after = Some(number(value)?),
                "omit" => spec.omit = Some(value.to_string()),
                other => {
                    return Err(format!(
                        "unknown key '{other}' (expected count, skip, status, retry-after, retry-after-ms, ratelimit-reset, code, delay-ms, drop, garbage, late, endless, pad, cut, omit)"
                    ));
                }
            }
        }
        spec.validate()?;
        Ok(spec)
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method.as_str()))
            && path_matches(&self.path, path)
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.trim_end_matches('/').split('/');
    let mut path = path.trim_end_matches('/').split('/');
    loop {
        match (pattern.next(), path.next()) {
            (Some("**"), _) => return true,
            (Some(p), Some(s)) if p == "*" || p == s => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The most padding a fault adds (64 MiB): enough to overflow any sane client's cap.
const MAX_PAD_BYTES: u64 = 64 * 1024 * 1024;

/// A request held by a late fault: carried out once `remaining` more requests arrived.
struct Deferred {
    remaining: u32,
    request: Request,
    done: tokio::sync::oneshot::Sender<()>,
}

/// The active faults, and a constant latency applied to every API request.
#[derive(Default)]
pub(super) struct Faults {
    active: Mutex<Vec<Fault>>,
    latency: Duration,
    deferred: Mutex<Vec<Deferred>>,
}

/// The fault middleware's state: the faults, and the API without them, through which a
/// late fault carries its request out.
#[derive(Clone)]
pub(super) struct Layer {
    pub faults: Arc<Faults>,
    pub inner: axum::Router,
}

impl Faults {
    pub(super) fn new(latency: Duration) -> Faults {
        Faults {
            latency,
            ..Faults::default()
        }
    }

    /// Counts one more arrived request against every deferred one, and carries out those
    /// whose turn it is, before the arriving request is handled.
    async fn run_due(&self, inner: &axum::Router) {
        let due: Vec<Deferred> = {
            let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
            for d in deferred.iter_mut() {
                d.remaining = d.remaining.saturating_sub(1);
            }
            let (due, waiting) = std::mem::take(&mut *deferred)
                .into_iter()
                .partition(|d| d.remaining == 0);
            *deferred = waiting;
            due
        };
        for d in due {
            use tower::ServiceExt;
            let _ = inner.clone().oneshot(d.request).await;
            let _ = d.done.send(());
        }
    }

    pub(super) fn add(&self, spec: FaultSpec) -> Fault {
        let fault = Fault {
            id: ids::fault_id(),
            remaining: (spec.count > 0).then_some(spec.count),
            skip_left: spec.skip,
            spec,
        };
        self.lock().push(fault.clone());
        fault
    }

    pub(super) fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    pub(super) fn clear(&self) -> usize {
        std::mem::take(&mut *self.lock()).len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one use of the first fault matching the request, removing it when used up.
    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut active = self.lock();
        let index = active.iter().position(|f| f.spec.matches(method, path))?;
        if active[index].skip_left > 0 {
            active[index].skip_left -= 1;
            return None;
        }
        let fault = active[index].clone();
        if let Some(remaining) = &mut active[index].remaining {
            *remaining -= 1;
            if *remaining == 0 {
                active.remove(index);
            }
        }
        Some(fault)
    }
}

/// Lets a handler close its own connection without a reply. The accept loop puts one in
/// every request's extensions and drops the connection when it is notified.
#[derive(Clone)]
pub(super) struct ConnectionKill(pub Arc<Notify>);

/// Names the fault that shaped a reply, for the request log.
#[derive(Clone)]
pub(super) struct AppliedFault(pub String);

/// Where the fault middleware names the fault it applies, for a request whose reply never
/// comes back (a dropped connection) and so cannot carry [`AppliedFault`] out.
#[derive(Clone, Default)]
pub(super) struct FaultSlot(Arc<Mutex<Option<String>>>);

impl FaultSlot {
    fn set(&self, label: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(label);
    }

    pub(super) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

const GARBAGE_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Middleware applying latency and the first matching fault to an API request.
pub(super) async fn apply(
    State(Layer { faults, inner }): State<Layer>,
    request: Request,
    next: Next,
) -> Response {
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    faults.run_due(&inner).await;
    let Some(fault) = faults.take(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let spec = &fault.spec;
    let label = AppliedFault(describe(&fault));
    if let Some(ms) = spec.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    if let Some(slot) = request.extensions().get::<FaultSlot>() {
        slot.set(label.0.clone());
    }
    if let Some(after) = spec.late_after {
        let (mut parts, body) = request.into_parts();
        // Routed afresh later: the first routing's path parameters must not come along.
        parts.extensions = Default::default();
        let body = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .unwrap_or_default();
        let (done, carried_out) = tokio::sync::oneshot::channel();
        faults
            .deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Deferred {
                remaining: after,
                request: Request::from_parts(parts, Body::from(body)),
                done,
            });
        // Unanswered until carried out (or the emulator stops); then the connection closes.
        let _ = carried_out.await;
        if let Some(ConnectionKill(notify)) = kill {
            notify.notify_one();
            std::future::pending::<()>().await;
        }
        return ApiError::new(StatusCode::BAD_GATEWAY, "request carried out late").into_response();
    }
    let request = if spec.endless {
        first_page(request)
    } else {
        request
    };
    let mut response = match (spec.drop, spec.status, spec.garbage) {
        (Some(when), _, _) => {
            if when == DropWhen::After {
                let _acted = next.run(request).await;
            }
            if let Some(ConnectionKill(notify)) = kill {
                notify.notify_one();
                // The connection is being torn down; this reply is never sent.
                std::future::pending::<()>().await;
            }
            // Not served by our accept loop: the nearest thing to a lost reply.
            ApiError::new(StatusCode::BAD_GATEWAY, "connection dropped by fault").into_response()
        }
        (None, Some(status), true) => {
            html(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
        }
        (None, Some(status), false) => injected_error(&fault, status),
        (None, None, true) => {
            let real = next.run(request).await;
            let mut replaced = html(real.status());
            replaced.extensions_mut().extend(real.extensions().clone());
            replaced
        }
        (None, None, false) => next.run(request).await,
    };
    if spec.endless {
        response = rewrite_json(response, |body| {
            if let Some(body) = body.as_object_mut() {
                let pagination = body
                    .entry("pagination")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(pagination) = pagination.as_object_mut() {
                    pagination.insert("hasMore".into(), serde_json::Value::Bool(true));
                }
            }
        })
        .await;
    }
    if let Some(path) = &spec.omit {
        let keys: Vec<&str> = path.split('.').collect();
        response = rewrite_json(response, |body| remove_path(body, &keys)).await;
    }
    if let Some(pad) = spec.pad_bytes {
        response = padded(response, pad).await;
    }
    if let Some(cut) = spec.cut_after {
        response = cut_short(response, cut).await;
    }
    add_retry_headers(&mut response, spec);
    response.extensions_mut().insert(label);
    response
}

/// The request with its `offset` reset to 0: the first page again.
fn first_page(mut request: Request) -> Request {
    let uri = request.uri();
    let query: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("offset="))
        .map(str::to_string)
        .chain(["offset=0".to_string()])
        .collect();
    let path_and_query = format!("{}?{}", uri.path(), query.join("&"));
    if let Ok(rewritten) = path_and_query.parse() {
        *request.uri_mut() = rewritten;
    }
    request
}

/// The response with its JSON body changed by `change` (unchanged if it is not JSON).
async fn rewrite_json(response: Response, change: impl FnOnce(&mut serde_json::Value)) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => {
            change(&mut value);
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(value.to_string())
        }
        Err(_) => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// Removes the key at `path` (`*` stepping into each element of an array; a final `*`
/// removes every element of an array, or every key of an object).
fn remove_path(value: &mut serde_json::Value, path: &[&str]) {
    match (path, value) {
        ([], _) => {}
        (["*"], serde_json::Value::Array(items)) => items.clear(),
        (["*"], serde_json::Value::Object(map)) => map.clear(),
        (["*", rest @ ..], serde_json::Value::Array(items)) => {
            for item in items {
                remove_path(item, rest);
            }
        }
        ([last], serde_json::Value::Object(map)) => {
            map.remove(*last);
        }
        ([key, rest @ ..], serde_json::Value::Object(map)) => {
            if let Some(inner) = map.get_mut(*key) {
                remove_path(inner, rest);
            }
        }
        _ => {}
    }
}

/// The response with `pad` bytes of whitespace after its body.
async fn padded(response: Response, pad: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    let mut bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
        .to_vec();
    bytes.resize(bytes.len() + usize::try_from(pad).unwrap_or(0), b' ');
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// The response with only the first `cut` bytes of its body sent, then the connection
/// broken (the body is sent chunked, so the client sees it end unfinished).
async fn cut_short(response: Response, cut: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    let mut bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    bytes.truncate(usize::try_from(cut).unwrap_or(usize::MAX));
    parts.headers.remove(header::CONTENT_LENGTH);
    // The part is sent, and written out while the stream waits a turn, before the error
    // breaks the connection.
    let stream = futures_util::stream::unfold(Some(bytes), |part| async move {
        match part {
            Some(bytes) => Some((Ok(bytes), None)),
            None => {
                tokio::task::yield_now().await;
                Some((
                    Err(std::io::Error::other("the reply was cut short by a fault")),
                    None,
                ))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

fn html(status: StatusCode) -> Response {
    let mut response = (status, Body::from(GARBAGE_HTML)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

fn injected_error(fault: &Fault, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error = match status {
        StatusCode::TOO_MANY_REQUESTS => "Rate limit exceeded".to_string(),
        StatusCode::INTERNAL_SERVER_ERROR => "Internal server error".to_string(),
        s => s
            .canonical_reason()
            .unwrap_or("Injected failure")
            .to_string(),
    };
    let mut error = ApiError::new(status, error)
        .with_message(format!("injected by the emulator (fault {})", fault.id));
    error.code = fault.spec.code.clone();
    error.into_response()
}

fn add_retry_headers(response: &mut Response, spec: &FaultSpec) {
    let headers = response.headers_mut();
    let values = [
        (header::RETRY_AFTER.as_str(), spec.retry_after.clone()),
        ("retry-after-ms", spec.retry_after_ms.map(|v| v.to_string())),
        (
            "x-ratelimit-reset",
            spec.rate_limit_reset.map(|v| v.to_string()),
        ),
    ];
    for (name, value) in values {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
}

fn describe(fault: &Fault) -> String {
    let spec = &fault.spec;
    let mut parts = vec![format!("fault {}", fault.id)];
    if let Some(ms) = spec.delay_ms {
        parts.push(format!("delay {ms}ms"));
    }
    if let Some(when) = spec.drop {
        parts.push(format!(
            "drop {}",
            if when == DropWhen::Before {
                "before"
            } else {
                "after"
            }
        ));
    }
    if let Some(status) = spec.status {
        parts.push(format!("status {status}"));
    }
    if spec.garbage {
        parts.push("garbage".into());
    }
    if let Some(n) = spec.late_after {
        parts.push(format!("late after {n}"));
    }
    if spec.endless {
        parts.push("endless".into());
    }
    if let Some(n) = spec.pad_bytes {
        parts.push(format!("pad {n}"));
    }
    if let Some(n) = spec.cut_after {
        parts.push(format!("cut after {n} bytes"));
    }
    if let Some(path) = &spec.omit {
        parts.push(format!("omit {path}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_segments_and_tails() {
        assert!(path_matches("/v1/client-tokens", "/v1/client-tokens"));
        assert!(path_matches(
            "/v1/client-tokens/*/regenerate",
            "/v1/client-tokens/ct_1/regenerate"
        ));
        assert!(!path_matches(
            "/v1/client-tokens/*",
            "/v1/client-tokens/ct_1/token"
        ));
        assert!(path_matches("/v1/**", "/v1/client-tokens/ct_1/token"));
        assert!(!path_matches("/v1/client-tokens", "/v1/client-tokens/ct_1"));
    }

    #[test]
    fn compact_specs_parse_and_validate() {
        let spec =
            FaultSpec::parse_compact("get /v1/client-tokens status=429 retry-after=2 count=2")
                .unwrap();
        assert_eq!(spec.method, "GET");
        assert_eq!(spec.status, Some(429));
        assert_eq!(spec.retry_after.as_deref(), Some("2"));
        assert_eq!(spec.count, 2);
        let spec =
            FaultSpec::parse_compact("POST /v1/client-tokens/*/regenerate drop=after").unwrap();
        assert_eq!(spec.drop, Some(DropWhen::After));
        assert!(
            FaultSpec::parse_compact("GET /x")
                .unwrap_err()
                .contains("at least one")
        );
        assert!(FaultSpec::parse_compact("GET /x status=abc").is_err());
        assert!(
            FaultSpec::parse_compact("GET /x drop status=500")
                .unwrap_err()
                .contains("cannot be combined")
        );
        assert!(
            FaultSpec::parse_compact("GET /x colour=red")
                .unwrap_err()
                .contains("unknown key")
        );
        assert!(FaultSpec::parse_compact("GET").is_err());
    }

    #[test]
    fn omit_removes_a_key_at_a_dotted_path() {
        let mut body = serde_json::json!({
            "clientTokens": [{"id": "a", "tokenHint": "x"}, {"id": "b"}],
            "clientToken": {"id": "c", "tokenHint": "y"},
        });
        remove_path(&mut body, &["clientTokens", "*", "tokenHint"]);
        remove_path(&mut body, &["clientToken", "tokenHint"]);
        remove_path(&mut body, &["nowhere", "x"]);
        assert_eq!(
            body,
            serde_json::json!({"clientTokens": [{"id": "a"}, {"id": "b"}], "clientToken": {"id": "c"}})
        );
        // A final `*`: every element (or key) goes.
        let mut body =
            serde_json::json!({"conversations": [{"id": "a"}, {"id": "b"}], "config": {"a": 1}});
        remove_path(&mut body, &["conversations", "*"]);
        remove_path(&mut body, &["config", "*"]);
        assert_eq!(body, serde_json::json!({"conversations": [], "config": {}}));
        let spec = FaultSpec::parse_compact("GET /v1/users/profile omit=features.x").unwrap();
        assert_eq!(spec.omit.as_deref(), Some("features.x"));
        assert!(FaultSpec::parse_compact("GET /x omit=a..b").is_err());
    }

    #[test]
    fn counted_faults_are_used_up_and_zero_means_forever() {
        let faults = Faults::new(Duration::ZERO);
        faults.add(FaultSpec::parse_compact("GET /a status=500 count=2").unwrap());
        faults.add(FaultSpec::parse_compact("* /b status=503 count=0").unwrap());
        assert!(faults.take(&Method::GET, "/a").is_some());
        assert!(faults.take(&Method::POST, "/a").is_none());
        assert!(faults.take(&Method::GET, "/a").is_some());
        assert!(faults.take(&Method::GET, "/a").is_none());
        for _ in 0..5 {
            assert!(faults.take(&Method::DELETE, "/b").is_some());
        }
        assert_eq!(faults.clear(), 1);
    }
}
