//! Rotating exactly once. Regenerating is not safe to repeat, and a regenerate that may have
//! reached the server may still be carried out after its reply was lost, so once one may have
//! happened, none is ever sent again: the value read before rotating is read again, for at
//! most the request timeout, until it changes. Changed: that rotation happened, and the value
//! now is its value. Unchanged: the outcome is unknown (it may still be carried out), which
//! is said, never guessed. A regenerate that certainly never left (the connection was
//! refused) or that the server answered as not done (429, 503) is tried again.

use std::time::Duration;

use tokio::time::Instant;

use super::client::Client;
use super::error::ApiError;
use super::types::{ClientToken, WithValue};

/// The first wait between two reads of a value whose rotation may have happened; it doubles
/// up to [`MAX_PROBE_WAIT`].
const FIRST_PROBE_WAIT: Duration = Duration::from_millis(100);
const MAX_PROBE_WAIT: Duration = Duration::from_secs(1);

/// How a rotation ended well.
pub(crate) enum Rotated {
    /// The reply arrived.
    Replied(WithValue),
    /// The reply was lost, but the value changed: this is the new one.
    Observed {
        value: String,
        token: Option<ClientToken>,
    },
}

/// Why a rotation could not be reported as done.
pub(crate) enum RotateError {
    /// The API refused (the rotation did not happen), or kept answering "not now".
    Api(ApiError),
    /// The reply was lost and the token is a legacy one without a readable value: whether it
    /// was rotated cannot be told.
    LostLegacy(ApiError),
    /// The reply was lost, and reading the value to find out failed too.
    ProbeFailed { lost: ApiError, probe: ApiError },
    /// The reply was lost, and the value had not changed by the time rtctl stopped reading
    /// it: the rotation may not have happened, or may still be carried out.
    Unknown { lost: ApiError },
}

impl From<ApiError> for RotateError {
    fn from(e: ApiError) -> RotateError {
        RotateError::Api(e)
    }
}

/// Whether a regenerate that failed this way is certain not to have been carried out, and
/// may be sent again: it never left, or the server said "not now".
fn certainly_not_done(error: &ApiError) -> bool {
    !error.may_have_reached() || matches!(error.status(), Some(429 | 503))
}

impl Client {
    /// Regenerates `id`'s value once, whatever happens to the replies.
    pub(crate) async fn regenerate_exactly_once(&self, id: &str) -> Result<Rotated, RotateError> {
        // The value before, to tell afterwards whether a rotation whose reply was lost
        // happened. A legacy token has none (400): rotating it is fine, but a lost reply is
        // then final.
        let before = match self.value(id).await {
            Ok(value) => Some(value),
            Err(e @ ApiError::Status { status: 400, .. }) if !e.is_invalid_id() => None,
            Err(e) => return Err(e.into()),
        };
        // The client tries a regenerate again only while it certainly was not carried out
        // (never sent, or answered 429 or 503); what comes back here is final.
        let error = match self.regenerate(id).await {
            Ok(rotated) => return Ok(Rotated::Replied(rotated)),
            Err(e) => e,
        };
        // Refused, or certainly not done: nothing happened.
        if certainly_not_done(&error) || !error.outcome_unknown() {
            return Err(error.into());
        }
        let Some(old) = &before else {
            return Err(RotateError::LostLegacy(error));
        };
        self.outcome_of(id, old, error).await
    }

    /// After a regenerate of `id` that may have happened: reads the value until it is no
    /// longer `old`, for at most the request timeout. Never sends another regenerate.
    async fn outcome_of(
        &self,
        id: &str,
        old: &str,
        lost: ApiError,
    ) -> Result<Rotated, RotateError> {
        let deadline = Instant::now() + self.timeout();
        let mut wait = FIRST_PROBE_WAIT;
        loop {
            let read = self.value(id).await;
            if Instant::now() >= deadline && read.as_ref().is_ok_and(|now| now == old) {
                return Err(RotateError::Unknown { lost });
            }
            match read {
                Ok(now) if now != old => {
                    let token = self.get(id).await.ok();
                    return Ok(Rotated::Observed { value: now, token });
                }
                Ok(_) => {}
                Err(probe) if Instant::now() + wait >= deadline => {
                    return Err(RotateError::ProbeFailed { lost, probe });
                }
                Err(_) => {}
            }
            if Instant::now() + wait >= deadline {
                return Err(RotateError::Unknown { lost });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_PROBE_WAIT);
        }
    }
}
