//! The one error type commands return, and the one place that maps errors to exit codes.

use std::fmt;
use std::sync::Arc;

use crate::signals::Signal;

/// What kind of failure, which decides the exit code (documented in `rtctl --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Server, network or unexpected reply: exit 1.
    Failure,
    /// Usage error or invalid input: exit 2.
    Usage,
    /// Cancelled at a prompt: exit 3.
    Cancelled,
    /// No key, 401 or 403: exit 4.
    Auth,
    /// 404: exit 5.
    NotFound,
    /// `plan --expect-no-changes` found changes: exit 6.
    Drift,
    /// The `--jq` filter failed, `halt_error` included: exit 7.
    Jq,
    /// A check found problems (`audit`, `doctor`, `origins check` not admitted): exit 8.
    Problems,
    /// Ctrl-C (130) or SIGTERM (143).
    Interrupted(Signal),
    /// stdout was closed (`| head`): the reader has what it wanted; exit 0, say nothing.
    PipeClosed,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failure => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Cancelled => 3,
            ErrorKind::Auth => 4,
            ErrorKind::NotFound => 5,
            ErrorKind::Drift => 6,
            ErrorKind::Jq => 7,
            ErrorKind::Problems => 8,
            ErrorKind::Interrupted(signal) => signal.exit_code(),
            ErrorKind::PipeClosed => 0,
        }
    }
}

/// The exit code of a command line clap answered itself (help, version: 0) or refused (a
/// usage error: 2).
pub(crate) fn command_line_exit_code(error: &clap::Error) -> u8 {
    match error.use_stderr() {
        true => ErrorKind::Usage.exit_code(),
        false => 0,
    }
}

/// An error for the user: what happened, and the command or change that fixes it. Or, for a
/// silent error, only the exit code: the user has been told already (a report that found
/// problems, the error printed where it happened) or there is nothing to tell (a signal).
#[derive(Debug, Clone)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    /// What the server said was wrong, one line each (`path: message (suggestion)`).
    pub details: Vec<String>,
    pub hint: Option<String>,
    /// The error `message` describes, kept whole (an [`crate::api::ApiError`] and the HTTP
    /// client's error inside it): its causes are printed under `-v`, one line each.
    pub(crate) source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// Print nothing, exit with the kind's code (see [`CliError::silent`]).
    pub(crate) silent: bool,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            details: Vec::new(),
            hint: None,
            source: None,
            silent: false,
        }
    }

    /// An error that says nothing and ends the run with `kind`'s exit code, as cargo's
    /// `CliError::code` and gh's `SilentError` do: for a run whose outcome the user already
    /// has (a check's report, an error printed where it happened) or that a signal ended.
    pub fn silent(kind: ErrorKind) -> CliError {
        CliError {
            silent: true,
            ..CliError::new(kind, String::new())
        }
    }

    pub fn failure(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Failure, message)
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Usage, message)
    }

    /// The run was stopped by `signal`: exit 130 or 143, nothing printed (the shell shows
    /// the interruption; work cut short says so where it stopped).
    pub fn interrupted(signal: Signal) -> CliError {
        CliError::silent(ErrorKind::Interrupted(signal))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps `cause`, the error this one's message describes, so `-v` can show its causes.
    pub fn with_source(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> CliError {
        self.source = Some(Arc::new(cause));
        self
    }

    /// The one place an error becomes an exit code.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// Whether the error prints nothing (see [`CliError::silent`]).
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// What led to the error, outermost first: the causes of the error its message describes
    /// (that error's own text is the message, so it is not repeated). A cause that reads as the
    /// one before it (a wrapper that only passes its inner error's text on) is left out.
    pub fn causes(&self) -> Vec<String> {
        let mut causes: Vec<String> = Vec::new();
        let mut next = self.source.as_deref().and_then(|e| e.source());
        while let Some(cause) = next {
            let text = cause.to_string();
            if causes.last() != Some(&text) && !text.is_empty() {
                causes.push(text);
            }
            next = cause.source();
        }
        causes
    }

    /// The same error about `subject` (a token id), for a command working on several.
    pub fn about(mut self, subject: &str) -> CliError {
        self.message = format!("{subject}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::emulator::StoreError> for CliError {
    fn from(e: crate::emulator::StoreError) -> CliError {
        let hint = e.hint();
        let error = CliError::failure(e.to_string());
        match hint {
            Some(h) => error.with_hint(h),
            None => error,
        }
    }
}

/// Maps an API failure to an exit code and advice. The server's own hint comes first; where it
/// gave none, the hint names the command or flag that fixes the problem.
impl From<crate::api::ApiError> for CliError {
    fn from(e: crate::api::ApiError) -> CliError {
        use crate::api::ApiError;
        let server_hint = e.server_hint().map(crate::untrusted::as_hint);
        let (kind, fallback): (ErrorKind, Option<String>) = match &e {
            ApiError::Status { status: 401, .. } => (
                ErrorKind::Auth,
                Some(
                    "run rtctl auth login to store a valid key (or fix RUNTYPE_API_KEY if it is set)"
                        .into(),
                ),
            ),
            // The emulator's refusal of a Host that does not name it (a proxy's, a rebound
            // name's): nothing to do with the key, so not exit 4, and never the permission
            // advice; its own hint names the --allowed-host that answers it.
            ApiError::Status { status: 403, body, .. }
                if body.code.as_deref() == Some(crate::emulator::HOST_NOT_ANSWERED) =>
            {
                (
                    ErrorKind::Failure,
                    Some(
                        "the emulator answers only the host names it listens on: check the API URL (--api-url or RUNTYPE_API_URL), or start it with --allowed-host"
                            .into(),
                    ),
                )
            }
            ApiError::Status { status: 403, .. } => (
                ErrorKind::Auth,
                Some(
                    "the API key may not do this: writing client tokens needs the CLIENT_TOKENS:WRITE permission (or *); use a key that has it (rtctl auth status shows which key is used)"
                        .into(),
                ),
            ),
            ApiError::Status { status: 404, .. } => (
                ErrorKind::NotFound,
                Some("run rtctl tokens list to see the token ids".into()),
            ),
            // The service's word for an id of the wrong shape (one rtctl's own check let
            // through): say what ids and values look like.
            e if e.is_invalid_id() => (ErrorKind::Usage, Some(crate::ids::ID_SHAPES.into())),
            ApiError::Status { status: 400, .. } => (ErrorKind::Usage, None),
            ApiError::Status { status: 300..=399, body, .. } => (
                ErrorKind::Failure,
                Some(format!(
                    "the Runtype API does not redirect, so rtctl does not follow{}: check the API URL (--api-url or RUNTYPE_API_URL)",
                    body.location
                        .as_deref()
                        .map_or(String::new(), |l| format!(" (to {l})"))
                )),
            ),
            ApiError::Status { status: 429, .. } => (
                ErrorKind::Failure,
                Some(
                    "the API is rate-limiting this key; wait a moment and run the command again"
                        .into(),
                ),
            ),
            ApiError::Status { status: 500.., .. } => (
                ErrorKind::Failure,
                Some("the Runtype API failed; try again in a moment".into()),
            ),
            ApiError::Status { .. } => (
                ErrorKind::Failure,
                Some(
                    "the server refused the request in a way the Runtype API does not; is the API URL right (--api-url or RUNTYPE_API_URL)?"
                        .into(),
                ),
            ),
            ApiError::Timeout(_) => (
                ErrorKind::Failure,
                Some("raise --timeout, or check the network and the API URL".into()),
            ),
            ApiError::Connect {
                url,
                refused: true,
                ..
            } if let Some(hint) = refused_on_loopback(url) => (ErrorKind::Failure, Some(hint)),
            ApiError::Connect { .. } => (
                ErrorKind::Failure,
                Some("check the API URL (--api-url or RUNTYPE_API_URL) and the network".into()),
            ),
            ApiError::Cut {
                why: crate::api::Cut::TimedOut(_),
                ..
            } => (
                ErrorKind::Failure,
                Some(
                    "the reply was still arriving when --timeout ran out: raise --timeout on a slow connection"
                        .into(),
                ),
            ),
            ApiError::Cut { .. } => (
                ErrorKind::Failure,
                Some(
                    "the connection, or a proxy on the way, cut the reply short; run the command again"
                        .into(),
                ),
            ),
            ApiError::InvalidReply(_) => (
                ErrorKind::Failure,
                Some(
                    "is the API URL right? It should point at the Runtype API, not a website"
                        .into(),
                ),
            ),
        };
        let mut error = CliError::new(kind, e.to_string());
        error.details = e.details().iter().map(|d| d.line()).collect();
        error.hint = server_hint.or(fallback);
        error.with_source(e)
    }
}

/// The advice for a refused connection to `url` (a request's) on this machine (localhost,
/// 127.0.0.0/8, ::1), where an emulator would listen: the `rtctl emulator` that listens
/// there. The emulator serves plain http at the root (`/v1/…`), so an https URL, or one with
/// a base path (`http://localhost:7878/api`), is said to need another API URL too. `None`
/// for any other host.
fn refused_on_loopback(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let local = match url.host()? {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !local {
        return None;
    }
    let port = url.port_or_known_default()?;
    let host = url.host_str().unwrap_or("");
    // The API URL's own path: what comes before the request's `/v1/…`.
    let path = url.path();
    let base_path = path.find("/v1/").map_or("", |at| &path[..at]);
    let given = format!("{}://{host}:{port}{base_path}", url.scheme());
    let emulator = format!("http://{host}:{port}");
    let command = emulator_command(url.host(), port);
    let check = "check the API URL (--api-url or RUNTYPE_API_URL)";
    Some(if url.scheme() != "http" || !base_path.is_empty() {
        format!(
            "nothing is listening at {given}: {check}; an emulator there ({command}) would be {emulator}, plain http with the API at /v1"
        )
    } else {
        format!(
            "nothing is listening at {given}: start the emulator there with {command}, or {check}"
        )
    })
}

/// The `rtctl emulator` command that listens on `host` (a loopback one) and `port`.
fn emulator_command(host: Option<url::Host<&str>>, port: u16) -> String {
    let mut command = "rtctl emulator".to_string();
    match host {
        Some(url::Host::Ipv6(ip)) => command.push_str(&format!(" --host {ip}")),
        Some(url::Host::Ipv4(ip)) if ip != std::net::Ipv4Addr::LOCALHOST => {
            command.push_str(&format!(" --host {ip}"))
        }
        _ => {}
    }
    if port != crate::emulator::DEFAULT_PORT {
        command.push_str(&format!(" --port {port}"));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_loopback_url_names_the_emulator_that_would_listen_there() {
        let hint = |url: &str| refused_on_loopback(url);
        assert_eq!(
            hint("http://127.0.0.1:7878/v1/client-tokens?limit=1").as_deref(),
            Some(
                "nothing is listening at http://127.0.0.1:7878: start the emulator there with rtctl emulator, or check the API URL (--api-url or RUNTYPE_API_URL)"
            )
        );
        let command = |url: &str| {
            let hint = hint(url).unwrap();
            let from = hint.find("rtctl emulator").unwrap();
            hint[from..].split([',', ')']).next().unwrap().to_string()
        };
        assert_eq!(
            command("http://localhost:9000/v1/client-tokens"),
            "rtctl emulator --port 9000"
        );
        assert_eq!(
            command("http://[::1]:7878/v1/client-tokens"),
            "rtctl emulator --host ::1"
        );
        // Another loopback address: the emulator listens on 127.0.0.1 unless told.
        assert_eq!(
            command("http://127.0.0.2:7899/v1/client-tokens"),
            "rtctl emulator --host 127.0.0.2 --port 7899"
        );
        // The emulator serves plain http, at the root: an https URL or a base path needs
        // another API URL too.
        let https = hint("https://localhost:7899/v1/client-tokens").unwrap();
        assert!(
            https.starts_with("nothing is listening at https://localhost:7899: check the API URL"),
            "{https}"
        );
        assert!(
            https.contains("would be http://localhost:7899, plain http"),
            "{https}"
        );
        let based = hint("http://127.0.0.1:7899/api/v1/client-tokens").unwrap();
        assert!(
            based.starts_with(
                "nothing is listening at http://127.0.0.1:7899/api: check the API URL"
            ),
            "{based}"
        );
        assert!(
            based.contains("(rtctl emulator --port 7899) would be http://127.0.0.1:7899"),
            "{based}"
        );
        assert!(hint("http://127.8.0.1:80/").is_some());
        assert!(hint("https://api.runtype.com/v1").is_none());
        assert!(hint("http://10.0.0.1:7878").is_none());
    }
}
