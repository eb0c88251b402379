//! The live check's work: the same requests to the live service and to a fresh emulator
//! seeded with what the live account returned, every reply checked against the contract,
//! and every difference between the two named.
//!
//! What is compared: statuses exactly; bodies by key set and JSON type; values only where
//! they echo the request or are documented defaults (a step lists those paths); ids, token
//! values, hints and timestamps by format only. Token values are never printed or stored:
//! the emulator is seeded with values of the same shape, and every text the check prints
//! has every value it saw replaced.
//!
//! Shared with the integration suite (`tests/cli/live_check.rs`), which runs it against an
//! emulator, against one made to drift, and interrupts it.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use reqwest::Method;
use rtctl::signals::{Signal, Signals};
use rtctl_emulator::{self as emulator, Config, DEFAULT_API_KEY, Seed};
use serde_json::{Map, Value, json};

use crate::schema::Document;

/// Exit codes, as rtctl's (design, "Exit codes").
pub const SAME: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const KEY_REJECTED: u8 = 4;
pub const DIFFERENT: u8 = 8;

/// The largest reply read (rtctl's own bound).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// What the test token of `--write` is called: this, then the run's random part.
pub const NAME_PREFIX: &str = "rtctl-live-check-";

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// `RTCTL_LIVE_API_URL`.
    pub live_url: String,
    /// `RTCTL_LIVE_API_KEY`.
    pub live_key: String,
    /// Run the self-cleaning write scenario too.
    pub write: bool,
    /// Print the differences as JSON on stdout instead of a table.
    pub json: bool,
    /// Also write the JSON report here.
    pub report: Option<std::path::PathBuf>,
    /// The flow or agent the test token runs (`--write`); by default the first an account
    /// token names.
    pub flow: Option<String>,
    pub agent: Option<String>,
    /// The random part of the test token's name.
    pub run_id: String,
    /// Per request.
    pub timeout: Duration,
}

/// One difference between the live service and the emulator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The request, ids as placeholders: `GET /v1/client-tokens/{id}`.
    pub step: String,
    /// Where in the reply: `status`, a dotted path, or `reply`.
    pub at: String,
    /// `status`, `only-live` (a key the emulator lacks), `only-emulator` (a key the live
    /// service lacks), `type`, `value`, `format`, `items`, `order`, `contract`, `steps`.
    pub kind: String,
    pub live: String,
    pub emulator: String,
}

/// Why a run stopped early.
#[derive(Debug)]
enum Stop {
    Failed(String),
    KeyRejected(String),
    /// A signal came while a create was let finish; the run ends once it has.
    Interrupted,
}

/// One request, as sent to either side.
#[derive(Debug, Clone)]
struct Request {
    method: Method,
    /// With its query; ids of the write scenario as `{token}`/`{successor}`.
    path: String,
    body: Option<Value>,
    /// Send the API key (one step checks the refusal without it).
    auth: bool,
    /// Dotted paths of the reply compared by value: echoes of the request, documented
    /// defaults.
    values: Vec<&'static str>,
}

impl Request {
    fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            body: None,
            auth: true,
            values: Vec::new(),
        }
    }

    fn with(method: Method, path: impl Into<String>, body: Option<Value>) -> Request {
        Request {
            method,
            body,
            ..Request::get(path)
        }
    }

    fn values(mut self, paths: &[&'static str]) -> Request {
        self.values = paths.to_vec();
        self
    }

    /// `METHOD PATH` with the account's own ids replaced by placeholders.
    fn label(&self, ids: &[(&str, &str)]) -> String {
        let mut path = self.path.clone();
        for (id, placeholder) in ids {
            path = path.replace(id, placeholder);
        }
        format!("{} {path}", self.method)
    }
}

/// A reply, as read.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
    json: Option<Value>,
    /// How long a 429 asked to wait (`retry-after-ms`, or `Retry-After` in seconds).
    retry_after: Option<Duration>,
}

/// How many times a 429 is waited out before the check gives up on the request.
const THROTTLED_RETRIES: u32 = 2;

/// The longest wait a 429 may ask for: a check is run by hand.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// One side: the live service or the emulator.
struct Side {
    name: &'static str,
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Side {
    fn new(name: &'static str, base: &str, key: &str, timeout: Duration) -> Result<Side, Stop> {
        rtctl::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("rtctl-live-check/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| Stop::Failed(format!("no HTTP client: {e}")))?;
        Ok(Side {
            name,
            http,
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    /// Sends `request`, waiting out a 429 twice at most (as long as the reply asks, up to
    /// 30 s, else a few seconds). A side still rate-limited after that cannot be measured:
    /// the check could not run, which is not a difference in status.
    async fn send(&self, request: &Request) -> Result<Reply, Stop> {
        let mut throttled = 0;
        loop {
            let reply = self.send_once(request).await?;
            if reply.status != 429 {
                return Ok(reply);
            }
            if throttled == THROTTLED_RETRIES {
                return Err(Stop::Failed(format!(
                    "{} {} on the {}: still rate-limited (429) after {} tries; run the check again later",
                    request.method,
                    request.path,
                    self.name,
                    throttled + 1
                )));
            }
            throttled += 1;
            let wait = reply
                .retry_after
                .unwrap_or(Duration::from_secs(2 * u64::from(throttled)));
            tokio::time::sleep(wait.min(LONGEST_WAIT)).await;
        }
    }

    async fn send_once(&self, request: &Request) -> Result<Reply, Stop> {
        let url = format!("{}{}", self.base, request.path);
        let mut builder = self.http.request(request.method.clone(), &url);
        if request.auth {
            builder = builder.bearer_auth(&self.key);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let failed = |e: reqwest::Error| {
            Stop::Failed(format!(
                "{} {} on the {}: {}",
                request.method,
                request.path,
                self.name,
                root_cause(&e)
            ))
        };
        let mut response = builder.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let retry_after = header("retry-after-ms")
            .map(Duration::from_millis)
            .or_else(|| header("retry-after").map(Duration::from_secs));
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(Stop::Failed(format!(
                    "{} {} on the {}: the reply is larger than 16 MiB",
                    request.method, request.path, self.name
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let json = serde_json::from_slice(&body).ok();
        Ok(Reply {
            status,
            content_type,
            body,
            json,
            retry_after,
        })
    }

    /// Every token of the account: the unpaged list, then pages if it says `hasMore`.
    async fn all_tokens(&self) -> Result<Vec<Value>, Stop> {
        let first = self.send(&Request::get("/v1/client-tokens")).await?;
        let mut tokens = tokens_of(&first)
            .ok_or_else(|| Stop::Failed(format!("the {}'s token list is unreadable", self.name)))?;
        let mut more = first
            .json
            .as_ref()
            .is_some_and(|j| j["pagination"]["hasMore"] == true);
        let mut pages = 0;
        while more && pages < 500 {
            pages += 1;
            let path = format!("/v1/client-tokens?limit=200&offset={}", tokens.len());
            let page = self.send(&Request::get(path)).await?;
            let items = tokens_of(&page).unwrap_or_default();
            more = !items.is_empty()
                && page
                    .json
                    .as_ref()
                    .is_some_and(|j| j["pagination"]["hasMore"] == true);
            tokens.extend(items);
        }
        Ok(tokens)
    }
}

fn tokens_of(reply: &Reply) -> Option<Vec<Value>> {
    (reply.status == 200)
        .then(|| reply.json.as_ref()?["clientTokens"].as_array().cloned())
        .flatten()
}

/// The innermost cause of a transport error.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// What both sides were asked, and answered.
struct Exchange {
    step: String,
    request: Request,
    live: Reply,
    emulator: Option<Reply>,
}

/// The test token's ids on one side, for the write scenario's paths.
#[derive(Default)]
struct Ids {
    token: Option<String>,
    successor: Option<String>,
}

/// What a run of `--write` must clean up on the live service.
#[derive(Default)]
struct Cleanup {
    /// Ids created on the live service and not yet deleted.
    created: Vec<String>,
    /// A create went unanswered (its connection broke, or it timed out): the service may
    /// have carried it out, or may yet, under the run's name.
    unanswered: bool,
    /// The sweep by name found a token of the run (and deleted it).
    found_by_name: bool,
    done: bool,
}

/// Runs the check: talk (progress, errors) on `talk`, the report on `out`. The exit code.
pub async fn run(
    options: &Options,
    signals: &Signals,
    out: &mut dyn Write,
    talk: &mut dyn Write,
) -> u8 {
    let cleanup = RefCell::new(Cleanup::default());
    let secrets = RefCell::new(BTreeSet::from([options.live_key.clone()]));
    // A first signal ends the check at once, except while a create is in flight: that is
    // let finish (its reply says what to delete), and the check ends right after it.
    let outcome = tokio::select! {
        outcome = check(options, signals, &cleanup, &secrets, talk) => Some(outcome),
        _ = signals.unheld() => None,
    };
    let outcome = outcome.filter(|_| signals.received().is_none());
    let code = match &outcome {
        None | Some(Err(Stop::Interrupted)) => signals.received().map_or(130, Signal::exit_code),
        Some(Ok(found)) if found.differences.is_empty() => SAME,
        Some(Ok(_)) => DIFFERENT,
        Some(Err(Stop::KeyRejected(_))) => KEY_REJECTED,
        Some(Err(Stop::Failed(_))) => FAILED,
    };
    // Server text (an error body, a name) is escaped like everything rtctl prints.
    let redact = |text: &str| redacted(text, &secrets.borrow());
    let shown_text = |text: &str| rtctl::for_terminal(&redact(text), false).into_owned();
    if outcome.is_none() {
        let _ = writeln!(talk, "live-check: interrupted; cleaning up before exiting");
    }
    // The test token goes, whatever happened (a second signal abandons the cleanup).
    let cleaned = if options.write && !cleanup.borrow().done {
        // A second signal, even one that came before the cleanup began, abandons it.
        tokio::select! {
            biased;
            _ = signals.after(1) => Err(cleanup.borrow().created.clone()),
            result = clean_up(options, &cleanup) => result,
        }
    } else {
        Ok(())
    };
    if let Err(left) = &cleaned {
        let _ = writeln!(
            talk,
            "live-check: error: test tokens may be left on the live service; delete them with:"
        );
        for id in left {
            let _ = writeln!(talk, "  rtctl tokens delete {id} --yes");
        }
        if left.is_empty() {
            let _ = writeln!(
                talk,
                "  (ids unknown: look for tokens named {NAME_PREFIX}{})",
                options.run_id
            );
        }
    } else if cleanup.borrow().unanswered && !cleanup.borrow().found_by_name {
        let _ = writeln!(
            talk,
            "live-check: warning: a create of a test token went unanswered, and the service may still carry it out: look for tokens named {NAME_PREFIX}{} later, and delete them with rtctl tokens delete ID --yes",
            options.run_id
        );
    }
    match outcome {
        None | Some(Err(Stop::Interrupted)) => code,
        Some(Err(Stop::Failed(why) | Stop::KeyRejected(why))) => {
            let _ = writeln!(talk, "live-check: error: {}", shown_text(&why));
            code
        }
        Some(Ok(found)) => {
            let differences = &found.differences;
            let report = json!({
                "live": options.live_url,
                "write": options.write,
                "requests": found.requests,
                "differences": differences,
            });
            let text = if options.json {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                )
            } else {
                table(differences)
            };
            let _ = out.write_all(redact(&text).as_bytes());
            if let Some(path) = &options.report {
                let json = redact(&serde_json::to_string_pretty(&report).unwrap_or_default());
                if let Err(e) = std::fs::write(path, json + "\n") {
                    let _ = writeln!(
                        talk,
                        "live-check: error: could not write {}: {e}",
                        path.display()
                    );
                    return FAILED;
                }
            }
            let _ = writeln!(
                talk,
                "live-check: {} difference{} in {} requests to each side",
                differences.len(),
                if differences.len() == 1 { "" } else { "s" },
                found.requests
            );
            if cleaned.is_err() { FAILED } else { code }
        }
    }
}

/// What a whole run found.
#[derive(Debug)]
struct Findings {
    differences: Vec<Difference>,
    /// How many requests each side was asked.
    requests: usize,
}

/// The differences as a table: a header, then one row each.
fn table(differences: &[Difference]) -> String {
    if differences.is_empty() {
        return String::new();
    }
    let headers = ["STEP", "AT", "KIND", "LIVE", "EMULATOR"];
    let rows: Vec<[String; 5]> = differences
        .iter()
        .map(|d| [&d.step, &d.at, &d.kind, &d.live, &d.emulator].map(|cell| shown(cell)))
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 4 {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut text = line(headers);
    for row in &rows {
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    text
}

/// A cell on one line, nothing in it able to steer a terminal (rtctl's own escaping:
/// control characters and bidirectional overrides).
fn shown(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let flat = rtctl::for_terminal(&spaced, false).into_owned();
    if flat.chars().count() > 160 {
        flat.chars().take(157).collect::<String>() + "..."
    } else {
        flat
    }
}

/// `text` with every secret replaced.
fn redacted(text: &str, secrets: &BTreeSet<String>) -> String {
    let mut text = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        text = text.replace(secret.as_str(), "[value]");
    }
    text
}

/// The check proper: the live side's reads (and scenario, cleaned up), then the emulator's.
async fn check(
    options: &Options,
    signals: &Signals,
    cleanup: &RefCell<Cleanup>,
    secrets: &RefCell<BTreeSet<String>>,
    talk: &mut dyn Write,
) -> Result<Findings, Stop> {
    if !(options.live_url.starts_with("https://") || options.live_url.starts_with("http://")) {
        return Err(Stop::Failed(format!(
            "RTCTL_LIVE_API_URL is not an http(s) URL: {:?}",
            options.live_url
        )));
    }
    let live = Side::new(
        "live service",
        &options.live_url,
        &options.live_key,
        options.timeout,
    )?;
    let _ = writeln!(
        talk,
        "live-check: reading the live account at {}",
        rtctl::for_terminal(&live.base, false)
    );
    let mut exchanges = Vec::new();
    let record = |exchanges: &mut Vec<Exchange>, step: String, request: Request, reply: Reply| {
        collect_secrets(reply.json.as_ref(), &mut secrets.borrow_mut());
        exchanges.push(Exchange {
            step,
            request,
            live: reply,
            emulator: None,
        });
    };

    // Who the key is: a refusal here is a rejected key.
    let profile = Request::get("/v1/users/profile");
    let reply = live.send(&profile).await?;
    if matches!(reply.status, 401 | 403) {
        return Err(Stop::KeyRejected(format!(
            "the live service rejected the key: {} {}",
            reply.status,
            error_text(&reply)
        )));
    }
    record(&mut exchanges, profile.label(&[]), profile, reply);

    // The list without and with `limit`; the account, to seed the emulator with.
    let whole = Request::get("/v1/client-tokens");
    let reply = live.send(&whole).await?;
    let account = tokens_of(&reply).unwrap_or_default();
    record(&mut exchanges, whole.label(&[]), whole, reply);
    let paged = Request::get("/v1/client-tokens?limit=2&offset=0")
        .values(&["pagination.limit", "pagination.offset"]);
    let reply = live.send(&paged).await?;
    record(&mut exchanges, paged.label(&[]), paged, reply);

    // One token, its conversations; an id that is no token, and one that is no id. The token
    // used last (the first of those), as the likeliest to have conversations and a surface
    // with traffic to compare.
    let used_last = account
        .iter()
        .filter(|t| t["id"].as_str().is_some_and(is_plain_id))
        .rev()
        .max_by_key(|t| t["lastUsedAt"].as_str().unwrap_or_default());
    let first = used_last.and_then(|t| t["id"].as_str());
    let mut seeds = Seeds::default();
    if let Some(id) = first {
        let ids = [(id, "{id}")];
        for request in [
            Request::get(format!("/v1/client-tokens/{id}")),
            Request::get(format!("/v1/client-tokens/{id}/conversations?limit=5"))
                .values(&["pagination.limit", "pagination.offset"]),
        ] {
            let reply = live.send(&request).await?;
            if request.path.contains("/conversations") {
                seeds.conversations = listed(&reply, "conversations")
                    .into_iter()
                    .map(|c| (id.to_string(), c))
                    .collect();
            }
            record(&mut exchanges, request.label(&ids), request, reply);
        }
    }
    for request in [
        Request::get("/v1/client-tokens/ct_0000000000000000"),
        Request::get("/v1/client-tokens/not-an-id").values(&["error"]),
        Request {
            auth: false,
            ..Request::get("/v1/client-tokens")
        },
    ] {
        let reply = live.send(&request).await?;
        let step = if request.auth {
            request.label(&[])
        } else {
            format!("{} (no key)", request.label(&[]))
        };
        record(&mut exchanges, step, request, reply);
    }

    // Surfaces: the list, and one chat surface's details and observed origins.
    let surfaces_request = Request::get("/v1/surfaces?limit=20").values(&["pagination.limit"]);
    let reply = live.send(&surfaces_request).await?;
    let surfaces: Vec<Value> = reply
        .json
        .as_ref()
        .and_then(|j| j["data"].as_array().cloned())
        .filter(|_| reply.status == 200)
        .unwrap_or_default();
    record(
        &mut exchanges,
        surfaces_request.label(&[]),
        surfaces_request,
        reply,
    );
    let mut details = Vec::new();
    // That token's surface, else the first chat surface, else the first.
    let plain = |s: &&Value| {
        s["productId"].as_str().is_some_and(is_plain_id)
            && s["id"].as_str().is_some_and(is_plain_id)
    };
    let chat = surfaces
        .iter()
        .filter(plain)
        .find(|s| used_last.is_some_and(|t| t["productSurfaceId"] == s["id"]))
        .or_else(|| surfaces.iter().filter(plain).find(|s| s["type"] == "chat"))
        .or_else(|| surfaces.iter().find(plain))
        .map(|s| {
            let text = |key: &str| s[key].as_str().unwrap_or_default().to_string();
            (text("productId"), text("id"))
        });
    if let Some((product, surface)) = &chat {
        let ids = [
            (product.as_str(), "{product}"),
            (surface.as_str(), "{surface}"),
        ];
        for request in [
            Request::get(format!("/v1/products/{product}/surfaces/{surface}")),
            Request::get(format!(
                "/v1/products/{product}/surfaces/{surface}/observed-origins"
            )),
        ] {
            let reply = live.send(&request).await?;
            if request.path.ends_with("observed-origins") {
                seeds.observed = listed(&reply, "origins")
                    .into_iter()
                    .map(|o| (surface.clone(), o))
                    .collect();
            } else if reply.status == 200 {
                details.extend(reply.json.clone());
            }
            record(&mut exchanges, request.label(&ids), request, reply);
        }
    }

    // The write scenario on a throwaway test token, cleaned up before anything else.
    let target = target(options, &account);
    let name = format!("{NAME_PREFIX}{}", options.run_id);
    let scenario_start = exchanges.len();
    if options.write {
        let Some(target) = &target else {
            return Err(Stop::Failed(
                "--write needs a flow or agent for its test token: the account's tokens name none; pass --flow ID or --agent ID".into(),
            ));
        };
        let _ = writeln!(
            talk,
            "live-check: writing: a test token named {name}, deleted afterwards"
        );
        let mut ids = Ids::default();
        let result = scenario(
            &live,
            signals,
            &name,
            target,
            &mut ids,
            cleanup,
            |step, request, reply| record(&mut exchanges, step, request, reply),
        )
        .await;
        clean_up(options, cleanup).await.map_err(|left| {
            Stop::Failed(format!(
                "the test tokens could not all be deleted ({})",
                left.join(", ")
            ))
        })?;
        result?;
    }

    // The emulator, seeded with what the live account returned, asked the same.
    let _ = writeln!(talk, "live-check: asking a fresh emulator the same");
    let (flows, agents) = catalogue(&account, target.as_ref());
    let running = emulator::start(Config {
        seed: Seed::None,
        flows,
        agents,
        ..Config::default()
    })
    .await
    .map_err(|e| Stop::Failed(format!("the emulator did not start: {e}")))?;
    let emulated = Side::new("emulator", &running.url(), DEFAULT_API_KEY, options.timeout)?;
    let seeded = seed(&emulated, &account, &surfaces, &details, &seeds).await;
    let result = async {
        seeded?;
        for exchange in &mut exchanges[..scenario_start] {
            exchange.emulator = Some(emulated.send(&exchange.request).await?);
        }
        let mut beyond = Vec::new();
        if let (true, Some(target)) = (options.write, &target) {
            let mut replies = Vec::new();
            let cleanup = RefCell::new(Cleanup::default());
            scenario(
                &emulated,
                &Signals::new(),
                &name,
                target,
                &mut Ids::default(),
                &cleanup,
                |step, _, reply| replies.push((step, reply)),
            )
            .await?;
            let mut replies = replies.into_iter();
            for exchange in &mut exchanges[scenario_start..] {
                exchange.emulator = replies.next().map(|(_, reply)| reply);
            }
            // The live scenario stopped early (its create failed); the emulator's went on.
            beyond.extend(replies.map(|(step, reply)| Difference {
                step,
                at: "reply".into(),
                kind: "steps".into(),
                live: "(not asked: the scenario stopped)".into(),
                emulator: format!("answered {}", reply.status),
            }));
        }
        beyond.extend(against_a_token_of_its_own(&emulated, first, &account, &exchanges).await?);
        Ok::<_, Stop>(beyond)
    }
    .await;
    running.shutdown().await;
    let beyond = result?;
    for exchange in &exchanges {
        if let Some(reply) = &exchange.emulator {
            collect_secrets(reply.json.as_ref(), &mut secrets.borrow_mut());
        }
    }

    let document = Document::load();
    let mut differences = Vec::new();
    for exchange in &exchanges {
        compare(&document, exchange, &mut differences);
    }
    differences.extend(beyond);
    Ok(Findings {
        differences,
        requests: exchanges.len(),
    })
}

/// Ids the check puts into a path: those of the API's own alphabet.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The flow or agent the test token runs.
#[derive(Debug, Clone)]
enum Target {
    Flow(String),
    Agent(String),
}

fn target(options: &Options, account: &[Value]) -> Option<Target> {
    if let Some(flow) = &options.flow {
        return Some(Target::Flow(flow.clone()));
    }
    if let Some(agent) = &options.agent {
        return Some(Target::Agent(agent.clone()));
    }
    let first = |key: &str| {
        account
            .iter()
            .find_map(|t| t[key].as_array()?.first()?.as_str().map(str::to_string))
    };
    first("flowIds")
        .map(Target::Flow)
        .or_else(|| first("agentIds").map(Target::Agent))
}

/// The flows and agents the emulator must know: every one the account's tokens name.
fn catalogue(account: &[Value], target: Option<&Target>) -> (Vec<String>, Vec<String>) {
    let names = |key: &str| -> Vec<String> {
        account
            .iter()
            .filter_map(|t| t[key].as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let (mut flows, mut agents) = (names("flowIds"), names("agentIds"));
    match target {
        Some(Target::Flow(f)) => flows.push(f.clone()),
        Some(Target::Agent(a)) => agents.push(a.clone()),
        None => {}
    }
    (flows, agents)
}

/// What the live account showed besides its tokens and surfaces, to seed the emulator with:
/// one token's conversations and one surface's observed origins (by the token's and the
/// surface's id).
#[derive(Default)]
struct Seeds {
    conversations: Vec<(String, Value)>,
    observed: Vec<(String, Value)>,
}

/// The array under `key` of a successful reply.
fn listed(reply: &Reply, key: &str) -> Vec<Value> {
    reply
        .json
        .as_ref()
        .and_then(|j| j[key].as_array().cloned())
        .filter(|_| reply.status == 200)
        .unwrap_or_default()
}

/// Seeds the emulator with the live account: its tokens (each value replaced by one of the
/// same shape), its surfaces, and what `seeds` holds. Conversations and sightings are stored
/// as records and rendered by the emulator (one it cannot hold shows as a difference).
async fn seed(
    emulated: &Side,
    account: &[Value],
    surfaces: &[Value],
    details: &[Value],
    seeds: &Seeds,
) -> Result<(), Stop> {
    for token in account {
        let mut token = token.clone();
        if let Some(value) = token.get("tokenValue").and_then(Value::as_str) {
            token["tokenValue"] = json!(same_shape(value));
        }
        let request = Request::with(Method::POST, "/__emulator/tokens", Some(token));
        let reply = emulated.send(&request).await?;
        if reply.status != 201 {
            return Err(Stop::Failed(format!(
                "the emulator refused a token of the live account: {}",
                error_text(&reply)
            )));
        }
    }
    for surface in surfaces {
        // The list's fields, with the details' (its items) over them where they were read.
        let mut detailed = surface.clone();
        if let (Some(map), Some(Value::Object(more))) = (
            detailed.as_object_mut(),
            details.iter().find(|d| d["id"] == surface["id"]),
        ) {
            map.extend(more.clone());
        }
        for candidate in [detailed, surface.clone()] {
            let request = Request::with(Method::POST, "/__emulator/surfaces", Some(candidate));
            // A surface the emulator cannot hold shows as differences below.
            if emulated.send(&request).await?.status == 201 {
                break;
            }
        }
    }
    for (token, conversation) in &seeds.conversations {
        let mut record = conversation.clone();
        record["tokenId"] = json!(token);
        let request = Request::with(Method::POST, "/__emulator/conversations", Some(record));
        emulated.send(&request).await?;
    }
    for (surface, observed) in &seeds.observed {
        let mut record = observed.clone();
        if let Some(map) = record.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "origin" | "firstSeenAt" | "lastSeenAt"));
        }
        record["surfaceId"] = json!(surface);
        let request = Request::with(Method::POST, "/__emulator/observed-origins", Some(record));
        emulated.send(&request).await?;
    }
    Ok(())
}

/// The live token object against one the emulator made itself, through the public API.
/// The emulator is seeded with the live tokens as they are, so its list and get only echo
/// the live service's object back: drift in the object's shape (a field the service added
/// or dropped, a type changed) shows only against a token of the emulator's own. Key sets
/// are compared, and JSON types where neither side is null (a new token is unused); a
/// token's `config` is its owner's, not compared.
async fn against_a_token_of_its_own(
    emulated: &Side,
    model: Option<&str>,
    account: &[Value],
    exchanges: &[Exchange],
) -> Result<Vec<Difference>, Stop> {
    let Some(model) = model.and_then(|id| account.iter().find(|t| t["id"] == id)) else {
        return Ok(Vec::new());
    };
    let target = ["flowIds", "agentIds"].into_iter().find_map(|key| {
        let ids = model[key].as_array().filter(|a| !a.is_empty())?;
        Some((key, ids.clone()))
    });
    let Some((key, ids)) = target else {
        return Ok(Vec::new());
    };
    let environment = model["environment"].as_str().unwrap_or("test");
    let body = json!({
        "name": format!("{NAME_PREFIX}model"), "allowedOrigins": ["http://127.0.0.1:9"],
        "environment": environment, key: ids,
    });
    let created = emulated
        .send(&Request::with(
            Method::POST,
            "/v1/client-tokens",
            Some(body),
        ))
        .await?;
    let Some(id) = created
        .json
        .as_ref()
        .and_then(|j| j["clientToken"]["id"].as_str())
        .filter(|_| created.status == 201)
        .map(str::to_string)
    else {
        return Err(Stop::Failed(format!(
            "the emulator refused a token like the account's: {} {}",
            created.status,
            error_text(&created)
        )));
    };
    let got = emulated
        .send(&Request::get(format!("/v1/client-tokens/{id}")))
        .await?;
    let list = emulated.send(&Request::get("/v1/client-tokens")).await?;
    let own_got = got.json.as_ref().map(|j| j["clientToken"].clone());
    let own_listed = tokens_of(&list)
        .unwrap_or_default()
        .into_iter()
        .find(|t| t["id"] == id.as_str());
    let live = |step: &str| {
        exchanges
            .iter()
            .find(|e| e.step == step)
            .and_then(|e| e.live.json.clone())
            .filter(|_| {
                exchanges
                    .iter()
                    .any(|e| e.step == step && e.live.status == 200)
            })
    };
    let mut found = BTreeSet::new();
    let mut out = Vec::new();
    let made = " (against a token the emulator made)";
    if let (Some(live), Some(own)) = (live("GET /v1/client-tokens/{id}"), own_got) {
        keys_and_types(
            &format!("GET /v1/client-tokens/{{id}}{made}"),
            "clientToken",
            &live["clientToken"],
            &own,
            &mut found,
            &mut out,
        );
    }
    if let (Some(live), Some(own)) = (live("GET /v1/client-tokens"), own_listed) {
        for token in live["clientTokens"].as_array().into_iter().flatten() {
            keys_and_types(
                &format!("GET /v1/client-tokens{made}"),
                "clientTokens.*",
                token,
                &own,
                &mut found,
                &mut out,
            );
        }
    }
    Ok(out)
}

/// The top-level keys of two objects, and the JSON types of those both hold non-null: each
/// difference once (`seen` keeps those already named).
fn keys_and_types(
    step: &str,
    at: &str,
    live: &Value,
    emulated: &Value,
    seen: &mut BTreeSet<(String, String)>,
    out: &mut Vec<Difference>,
) {
    let (Some(l), Some(e)) = (live.as_object(), emulated.as_object()) else {
        return;
    };
    let mut push = |key: &str, kind: &str, live: &str, emulator: &str| {
        let at = join(at, key);
        if seen.insert((at.clone(), kind.to_string())) {
            out.push(Difference {
                step: step.to_string(),
                at,
                kind: kind.into(),
                live: live.into(),
                emulator: emulator.into(),
            });
        }
    };
    for (key, value) in l {
        match e.get(key) {
            None => push(key, "only-live", type_of(value), "(absent)"),
            Some(other)
                if !value.is_null() && !other.is_null() && type_of(value) != type_of(other) =>
            {
                push(key, "type", type_of(value), type_of(other))
            }
            Some(_) => {}
        }
    }
    for (key, value) in e {
        if !l.contains_key(key) {
            push(key, "only-emulator", "(absent)", type_of(value));
        }
    }
}

/// A made-up value with the same prefix, length and alphabet as `value`.
fn same_shape(value: &str) -> String {
    let prefix_len = value.rfind('_').map_or(0, |i| i + 1);
    let (prefix, rest) = value.split_at(prefix_len);
    let mut seed = 0u64;
    let random: String = rest
        .chars()
        .map(|c| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pick = (seed >> 33) as usize;
            if c.is_ascii_digit() {
                char::from(b'0' + (pick % 10) as u8)
            } else if c.is_ascii_alphanumeric() {
                const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
                char::from(ALPHABET[pick % ALPHABET.len()])
            } else {
                c
            }
        })
        .collect();
    format!("{prefix}{random}")
}

/// The write scenario on one side: create a test token, read it, update it, read its value,
/// rotate it, create an overlap's successor and mark the old one, delete both, and find the
/// first gone. Each exchange goes to `record`; ids created are noted in `cleanup` as soon as
/// they are known (and the sweep by name finds those whose reply was lost).
async fn scenario(
    side: &Side,
    signals: &Signals,
    name: &str,
    target: &Target,
    ids: &mut Ids,
    cleanup: &RefCell<Cleanup>,
    mut record: impl FnMut(String, Request, Reply),
) -> Result<(), Stop> {
    let (key, id) = match target {
        Target::Flow(id) => ("flowIds", id),
        Target::Agent(id) => ("agentIds", id),
    };
    let fields = json!({
        "name": name,
        "allowedOrigins": ["http://127.0.0.1:9"],
        "environment": "test",
        key: [id],
    });
    let echoes_and_defaults = [
        "clientToken.name",
        "clientToken.allowedOrigins",
        "clientToken.environment",
        "clientToken.flowIds",
        "clientToken.agentIds",
        "clientToken.rateLimitPerMinute",
        "clientToken.rateLimitPerHour",
        "clientToken.maxMessagesPerSession",
        "clientToken.sessionIdleTimeoutMinutes",
        "clientToken.pinToVersion",
        "clientToken.config",
        "clientToken.isActive",
        "clientToken.tokenPrefix",
    ];
    let successor_name = format!("{name}-successor");
    let steps: Vec<(&str, Request)> = vec![
        (
            "create",
            Request::with(Method::POST, "/v1/client-tokens", Some(fields.clone()))
                .values(&echoes_and_defaults),
        ),
        (
            "get",
            Request::get("/v1/client-tokens/{token}").values(&echoes_and_defaults),
        ),
        (
            "update",
            Request::with(
                Method::PUT,
                "/v1/client-tokens/{token}",
                Some(json!({"rateLimitPerMinute": 5})),
            )
            .values(&["clientToken.rateLimitPerMinute", "clientToken.name"]),
        ),
        ("value", Request::get("/v1/client-tokens/{token}/token")),
        (
            "rotate",
            Request::with(Method::POST, "/v1/client-tokens/{token}/regenerate", None),
        ),
        (
            "successor",
            Request::with(
                Method::POST,
                "/v1/client-tokens",
                Some({
                    let mut successor = fields.clone();
                    successor["name"] = json!(successor_name);
                    successor
                }),
            )
            .values(&echoes_and_defaults),
        ),
        (
            "mark",
            Request::with(
                Method::PUT,
                "/v1/client-tokens/{token}",
                Some(
                    json!({"name": format!("{name} (retiring after 2099-01-01T00:00Z → {{successor}})")}),
                ),
            ),
        ),
        (
            "delete successor",
            Request::with(Method::DELETE, "/v1/client-tokens/{successor}", None)
                .values(&["success"]),
        ),
        (
            "delete",
            Request::with(Method::DELETE, "/v1/client-tokens/{token}", None).values(&["success"]),
        ),
        ("gone", Request::get("/v1/client-tokens/{token}")),
    ];
    for (what, template) in steps {
        let mut request = template.clone();
        let resolve = |text: &str, ids: &Ids| {
            text.replace(
                "{token}",
                ids.token.as_deref().unwrap_or("ct_0000000000000000"),
            )
            .replace(
                "{successor}",
                ids.successor.as_deref().unwrap_or("ct_0000000000000000"),
            )
        };
        request.path = resolve(&request.path, ids);
        if let Some(Value::String(name)) = request.body.as_mut().and_then(|b| b.get_mut("name")) {
            *name = resolve(name, ids);
        }
        if signals.received().is_some() {
            return Err(Stop::Interrupted);
        }
        // A create in flight is let finish (within --timeout) even after a signal: dropped,
        // the service may still carry it out, and its id would never be known. Its reply
        // names the token to delete; a lost reply leaves the sweep by name to find it.
        let creates = matches!(what, "create" | "successor");
        let hold = creates.then(|| signals.hold());
        let reply = side.send(&request).await;
        drop(hold);
        if creates && reply.is_err() {
            cleanup.borrow_mut().unanswered = true;
        }
        let reply = reply?;
        if reply.status == 403 && what == "create" {
            return Err(Stop::KeyRejected(format!(
                "the {} refused to create the test token: 403 {} (--write needs a key that may write client tokens)",
                side.name,
                error_text(&reply)
            )));
        }
        let created = reply
            .json
            .as_ref()
            .and_then(|j| j["clientToken"]["id"].as_str())
            .map(str::to_string)
            .filter(|_| matches!(what, "create" | "successor") && reply.status == 201);
        if let Some(id) = &created {
            cleanup.borrow_mut().created.push(id.clone());
            match what {
                "create" => ids.token = Some(id.clone()),
                _ => ids.successor = Some(id.clone()),
            }
        }
        if matches!(what, "delete" | "delete successor") && reply.status == 200 {
            let gone = if what == "delete" {
                &ids.token
            } else {
                &ids.successor
            };
            cleanup
                .borrow_mut()
                .created
                .retain(|id| Some(id) != gone.as_ref());
        }
        let step = format!("{what}: {}", template.label(&[]));
        let stop = what == "create" && created.is_none();
        record(step, request, reply);
        if stop {
            // Without its token the rest of the scenario means nothing.
            break;
        }
    }
    Ok(())
}

/// Deletes every test token this run created on the live service, then any the live list
/// still holds under the run's name (a create whose reply was lost). `Err`: ids left.
async fn clean_up(options: &Options, cleanup: &RefCell<Cleanup>) -> Result<(), Vec<String>> {
    let live = Side::new(
        "live service",
        &options.live_url,
        &options.live_key,
        options.timeout,
    )
    .map_err(|_| cleanup.borrow().created.clone())?;
    let prefix = format!("{NAME_PREFIX}{}", options.run_id);
    let delete = async |id: &str| {
        let request = Request::with(Method::DELETE, format!("/v1/client-tokens/{id}"), None);
        matches!(live.send(&request).await, Ok(reply) if matches!(reply.status, 200 | 404))
    };
    let created = cleanup.borrow().created.clone();
    for id in created {
        if delete(&id).await {
            cleanup.borrow_mut().created.retain(|c| *c != id);
        }
    }
    let left = match live.all_tokens().await {
        Ok(tokens) => tokens
            .iter()
            .filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect::<Vec<_>>(),
        Err(_) => return Err(cleanup.borrow().created.clone()),
    };
    let mut remaining = cleanup.borrow().created.clone();
    for id in left {
        cleanup.borrow_mut().found_by_name = true;
        if !delete(&id).await && !remaining.contains(&id) {
            remaining.push(id);
        }
    }
    cleanup.borrow_mut().done = true;
    if remaining.is_empty() {
        Ok(())
    } else {
        Err(remaining)
    }
}

/// Every token value in a reply, to be kept out of everything printed.
fn collect_secrets(value: Option<&Value>, secrets: &mut BTreeSet<String>) {
    match value {
        Some(Value::Object(map)) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("token" | "tokenValue", Value::String(secret)) => {
                        secrets.insert(secret.clone());
                    }
                    _ => collect_secrets(Some(value), secrets),
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                collect_secrets(Some(item), secrets);
            }
        }
        _ => {}
    }
}

fn error_text(reply: &Reply) -> String {
    reply
        .json
        .as_ref()
        .and_then(|j| j["error"].as_str())
        .map_or_else(
            || {
                String::from_utf8_lossy(&reply.body)
                    .chars()
                    .take(200)
                    .collect()
            },
            str::to_string,
        )
}

/// Everything that differs in one exchange, and what breaks the contract on either side.
fn compare(document: &Document, exchange: &Exchange, out: &mut Vec<Difference>) {
    let Some(emulated) = &exchange.emulator else {
        out.push(difference(
            exchange,
            "reply",
            "steps",
            "answered",
            "(not asked: the scenario stopped)",
        ));
        return;
    };
    let live = &exchange.live;
    let path_only = exchange.request.path.split('?').next().unwrap_or_default();
    for (side, reply) in [("live", live), ("emulator", emulated)] {
        for problem in document.reply_problems(
            exchange.request.method.as_str(),
            path_only,
            reply.status,
            reply.content_type.as_deref(),
            &reply.body,
            false,
        ) {
            let (l, e) = if side == "live" {
                (problem, String::new())
            } else {
                (String::new(), problem)
            };
            out.push(difference(exchange, "reply", "contract", &l, &e));
        }
    }
    if live.status != emulated.status {
        out.push(difference(
            exchange,
            "status",
            "status",
            &live.status.to_string(),
            &emulated.status.to_string(),
        ));
        return;
    }
    match (&live.json, &emulated.json) {
        (Some(l), Some(e)) => shape(exchange, "", l, e, out),
        (None, None) => {}
        (l, e) => out.push(difference(
            exchange,
            "reply",
            "type",
            if l.is_some() { "JSON" } else { "not JSON" },
            if e.is_some() { "JSON" } else { "not JSON" },
        )),
    }
}

fn difference(exchange: &Exchange, at: &str, kind: &str, live: &str, emulator: &str) -> Difference {
    Difference {
        step: exchange.step.clone(),
        at: if at.is_empty() {
            "reply".into()
        } else {
            at.to_string()
        },
        kind: kind.into(),
        live: live.into(),
        emulator: emulator.into(),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// Compares two replies' shapes at `at`: key sets and types everywhere, values where the
/// step says, formats where the key says.
fn shape(exchange: &Exchange, at: &str, live: &Value, emulated: &Value, out: &mut Vec<Difference>) {
    if type_of(live) != type_of(emulated) {
        out.push(difference(
            exchange,
            at,
            "type",
            type_of(live),
            type_of(emulated),
        ));
        return;
    }
    let pattern = wildcard(at);
    if exchange.request.values.iter().any(|p| *p == pattern) {
        if live != emulated {
            out.push(difference(
                exchange,
                at,
                "value",
                &live.to_string(),
                &emulated.to_string(),
            ));
        }
        return;
    }
    match (live, emulated) {
        (Value::Object(l), Value::Object(e)) => objects(exchange, at, l, e, out),
        (Value::Array(l), Value::Array(e)) => arrays(exchange, at, l, e, out),
        (Value::String(l), Value::String(e)) => {
            let key = at.rsplit('.').next().unwrap_or(at);
            if by_format(key) {
                let (fl, fe) = (format_of(key, l), format_of(key, e));
                if !same_format(&fl, &fe) {
                    out.push(difference(exchange, at, "format", &fl, &fe));
                }
            }
        }
        _ => {}
    }
}

/// `clientTokens.3.id` as a step's value paths name it: `clientTokens.*.id`.
fn wildcard(at: &str) -> String {
    at.split('.')
        .map(|part| {
            if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
                "*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn objects(
    exchange: &Exchange,
    at: &str,
    l: &Map<String, Value>,
    e: &Map<String, Value>,
    out: &mut Vec<Difference>,
) {
    for (key, value) in l {
        match e.get(key) {
            Some(other) => shape(exchange, &join(at, key), value, other, out),
            None => out.push(difference(
                exchange,
                &join(at, key),
                "only-live",
                type_of(value),
                "(absent)",
            )),
        }
    }
    for (key, value) in e {
        if !l.contains_key(key) {
            out.push(difference(
                exchange,
                &join(at, key),
                "only-emulator",
                "(absent)",
                type_of(value),
            ));
        }
    }
}

fn arrays(exchange: &Exchange, at: &str, l: &[Value], e: &[Value], out: &mut Vec<Difference>) {
    let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_string);
    let identified = !l.is_empty() && !e.is_empty() && l.iter().chain(e).all(|v| id(v).is_some());
    if identified {
        let ids = |items: &[Value]| items.iter().filter_map(id).collect::<Vec<_>>();
        let (li, ei) = (ids(l), ids(e));
        let (ls, es): (BTreeSet<_>, BTreeSet<_>) = (li.iter().collect(), ei.iter().collect());
        if ls != es {
            out.push(difference(
                exchange,
                at,
                "items",
                &describe_ids(&li),
                &describe_ids(&ei),
            ));
        } else if li != ei {
            out.push(difference(
                exchange,
                at,
                "order",
                &describe_ids(&li),
                &describe_ids(&ei),
            ));
        }
        for (index, item) in l.iter().enumerate() {
            if let Some(other) = e.iter().find(|o| id(o) == id(item)) {
                shape(exchange, &join(at, &index.to_string()), item, other, out);
            }
        }
        return;
    }
    if l.len() != e.len() {
        let count = |n: usize| format!("{n} item{}", if n == 1 { "" } else { "s" });
        out.push(difference(
            exchange,
            at,
            "items",
            &count(l.len()),
            &count(e.len()),
        ));
    }
    for (index, (item, other)) in l.iter().zip(e).enumerate() {
        shape(exchange, &join(at, &index.to_string()), item, other, out);
    }
}

fn describe_ids(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = ids.len().saturating_sub(5);
    if more > 0 {
        format!("{} ids: {} and {more} more", ids.len(), shown.join(", "))
    } else {
        format!("{} ids: {}", ids.len(), shown.join(", "))
    }
}

/// Keys whose values are compared by format only: ids, token values, hints, timestamps.
fn by_format(key: &str) -> bool {
    key == "id"
        || key.ends_with("Id")
        || key.ends_with("At")
        || matches!(
            key,
            "token" | "tokenValue" | "tokenHint" | "nextCursor" | "prevCursor"
        )
}

/// Whether two formats could describe values of one kind. A random value's alphabet is only
/// what one sample shows: a base62 hint may come out all hex (`a1b2`), a hex id all digits,
/// so digits, hex and base62 of one length and prefix are the same format; any other
/// difference (a length, a prefix, a UUID against an id, other characters) is a difference.
fn same_format(live: &str, emulated: &str) -> bool {
    let widest = |format: &str| {
        format
            .replace(" digits", " base62")
            .replace(" hex", " base62")
    };
    live == emulated || widest(live) == widest(emulated)
}

/// What a value looks like, never what it is: `ct_ + 16 hex`, `ct_live_ + 32 base62`,
/// `UUID`, `ISO-8601 UTC, 3 fraction digits`.
pub fn format_of(key: &str, text: &str) -> String {
    if key.ends_with("At") {
        return match text.parse::<jiff::Timestamp>() {
            Ok(_) => {
                let zone = if text.ends_with('Z') {
                    "UTC"
                } else {
                    "with an offset"
                };
                let fraction = text.split_once('.').map_or(0, |(_, rest)| {
                    rest.chars().take_while(char::is_ascii_digit).count()
                });
                format!("ISO-8601 {zone}, {fraction} fraction digits")
            }
            Err(_) => format!("not ISO-8601 ({} characters)", text.chars().count()),
        };
    }
    let uuid = text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if uuid {
        return "UUID".into();
    }
    let prefix_len = text
        .rfind('_')
        .filter(|i| {
            text[..*i]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .map_or(0, |i| i + 1);
    let (prefix, rest) = text.split_at(prefix_len);
    let count = rest.chars().count();
    let alphabet = if rest.is_empty() {
        "nothing"
    } else if rest.chars().all(|c| c.is_ascii_digit()) {
        "digits"
    } else if rest
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        "hex"
    } else if rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        "base62"
    } else {
        "characters"
    };
    if prefix.is_empty() {
        format!("{count} {alphabet}")
    } else {
        format!("{prefix} + {count} {alphabet}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_different_lengths_are_a_difference() {
        let exchange = |live: Value, emulator: Value| Exchange {
            step: "GET /x".into(),
            request: Request::get("/x"),
            live: Reply {
                status: 200,
                content_type: None,
                body: Vec::new(),
                json: Some(live),
                retry_after: None,
            },
            emulator: Some(Reply {
                status: 200,
                content_type: None,
                body: Vec::new(),
                json: Some(emulator),
                retry_after: None,
            }),
        };
        let differences = |live: Value, emulator: Value| {
            let exchange = exchange(live.clone(), emulator.clone());
            let mut out = Vec::new();
            shape(&exchange, "", &live, &emulator, &mut out);
            out
        };
        // One side empty: nothing to pair up, still a difference.
        let out = differences(
            json!({"origins": []}),
            json!({"origins": [{"origin": "a"}]}),
        );
        assert_eq!(
            (
                out[0].at.as_str(),
                out[0].kind.as_str(),
                out[0].live.as_str(),
                out[0].emulator.as_str()
            ),
            ("origins", "items", "0 items", "1 item"),
            "{out:?}"
        );
        // Items without ids, more on one side.
        let out = differences(json!({"a": [1, 2, 3]}), json!({"a": [1, 2]}));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].live, "3 items");
        // The same length: only what differs inside.
        assert!(differences(json!({"a": [1, 2]}), json!({"a": [3, 4]})).is_empty());
    }

    #[test]
    fn formats_say_the_shape_never_the_value() {
        assert_eq!(format_of("id", "ct_0d3e00000000a003"), "ct_ + 16 hex");
        assert_eq!(
            format_of("token", "ct_live_Tqv68h7ZYaxxhfFINd9YqGpIMnwPMYVz"),
            "ct_live_ + 32 base62"
        );
        assert_eq!(
            format_of("id", "0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c"),
            "UUID"
        );
        assert_eq!(
            format_of("createdAt", "2026-01-01T00:00:00.000Z"),
            "ISO-8601 UTC, 3 fraction digits"
        );
        assert_eq!(
            format_of("createdAt", "2026-01-01T00:00:00+01:00"),
            "ISO-8601 with an offset, 0 fraction digits"
        );
        assert_eq!(format_of("tokenHint", "a1B2"), "4 base62");
        // One sample of a random value may show a narrower alphabet than its kind has.
        assert!(same_format(
            &format_of("tokenHint", "a1b2"),
            &format_of("tokenHint", "a1B2")
        ));
        assert!(same_format(
            &format_of("id", "ct_0123456789012345"),
            &format_of("id", "ct_0d3e00000000a003")
        ));
        assert!(!same_format(
            &format_of("id", "ct_0d3e00000000a003"),
            &format_of("id", "ct_0d3e00000000a0")
        ));
        assert!(!same_format(
            &format_of("tokenHint", "a1B2"),
            &format_of("tokenHint", "a-B2")
        ));
        assert_eq!(
            same_shape("ct_live_Tqv68h7Z").len(),
            "ct_live_Tqv68h7Z".len()
        );
        assert!(same_shape("ct_live_Tqv68h7Z").starts_with("ct_live_"));
        assert_ne!(same_shape("ct_live_Tqv68h7Z"), "ct_live_Tqv68h7Z");
    }
}
