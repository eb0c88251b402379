//! Paging: one stream of pages for every list rtctl reads (tokens, conversations), used by
//! `tokens list`, the `--all` selections, export, plan, apply, completions and
//! `conversations`, so paging rules live in one place: follow `hasMore`, or, where a
//! deployment omits it, stop at the first short page; stop when a server ignored `limit`.

use serde_json::Value;

use super::client::Client;
use super::error::ApiError;
use super::types::{ClientToken, Conversation};

/// One page of a list.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// `Some` when the server said whether more follows.
    pub has_more: Option<bool>,
    /// Whether the reply carried `pagination` at all (a server that ignores `limit` does not).
    pub paginated: bool,
}

impl<T> Page<T> {
    /// A page of `items`, with what the reply's `pagination` says.
    pub(crate) fn new(items: Vec<T>, pagination: Option<&Value>) -> Page<T> {
        let pagination = pagination.and_then(Value::as_object);
        Page {
            items,
            has_more: pagination
                .and_then(|p| p.get("hasMore"))
                .and_then(Value::as_bool),
            paginated: pagination.is_some(),
        }
    }

    /// Whether another page follows this one, asked with `limit`.
    pub(crate) fn has_more_after(&self, limit: u32) -> bool {
        let received = self.items.len();
        self.paginated && received > 0 && self.has_more.unwrap_or(received == limit as usize)
    }
}

/// The most pages one list may take: a million tokens at 200 a page. A server that keeps
/// saying `hasMore` beyond that is broken; a list never grows without bound.
pub(crate) const MAX_PAGES: u64 = 5_000;

/// A list the API pages through.
pub(crate) trait Listing {
    type Item;
    /// What tells items apart (an id), to notice a server sending the same page again.
    fn key(item: &Self::Item) -> Option<&str>;
    /// The largest page the API gives.
    const MAX_PAGE: u32;
    /// Fetches `limit` items from `offset`.
    fn page(
        &self,
        client: &Client,
        limit: u32,
        offset: u64,
    ) -> impl Future<Output = Result<Page<Self::Item>, ApiError>>;
}

/// The account's client tokens.
pub(crate) struct Tokens;

impl Listing for Tokens {
    type Item = ClientToken;

    fn key(item: &ClientToken) -> Option<&str> {
        use crate::token::TokenView;
        Some(item.id())
    }
    const MAX_PAGE: u32 = 200;

    async fn page(
        &self,
        client: &Client,
        limit: u32,
        offset: u64,
    ) -> Result<Page<ClientToken>, ApiError> {
        client.token_page(limit, offset).await
    }
}

/// A token's conversations, optionally of one flow.
pub(crate) struct Conversations<'a> {
    pub token_id: &'a str,
    pub flow_id: Option<&'a str>,
}

impl Listing for Conversations<'_> {
    type Item = Conversation;

    fn key(item: &Conversation) -> Option<&str> {
        item.raw.get("id").and_then(serde_json::Value::as_str)
    }
    const MAX_PAGE: u32 = 100;

    async fn page(
        &self,
        client: &Client,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Conversation>, ApiError> {
        client
            .conversation_page(self.token_id, self.flow_id, limit, offset)
            .await
    }
}

/// The pages of a list, in the API's order. A failed page is an error, never the end.
pub(crate) struct Pager<'a, L: Listing> {
    client: &'a Client,
    listing: L,
    offset: u64,
    finished: bool,
    pages: u64,
    /// The keys of the last page, to notice the same page again.
    last_keys: Vec<String>,
}

impl<'a, L: Listing> Pager<'a, L> {
    pub(crate) fn new(client: &'a Client, listing: L) -> Pager<'a, L> {
        Pager {
            client,
            listing,
            offset: 0,
            finished: false,
            pages: 0,
            last_keys: Vec::new(),
        }
    }

    /// The next page at the largest size, or `None` after the last.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<L::Item>>, ApiError> {
        self.next_sized(L::MAX_PAGE).await
    }

    /// The next page of at most `limit` items (a caller that needs only a few more).
    pub(crate) async fn next_sized(
        &mut self,
        limit: u32,
    ) -> Result<Option<Vec<L::Item>>, ApiError> {
        if self.finished {
            return Ok(None);
        }
        if self.pages >= MAX_PAGES {
            return Err(ApiError::InvalidReply(format!(
                "the list goes on past {MAX_PAGES} pages; rtctl stops there rather than page forever"
            )));
        }
        let limit = limit.clamp(1, L::MAX_PAGE);
        let page = self.listing.page(self.client, limit, self.offset).await?;
        let keys: Vec<String> = page
            .items
            .iter()
            .filter_map(|item| L::key(item).map(str::to_string))
            .collect();
        if !keys.is_empty() && keys == self.last_keys {
            return Err(ApiError::InvalidReply(format!(
                "the server sent the same page again at offset {}; rtctl stops rather than page forever",
                self.offset
            )));
        }
        self.pages += 1;
        self.last_keys = keys;
        self.finished = !page.has_more_after(limit);
        self.offset += page.items.len() as u64;
        Ok(Some(page.items))
    }

    /// Whether the last page has been read.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }
}
