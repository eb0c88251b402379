//! Who may talk to the emulator. The README tells users to run it while they build their site
//! in a browser, so any page that browser opens can send it requests: a `text/plain` POST needs
//! no CORS preflight, and a DNS name rebound to 127.0.0.1 reaches it under the page's own
//! origin. So, like a development server's host check:
//! - every route answers only `Host` values naming where the emulator listens: `localhost`,
//!   `127.0.0.1` or `[::1]` with its port, the address it was told to bind (any IP address
//!   with its port when bound to all of them), and the names given with
//!   `--allowed-host NAME[:PORT]` (a proxy's `localhost:5173`, a container's published port);
//! - the control API (`/__emulator/*`) refuses web pages outright: a request carrying an
//!   `Origin` header, or a `Sec-Fetch-Site` other than `none` (what a browser sends for a
//!   URL typed in its address bar), and a POST without `Content-Type: application/json`, which
//!   no page can send across origins without a preflight the control API never grants.
//!
//! The widget's routes keep accepting any `Origin`: that is their job. Refusals are `403` with
//! the usual `{"error": …}` body.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api_error::ApiError;

/// A name the emulator answers besides where it listens (`--allowed-host NAME[:PORT]`): with
/// a port, only on that port; without one, on any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    name: String,
    port: Option<u16>,
}

impl FromStr for AllowedHost {
    type Err = String;

    /// `NAME`, `NAME:PORT`, `[IPv6]` or `[IPv6]:PORT`; names compare ignoring case.
    fn from_str(text: &str) -> Result<AllowedHost, String> {
        let (name, port) = split_host(text)
            .ok_or_else(|| format!("'{text}' is not NAME or NAME:PORT (a port is 1-65535)"))?;
        let valid = name.starts_with('[')
            || (!name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if !valid || port == Some(0) {
            return Err(format!(
                "'{text}' is not a host name, an IP address, or one with :PORT"
            ));
        }
        Ok(AllowedHost { name, port })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        self.port.map_or(Ok(()), |p| write!(f, ":{p}"))
    }
}

/// `host[:port]` of a `Host` header or a flag: the host lowercased (an IPv6 address
/// canonical, in brackets), the port if any. `None` when it is neither.
fn split_host(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let address: Ipv6Addr = address.parse().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{address}]"), port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
            None => (text.to_ascii_lowercase(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

/// The host of `host`, if it is an IP address (`127.0.0.1`, `[::1]`).
fn ip_of(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// The `Host` values one running emulator answers.
#[derive(Debug, Clone)]
pub(super) struct Hosts {
    port: u16,
    /// The address it was told to bind (a loopback one such as `127.0.0.2` too), when that
    /// is not all addresses.
    bound: Option<IpAddr>,
    /// Bound to all addresses (`0.0.0.0`, `::`): any IP address, on its port.
    any_address: bool,
    allowed: Vec<AllowedHost>,
}

impl Hosts {
    pub(super) fn new(listening: SocketAddr, allowed: &[AllowedHost]) -> Hosts {
        let ip = listening.ip();
        Hosts {
            port: listening.port(),
            bound: (!ip.is_unspecified()).then_some(ip),
            any_address: ip.is_unspecified(),
            allowed: allowed.to_vec(),
        }
    }

    /// Whether a request whose `Host` header is `value` is for this emulator.
    fn admits(&self, value: &str) -> bool {
        let Some((host, port)) = split_host(value) else {
            return false;
        };
        // No port in `Host` is the scheme's default: only a server on port 80 is meant.
        let on_our_port = port.unwrap_or(80) == self.port;
        if self
            .allowed
            .iter()
            .any(|a| a.name == host && a.port.is_none_or(|p| Some(p) == port.or(Some(80))))
        {
            return true;
        }
        if !on_our_port {
            return false;
        }
        if host == "localhost" {
            return true;
        }
        match ip_of(&host) {
            Some(ip) => {
                ip == IpAddr::V4(Ipv4Addr::LOCALHOST)
                    || ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
                    || Some(ip) == self.bound
                    || self.any_address
            }
            None => false,
        }
    }
}

/// Where the emulator listens, known once it is served ([`super::serve`] sets it): until
/// then, every request is refused.
pub(super) type Listening = Arc<OnceLock<Hosts>>;

/// The `code` of a refusal for a `Host` that does not name the emulator: rtctl tells it from
/// a key's missing permission (which is the other 403), and keeps the emulator's advice.
pub(crate) const HOST_NOT_ANSWERED: &str = "HOST_NOT_ANSWERED";

fn refused(message: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, message).into_response()
}

/// Middleware on every route: a `Host` that does not name this emulator is refused.
pub(super) async fn check_host(
    State(listening): State<Listening>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let admitted = match (listening.get(), &host) {
        (Some(hosts), Some(host)) => hosts.admits(host),
        _ => false,
    };
    if admitted {
        return next.run(request).await;
    }
    let mut error = match host {
        Some(host) => ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Host '{host}' does not name this emulator"),
        )
        .with_hint(format!(
            "To answer it, start the emulator with --allowed-host {host}; or use the URL it printed"
        )),
        None => ApiError::new(
            StatusCode::FORBIDDEN,
            "A request without a Host header is not answered",
        ),
    };
    error.code = Some(HOST_NOT_ANSWERED.into());
    error.into_response()
}

/// Middleware on the control API: no web page may drive it.
pub(super) async fn control_from_tools_only(request: Request, next: Next) -> Response {
    if let Some(why) = from_a_page(request.method(), request.headers()) {
        return refused(format!(
            "{} {} is refused: {why}",
            request.method(),
            request.uri().path()
        ));
    }
    next.run(request).await
}

/// Why a control request looks like a web page's, if it does.
fn from_a_page(method: &Method, headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(header::ORIGIN) {
        return Some(
            "the control API answers no web page (the request carries an Origin header)".into(),
        );
    }
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"none"
    {
        return Some(format!(
            "the control API answers no web page (Sec-Fetch-Site: {})",
            String::from_utf8_lossy(site.as_bytes())
        ));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if method == Method::POST && !json {
        return Some(
            "a POST to the control API needs Content-Type: application/json, even without a body"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(listening: &str, allowed: &[&str]) -> Hosts {
        let allowed: Vec<AllowedHost> = allowed.iter().map(|a| a.parse().unwrap()).collect();
        Hosts::new(listening.parse().unwrap(), &allowed)
    }

    #[test]
    fn only_hosts_naming_where_it_listens_are_answered() {
        let local = hosts("127.0.0.1:7878", &[]);
        for yes in [
            "localhost:7878",
            "LOCALHOST:7878",
            "127.0.0.1:7878",
            "[::1]:7878",
            "[0:0:0:0:0:0:0:1]:7878",
        ] {
            assert!(local.admits(yes), "{yes}");
        }
        for no in [
            "evil.example:7878",
            "localhost:7879",
            "localhost",
            "127.0.0.2:7878",
            "192.168.1.5:7878",
            "localhost.:7878",
            "evil.localhost:7878",
            "",
            "[::1",
            "localhost:x",
        ] {
            assert!(!local.admits(no), "{no}");
        }
        let on_80 = hosts("127.0.0.1:80", &[]);
        assert!(on_80.admits("localhost") && on_80.admits("127.0.0.1:80"));
        let bound = hosts("192.168.1.5:7878", &[]);
        assert!(bound.admits("192.168.1.5:7878") && bound.admits("localhost:7878"));
        assert!(!bound.admits("192.168.1.6:7878"));
        // A loopback address other than 127.0.0.1 is where it listens too.
        let other_loopback = hosts("127.0.0.2:7878", &[]);
        assert!(other_loopback.admits("127.0.0.2:7878") && other_loopback.admits("localhost:7878"));
        assert!(!other_loopback.admits("127.0.0.3:7878"));
        let all = hosts("0.0.0.0:7878", &[]);
        assert!(all.admits("10.0.0.3:7878") && all.admits("[fe80::1]:7878"));
        assert!(!all.admits("10.0.0.3:8080") && !all.admits("rebound.example:7878"));
        let proxied = hosts("127.0.0.1:7878", &["localhost:5173", "api.rtctl.test"]);
        assert!(proxied.admits("localhost:5173"));
        assert!(proxied.admits("api.rtctl.test:41234") && proxied.admits("API.rtctl.test"));
        assert!(!proxied.admits("localhost:5174"));
    }

    #[test]
    fn allowed_hosts_are_names_with_an_optional_port() {
        for good in ["localhost:5173", "api.rtctl.test", "[::1]:8080", "10.0.0.3"] {
            assert_eq!(good.parse::<AllowedHost>().unwrap().to_string(), good);
        }
        for bad in [
            "",
            ":80",
            "a b",
            "host:0",
            "host:99999",
            "host:",
            "[::1",
            "ev/il",
        ] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_control_api_refuses_what_a_page_sends() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, v.parse().unwrap());
            }
            headers
        };
        let json = ("content-type", "application/json; charset=utf-8");
        assert!(from_a_page(&Method::POST, &with(&[json])).is_none());
        assert!(from_a_page(&Method::GET, &with(&[])).is_none());
        assert!(from_a_page(&Method::GET, &with(&[("sec-fetch-site", "none")])).is_none());
        assert!(from_a_page(&Method::POST, &with(&[])).is_some());
        assert!(from_a_page(&Method::POST, &with(&[("content-type", "text/plain")])).is_some());
        assert!(
            from_a_page(
                &Method::POST,
                &with(&[json, ("origin", "https://evil.example")])
            )
            .is_some()
        );
        assert!(from_a_page(&Method::GET, &with(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(from_a_page(&Method::DELETE, &with(&[("origin", "null")])).is_some());
    }
}
