//! What can go wrong talking to the API, typed so that the exit code and the advice can be
//! chosen in one place (`crate::error`) rather than guessed from strings.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use std::time::Duration;

/// An error reply from the API, or a failure to get a usable one.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{status} {reason}: {message}", reason = status_reason(*status), message = self.message())]
    Status {
        status: u16,
        /// What the body said (boxed: most results are not errors).
        body: Box<ErrorBody>,
        /// How long the server asked to wait (`retry-after-ms`, `Retry-After`,
        /// `x-ratelimit-reset`), when it said.
        retry_after: Option<Duration>,
    },
    /// No reply within the timeout.
    #[error("the server did not answer within {}s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The connection could not be made, or broke before a reply arrived.
    #[error("could not reach {url}: {detail}")]
    Connect {
        url: String,
        detail: String,
        /// Whether the request may have reached the server: false only when no connection
        /// was ever made (refused, unresolvable), so the server cannot have acted.
        sent: bool,
        /// The host answered that nothing listens on the port (connection refused).
        refused: bool,
        /// What the HTTP client reported, kept whole: `-v` prints its chain of causes.
        source: Option<reqwest::Error>,
    },
    /// A reply arrived but is not what the API sends.
    #[error("unexpected reply from the server: {0}")]
    InvalidReply(String),
    /// A reply began, then broke off before its body was whole: the connection closed, the
    /// body ended before its JSON did (a proxy that cut it), or `--timeout` ran out part way.
    /// The server answered, so it was reached; the rest of its answer is lost.
    #[error("the reply from {url} broke off after {received} bytes: {why}")]
    Cut {
        url: String,
        /// Bytes of the body that arrived.
        received: usize,
        why: Cut,
        /// What the HTTP client reported, when it noticed the break: `-v` prints its causes.
        source: Option<reqwest::Error>,
    },
}

/// Why a reply broke off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The connection closed, or failed, part way.
    Closed,
    /// The body ended (the server said it was done) before its JSON did.
    Ended,
    /// The whole request's time (`--timeout`) ran out while the body arrived.
    TimedOut(Duration),
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Closed => f.write_str("the connection closed before the body was whole"),
            Cut::Ended => f.write_str("the body ended before its JSON did"),
            Cut::TimedOut(limit) => write!(
                f,
                "it was still arriving when the {}s timeout ran out",
                limit.as_secs_f64()
            ),
        }
    }
}

/// What an error reply's body said.
#[derive(Debug, Default)]
pub struct ErrorBody {
    /// `error` from the body, when the body was JSON with one.
    pub error: Option<String>,
    /// `hint`, or failing that `message`, from the body.
    pub hint: Option<String>,
    /// `code` from the body (429 replies sometimes carry one).
    pub code: Option<String>,
    /// `details` of the published envelope: what was wrong, field by field.
    pub details: Vec<ErrorDetail>,
    /// A short description of a body that was not JSON (a proxy's HTML page, say).
    pub non_json: Option<String>,
    /// Where a redirect pointed (the `Location` header), which rtctl never follows.
    pub location: Option<String>,
}

/// One entry of an error reply's `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub message: String,
    pub code: Option<String>,
    pub path: Option<String>,
    pub suggestion: Option<String>,
}

impl ErrorDetail {
    /// `path: message (suggestion)`, as the error report shows it.
    pub fn line(&self) -> String {
        let mut line = match &self.path {
            Some(path) if !self.message.contains(path.as_str()) => {
                format!("{path}: {}", self.message)
            }
            _ => self.message.clone(),
        };
        if let Some(suggestion) = &self.suggestion {
            line.push_str(&format!(" ({suggestion})"));
        }
        line
    }
}

impl ApiError {
    /// The reply's `code`, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status { body, .. } => body.code.as_deref(),
            _ => None,
        }
    }

    /// The reply's `details`, if any.
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            ApiError::Status { body, .. } => &body.details,
            _ => &[],
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Status { body, .. } => match (&body.error, &body.non_json) {
                (Some(e), _) => e.clone(),
                (None, Some(text)) => format!("the reply was not JSON ({text})"),
                (None, None) => "no error message in the reply".into(),
            },
            other => other.to_string(),
        }
    }

    /// Worth trying again: the network, a timeout, or a status that says "not now"
    /// (408, 429, 500, 502, 503, 504).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Timeout(_) | ApiError::Connect { .. } | ApiError::Cut { .. } => true,
            ApiError::Status { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            ApiError::InvalidReply(_) => false,
        }
    }

    /// Whether the request may have reached the server. Only a connection that was never
    /// made is certain not to have: anything else might have been acted on.
    pub fn may_have_reached(&self) -> bool {
        !matches!(self, ApiError::Connect { sent: false, .. })
    }

    /// The reply to a request that may have been acted on was lost: the server may or may not
    /// have done it (a timeout, a dropped connection, a 5xx, a garbled reply).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Timeout(_) | ApiError::InvalidReply(_) | ApiError::Cut { .. } => true,
            ApiError::Connect { sent, .. } => *sent,
            ApiError::Status { status, .. } => *status >= 500,
        }
    }

    /// The service's answer to an id that cannot be one (400 "Invalid client token ID"), as
    /// opposed to its 400 for a legacy token's value, which cannot be read.
    pub fn is_invalid_id(&self) -> bool {
        matches!(self, ApiError::Status { status: 400, body, .. }
            if body.error.as_deref() == Some("Invalid client token ID"))
    }

    /// The server's own advice, if it gave any.
    pub fn server_hint(&self) -> Option<&str> {
        match self {
            ApiError::Status { body, .. } => body.hint.as_deref(),
            _ => None,
        }
    }
}

/// The status's reason phrase ("Not Found"), as HTTP names it.
fn status_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or(if status >= 500 {
            "Server Error"
        } else {
            "Error"
        })
}

/// Describes a non-JSON body briefly: its kind and first words, never all of it.
pub(crate) fn describe_body(content_type: Option<&str>, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "empty body".into();
    }
    let kind = match content_type {
        Some(ct) if ct.contains("html") => "HTML",
        _ if trimmed.starts_with('<') => "HTML",
        _ => "text",
    };
    let snippet: String = trimmed
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    format!("{kind}: {snippet}")
}

/// The wait the server asked for, from its headers, relative to `now`.
pub(crate) fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    if let Some(value) = header("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(when) = jiff::fmt::rfc2822::parse(value).map(|z| z.timestamp()) {
            return Some(until(when.as_second(), now));
        }
    }
    let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())?;
    Some(until(reset, now))
}

/// From `now` until a Unix time (zero if it has passed).
fn until(unix_seconds: i64, now: SystemTime) -> Duration {
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    Duration::try_from_secs_f64((unix_seconds as f64 - now).max(0.0)).unwrap_or(Duration::MAX)
}
