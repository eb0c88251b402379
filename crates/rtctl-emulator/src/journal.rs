//! The request journal: one entry per request, for the log line on stderr and for
//! `GET /__emulator/requests`, which lets tests assert what a client really sent (that a
//! create was not retried, that a rotation happened once).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use super::faults::{AppliedFault, FaultSlot};

/// The most entries kept; older ones are forgotten.
const CAPACITY: usize = 10_000;

/// One request as the emulator saw it. Headers are not kept: they carry the API key.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The client's `User-Agent`, the one header kept (the others may carry the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The reply's status, or `None` when the connection was dropped without a reply.
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    #[serde(skip)]
    pub duration: Duration,
}

/// Receives each entry as it completes, e.g. to print a log line.
pub type RequestLog = Arc<dyn Fn(&Entry) + Send + Sync>;

/// A whole request and reply, for an observer that checks them (the contract tests).
#[derive(Debug)]
pub struct Exchange<'a> {
    pub entry: &'a Entry,
    pub request_body: &'a [u8],
    pub response_body: &'a [u8],
    pub response_type: Option<&'a str>,
}

/// Sees every exchange with its bodies; set only where something checks them.
pub type Observer = Arc<dyn Fn(&Exchange<'_>) + Send + Sync>;

/// The most of a body an observer is shown; larger bodies are passed on unseen.
const OBSERVED_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub(super) struct Journal {
    entries: Mutex<VecDeque<Entry>>,
    log: Option<RequestLog>,
    observer: Option<Observer>,
}

impl Journal {
    pub(super) fn new(log: Option<RequestLog>, observer: Option<Observer>) -> Journal {
        Journal {
            entries: Mutex::new(VecDeque::new()),
            log,
            observer,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, entry: Entry) {
        if let Some(log) = &self.log {
            log(&entry);
        }
        if entry.path.starts_with("/__emulator/") {
            return; // the journal is about API traffic, not the test harness asking about it
        }
        let mut entries = self.lock();
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub(super) fn entries(&self) -> Vec<Entry> {
        self.lock().iter().cloned().collect()
    }

    pub(super) fn clear(&self) -> usize {
        std::mem::take(&mut *self.lock()).len()
    }
}

/// Records the entry when dropped, so a request whose connection a fault tore down (and
/// whose future is therefore dropped mid-flight) is journalled too, with no status.
struct Pending {
    journal: Arc<Journal>,
    entry: Option<Entry>,
    started: Instant,
    slot: FaultSlot,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.duration = self.started.elapsed();
            entry.fault = Some(
                self.slot
                    .take()
                    .unwrap_or_else(|| "connection dropped".into()),
            );
            self.journal.push(entry);
        }
    }
}

/// Middleware that journals every request.
pub(super) async fn record(
    State(journal): State<Arc<Journal>>,
    mut request: Request,
    next: Next,
) -> Response {
    let slot = FaultSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut pending = Pending {
        journal,
        entry: Some(Entry {
            method: request.method().to_string(),
            path: request.uri().path().to_string(),
            query: request.uri().query().map(str::to_string),
            user_agent: request
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            status: None,
            fault: None,
            duration: Duration::ZERO,
        }),
        started: Instant::now(),
        slot,
    };
    let observed =
        pending.journal.observer.is_some() && !request.uri().path().starts_with("/__emulator/");
    if !observed {
        let response = next.run(request).await;
        if let Some(mut entry) = pending.entry.take() {
            complete(&mut entry, &response, &pending);
            pending.journal.push(entry);
        }
        return response;
    }
    // Keep both bodies to show the observer (bounded), and pass them on unchanged.
    let (parts, body) = request.into_parts();
    let request_body = axum::body::to_bytes(body, OBSERVED_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let request = Request::from_parts(parts, axum::body::Body::from(request_body.clone()));
    let response = next.run(request).await;
    let streaming = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let Some(mut entry) = pending.entry.take() else {
        return response;
    };
    complete(&mut entry, &response, &pending);
    // A body that may exceed the limit (or whose size is unknown) passes on unseen, whole.
    let small = axum::body::HttpBody::size_hint(response.body())
        .upper()
        .is_some_and(|n| n <= OBSERVED_BODY_LIMIT as u64);
    if streaming || !small {
        pending.journal.push(entry);
        return response;
    }
    let (parts, body) = response.into_parts();
    let response_body = axum::body::to_bytes(body, OBSERVED_BODY_LIMIT)
        .await
        .unwrap_or_default();
    if let Some(observer) = &pending.journal.observer {
        observer(&Exchange {
            entry: &entry,
            request_body: &request_body,
            response_body: &response_body,
            response_type: parts
                .headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        });
    }
    pending.journal.push(entry);
    Response::from_parts(parts, axum::body::Body::from(response_body))
}

/// Fills in what the reply says about a request.
fn complete(entry: &mut Entry, response: &Response, pending: &Pending) {
    entry.status = Some(response.status().as_u16());
    entry.fault = response
        .extensions()
        .get::<AppliedFault>()
        .map(|f| f.0.clone());
    entry.duration = pending.started.elapsed();
}
