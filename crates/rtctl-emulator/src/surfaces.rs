//! Products and their surfaces, as the document shapes them (`GET /v1/surfaces`, a surface's
//! details with the flows and agents it exposes), and the origins the widget really arrives
//! from: every `POST /v1/client/init` of a token bound to a surface is a sighting of its
//! `Origin` on that surface, kept for [`WINDOW_DAYS`] and served at
//! `GET /v1/products/{productId}/surfaces/{surfaceId}/observed-origins`.
//!
//! Emulator decisions (the sources are silent): a sighting is recorded whether or not the
//! token admitted it (a refused site is what the route is for) and whatever the token's state;
//! a request without an `Origin` header is recorded as `native`, the allowlist's word for it;
//! `allowed` is computed when the route is read, as "admitted by an active token of this
//! surface", so an `origins add` shows at once. Surfaces are listed newest first, ties by id;
//! the cursor is the id of the last surface of the page.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::app::{App, Reply, integer, ok, param, query};
use super::model::{Sighting, SurfaceRecord, iso_millis};
use super::state::State as EmulatorState;
use super::validate::parse_object;
use rtctl_model::origin;
use rtctl_model::token::{Field, TokenView};

/// How far back the observed origins reach.
pub(super) const WINDOW_DAYS: i64 = 7;

/// The statuses a surface may have; only an active one serves chat.
const STATUSES: &[&str] = &["draft", "active", "paused"];

impl SurfaceRecord {
    /// The surface as `GET /v1/surfaces` lists it.
    fn to_list_json(&self) -> Value {
        json!({
            "id": self.id,
            "productId": self.product_id,
            "productName": self.product_name,
            "name": self.name,
            "type": self.kind,
            "status": self.status,
            "endpoint": null,
            "inbound": null,
            "createdAt": iso_millis::format(&self.created_at),
            "updatedAt": iso_millis::format(&self.updated_at),
        })
    }

    /// The surface with its items, as its details route returns it.
    fn to_details_json(&self) -> Value {
        let created = iso_millis::format(&self.created_at);
        let items: Vec<Value> = self
            .items
            .iter()
            .enumerate()
            .map(|(order, item)| {
                let target = item.flow_id.as_deref().or(item.agent_id.as_deref());
                json!({
                    "id": item.id,
                    "capabilityId": format!("cap_{}", target.unwrap_or("none")),
                    "capabilityName": item.exposed_name,
                    "exposedName": item.exposed_name,
                    "exposedDescription": null,
                    "endpointSlug": null,
                    "isEntryPoint": order == 0,
                    "enabled": item.enabled,
                    "displayOrder": order,
                    "createdAt": created,
                    "flowId": item.flow_id,
                    "agentId": item.agent_id,
                    "agentType": item.agent_id.as_ref().map(|_| "assistant"),
                    "cachedSkills": null,
                })
            })
            .collect();
        json!({
            "id": self.id,
            "productId": self.product_id,
            "name": self.name,
            "type": self.kind,
            "status": self.status,
            "environment": self.environment,
            "createdAt": created,
            "updatedAt": iso_millis::format(&self.updated_at),
            "items": items,
            "keys": [],
        })
    }
}

impl EmulatorState {
    fn surface(&self, product_id: &str, surface_id: &str) -> Result<&SurfaceRecord, ApiError> {
        self.surfaces
            .iter()
            .find(|s| s.id == surface_id && s.product_id == product_id)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Product or surface not found"))
    }

    /// Keeps the list order: newest first, ties by id.
    pub(super) fn insert_surface(&mut self, surface: SurfaceRecord) {
        self.surfaces.retain(|s| s.id != surface.id);
        let key = |s: &SurfaceRecord| (s.created_at, std::cmp::Reverse(s.id.clone()));
        let new = key(&surface);
        let at = self.surfaces.partition_point(|s| key(s) > new);
        self.surfaces.insert(at, surface);
    }

    /// The status of the surface a token is bound to, when it is one the account has.
    pub(super) fn surface_status(&self, surface_id: &str) -> Option<&str> {
        self.surfaces
            .iter()
            .find(|s| s.id == surface_id)
            .map(|s| s.status.as_str())
    }

    /// Records that `origin` (or a request without one) called the surface `surface_id`, and
    /// forgets sightings older than the window.
    pub(super) fn sight(&mut self, surface_id: &str, origin: Option<&str>, now: Timestamp) {
        if !self.surfaces.iter().any(|s| s.id == surface_id) {
            return;
        }
        let origin = match origin {
            Some(o) => origin::Origin::parse(o)
                .map(|o| o.to_string())
                .unwrap_or_else(|_| o.to_string()),
            None => "native".to_string(),
        };
        let horizon = now - SignedDuration::from_hours(24 * WINDOW_DAYS);
        self.observed_origins.retain(|s| s.last_seen_at >= horizon);
        match self
            .observed_origins
            .iter_mut()
            .find(|s| s.surface_id == surface_id && s.origin == origin)
        {
            Some(seen) => seen.last_seen_at = seen.last_seen_at.max(now),
            None => self.observed_origins.push(Sighting {
                surface_id: surface_id.to_string(),
                origin,
                first_seen_at: now,
                last_seen_at: now,
            }),
        }
    }

    /// Whether an active token bound to `surface_id` admits `origin` (`native`: no header).
    fn admitted_on(&self, surface_id: &str, origin: &str) -> bool {
        let header = (origin != "native").then_some(origin);
        self.client_tokens.iter().any(|t| {
            t.is_active()
                && t.text(Field::ProductSurfaceId) == Some(surface_id)
                && origin::admit(&owned(t.origins()), header, t.environment()).is_some()
        })
    }
}

fn owned(list: Vec<&str>) -> Vec<String> {
    list.into_iter().map(str::to_string).collect()
}

// ---------------------------------------------------------------------------------------
// Routes

/// `GET /v1/surfaces[?type&status&productId&limit&cursor]`: cursor paging, newest first.
pub(super) async fn list(State(app): State<App>, uri: Uri) -> Reply {
    let pairs = query(&uri, &["limit", "cursor", "type", "status", "productId"])?;
    let limit = integer(&pairs, "limit", 1, 100)?.unwrap_or(20);
    let status = param(&pairs, "status");
    if let Some(status) = status.filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::bad_request(format!("Invalid status '{status}'"))
            .with_hint(format!("Expected one of {}", STATUSES.join(", "))));
    }
    let kind = param(&pairs, "type");
    let product = param(&pairs, "productId");
    let cursor = param(&pairs, "cursor").filter(|c| !c.is_empty());
    app.store.read(|s| {
        let matching: Vec<&SurfaceRecord> = s
            .surfaces
            .iter()
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .filter(|r| status.is_none_or(|st| r.status == st))
            .filter(|r| product.is_none_or(|p| r.product_id == p))
            .collect();
        let offset = match cursor {
            None => 0,
            Some(c) => {
                matching
                    .iter()
                    .position(|r| r.id == c)
                    .ok_or_else(|| ApiError::bad_request("Invalid cursor"))?
                    + 1
            }
        };
        let page: Vec<&SurfaceRecord> = matching.iter().skip(offset).take(limit).copied().collect();
        let has_more = matching.len() > offset + page.len();
        let prev = match offset {
            0 => Value::Null,
            n if n > limit => json!(matching[n - limit - 1].id),
            _ => Value::Null,
        };
        ok(json!({
            "data": page.iter().map(|r| r.to_list_json()).collect::<Vec<_>>(),
            "pagination": {
                "limit": limit,
                "currentOffset": offset,
                "totalCount": matching.len(),
                "hasMore": has_more,
                "hasPrev": offset > 0,
                "nextCursor": if has_more { page.last().map(|r| json!(r.id)).unwrap_or(Value::Null) } else { Value::Null },
                "prevCursor": prev,
            },
        }))
    })
}

/// `GET /v1/products/{id}/surfaces/{surfaceId}`: the surface with its items.
pub(super) async fn details(
    State(app): State<App>,
    Path((product, surface)): Path<(String, String)>,
) -> Reply {
    app.store
        .read(|s| s.surface(&product, &surface).map(|r| r.to_details_json()))
        .and_then(ok)
}

/// `GET /v1/products/{productId}/surfaces/{surfaceId}/observed-origins`: the window's
/// sightings, most recently seen first.
pub(super) async fn observed(
    State(app): State<App>,
    Path((product, surface)): Path<(String, String)>,
) -> Reply {
    let now = app.clock.now();
    let horizon = now - SignedDuration::from_hours(24 * WINDOW_DAYS);
    app.store.read(|s| {
        let record = s
            .surface(&product, &surface)
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "Surface not found"))?;
        let mut seen: Vec<&Sighting> = s
            .observed_origins
            .iter()
            .filter(|o| o.surface_id == record.id && o.last_seen_at >= horizon)
            .collect();
        seen.sort_by(|a, b| (b.last_seen_at, &a.origin).cmp(&(a.last_seen_at, &b.origin)));
        let origins: Vec<Value> = seen
            .iter()
            .map(|o| {
                json!({
                    "origin": o.origin,
                    "allowed": s.admitted_on(&record.id, &o.origin),
                    "firstSeenAt": iso_millis::format(&o.first_seen_at),
                    "lastSeenAt": iso_millis::format(&o.last_seen_at),
                })
            })
            .collect();
        ok(json!({ "windowDays": WINDOW_DAYS, "origins": origins }))
    })
}

/// `POST /__emulator/surfaces`: adds a surface (or replaces the one with its id), for tests
/// that need many, a clash of names or a status the demo lacks. `id`, `productId`,
/// `createdAt` and `updatedAt` may be left out.
pub(super) async fn insert(State(app): State<App>, body: Bytes) -> Reply {
    let mut map = parse_object(&body, false)?;
    let now = iso_millis::format(&app.clock.now());
    for (key, value) in [
        ("id", json!(super::ids::surface_id())),
        ("productId", json!(format!("prod_{}", slug(&map)))),
        ("type", json!("chat")),
        ("status", json!("active")),
        ("environment", json!("production")),
        ("items", json!([])),
        ("createdAt", json!(now)),
        ("updatedAt", json!(now)),
    ] {
        map.entry(key).or_insert(value);
    }
    let record: SurfaceRecord = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid surface: {e}")))?;
    if !STATUSES.contains(&record.status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Invalid status '{}'",
            record.status
        )));
    }
    let shown = record.to_details_json();
    app.store
        .write(|s| {
            s.insert_surface(record);
            Ok(())
        })
        .await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        axum::Json(shown),
    )))
}

/// `POST /__emulator/observed-origins`: records that `origin` (`native`: requests without an
/// Origin header) called the surface `surfaceId`, between `firstSeenAt` and `lastSeenAt`
/// (both default to now), replacing an earlier sighting of it there. For tests, and for the
/// live check, which seeds the origins the live service observed.
pub(super) async fn insert_sighting(State(app): State<App>, body: Bytes) -> Reply {
    let mut map = parse_object(&body, false)?;
    map.retain(|_, v| !v.is_null());
    let now = iso_millis::format(&app.clock.now());
    for key in ["firstSeenAt", "lastSeenAt"] {
        map.entry(key).or_insert_with(|| json!(now));
    }
    let sighting: Sighting = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid sighting: {e}")))?;
    let shown = json!({
        "surfaceId": sighting.surface_id,
        "origin": sighting.origin,
        "firstSeenAt": iso_millis::format(&sighting.first_seen_at),
        "lastSeenAt": iso_millis::format(&sighting.last_seen_at),
    });
    app.store
        .write(|s| {
            if !s.surfaces.iter().any(|r| r.id == sighting.surface_id) {
                return Err(ApiError::new(StatusCode::NOT_FOUND, "Surface not found"));
            }
            s.observed_origins
                .retain(|o| !(o.surface_id == sighting.surface_id && o.origin == sighting.origin));
            s.observed_origins.push(sighting);
            Ok(())
        })
        .await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        axum::Json(shown),
    )))
}

/// A product id made from the product's name, so surfaces inserted with the same name share
/// their product.
fn slug(map: &serde_json::Map<String, Value>) -> String {
    let name = map
        .get("productName")
        .and_then(Value::as_str)
        .unwrap_or("product");
    name.chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' || c == '-' || c == '_' {
                Some('_')
            } else {
                None
            }
        })
        .take(40)
        .collect()
}
