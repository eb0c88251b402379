//! The Runtype API client: one reqwest client, Bearer auth, timeouts, and typed calls for the
//! eight client-token endpoints. It never prints: a verbose log, when wanted, goes through a
//! callback that redacts the key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorBody, ErrorDetail, describe_body};
use super::paging::{Page, Pager, Tokens};
use super::retry::{self, Attempts};
use super::stream::ListReader;
use super::types::{ClientToken, Conversation, Warning, WithValue};
use crate::token::Values;

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

/// The service's answer to a widget's init (`rtctl doctor --probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitAnswer {
    pub status: u16,
    /// What a refusal said: `error`, and the `errorDescription` and `hint` the service may
    /// add (the widget reads them as of persona 4.2x).
    pub error: Option<String>,
    pub description: Option<String>,
    pub hint: Option<String>,
}

/// How a delete ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deleted {
    Now,
    /// Gone when a retry came: deleted by the attempt whose reply was lost, or never there.
    GoneOnRetry,
}

/// Marks the reply `send` makes up for a DELETE found gone on a retry (no real reply has it:
/// keys from the server never start with a space).
const GONE_ON_RETRY: &str = " gone on retry";

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
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    timeout: Duration,
    retries: u32,
    log: Option<HttpLog>,
    notify: Option<HttpLog>,
    /// How many 429 replies this client has had: the pager narrows its window on a new one.
    throttled: std::sync::atomic::AtomicU64,
    server_date: ServerDate,
}

/// What ids and values look like, for a hint when an argument is neither.
pub(crate) const ID_SHAPES: &str = "an id looks like ct_9f8e7d6c5b4a3210 (or a UUID); a whole value looks like ct_live_… as a page embeds it (rtctl tokens list shows the ids)";

/// The longest id rtctl accepts, from a user or a server.
const MAX_ID_CHARS: usize = 128;

/// Checks an id, from a user or from a server, before it goes into a path: 1 to 128
/// characters of `A-Z a-z 0-9 _ -`. That excludes `.` and `..` (which URL parsers and proxies
/// resolve as path steps, whatever the encoding), slashes, and anything that could steer a
/// terminal.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("a token id cannot be empty".into());
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(format!(
            "a token id has at most {MAX_ID_CHARS} characters (this one has {})",
            id.chars().count()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "'{}' is not a token id: it holds {}; ids are letters, digits, '_' and '-'",
            id.escape_debug(),
            match bad {
                c if c.is_control() => "a control character".to_string(),
                c => format!("'{c}'"),
            }
        ));
    }
    Ok(())
}

impl Client {
    pub(crate) fn new(options: ClientOptions) -> Result<Client, ApiError> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        if options.base_url.starts_with("http://") {
            // Plain http (the emulator, --local) needs no TLS, and redirects are never
            // followed: skip loading the system's certificates, a few ms of every run.
            builder = builder.tls_certs_only(std::iter::empty());
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

    fn token_path(&self, id: &str, suffix: &str) -> String {
        token_url(&self.base, id, suffix)
    }

    /// A line for the `-v` log, from outside the client (the pager's decisions).
    pub(super) fn note(&self, line: &str) {
        self.log(|| line.to_string());
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(&line());
        }
    }

    /// A retry budget for one operation named `what` ("GET …", "rotating ct_…").
    pub(super) fn attempts(&self, what: String) -> Attempts<'_> {
        Attempts::new(what, self.retries, self.log.as_ref(), self.notify.as_ref())
    }

    /// Sends a request, retrying what is safe to retry, and returns the JSON object of a
    /// successful reply. GET, PUT and DELETE are retried on transient failures; any other
    /// method only when the request certainly never reached the server.
    pub(super) async fn send(
        &self,
        method: Method,
        url: String,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Map<String, Value>, ApiError> {
        let gone = || Map::from_iter([(GONE_ON_RETRY.to_string(), Value::Bool(true))]);
        self.retrying(
            &method,
            &url,
            || self.send_once(&method, &url, query, body.clone()),
            gone,
        )
        .await
    }

    /// Makes `attempt` until it succeeds or may not be tried again (see [`Client::send`]).
    /// A DELETE found gone after an attempt whose reply was lost is `gone()`.
    async fn retrying<T, Attempt: Future<Output = Result<T, ApiError>>>(
        &self,
        method: &Method,
        url: &str,
        mut attempt: impl FnMut() -> Attempt,
        gone: impl Fn() -> T,
    ) -> Result<T, ApiError> {
        let idempotent = matches!(*method, Method::GET | Method::PUT | Method::DELETE);
        let mut attempts = self.attempts(format!("{method} {url}"));
        let mut unanswered = false;
        loop {
            let error = match attempt().await {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            if error.status() == Some(429) {
                self.throttled
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            // An earlier DELETE may have been carried out with its reply lost: the token
            // being gone now is that DELETE's success, or it never existed; no one can tell.
            if *method == Method::DELETE && unanswered && error.status() == Some(404) {
                self.log(|| {
                    "the earlier attempt went unanswered, and now the token is gone".into()
                });
                return Ok(gone());
            }
            // A create or a regenerate is tried again only when it certainly was not carried
            // out: it never left, or the server answered "not now" (429, 503).
            let retryable = if idempotent {
                error.is_transient()
            } else {
                !error.may_have_reached() || matches!(error.status(), Some(429 | 503))
            };
            if !retryable || !attempts.wait_before_retry(&error).await {
                return Err(error);
            }
            unanswered |= error.outcome_unknown() && !matches!(error, ApiError::Status { .. });
        }
    }

    /// One attempt: sends the request and reads the reply.
    async fn send_once(
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
            }),
        }
    }

    /// Sends one request and waits for its reply to start: a success is returned with its
    /// body unread; an error status is read and returned as the error.
    async fn start(
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
        let server_wait = retry::server_wait(response.headers(), SystemTime::now());
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

    fn log_reply(&self, status: StatusCode, started: Instant, bytes: usize) {
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
    async fn read_body(
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
            .map_err(|e| self.cut(url, body.len(), &e))?
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
    fn cut(&self, url: &str, received: usize, error: &reqwest::Error) -> ApiError {
        ApiError::Cut {
            url: url.to_string(),
            received,
            why: if error.is_timeout() {
                super::Cut::TimedOut(self.timeout)
            } else {
                super::Cut::Closed
            },
        }
    }

    fn transport_error(&self, url: &str, error: reqwest::Error) -> ApiError {
        if error.is_timeout() {
            return ApiError::Timeout(self.timeout);
        }
        ApiError::Connect {
            url: url.to_string(),
            detail: root_cause(&error),
            sent: !error.is_connect(),
            refused: refused(&error),
        }
    }

    /// One page of the token list. A server that ignores `limit` answers the whole list
    /// without `pagination`; the page says so, and the pager stops there.
    pub(crate) async fn token_page(
        &self,
        limit: u32,
        offset: u64,
    ) -> Result<Page<ClientToken>, ApiError> {
        let url = format!("{}/v1/client-tokens", self.base);
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        let mut reply = self
            .send(Method::GET, url, &query, None)
            .await
            .map_err(|e| self.list_missing(e))?;
        let tokens = token_list(reply.remove("clientTokens"), "clientTokens")?;
        Ok(Page::new(tokens, reply.get("pagination")))
    }

    /// `GET {path}` without `limit`: the whole list in one reply, under `key`, read as it
    /// arrives (see [`Streamed`]). Retried like any GET until its reply starts.
    pub(crate) async fn stream_list(
        &self,
        path: &str,
        key: &'static str,
    ) -> Result<Streamed<'_>, ApiError> {
        let url = format!("{}{path}", self.base);
        let (response, started) = self
            .retrying(
                &Method::GET,
                &url,
                || self.start(&Method::GET, &url, &[], None),
                || unreachable!("only a DELETE is found gone"),
            )
            .await
            .map_err(|e| self.list_missing(e))?;
        Ok(Streamed {
            client: self,
            url: response.url().to_string(),
            too_large: response
                .content_length()
                .is_some_and(|n| n > MAX_REPLY_BYTES as u64),
            content_type: content_type(&response),
            response,
            reader: Some(ListReader::new(key, MAX_REPLY_DEPTH)),
            started,
            read: 0,
        })
    }

    /// A 404 for the list itself: not a missing token, a URL that is not the API.
    fn list_missing(&self, error: ApiError) -> ApiError {
        match error {
            ApiError::Status { status: 404, .. } => {
                ApiError::InvalidReply(format!("{} has no /v1/client-tokens (404)", self.base))
            }
            other => other,
        }
    }

    /// The token list, page by page at the API's largest page size.
    pub(crate) fn tokens(&self) -> Pager<'_, Tokens> {
        Pager::new(self, Tokens)
    }

    /// The whole token list, page by page, with pages fetched ahead (see [`Pager::whole`]).
    pub(crate) fn all_tokens(&self) -> Pager<'_, Tokens> {
        Pager::new(self, Tokens).whole()
    }

    /// Every token. Any page failing fails the whole read: a caller acting on "all tokens"
    /// must never act on part of them.
    pub(crate) async fn list_all(&self) -> Result<Vec<ClientToken>, ApiError> {
        let mut pages = self.all_tokens();
        let mut tokens = Vec::new();
        while let Some(page) = pages.next().await? {
            tokens.extend(page);
        }
        Ok(tokens)
    }

    /// `POST /v1/client/init` as the widget sends it from a page at `origin` (`rtctl doctor
    /// --probe`): no API key, the client token is the credential. The status, and the
    /// service's message when it refused.
    pub(crate) async fn widget_init(
        &self,
        value: &str,
        flow: Option<&str>,
        origin: &str,
    ) -> Result<InitAnswer, ApiError> {
        let url = format!("{}/v1/client/init", self.base);
        let mut body = serde_json::json!({ "token": value });
        if let Some(flow) = flow {
            body["flowId"] = Value::String(flow.to_string());
        }
        self.log(|| format!("> POST {url} (Origin: {origin})"));
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::ORIGIN, origin)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(&url, e))?;
        let status = response.status().as_u16();
        let bytes = self.read_body(&url, response).await?;
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(InitAnswer {
            status,
            error: text("error"),
            description: text("errorDescription"),
            hint: text("hint"),
        })
    }

    /// `GET /v1/users/profile`: who the key belongs to.
    pub(crate) async fn profile(&self) -> Result<Map<String, Value>, ApiError> {
        let url = format!("{}/v1/users/profile", self.base);
        self.send(Method::GET, url, &[], None).await
    }

    pub(crate) async fn get(&self, id: &str) -> Result<ClientToken, ApiError> {
        let mut reply = self
            .send(Method::GET, self.token_path(id, ""), &[], None)
            .await?;
        token(reply.remove("clientToken"))
    }

    pub(crate) async fn create(&self, request: &Values) -> Result<WithValue, ApiError> {
        let url = format!("{}/v1/client-tokens", self.base);
        let reply = self
            .send(Method::POST, url, &[], Some(json_body(request)))
            .await?;
        with_value(reply)
    }

    pub(crate) async fn update(
        &self,
        id: &str,
        request: &Values,
    ) -> Result<(ClientToken, Vec<Warning>), ApiError> {
        let mut reply = self
            .send(
                Method::PUT,
                self.token_path(id, ""),
                &[],
                Some(json_body(request)),
            )
            .await?;
        let warnings = warnings(reply.get("warnings"));
        Ok((token(reply.remove("clientToken"))?, warnings))
    }

    /// One attempt at an update, never repeated: a write that must land right after the read
    /// it was decided on (a rollover's mark), where a retry seconds later could overwrite
    /// what another run wrote meanwhile. The caller reads again before trying again.
    pub(crate) async fn update_once(&self, id: &str, request: &Values) -> Result<(), ApiError> {
        self.send_once(
            &Method::PUT,
            &self.token_path(id, ""),
            &[],
            Some(json_body(request)),
        )
        .await
        .map(|_| ())
    }

    /// Deletes the token. A retry that finds it gone, after an attempt whose reply was
    /// lost, is `GoneOnRetry`: deleted by that attempt, or it never existed.
    pub(crate) async fn delete(&self, id: &str) -> Result<Deleted, ApiError> {
        let reply = self
            .send(Method::DELETE, self.token_path(id, ""), &[], None)
            .await?;
        Ok(if reply.contains_key(GONE_ON_RETRY) {
            Deleted::GoneOnRetry
        } else {
            Deleted::Now
        })
    }

    pub(crate) async fn value(&self, id: &str) -> Result<String, ApiError> {
        let reply = self
            .send(Method::GET, self.token_path(id, "/token"), &[], None)
            .await?;
        match reply.get("token") {
            Some(Value::String(value)) => Ok(value.clone()),
            _ => Err(ApiError::InvalidReply(
                "the reply has no \"token\" string".into(),
            )),
        }
    }

    pub(crate) async fn regenerate(&self, id: &str) -> Result<WithValue, ApiError> {
        let reply = self
            .send(Method::POST, self.token_path(id, "/regenerate"), &[], None)
            .await?;
        with_value(reply)
    }

    /// One page of a token's conversations, optionally of one flow.
    pub(crate) async fn conversation_page(
        &self,
        id: &str,
        flow_id: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Conversation>, ApiError> {
        let mut query = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        if let Some(flow) = flow_id {
            query.push(("flow_id", flow.to_string()));
        }
        let mut reply = self
            .send(
                Method::GET,
                self.token_path(id, "/conversations"),
                &query,
                None,
            )
            .await?;
        let Some(Value::Array(items)) = reply.remove("conversations") else {
            return Err(ApiError::InvalidReply(
                "the reply has no \"conversations\" array".into(),
            ));
        };
        let conversations = items
            .into_iter()
            .map(|item| match item {
                Value::Object(raw) => Ok(Conversation { raw }),
                _ => Err(ApiError::InvalidReply(
                    "a conversation is not a JSON object".into(),
                )),
            })
            .collect::<Result<_, _>>()?;
        // Conversations are always paged, whether or not the reply says so.
        let mut page = Page::new(conversations, reply.get("pagination"));
        page.paginated = true;
        Ok(page)
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
                    return Ok(Batch::Broken(self.client.cut(&self.url, self.read, &e)));
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

fn json_body(request: &Values) -> Vec<u8> {
    // A JSON object always serialises.
    serde_json::to_vec(&request.to_object()).unwrap_or_default()
}

fn error_reply(
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

fn token(value: Option<Value>) -> Result<ClientToken, ApiError> {
    value.and_then(ClientToken::from_value).ok_or_else(|| {
        ApiError::InvalidReply("the reply has no \"clientToken\" object with an id".into())
    })
}

fn token_list(value: Option<Value>, key: &str) -> Result<Vec<ClientToken>, ApiError> {
    let Some(Value::Array(items)) = value else {
        return Err(ApiError::InvalidReply(format!(
            "the reply has no \"{key}\" array"
        )));
    };
    items.into_iter().map(|item| token(Some(item))).collect()
}

fn warnings(value: Option<&Value>) -> Vec<Warning> {
    value
        .and_then(|v| serde_json::from_value::<Vec<Warning>>(v.clone()).ok())
        .unwrap_or_default()
}

fn with_value(reply: Map<String, Value>) -> Result<WithValue, ApiError> {
    let value = match reply.get("token") {
        Some(Value::String(v)) => v.clone(),
        _ => {
            return Err(ApiError::InvalidReply(
                "the reply has no \"token\" value".into(),
            ));
        }
    };
    let warnings = warnings(reply.get("warnings"));
    let token = token(reply.get("clientToken").cloned())?;
    Ok(WithValue {
        token,
        value,
        warnings,
    })
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
        for bad in [
            "..",
            ".",
            "",
            "a/b",
            "a b",
            "ct_1\u{1b}[2J",
            &"x".repeat(129),
        ] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_id("ct_1").is_ok());
        assert!(check_id("0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c").is_ok());
        assert!(check_id(&"x".repeat(128)).is_ok());
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

    mod decoding_never_panics {
        use super::*;
        use proptest::prelude::*;

        /// Any JSON value, nested a few levels, with the keys replies use mixed in so the
        /// decoders get past their first checks.
        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                let key = prop_oneof![
                    Just("id".to_string()),
                    Just("clientToken".to_string()),
                    Just("clientTokens".to_string()),
                    Just("token".to_string()),
                    Just("warnings".to_string()),
                    Just("pagination".to_string()),
                    Just("hasMore".to_string()),
                    Just("allowedOrigins".to_string()),
                    Just("isActive".to_string()),
                    "[a-z]{1,6}",
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map(key, inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn arbitrary_bodies(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300), html in any::<bool>()) {
                let status = StatusCode::from_u16(status).unwrap();
                let content_type = html.then_some("text/html");
                let error = error_reply(status, content_type, &body, None);
                let _ = error.to_string();
                let _ = describe_body(content_type, &body);
            }

            #[test]
            fn arbitrary_json(value in json()) {
                let _ = ClientToken::from_value(value.clone());
                let _ = token(Some(value.clone()));
                let _ = token_list(Some(value.clone()), "clientTokens");
                let _ = warnings(Some(&value));
                if let Value::Object(map) = value.clone() {
                    let _ = with_value(map.clone());
                    let bytes = serde_json::to_vec(&map).unwrap();
                    let _ = error_reply(StatusCode::BAD_REQUEST, None, &bytes, None);
                    if let Some(token) = ClientToken::from_value(Value::Object(map)) {
                        use crate::token::TokenView;
                        let _ = (token.name(), token.environment(), token.origins(), token.is_active());
                    }
                }
            }

            #[test]
            fn arbitrary_retry_headers(ms in "\\PC{0,12}", after in "\\PC{0,40}", reset in "\\PC{0,12}") {
                let mut headers = reqwest::header::HeaderMap::new();
                for (name, value) in [("retry-after-ms", ms), ("retry-after", after), ("x-ratelimit-reset", reset)] {
                    if let Ok(v) = reqwest::header::HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
                let _ = retry::server_wait(&headers, SystemTime::now());
            }
        }
    }
}
