//! Fetching a page for `rtctl doctor`: its own HTTP client, which never carries the API key
//! (the page's host is not the Runtype API), follows a few redirects, and reads at most
//! [`MAX_PAGE_BYTES`].

use std::time::Duration;

use crate::error::CliError;

/// The most of a page (or a bundle) read.
pub(crate) const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// A fetched page: where it ended up and its body.
pub(crate) struct Fetched {
    pub url: reqwest::Url,
    pub body: Vec<u8>,
}

/// The client for pages: a User-Agent naming rtctl, a timeout, a few redirects, no key.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, CliError> {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("rtctl/", env!("CARGO_PKG_VERSION"), " (doctor)"))
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .timeout(timeout)
        .build()
        .map_err(|e| CliError::failure(format!("could not set up the HTTP client: {e}")))
}

/// Fetches `url`, at most [`MAX_PAGE_BYTES`].
pub(crate) async fn fetch(client: &reqwest::Client, url: &reqwest::Url) -> Result<Fetched, String> {
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let final_url = response.url().clone();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
    {
        return Err(too_large(&final_url));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(too_large(&final_url));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        url: final_url,
        body,
    })
}

fn too_large(url: &reqwest::Url) -> String {
    format!(
        "{url} is larger than {} MiB, which rtctl does not read",
        MAX_PAGE_BYTES / (1024 * 1024)
    )
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_redirect() {
        return format!("more than {MAX_REDIRECTS} redirects");
    }
    if error.is_timeout() {
        return "no answer in time".into();
    }
    // A name that does not resolve is the commonest mistake (a typo, a site not yet live):
    // said plainly, not as the HTTP stack's chain. hyper's connector words every resolver
    // failure "dns error"; reqwest has no kind for it.
    let mut chain = std::iter::successors(std::error::Error::source(error), |e| e.source());
    if error.is_connect()
        && chain.any(|e| e.to_string().starts_with("dns error"))
        && let Some(host) = error.url().and_then(|u| u.host_str())
    {
        return format!("cannot resolve {host}");
    }
    // Nothing listens there: the site is down, or the port is wrong.
    if error.is_connect()
        && crate::api::client::refused(error)
        && let Some(url) = error.url()
    {
        let port = url.port_or_known_default().unwrap_or_default();
        return format!(
            "nothing is listening at {}:{port} (connection refused)",
            url.host_str().unwrap_or_default()
        );
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
