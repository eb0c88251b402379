//! Paging: one stream of pages for every list rtctl reads (tokens, conversations), used by
//! `tokens list`, the `--all` selections, export, plan, apply, completions and
//! `conversations`, so paging rules live in one place: follow `hasMore`, or, where a
//! deployment omits it, stop at the first short page; a page holding more than `limit`
//! items is a server that ignores `limit` (its pages would overlap), and fails the read.
//!
//! A read of the whole list ([`Pager::whole`]) is one round trip where the API allows it:
//! the token list without `limit` answers every token, read as it arrives
//! ([`Client::stream_list`]), so the output starts before the body has all arrived and
//! memory holds a few tokens, not the body. If that reply says `pagination.hasMore` (a
//! deployment that pages anyway), paging goes on from where it ended; if it is larger than
//! rtctl reads in one reply, or breaks off part way (the connection closes, a proxy cuts it,
//! `--timeout` runs out while it arrives), the read starts again as a paged one, each page
//! retried as any request is, skipping the tokens already handed out. A token listed twice,
//! in the reply or on a page after it, fails the read, naming it: a list that repeats
//! itself would show a token twice, and leave another out of an export.
//!
//! Paged reads of the whole list hide the network too: once a page comes back full, the
//! next pages are asked for before they are needed (offsets make that possible): a window
//! of four, doubling while pages keep coming back full, up to [`MAX_WINDOW`], halved when
//! the server answers 429. Pages are still handed out in order, one at a time, so the
//! output streams and memory holds at most a window of pages; the first failed page is the
//! read's error; requests in flight past the end are dropped unread.

use std::collections::HashSet;

use serde_json::Value;

use super::client::{Batch, Client, Streamed};
use super::error::ApiError;
use super::types::{ClientToken, Conversation, Page};

/// The most pages one list may take: a million tokens at 200 a page. A server that keeps
/// saying `hasMore` beyond that is broken; a list never grows without bound.
pub(crate) const MAX_PAGES: u64 = 5_000;

/// The most pages in flight at once when reading a whole list: enough to cover a round trip
/// of tens of milliseconds with pages of 200, few enough to be polite to the service.
pub(crate) const MAX_WINDOW: usize = 8;

/// A page requested, not yet read.
type Pending<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = (u64, Result<Page<T>, ApiError>)> + 'a>>;

/// A list the API pages through.
pub(crate) trait Listing: Clone {
    type Item;
    /// What tells items apart (an id), to notice a server sending the same page again.
    fn key(item: &Self::Item) -> Option<&str>;
    /// The largest page the API gives.
    const MAX_PAGE: u32;
    /// What the list holds, for messages ("tokens").
    const NOUN: &'static str;
    /// The path and array key of the whole list in one reply, where the API answers one
    /// when `limit` is left out (the token list); `None` where it only pages.
    const UNPAGED: Option<(&'static str, &'static str)> = None;
    /// Whether a whole read fails on an item listed twice (by [`Listing::key`]): callers act
    /// on each token of the account once, and a list that repeats one is broken (it has left
    /// another out, or shifted under its pages). A conversation list may shift while it is
    /// paged on a busy token; a repeat there is only shown twice.
    const DISTINCT: bool = false;
    /// An item of an unpaged reply; `None` when the value is not one.
    fn item(value: Value) -> Option<Self::Item>;
    /// Fetches `limit` items from `offset`.
    fn page(
        &self,
        client: &Client,
        limit: u32,
        offset: u64,
    ) -> impl Future<Output = Result<Page<Self::Item>, ApiError>>;
}

/// The account's client tokens.
#[derive(Clone, Copy)]
pub(crate) struct Tokens;

impl Listing for Tokens {
    type Item = ClientToken;

    fn key(item: &ClientToken) -> Option<&str> {
        use crate::token::TokenView;
        Some(item.id())
    }
    const MAX_PAGE: u32 = 200;
    const NOUN: &'static str = "tokens";
    const UNPAGED: Option<(&'static str, &'static str)> =
        Some(("/v1/client-tokens", "clientTokens"));
    const DISTINCT: bool = true;

    fn item(value: Value) -> Option<ClientToken> {
        ClientToken::from_value(value)
    }

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
#[derive(Clone, Copy)]
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
    const NOUN: &'static str = "conversations";

    fn item(value: Value) -> Option<Conversation> {
        match value {
            Value::Object(raw) => Some(Conversation { raw }),
            _ => None,
        }
    }

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
    /// The offset of the next page handed out.
    offset: u64,
    finished: bool,
    pages: u64,
    /// The keys of the last page, to notice the same page again.
    last_keys: Vec<String>,
    /// Pages fetched ahead, when reading the whole list: at most this many in flight.
    window: usize,
    ahead: bool,
    /// Requested, in offset order, not yet handed out (each polled as it loads; handed out
    /// in order).
    in_flight: futures_util::stream::FuturesOrdered<Pending<'a, L::Item>>,
    /// The offset the next request asks for.
    next_request: u64,
    /// 429s seen when the window was last sized.
    throttled: u64,
    /// The widest the window may grow: [`MAX_WINDOW`], narrowed by 429s.
    widest: usize,
    /// The whole list as one reply, before any page.
    unpaged: Unpaged<'a>,
    /// Every key a whole read has handed out, the one-reply list's and the pages': one
    /// listed again fails the read where the list is [`Listing::DISTINCT`].
    handed: HashSet<String>,
    /// Keys the one-reply list handed out before the read started again page by page: the
    /// pages skip each once, rather than hand it out again.
    skip: HashSet<String>,
}

/// Where a whole read stands with its one-reply list.
enum Unpaged<'a> {
    /// To be asked for, before any page.
    Wanted,
    Reading(Box<Streamed<'a>>),
    /// Read, or never wanted: pages from here on.
    Over,
}

impl<'a, L: Listing + 'a> Pager<'a, L> {
    pub(crate) fn new(client: &'a Client, listing: L) -> Pager<'a, L> {
        Pager {
            client,
            listing,
            offset: 0,
            finished: false,
            pages: 0,
            last_keys: Vec::new(),
            window: 1,
            ahead: false,
            in_flight: futures_util::stream::FuturesOrdered::new(),
            next_request: 0,
            throttled: client.throttled(),
            widest: MAX_WINDOW,
            unpaged: Unpaged::Over,
            handed: HashSet::new(),
            skip: HashSet::new(),
        }
    }

    /// Reads the whole list: in one reply where the API has one, and otherwise (or after
    /// it) page by page, fetching pages ahead while they come back full.
    pub(crate) fn whole(mut self) -> Pager<'a, L> {
        self.ahead = true;
        if L::UNPAGED.is_some() {
            self.unpaged = Unpaged::Wanted;
        }
        self
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
        loop {
            if let Some(items) = self.next_unpaged().await? {
                return Ok(Some(items));
            }
            if self.finished {
                return Ok(None);
            }
            let items = self.next_page(limit).await?;
            if !items.is_empty() || self.finished {
                return Ok(Some(items));
            }
            // Every item of the page was handed out before the read started again.
        }
    }

    /// The next items of the one-reply list; `None` once it is over (then `finished` says
    /// whether pages follow).
    async fn next_unpaged(&mut self) -> Result<Option<Vec<L::Item>>, ApiError> {
        let Some((path, key)) = L::UNPAGED else {
            return Ok(None);
        };
        loop {
            let reply = match &mut self.unpaged {
                Unpaged::Over => return Ok(None),
                Unpaged::Wanted => {
                    self.unpaged =
                        Unpaged::Reading(Box::new(self.client.stream_list(path, key).await?));
                    continue;
                }
                Unpaged::Reading(reply) => reply,
            };
            match reply.next().await? {
                Batch::Items(values) => {
                    let items = values
                        .into_iter()
                        .map(|value| {
                            L::item(value).ok_or_else(|| {
                                ApiError::InvalidReply(format!(
                                    "the list of {} holds an element that is not one",
                                    L::NOUN
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    for item in &items {
                        self.hand_out(item)?;
                    }
                    self.offset += items.len() as u64;
                    return Ok(Some(items));
                }
                Batch::TooLarge => self.restart("it is larger than rtctl reads in one reply"),
                Batch::Broken(error) => self.restart(&error.to_string()),
                Batch::End(pagination) => {
                    self.unpaged = Unpaged::Over;
                    self.pages += 1;
                    if more_after_whole(pagination.as_ref(), self.offset) {
                        // The list is long: page on from here, the window open.
                        self.next_request = self.offset;
                        self.window = 4.min(self.widest);
                    } else {
                        self.finished = true;
                    }
                }
            }
            return Ok(None);
        }
    }

    /// The one-reply list is abandoned part way (`why`): the read starts again page by page
    /// from the start, each page retried as any request is, and what the list handed out
    /// is skipped, by key.
    fn restart(&mut self, why: &str) {
        self.client.note(&format!(
            "the whole list was not read in one reply ({why}); reading it again page by page"
        ));
        self.unpaged = Unpaged::Over;
        self.skip = self.handed.clone();
        self.offset = 0;
        self.next_request = 0;
    }

    /// Records `item` as handed out by a whole read; one handed out before fails the read
    /// where the list is [`Listing::DISTINCT`].
    fn hand_out(&mut self, item: &L::Item) -> Result<(), ApiError> {
        let Some(key) = L::key(item) else {
            return Ok(());
        };
        if !self.handed.insert(key.to_string()) && L::DISTINCT {
            return Err(ApiError::InvalidReply(format!(
                "the server listed {} twice (again at {} of the list): rtctl stops rather than show it twice, or act on a list that has left another out",
                crate::untrusted::for_terminal(key, false),
                self.offset,
            )));
        }
        Ok(())
    }

    /// The next page from the API, without what a restarted read already handed out.
    async fn next_page(&mut self, limit: u32) -> Result<Vec<L::Item>, ApiError> {
        if self.pages >= MAX_PAGES {
            return Err(ApiError::InvalidReply(format!(
                "the list goes on past {MAX_PAGES} pages; rtctl stops there rather than page forever"
            )));
        }
        let limit = limit.clamp(1, L::MAX_PAGE);
        // Ahead of the reader only at the full page size: offsets assume full pages.
        let window = if self.ahead && limit == L::MAX_PAGE {
            self.window
        } else {
            1
        };
        while self.in_flight.len() < window
            && self.pages + (self.in_flight.len() as u64) < MAX_PAGES
        {
            let (client, listing, at) = (self.client, self.listing.clone(), self.next_request);
            self.in_flight.push_back(Box::pin(async move {
                (at, listing.page(client, limit, at).await)
            }));
            self.next_request += u64::from(limit);
        }
        let Some((at, page)) = futures_util::StreamExt::next(&mut self.in_flight).await else {
            self.finished = true;
            return Ok(Vec::new());
        };
        debug_assert_eq!(at, self.offset);
        let page = page?;
        if page.items.len() > limit as usize {
            return Err(ApiError::InvalidReply(format!(
                "asked for at most {limit} {noun} at offset {offset}, the server sent {sent}: it does not honour `limit`, so its pages would overlap; rtctl stops rather than show {noun} twice",
                noun = L::NOUN,
                offset = self.offset,
                sent = page.items.len(),
            )));
        }
        let keys: Vec<String> = page
            .items
            .iter()
            .filter_map(|item| L::key(item).map(str::to_string))
            .collect();
        // A page all of whose items were handed out already (and not by an abandoned
        // one-reply read) is the same page again, whether it follows a page or the whole list.
        let repeated = self.ahead
            && keys
                .iter()
                .all(|k| self.handed.contains(k) && !self.skip.contains(k));
        if !keys.is_empty() && (keys == self.last_keys || repeated) {
            return Err(ApiError::InvalidReply(format!(
                "the server sent the same page again at offset {}; rtctl stops rather than page forever",
                self.offset
            )));
        }
        let more = page.has_more_after(limit);
        let received = page.items.len() as u64;
        let mut items = Vec::with_capacity(page.items.len());
        for item in page.items {
            if self.ahead {
                // Handed out before the read started again: not again.
                if L::key(&item).is_some_and(|k| self.skip.remove(k)) {
                    continue;
                }
                self.hand_out(&item)?;
            }
            items.push(item);
        }
        self.pages += 1;
        self.last_keys = keys;
        self.finished = !more;
        self.offset += received;
        if self.finished {
            // Past the end: what is still in flight is dropped, unread.
            self.in_flight = futures_util::stream::FuturesOrdered::new();
        } else if received < u64::from(limit) {
            // More follows a short page: the offsets asked for ahead are wrong. Start again
            // from where this page ended, one page at a time.
            self.in_flight = futures_util::stream::FuturesOrdered::new();
            self.next_request = self.offset;
            self.window = 1;
        } else {
            self.size_window();
        }
        Ok(items)
    }

    /// Doubles the window after a full page; halves it after a new 429, and from then on
    /// never widens it past that: the server has said to slow down.
    fn size_window(&mut self) {
        let throttled = self.client.throttled();
        if throttled > self.throttled {
            self.throttled = throttled;
            self.window = (self.window / 2).max(1);
            self.widest = self.window;
        } else if self.ahead {
            // The first full page says the list is long: four pages ahead at once (two round
            // trips cover 1,000 tokens), then double.
            self.window = (self.window * 2).max(4).min(self.widest);
        }
    }

    /// Whether the last page has been read.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Whether pages follow a whole-list reply of `received` items: it says `hasMore`, or it
/// omits that but names a `limit` it filled.
fn more_after_whole(pagination: Option<&Value>, received: u64) -> bool {
    let Some(pagination) = pagination.and_then(Value::as_object) else {
        return false;
    };
    received > 0
        && match pagination.get("hasMore").and_then(Value::as_bool) {
            Some(more) => more,
            None => pagination
                .get("limit")
                .and_then(Value::as_u64)
                .is_some_and(|limit| received >= limit),
        }
}

impl Client {
    /// The token list, page by page at the API's largest page size.
    pub(crate) fn tokens(&self) -> Pager<'_, Tokens> {
        Pager::new(self, Tokens)
    }

    /// The whole token list, page by page, with pages fetched ahead (see [`Pager::whole`]).
    pub(crate) fn all_tokens(&self) -> Pager<'_, Tokens> {
        Pager::new(self, Tokens).whole()
    }

    /// Every token. Any page failing fails the whole read: a caller acting on "all tokens"
    /// must never act on part of them.
    pub(crate) async fn list_all(&self) -> Result<Vec<ClientToken>, ApiError> {
        let mut pages = self.all_tokens();
        let mut tokens = Vec::new();
        while let Some(page) = pages.next().await? {
            tokens.extend(page);
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::api::client::{ApiKey, ClientOptions};

    /// A list of `total` items served from memory, recording each request and how many were
    /// in flight when it started; each page takes a few turns of the executor, so pages
    /// asked for together are in flight together.
    #[derive(Clone)]
    struct Fake {
        total: u64,
        log: Rc<RefCell<Vec<(u64, usize)>>>,
        in_flight: Rc<RefCell<usize>>,
        fail_at: Option<u64>,
        throttle_at: Option<u64>,
        repeat: bool,
        /// Pages hold this many more items than asked for.
        oversize: u64,
    }

    impl Fake {
        fn new(total: u64) -> Fake {
            Fake {
                total,
                log: Rc::default(),
                in_flight: Rc::default(),
                fail_at: None,
                throttle_at: None,
                repeat: false,
                oversize: 0,
            }
        }
    }

    impl Listing for Fake {
        type Item = String;
        fn key(item: &String) -> Option<&str> {
            Some(item)
        }
        const MAX_PAGE: u32 = 200;
        const NOUN: &'static str = "items";
        fn item(value: Value) -> Option<String> {
            value.as_str().map(str::to_string)
        }
        async fn page(
            &self,
            client: &Client,
            limit: u32,
            offset: u64,
        ) -> Result<Page<String>, ApiError> {
            *self.in_flight.borrow_mut() += 1;
            self.log
                .borrow_mut()
                .push((offset, *self.in_flight.borrow()));
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            *self.in_flight.borrow_mut() -= 1;
            if self.fail_at == Some(offset) {
                return Err(ApiError::InvalidReply("broken page".into()));
            }
            if self.throttle_at == Some(offset) {
                client.note_throttled();
            }
            let start = if self.repeat { 0 } else { offset };
            let end = (start + u64::from(limit) + self.oversize).min(self.total);
            let items: Vec<String> = (start..end).map(|i| format!("item {i}")).collect();
            let more = end < self.total;
            Ok(Page::new(
                items,
                Some(&serde_json::json!({"hasMore": more})),
            ))
        }
    }

    fn client() -> Client {
        Client::new(ClientOptions {
            base_url: "http://127.0.0.1:9".into(),
            key: ApiKey::new("rt_test_unused"),
            timeout: std::time::Duration::from_secs(1),
            retries: 0,
            log: None,
            notify: None,
            server_date: Default::default(),
        })
        .unwrap()
    }

    async fn read_all(pager: &mut Pager<'_, Fake>) -> Result<Vec<String>, ApiError> {
        let mut items = Vec::new();
        while let Some(page) = pager.next().await? {
            items.extend(page);
        }
        Ok(items)
    }

    #[tokio::test]
    async fn a_whole_read_keeps_pages_in_flight_in_order_and_asks_for_each_once() {
        let client = client();
        let fake = Fake::new(3000);
        let mut pager = Pager::new(&client, fake.clone()).whole();
        let items = read_all(&mut pager).await.unwrap();
        assert_eq!(
            items,
            (0..3000).map(|i| format!("item {i}")).collect::<Vec<_>>()
        );
        let log = fake.log.borrow();
        let mut offsets: Vec<u64> = log.iter().map(|(o, _)| *o).collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(offsets.len(), log.len(), "no page asked for twice: {log:?}");
        assert!(log.iter().any(|(_, n)| *n > 1), "pages overlap: {log:?}");
        assert!(log.iter().all(|(_, n)| *n <= MAX_WINDOW), "{log:?}");
        // Past the end, at most a window's worth of requests were wasted.
        assert!(log.len() <= 15 + MAX_WINDOW, "{log:?}");
    }

    #[tokio::test]
    async fn a_limited_read_asks_one_page_at_a_time() {
        let client = client();
        let fake = Fake::new(3000);
        let mut pager = Pager::new(&client, fake.clone());
        pager.next().await.unwrap();
        pager.next().await.unwrap();
        assert_eq!(fake.log.borrow().len(), 2);
        assert!(fake.log.borrow().iter().all(|(_, n)| *n == 1));
    }

    #[tokio::test]
    async fn a_page_failing_mid_window_fails_the_read() {
        let client = client();
        let mut fake = Fake::new(3000);
        fake.fail_at = Some(1000);
        let mut pager = Pager::new(&client, fake).whole();
        let mut handed = 0;
        let error = loop {
            match pager.next().await {
                Ok(Some(page)) => handed += page.len(),
                Ok(None) => panic!("the read ended without its broken page"),
                Err(e) => break e,
            }
        };
        assert_eq!(handed, 1000, "the pages before it, and nothing after");
        assert!(error.to_string().contains("broken page"));
    }

    #[tokio::test]
    async fn a_429_narrows_the_window() {
        let client = client();
        let mut fake = Fake::new(4000);
        fake.throttle_at = Some(1400);
        let mut pager = Pager::new(&client, fake).whole();
        let mut windows = Vec::new();
        while pager.next().await.unwrap().is_some() {
            windows.push(pager.window);
        }
        let first_wide = windows.iter().position(|w| *w == MAX_WINDOW).unwrap();
        let narrowed = windows.iter().rposition(|w| *w == MAX_WINDOW).unwrap() + 1;
        assert!(first_wide < narrowed, "{windows:?}");
        assert!(
            windows[narrowed..].iter().all(|w| *w <= MAX_WINDOW / 2),
            "halved after the 429, and kept narrower: {windows:?}"
        );
    }

    #[tokio::test]
    async fn a_page_larger_than_asked_for_fails_the_read() {
        let client = client();
        let mut fake = Fake::new(1000);
        fake.oversize = 1;
        for whole in [false, true] {
            let pager = Pager::new(&client, fake.clone());
            let mut pager = if whole { pager.whole() } else { pager };
            let error = read_all(&mut pager).await.unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("asked for at most 200 items at offset 0, the server sent 201"),
                "{error}"
            );
        }
        // Exactly `limit` is a full page, not a broken one.
        fake.oversize = 0;
        assert_eq!(
            read_all(&mut Pager::new(&client, fake))
                .await
                .unwrap()
                .len(),
            1000
        );
    }

    #[test]
    fn a_whole_reply_pages_on_when_it_says_so() {
        let more = |p: Value, n| more_after_whole(Some(&p), n);
        assert!(more(serde_json::json!({"hasMore": true}), 50));
        assert!(!more(serde_json::json!({"hasMore": false}), 50));
        assert!(
            !more(serde_json::json!({"hasMore": true}), 0),
            "an empty reply ends"
        );
        assert!(
            more(serde_json::json!({"limit": 50}), 50),
            "a full page without hasMore"
        );
        assert!(!more(serde_json::json!({"limit": 50}), 49));
        assert!(!more(serde_json::json!(null), 50));
        assert!(!more_after_whole(None, 50), "no pagination: the whole list");
    }

    #[tokio::test]
    async fn a_repeating_page_still_stops_the_read() {
        let client = client();
        let mut fake = Fake::new(1000);
        fake.repeat = true;
        let mut pager = Pager::new(&client, fake).whole();
        let error = read_all(&mut pager).await.unwrap_err();
        assert!(error.to_string().contains("same page again"), "{error}");
    }
}
