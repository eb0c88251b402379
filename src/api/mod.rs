//! The Runtype API client: `client` speaks HTTP, `types` shapes the JSON, `error` says what
//! went wrong.

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
