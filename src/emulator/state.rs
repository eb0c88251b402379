//! The emulator's data and the operations the endpoints perform on it.
//!
//! Everything here is synchronous and takes the current time as an argument, so the store
//! can run it under a short-lived lock and tests can run it without a server.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ids;
use super::model::{ConversationRecord, TokenRecord};
use super::validate::{TokenFields, check_pin_mode};
use crate::origin::{self, Admission};

/// Marks a state file as ours, so a stray JSON file is not mistaken for one.
pub const STATE_FORMAT: &str = "rtctl-emulator-state";

/// Everything the emulator knows, as persisted to `--state FILE`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default = "format_name")]
    pub format: String,
    /// Newest first, ties by id: the list order, kept on every insert.
    pub client_tokens: Vec<TokenRecord>,
    pub conversations: Vec<ConversationRecord>,
}

fn format_name() -> String {
    STATE_FORMAT.to_string()
}

/// A page of a list, and whether more follows.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// What a successful widget init produced.
pub struct InitOutcome {
    pub token: TokenRecord,
    pub conversation: ConversationRecord,
    pub admission: Admission,
}

impl State {
    pub fn empty() -> State {
        State {
            format: format_name(),
            ..State::default()
        }
    }

    fn index_of(&self, id: &str) -> Result<usize, ApiError> {
        self.client_tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(ApiError::not_found)
    }

    pub fn token(&self, id: &str) -> Result<&TokenRecord, ApiError> {
        self.index_of(id).map(|i| &self.client_tokens[i])
    }

    pub fn conversation_count(&self, token_id: &str) -> usize {
        self.conversations
            .iter()
            .filter(|c| c.token_id == token_id)
            .count()
    }

    /// Inserts keeping the list order: newest first, ties by id.
    pub fn insert_token(&mut self, token: TokenRecord) {
        let at = self.client_tokens.partition_point(|t| {
            (t.created_at, std::cmp::Reverse(&t.id))
                > (token.created_at, std::cmp::Reverse(&token.id))
        });
        self.client_tokens.insert(at, token);
    }

    pub fn insert_conversation(&mut self, conversation: ConversationRecord) {
        let at = self.conversations.partition_point(|c| {
            (c.created_at, &c.id) > (conversation.created_at, &conversation.id)
        });
        self.conversations.insert(at, conversation);
    }

    /// `offset..offset+limit` of the list, or all of it when `limit` is `None`.
    pub fn list(&self, limit: Option<usize>, offset: usize) -> Page<&TokenRecord> {
        let rest = self.client_tokens.iter().skip(offset);
        match limit {
            None => Page {
                items: rest.collect(),
                has_more: false,
            },
            Some(limit) => Page {
                items: rest.take(limit).collect(),
                has_more: self.client_tokens.len() > offset.saturating_add(limit),
            },
        }
    }

    pub fn create(&mut self, f: TokenFields, now: Timestamp) -> Result<TokenRecord, ApiError> {
        let name = f
            .name
            .ok_or_else(|| ApiError::bad_request("Field 'name' is required"))?;
        let allowed_origins = f.allowed_origins.ok_or_else(|| {
            ApiError::bad_request("Field 'allowedOrigins' is required")
                .with_hint("Pass at least one origin, for example [\"https://app.example.com\"]")
        })?;
        let environment = f.environment.unwrap_or_else(|| "test".to_string());
        let pin_to_version = f.pin_to_version.flatten();
        check_pin_mode(&pin_to_version)?;
        let value = ids::token_value(&environment);
        let token = TokenRecord {
            id: ids::token_id(),
            name: Some(name),
            flow_ids: f.flow_ids.unwrap_or_default(),
            agent_ids: f.agent_ids.unwrap_or_default(),
            default_flow_id: f.default_flow_id.flatten(),
            allowed_origins,
            token_prefix: ids::token_prefix(&environment),
            environment,
            pin_to_version,
            target_alias: f.target_alias.flatten(),
            target_version_id: f.target_version_id.flatten(),
            product_surface_id: f.product_surface_id.flatten(),
            rate_limit_per_minute: f.rate_limit_per_minute.flatten(),
            rate_limit_per_hour: f.rate_limit_per_hour.flatten(),
            max_messages_per_session: f.max_messages_per_session.flatten(),
            session_idle_timeout_minutes: f.session_idle_timeout_minutes.flatten(),
            config: f.config.unwrap_or_default(),
            is_active: true,
            token_hint: Some(ids::token_hint(&value)),
            token_value: Some(value),
            last_used_at: None,
            created_at: now,
            updated_at: now,
        };
        check_consistency(&token)?;
        self.insert_token(token.clone());
        Ok(token)
    }

    pub fn update(
        &mut self,
        id: &str,
        f: TokenFields,
        now: Timestamp,
    ) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        let mut token = self.client_tokens[index].clone();
        if let Some(pin) = f.pin_to_version {
            // Echoing the stored value back is accepted and ignored, so a read-modify-write
            // client can save other fields of a token pinned to an agent version.
            if pin != token.pin_to_version {
                check_pin_mode(&pin)?;
                token.pin_to_version = pin;
            }
        }
        if let Some(v) = f.name {
            token.name = Some(v);
        }
        if let Some(v) = f.allowed_origins {
            token.allowed_origins = v;
        }
        if let Some(v) = f.flow_ids {
            token.flow_ids = v;
        }
        if let Some(v) = f.agent_ids {
            token.agent_ids = v;
        }
        if let Some(v) = f.config {
            token.config = v;
        }
        if let Some(v) = f.is_active {
            token.is_active = v;
        }
        let nullable = [
            (f.default_flow_id, &mut token.default_flow_id),
            (f.target_alias, &mut token.target_alias),
            (f.target_version_id, &mut token.target_version_id),
        ];
        for (value, slot) in nullable {
            if let Some(v) = value {
                *slot = v;
            }
        }
        let limits = [
            (f.rate_limit_per_minute, &mut token.rate_limit_per_minute),
            (f.rate_limit_per_hour, &mut token.rate_limit_per_hour),
            (
                f.max_messages_per_session,
                &mut token.max_messages_per_session,
            ),
            (
                f.session_idle_timeout_minutes,
                &mut token.session_idle_timeout_minutes,
            ),
        ];
        for (value, slot) in limits {
            if let Some(v) = value {
                *slot = v;
            }
        }
        check_consistency(&token)?;
        token.updated_at = now;
        self.client_tokens[index] = token.clone();
        Ok(token)
    }

    pub fn delete(&mut self, id: &str) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        let token = self.client_tokens.remove(index);
        self.conversations.retain(|c| c.token_id != id);
        Ok(token)
    }

    /// Issues a new value; the previous one stops working at once.
    pub fn regenerate(&mut self, id: &str, now: Timestamp) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        let token = &mut self.client_tokens[index];
        let value = ids::token_value(&token.environment);
        token.token_hint = Some(ids::token_hint(&value));
        token.token_value = Some(value);
        token.updated_at = now;
        Ok(token.clone())
    }

    pub fn conversations(
        &self,
        token_id: &str,
        flow_id: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<&ConversationRecord>, ApiError> {
        self.index_of(token_id)?;
        let matching: Vec<_> = self
            .conversations
            .iter()
            .filter(|c| {
                c.token_id == token_id && flow_id.is_none_or(|f| c.flow_id.as_deref() == Some(f))
            })
            .collect();
        let has_more = matching.len() > offset.saturating_add(limit);
        let items = matching.into_iter().skip(offset).take(limit).collect();
        Ok(Page { items, has_more })
    }

    /// `POST /v1/client/init`: admits or refuses a widget, and records a conversation.
    pub fn client_init(
        &mut self,
        value: &str,
        flow_id: Option<&str>,
        origin_header: Option<&str>,
        now: Timestamp,
    ) -> Result<InitOutcome, ApiError> {
        use axum::http::StatusCode;
        let index = self
            .client_tokens
            .iter()
            .position(|t| t.token_value.as_deref() == Some(value))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid client token"))?;
        let token = &self.client_tokens[index];
        if !token.is_active {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Client token is inactive",
            ));
        }
        let admission = origin::admit(&token.allowed_origins, origin_header, &token.environment)
            .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "Origin not allowed"))?;
        let flow = match flow_id {
            Some(f) if token.flow_ids.iter().any(|x| x == f) => Some(f.to_string()),
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Flow not allowed for this client token",
                ));
            }
            None => token
                .default_flow_id
                .clone()
                .or_else(|| token.flow_ids.first().cloned())
                .or_else(|| token.agent_ids.first().cloned()),
        };
        let conversation = ConversationRecord {
            id: ids::conversation_id(),
            token_id: token.id.clone(),
            name: "New conversation".to_string(),
            first_message: None,
            flow_id: flow,
            origin: origin_header.map(str::to_string),
            message_count: 0,
            created_at: now,
            updated_at: now,
        };
        let token = &mut self.client_tokens[index];
        token.last_used_at = Some(now);
        let token = token.clone();
        self.insert_conversation(conversation.clone());
        Ok(InitOutcome {
            token,
            conversation,
            admission,
        })
    }
}

/// Rules that involve several fields, checked on the token as it would be stored.
fn check_consistency(token: &TokenRecord) -> Result<(), ApiError> {
    if token.flow_ids.is_empty() && token.agent_ids.is_empty() {
        return Err(ApiError::bad_request(
            "A client token needs at least one id in 'flowIds' or 'agentIds'",
        ));
    }
    if token.allowed_origins.is_empty() {
        return Err(ApiError::bad_request(
            "Field 'allowedOrigins' must contain at least one origin",
        ));
    }
    if token.target_version_id.is_some() {
        if token.target_alias.is_some() {
            return Err(ApiError::bad_request(
                "'targetVersionId' and 'targetAlias' cannot both be set",
            )
            .with_hint("Follow a release alias or pin an exact version, not both"));
        }
        if token.agent_ids.len() != 1 {
            return Err(ApiError::bad_request(
                "'targetVersionId' needs exactly one id in 'agentIds'",
            ));
        }
    }
    Ok(())
}

/// The reply body of a successful widget init.
pub fn init_reply(outcome: &InitOutcome, now: Timestamp) -> Value {
    let config = &outcome.token.config;
    let flow_id = outcome.conversation.flow_id.clone();
    json!({
        "sessionId": ids::session_id(),
        "expiresAt": super::model::iso_millis::format(&(now + SignedDuration::from_mins(30))),
        "flow": {
            "id": flow_id,
            "name": flow_id.as_deref().map(|f| format!("Emulated flow {f}")),
            "description": "A flow served by the rtctl emulator",
        },
        "conversationId": outcome.conversation.id,
        "config": {
            "welcomeMessage": config.get("welcomeMessage").cloned().unwrap_or(json!("Hi! How can I help?")),
            "placeholder": config.get("placeholder").cloned().unwrap_or(json!("Type your message…")),
            "theme": config.get("theme").cloned().unwrap_or(Value::Null),
        },
    })
}
