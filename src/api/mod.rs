//! The Runtype API client, in layers: `client` makes one request and reads its reply,
//! `retry` tries again what is safe to, `endpoints` has one method per endpoint, `paging`
//! reads whole lists, `rotate` rotates exactly once; `types` shapes the JSON and `error` says
//! what went wrong. The client imports neither retry nor paging: they build on it.

pub(crate) mod client;
pub(crate) mod endpoints;
pub(crate) mod error;
pub(crate) mod paging;
pub(crate) mod retry;
pub(crate) mod rotate;
mod stream;
pub(crate) mod surfaces;
pub(crate) mod types;

pub(crate) use client::{ApiKey, Client, ClientOptions, HttpLog, ServerDate};
pub(crate) use endpoints::Deleted;
pub(crate) use error::{ApiError, Cut};
pub(crate) use types::ClientToken;
