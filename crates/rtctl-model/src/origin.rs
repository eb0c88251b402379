//! Origin parsing, normalisation and matching for a client token's `allowedOrigins`.
//!
//! One implementation serves both sides: the emulator decides admission in
//! `POST /v1/client/init` with it, and `rtctl origins check` evaluates the same rules locally,
//! so the two can never disagree. Everything here is pure: no I/O, no clock, no allocation
//! beyond the parsed values.
//!
//! The grammar (see `runtype-api.md`, "Origins"):
//! - an exact origin `scheme://host[:port]`, with no path, query, fragment or trailing slash;
//! - a wildcard subdomain `scheme://*.example.com[:port]`, which admits any subdomain but not
//!   the apex;
//! - `*`, any origin that the browser sent;
//! - `native`, requests that carry no `Origin` header at all;
//! - legacy bare hosts `example.com`, `localhost:3000`, `*.example.com`, which admit `http` and
//!   `https`; a port in the entry must match exactly, and an entry without one admits only the
//!   scheme's default port.
//!
//! Scheme and host compare case-insensitively, and a scheme's default port is the same as no
//! port (`https://x` is `https://x:443`).

use std::fmt;
use std::net::Ipv6Addr;

/// One parsed `allowedOrigins` entry, in normalised form (lowercase, default port dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllowedOrigin {
    /// `*`: any origin a browser sends.
    Any,
    /// `native`: requests without an `Origin` header (native apps).
    Native,
    /// `scheme://host[:port]`.
    Exact(Origin),
    /// `scheme://*.base[:port]`: strict subdomains of `base`.
    Wildcard {
        scheme: String,
        base: String,
        port: Option<u16>,
    },
    /// Legacy `host[:port]` or `*.base[:port]`, admitting both `http` and `https`.
    BareHost {
        host: String,
        wildcard: bool,
        port: Option<u16>,
    },
}

/// The kind of an entry, as `rtctl origins list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    Exact,
    Wildcard,
    Any,
    Native,
    BareHost,
}

impl OriginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Exact => "exact",
            OriginKind::Wildcard => "wildcard",
            OriginKind::Any => "any",
            OriginKind::Native => "native",
            OriginKind::BareHost => "bare host",
        }
    }
}

/// A concrete origin, as a browser sends it in the `Origin` header: normalised, so that two
/// spellings of the same origin compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Lowercase scheme.
    pub scheme: String,
    /// Lowercase host; an IPv6 address keeps its brackets.
    pub host: String,
    /// The explicit port, or `None` when absent or equal to the scheme's default.
    pub port: Option<u16>,
}

/// Why a string is not a valid `allowedOrigins` entry or origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("an origin cannot be empty")]
    Empty,
    #[error("an origin cannot contain spaces or control characters")]
    Whitespace,
    #[error("an origin has no path; remove the trailing slash")]
    TrailingSlash,
    #[error("an origin has no path (found '{0}')")]
    Path(String),
    #[error("an origin has no query string (found '{0}')")]
    Query(String),
    #[error("an origin has no fragment (found '{0}')")]
    Fragment(String),
    #[error("an origin cannot contain credentials ('user@')")]
    Credentials,
    #[error("'{0}' is not a valid scheme")]
    Scheme(String),
    #[error("'{0}' is not a valid host")]
    Host(String),
    #[error("'{0}' is not a valid port (expected 1-65535)")]
    Port(String),
    #[error("a wildcard is only allowed as a leading '*.' before a domain, or as '*' alone")]
    Wildcard,
    #[error("'{host}' is the IPv4 address {address} written another way; browsers send {address}")]
    Ipv4Spelling { host: String, address: String },
}

impl OriginError {
    /// A remedy to show under the error, where there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            OriginError::TrailingSlash | OriginError::Path(_) => {
                Some("use only scheme://host[:port], for example https://app.example.com")
            }
            OriginError::Query(_) | OriginError::Fragment(_) => {
                Some("use only scheme://host[:port], for example https://app.example.com")
            }
            OriginError::Host(h) if !h.is_ascii() => {
                Some("write internationalised domain names in their ASCII (xn--) form")
            }
            OriginError::Wildcard => {
                Some("write https://*.example.com for every subdomain, or * for any origin")
            }
            OriginError::Ipv4Spelling { .. } => {
                Some("write an IPv4 address as four decimal numbers, as browsers do")
            }
            _ => None,
        }
    }
}

/// The port a scheme uses when the origin names none.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

impl Origin {
    /// Parses an `Origin` header value (`scheme://host[:port]`); no wildcard, no path.
    pub fn parse(input: &str) -> Result<Origin, OriginError> {
        check_characters(input)?;
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err(OriginError::Scheme(input.to_string()));
        };
        let scheme = parse_scheme(scheme)?;
        let authority = split_authority(rest)?;
        let (host, port) = parse_host_port(authority, false)?;
        if host.starts_with('*') {
            return Err(OriginError::Wildcard);
        }
        if let Some(address) = whatwg_ipv4(&host).filter(|a| a.to_string() != host) {
            return Err(OriginError::Ipv4Spelling {
                host,
                address: address.to_string(),
            });
        }
        Ok(Origin::new(scheme, host, port))
    }

    pub fn new(scheme: String, host: String, port: Option<u16>) -> Origin {
        let port = port.filter(|p| Some(*p) != default_port(&scheme));
        Origin { scheme, host, port }
    }

    /// The port the origin really uses: explicit, or the scheme's default.
    pub(crate) fn effective_port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(&self.scheme))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl AllowedOrigin {
    /// Parses an entry exactly as the API stores it. A trailing slash is an error here: the
    /// server rejects it, so a client must normalise first (see [`AllowedOrigin::normalize`]).
    pub fn parse(input: &str) -> Result<AllowedOrigin, OriginError> {
        check_characters(input)?;
        if input == "*" {
            return Ok(AllowedOrigin::Any);
        }
        if input.eq_ignore_ascii_case("native") {
            return Ok(AllowedOrigin::Native);
        }
        match input.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = parse_scheme(scheme)?;
                let authority = split_authority(rest)?;
                let (host, port) = parse_host_port(authority, true)?;
                match host.strip_prefix("*.") {
                    Some(base) => Ok(AllowedOrigin::Wildcard {
                        port: port.filter(|p| Some(*p) != default_port(&scheme)),
                        scheme,
                        base: base.to_string(),
                    }),
                    None => Ok(AllowedOrigin::Exact(Origin::new(scheme, host, port))),
                }
            }
            None => {
                let authority = split_authority(input)?;
                let (host, port) = parse_host_port(authority, true)?;
                match host.strip_prefix("*.") {
                    Some(base) => Ok(AllowedOrigin::BareHost {
                        host: base.to_string(),
                        wildcard: true,
                        port,
                    }),
                    None => Ok(AllowedOrigin::BareHost {
                        host,
                        wildcard: false,
                        port,
                    }),
                }
            }
        }
    }

    /// Normalises user input into the form the API expects: scheme and host lowercased, a
    /// default port and a single trailing slash dropped. Anything else invalid is an error.
    pub fn normalize(input: &str) -> Result<AllowedOrigin, OriginError> {
        let trimmed = match input.split_once("://") {
            Some((_, rest)) if rest.ends_with('/') && rest.find('/') == Some(rest.len() - 1) => {
                &input[..input.len() - 1]
            }
            _ => input,
        };
        AllowedOrigin::parse(trimmed)
    }

    pub fn kind(&self) -> OriginKind {
        match self {
            AllowedOrigin::Any => OriginKind::Any,
            AllowedOrigin::Native => OriginKind::Native,
            AllowedOrigin::Exact(_) => OriginKind::Exact,
            AllowedOrigin::Wildcard { .. } => OriginKind::Wildcard,
            AllowedOrigin::BareHost { .. } => OriginKind::BareHost,
        }
    }

    /// Whether a request from `origin` (a parsed `Origin` header) is admitted by this entry.
    /// `native` never admits a request that carries an origin.
    pub fn admits(&self, origin: &Origin) -> bool {
        match self {
            AllowedOrigin::Any => true,
            AllowedOrigin::Native => false,
            AllowedOrigin::Exact(allowed) => {
                allowed.scheme == origin.scheme
                    && allowed.host == origin.host
                    && allowed.effective_port() == origin.effective_port()
            }
            AllowedOrigin::Wildcard { scheme, base, port } => {
                *scheme == origin.scheme
                    && is_strict_subdomain(&origin.host, base)
                    && port.or_else(|| default_port(scheme)) == origin.effective_port()
            }
            AllowedOrigin::BareHost {
                host,
                wildcard,
                port,
            } => {
                let scheme_ok = origin.scheme == "http" || origin.scheme == "https";
                let host_ok = if *wildcard {
                    is_strict_subdomain(&origin.host, host)
                } else {
                    origin.host == *host
                };
                let port_ok = match port {
                    Some(p) => origin.effective_port() == Some(*p),
                    None => origin.port.is_none(),
                };
                scheme_ok && host_ok && port_ok
            }
        }
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedOrigin::Any => f.write_str("*"),
            AllowedOrigin::Native => f.write_str("native"),
            AllowedOrigin::Exact(origin) => origin.fmt(f),
            AllowedOrigin::Wildcard { scheme, base, port } => {
                write!(f, "{scheme}://*.{base}")?;
                port.map_or(Ok(()), |p| write!(f, ":{p}"))
            }
            AllowedOrigin::BareHost {
                host,
                wildcard,
                port,
            } => {
                if *wildcard {
                    f.write_str("*.")?;
                }
                f.write_str(host)?;
                port.map_or(Ok(()), |p| write!(f, ":{p}"))
            }
        }
    }
}

/// Why a request was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The entry at this index of `allowedOrigins` admitted it.
    Entry(usize),
    /// A test-environment token admits `http://localhost` and `http://127.0.0.1` on any port.
    TestLocalhost,
}

/// Decides whether a request with the given `Origin` header (or none) is admitted by a token
/// with these `allowedOrigins` in this environment. Entries that do not parse (stored by an
/// older dashboard, say) admit nothing rather than failing the whole check.
pub fn admit(
    allowed: &[String],
    origin_header: Option<&str>,
    environment: &str,
) -> Option<Admission> {
    let entries = allowed.iter().map(|e| AllowedOrigin::parse(e).ok());
    let Some(header) = origin_header else {
        return entries
            .enumerate()
            .find(|(_, e)| matches!(e, Some(AllowedOrigin::Native)))
            .map(|(i, _)| Admission::Entry(i));
    };
    let origin = Origin::parse(header).ok();
    for (index, entry) in entries.enumerate() {
        let admitted = match (&entry, &origin) {
            (Some(AllowedOrigin::Any), _) => true,
            (Some(entry), Some(origin)) => entry.admits(origin),
            _ => false,
        };
        if admitted {
            return Some(Admission::Entry(index));
        }
    }
    match origin {
        Some(o) if environment == "test" && is_test_localhost(&o) => Some(Admission::TestLocalhost),
        _ => None,
    }
}

/// Why a browser origin is not admitted, when an entry comes close: the explanations behind
/// the commonest support problem ("the widget shows but doesn't respond"). `None` when no
/// entry is near. Checked in order of how often each mistake happens: the right host with the
/// wrong scheme or port, then www against the apex, then a wildcard expected to cover its apex,
/// then `native` or a test token's localhost on a live token.
pub fn nearest_miss(allowed: &[String], origin: &Origin, environment: &str) -> Option<String> {
    let entries: Vec<(&str, AllowedOrigin)> = allowed
        .iter()
        .filter_map(|e| AllowedOrigin::parse(e).ok().map(|p| (e.as_str(), p)))
        .collect();
    let port_name = |port: Option<u16>| port.map_or("no port".to_string(), |p| format!("port {p}"));

    for (text, entry) in &entries {
        if entry.ipv4_spelling().is_some() && entry.browser_spelling().admits(origin) {
            return Some(format!(
                "'{text}' is {} written another way: browsers send {origin}, which it never matches",
                origin.host
            ));
        }
    }

    for (text, entry) in &entries {
        let (schemes, host_ok, port): (Vec<&str>, bool, Option<u16>) = match entry {
            AllowedOrigin::Exact(o) => (vec![&o.scheme], o.host == origin.host, o.effective_port()),
            AllowedOrigin::Wildcard { scheme, base, port } => (
                vec![scheme],
                is_strict_subdomain(&origin.host, base),
                port.or_else(|| default_port(scheme)),
            ),
            AllowedOrigin::BareHost {
                host,
                wildcard,
                port,
            } => (
                vec!["http", "https"],
                if *wildcard {
                    is_strict_subdomain(&origin.host, host)
                } else {
                    origin.host == *host
                },
                port.or_else(|| default_port(&origin.scheme)),
            ),
            AllowedOrigin::Any | AllowedOrigin::Native => continue,
        };
        if !host_ok {
            continue;
        }
        if !schemes.contains(&origin.scheme.as_str()) {
            return Some(format!(
                "'{text}' is for {}, but the origin uses {}:// (a different origin)",
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                origin.scheme
            ));
        }
        if port != origin.effective_port() {
            return Some(format!(
                "'{text}' admits {}, but the origin {origin} uses {} (a different origin)",
                port_name(port),
                port_name(origin.effective_port())
            ));
        }
    }

    for (text, entry) in &entries {
        let host = match entry {
            AllowedOrigin::Exact(o) => &o.host,
            AllowedOrigin::BareHost {
                host,
                wildcard: false,
                ..
            } => host,
            _ => continue,
        };
        if origin.host.strip_prefix("www.") == Some(host.as_str()) {
            return Some(format!(
                "'{text}' is the apex domain, but the origin {origin} is its www host: browsers treat them as different origins"
            ));
        }
        if host.strip_prefix("www.") == Some(origin.host.as_str()) {
            return Some(format!(
                "'{text}' is the www host, but the origin {origin} is the apex domain: browsers treat them as different origins"
            ));
        }
    }

    for (text, entry) in &entries {
        let base = match entry {
            AllowedOrigin::Wildcard { base, .. } => base,
            AllowedOrigin::BareHost {
                host,
                wildcard: true,
                ..
            } => host,
            _ => continue,
        };
        if *base == origin.host {
            return Some(format!(
                "'{text}' admits the subdomains of {base}, but not {base} itself"
            ));
        }
    }

    if environment != "test" && is_test_localhost(origin) {
        return Some(format!(
            "test tokens admit {origin} automatically, but this is a {environment} token"
        ));
    }
    if let Some((text, _)) = entries
        .iter()
        .find(|(_, e)| matches!(e, AllowedOrigin::Native))
    {
        return Some(format!(
            "'{text}' admits only requests without an Origin header (native apps), not a browser at {origin}"
        ));
    }
    None
}

/// The public suffix `host` is, exactly, if it is one (`com`, `co.uk`, and from the list's
/// private section `vercel.app`, `github.io`): a wildcard over it admits every site there.
pub fn public_suffix(host: &str) -> Option<&str> {
    use psl::Psl;
    let host = host.strip_suffix('.').unwrap_or(host);
    let suffix = psl::List.suffix(host.as_bytes())?;
    (suffix.as_bytes().len() == host.len() && suffix.typ().is_some()).then_some(host)
}

impl AllowedOrigin {
    /// For an entry whose host a browser reads as an IPv4 address written another way
    /// (`https://0x7f.1`, `https://127.1`, `https://2130706433`), the address: browsers send
    /// it as `127.0.0.1`, so the entry never matches. `None` for every other entry, a
    /// dotted-decimal address included.
    pub fn ipv4_spelling(&self) -> Option<std::net::Ipv4Addr> {
        let host = match self {
            AllowedOrigin::Exact(origin) => &origin.host,
            AllowedOrigin::Wildcard { base, .. } => base,
            AllowedOrigin::BareHost { host, .. } => host,
            AllowedOrigin::Any | AllowedOrigin::Native => return None,
        };
        if !ends_in_a_number(host) {
            return None;
        }
        whatwg_ipv4(host).filter(|address| address.to_string() != *host)
    }

    /// The entry as browsers would spell it: an IPv4 host written as its dotted address.
    pub fn browser_spelling(&self) -> AllowedOrigin {
        let Some(address) = self.ipv4_spelling() else {
            return self.clone();
        };
        let address = address.to_string();
        match self.clone() {
            AllowedOrigin::Exact(origin) => AllowedOrigin::Exact(Origin {
                host: address,
                ..origin
            }),
            AllowedOrigin::Wildcard { scheme, port, .. } => AllowedOrigin::Wildcard {
                scheme,
                base: address,
                port,
            },
            AllowedOrigin::BareHost { wildcard, port, .. } => AllowedOrigin::BareHost {
                host: address,
                wildcard,
                port,
            },
            other => other,
        }
    }

    /// What a list the service accepts keeps of this entry: the entry itself, or for one it
    /// refuses to keep (an IPv4 address spelt otherwise than browsers send it) the browsers'
    /// spelling; `None` for a wildcard over such an address, which no spelling makes match
    /// (an address has no subdomains).
    pub fn as_kept(&self) -> Option<AllowedOrigin> {
        if self.ipv4_spelling().is_none() {
            return Some(self.clone());
        }
        match self {
            AllowedOrigin::Wildcard { .. } | AllowedOrigin::BareHost { wildcard: true, .. } => None,
            _ => Some(self.browser_spelling()),
        }
    }

    /// For a wildcard (`https://*.co.uk`, legacy `*.co.uk`) over a public suffix, the suffix.
    pub fn wildcard_public_suffix(&self) -> Option<&str> {
        match self {
            AllowedOrigin::Wildcard { base, .. } => public_suffix(base),
            AllowedOrigin::BareHost {
                host,
                wildcard: true,
                ..
            } => public_suffix(host),
            _ => None,
        }
    }
}

/// Whether `host` is an IP address to a browser, in any spelling (`127.0.0.1`, `0x7f.1`,
/// `[::1]`): it has no `www.` twin and no subdomains.
pub fn is_address(host: &str) -> bool {
    host.starts_with('[') || ends_in_a_number(host)
}

/// Test tokens admit local development servers without listing them.
pub(crate) fn is_test_localhost(origin: &Origin) -> bool {
    origin.scheme == "http" && (origin.host == "localhost" || origin.host == "127.0.0.1")
}

fn is_strict_subdomain(host: &str, base: &str) -> bool {
    host.len() > base.len() + 1
        && host.ends_with(base)
        && host.as_bytes()[host.len() - base.len() - 1] == b'.'
}

fn check_characters(input: &str) -> Result<(), OriginError> {
    if input.is_empty() {
        return Err(OriginError::Empty);
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(OriginError::Whitespace);
    }
    Ok(())
}

fn parse_scheme(scheme: &str) -> Result<String, OriginError> {
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid {
        Ok(scheme.to_ascii_lowercase())
    } else {
        Err(OriginError::Scheme(scheme.to_string()))
    }
}

/// Returns the authority (`[user@]host[:port]`) and rejects anything after it.
fn split_authority(rest: &str) -> Result<&str, OriginError> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(OriginError::Credentials);
    }
    match tail.as_bytes().first() {
        None => Ok(authority),
        Some(b'/') if tail == "/" => Err(OriginError::TrailingSlash),
        Some(b'/') => Err(OriginError::Path(tail.to_string())),
        Some(b'?') => Err(OriginError::Query(tail.to_string())),
        Some(_) => Err(OriginError::Fragment(tail.to_string())),
    }
}

/// Splits and validates `host[:port]`; the host comes back lowercased (IPv6 canonicalised).
fn parse_host_port(
    authority: &str,
    allow_wildcard: bool,
) -> Result<(String, Option<u16>), OriginError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return Err(OriginError::Host(authority.to_string()));
        };
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| OriginError::Host(authority.to_string()))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => return Err(OriginError::Host(authority.to_string())),
            },
        };
        (format!("[{addr}]"), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (validate_host(host, allow_wildcard)?, port)
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn validate_host(host: &str, allow_wildcard: bool) -> Result<String, OriginError> {
    let lower = host.to_ascii_lowercase();
    let name = match lower.strip_prefix("*.") {
        Some(base) if allow_wildcard => base,
        Some(_) => return Err(OriginError::Wildcard),
        None => &lower,
    };
    if name.contains('*') {
        return Err(OriginError::Wildcard);
    }
    // Hosts as a browser sends them: labels of letters, digits and inner hyphens, and an
    // all-digit host only as a real IPv4 address (`256.1.1.1` is no host at all).
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(OriginError::Host(host.to_string()));
    }
    // A host whose last label is a number is an IPv4 address to a browser's URL parser, in
    // any of its spellings (`127.1`, `0x7f.0.0.1`, `2130706433`); one that is not an address
    // (`256.1.1.1`, `a.0x1`) is no host at all. The other spellings parse, and the rules
    // refuse to write them (see `AllowedOrigin::ipv4_spelling`).
    if ends_in_a_number(name) && whatwg_ipv4(name).is_none() {
        return Err(OriginError::Host(host.to_string()));
    }
    Ok(lower)
}

/// The WHATWG URL standard's "ends in a number" test: whether a browser parses `host` as an
/// IPv4 address (its last label all digits, or a `0x` hexadecimal number).
fn ends_in_a_number(host: &str) -> bool {
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 && labels.last() == Some(&"") {
        labels.pop();
    }
    let last = labels.last().copied().unwrap_or_default();
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || ipv4_number(last).is_some()
}

/// One part of an IPv4 address as browsers read it: decimal, octal after a leading `0`,
/// hexadecimal after `0x` (WHATWG's "IPv4 number parser").
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Digits beyond what a u64 holds are out of range for an address anyway.
    u64::from_str_radix(digits, radix).ok().or(Some(u64::MAX))
}

/// The address a browser reads `host` as (WHATWG's "IPv4 parser"): up to four parts, the
/// last filling the bytes that remain. `None` when it is not an address.
pub(crate) fn whatwg_ipv4(host: &str) -> Option<std::net::Ipv4Addr> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|n| *n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut address = *last;
    for (index, n) in leading.iter().enumerate() {
        address += n * 256u64.pow(3 - index as u32);
    }
    u32::try_from(address).ok().map(std::net::Ipv4Addr::from)
}

fn parse_port(port: &str) -> Result<u16, OriginError> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(OriginError::Port(port.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn origin(s: &str) -> Origin {
        Origin::parse(s).unwrap()
    }

    fn entry(s: &str) -> AllowedOrigin {
        AllowedOrigin::parse(s).unwrap()
    }

    #[test]
    fn parses_the_four_forms_and_bare_hosts() {
        assert_eq!(entry("*"), AllowedOrigin::Any);
        assert_eq!(entry("native"), AllowedOrigin::Native);
        assert_eq!(entry("https://app.example.com").kind(), OriginKind::Exact);
        assert_eq!(entry("https://*.example.com").kind(), OriginKind::Wildcard);
        assert_eq!(entry("example.com").kind(), OriginKind::BareHost);
        assert_eq!(entry("*.example.com:8080").kind(), OriginKind::BareHost);
        assert_eq!(
            entry("http://localhost:3000").to_string(),
            "http://localhost:3000"
        );
        assert_eq!(entry("http://[::1]:8080").to_string(), "http://[::1]:8080");
    }

    #[test]
    fn normalises_case_default_port_and_trailing_slash() {
        let n = |s| AllowedOrigin::normalize(s).unwrap().to_string();
        assert_eq!(n("HTTPS://App.Example.COM/"), "https://app.example.com");
        assert_eq!(n("https://example.com:443"), "https://example.com");
        assert_eq!(n("http://example.com:443"), "http://example.com:443");
        assert_eq!(n("https://*.Example.com"), "https://*.example.com");
        assert_eq!(n("Example.com"), "example.com");
    }

    #[test]
    fn rejects_what_is_not_an_origin() {
        let err = |s| AllowedOrigin::parse(s).unwrap_err();
        assert_eq!(err(""), OriginError::Empty);
        assert_eq!(err(" https://a.com"), OriginError::Whitespace);
        assert_eq!(err("https://a.com/"), OriginError::TrailingSlash);
        assert_eq!(err("https://a.com/x"), OriginError::Path("/x".into()));
        assert_eq!(err("https://a.com?x=1"), OriginError::Query("?x=1".into()));
        assert_eq!(
            err("https://a.com#top"),
            OriginError::Fragment("#top".into())
        );
        assert_eq!(err("https://u:p@a.com"), OriginError::Credentials);
        assert_eq!(err("https://a.com:0"), OriginError::Port("0".into()));
        assert_eq!(
            err("https://a.com:70000"),
            OriginError::Port("70000".into())
        );
        assert_eq!(err("https://a.com:"), OriginError::Port("".into()));
        assert_eq!(err("https://a.*.com"), OriginError::Wildcard);
        assert_eq!(err("https://*"), OriginError::Wildcard);
        assert_eq!(err("1http://a.com"), OriginError::Scheme("1http".into()));
        assert_eq!(err("https://a..com"), OriginError::Host("a..com".into()));
        assert_eq!(
            err("https://bücher.de"),
            OriginError::Host("bücher.de".into())
        );
        assert!(err("https://bücher.de").hint().unwrap().contains("xn--"));
        assert_eq!(
            AllowedOrigin::normalize("https://a.com/x/").unwrap_err(),
            OriginError::Path("/x/".into())
        );
        for no_browser_sends in [
            "https://256.1.1.1",
            "https://-a.example.com",
            "https://a-.com",
            "https://1.2.3.4.5",
            "https://a.0x1",
            "https://08.1.1.1",
        ] {
            assert!(
                AllowedOrigin::parse(no_browser_sends).is_err(),
                "{no_browser_sends}"
            );
        }
        assert!(AllowedOrigin::parse("http://127.0.0.1:8080").is_ok());
    }

    #[test]
    fn what_a_list_keeps_of_an_entry_is_what_browsers_send() {
        let kept = |s: &str| entry(s).as_kept().map(|e| e.to_string());
        assert_eq!(kept("https://0x7f.1").as_deref(), Some("https://127.0.0.1"));
        assert_eq!(kept("0x7f.1:3000").as_deref(), Some("127.0.0.1:3000"));
        assert_eq!(
            kept("http://127.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(kept("https://*.0x7f.1"), None);
        assert_eq!(kept("*.127.1"), None);
        assert_eq!(
            kept("https://*.example.com").as_deref(),
            Some("https://*.example.com")
        );
        assert_eq!(kept("native").as_deref(), Some("native"));
        for address in ["127.0.0.1", "0x7f.1", "127.1", "[::1]", "2130706433"] {
            assert!(is_address(address), "{address}");
        }
        for name in [
            "example.com",
            "www.example.com",
            "localhost",
            "0x7f.example",
        ] {
            assert!(!is_address(name), "{name}");
        }
    }

    #[test]
    fn wildcards_over_public_suffixes_are_recognised() {
        for (entry, suffix) in [
            ("https://*.com", Some("com")),
            ("https://*.co.uk", Some("co.uk")),
            ("https://*.vercel.app", Some("vercel.app")),
            ("*.github.io", Some("github.io")),
            ("https://*.example.com", None),
            ("https://*.example.co.uk", None),
            ("https://app.com", None),
        ] {
            let parsed = AllowedOrigin::parse(entry).unwrap();
            assert_eq!(parsed.wildcard_public_suffix(), suffix, "{entry}");
        }
    }

    #[test]
    fn ipv4_addresses_in_other_spellings_are_recognised_as_browsers_read_them() {
        for (host, address) in [
            ("0x7f.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("0x7F000001", "127.0.0.1"),
            ("1.2.3", "1.2.0.3"),
            ("0x", "0.0.0.0"),
            ("01.2.3.4", "1.2.3.4"),
        ] {
            for entry in [
                format!("https://{host}"),
                format!("http://{host}:8080"),
                format!("{host}:3000"),
                format!("https://*.{host}"),
            ] {
                let parsed = AllowedOrigin::parse(&entry).unwrap();
                assert_eq!(
                    parsed.ipv4_spelling().map(|a| a.to_string()).as_deref(),
                    Some(address),
                    "{entry}"
                );
                assert!(parsed.browser_spelling().to_string().contains(address));
            }
            let error = Origin::parse(&format!("https://{host}")).unwrap_err();
            assert!(error.to_string().contains(address), "{error}");
        }
        for fine in [
            "https://127.0.0.1",
            "https://example.com",
            "https://0x7f.example",
            "*",
            "native",
        ] {
            assert_eq!(entry(fine).ipv4_spelling(), None, "{fine}");
        }
        // Never admitted: a browser sends the dotted address, which the entry does not name.
        let odd = vec!["http://0x7f.1:8080".to_string()];
        assert_eq!(admit(&odd, Some("http://127.0.0.1:8080"), "live"), None);
        let why = nearest_miss(&odd, &origin("http://127.0.0.1:8080"), "live").unwrap();
        assert!(why.contains("written another way"), "{why}");
    }

    proptest! {
        #[test]
        fn the_ipv4_reading_never_panics(host in "[0-9a-fA-FxX.]{0,24}") {
            let _ = whatwg_ipv4(&host);
            let _ = ends_in_a_number(&host);
            if let Ok(parsed) = AllowedOrigin::parse(&format!("https://{host}")) {
                let _ = parsed.browser_spelling();
            }
        }
    }

    #[test]
    fn exact_matching_ignores_case_and_default_port() {
        let e = entry("https://App.example.com");
        assert!(e.admits(&origin("https://app.example.com")));
        assert!(e.admits(&origin("HTTPS://APP.EXAMPLE.COM:443")));
        assert!(!e.admits(&origin("http://app.example.com")));
        assert!(!e.admits(&origin("https://app.example.com:8443")));
        assert!(!e.admits(&origin("https://www.app.example.com")));
    }

    #[test]
    fn wildcard_admits_subdomains_but_not_the_apex() {
        let e = entry("https://*.example.com");
        assert!(e.admits(&origin("https://app.example.com")));
        assert!(e.admits(&origin("https://a.b.example.com")));
        assert!(!e.admits(&origin("https://example.com")));
        assert!(!e.admits(&origin("https://badexample.com")));
        assert!(!e.admits(&origin("http://app.example.com")));
        assert!(!e.admits(&origin("https://app.example.com:8443")));
    }

    #[test]
    fn bare_hosts_admit_both_schemes_on_default_ports_only() {
        let e = entry("example.com");
        assert!(e.admits(&origin("http://example.com")));
        assert!(e.admits(&origin("https://example.com")));
        assert!(!e.admits(&origin("https://example.com:8443")));
        assert!(!e.admits(&origin("wss://example.com")));
        let e = entry("localhost:3000");
        assert!(e.admits(&origin("http://localhost:3000")));
        assert!(!e.admits(&origin("http://localhost")));
        let e = entry("*.example.com");
        assert!(e.admits(&origin("http://app.example.com")));
        assert!(!e.admits(&origin("http://example.com")));
    }

    #[test]
    fn admission_rules() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let live = list(&["https://example.com", "native"]);
        assert_eq!(
            admit(&live, Some("https://example.com"), "live"),
            Some(Admission::Entry(0))
        );
        assert_eq!(admit(&live, None, "live"), Some(Admission::Entry(1)));
        assert_eq!(admit(&live, Some("https://evil.com"), "live"), None);
        assert_eq!(admit(&live, Some("http://localhost:3000"), "live"), None);
        assert_eq!(
            admit(&live, Some("http://localhost:3000"), "test"),
            Some(Admission::TestLocalhost)
        );
        assert_eq!(admit(&live, Some("https://localhost:3000"), "test"), None);
        let any = list(&["*"]);
        assert_eq!(admit(&any, Some("null"), "live"), Some(Admission::Entry(0)));
        assert_eq!(
            admit(&any, None, "live"),
            None,
            "* does not admit a missing Origin"
        );
        let broken = list(&["not a url", "https://ok.com"]);
        assert_eq!(
            admit(&broken, Some("https://ok.com"), "live"),
            Some(Admission::Entry(1))
        );
    }

    /// A DNS label: letters, digits and inner hyphens (a label never starts
    /// or ends with a hyphen, and such hosts are refused).
    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,9}[a-z0-9])?"
    }

    /// A host name whose last label starts with a letter: an all-digit last
    /// label would make the URL parser read the host as an IPv4 address.
    fn host() -> impl Strategy<Value = String> {
        (prop::collection::vec(label(), 0..3), "[a-z][a-z0-9]{0,5}").prop_map(|(mut l, top)| {
            l.push(top);
            l.join(".")
        })
    }

    fn scheme() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("http".to_string()),
            Just("https".to_string()),
            "[a-z][a-z0-9+.-]{0,6}"
        ]
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC*") {
            let _ = AllowedOrigin::parse(&s);
            let _ = AllowedOrigin::normalize(&s);
            let _ = Origin::parse(&s);
            let _ = admit(std::slice::from_ref(&s), Some(&s), "test");
        }

        #[test]
        fn explaining_a_miss_never_panics(entry in "[a-zA-Z*:/.@?#\\[\\]0-9-]{0,30}", o in "(https?)://[a-z0-9.*-]{1,20}(:[0-9]{1,5})?") {
            if let Ok(origin) = Origin::parse(&o) {
                let _ = nearest_miss(&[entry.clone(), "native".into()], &origin, "live");
                let _ = nearest_miss(&[entry], &origin, "test");
            }
        }

        #[test]
        fn parsing_never_panics_on_origin_like_input(s in "[a-zA-Z*:/.@?#\\[\\]0-9-]{0,30}") {
            let _ = AllowedOrigin::normalize(&s);
            let _ = admit(std::slice::from_ref(&s), Some(&s), "test");
        }

        #[test]
        fn display_round_trips(s in scheme(), h in host(), p in prop::option::of(1u16..)) {
            let text = match p { Some(p) => format!("{s}://{h}:{p}"), None => format!("{s}://{h}") };
            let parsed = AllowedOrigin::parse(&text).unwrap();
            prop_assert_eq!(AllowedOrigin::parse(&parsed.to_string()).unwrap(), parsed.clone());
            let normalized = AllowedOrigin::normalize(&parsed.to_string()).unwrap();
            prop_assert_eq!(normalized, parsed);
        }

        #[test]
        fn an_exact_entry_admits_its_own_origin_in_any_case(
            s in scheme(), h in host(), p in prop::option::of(1u16..)
        ) {
            let text = match p { Some(p) => format!("{s}://{h}:{p}"), None => format!("{s}://{h}") };
            let entry = AllowedOrigin::parse(&text.to_uppercase()).unwrap();
            prop_assert!(entry.admits(&Origin::parse(&text).unwrap()));
        }

        #[test]
        fn a_wildcard_admits_subdomains_never_the_apex(
            s in scheme(), sub in label(), base in host()
        ) {
            let entry = AllowedOrigin::parse(&format!("{s}://*.{base}")).unwrap();
            let sub_origin = Origin::parse(&format!("{s}://{sub}.{base}")).unwrap();
            prop_assert!(entry.admits(&sub_origin));
            let apex = Origin::parse(&format!("{s}://{base}")).unwrap();
            prop_assert!(!entry.admits(&apex));
        }
    }

    #[test]
    fn near_misses_are_explained() {
        let miss = |allowed: &[&str], o: &str, env: &str| {
            let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
            assert!(admit(&allowed, Some(o), env).is_none(), "{o} is admitted");
            nearest_miss(&allowed, &origin(o), env).unwrap_or_default()
        };
        let e = miss(&["https://example.com"], "https://www.example.com", "live");
        assert!(e.contains("apex domain") && e.contains("www host"), "{e}");
        let e = miss(&["https://www.example.com"], "https://example.com", "live");
        assert!(e.contains("is the www host"), "{e}");
        let e = miss(
            &["https://app.example.com"],
            "http://app.example.com",
            "live",
        );
        assert!(
            e.contains("is for https://, but the origin uses http://"),
            "{e}"
        );
        let e = miss(
            &["https://app.example.com"],
            "https://app.example.com:8443",
            "live",
        );
        assert!(
            e.contains("admits port 443") && e.contains("uses port 8443"),
            "{e}"
        );
        let e = miss(&["localhost:3000"], "http://localhost:3001", "live");
        assert!(e.contains("admits port 3000"), "{e}");
        let e = miss(&["example.com"], "https://example.com:8443", "live");
        assert!(e.contains("admits port 443"), "{e}");
        let e = miss(&["https://*.example.com"], "https://example.com", "live");
        assert!(e.contains("not example.com itself"), "{e}");
        let e = miss(&["*.example.com"], "https://example.com", "live");
        assert!(e.contains("not example.com itself"), "{e}");
        let e = miss(&["https://*.example.com"], "http://a.example.com", "live");
        assert!(e.contains("is for https://"), "{e}");
        let e = miss(
            &["https://app.example.com"],
            "http://localhost:5173",
            "live",
        );
        assert!(e.contains("but this is a live token"), "{e}");
        let e = miss(&["native"], "https://app.example.com", "live");
        assert!(e.contains("only requests without an Origin header"), "{e}");
        assert_eq!(
            miss(&["https://a.example.com"], "https://b.example.org", "live"),
            ""
        );
    }
}
