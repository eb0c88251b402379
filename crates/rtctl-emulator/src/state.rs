//! The emulator's data and the operations the endpoints perform on it.
//!
//! Everything here is synchronous and takes the current time as an argument, so the store
//! can run it under a short-lived lock and tests can run it without a server.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ids;
use super::model::{ConversationRecord, SessionRecord, Sighting, SurfaceRecord, TokenRecord};
use super::validate;
use rtctl_model::origin;
use rtctl_model::token::{Field, TokenView, Values, rules};

/// Marks a state file as ours, so a stray JSON file is not mistaken for one.
pub(super) const STATE_FORMAT: &str = "rtctl-emulator-state";

/// Everything the emulator knows, as persisted to `--state FILE`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct State {
    #[serde(default = "format_name")]
    pub format: String,
    /// The account's flows and agents, which tokens may name. A state file written before
    /// the catalogue existed has none: it is then made from what its tokens name.
    #[serde(default)]
    pub catalogue: Option<Catalogue>,
    /// Newest first, ties by id: the list order, kept on every insert.
    pub client_tokens: Vec<TokenRecord>,
    pub conversations: Vec<ConversationRecord>,
    /// The products' surfaces, newest first (a state file from before surfaces has none).
    #[serde(default)]
    pub surfaces: Vec<SurfaceRecord>,
    /// Origins seen calling each surface, within the window.
    #[serde(default)]
    pub observed_origins: Vec<Sighting>,
    /// The widget's sessions, until they expire.
    #[serde(default)]
    pub sessions: Vec<SessionRecord>,
}

/// The flows and agents an account has. The service checks a create's or an update's flows
/// against it (404 "Referenced flow not found"), and a widget's flow or agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Catalogue {
    pub flows: Vec<String>,
    pub agents: Vec<String>,
}

impl Catalogue {
    /// Adds ids not yet listed.
    pub(super) fn add(&mut self, flows: &[String], agents: &[String]) {
        for (list, new) in [(&mut self.flows, flows), (&mut self.agents, agents)] {
            for id in new {
                if !list.contains(id) {
                    list.push(id.clone());
                }
            }
        }
    }

    fn has_flow(&self, id: &str) -> bool {
        self.flows.iter().any(|f| f == id)
    }

    fn has_agent(&self, id: &str) -> bool {
        self.agents.iter().any(|a| a == id)
    }
}

fn format_name() -> String {
    STATE_FORMAT.to_string()
}

/// A page of a list, and whether more follows.
pub(super) struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// What a successful widget init produced.
pub(super) struct InitOutcome {
    pub token: TokenRecord,
    pub conversation: ConversationRecord,
    pub session: SessionRecord,
}

impl State {
    pub(super) fn empty() -> State {
        State {
            format: format_name(),
            catalogue: Some(Catalogue::default()),
            ..State::default()
        }
    }

    fn index_of(&self, id: &str) -> Result<usize, ApiError> {
        self.client_tokens
            .iter()
            .position(|t| t.id() == id)
            .ok_or_else(ApiError::not_found)
    }

    /// The catalogue, made from the tokens' flows and agents where the state has none.
    pub(super) fn catalogue(&mut self) -> &mut Catalogue {
        if self.catalogue.is_none() {
            let mut made = Catalogue::default();
            for token in &self.client_tokens {
                let own = |f| {
                    token
                        .strings(f)
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                };
                made.add(&own(Field::FlowIds), &own(Field::AgentIds));
            }
            self.catalogue = Some(made);
        }
        self.catalogue.get_or_insert_with(Catalogue::default)
    }

    /// A 404 when a body names a flow the account does not have.
    fn check_flows(&mut self, body: &Values) -> Result<(), ApiError> {
        let catalogue = self.catalogue();
        if body
            .strings(Field::FlowIds)
            .iter()
            .any(|f| !catalogue.has_flow(f))
        {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "Referenced flow not found",
            ));
        }
        Ok(())
    }

    pub(super) fn token(&self, id: &str) -> Result<&TokenRecord, ApiError> {
        self.index_of(id).map(|i| &self.client_tokens[i])
    }

    pub(super) fn conversation_count(&self, token_id: &str) -> usize {
        self.conversations
            .iter()
            .filter(|c| c.token_id == token_id)
            .count()
    }

    /// Inserts keeping the list order: newest first, ties by id (a record without a
    /// readable `createdAt`, inserted raw, sorts as the oldest).
    pub(super) fn insert_token(&mut self, token: TokenRecord) {
        let key = |t: &TokenRecord| {
            (
                t.time(Field::CreatedAt).unwrap_or(Timestamp::MIN),
                std::cmp::Reverse(t.id().to_string()),
            )
        };
        let new = key(&token);
        let at = self.client_tokens.partition_point(|t| key(t) > new);
        self.client_tokens.insert(at, token);
    }

    pub(super) fn insert_conversation(&mut self, conversation: ConversationRecord) {
        let at = self.conversations.partition_point(|c| {
            (c.created_at, &c.id) > (conversation.created_at, &conversation.id)
        });
        self.conversations.insert(at, conversation);
    }

    /// `offset..offset+limit` of the list, or all of it when `limit` is `None`.
    pub(super) fn list(&self, limit: Option<usize>, offset: usize) -> Page<&TokenRecord> {
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

    /// Creates a token from a checked body: what it leaves out gets the field's initial
    /// value, the server assigns the rest.
    pub(super) fn create(&mut self, body: Values, now: Timestamp) -> Result<TokenRecord, ApiError> {
        if let Some(missing) = Field::ALL
            .iter()
            .find(|f| f.spec().required && !body.contains(**f))
        {
            return Err(validate::missing(*missing));
        }
        self.check_flows(&body)?;
        let mut token = TokenRecord::from_object(Default::default());
        for field in Field::ALL {
            match body.get(*field) {
                Some(value) => token.set(*field, value.clone()),
                None => {
                    if let Some(initial) = field.spec().initial.value() {
                        token.set(*field, initial);
                    }
                }
            }
        }
        let environment = token.environment().to_string();
        let value = ids::token_value(&environment);
        token.set(Field::Id, Value::String(ids::token_id()));
        token.set(
            Field::TokenPrefix,
            Value::String(ids::token_prefix(&environment)),
        );
        token.set(Field::TokenHint, Value::String(ids::token_hint(&value)));
        token.set(Field::TokenValue, Value::String(value));
        token.set_time(Field::CreatedAt, now);
        token.set_time(Field::UpdatedAt, now);
        rules::check_token(&token).map_err(validate::conflict)?;
        self.insert_token(token.clone());
        Ok(token)
    }

    /// Applies a checked partial update.
    pub(super) fn update(
        &mut self,
        id: &str,
        body: Values,
        now: Timestamp,
    ) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        self.check_flows(&body)?;
        let mut token = self.client_tokens[index].clone();
        for (field, value) in body.iter() {
            token.set(field, value.clone());
        }
        rules::check_token(&token).map_err(validate::conflict)?;
        token.set_time(Field::UpdatedAt, now);
        self.client_tokens[index] = token.clone();
        Ok(token)
    }

    /// Inserts a record exactly as given (the control API's raw insert): tests reach states
    /// the API would never produce, such as a token without a name.
    pub(super) fn insert_raw(&mut self, token: TokenRecord) -> Result<(), ApiError> {
        let id = token.id().to_string();
        if id.is_empty() {
            return Err(ApiError::bad_request(
                "A raw token record needs a string 'id'",
            ));
        }
        self.client_tokens.retain(|t| t.id() != id);
        self.insert_token(token);
        Ok(())
    }

    pub(super) fn delete(&mut self, id: &str) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        let token = self.client_tokens.remove(index);
        self.conversations.retain(|c| c.token_id != id);
        // Its widget sessions go on until they expire (see `chat`), on the token's limits as
        // they are now: only new inits fail.
        let limits = super::model::SessionLimits::of(&token);
        for session in self.sessions.iter_mut().filter(|s| s.token_id == id) {
            session.limits = limits.clone();
        }
        Ok(token)
    }

    /// Issues a new value; the previous one stops working at once.
    pub(super) fn regenerate(&mut self, id: &str, now: Timestamp) -> Result<TokenRecord, ApiError> {
        let index = self.index_of(id)?;
        let token = &mut self.client_tokens[index];
        let value = ids::token_value(token.environment());
        token.set(Field::TokenHint, Value::String(ids::token_hint(&value)));
        token.set(Field::TokenValue, Value::String(value));
        token.set_time(Field::UpdatedAt, now);
        Ok(token.clone())
    }

    pub(super) fn conversations(
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
    pub(super) fn client_init(
        &mut self,
        value: &str,
        flow_id: Option<&str>,
        origin_header: Option<&str>,
        session_id: Option<&str>,
        now: Timestamp,
    ) -> Result<InitOutcome, ApiError> {
        use axum::http::StatusCode;
        let index = self
            .client_tokens
            .iter()
            .position(|t| t.value() == Some(value))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid client token"))?;
        // Every call of a surface's token is a sighting of its origin, admitted or not.
        let surface = self.client_tokens[index]
            .text(Field::ProductSurfaceId)
            .map(str::to_string);
        if let Some(surface) = &surface {
            self.sight(surface, origin_header, now);
        }
        let token = &self.client_tokens[index];
        if !token.is_active() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Client token is inactive",
            ));
        }
        let origins: Vec<String> = token.origins().iter().map(|o| o.to_string()).collect();
        origin::admit(&origins, origin_header, token.environment()).ok_or_else(|| {
            ApiError::new(StatusCode::FORBIDDEN, "Origin not allowed").without_cors()
        })?;
        if let Some(status) = surface
            .as_deref()
            .and_then(|s| self.surface_status(s))
            .filter(|status| *status != "active")
        {
            return Err(
                ApiError::new(StatusCode::FORBIDDEN, "Chat surface is not active")
                    .with_hint(format!("The surface this token belongs to is {status}")),
            );
        }
        let flows = token.strings(Field::FlowIds);
        let agents = token.strings(Field::AgentIds);
        // The widget sends an agent's id in `flowId` for `data-agent-id` embeds.
        let flow = match flow_id {
            Some(f) if flows.contains(&f) || agents.contains(&f) => Some(f.to_string()),
            Some(f) => {
                let known = self
                    .catalogue
                    .as_ref()
                    .is_none_or(|c| c.has_flow(f) || c.has_agent(f));
                return Err(if known {
                    ApiError::bad_request("Flow not allowed for this client token").with_hint(
                        format!(
                            "This token may run: {}",
                            [&flows[..], &agents[..]].concat().join(", ")
                        ),
                    )
                } else {
                    ApiError::new(StatusCode::NOT_FOUND, "Referenced flow or agent not found")
                });
            }
            None => token
                .text(Field::DefaultFlowId)
                .or_else(|| flows.first().copied())
                .or_else(|| agents.first().copied())
                .map(str::to_string),
        };
        let expires_at = now + session_lifetime(token);
        let token_id = token.id().to_string();
        self.client_tokens[index].set_time(Field::LastUsedAt, now);
        let token = self.client_tokens[index].clone();
        // A page reloaded within its session (the widget sends the id back) goes on with it.
        if let Some((session, conversation)) = self.resume(session_id, &token_id, expires_at, now) {
            return Ok(InitOutcome {
                token,
                conversation,
                session,
            });
        }
        let conversation = ConversationRecord {
            id: ids::conversation_id(),
            token_id: token_id.clone(),
            name: "New conversation".to_string(),
            first_message: None,
            flow_id: flow,
            origin: origin_header.map(str::to_string),
            message_count: 0,
            created_at: now,
            updated_at: now,
        };
        self.insert_conversation(conversation.clone());
        let limits = super::model::SessionLimits::of(&token);
        let session = self.open_session(
            &token_id,
            limits,
            &conversation.id,
            origin_header,
            expires_at,
            now,
        );
        Ok(InitOutcome {
            token,
            conversation,
            session,
        })
    }
}

/// The reply body of a successful widget init.
pub(super) fn init_reply(outcome: &InitOutcome) -> Value {
    let empty = serde_json::Map::new();
    let config = outcome
        .token
        .field(Field::Config)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let placeholder = config
        .get("placeholder")
        .and_then(Value::as_str)
        .unwrap_or("Type your message…");
    let welcome = match config.get("welcomeMessage") {
        Some(Value::String(text)) => json!(text),
        Some(Value::Null) => Value::Null,
        _ => json!("Hi! How can I help?"),
    };
    let mut reply_config = json!({ "placeholder": placeholder, "welcomeMessage": welcome });
    if let Some(theme) = config.get("theme").filter(|t| !t.is_null()) {
        reply_config["theme"] = theme.clone();
    }
    let mut reply = json!({
        "sessionId": outcome.session.id,
        "expiresAt": super::model::iso_millis::format(&outcome.session.expires_at),
        "conversationId": outcome.conversation.id,
        "conversationRevision": "1",
        "config": reply_config,
    });
    if let Some(flow_id) = &outcome.conversation.flow_id {
        reply["flow"] = json!({
            "id": flow_id,
            "name": format!("Emulated flow {flow_id}"),
            "description": "A flow served by the rtctl emulator",
        });
    }
    reply
}

/// How long a widget session lives after its last use: the token's idle timeout, at least
/// 5 minutes (the widget treats a session within a minute of expiry as expired).
pub(super) fn session_lifetime(token: &TokenRecord) -> SignedDuration {
    super::model::SessionLimits::of(token).lifetime()
}
