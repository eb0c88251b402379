//! Settings, resolved once per run: flags over environment over defaults.
//!
//! The environment is read through a function rather than `std::env` directly, so tests can
//! give each case its own environment without touching the process's.

use std::net::IpAddr;
use std::time::Duration;

use crate::api::ApiKey;
use crate::error::{CliError, ErrorKind};

/// Where requests go when nothing says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.runtype.com";

/// The variables rtctl reads (the first two are the names Runtype's own tools use).
pub const ENV_API_KEY: &str = "RUNTYPE_API_KEY";
pub const ENV_API_URL: &str = "RUNTYPE_API_URL";

/// What the commands need to reach the API.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub api_key: Option<ApiKey>,
    pub timeout: Duration,
}

impl Settings {
    /// Resolves the API URL and key. `api_url` is the flag (clap has already applied
    /// `RUNTYPE_API_URL` to it); `env` looks up a variable.
    pub fn resolve(
        api_url: Option<&str>,
        timeout: Duration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, CliError> {
        let api_url = api_url
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_string();
        check_api_url(&api_url)?;
        let api_key = env(ENV_API_KEY)
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(ApiKey::new);
        Ok(Settings {
            api_url,
            api_key,
            timeout,
        })
    }

    /// The key, or the error that says how to provide one.
    pub fn require_key(&self) -> Result<&ApiKey, CliError> {
        self.api_key.as_ref().ok_or_else(|| {
            CliError::new(ErrorKind::Auth, "no API key").with_hint(format!(
                "set {ENV_API_KEY} to a Runtype API key (rt_live_… or rt_test_…)"
            ))
        })
    }
}

/// The URL must be http(s), and plain http only to this machine: a key sent in clear text
/// over a network is a key given away.
pub fn check_api_url(url: &str) -> Result<(), CliError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        CliError::usage(format!("the API URL '{url}' is not a valid URL: {e}"))
            .with_hint("use the form https://api.runtype.com")
    })?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(CliError::usage(format!(
            "refusing to send the API key over plain http to {}",
            parsed.host_str().unwrap_or("?")
        ))
        .with_hint("use an https:// URL; plain http is allowed only for localhost")),
        other => Err(CliError::usage(format!(
            "the API URL must use https, not '{other}'"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(key: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            (name == ENV_API_KEY)
                .then(|| key.map(str::to_string))
                .flatten()
        }
    }

    #[test]
    fn defaults_and_key_from_the_environment() {
        let s = Settings::resolve(
            None,
            Duration::from_secs(30),
            &env_with(Some(" rt_test_x ")),
        )
        .unwrap();
        assert_eq!(s.api_url, DEFAULT_API_URL);
        assert_eq!(s.api_key.unwrap().expose(), "rt_test_x");
        let s = Settings::resolve(
            Some("http://127.0.0.1:7878/"),
            Duration::from_secs(1),
            &env_with(Some("")),
        )
        .unwrap();
        assert_eq!(s.api_url, "http://127.0.0.1:7878");
        assert!(s.api_key.is_none(), "an empty variable is no key");
        assert_eq!(s.require_key().unwrap_err().exit_code(), 4);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://api.runtype.com",
            "http://localhost:7878",
            "http://127.0.0.2",
            "http://[::1]:80",
        ] {
            assert!(check_api_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.runtype.com",
            "http://10.0.0.1",
            "ftp://x",
            "not a url",
        ] {
            let err = check_api_url(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(
            check_api_url("http://example.com")
                .unwrap_err()
                .message
                .contains("plain http")
        );
    }
}
