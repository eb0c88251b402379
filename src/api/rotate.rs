//! Rotating exactly once. Regenerating is not safe to repeat, so a lost reply is never simply
//! retried: the value is read before rotating, and after a lost reply read again. Changed:
//! the rotation happened, and the value now is the answer. Unchanged: it did not, and trying
//! again is safe. Unknowable (a legacy token has no readable value): say so and stop, rather
//! than risk rotating twice.

use super::client::Client;
use super::error::ApiError;
use super::types::{ClientToken, WithValue};

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
    /// The API refused, or kept failing.
    Api(ApiError),
    /// The reply was lost and the token is a legacy one without a readable value: whether it
    /// was rotated cannot be told.
    LostLegacy(ApiError),
    /// The reply was lost, and reading the value to find out failed too.
    ProbeFailed { lost: ApiError, probe: ApiError },
}

impl From<ApiError> for RotateError {
    fn from(e: ApiError) -> RotateError {
        RotateError::Api(e)
    }
}

impl Client {
    /// Regenerates `id`'s value once, whatever happens to the replies.
    pub(crate) async fn regenerate_exactly_once(&self, id: &str) -> Result<Rotated, RotateError> {
        // The value before, to tell afterwards whether a rotation whose reply was lost
        // happened. A legacy token has none (400): rotating it is fine, but a lost reply is
        // then final.
        let before = match self.value(id).await {
            Ok(value) => Some(value),
            Err(ApiError::Status { status: 400, .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let mut attempts = self.attempts(format!("rotating {id}"));
        loop {
            let error = match self.regenerate(id).await {
                Ok(rotated) => return Ok(Rotated::Replied(rotated)),
                Err(e) => e,
            };
            if error.outcome_unknown() {
                let Some(old) = &before else {
                    return Err(RotateError::LostLegacy(error));
                };
                let now = match self.value(id).await {
                    Ok(now) => now,
                    Err(probe) => return Err(RotateError::ProbeFailed { lost: error, probe }),
                };
                if &now != old {
                    let token = self.get(id).await.ok();
                    return Ok(Rotated::Observed { value: now, token });
                }
                // Unchanged: the rotation did not happen, so trying again is safe.
            } else if error.may_have_reached() && error.status() != Some(429) {
                return Err(error.into());
            }
            if !attempts.wait_before_retry(&error).await {
                return Err(error.into());
            }
        }
    }
}
