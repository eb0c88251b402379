//! The Runtype API client: `client` speaks HTTP, `types` shapes the JSON, `error` says what
//! went wrong.

pub mod client;
pub mod error;
pub mod paging;
pub mod retry;
pub mod rotate;
pub mod types;

pub use client::{ApiKey, Client, ClientOptions, HttpLog, check_id};
pub use error::ApiError;
pub use types::ClientToken;
