//! Enough of the widget's chat for it to show an answer: sessions from `POST /v1/client/init`,
//! and `POST /v1/client/chat` streaming a short **canned** reply (the emulator runs no flow
//! or agent) in the event format the widget parses.
//!
//! The format is `@runtypelabs/persona` 4.17.0's "unified wire": server-sent events, each
//! frame `event: TYPE` and `data: {JSON with the same "type"}` ended by a blank line (LF only),
//! `execution_start`, `turn_start`, `text_start`, `text_delta`, `text_complete`,
//! `turn_complete`, `execution_complete`; no `id:` lines, which would turn on the widget's
//! reconnect cursor.
//!
//! Emulator decisions: a session lives until its last use plus the token's
//! `sessionIdleTimeoutMinutes`, at least 5 minutes (the widget itself treats a session within
//! a minute of expiry as expired), and each chat renews it. Chat on an unknown or expired
//! session answers 401 `{"error": "Session not found or expired"}`, what the service says as
//! of persona 4.2x, which then initialises once more. A session opened before a rotation,
//! a deactivation or the token's deletion (an overlap's retirement is one) goes on until it
//! expires, on the limits its token had (kept with the session for when the token is gone):
//! only new inits are refused (a page must be reloaded to see a refused value). Chat from
//! another origin than the session's is refused like an origin the token does not admit. A
//! session takes the token's `maxMessagesPerSession` messages, then answers 429.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::app::{App, Reply};
use super::ids;
use super::model::{SessionLimits, SessionRecord, iso_millis};
use super::state::State as EmulatorState;
use super::validate::parse_object;

/// A chat on a session that is unknown or has expired: the widget initialises again.
pub(super) const SESSION_EXPIRED: &str = "Session not found or expired";

/// What the emulator answers every message with.
pub(super) const CANNED_REPLY: &str = "This is a canned reply from the rtctl emulator: it runs no flow or agent, so every message gets this answer.";

impl EmulatorState {
    /// Opens a session for a token's new conversation, forgetting the expired ones.
    pub(super) fn open_session(
        &mut self,
        token_id: &str,
        limits: SessionLimits,
        conversation_id: &str,
        origin: Option<&str>,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> SessionRecord {
        self.sessions.retain(|s| s.expires_at > now);
        let session = SessionRecord {
            id: ids::session_id(),
            token_id: token_id.to_string(),
            conversation_id: conversation_id.to_string(),
            origin: origin.map(str::to_string),
            expires_at,
            messages: 0,
            limits,
        };
        self.sessions.push(session.clone());
        session
    }

    /// The session `id` names, renewed to `expires_at`, with its conversation, when it is
    /// this token's and has not expired.
    pub(super) fn resume(
        &mut self,
        id: Option<&str>,
        token_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Option<(SessionRecord, super::model::ConversationRecord)> {
        let id = id?;
        let conversation_id = self
            .sessions
            .iter()
            .find(|s| s.id == id && s.token_id == token_id && s.expires_at > now)?
            .conversation_id
            .clone();
        let conversation = self
            .conversations
            .iter()
            .find(|c| c.id == conversation_id)?
            .clone();
        let session = self.sessions.iter_mut().find(|s| s.id == id)?;
        session.expires_at = expires_at;
        Some((session.clone(), conversation))
    }

    /// One message on a session: renews it and counts the message and the reply on its
    /// conversation.
    fn chat_turn(
        &mut self,
        session_id: &str,
        origin: Option<&str>,
        first_message: Option<String>,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let expired = || ApiError::new(StatusCode::UNAUTHORIZED, SESSION_EXPIRED);
        let session = self
            .sessions
            .iter()
            .find(|s| s.id == session_id && s.expires_at > now)
            .cloned()
            .ok_or_else(expired)?;
        if session.origin.is_some() && session.origin.as_deref() != origin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "Origin not allowed").without_cors());
        }
        // The token's limits as they are now; a deleted token's, as the session kept them.
        let token = self
            .client_tokens
            .iter_mut()
            .find(|t| rtctl_model::token::TokenView::id(*t) == session.token_id);
        let limits = match token {
            Some(token) => {
                token.set_time(rtctl_model::token::Field::LastUsedAt, now);
                SessionLimits::of(token)
            }
            None => session.limits.clone(),
        };
        if limits
            .max_messages
            .is_some_and(|limit| session.messages >= limit)
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Message limit reached for this session",
            )
            .with_hint("Start a new conversation to keep chatting"));
        }
        if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session_id) {
            s.expires_at = now + limits.lifetime();
            s.messages += 1;
            s.limits = limits;
        }
        if let Some(conversation) = self
            .conversations
            .iter_mut()
            .find(|c| c.id == session.conversation_id)
        {
            conversation.message_count += 2;
            conversation.updated_at = now;
            if conversation.first_message.is_none()
                && let Some(text) = first_message
            {
                conversation.name = text.chars().take(40).collect();
                conversation.first_message = Some(text);
            }
        }
        Ok(())
    }
}

/// The text of the last user message of a chat body, when it is plain text.
fn last_user_text(body: &serde_json::Map<String, Value>) -> Option<String> {
    body.get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?
        .get("content")?
        .as_str()
        .map(|t| t.chars().take(500).collect())
}

/// The canned reply as the widget's event stream.
fn event_stream(now: Timestamp) -> String {
    let execution = ids::session_id().replacen("sess_", "exec_", 1);
    let at = iso_millis::format(&now);
    let events = [
        json!({"type": "execution_start", "kind": "agent", "agentId": "emulator", "agentName": "rtctl emulator", "startedAt": at}),
        json!({"type": "turn_start", "id": "turn_1", "iteration": 1}),
        json!({"type": "text_start", "id": "text_1"}),
        json!({"type": "text_delta", "id": "text_1", "delta": CANNED_REPLY, "iteration": 1}),
        json!({"type": "text_complete", "id": "text_1"}),
        json!({"type": "turn_complete", "id": "turn_1", "iteration": 1, "stopReason": "end_turn", "completedAt": at}),
        json!({"type": "execution_complete", "kind": "agent", "success": true, "completedAt": at}),
    ];
    let mut out = String::new();
    for (seq, mut event) in events.into_iter().enumerate() {
        event["executionId"] = json!(execution);
        event["seq"] = json!(seq);
        let kind = event["type"].as_str().unwrap_or_default().to_string();
        out.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    out
}

/// `POST /v1/client/chat`: `{sessionId, messages, …}` (unknown fields ignored, as the widget
/// sends many) answered with the canned reply's event stream.
pub(super) async fn chat(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    let map = parse_object(&body, false)?;
    let Some(Value::String(session)) = map.get("sessionId") else {
        return Err(ApiError::bad_request("Field 'sessionId' is required"));
    };
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = app.clock.now();
    let first = last_user_text(&map);
    app.store
        .write(|s| s.chat_turn(session, origin.as_deref(), first, now))
        .await?;
    let mut response = Body::from(event_stream(now)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    Ok(response)
}

/// `POST /v1/client/feedback`: the widget's copy and vote clicks, accepted and forgotten.
pub(super) async fn feedback(body: Bytes) -> Reply {
    parse_object(&body, false)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_frames_the_widget_reads() {
        let text = event_stream(Timestamp::UNIX_EPOCH);
        let frames: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(frames.len(), 7);
        for frame in &frames {
            let (event, data) = frame.split_once('\n').unwrap();
            let kind = event.strip_prefix("event: ").unwrap();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], kind);
        }
        assert!(!text.contains("\nid:") && !text.contains('\r'));
        assert!(frames[3].contains(CANNED_REPLY));
    }
}
