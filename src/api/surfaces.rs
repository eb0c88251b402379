//! Products' surfaces and the origins seen calling them: `GET /v1/surfaces` (cursor paging),
//! a surface's details (the flows and agents it exposes) and its observed origins. Kept as
//! the objects the server sent, read tolerantly, like tokens.

use std::collections::HashSet;

use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use serde_json::{Map, Value};

use super::client::{Client, SEGMENT, check_id};
use super::error::ApiError;

/// The largest page of surfaces the API gives, and the page size rtctl asks for.
const PAGE: u32 = 100;

/// The most surfaces one account's list may hold (a hundred full pages): products have a few
/// surfaces each, so a list beyond this is a server paging without end, and memory stays
/// bounded.
pub(crate) const MAX_SURFACES: usize = 10_000;

/// The most pages of surfaces read (ten times what [`MAX_SURFACES`] needs in full pages, for
/// a server whose pages are smaller): a server paging on with empty pages, or with items
/// that are no surfaces, stops here, and the cursors remembered stay bounded too.
const MAX_PAGES: usize = 1_000;

/// The longest cursor rtctl sends back: a server's opaque cursor, bounded like every read.
const MAX_CURSOR_CHARS: usize = 2048;

/// A product's surface (a chat widget, an API, Slack…), as listed.
#[derive(Debug, Clone)]
pub(crate) struct Surface {
    pub raw: Map<String, Value>,
}

fn text<'a>(raw: &'a Map<String, Value>, key: &str) -> &'a str {
    raw.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Surface {
    pub(crate) fn id(&self) -> &str {
        text(&self.raw, "id")
    }

    pub(crate) fn product_id(&self) -> &str {
        text(&self.raw, "productId")
    }

    /// The product's name, or its id when the server did not say.
    pub(crate) fn product_name(&self) -> &str {
        match text(&self.raw, "productName") {
            "" => self.product_id(),
            name => name,
        }
    }

    pub(crate) fn name(&self) -> &str {
        text(&self.raw, "name")
    }

    /// `chat`, `api`, …
    pub(crate) fn kind(&self) -> &str {
        text(&self.raw, "type")
    }

    /// `draft`, `active` or `paused`.
    pub(crate) fn status(&self) -> &str {
        text(&self.raw, "status")
    }

    pub(crate) fn is_chat(&self) -> bool {
        self.kind() == "chat"
    }

    /// `Product / Surface`, how the dashboard names it.
    pub(crate) fn label(&self) -> String {
        format!("{} / {}", self.product_name(), self.name())
    }
}

/// A flow or an agent a surface exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub flow_id: Option<String>,
    pub agent_id: Option<String>,
    pub enabled: bool,
}

/// One origin seen calling a surface in the window.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// As the server wrote it; `native` for requests without an Origin header.
    pub origin: String,
    /// The server's own verdict, when it gave one.
    pub allowed: Option<bool>,
    pub first_seen_at: Option<String>,
    pub last_seen_at: Option<String>,
}

/// The observed origins of one surface.
#[derive(Debug, Clone)]
pub(crate) struct ObservedOrigins {
    pub window_days: u64,
    pub origins: Vec<Observed>,
}

/// A string field of an object, when it is one.
fn string_at(item: &Map<String, Value>, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string)
}

fn ids_in_path(product_id: &str, surface_id: &str) -> Result<(String, String), ApiError> {
    for id in [product_id, surface_id] {
        check_id(id).map_err(|e| {
            ApiError::InvalidReply(format!(
                "the server named a surface rtctl will not address: {e}"
            ))
        })?;
    }
    Ok((
        utf8_percent_encode(product_id, SEGMENT).to_string(),
        utf8_percent_encode(surface_id, SEGMENT).to_string(),
    ))
}

impl Client {
    /// Every surface of the account (of `kind`, when given), following the cursor. A server
    /// that repeats a cursor, sends a page larger than asked for, or pages on past
    /// [`MAX_SURFACES`] items (surfaces or not) or [`MAX_PAGES`] pages (empty or not), is an
    /// error, never a loop or a heap without bound.
    pub(crate) async fn all_surfaces(&self, kind: Option<&str>) -> Result<Vec<Surface>, ApiError> {
        let url = format!("{}/v1/surfaces", self.base());
        let mut surfaces = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        // Every item read, kept or not: what the server sent is what is bounded.
        let mut items_read = 0;
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ApiError::InvalidReply(format!(
                    "the surface list goes on past {MAX_PAGES} pages; rtctl stops there rather than read without end"
                )));
            }
            let mut query = vec![("limit", PAGE.to_string())];
            if let Some(kind) = kind {
                query.push(("type", kind.to_string()));
            }
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let mut reply = match self.send(Method::GET, url.clone(), &query, None).await {
                Err(ApiError::Status { status: 404, .. }) => {
                    return Err(ApiError::InvalidReply(format!(
                        "{} has no /v1/surfaces (404)",
                        self.base()
                    )));
                }
                other => other?,
            };
            let Some(Value::Array(items)) = reply.remove("data") else {
                return Err(ApiError::InvalidReply(
                    "the reply has no \"data\" array of surfaces".into(),
                ));
            };
            if items.len() > PAGE as usize {
                return Err(ApiError::InvalidReply(format!(
                    "the server sent {} surfaces for a page of at most {PAGE}: a broken server",
                    items.len()
                )));
            }
            items_read += items.len();
            if items_read > MAX_SURFACES {
                return Err(ApiError::InvalidReply(format!(
                    "the surface list goes on past {MAX_SURFACES} surfaces; rtctl stops there rather than read without end"
                )));
            }
            surfaces.extend(items.into_iter().filter_map(|item| match item {
                Value::Object(raw) if raw.get("id").is_some_and(Value::is_string) => {
                    Some(Surface { raw })
                }
                _ => None,
            }));
            let next = reply
                .get("pagination")
                .and_then(|p| p.get("nextCursor"))
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty());
            let more = reply
                .get("pagination")
                .and_then(|p| p.get("hasMore"))
                .and_then(Value::as_bool)
                .unwrap_or(next.is_some());
            match next {
                Some(next) if more => {
                    if next.chars().count() > MAX_CURSOR_CHARS || !seen.insert(next.to_string()) {
                        return Err(ApiError::InvalidReply(
                            "the surface list's cursor repeats or is too long: the server pages without end".into(),
                        ));
                    }
                    cursor = Some(next.to_string());
                }
                _ => return Ok(surfaces),
            }
        }
    }

    /// The flows and agents a surface exposes (`GET /v1/products/{id}/surfaces/{id}`).
    pub(crate) async fn surface_items(
        &self,
        product_id: &str,
        surface_id: &str,
    ) -> Result<Vec<Item>, ApiError> {
        let (product, surface) = ids_in_path(product_id, surface_id)?;
        let url = format!("{}/v1/products/{product}/surfaces/{surface}", self.base());
        let reply = self.send(Method::GET, url, &[], None).await?;
        let Some(Value::Array(items)) = reply.get("items") else {
            return Err(ApiError::InvalidReply(
                "the surface has no \"items\" array".into(),
            ));
        };
        let id = string_at;
        Ok(items
            .iter()
            .filter_map(Value::as_object)
            .map(|item| Item {
                flow_id: id(item, "flowId"),
                agent_id: id(item, "agentId"),
                enabled: item
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
            .collect())
    }

    /// The origins seen calling a surface over the service's window.
    pub(crate) async fn observed_origins(
        &self,
        product_id: &str,
        surface_id: &str,
    ) -> Result<ObservedOrigins, ApiError> {
        let (product, surface) = ids_in_path(product_id, surface_id)?;
        let url = format!(
            "{}/v1/products/{product}/surfaces/{surface}/observed-origins",
            self.base()
        );
        let reply = self.send(Method::GET, url, &[], None).await?;
        let Some(Value::Array(items)) = reply.get("origins") else {
            return Err(ApiError::InvalidReply(
                "the reply has no \"origins\" array".into(),
            ));
        };
        let time = string_at;
        Ok(ObservedOrigins {
            window_days: reply
                .get("windowDays")
                .and_then(Value::as_f64)
                .filter(|d| *d >= 0.0 && *d < 10_000.0)
                .map_or(7, |d| d.round() as u64),
            origins: items
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|item| {
                    Some(Observed {
                        origin: item.get("origin")?.as_str()?.to_string(),
                        allowed: item.get("allowed").and_then(Value::as_bool),
                        first_seen_at: time(item, "firstSeenAt"),
                        last_seen_at: time(item, "lastSeenAt"),
                    })
                })
                .collect(),
        })
    }
}
