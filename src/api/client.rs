//! The Runtype API client: one reqwest client, Bearer auth, timeouts, and typed calls for the
//! eight client-token endpoints. It never prints: a verbose log, when wanted, goes through a
//! callback that redacts the key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorBody, ErrorDetail, describe_body, server_wait};
use super::stream::ListReader;

/// Everything but unreserved characters is escaped, so an id is always exactly one path
/// segment: `a/b` becomes `a%2Fb`, `?` cannot start a query.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The largest reply rtctl reads. A page of 200 tokens is a few hundred kilobytes; a reply
/// beyond this is a broken or hostile server, and memory stays bounded.
pub(crate) const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// The deepest nesting rtctl reads in a reply: well above what a server may hold (a token
/// config nested 125 levels reads fine), well below what would exhaust the stack.
pub(crate) const MAX_REPLY_DEPTH: usize = 256;

/// Why a body could not be read as JSON.
enum JsonTrouble {
    NotJson,
    TooDeep,
    /// It began as JSON and ended before its value did: a reply cut short (by a proxy, or a
    /// server that closed the connection without saying how long the body was).
    Truncated,
}

/// Parses JSON nested up to [`MAX_REPLY_DEPTH`] levels: deeper than serde_json's own limit
/// of 128 (which a server-held config can pass), never deep enough to overflow the stack.
fn parse_json(bytes: &[u8]) -> Result<Value, JsonTrouble> {
    if nesting(bytes) > MAX_REPLY_DEPTH {
        return Err(JsonTrouble::TooDeep);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    deserializer.disable_recursion_limit();
    let value =
        serde::Deserialize::deserialize(&mut deserializer).map_err(|e: serde_json::Error| {
            let begun = bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| matches!(b, b'{' | b'['));
            if e.is_eof() && begun {
                JsonTrouble::Truncated
            } else {
                JsonTrouble::NotJson
            }
        })?;
    deserializer.end().map_err(|_| JsonTrouble::NotJson)?;
    Ok(value)
}

/// How deep arrays and objects nest in a JSON text (strings skipped), in one pass.
fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An API key. Its `Debug` and `Display` never show it, so it cannot leak into a log or an
/// error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the `Authorization` header and nothing else.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// A form safe to show: the `rt_live_`/`rt_test_` prefix and the last four characters.
    pub(crate) fn masked(&self) -> String {
        let key = &self.0;
        let prefix = ["rt_live_", "rt_test_"]
            .into_iter()
            .find(|p| key.starts_with(p))
            .unwrap_or("");
        let tail = crate::output::last_chars(key, 4);
        if key.chars().count() <= prefix.len() + 8 {
            format!("{prefix}****")
        } else {
            format!("{prefix}****{tail}")
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

/// Receives one line per request and per reply when `-v` is on.
pub(crate) type HttpLog = Arc<dyn Fn(&str) + Send + Sync>;

/// Connection settings for [`Client::new`].
pub(crate) struct ClientOptions {
    pub base_url: String,
    pub key: ApiKey,
    /// Whole-request timeout (`--timeout`), per attempt.
    pub timeout: Duration,
    /// How many times a failed request may be tried again (`--retries`).
    pub retries: u32,
    /// The `-v` log: every request, reply and retry.
    pub log: Option<HttpLog>,
    /// A note for people when a retry means waiting more than a second.
    pub notify: Option<HttpLog>,
    /// Where the `Date` of the first reply that carries one is kept: the command's "now"
    /// (design, "Server time").
    pub server_date: ServerDate,
}

/// The server's time, from the `Date` header of the first reply that had a valid one; shared
/// by every client of a run, set once.
pub(crate) type ServerDate = std::sync::Arc<std::sync::OnceLock<jiff::Timestamp>>;

pub(crate) struct Client {
    pub(super) http: reqwest::Client,
    base: String,
    key: ApiKey,
    timeout: Duration,
    pub(super) retries: u32,
    pub(super) log: Option<HttpLog>,
    pub(super) notify: Option<HttpLog>,
    /// How many 429 replies this client has had: the pager narrows its window on a new one.
    pub(super) throttled: std::sync::atomic::AtomicU64,
    server_date: ServerDate,
}

impl Client {
    pub(crate) fn new(options: ClientOptions) -> Result<Client, ApiError> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        if options.base_url.starts_with("http://") {
            // Plain http (the emulator, --local) needs no TLS, and redirects are never
            // followed: skip loading the system's certificates, a few ms of every run.
            builder = builder.tls_certs_only(std::iter::empty());
            // Plain http is only ever a loopback emulator: a proxy from HTTP_PROXY would get
            // the key in clear text, and could not reach this machine's loopback anyway.
            builder = builder.no_proxy();
        }
        let http = builder
            .user_agent(concat!("rtctl/", env!("CARGO_PKG_VERSION")))
            // The API never redirects: a redirect is a wrong URL or a hostile proxy, and
            // following it would send the key, or turn a create into a GET, somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .timeout(options.timeout)
            .build()
            .map_err(|e| ApiError::Connect {
                url: options.base_url.clone(),
                detail: format!("could not set up the HTTP client: {e}"),
                sent: false,
                refused: false,
                source: Some(e),
            })?;
        Ok(Client {
            http,
            base: options.base_url.trim_end_matches('/').to_string(),
            key: options.key,
            timeout: options.timeout,
            retries: options.retries,
            log: options.log,
            notify: options.notify,
            throttled: std::sync::atomic::AtomicU64::new(0),
            server_date: options.server_date,
        })
    }

    /// How long one request may take (`--timeout`).
    /// The same client trying each request once, without a log or notes of waits: for a read
    /// whose answer is only advice, which must never hold up (or crowd the log of) the work
    /// it advises on.
    pub(crate) fn single_attempt(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            key: self.key.clone(),
            timeout: self.timeout,
            retries: 0,
            log: None,
            notify: None,
            throttled: std::sync::atomic::AtomicU64::new(0),
            server_date: self.server_date.clone(),
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many times the server has answered 429 so far.
    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a 429, as `send` does (for the pager's tests, which answer pages themselves).
    #[cfg(test)]
    pub(crate) fn note_throttled(&self) {
        self.throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The API's base URL, without a trailing slash.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    pub(super) fn token_path(&self, id: &str, suffix: &str) -> String {
        token_url(&self.base, id, suffix)
    }

    /// A line for the `-v` log, from outside the client (the pager's decisions).
    pub(super) fn note(&self, line: &str) {
        self.log(|| line.to_string());
    }

    pub(super) fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(&line());
        }
    }

    /// One attempt: sends the request and reads the reply.
    pub(super) async fn send_once(
        &self,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Map<String, Value>, ApiError> {
        let (response, started) = self.start(method, url, query, body).await?;
        let status = response.status();
        let content_type = content_type(&response);
        let shown = response.url().to_string();
        let bytes = self.read_body(&shown, response).await?;
        self.log_reply(status, started, bytes.len());
        match parse_json(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::InvalidReply("expected a JSON object".into())),
            Err(JsonTrouble::TooDeep) => Err(ApiError::InvalidReply(format!(
                "the reply nests more than {MAX_REPLY_DEPTH} levels deep, which rtctl does not read"
            ))),
            Err(JsonTrouble::NotJson) => Err(not_json(status, content_type.as_deref(), &bytes)),
            Err(JsonTrouble::Truncated) => Err(ApiError::Cut {
                url: shown,
                received: bytes.len(),
                why: super::Cut::Ended,
                source: None,
            }),
        }
    }

    /// Sends one request and waits for its reply to start: a success is returned with its
    /// body unread; an error status is read and returned as the error.
    pub(super) async fn start(
        &self,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<(reqwest::Response, Instant), ApiError> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(self.key.expose());
        if !query.is_empty() {
            let pairs: Vec<_> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            request = request.query(&pairs);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let request = request.build().map_err(|e| ApiError::Connect {
            url: url.to_string(),
            detail: format!("invalid request: {e}"),
            sent: false,
            refused: false,
            source: Some(e),
        })?;
        let shown = request.url().to_string();
        self.log(|| format!("> {method} {shown}\n> authorization: Bearer <redacted>"));
        let started = Instant::now();
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.transport_error(&shown, e))?;
        let status = response.status();
        if self.server_date.get().is_none()
            && let Some(date) = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
        {
            let _ = self.server_date.set(date.timestamp());
        }
        if status.is_success() {
            return Ok((response, started));
        }
        let server_wait = server_wait(response.headers(), SystemTime::now());
        let content_type = content_type(&response);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| l.chars().take(200).collect::<String>());
        let bytes = self.read_body(&shown, response).await?;
        self.log_reply(status, started, bytes.len());
        let mut error = error_reply(status, content_type.as_deref(), &bytes, server_wait);
        if let ApiError::Status { body, .. } = &mut error {
            body.location = location;
        }
        Err(error)
    }

    pub(super) fn log_reply(&self, status: StatusCode, started: Instant, bytes: usize) {
        self.log(|| {
            format!(
                "< {} in {} ms ({} bytes)",
                status,
                started.elapsed().as_millis(),
                bytes
            )
        });
    }

    /// Reads a reply's body, at most [`MAX_REPLY_BYTES`]: a larger one is an error, found
    /// from `Content-Length` before reading when the server says it.
    pub(super) async fn read_body(
        &self,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, ApiError> {
        let too_large = || {
            ApiError::InvalidReply(format!(
                "the reply is larger than {} MiB, which rtctl does not read",
                MAX_REPLY_BYTES / (1024 * 1024)
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.cut(url, body.len(), e))?
        {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A reply whose body broke off after `received` bytes (the reply had begun: the server
    /// was reached and answered, so this is neither "could not reach" nor "did not answer").
    pub(super) fn cut(&self, url: &str, received: usize, error: reqwest::Error) -> ApiError {
        ApiError::Cut {
            url: url.to_string(),
            received,
            why: if error.is_timeout() {
                super::Cut::TimedOut(self.timeout)
            } else {
                super::Cut::Closed
            },
            source: Some(error),
        }
    }

    pub(super) fn transport_error(&self, url: &str, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout(self.timeout);
        }
        ApiError::Connect {
            url: url.to_string(),
            detail: root_cause(&error),
            sent: !error.is_connect(),
            refused: refused(&error),
            source: Some(error),
        }
    }
}

/// A list reply being read as it arrives: its elements are handed out as they complete
/// (see `stream.rs`), its body bounded by [`MAX_REPLY_BYTES`] like any reply's.
pub(crate) struct Streamed<'a> {
    client: &'a Client,
    url: String,
    /// `Content-Length` says the body is over the bound: nothing is read.
    too_large: bool,
    response: reqwest::Response,
    content_type: Option<String>,
    /// `None` once the reply has ended.
    reader: Option<ListReader>,
    started: Instant,
    read: usize,
}

/// What the next read of a [`Streamed`] reply gave.
#[derive(Debug)]
pub(crate) enum Batch {
    /// Elements of the list, in order; at least one.
    Items(Vec<Value>),
    /// The reply is larger than rtctl reads in one: what was handed out stands, the rest
    /// of the reply is dropped unread.
    TooLarge,
    /// The reply broke off part way (see [`ApiError::Cut`]): what was handed out stands,
    /// the rest is lost.
    Broken(ApiError),
    /// The reply has ended, whole; its `pagination`, when it had one.
    End(Option<Value>),
}

impl<'a> Streamed<'a> {
    /// The list under `key` in the reply `response` (begun at `started`), to be read as it
    /// arrives.
    pub(super) fn new(
        client: &'a Client,
        response: reqwest::Response,
        started: Instant,
        key: &'static str,
    ) -> Streamed<'a> {
        Streamed {
            client,
            url: response.url().to_string(),
            too_large: response
                .content_length()
                .is_some_and(|n| n > MAX_REPLY_BYTES as u64),
            content_type: content_type(&response),
            response,
            reader: Some(ListReader::new(key, MAX_REPLY_DEPTH)),
            started,
            read: 0,
        }
    }
}

impl Streamed<'_> {
    /// The elements completed by the next chunks, at least one, or how the reply ended.
    pub(crate) async fn next(&mut self) -> Result<Batch, ApiError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(Batch::End(None));
        };
        if self.too_large {
            self.reader = None;
            return Ok(Batch::TooLarge);
        }
        let mut items = Vec::new();
        while items.is_empty() {
            let chunk = match self.response.chunk().await {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.reader = None;
                    return Ok(Batch::Broken(self.client.cut(&self.url, self.read, e)));
                }
            };
            let Some(chunk) = chunk else {
                let reader = self.reader.take().expect("read above");
                self.client
                    .log_reply(self.response.status(), self.started, self.read);
                if reader.cut_short() {
                    return Ok(Batch::Broken(ApiError::Cut {
                        url: self.url.clone(),
                        received: self.read,
                        why: super::Cut::Ended,
                        source: None,
                    }));
                }
                return match reader.finish() {
                    Ok(tail) => Ok(Batch::End(tail.pagination)),
                    Err(why) => Err(self.invalid(why)),
                };
            };
            self.read += chunk.len();
            if self.read > MAX_REPLY_BYTES {
                self.reader = None;
                return Ok(Batch::TooLarge);
            }
            if let Err(why) = reader.feed(&chunk, &mut items) {
                if !reader.opened() {
                    // Not JSON at all (a proxy's page): said as any reply would say it.
                    return Err(not_json(
                        self.response.status(),
                        self.content_type.as_deref(),
                        &chunk,
                    ));
                }
                return Err(self.invalid(why));
            }
        }
        Ok(Batch::Items(items))
    }

    fn invalid(&self, why: String) -> ApiError {
        ApiError::InvalidReply(format!("the list from {} is broken: {why}", self.url))
    }
}

/// `{base}/v1/client-tokens/{id}{suffix}` with the id as exactly one encoded segment.
fn token_url(base: &str, id: &str, suffix: &str) -> String {
    format!(
        "{base}/v1/client-tokens/{}{suffix}",
        utf8_percent_encode(id, SEGMENT)
    )
}

/// A successful reply whose body is not JSON at all (a proxy's page).
fn not_json(status: StatusCode, content_type: Option<&str>, body: &[u8]) -> ApiError {
    ApiError::InvalidReply(format!(
        "{status} with a body that is not JSON ({})",
        describe_body(content_type, body)
    ))
}

fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(super) fn error_reply(
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ApiError {
    let text = |map: &Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_string)
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => ApiError::Status {
            status: status.as_u16(),
            body: Box::new(ErrorBody {
                error: text(&map, "error").or_else(|| text(&map, "message")),
                hint: text(&map, "hint").or_else(|| text(&map, "error").and(text(&map, "message"))),
                code: text(&map, "code"),
                details: details(map.get("details")),
                non_json: None,
                location: None,
            }),
            retry_after,
        },
        _ => ApiError::Status {
            status: status.as_u16(),
            body: Box::new(ErrorBody {
                non_json: Some(describe_body(content_type, body)),
                ..ErrorBody::default()
            }),
            retry_after,
        },
    }
}

/// The most `details` an error report shows; a server may send any number.
const MAX_DETAILS: usize = 20;

/// The `details` of the published error envelope, as far as they are readable: an entry
/// without a string `message` is skipped.
fn details(value: Option<&Value>) -> Vec<ErrorDetail> {
    let text = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_string);
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some(ErrorDetail {
                        message: text(item, "message")?,
                        code: text(item, "code"),
                        path: text(item, "path"),
                        suggestion: text(item, "suggestion"),
                    })
                })
                .take(MAX_DETAILS)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a transport error is a refused connection: nothing listens on the port.
pub(crate) fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The innermost cause of a transport error: "Connection refused (os error 111)" says more
/// than reqwest's "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    if text.contains("connection closed") || text.contains("IncompleteMessage") {
        "the connection closed before a reply arrived".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_encoded_segment() {
        assert_eq!(
            token_url("http://h", "../x", ""),
            "http://h/v1/client-tokens/..%2Fx"
        );
        assert_eq!(
            token_url("http://h", "a b?c#d", "/token"),
            "http://h/v1/client-tokens/a%20b%3Fc%23d/token"
        );
        assert_eq!(
            token_url("http://h", "ct_9f8e", ""),
            "http://h/v1/client-tokens/ct_9f8e"
        );
    }

    #[test]
    fn deep_replies_read_up_to_the_bound() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(
            parse_json(nested(200).as_bytes()).is_ok(),
            "deeper than serde's 128"
        );
        assert!(matches!(
            parse_json(nested(MAX_REPLY_DEPTH + 1).as_bytes()),
            Err(JsonTrouble::TooDeep)
        ));
        assert_eq!(nesting(br#"{"a": "[[[{{", "b": [1, {"c": "\"]"}]}"#), 3);
    }

    #[test]
    fn keys_never_show_in_debug() {
        let key = ApiKey::new("rt_live_abcdefghijklmnop1234");
        assert_eq!(format!("{key:?}"), "ApiKey(rt_live_****1234)");
        assert_eq!(ApiKey::new("short").masked(), "****");
    }

    #[test]
    fn error_bodies_are_read_json_or_not() {
        let e = error_reply(
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"error":"Invalid API key","hint":"log in"}"#,
            None,
        );
        assert_eq!(e.to_string(), "401 Unauthorized: Invalid API key");
        assert_eq!(e.server_hint(), Some("log in"));
        let e = error_reply(
            StatusCode::BAD_GATEWAY,
            Some("text/html"),
            b"<html><body>502</body></html>",
            None,
        );
        assert!(e.to_string().contains("not JSON (HTML: <html>"), "{e}");
        let e = error_reply(
            StatusCode::BAD_REQUEST,
            None,
            br#"{"error":"Validation error","details":[{"message":"must be at most 1000","code":"OUT_OF_RANGE","path":"rateLimitPerMinute","suggestion":"Use 1-1000"},{"code":"X"}]}"#,
            None,
        );
        assert_eq!(e.to_string(), "400 Bad Request: Validation error");
        assert_eq!(
            e.details().len(),
            1,
            "a detail without a message is skipped"
        );
        assert_eq!(
            e.details()[0].line(),
            "rateLimitPerMinute: must be at most 1000 (Use 1-1000)"
        );
        let e = error_reply(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            br#"{"error":"slow down","message":"wait","code":"X"}"#,
            None,
        );
        assert_eq!(e.server_hint(), Some("wait"));
    }
}
