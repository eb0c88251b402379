//! The real widget in a real browser (issue 20): headless Chromium, driven over WebDriver by
//! chromedriver, loads a page served from loopback that embeds Runtype's own chat widget
//! (`@runtypelabs/persona` 4.17.0 from the npm registry, its whole `dist/` served beside the
//! page) with `data-api-url` pointing at an emulator, and everything asserted is what the
//! browser itself reports: the widget's bubbles and the browser's console. One page is the
//! embed code `rtctl tokens snippet` prints, served as printed.
//!
//! Hostnames are real-looking (`shop.rtctl.test`, `other.rtctl.test`, `api.rtctl.test`) and
//! mapped to 127.0.0.1 with Chromium's `--host-resolver-rules`, so a live token's origin list
//! decides, as in production (test tokens admit localhost whatever their list says).
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`) and the widget in `.cache/persona` (`scripts/fetch-persona.sh`); `.ci/run`
//! installs all three. Without them the test is skipped with a note, except under `CI`, where
//! that is a failure. Run it alone with `cargo test --test cli browser`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::harness::Server;

const PERSONA_VERSION: &str = "4.17.0";

/// The longest the browser may take to show something: generous, for a loaded two-core
/// machine; a passing run waits only as long as the page needs.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the test needs from the machine, or why it cannot run.
struct Prerequisites {
    chromium: PathBuf,
    chromedriver: PathBuf,
    dist: PathBuf,
}

fn prerequisites() -> Option<Prerequisites> {
    let from_env = |var: &str, default: &str| {
        std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    let found = Prerequisites {
        chromium: from_env("RTCTL_CHROMIUM", "/usr/bin/chromium"),
        chromedriver: from_env("RTCTL_CHROMEDRIVER", "/usr/bin/chromedriver"),
        dist: std::env::var_os("RTCTL_PERSONA_DIST").map_or_else(
            || {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(".cache/persona")
                    .join(PERSONA_VERSION)
                    .join("package/dist")
            },
            PathBuf::from,
        ),
    };
    let missing: Vec<String> = [
        (&found.chromium, "Chromium (apt-get install chromium)"),
        (
            &found.chromedriver,
            "chromedriver (apt-get install chromium-driver)",
        ),
        (&found.dist, "the widget (bash scripts/fetch-persona.sh)"),
    ]
    .into_iter()
    .filter(|(path, _)| !path.exists())
    .map(|(path, what)| format!("{what} at {}", path.display()))
    .collect();
    if missing.is_empty() {
        return Some(found);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the browser test cannot run under CI without: {}; .ci/run installs them",
        missing.join(", ")
    );
    // Past the test harness's capture, so a skip is seen in the run's output, not hidden.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the browser test did not run: missing {}",
        missing.join(", ")
    );
    None
}

/// Starts chromedriver on a port of its own choosing (`--port=0`, so no other test can take
/// it first) in a process group of its own, and reads the port from its first lines.
fn start_driver(path: &Path) -> (Child, u16) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut driver = Command::new(path)
        .arg("--port=0")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let mut lines = std::io::BufReader::new(driver.stdout.take().unwrap()).lines();
    let port = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split_once("started successfully on port ")?.1;
            rest.trim_end_matches('.').parse::<u16>().ok()
        })
        .expect("chromedriver says which port it listens on");
    // What it prints later is drained, so a full pipe never stops it.
    std::thread::spawn(move || lines.for_each(drop));
    (driver, port)
}

/// chromedriver and one headless Chromium session. On drop, failed test or not, the whole
/// process group goes: chromedriver and every Chromium process it started.
struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals the group; no memory is involved.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.driver.wait();
    }
}

/// chromedriver's log endpoint: the browser's console, CORS errors included.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

impl Browser {
    async fn start(needs: &Prerequisites) -> Browser {
        let (driver, port) = start_driver(&needs.chromedriver);
        let profile = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": needs.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-crash-reporter",
                    "--disable-breakpad",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--host-resolver-rules=MAP *.rtctl.test 127.0.0.1",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let caps = caps.as_object().unwrap().clone();
        // chromedriver listens a moment after it starts: connecting is retried until it does
        // (or it has exited), never after a fixed sleep.
        let mut browser = Browser {
            client: None,
            driver,
            _profile: profile,
        };
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    browser.client = Some(client);
                    return browser;
                }
                Err(e) => {
                    let exited = browser.driver.try_wait().ok().flatten();
                    assert!(
                        exited.is_none() && std::time::Instant::now() < deadline,
                        "chromedriver never took a session: {e} (exited: {exited:?})"
                    );
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// Opens `url` and sends one message, as a visitor would: types it into the widget's
    /// composer and presses its send button. The text of the assistant's reply bubble: the
    /// canned answer, or the widget's own error.
    async fn ask(&self, url: &str) -> String {
        let client = self.client();
        client.goto(url).await.unwrap();
        let composer = client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css("textarea[data-persona-composer-input]"))
            .await
            .unwrap_or_else(|e| panic!("the widget never opened on {url}: {e}"));
        composer
            .send_keys("hello from the browser test")
            .await
            .unwrap();
        client
            .find(Locator::Css("button[data-persona-composer-submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // A reply bubble's id is the widget's pre-generated `ast_…` (the welcome is not).
        let reply = "//div[contains(concat(' ', normalize-space(@class), ' '), ' persona-message-assistant-bubble ') \
             and starts-with(@data-message-id, 'ast_')]\
             //*[contains(concat(' ', normalize-space(@class), ' '), ' persona-message-content ') \
             and (contains(., 'canned reply') or contains(., 'Details'))]";
        let bubble = client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(reply))
            .await
            .unwrap_or_else(|e| panic!("no reply appeared on {url}: {e}"));
        bubble.text().await.unwrap()
    }

    /// The browser's console since the last read.
    async fn console(&self) -> Vec<String> {
        let entries = self.client().issue_cmd(BrowserLog).await.unwrap();
        entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

#[derive(serde::Deserialize)]
struct PageQuery {
    token: String,
    api: String,
}

/// The page a site would serve: the widget's script tag as Runtype's guide writes it, with
/// no `version` or `cdn` (either would send the browser to a CDN), so the installer loads its
/// bundles from beside itself. Every message is a new session (`persistState: false`).
async fn page(Query(q): Query<PageQuery>) -> Response {
    let safe = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-:/.".contains(c))
    };
    if !safe(&q.token) || !safe(&q.api) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>rtctl widget test</title></head><body>
<script src="/persona/install.global.js" data-runtype-token="{token}" data-api-url="{api}"
  data-config='{{"windowKey":"persona","config":{{"launcher":{{"autoExpand":true}},"persistState":false}}}}'></script>
</body></html>"#,
        token = q.token,
        api = q.api
    ))
    .into_response()
}

/// A page holding `snippet` as `rtctl tokens snippet` printed it. A script before it opens
/// the widget at once and keeps no state between visits, as the test's other page does with
/// `data-config` (the installer merges `window.siteAgentConfig` with the tag's attributes).
fn snippet_page(snippet: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>rtctl snippet test</title></head><body>
<script>window.siteAgentConfig = {{ windowKey: "persona", config: {{ launcher: {{ autoExpand: true }}, persistState: false }} }};</script>
{snippet}</body></html>"#
    )
}

/// The widget package's `dist/` files, with the types module scripts need.
fn assets(dist: PathBuf) -> Router {
    Router::new().route(
        "/persona/{*file}",
        get(move |UrlPath(file): UrlPath<String>| {
            let dist = dist.clone();
            async move {
                let plain = file
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..");
                let path = dist.join(&file);
                let Ok(bytes) = std::fs::read(&path)
                    .map_err(|_| ())
                    .and_then(|b| plain.then_some(b).ok_or(()))
                else {
                    return StatusCode::NOT_FOUND.into_response();
                };
                let kind = match path.extension().and_then(|e| e.to_str()) {
                    Some("js") => "text/javascript",
                    Some("css") => "text/css",
                    Some("map") => "application/json",
                    _ => "application/octet-stream",
                };
                ([(header::CONTENT_TYPE, kind)], bytes).into_response()
            }
        }),
    )
}

#[test]
fn the_widget_in_a_real_browser_follows_origins_rotation_and_deactivation() {
    let Some(needs) = prerequisites() else {
        return;
    };
    // The page reaches the emulator as api.rtctl.test: a name it answers only when told.
    let server = Server::with(rtctl_emulator::Config {
        seed: rtctl_emulator::Seed::None,
        allowed_hosts: vec!["api.rtctl.test".parse().unwrap()],
        ..Default::default()
    });
    // `/snippet`: a page around what `rtctl tokens snippet` printed, set below.
    let snippet = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let printed = snippet.clone();
    let site = server.hostile(
        Router::new()
            .route("/", get(page))
            .route(
                "/snippet",
                get(move || {
                    let body = printed.lock().unwrap().clone();
                    async move { Html(snippet_page(&body)) }
                }),
            )
            .merge(assets(needs.dist.clone())),
    );
    let port = |url: &str| url.rsplit(':').next().unwrap().to_string();
    let (site_port, api_port) = (port(&site), port(&server.url));
    let shop = format!("http://shop.rtctl.test:{site_port}");
    let other = format!("http://other.rtctl.test:{site_port}");
    let api = format!("http://api.rtctl.test:{api_port}");
    let id = server.create(
        "Shop widget",
        json!({"environment": "live", "allowedOrigins": [shop]}),
    );
    let at = |origin: &str, value: &str| format!("{origin}/?token={value}&api={api}");
    let browser = server.runtime.block_on(Browser::start(&needs));
    let ask = |url: String| server.runtime.block_on(browser.ask(&url));
    let console = || server.runtime.block_on(browser.console());

    // An admitted origin: a session, and the canned reply in the widget.
    let value = server.value_of(&id);
    let reply = ask(at(&shop, &value));
    assert!(
        reply.contains("canned reply from the rtctl emulator"),
        "{reply}"
    );
    console();

    // An origin the token does not admit: the browser's CORS failure, as the guide says.
    let refused = ask(at(&other, &value));
    assert!(refused.contains("Failed to fetch"), "{refused}");
    let log = console();
    assert!(
        log.iter()
            .any(|l| l.contains("blocked by CORS policy") && l.contains("/v1/client/init")),
        "the browser reports a CORS error: {log:#?}"
    );
    server.rtctl(&["origins", "check", &id, &other]).expect(8);
    server.rtctl(&["origins", "check", &id, &shop]).expect(0);

    // Rotated: the page's old value fails in the widget's own words; the new one works.
    server.rtctl(&["tokens", "rotate", &id, "--yes"]).expect(0);
    let old = ask(at(&shop, &value));
    assert!(old.contains("Invalid client token"), "{old}");
    let value = server.value_of(&id);
    assert!(ask(at(&shop, &value)).contains("canned reply"));

    // The embed code rtctl prints for the rotated token, served as printed (only the
    // installer's URL is this site's copy, with --widget-url), chats.
    let printed = server.rtctl(&[
        "tokens",
        "snippet",
        &id,
        "--widget-url",
        &format!("{shop}/persona/install.global.js"),
    ]);
    let printed = printed.expect(0).stdout.clone();
    assert!(printed.contains(&format!("data-runtype-token=\"{value}\"")));
    *snippet.lock().unwrap() = printed;
    let reply = ask(format!("{shop}/snippet"));
    assert!(
        reply.contains("canned reply"),
        "through the snippet: {reply}"
    );

    // Inactive: refused, readably; reactivated, it works again.
    server
        .rtctl(&["tokens", "update", &id, "--deactivate", "--yes"])
        .expect(0);
    let inactive = ask(at(&shop, &value));
    assert!(inactive.contains("Client token is inactive"), "{inactive}");
    server
        .rtctl(&["tokens", "update", &id, "--activate"])
        .expect(0);
    assert!(ask(at(&shop, &value)).contains("canned reply"));

    // Overlap: during it both values work; after retire only the successor's does.
    let rotated = server.rtctl(&["tokens", "rotate", &id, "--overlap", "--yes", "--json"]);
    rotated.expect(0);
    let successor: Value = rotated.json();
    let successor = successor
        .get("value")
        .or_else(|| successor.get(0).and_then(|s| s.get("value")))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("a successor value: {}", rotated.stdout))
        .to_string();
    assert!(
        ask(at(&shop, &value)).contains("canned reply"),
        "the old value during the overlap"
    );
    assert!(
        ask(at(&shop, &successor)).contains("canned reply"),
        "the successor"
    );
    server.rtctl(&["tokens", "retire", &id, "--yes"]).expect(0);
    let retired = ask(at(&shop, &value));
    assert!(retired.contains("Invalid client token"), "{retired}");
    assert!(ask(at(&shop, &successor)).contains("canned reply"));

    server.runtime.block_on(browser.close());
}
