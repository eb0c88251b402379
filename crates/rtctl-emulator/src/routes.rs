//! The emulator's HTTP surface: the eight client-token endpoints, the products' surfaces
//! (`surfaces.rs`), the widget's `POST /v1/client/init`, and the control endpoints under
//! `/__emulator`, behind the host check and the control API's guard (`guard.rs`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::app::{App, Reply, integer, ok, param, query};
use super::faults::{self, FaultSpec};
use super::journal;
use super::model::TokenRecord;
use super::seed::{self, Seed};
use super::state;
use super::surfaces;
use super::validate::{Op, parse_object, token_body};
use rtctl_model::clock::Clock;

/// The whole router: API routes behind auth and faults, control routes beside them, and the
/// request journal around both.
pub(super) fn router(app: App) -> Router {
    let tokens = Router::new()
        .route("/v1/client-tokens", get(list).post(create))
        .route(
            "/v1/client-tokens/{id}",
            get(read).put(update).delete(delete),
        )
        .route("/v1/client-tokens/{id}/token", get(value))
        .route("/v1/client-tokens/{id}/regenerate", post(regenerate))
        .route("/v1/client-tokens/{id}/conversations", get(conversations))
        .route("/v1/users/profile", get(profile))
        .route("/v1/surfaces", get(surfaces::list))
        .route(
            "/v1/products/{product}/surfaces/{surface}",
            get(surfaces::details),
        )
        .route(
            "/v1/products/{product}/surfaces/{surface}/observed-origins",
            get(surfaces::observed),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), authenticate));
    let inner: Router = Router::new()
        .merge(tokens)
        .route("/v1/client/init", post(client_init))
        .route("/v1/client/chat", post(super::chat::chat))
        .route("/v1/client/feedback", post(super::chat::feedback))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app.clone());
    // A late fault carries a request out later, through the API without its faults (held
    // by the layer, not by the faults, which the API's state holds: no cycle).
    let api = inner.clone().layer(middleware::from_fn_with_state(
        faults::Layer {
            faults: app.faults.clone(),
            inner,
        },
        faults::apply,
    ));
    let control = Router::new()
        .route(
            "/__emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/__emulator/requests",
            get(list_requests).delete(clear_requests),
        )
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/clock", get(read_clock).post(set_clock))
        .route("/__emulator/tokens", post(insert_token))
        .route("/__emulator/surfaces", post(surfaces::insert))
        .route("/__emulator/conversations", post(insert_conversation))
        .route(
            "/__emulator/observed-origins",
            post(surfaces::insert_sighting),
        )
        .route(
            "/__emulator/catalogue",
            get(read_catalogue).post(add_to_catalogue),
        )
        .route_layer(middleware::from_fn(super::guard::control_from_tools_only))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .merge(control)
        .fallback_service(api)
        .layer(middleware::from_fn(super::cors::layer))
        // Outside CORS (a refusal is no page's to read), inside the journal (it is logged).
        .layer(middleware::from_fn_with_state(
            app.listening.clone(),
            super::guard::check_host,
        ))
        .layer(middleware::from_fn_with_state(
            app.clock.clone(),
            date_header,
        ))
        .layer(middleware::from_fn_with_state(
            app.journal.clone(),
            journal::record,
        ))
        .with_state(app)
}

/// Every reply's `Date` follows the emulator's own clock (moved through
/// `/__emulator/clock`), as a real server's follows its: clients take "now" from it.
async fn date_header(State(clock): State<Clock>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let date = clock
        .now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(value) = header::HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

// ---------------------------------------------------------------------------------------
// Authentication

/// Checks the API key: `Authorization: Bearer <key>` or the raw key, as some reference pages
/// show it. A read-only key may read but gets 403 on writes.
async fn authenticate(State(app): State<App>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
                _ => v,
            }
        })
        .filter(|k| !k.is_empty());
    let Some(key) = presented else {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "Missing API key")
            .with_hint("Send the header 'Authorization: Bearer <api key>'");
        e.authenticate = Some("Bearer realm=\"runtype\"");
        return e.into_response();
    };
    let full = app.keys.full.iter().any(|k| k == key);
    let read_only = app.keys.read_only.iter().any(|k| k == key);
    if !full && !read_only {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key");
        e.authenticate = Some("Bearer realm=\"runtype\", error=\"invalid_token\"");
        return e.into_response();
    }
    if !full && request.method() != Method::GET {
        return ApiError::new(StatusCode::FORBIDDEN, "Insufficient permissions")
            .with_hint("This API key lacks the CLIENT_TOKENS:WRITE permission")
            .into_response();
    }
    next.run(request).await
}

/// An `{id}` path segment, percent-decoded. Anything that cannot be an id (neither `ct_` and
/// 16 hex digits nor a UUID) is the documented 400 "Invalid client token ID", before any
/// lookup.
struct TokenId(String);

impl<S: Send + Sync> FromRequestParts<S> for TokenId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<TokenId, ApiError> {
        let id = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("Invalid client token ID: {e}")))?
            .0;
        if !super::ids::is_token_id(&id) {
            return Err(ApiError::bad_request("Invalid client token ID"));
        }
        Ok(TokenId(id))
    }
}

// ---------------------------------------------------------------------------------------
// Client tokens

/// The list answers only the codes the document gives it (200, 401, 403, 500), so it cannot
/// refuse its query: unknown parameters are ignored, and a `limit` or `offset` that is not a
/// whole number counts as absent, a `limit` above 200 as 200.
async fn list(State(app): State<App>, uri: Uri) -> Reply {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let number = |key: &str| param(&pairs, key).and_then(|v| v.parse::<usize>().ok());
    let limit = number("limit").filter(|l| *l >= 1).map(|l| l.min(200));
    let offset = number("offset").unwrap_or(0);
    let body = app.store.read(|s| {
        let page = s.list(limit, offset);
        let tokens: Vec<Value> = page.items.iter().map(|t| t.to_list_json()).collect();
        match limit {
            // Without `limit`, the legacy shape: every token, no pagination key.
            None => json!({ "clientTokens": tokens }),
            Some(limit) => json!({
                "clientTokens": tokens,
                "pagination": { "limit": limit, "offset": offset, "hasMore": page.has_more },
            }),
        }
    });
    ok(body)
}

async fn create(State(app): State<App>, body: Bytes) -> Reply {
    let fields = token_body(&parse_object(&body, false)?, Op::Create, None)?;
    let now = app.clock.now();
    let token = app.store.write(|s| s.create(fields, now)).await?;
    let body = json!({
        "clientToken": token.to_full_json(0),
        "token": token.value(),
        "warnings": token.security_warnings(),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn read(State(app): State<App>, TokenId(id): TokenId) -> Reply {
    let body = app.store.read(|s| {
        let token = s.token(&id)?;
        Ok::<_, ApiError>(json!({ "clientToken": token.to_full_json(s.conversation_count(&id)) }))
    })?;
    ok(body)
}

async fn update(State(app): State<App>, TokenId(id): TokenId, body: Bytes) -> Reply {
    let body = parse_object(&body, false)?;
    let now = app.clock.now();
    let (token, count) = app
        .store
        .write(|s| {
            let fields = token_body(&body, Op::Update, s.token(&id).ok())?;
            let token = s.update(&id, fields, now)?;
            Ok((token, s.conversation_count(&id)))
        })
        .await?;
    ok(json!({
        "clientToken": token.to_full_json(count),
        "warnings": token.security_warnings(),
    }))
}

async fn delete(State(app): State<App>, TokenId(id): TokenId) -> Reply {
    app.store.write(|s| s.delete(&id)).await?;
    ok(json!({
        "success": true,
        "message": format!("Client token with ID '{id}' has been successfully deleted."),
    }))
}

async fn value(State(app): State<App>, TokenId(id): TokenId) -> Reply {
    let value = app
        .store
        .read(|s| s.token(&id).map(|t| t.value().map(str::to_string)))?;
    match value {
        Some(value) => ok(json!({ "token": value })),
        None => Err(ApiError::bad_request(
            "Token value not available: this client token was created before token values were stored",
        )
        .with_hint("Regenerate the token to get a new value you can read")),
    }
}

async fn regenerate(State(app): State<App>, TokenId(id): TokenId, body: Bytes) -> Reply {
    let extra = parse_object(&body, true)?;
    super::validate::reject_unknown(&extra, &[])?;
    let now = app.clock.now();
    let token = app.store.write(|s| s.regenerate(&id, now)).await?;
    ok(json!({
        "clientToken": token.to_regenerated_json(),
        "token": token.value(),
        "message": "Client token regenerated. The previous token value no longer works.",
    }))
}

async fn conversations(State(app): State<App>, TokenId(id): TokenId, uri: Uri) -> Reply {
    let pairs = query(&uri, &["limit", "offset", "flow_id"])?;
    let limit = integer(&pairs, "limit", 1, 100)?.unwrap_or(20);
    let offset = integer(&pairs, "offset", 0, usize::MAX)?.unwrap_or(0);
    let flow_id = param(&pairs, "flow_id");
    let body = app.store.read(|s| {
        let page = s.conversations(&id, flow_id, limit, offset)?;
        Ok::<_, ApiError>(json!({
            "conversations": page.items.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            "pagination": { "limit": limit, "offset": offset, "hasMore": page.has_more },
        }))
    })?;
    ok(body)
}

// ---------------------------------------------------------------------------------------
// The widget side

/// `POST /v1/client/init`. Unlike the admin endpoints it ignores unknown body fields: its
/// client is the chat widget, whose requests we do not control. `durableRecovery: true` is
/// answered `durableRecovery: {enabled: false}`.
async fn client_init(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    let map = parse_object(&body, false)?;
    let token = match map.get("token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(ApiError::bad_request("Field 'token' is required")),
    };
    let flow_id = match map.get("flowId") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => Some(f.clone()),
        Some(_) => return Err(ApiError::bad_request("Field 'flowId' must be a string")),
    };
    let session = match map.get("sessionId") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    // Persona 4.21 and later ask for durable recovery (resuming a stream the page lost); the
    // emulator has no join or steer routes, and says so.
    let durable = map.get("durableRecovery") == Some(&Value::Bool(true));
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = app.clock.now();
    let outcome = app
        .store
        // A refusal is kept too: the sighting of its origin is part of the state.
        .write(|s| {
            Ok(s.client_init(
                &token,
                flow_id.as_deref(),
                origin.as_deref(),
                session.as_deref(),
                now,
            ))
        })
        .await??;
    let mut reply = state::init_reply(&outcome);
    if durable {
        reply["durableRecovery"] = json!({ "enabled": false });
    }
    ok(reply)
}

// ---------------------------------------------------------------------------------------
// Control endpoints

async fn list_faults(State(app): State<App>) -> Reply {
    ok(json!({ "faults": app.faults.list() }))
}

async fn add_fault(State(app): State<App>, body: Bytes) -> Reply {
    let spec: FaultSpec = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid fault: {e}")))?;
    spec.validate()
        .map_err(|e| ApiError::bad_request(format!("Invalid fault: {e}")))?;
    let fault = app.faults.add(spec);
    Ok((StatusCode::CREATED, axum::Json(json!({ "fault": fault }))).into_response())
}

async fn clear_faults(State(app): State<App>) -> Reply {
    ok(json!({ "cleared": app.faults.clear() }))
}

async fn list_requests(State(app): State<App>) -> Reply {
    ok(json!({ "requests": app.journal.entries() }))
}

async fn clear_requests(State(app): State<App>) -> Reply {
    ok(json!({ "cleared": app.journal.clear() }))
}

/// Replaces the state with a fresh seed: `{"seed": "demo"|"none"}`, or the configured seed.
async fn reset(State(app): State<App>, body: Bytes) -> Reply {
    let map = parse_object(&body, true)?;
    super::validate::reject_unknown(&map, &["seed"])?;
    let seed = match map.get("seed") {
        None => app.seed,
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse::<Seed>().ok())
            .ok_or_else(|| ApiError::bad_request("Field 'seed' must be 'demo' or 'none'"))?,
    };
    let mut state = seed::state(seed, app.clock.now());
    state.catalogue().add(&app.catalogue.0, &app.catalogue.1);
    app.store.replace(state).await?;
    let count = app.store.read(|s| s.client_tokens.len());
    ok(json!({ "clientTokens": count }))
}

/// `GET /__emulator/clock`: the emulator's "now", and whether it was set.
async fn read_clock(State(app): State<App>) -> Reply {
    ok(clock_json(&app.clock))
}

fn clock_json(clock: &Clock) -> Value {
    json!({
        "now": super::model::iso_millis::format(&clock.now()),
        "controlled": clock.is_controlled(),
    })
}

/// `POST /__emulator/clock`: `{"now": ISO-8601}` stops the clock there, `{"advanceSeconds": N}`
/// moves it (N may be negative), `{"system": true}` returns to the system's time.
async fn set_clock(State(app): State<App>, body: Bytes) -> Reply {
    let map = parse_object(&body, false)?;
    super::validate::reject_unknown(&map, &["now", "advanceSeconds", "system"])?;
    if map.len() != 1 {
        return Err(ApiError::bad_request(
            "Send exactly one of 'now', 'advanceSeconds' or 'system'",
        ));
    }
    if let Some(now) = map.get("now") {
        let at: Timestamp = now
            .as_str()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| ApiError::bad_request("Field 'now' must be an ISO-8601 time"))?;
        app.clock.set(at);
    } else if let Some(seconds) = map.get("advanceSeconds") {
        let seconds = seconds
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("Field 'advanceSeconds' must be an integer"))?;
        app.clock.advance(jiff::SignedDuration::from_secs(seconds));
    } else if map.get("system") == Some(&Value::Bool(true)) {
        app.clock.reset();
    } else {
        return Err(ApiError::bad_request("Field 'system' must be true"));
    }
    ok(clock_json(&app.clock))
}

/// `POST /__emulator/tokens`: inserts a token record exactly as given (it needs a string
/// `id`; anything else goes), replacing one with the same id. For tests of states the API
/// would never produce: a token without a name, an old `lastUsedAt`, odd field values.
async fn insert_token(State(app): State<App>, body: Bytes) -> Reply {
    let record = TokenRecord::from_object(parse_object(&body, false)?);
    app.store.write(|s| s.insert_raw(record)).await?;
    let count = app.store.read(|s| s.client_tokens.len());
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "clientTokens": count })),
    )
        .into_response())
}

/// `POST /__emulator/conversations`: adds a conversation of the token `tokenId` in the list's
/// own shape (`id`, `name`, `firstMessage`, `flowId`, `origin`, `messageCount`, `createdAt`,
/// `updatedAt`: all but `tokenId` may be left out), replacing one with its id. Stored as a
/// record and listed as the emulator lists its own, so a seeded conversation's shape is the
/// emulator's, not an echo of what was sent.
async fn insert_conversation(State(app): State<App>, body: Bytes) -> Reply {
    let mut map = parse_object(&body, false)?;
    map.retain(|_, v| !v.is_null());
    let now = super::model::iso_millis::format(&app.clock.now());
    for (key, value) in [
        ("id", json!(super::ids::conversation_id())),
        ("name", json!("New conversation")),
        ("messageCount", json!(0)),
        ("createdAt", json!(now)),
        ("updatedAt", json!(now)),
    ] {
        map.entry(key).or_insert(value);
    }
    let record: super::model::ConversationRecord = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid conversation: {e}")))?;
    let shown = record.to_json();
    app.store
        .write(|s| {
            s.token(&record.token_id)?;
            s.conversations.retain(|c| c.id != record.id);
            s.insert_conversation(record);
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(shown)).into_response())
}

/// `GET /__emulator/catalogue`: the account's flows and agents.
async fn read_catalogue(State(app): State<App>) -> Reply {
    let catalogue = app.store.write(|s| Ok(s.catalogue().clone())).await?;
    ok(json!({ "flows": catalogue.flows, "agents": catalogue.agents }))
}

/// `POST /__emulator/catalogue`: `{"flows": [...], "agents": [...]}` adds to the account's
/// flows and agents (both optional).
async fn add_to_catalogue(State(app): State<App>, body: Bytes) -> Reply {
    let map = parse_object(&body, false)?;
    super::validate::reject_unknown(&map, &["flows", "agents"])?;
    let list = |key: &str| -> Result<Vec<String>, ApiError> {
        match map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "Field '{key}' must list non-empty strings"
                            ))
                        })
                })
                .collect(),
            Some(_) => Err(ApiError::bad_request(format!(
                "Field '{key}' must be an array"
            ))),
        }
    };
    let (flows, agents) = (list("flows")?, list("agents")?);
    let catalogue = app
        .store
        .write(|s| {
            s.catalogue().add(&flows, &agents);
            Ok(s.catalogue().clone())
        })
        .await?;
    ok(json!({ "flows": catalogue.flows, "agents": catalogue.agents }))
}

/// `GET /v1/users/profile`: who the key belongs to. The emulator has one user and one
/// organisation for all its keys.
async fn profile() -> Reply {
    let created = "2026-01-15T09:00:00.000Z";
    ok(json!({
        "id": "user_emulator",
        "email": "developer@example.com",
        "orgId": "org_emulator",
        "orgName": "Emulator organisation",
        "createdAt": created,
        "dashboardUrl": "https://app.runtype.com",
        "features": {"enableAgentSkills": false, "productGeneratorModel": "emulated"},
        "preferences": {"theme": "system", "notifications": false},
    }))
}
