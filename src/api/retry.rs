//! When and how long to wait before trying a request again.
//!
//! Only requests that are safe to repeat are retried (GET, PUT, DELETE), and a POST only when
//! it certainly never reached the server. The server's own word on waiting wins
//! (`retry-after-ms`, then `Retry-After` in seconds or as an HTTP date, then
//! `x-ratelimit-reset`); otherwise the wait doubles from 250 ms with jitter, so many clients
//! that failed together do not return together. A total cap keeps an unattended job from
//! waiting forever.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value};

use super::client::{Client, HttpLog};
use super::error::ApiError;

/// The retries left to one operation, and the time its waits have taken. Every retry in rtctl
/// goes through [`Attempts::wait_before_retry`]: plain requests, and the exactly-once
/// rotation, which decides for itself *whether* to try again.
pub(crate) struct Attempts<'a> {
    what: String,
    retries: u32,
    retry: u32,
    waited: Duration,
    log: Option<&'a HttpLog>,
    notify: Option<&'a HttpLog>,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(
        what: String,
        retries: u32,
        log: Option<&'a HttpLog>,
        notify: Option<&'a HttpLog>,
    ) -> Attempts<'a> {
        Attempts {
            what,
            retries,
            retry: 0,
            waited: Duration::ZERO,
            log,
            notify,
        }
    }

    /// Waits before the next try after `error`: what the server asked for, or the backoff.
    /// Says so in the `-v` log, and in a note when the wait is long enough for a person to
    /// wonder. `false`, without waiting, when no retry is left or the wait would pass the
    /// total cap.
    pub(crate) async fn wait_before_retry(&mut self, error: &ApiError) -> bool {
        if self.retry >= self.retries {
            return false;
        }
        let wait = match error {
            ApiError::Status {
                retry_after: Some(wait),
                ..
            } => *wait,
            _ => backoff(self.retry, jitter()),
        };
        let log = |line: String| {
            if let Some(log) = self.log {
                log(&line);
            }
        };
        if self.waited.saturating_add(wait) > MAX_TOTAL_WAIT {
            log(format!(
                "not retrying {}: waiting {} s more would pass the {} s cap",
                self.what,
                wait.as_secs_f32(),
                MAX_TOTAL_WAIT.as_secs()
            ));
            return false;
        }
        self.waited += wait;
        log(format!(
            "retrying {} in {} ms (retry {} of {}): {error}",
            self.what,
            wait.as_millis(),
            self.retry + 1,
            self.retries
        ));
        if wait > Duration::from_secs(1)
            && let Some(notify) = self.notify
        {
            notify(&format!(
                "{}; retrying in {:.0} s…",
                short_reason(error),
                wait.as_secs_f32().ceil()
            ));
        }
        tokio::time::sleep(wait).await;
        self.retry += 1;
        true
    }
}

/// What went wrong, in a few words, for the note shown before a long wait.
fn short_reason(error: &ApiError) -> String {
    match error {
        ApiError::Status { status: 429, .. } => "The API is rate-limiting requests".into(),
        ApiError::Status { status, .. } => format!("The API answered {status}"),
        ApiError::Timeout(_) => "The API did not answer in time".into(),
        ApiError::Connect { .. } => "Could not reach the API".into(),
        ApiError::InvalidReply(_) => "The API sent an unexpected reply".into(),
        ApiError::Cut { .. } => "The API's reply broke off".into(),
    }
}

/// Retries after the first attempt, unless `--retries` says otherwise.
pub(crate) const DEFAULT_RETRIES: u32 = 3;
/// The most all the waits of one request may add up to.
pub(crate) const MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);
/// The first backoff; each retry doubles it.
const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// The longest backoff rtctl picks by itself.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// rtctl's own backoff before retry number `retry` (0 for the first): 250 ms doubling, capped
/// at 8 s, then scaled by `jitter` in `[0.5, 1.0]`.
pub(crate) fn backoff(retry: u32, jitter: f64) -> Duration {
    let doubled = BASE_BACKOFF.saturating_mul(1u32 << retry.min(16));
    doubled.min(MAX_BACKOFF).mul_f64(jitter.clamp(0.5, 1.0))
}

/// A random factor in `[0.5, 1.0]`.
pub(crate) fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.75;
    }
    0.5 + f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) / 2.0
}

/// Marks the reply `send` makes up for a DELETE found gone on a retry (no real reply has it:
/// keys from the server never start with a space).
pub(super) const GONE_ON_RETRY: &str = " gone on retry";

impl Client {
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
    pub(super) async fn retrying<T, Attempt: Future<Output = Result<T, ApiError>>>(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::server_wait;
    use reqwest::header::HeaderMap;
    use reqwest::header::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_servers_word_wins_in_order() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(server_wait(&headers(&[]), now), None);
        assert_eq!(
            server_wait(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "2"), ("retry-after-ms", "150")]),
                now
            ),
            Some(Duration::from_millis(150))
        );
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:25 GMT")]),
                now
            ),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "Tue, 14 Nov 2023 22:00:00 GMT")]),
                now
            ),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1700000003")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "soon"), ("x-ratelimit-reset", "1700000001")]),
                now
            ),
            Some(Duration::from_secs(1)),
            "an unreadable Retry-After falls through"
        );
        assert_eq!(
            server_wait(&headers(&[("retry-after-ms", "-5")]), now),
            None
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        assert_eq!(backoff(0, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(40, 1.0), Duration::from_secs(8));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.5..=1.0).contains(&j), "{j}");
        }
    }
}
